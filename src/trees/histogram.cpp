// SPDX-License-Identifier: Apache-2.0
// Stage 2 of tree training: gradient/hessian histograms per leaf, built in parallel over features
// (one thread owns a feature) or over row chunks (private histograms summed per slot); the sums
// are integers, so both give the same bits for any thread count.
#include "trees/histogram.hpp"
#include <calibrisk/core/parallel.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define CALIBRISK_HAVE_AVX2_HISTOGRAM 1
#endif

namespace calibrisk {

GradScale GradScale::for_max_weight(double max_weight) noexcept {
  // e = ceil(log2(max_weight)): frexp gives max_weight = m 2^x with m in [0.5, 1).
  int x = 0;
  const double m = std::frexp(max_weight, &x);
  const int e = m == 0.5 ? x - 1 : x;
  return {std::ldexp(1.0, e - 30), std::ldexp(1.0, e - 32)};
}

namespace detail {

SparseRows make_sparse_rows(const BinnedMatrix& bins, const BinMapper& mapper,
                            const std::vector<std::int32_t>& skip_bin,
                            const std::vector<std::uint8_t>& sparse, int n_parts, int n_threads) {
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
  // Entries per feature (one pass down each column), then parts of about equal entry counts.
  std::vector<Index> entries(feats.size(), 0);
  parallel_for(0, static_cast<Index>(feats.size()), n_threads, [&](Index q) {
    const std::int32_t f = feats[static_cast<std::size_t>(q)];
    Index c = 0;
    for (Index i = 0; i < n; ++i) c += bins.code(i, f) != skip_bin[static_cast<std::size_t>(f)];
    entries[static_cast<std::size_t>(q)] = c;
  });
  Index total = 0;
  for (const Index c : entries) total += c;
  const int np = std::max(1, std::min<int>(n_parts, static_cast<int>(feats.size())));
  sp.parts.resize(static_cast<std::size_t>(np));
  Index acc = 0;
  for (std::size_t q = 0, p = 0; q < feats.size(); ++q) {
    // Move to the next part once this one holds its share (every part keeps >= 1 feature).
    const std::size_t left = feats.size() - q;
    if (!sp.parts[p].features.empty() && p + 1 < sp.parts.size() &&
        (acc * static_cast<Index>(np) >= total * static_cast<Index>(p + 1) ||
         left <= sp.parts.size() - p - 1)) {
      ++p;
    }
    sp.parts[p].features.push_back(feats[q]);
    acc += entries[q];
  }
  constexpr Index kBlock = 1 << 14;
  for (SparseRows::Part& part : sp.parts) {
    part.row_ptr.assign(static_cast<std::size_t>(n) + 1, 0);
    parallel_blocks(n, kBlock, n_threads, [&](Index, Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        Index c = 0;
        for (const std::int32_t f : part.features)
          c += bins.code(i, f) != skip_bin[static_cast<std::size_t>(f)];
        part.row_ptr[static_cast<std::size_t>(i) + 1] = std::max<Index>(c, 1);  // filler: below
      }
    });
    for (Index i = 0; i < n; ++i) {
      part.row_ptr[static_cast<std::size_t>(i) + 1] += part.row_ptr[static_cast<std::size_t>(i)];
    }
    part.slot.resize(static_cast<std::size_t>(part.row_ptr.back()));
    part.first.resize(static_cast<std::size_t>(n));
    parallel_blocks(n, kBlock, n_threads, [&](Index, Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        Index e = part.row_ptr[static_cast<std::size_t>(i)];
        for (const std::int32_t f : part.features) {
          const int c = bins.code(i, f);
          if (c == skip_bin[static_cast<std::size_t>(f)]) continue;
          part.slot[static_cast<std::size_t>(e++)] =
              static_cast<std::uint32_t>(mapper.offsets[static_cast<std::size_t>(f)] + c);
        }
        if (e == part.row_ptr[static_cast<std::size_t>(i)]) {
          // A row at every default gets one filler entry: the skip bin of one of the part's
          // features, which the builder overwrites by derive_skip_bin afterwards. Every row then
          // has an entry, so the kernel's first add needs no (unpredictable) test; the filler
          // feature rotates with the row so consecutive fillers rarely hit the same bin.
          const std::int32_t f = part.features[static_cast<std::size_t>(i) % part.features.size()];
          part.slot[static_cast<std::size_t>(e)] = static_cast<std::uint32_t>(
              mapper.offsets[static_cast<std::size_t>(f)] + skip_bin[static_cast<std::size_t>(f)]);
        }
        const Index e0 = part.row_ptr[static_cast<std::size_t>(i)];
        part.first[static_cast<std::size_t>(i)] =
            part.slot[static_cast<std::size_t>(e0)] |
            (part.row_ptr[static_cast<std::size_t>(i) + 1] > e0 + 1 ? SparseRows::kMore : 0u);
      }
    });
  }
  return sp;
}

