// SPDX-License-Identifier: Apache-2.0
// Stage 2 of tree training: gradient/hessian histograms per leaf, built column-wise in parallel
// over features (deterministic: one thread owns a feature and adds its rows in order).
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/trees/histogram.hpp>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace calibrisk {
namespace detail {

SparseRows make_sparse_rows(const BinnedMatrix& bins, const BinMapper& mapper,
                            const std::vector<std::int32_t>& skip_bin,
                            const std::vector<std::uint8_t>& sparse, int n_threads) {
  SparseRows sp;
  const Index n = bins.n_rows, nf = bins.n_features;
  sp.is_sparse = sparse;
  sp.slot_feature.resize(static_cast<std::size_t>(mapper.total_bins()));
  for (Index f = 0; f < nf; ++f) {
    for (Index s = mapper.offsets[static_cast<std::size_t>(f)];
         s < mapper.offsets[static_cast<std::size_t>(f) + 1]; ++s) {
      sp.slot_feature[static_cast<std::size_t>(s)] = static_cast<std::int32_t>(f);
    }
  }
  std::vector<std::int32_t> feats;
  for (Index f = 0; f < nf; ++f) {
    if (sparse[static_cast<std::size_t>(f)]) feats.push_back(static_cast<std::int32_t>(f));
  }
  if (feats.empty()) return sp;
  sp.row_ptr.assign(static_cast<std::size_t>(n) + 1, 0);
  constexpr Index kBlock = 1 << 14;
  parallel_blocks(n, kBlock, n_threads, [&](Index, Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) {
      Index c = 0;
      for (const std::int32_t f : feats)
        c += bins.code(i, f) != skip_bin[static_cast<std::size_t>(f)];
      sp.row_ptr[static_cast<std::size_t>(i) + 1] = c;
    }
  });
  for (Index i = 0; i < n; ++i) {
    sp.row_ptr[static_cast<std::size_t>(i) + 1] += sp.row_ptr[static_cast<std::size_t>(i)];
  }
  sp.slot.resize(static_cast<std::size_t>(sp.row_ptr.back()));
  parallel_blocks(n, kBlock, n_threads, [&](Index, Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) {
      Index e = sp.row_ptr[static_cast<std::size_t>(i)];
      for (const std::int32_t f : feats) {
        const int c = bins.code(i, f);
        if (c == skip_bin[static_cast<std::size_t>(f)]) continue;
        sp.slot[static_cast<std::size_t>(e++)] =
            static_cast<std::uint32_t>(mapper.offsets[static_cast<std::size_t>(f)] + c);
      }
    }
  });
  return sp;
}

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

// Row-wise kernel: the leaf's rows are visited once each and every feature of the group is
// updated from the row's contiguous codes. Per bin, rows are added in the same order as the
// column-wise kernel, so both kernels give bit-identical histograms.
void accumulate_rows(const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                     Index q_lo, Index q_hi, const std::int32_t* skip_bin,
                     const std::uint8_t* csr_feature, HistBin* out) {
  std::vector<std::int32_t> feat;
  std::vector<Index> off;
  std::vector<int> skip;
  for (Index q = q_lo; q < q_hi; ++q) {
    const std::int32_t f = job.features[q];
    if (csr_feature && csr_feature[f]) continue;
    feat.push_back(f);
    off.push_back(mapper.offsets[static_cast<std::size_t>(f)]);
    skip.push_back(skip_bin ? skip_bin[f] : -1);
  }
  const auto m = static_cast<Index>(feat.size());
  if (m == 0) return;
  constexpr Index kAhead = 16;  // software prefetch distance, rows
  for (Index k = 0; k < job.n; ++k) {
    if (k + kAhead < job.n) __builtin_prefetch(bins.row8(job.rows[k + kAhead]) + feat[0]);
    const std::uint8_t* r = bins.row8(job.rows[k]);
    const GradPair p = job.gh[k];
    const double g = p.g, h = p.h;
    for (Index q = 0; q < m; ++q) {
      const int c = r[feat[static_cast<std::size_t>(q)]];
      if (c == skip[static_cast<std::size_t>(q)]) continue;
      HistBin& b = out[off[static_cast<std::size_t>(q)] + c];
      b.g += g;
      b.h += h;
      b.n += 1.0;
    }
  }
}

