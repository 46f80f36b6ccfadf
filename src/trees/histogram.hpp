// SPDX-License-Identifier: Apache-2.0
/// @file histogram.hpp
/// Gradient/hessian histograms over bin codes (stage 2 of tree training) and the subtraction trick.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include "trees/binning.hpp"
#include "trees/bundling.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

namespace calibrisk {

/// Row index inside tree training: 32 bits, as the row lists are read once per histogram feature
/// and moved by every partition (training needs fewer than 2^32 rows; `fit` checks).
using RowIndex = std::uint32_t;

/// Gradient and hessian of one row (sample weight applied), quantised to fixed point: the real
/// values are g * GradScale::g_unit and h * GradScale::h_unit (see `GradScale`). Two 32-bit
/// integers keep one row at 8 bytes, so one load feeds a histogram update; every sum over rows is
/// taken in 64-bit integers and is therefore exact, whatever the order or grouping of the
/// partial sums (threads, row blocks, machines).
struct GradPair {
  std::int32_t g = 0;
  std::int32_t h = 0;
};

/// One histogram slot: exact integer sums of the quantised gradients, hessians and the row count.
/// Padded to 32 bytes and aligned so that one update is a single 4 x int64 vector add on AVX2
/// CPUs; `unused` stays 0. Slots are plain integers: histograms of disjoint row sets (threads,
/// workers) add elementwise into the histogram of their union, bit for bit.
struct alignas(32) HistBin {
  std::int64_t g = 0;
  std::int64_t h = 0;
  std::int64_t n = 0;
  std::int64_t unused = 0;
};

/// The fixed-point scale of a fit: a row's gradient g (sample weight included) is stored as the
/// integer round(g / g_unit), its hessian as round(h / h_unit). Both units are powers of two
/// derived from global quantities only (the largest row weight), so every worker of a distributed
/// fit quantises identically: for the logistic and softmax losses |g| <= w and h <= w / 4, and
/// with 2^e >= max w the units are g_unit = 2^(e - 30), h_unit = 2^(e - 32), so every quantised
/// value is at most 2^30 in magnitude (a 32-bit integer) and a sum over fewer than 2^32 rows stays
/// below 2^62 (an int64, no overflow). Resolution: 2^-30 (gradients) and 2^-32 (hessians) of the
/// largest weight per row; rounding to nearest, so the error of a sum is at most half a unit per
/// row and in practice grows like sqrt(rows).
struct GradScale {
  double g_unit = 1.0;  ///< Real value of one gradient unit (a power of two).
  double h_unit = 1.0;  ///< Real value of one hessian unit (a power of two).