void gather_gradients(const RowIndex* rows, Index n, const GradPair* gh_by_row, GradPair* ordered,
                      int n_threads) {
  constexpr Index kBlock = 1 << 16;
  const int nt = n < kBlock ? 1 : n_threads;
  parallel_blocks(n, kBlock, nt, [&](Index, Index lo, Index hi) {
    for (Index k = lo; k < hi; ++k) ordered[k] = gh_by_row[rows[k]];
  });
}

namespace {

// Portable kernels: three scalar adds per update.
namespace portable {
struct Addend {
  std::int64_t g, h;
};
inline Addend addend(const GradPair& p) { return {p.g, p.h}; }
inline void add(HistBin& b, const Addend& a) {
  b.g += a.g;
  b.h += a.h;
  b.n += 1;
}
#include "trees/histogram_kernels.inc"
}  // namespace portable

#if defined(CALIBRISK_HAVE_AVX2_HISTOGRAM)
// AVX2 kernels: the 32-byte bin {g, h, n, 0} gets {g, h, 1, 0} in one 4 x int64 vector add (one
// load, one add, one store per update instead of three of each). Chosen at run time when the CPU
// has AVX2. GCC and Clang spell "compile the functions of this region for AVX2" differently.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
namespace avx2 {
using Addend = __m256i;
inline Addend addend(const GradPair& p) {
  // (g, h) as two int32 in the low half, (1, 0) in the high half, sign-extended to four int64.
  const __m128i gh = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(&p));
  return _mm256_cvtepi32_epi64(_mm_insert_epi32(gh, 1, 2));
}
inline void add(HistBin& b, const Addend& a) {
  auto* q = reinterpret_cast<__m256i*>(&b);
  _mm256_store_si256(q, _mm256_add_epi64(_mm256_load_si256(q), a));
}
#include "trees/histogram_kernels.inc"
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

bool cpu_has_avx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
}
#endif

// The leaf total minus the other bins of feature f (in bin order), written into its skip bin,
// whatever the skip bin held before (the column- and row-wise kernels add every row, the skipped
// ones included).
void derive_skip_bin(const BinMapper& mapper, Index f, int skip, const HistBin& total,
                     HistBin* out) {
  HistBin* h = out + mapper.offsets[static_cast<std::size_t>(f)];
  HistBin rest;
  const int nb = mapper.n_value_bins(f) + 1;
  for (int b = 0; b < nb; ++b) {
    if (b == skip) continue;
    rest.g += h[b].g;
    rest.h += h[b].h;
    rest.n += h[b].n;
  }
  h[skip].g = total.g - rest.g;
  h[skip].h = total.h - rest.h;
  h[skip].n = total.n - rest.n;
}

void clear_feature(const BinMapper& mapper, Index f, HistBin* out) {
  HistBin* h = out + mapper.offsets[static_cast<std::size_t>(f)];
  std::fill(h, h + mapper.n_value_bins(f) + 1, HistBin{});
}

// The sparse features of this job as a per-feature flag (0/1), or empty when the job holds every
// sparse feature (then no flag test is needed).
std::vector<std::uint8_t> active_sparse_features(const HistogramJob& job) {
  std::vector<std::uint8_t> active(job.sparse->is_sparse.size(), 0);
  Index n_sparse_job = 0, n_sparse = 0;
  for (Index q = 0; q < job.n_features; ++q) {
    const auto f = static_cast<std::size_t>(job.features[q]);
    active[f] = job.sparse->is_sparse[f];
    n_sparse_job += active[f];
  }
  for (const std::uint8_t v : job.sparse->is_sparse) n_sparse += v;
  if (n_sparse_job == n_sparse) active.clear();
  return active;
}

