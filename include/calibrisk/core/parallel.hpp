// SPDX-License-Identifier: Apache-2.0
/// @file parallel.hpp
/// The one way calibrisk runs loops in parallel: OpenMP when available, a plain loop otherwise.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>

#if defined(CALIBRISK_HAVE_OPENMP)
#include <omp.h>
#endif

namespace calibrisk {
namespace detail {

/// Resolves a requested thread count: 0 means "all threads OpenMP allows" (which honours
/// OMP_NUM_THREADS); a negative count is rejected. Without OpenMP the answer is always 1.
inline int resolve_threads(int n_threads) {
  if (n_threads < 0) {
    throw InvalidParams("n_threads must be >= 0 (0 = all available), got " +
                        std::to_string(n_threads) + ".");
  }
#if defined(CALIBRISK_HAVE_OPENMP)
  return n_threads == 0 ? std::max(1, omp_get_max_threads()) : n_threads;
#else
  return 1;
#endif
}

/// Calls `fn(i)` for every i in [begin, end) on up to `n_threads` threads (static schedule).
///
/// The first exception thrown by any `fn` is rethrown on the calling thread after the region ends;
/// the remaining iterations still run (they cannot be cancelled portably) but their exceptions are
/// dropped. `fn` must not depend on which thread runs it if results are to be deterministic.
template <class Fn>
void parallel_for(Index begin, Index end, int n_threads, Fn&& fn) {
  if (end <= begin) return;
  const int nt = resolve_threads(n_threads);
#if defined(CALIBRISK_HAVE_OPENMP)
  if (nt > 1 && end - begin > 1) {
    std::exception_ptr error;
    std::mutex error_mutex;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (Index i = begin; i < end; ++i) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  for (Index i = begin; i < end; ++i) fn(i);
}

/// Like `parallel_for` with a dynamic schedule, for iterations of uneven cost.
template <class Fn>
void parallel_for_dynamic(Index begin, Index end, int n_threads, Fn&& fn) {
  if (end <= begin) return;
  const int nt = resolve_threads(n_threads);
#if defined(CALIBRISK_HAVE_OPENMP)
  if (nt > 1 && end - begin > 1) {
    std::exception_ptr error;
    std::mutex error_mutex;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (Index i = begin; i < end; ++i) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  for (Index i = begin; i < end; ++i) fn(i);
}

/// Splits [0, n) into `n_blocks(n, block)` fixed blocks of `block` elements (the last may be
/// shorter). Because the blocks do not depend on the thread count, per-block partial sums reduced
/// in block order give bit-identical results for any number of threads.
inline Index n_blocks(Index n, Index block) { return (n + block - 1) / block; }

/// Calls `fn(block_index, lo, hi)` for each fixed block of [0, n) in parallel.
template <class Fn>
void parallel_blocks(Index n, Index block, int n_threads, Fn&& fn) {
  const Index nb = n_blocks(n, block);
  parallel_for(0, nb, n_threads, [&](Index b) {
    const Index lo = b * block;
    fn(b, lo, std::min(n, lo + block));
  });
}

}  // namespace detail
}  // namespace calibrisk
