// SPDX-License-Identifier: Apache-2.0
/// @file histogram.hpp
/// Gradient/hessian histograms over bin codes (stage 2 of tree training) and the subtraction trick.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/trees/binning.hpp>

#include <cstdint>
#include <vector>

namespace calibrisk {

/// Gradient and hessian of one row, packed so one 8-byte load feeds a histogram update. Single
/// precision halves the memory traffic of the hot loop; sums are accumulated in double.
struct GradPair {
  float g = 0.0f;
  float h = 0.0f;
};

/// One histogram slot: sums of gradients, hessians and row count (a count kept as a double so the
/// subtraction trick is one vectorisable loop; exact below 2^53 rows).
struct HistBin {
  double g = 0.0;
  double h = 0.0;
  double n = 0.0;
};

namespace detail {

/// Non-default entries of the sparse features, row by row (CSR): for row i, `slot[row_ptr[i] ..
/// row_ptr[i + 1])` are the flat-histogram slots (`offsets[f] + code`) of its features whose code
/// is not the feature's dominant ("skip") bin, ascending. A histogram of a sparse feature then
/// costs its non-zeros inside the leaf instead of the leaf's rows; the dominant bin is derived
/// from the leaf total. (LightGBM skips zeros with sparse bins for the same reason.)
struct SparseRows {
  std::vector<Index> row_ptr;              ///< n_rows + 1 offsets into slot.
  std::vector<std::uint32_t> slot;         ///< Histogram slot of each non-default entry.
  std::vector<std::int32_t> slot_feature;  ///< Feature of each histogram slot (total_bins).
  std::vector<std::uint8_t> is_sparse;     ///< Per feature: 1 when its entries live here.
  bool empty() const noexcept { return slot.empty(); }
};

/// Builds the CSR of the features with `sparse[f] != 0`, whose dominant bin is `skip_bin[f]`.
/// Parallel over fixed row blocks (deterministic). O(n_rows * #sparse features).
SparseRows make_sparse_rows(const BinnedMatrix& bins, const BinMapper& mapper,
                            const std::vector<std::int32_t>& skip_bin,
                            const std::vector<std::uint8_t>& sparse, int n_threads);

/// What one histogram build works on: a leaf's rows and the features to histogram.
struct HistogramJob {
  const Index* rows = nullptr;   ///< Row indices of the leaf (ascending); null = rows [0, n).
  Index n = 0;                   ///< Number of rows.
  const GradPair* gh = nullptr;  ///< gh[k] belongs to row rows[k] (gathered, "ordered").
  const std::int32_t* features = nullptr;  ///< Features to build, ascending.
  Index n_features = 0;
  const SparseRows* sparse = nullptr;  ///< Optional CSR of the sparse features (needs skip_bin).
};

/// Gathers gh_by_row[rows[k]] into ordered[k] for k in [0, n): the packed, leaf-ordered gradients
/// that make the histogram loop read gradients sequentially. Parallel over fixed blocks.
void gather_gradients(const Index* rows, Index n, const GradPair* gh_by_row, GradPair* ordered,
                      int n_threads);

/// Builds the histogram of the job's features into `out` (a flat array of
/// `mapper.total_bins()` slots; slots of features not in the job are left untouched, the job's
/// slots are overwritten). Column-wise: each feature's codes are streamed for the leaf's rows;
/// features are processed in parallel, each by one thread in row order, so the result is
/// bit-identical for any thread count. Rows are processed in chunks so the gradients of a chunk
/// stay in cache while every feature reads them.
///
/// `skip_bin[f]` (may be null) names a bin of feature f that is not accumulated but derived as the
/// leaf total minus the other bins (used for the dominant bin of sparse features: zeros are then
/// never touched); `total` is the leaf's sum over all rows (needed when skip_bin is used).
/// Kernels: column-wise (contiguous root or large leaves), row-wise over the row-major copy
/// (leaves with < 1/8 of the rows), CSR for the features in `job.sparse`. For every bin all kernels
/// add the leaf's rows in row order, so the kernel choice never changes a bit.
/// Complexity O(n * n_features).
void build_histogram(const BinnedMatrix& bins, const BinMapper& mapper, const HistogramJob& job,
                     const std::int32_t* skip_bin, const HistBin& total, HistBin* out,
                     int n_threads);

/// out[slot] = parent[slot] - child[slot] for the slots of `features` (the subtraction trick: the
/// larger child's histogram costs O(bins), not O(rows)). `out` may alias `parent`.
void subtract_histogram(const BinMapper& mapper, const std::int32_t* features, Index n_features,
                        const HistBin* parent, const HistBin* child, HistBin* out);

}  // namespace detail
}  // namespace calibrisk