// Row-wise histograms of the features [f_lo, f_hi) of `dense` (uint8 codes only). Every row is
// added, also into a skip bin (derived afterwards): a test per update costs more than it saves
// unless nearly every row skips, and such features are in the CSR or a bundle.
template <class K>
void build_row_wise(const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                    const std::int32_t* dense, Index f_lo, Index f_hi, HistBin* out) {
  std::vector<std::int32_t> feat;
  std::vector<Index> off;
  for (Index q = f_lo; q < f_hi; ++q) {
    feat.push_back(dense[q]);
    off.push_back(mapper.offsets[static_cast<std::size_t>(dense[q])]);
  }
  if (!feat.empty()) {
    K::accumulate_rows(bins, job, feat.data(), off.data(), static_cast<Index>(feat.size()), out);
  }
}

// The CSR parts group, group + n_groups, ...: each part's slots belong to this group alone, so it
// clears, accumulates and derives the skip bins of its features.
template <class K>
void build_csr_parts(const BinMapper& mapper, const HistogramJob& job,
                     const std::vector<std::uint8_t>& active, const std::int32_t* skip_bin,
                     const HistBin& total, HistBin* out, Index group, Index n_groups,
                     std::vector<std::int32_t>* done) {
  const std::uint8_t* act = active.empty() ? nullptr : active.data();
  const auto& parts = job.sparse->parts;
  for (std::size_t p = static_cast<std::size_t>(group); p < parts.size();
       p += static_cast<std::size_t>(n_groups)) {
    for (const std::int32_t f : parts[p].features) {
      if (act == nullptr || act[f]) clear_feature(mapper, f, out);
    }
    K::accumulate_csr(parts[p], job.sparse->slot_feature.data(), job, act, out);
    for (const std::int32_t f : parts[p].features) {
      if (act != nullptr && !act[f]) continue;
      derive_skip_bin(mapper, f, skip_bin[f], total, out);
      if (done != nullptr) done->push_back(f);
    }
  }
}

// Rows [first, last] of a gathered job (the whole matrix for a leaf, one stretch for a row
// chunk): the leaf's share of the rows is n / span.
Index row_span(const BinnedMatrix& bins, const HistogramJob& job) {
  if (job.rows == nullptr || job.n == 0) return bins.n_rows;
  return static_cast<Index>(job.rows[job.n - 1]) - job.rows[0] + 1;
}

// Gathered column-wise passes prefetch the codes of rows ahead when the leaf holds < 1/6 of its
// span (consecutive rows then rarely share a cache line of a column, 64 codes) and the span is
// >= 2^18 rows (a pass's four columns then outgrow L2; below, the prefetches are pure overhead:
// +4 % CPU on the 75k-row one-hot shape).
bool prefetch_codes(const HistogramJob& job) {
  if (job.rows == nullptr || job.n == 0) return false;
  const Index span = static_cast<Index>(job.rows[job.n - 1]) - job.rows[0] + 1;
  return 6 * job.n < span && span >= (Index{1} << 18);
}

// Column-wise histograms of the features [f_lo, f_hi) of `dense`, in row chunks: the gradients of a
// chunk (8 bytes per row) stay in L2 while each of the features reads them. Features go up to four
// at a time: each row's index and gradients are loaded once for all of them. Every row is added,
// also into a skip bin (derived afterwards; see build_row_wise).
template <class K, class Code>
void build_column_chunks(const Code* (*col_of)(const BinnedMatrix&, Index),
                         const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                         const std::int32_t* dense, Index f_lo, Index f_hi, HistBin* out) {
  const Index first = job.rows == nullptr ? job.first_row : 0;  // contiguous: offset the columns
  const bool prefetch = prefetch_codes(job);
  constexpr Index kChunk = 1 << 14;
  for (Index lo = 0; lo < job.n; lo += kChunk) {
    const Index hi = std::min(job.n, lo + kChunk);
    const Code* run_col[4];
    HistBin* run_hist[4];
    int n_run = 0;
    auto flush = [&]() {
      auto go = [&](auto n) {
        constexpr int N = decltype(n)::value;
        if (job.rows == nullptr) {
          K::template accumulate_n<N, Code, true>(run_col, nullptr, job.gh, lo, hi, run_hist);
        } else if (prefetch) {
          K::template accumulate_n<N, Code, false, true>(run_col, job.rows, job.gh, lo, hi,
                                                         run_hist);
        } else {
          K::template accumulate_n<N, Code, false>(run_col, job.rows, job.gh, lo, hi, run_hist);
        }
      };
      switch (n_run) {
        case 1:
          go(std::integral_constant<int, 1>{});
          break;
        case 2:
          go(std::integral_constant<int, 2>{});
          break;
        case 3:
          go(std::integral_constant<int, 3>{});
          break;
        case 4:
          go(std::integral_constant<int, 4>{});
          break;
        default:
          break;
      }
      n_run = 0;
    };
    for (Index q = f_lo; q < f_hi; ++q) {
      const Index f = dense[q];
      run_col[n_run] = col_of(bins, f) + first;
      run_hist[n_run] = out + mapper.offsets[static_cast<std::size_t>(f)];
      if (++n_run == 4) flush();
    }
    flush();
  }
}