  /// The scale for rows whose |g| <= max_weight and h <= max_weight / 4 (max_weight > 0, finite).
  static GradScale for_max_weight(double max_weight) noexcept;
  /// round(g / g_unit) and round(h / h_unit) (to nearest, ties to even). Exact powers of two:
  /// multiplying by the reciprocal is exact.
  GradPair quantise(double g, double h) const noexcept {
    return {static_cast<std::int32_t>(std::nearbyint(g * (1.0 / g_unit))),
            static_cast<std::int32_t>(std::nearbyint(h * (1.0 / h_unit)))};
  }
};

namespace detail {

/// Non-default entries of the sparse features, row by row (CSR), split into parts by feature so
/// that threads histogram different parts without sharing a slot: for row i, part p's
/// `slot[row_ptr[i] .. row_ptr[i + 1])` are the flat-histogram slots (`offsets[f] + code`) of its
/// features in that part whose code is not the feature's dominant ("skip") bin, ascending; a row
/// with none holds one filler entry instead, the skip-bin slot of one of the part's features
/// (skip bins are derived after the rows are added, so it never changes a histogram). A
/// histogram of a sparse feature then costs its non-zeros inside the leaf instead of the leaf's
/// rows; the dominant bin is derived from the leaf total. (LightGBM skips zeros with sparse bins
/// for the same reason.) Every slot lives in one part and is summed in row order, so the number of
/// parts never changes a bit.
struct SparseRows {
  struct Part {
    std::vector<std::int32_t> features;  ///< Its sparse features, ascending.
    std::vector<Index> row_ptr;          ///< n_rows + 1 offsets into slot.
    std::vector<std::uint32_t> slot;     ///< Histogram slot of each non-default entry.
    /// Per row: slot[row_ptr[i]] (its first entry), with kMore set when the row has more entries:
    /// the kernel reads one array per row and touches row_ptr only for those rows.
    std::vector<std::uint32_t> first;
  };
  static constexpr std::uint32_t kMore = 0x80000000u;  ///< Flag in Part::first (slots < 2^31).
  std::vector<Part> parts;                             ///< Nearly equal numbers of entries each.
  std::vector<std::int32_t> slot_feature;  ///< Feature of each histogram slot (total_bins).
  std::vector<std::uint8_t> is_sparse;     ///< Per feature: 1 when its entries live here.
  bool empty() const noexcept { return parts.empty(); }
};

/// Builds the CSR of the features with `sparse[f] != 0`, whose dominant bin is `skip_bin[f]`, in
/// `n_parts` parts of about equal entry counts (fewer when there are fewer sparse features).
/// Parallel over fixed row blocks (deterministic). O(n_rows * #sparse features).
SparseRows make_sparse_rows(const BinnedMatrix& bins, const BinMapper& mapper,
                            const std::vector<std::int32_t>& skip_bin,
                            const std::vector<std::uint8_t>& sparse, int n_parts, int n_threads);

/// Thread-private partial histograms of a row-parallel build (see `build_row_partials`): one
/// buffer of `total_bins` slots per row chunk, allocated on first use and reused by later builds.
struct RowPartials {
  std::vector<std::vector<HistBin>> buf;
  int n_parts = 0;  ///< Chunks of the current job (buf[0 .. n_parts)).
};

/// How a histogram build is split over threads. kAuto picks by shape (see `build_row_partials`);
/// the others force one way (tests: both give the same bits).
enum class HistogramSplit { kAuto, kFeatures, kRows };

/// Process-wide override of the split rule, for tests and benchmarks only (not thread-safe against
/// concurrent fits; kAuto restores the rule).
void set_histogram_split(HistogramSplit split) noexcept;

/// What one histogram build works on: a leaf's rows and the features to histogram.
struct HistogramJob {
  const RowIndex* rows = nullptr;  ///< Row indices of the leaf (ascending); null = rows [0, n).
  Index n = 0;                     ///< Number of rows.
  const GradPair* gh = nullptr;    ///< gh[k] belongs to row rows[k] (gathered, "ordered").
  const std::int32_t* features = nullptr;  ///< Features to build, ascending.
  Index n_features = 0;
  const SparseRows* sparse = nullptr;  ///< Optional CSR of the sparse features (needs skip_bin).
  /// Optional exclusive bundles (needs skip_bin, equal to the bundles' default bins); their
  /// members are built from the bundle codes, not from their own columns or the CSR.
  const FeatureBundles* bundles = nullptr;
  /// Use the AVX2 kernels when the CPU has them (the default). Both kernel sets give bit-identical
  /// histograms; false forces the portable ones (tests compare the two).
  bool allow_simd = true;
  /// Contiguous jobs (rows == null) cover the rows [first_row, first_row + n).
  Index first_row = 0;
  /// Set by `build_row_partials` when the job was built row-parallel: the histogram is the sum of
  /// these partial histograms, and `build_histogram_group` only reduces them (and never reads the
  /// rows).
  const RowPartials* partials = nullptr;
};

/// Gathers gh_by_row[rows[k]] into ordered[k] for k in [0, n): the packed, leaf-ordered gradients
/// that make the histogram loop read gradients sequentially. Parallel over fixed blocks.
void gather_gradients(const RowIndex* rows, Index n, const GradPair* gh_by_row, GradPair* ordered,
                      int n_threads);

/// Builds the histogram of the job's features into `out` (a flat array of
/// `mapper.total_bins()` slots; slots of features not in the job are left untouched, the job's
/// slots are overwritten). Column-wise: each feature's codes are streamed for the leaf's rows;
/// features are processed in parallel, each by one thread in row order, so the result is
/// bit-identical for any thread count. Rows are processed in chunks so the gradients of a chunk
/// stay in cache while every feature reads them.
///
/// `skip_bin[f]` (may be null) names a bin of feature f whose sums are not taken from its rows but
/// derived as the leaf total minus the other bins, in bin order (the dominant bin of sparse
/// features, whose rows the CSR and the bundles then never touch; the column- and row-wise
/// kernels add every row and overwrite it); `total` is the leaf's sum over all rows (needed when
/// skip_bin is used).
/// Kernels: column-wise (contiguous root or large leaves), row-wise over the row-major copy
/// (leaves with < 1/12 of the rows), CSR for the features in `job.sparse`, column-wise over the
/// bundle codes for the members of `job.bundles` (then scattered to the members' slots). For every
/// bin all kernels add the leaf's rows in row order, so the kernel choice never changes a bit.
/// Complexity O(n * n_features).
void build_histogram(const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                     const std::int32_t* skip_bin, const HistBin& total, HistBin* out,
                     int n_threads);

/// Row-parallel build, when the shape favours it: splits the job's rows into one contiguous chunk
/// per thread, builds each chunk's histogram of every job feature on its own thread into
/// `partials` (skip bins derived from the leaf total in chunk 0 and from zero in the others, so
/// the chunks still sum to the histogram) and sets `job.partials`; the histogram is then the
/// slot-wise sum of the chunks, which `build_histogram_group` takes in parallel over features.
/// Sums are integers, so the result is bit-identical to the feature-parallel build.
/// Rule (kAuto), in (row, column) updates with a bundle counting as one column: feature-parallel
/// costs its slowest group, n x ceil(width / groups) with groups = min(threads, features);
/// row-parallel costs (n x width + (threads + 1) x the job's slots) / threads (the second term is
/// the reduction). Row-parallel when that is below 8/9 of the former (the margin pays for the
/// extra parallel region): leaves of narrow data, where the features cannot be shared evenly
/// (e.g. 3 columns on 2 threads: 2 n against 1.5 n). Wide data and small leaves stay
/// feature-parallel: nothing is done and `job.partials` is null. Returns whether it built the
/// partials. The partial buffers cost threads x total_bins x 32 bytes, allocated on first use.
bool build_row_partials(const BinnedMatrix& bins, const BinMapper& mapper, HistogramJob& job,
                        const std::int32_t* skip_bin, const HistBin& total, RowPartials& partials,
                        int n_threads);

/// Features job.features[lo, hi) of one group.
struct FeatureRange {
  Index lo = 0, hi = 0;
};

/// Group `g` of `n_groups` contiguous, nearly equal groups of `n_features` features. Groups are
/// fixed by index, never by thread timing; each group is handled by one thread.
inline FeatureRange feature_group(Index n_features, Index g, Index n_groups) {
  return {n_features * g / n_groups, n_features * (g + 1) / n_groups};
}

/// Threads (= feature groups) worth using for a histogram build of `job`, plus `extra_work`
/// (about the same cost per unit as one (row, feature) update) done in the same parallel region:
/// 1 for small work (rows x columns streamed, a bundle counting as one column, plus extra_work,
/// below 2^15: ~30 us), where a parallel region costs more than it saves; otherwise
/// min(resolve_threads(n_threads), n_features).
int histogram_threads(const HistogramJob& job, Index extra_work, int n_threads);

/// Builds group `group` of `n_groups` of `build_histogram` on the calling thread: feature_group(
/// group) of the job's features that are neither in the CSR nor bundled (all of them without
/// either), and the CSR parts and the bundles group, group + n_groups, ... Groups write disjoint
/// slots, so they can run on different threads. A caller can run the groups in its own parallel
/// region. When `done` is given, the job's features whose slots this group completed (its dense
/// share, the active features of its CSR parts and of its bundles) are appended to it: every
/// feature of the job is completed by exactly one group, so the same thread can go on to use
/// them (e.g. scan them for splits) without waiting for the other groups. When `job.partials` is
/// set, the group instead sums the partial histograms into `out` for its share of the job's
/// features (contiguous, balanced by slot count) and reports those as done.
void build_histogram_group(const BinnedMatrix& bins, const BinMapper& mapper,
                           const HistogramJob& job, const std::int32_t* skip_bin,
                           const HistBin& total, HistBin* out, Index group, Index n_groups,
                           std::vector<std::int32_t>* done = nullptr);

/// out[slot] = parent[slot] - child[slot] for the slots of `features` (the subtraction trick: the
/// larger child's histogram costs O(bins), not O(rows)). `out` may alias `parent`.
void subtract_histogram(const BinMapper& mapper, const std::int32_t* features, Index n_features,
                        const HistBin* parent, const HistBin* child, HistBin* out);

}  // namespace detail
}  // namespace calibrisk
