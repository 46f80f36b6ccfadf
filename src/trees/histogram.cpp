// SPDX-License-Identifier: Apache-2.0
// Stage 2 of tree training: gradient/hessian histograms per leaf, built column-wise in parallel
// over features (deterministic: one thread owns a feature and adds its rows in order).
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/trees/histogram.hpp>

#include <algorithm>

namespace calibrisk {
namespace detail {

void gather_gradients(const Index* rows, Index n, const GradPair* gh_by_row, GradPair* ordered,
                      int n_threads) {
  constexpr Index kBlock = 1 << 16;
  const int nt = n < kBlock ? 1 : n_threads;
  parallel_blocks(n, kBlock, nt, [&](Index, Index lo, Index hi) {
    for (Index k = lo; k < hi; ++k) ordered[k] = gh_by_row[rows[k]];
  });
}

namespace {

// The hot loop. Two interleaved sub-histograms would break the store-to-load chain when
// consecutive rows share a bin, but the skip bin already removes the dominant chain; one
// accumulator keeps the summation order (and so the bits) simple.
template <class Code, bool kContiguous>
void accumulate(const Code* col, const Index* rows, const GradPair* gh, Index lo, Index hi,
                int skip, HistBin* h) {
  if (skip < 0) {
    for (Index k = lo; k < hi; ++k) {
      const Code c = kContiguous ? col[k] : col[rows[k]];
      const GradPair p = gh[k];
      HistBin& b = h[c];
      b.g += p.g;
      b.h += p.h;
      b.n += 1.0;
    }
  } else {
    const Code s = static_cast<Code>(skip);
    for (Index k = lo; k < hi; ++k) {
      const Code c = kContiguous ? col[k] : col[rows[k]];
      if (c == s) continue;
      const GradPair p = gh[k];
      HistBin& b = h[c];
      b.g += p.g;
      b.h += p.h;
      b.n += 1.0;
    }
  }
}

template <class Code>
void build_typed(const Code* (*col_of)(const BinnedMatrix&, Index), const BinnedMatrix& bins,
                 const BinMapper& mapper, const HistogramJob& job, const std::int32_t* skip_bin,
                 const HistBin& total, HistBin* out, int n_threads) {
  const Index nf = job.n_features;
  // Row chunks: the gradients of a chunk (8 bytes per row) stay in L2 while each of the
  // thread's features reads them.
  constexpr Index kChunk = 1 << 14;
  // Small leaves are built on one thread: a parallel region costs more than it saves there (and
  // far more on an oversubscribed machine, where a woken thread may wait for a time slice).
  const int want = job.n * nf < (Index{1} << 17) ? 1 : resolve_threads(n_threads);
  const int nt = std::max(1, std::min<int>(want, static_cast<int>(nf)));
  // Feature groups fixed by index (not by thread timing); each group is handled by one thread.
  const Index n_groups = nt;
  parallel_for(0, n_groups, nt, [&](Index gi) {
    const Index f_lo = nf * gi / n_groups, f_hi = nf * (gi + 1) / n_groups;
    for (Index q = f_lo; q < f_hi; ++q) {
      const Index f = job.features[q];
      HistBin* h = out + mapper.offsets[static_cast<std::size_t>(f)];
      std::fill(h, h + mapper.n_value_bins(f) + 1, HistBin{});
    }
    for (Index lo = 0; lo < job.n; lo += kChunk) {
      const Index hi = std::min(job.n, lo + kChunk);
      for (Index q = f_lo; q < f_hi; ++q) {
        const Index f = job.features[q];
        HistBin* h = out + mapper.offsets[static_cast<std::size_t>(f)];
        const int skip = skip_bin ? skip_bin[f] : -1;
        const Code* col = col_of(bins, f);
        if (job.rows == nullptr) {
          accumulate<Code, true>(col, nullptr, job.gh, lo, hi, skip, h);
        } else {
          accumulate<Code, false>(col, job.rows, job.gh, lo, hi, skip, h);
        }
      }
    }
    if (skip_bin) {
      for (Index q = f_lo; q < f_hi; ++q) {
        const Index f = job.features[q];
        const int skip = skip_bin[f];
        if (skip < 0) continue;
        HistBin* h = out + mapper.offsets[static_cast<std::size_t>(f)];
        HistBin rest;
        const int nb = mapper.n_value_bins(f) + 1;
        for (int b = 0; b < nb; ++b) {
          rest.g += h[b].g;
          rest.h += h[b].h;
          rest.n += h[b].n;
        }
        h[skip].g = total.g - rest.g;
        h[skip].h = total.h - rest.h;
        h[skip].n = total.n - rest.n;
      }
    }
  });
}

const std::uint8_t* col8(const BinnedMatrix& b, Index f) { return b.col8(f); }
const std::uint16_t* col16(const BinnedMatrix& b, Index f) { return b.col16(f); }

}  // namespace

void build_histogram(const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                     const std::int32_t* skip_bin, const HistBin& total, HistBin* out,
                     int n_threads) {
  if (bins.wide) {
    build_typed<std::uint16_t>(&col16, bins, mapper, job, skip_bin, total, out, n_threads);
  } else {
    build_typed<std::uint8_t>(&col8, bins, mapper, job, skip_bin, total, out, n_threads);
  }
}

void subtract_histogram(const BinMapper& mapper, const std::int32_t* features, Index n_features,
                        const HistBin* parent, const HistBin* child, HistBin* out) {
  for (Index q = 0; q < n_features; ++q) {
    const Index f = features[q];
    const Index lo = mapper.offsets[static_cast<std::size_t>(f)];
    const Index hi = mapper.offsets[static_cast<std::size_t>(f) + 1];
    for (Index s = lo; s < hi; ++s) {
      out[s].g = parent[s].g - child[s].g;
      out[s].h = parent[s].h - child[s].h;
      out[s].n = parent[s].n - child[s].n;
    }
  }
}

}  // namespace detail
}  // namespace calibrisk