// The bundles group, group + n_groups, ... that hold a feature of the job: each bundle's codes
// are histogrammed into a scratch histogram over its codes (dense bundles up to four at a time,
// without a skip test; sparse ones skipping code 0), then copied to its members' non-default
// slots, and the members' default bins are derived. Per slot the rows are added in row order, as
// when a member is built from its own column.
template <class K>
void build_bundles(const BinMapper& mapper, const HistogramJob& job, const std::int32_t* skip_bin,
                   const HistBin& total, HistBin* out, Index group, Index n_groups,
                   std::vector<std::int32_t>* done) {
  const FeatureBundles& fb = *job.bundles;
  std::vector<std::uint8_t> in_job;  // empty: every bundled feature is in the job
  if (job.n_features < static_cast<Index>(fb.bundle_of.size())) {
    in_job.assign(fb.bundle_of.size(), 0);
    for (Index q = 0; q < job.n_features; ++q)
      in_job[static_cast<std::size_t>(job.features[q])] = 1;
  }
  auto active = [&](std::int32_t f) {
    return in_job.empty() || in_job[static_cast<std::size_t>(f)];
  };
  std::vector<Index> mine;  // this group's bundles with an active member
  Index n_codes = 0;
  for (Index b = group; b < static_cast<Index>(fb.bundles.size()); b += n_groups) {
    const auto& members = fb.bundles[static_cast<std::size_t>(b)].features;
    if (std::any_of(members.begin(), members.end(), active)) {
      mine.push_back(b);
      n_codes += fb.bundles[static_cast<std::size_t>(b)].n_codes;
    }
  }
  if (mine.empty()) return;
  thread_local std::vector<HistBin> scratch;
  scratch.assign(static_cast<std::size_t>(n_codes), HistBin{});
  std::vector<HistBin*> hist(mine.size());
  for (std::size_t k = 0, at = 0; k < mine.size(); ++k) {
    hist[k] = scratch.data() + at;
    at += static_cast<std::size_t>(fb.bundles[static_cast<std::size_t>(mine[k])].n_codes);
  }
  const bool prefetch = prefetch_codes(job);
  constexpr Index kChunk = 1 << 14;
  for (Index lo = 0; lo < job.n; lo += kChunk) {
    const Index hi = std::min(job.n, lo + kChunk);
    const std::uint8_t* run_col[4];
    HistBin* run_hist[4];
    int n_run = 0;
    auto flush = [&]() {
      auto go = [&](auto nn) {
        constexpr int N = decltype(nn)::value;
        if (job.rows == nullptr) {
          K::template accumulate_n<N, std::uint8_t, true>(run_col, nullptr, job.gh, lo, hi,
                                                          run_hist);
        } else if (prefetch) {
          K::template accumulate_n<N, std::uint8_t, false, true>(run_col, job.rows, job.gh, lo, hi,
                                                                 run_hist);
        } else {
          K::template accumulate_n<N, std::uint8_t, false>(run_col, job.rows, job.gh, lo, hi,
                                                           run_hist);
        }
      };
      if (n_run == 1) go(std::integral_constant<int, 1>{});
      if (n_run == 2) go(std::integral_constant<int, 2>{});
      if (n_run == 3) go(std::integral_constant<int, 3>{});
      if (n_run == 4) go(std::integral_constant<int, 4>{});
      n_run = 0;
    };
    for (std::size_t k = 0; k < mine.size(); ++k) {
      const Index b = mine[k];
      const std::uint8_t* col = fb.col(b) + (job.rows == nullptr ? job.first_row : 0);
      if (!fb.bundles[static_cast<std::size_t>(b)].sparse) {
        run_col[n_run] = col;
        run_hist[n_run] = hist[k];
        if (++n_run == 4) flush();
      } else if (job.rows == nullptr) {
        K::template accumulate_skip<std::uint8_t, true>(col, nullptr, job.gh, lo, hi, 0, hist[k]);
      } else {
        K::template accumulate_skip<std::uint8_t, false>(col, job.rows, job.gh, lo, hi, 0, hist[k]);
      }
    }
    flush();
  }
  for (std::size_t k = 0; k < mine.size(); ++k) {
    const FeatureBundles::Bundle& bundle = fb.bundles[static_cast<std::size_t>(mine[k])];
    const std::uint32_t* slot = fb.slot.data() + fb.code_offset[static_cast<std::size_t>(mine[k])];
    for (std::size_t m = 0; m < bundle.features.size(); ++m) {
      const std::int32_t f = bundle.features[m];
      if (!active(f)) continue;
      clear_feature(mapper, f, out);
      const int first = bundle.first[m];
      for (int c = first; c < first + mapper.n_value_bins(f); ++c) out[slot[c]] = hist[k][c];
      derive_skip_bin(mapper, f, skip_bin[f], total, out);
      if (done != nullptr) done->push_back(f);
    }
  }
}

