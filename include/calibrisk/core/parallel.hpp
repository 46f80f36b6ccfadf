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
#include <thread>
#include <vector>

#if defined(CALIBRISK_HAVE_OPENMP)
#include <omp.h>
#endif

namespace calibrisk {
namespace detail {

/// Resolves a requested thread count: 0 means "all threads OpenMP allows" (which honours
/// OMP_NUM_THREADS; without OpenMP, the hardware concurrency); a negative count is rejected.
inline int resolve_threads(int n_threads) {
  if (n_threads < 0) {
    throw InvalidParams("n_threads must be >= 0 (0 = all available), got " +
                        std::to_string(n_threads) + ".");
  }
  if (n_threads > 0) return n_threads;
#if defined(CALIBRISK_HAVE_OPENMP)
  return std::max(1, omp_get_max_threads());
#else
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
#endif
}

/// Keeps the first exception thrown by any iteration of a parallel region, to rethrow it on the
/// calling thread once the region has ended (an exception escaping an OpenMP region or a
/// std::thread would end the process).
class FirstError {
 public:
  template <class Fn>
  void run(Fn&& fn) noexcept {
    try {
      fn();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
  std::mutex mutex_;
};

/// Runs `fn(i)` for i in [begin, end) on `nt` > 1 threads, statically partitioned (as OpenMP's
/// schedule(static)) or, when `dynamic`, one index at a time from a shared cursor.
///
/// With OpenMP this is an OpenMP region; without it, short-lived std::threads with the same
/// partition. The latter is what the ThreadSanitizer build exercises: TSan understands std::thread,
/// while GCC's libgomp is not instrumented and would report false races.
template <class Fn>
void parallel_region(Index begin, Index end, int nt, bool dynamic, Fn& fn) {
  FirstError errors;
#if defined(CALIBRISK_HAVE_OPENMP)
  if (dynamic) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (Index i = begin; i < end; ++i) errors.run([&] { fn(i); });
  } else {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (Index i = begin; i < end; ++i) errors.run([&] { fn(i); });
  }
#else
  const Index n = end - begin;
  const int workers = static_cast<int>(std::min<Index>(nt, n));
  std::mutex cursor_mutex;
  Index next = begin;  // the shared cursor of the dynamic schedule
  auto work = [&](int t) {
    errors.run([&] {
      if (dynamic) {
        for (;;) {
          Index i;
          {
            std::lock_guard<std::mutex> lock(cursor_mutex);
            if (next >= end) return;
            i = next++;
          }
          fn(i);
        }
      } else {
        const Index lo = begin + n * t / workers;
        const Index hi = begin + n * (t + 1) / workers;
        for (Index i = lo; i < hi; ++i) fn(i);
      }
    });
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers - 1));
  for (int t = 1; t < workers; ++t) threads.emplace_back(work, t);
  work(0);
  for (auto& th : threads) th.join();
#endif
  errors.rethrow();
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
  if (nt > 1 && end - begin > 1) return parallel_region(begin, end, nt, false, fn);
  for (Index i = begin; i < end; ++i) fn(i);
}

/// Like `parallel_for` with a dynamic schedule, for iterations of uneven cost.
template <class Fn>
void parallel_for_dynamic(Index begin, Index end, int n_threads, Fn&& fn) {
  if (end <= begin) return;
  const int nt = resolve_threads(n_threads);
  if (nt > 1 && end - begin > 1) return parallel_region(begin, end, nt, true, fn);
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