// CSR kernel: per row of the leaf, its non-default entries whose slots fall in [lo, hi) and whose
// feature is in the job.
void accumulate_csr(const SparseRows& sp, const HistogramJob& job, std::uint32_t lo,
                    std::uint32_t hi, const std::uint8_t* active, HistBin* out) {
  const Index* ptr = sp.row_ptr.data();
  const std::uint32_t* slot = sp.slot.data();
  const std::int32_t* feat = sp.slot_feature.data();
  for (Index k = 0; k < job.n; ++k) {
    const Index i = job.rows ? job.rows[k] : k;
    const GradPair p = job.gh[k];
    const double g = p.g, h = p.h;
    for (Index e = ptr[i], end = ptr[i + 1]; e < end; ++e) {
      const std::uint32_t s = slot[e];
      if (s < lo) continue;
      if (s >= hi) break;
      if (active != nullptr && !active[feat[s]]) continue;
      HistBin& b = out[s];
      b.g += g;
      b.h += h;
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
  const int want = job.n * nf < (Index{1} << 20) ? 1 : resolve_threads(n_threads);
  const int nt = std::max(1, std::min<int>(want, static_cast<int>(nf)));
  // Feature groups fixed by index (not by thread timing); each group is handled by one thread.
  const Index n_groups = nt;
  // A leaf holding a minority of the rows is histogrammed row-wise when the row-major copy exists:
  // its scattered rows would otherwise cost one cache miss per row and feature.
  const bool row_wise = bins.has_rows() && job.rows != nullptr && 8 * job.n < bins.n_rows;
  const bool use_csr = job.sparse != nullptr && !job.sparse->empty() && skip_bin != nullptr;
  const std::uint8_t* csr_feature = use_csr ? job.sparse->is_sparse.data() : nullptr;
  std::vector<std::uint8_t> active;  // sparse features of this job (none = all of them)
  if (use_csr) {
    Index n_sparse_job = 0, n_sparse = 0;
    active.assign(job.sparse->is_sparse.size(), 0);
    for (Index q = 0; q < nf; ++q) {
      const auto f = static_cast<std::size_t>(job.features[q]);
      active[f] = job.sparse->is_sparse[f];
      n_sparse_job += active[f];
    }
    for (const std::uint8_t v : job.sparse->is_sparse) n_sparse += v;
    if (n_sparse_job == n_sparse) active.clear();
  }
  parallel_for(0, n_groups, nt, [&](Index gi) {
    const Index f_lo = nf * gi / n_groups, f_hi = nf * (gi + 1) / n_groups;
    for (Index q = f_lo; q < f_hi; ++q) {
      const Index f = job.features[q];
      HistBin* h = out + mapper.offsets[static_cast<std::size_t>(f)];
      std::fill(h, h + mapper.n_value_bins(f) + 1, HistBin{});
    }
    if constexpr (std::is_same_v<Code, std::uint8_t>) {
      if (row_wise) {
        accumulate_rows(bins, mapper, job, f_lo, f_hi, skip_bin, csr_feature, out);
      }
    }
    if (use_csr && f_hi > f_lo) {
      const auto lo =
          static_cast<std::uint32_t>(mapper.offsets[static_cast<std::size_t>(job.features[f_lo])]);
      const auto hi = static_cast<std::uint32_t>(
          mapper.offsets[static_cast<std::size_t>(job.features[f_hi - 1]) + 1]);
      accumulate_csr(*job.sparse, job, lo, hi, active.empty() ? nullptr : active.data(), out);
    }
    for (Index lo = 0; !row_wise && lo < job.n; lo += kChunk) {
      const Index hi = std::min(job.n, lo + kChunk);
      for (Index q = f_lo; q < f_hi; ++q) {
        const Index f = job.features[q];
        if (csr_feature && csr_feature[f]) continue;
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