// Builds group `group` of `n_groups` on the calling thread: its share of the features built from
// their own columns, the CSR parts and the bundles group, group + n_groups, ...
template <class K, class Code>
void build_typed(const Code* (*col_of)(const BinnedMatrix&, Index), const BinnedMatrix& bins,
                 const BinMapper& mapper, const HistogramJob& job, const std::int32_t* skip_bin,
                 const HistBin& total, HistBin* out, Index group, Index n_groups,
                 std::vector<std::int32_t>* done) {
  const Index nf = job.n_features;
  // A leaf holding a minority of the rows is histogrammed row-wise when the row-major copy exists:
  // its scattered rows would otherwise cost one cache miss per row and feature. The share is
  // taken over the span of its rows (the whole matrix for a leaf, one stretch for a row chunk).
  const bool row_wise = bins.has_rows() && job.rows != nullptr && 12 * job.n < row_span(bins, job);
  const bool use_csr = job.sparse != nullptr && !job.sparse->empty() && skip_bin != nullptr;
  const std::uint8_t* csr_feature = use_csr ? job.sparse->is_sparse.data() : nullptr;
  const bool use_bundles = job.bundles != nullptr && !job.bundles->empty() && skip_bin != nullptr;
  const std::int32_t* bundle_of = use_bundles ? job.bundles->bundle_of.data() : nullptr;
  // The features built here from codes (not from the CSR or a bundle): this group's share of the
  // job's other features, so the groups get equal shares of the dense work whatever the order of
  // the sparse and dense columns.
  const bool split_list = use_csr || use_bundles;
  std::vector<std::int32_t> dense_list;
  if (split_list) {
    for (Index q = 0; q < nf; ++q) {
      const std::int32_t f = job.features[q];
      if ((csr_feature == nullptr || !csr_feature[f]) &&
          (bundle_of == nullptr || bundle_of[f] < 0)) {
        dense_list.push_back(f);
      }
    }
  }
  const std::int32_t* dense = split_list ? dense_list.data() : job.features;
  const FeatureRange fr =
      feature_group(split_list ? static_cast<Index>(dense_list.size()) : nf, group, n_groups);
  const Index f_lo = fr.lo, f_hi = fr.hi;
  for (Index q = f_lo; q < f_hi; ++q) clear_feature(mapper, dense[q], out);
  if constexpr (std::is_same_v<Code, std::uint8_t>) {
    if (row_wise) build_row_wise<K>(bins, mapper, job, dense, f_lo, f_hi, out);
  }
  if (use_csr) {
    build_csr_parts<K>(mapper, job, active_sparse_features(job), skip_bin, total, out, group,
                       n_groups, done);
  }
  if (use_bundles) build_bundles<K>(mapper, job, skip_bin, total, out, group, n_groups, done);
  if (!row_wise) {
    build_column_chunks<K, Code>(col_of, bins, mapper, job, dense, f_lo, f_hi, out);
  }
  if (skip_bin) {
    for (Index q = f_lo; q < f_hi; ++q) {
      const Index f = dense[q];
      if (skip_bin[f] >= 0) derive_skip_bin(mapper, f, skip_bin[f], total, out);
    }
  }
  if (done != nullptr) done->insert(done->end(), dense + f_lo, dense + f_hi);
}

// Group `group` of `n_groups` of a row-parallel job: the slot-wise sums of the partial histograms
// over its share of the job's features (contiguous, about equal slot counts).
void reduce_partials(const BinMapper& mapper, const HistogramJob& job, HistBin* out, Index group,
                     Index n_groups, std::vector<std::int32_t>* done) {
  const RowPartials& rp = *job.partials;
  auto slots = [&](std::int32_t f) {
    return mapper.offsets[static_cast<std::size_t>(f) + 1] -
           mapper.offsets[static_cast<std::size_t>(f)];
  };
  Index all = 0;
  for (Index q = 0; q < job.n_features; ++q) all += slots(job.features[q]);
  Index before = 0;
  for (Index q = 0; q < job.n_features; ++q) {
    const std::int32_t f = job.features[q];
    const Index w = slots(f);
    // The feature goes to the group holding the middle of its slots.
    const Index g =
        std::min(n_groups - 1, (2 * before + w) * n_groups / std::max<Index>(2 * all, 1));
    before += w;
    if (g != group) continue;
    const Index lo = mapper.offsets[static_cast<std::size_t>(f)];
    HistBin* o = out + lo;
    const HistBin* p0 = rp.buf[0].data() + lo;
    std::copy(p0, p0 + w, o);
    for (int t = 1; t < rp.n_parts; ++t) {
      const HistBin* p = rp.buf[static_cast<std::size_t>(t)].data() + lo;
      for (Index s = 0; s < w; ++s) {
        o[s].g += p[s].g;
        o[s].h += p[s].h;
        o[s].n += p[s].n;
      }
    }
    if (done != nullptr) done->push_back(f);
  }
}

const std::uint8_t* col8(const BinnedMatrix& b, Index f) { return b.col8(f); }
const std::uint16_t* col16(const BinnedMatrix& b, Index f) { return b.col16(f); }

}  // namespace

void build_histogram_group(const BinnedMatrix& bins, const BinMapper& mapper,
                           const HistogramJob& job, const std::int32_t* skip_bin,
                           const HistBin& total, HistBin* out, Index group, Index n_groups,
                           std::vector<std::int32_t>* done) {
  if (job.partials != nullptr) {
    reduce_partials(mapper, job, out, group, n_groups, done);
    return;
  }
#if defined(CALIBRISK_HAVE_AVX2_HISTOGRAM)
  if (job.allow_simd && cpu_has_avx2()) {
    if (bins.wide) {
      build_typed<avx2::Kernels>(&col16, bins, mapper, job, skip_bin, total, out, group, n_groups,
                                 done);
    } else {
      build_typed<avx2::Kernels>(&col8, bins, mapper, job, skip_bin, total, out, group, n_groups,
                                 done);
    }
    return;
  }
#endif
  if (bins.wide) {
    build_typed<portable::Kernels>(&col16, bins, mapper, job, skip_bin, total, out, group, n_groups,
                                   done);
  } else {
    build_typed<portable::Kernels>(&col8, bins, mapper, job, skip_bin, total, out, group, n_groups,
                                   done);
  }
}

int histogram_threads(const HistogramJob& job, Index extra_work, int n_threads) {
  // Small leaves are built on one thread: a parallel region costs more than it saves there (and
  // far more on an oversubscribed machine, where a woken thread may wait for a time slice).
  // The work per row is about one update per column streamed: a bundle's members share one.
  Index width = job.n_features;
  if (job.bundles != nullptr) {
    width -= job.bundles->n_bundled() - static_cast<Index>(job.bundles->bundles.size());
  }
  if (job.n * std::max<Index>(width, 1) + extra_work < (Index{1} << 15)) return 1;
  return std::max(1, std::min<int>(resolve_threads(n_threads), static_cast<int>(job.n_features)));
}

namespace {
std::atomic<int> split_override{static_cast<int>(HistogramSplit::kAuto)};

// Slots of the job's features: what the reduction of a row-parallel build reads per chunk.
Index job_slots(const BinMapper& mapper, const HistogramJob& job) {
  Index s = 0;
  for (Index q = 0; q < job.n_features; ++q) {
    const auto f = static_cast<std::size_t>(job.features[q]);
    s += mapper.offsets[f + 1] - mapper.offsets[f];
  }
  return s;
}

// Chunks of a row-parallel build of `job`, or 1 for a feature-parallel one (see
// build_row_partials). Costs in (row, column) updates: feature-parallel waits for its slowest
// group, ceil(width / groups) columns; row-parallel splits every column evenly but adds the
// reduction (each chunk clears the job's slots, the groups read them all) and one more parallel
// region, hence the margin (row-parallel must save more than 1/9).
int row_parallel_chunks(const BinMapper& mapper, const HistogramJob& job, int n_threads) {
  const auto split = static_cast<HistogramSplit>(split_override.load(std::memory_order_relaxed));
  if (split == HistogramSplit::kFeatures) return 1;
  const int nt = std::max(1, resolve_threads(n_threads));
  if (split == HistogramSplit::kRows || nt == 1) return nt;
  Index width = job.n_features;
  if (job.bundles != nullptr) {
    width -= job.bundles->n_bundled() - static_cast<Index>(job.bundles->bundles.size());
  }
  width = std::max<Index>(width, 1);
  if (job.n * width < (Index{1} << 15)) return 1;  // one thread either way (histogram_threads)
  const Index groups = std::max<Index>(1, std::min<Index>(nt, job.n_features));
  const Index by_features = job.n * ((width + groups - 1) / groups);
  const Index by_rows = (job.n * width + (nt + 1) * job_slots(mapper, job)) / nt;
  return 9 * by_rows < 8 * by_features ? nt : 1;
}
}  // namespace

void set_histogram_split(HistogramSplit split) noexcept {
  split_override.store(static_cast<int>(split), std::memory_order_relaxed);
}

bool build_row_partials(const BinnedMatrix& bins, const BinMapper& mapper, HistogramJob& job,
                        const std::int32_t* skip_bin, const HistBin& total, RowPartials& partials,
                        int n_threads) {
  job.partials = nullptr;
  const int nt = row_parallel_chunks(mapper, job, n_threads);
  if (nt <= 1) return false;
  const auto slots = static_cast<std::size_t>(mapper.total_bins());
  if (partials.buf.size() < static_cast<std::size_t>(nt)) {
    partials.buf.resize(static_cast<std::size_t>(nt));
  }
  parallel_for(0, nt, nt, [&](Index t) {
    // Each chunk's buffer is sized (first touched) by the thread that fills it.
    std::vector<HistBin>& buf = partials.buf[static_cast<std::size_t>(t)];
    if (buf.size() < slots) buf.resize(slots);
    HistogramJob chunk = job;
    const Index lo = job.n * t / nt, hi = job.n * (t + 1) / nt;
    chunk.n = hi - lo;
    chunk.gh = job.gh + lo;
    if (job.rows != nullptr) {
      chunk.rows = job.rows + lo;
    } else {
      chunk.first_row = job.first_row + lo;
    }
    // Skip bins: chunk 0 derives them from the leaf total, the others from zero, so the chunks'
    // skip bins add up to total - (the other bins), as a direct build derives them.
    build_histogram_group(bins, mapper, chunk, skip_bin, t == 0 ? total : HistBin{}, buf.data(), 0,
                          1, nullptr);
  });
  partials.n_parts = nt;
  job.partials = &partials;
  return true;
}

void build_histogram(const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                     const std::int32_t* skip_bin, const HistBin& total, HistBin* out,
                     int n_threads) {
  HistogramJob j = job;
  RowPartials partials;
  build_row_partials(bins, mapper, j, skip_bin, total, partials, n_threads);
  const int nt = histogram_threads(j, 0, n_threads);
  parallel_for(0, nt, nt, [&](Index gi) {
    build_histogram_group(bins, mapper, j, skip_bin, total, out, gi, nt, nullptr);
  });
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
