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

/// What one histogram build works on: a leaf's rows and the features to histogram.
struct HistogramJob {
  const Index* rows = nullptr;      ///< Row indices of the leaf (ascending); null = rows [0, n).
  Index n = 0;                      ///< Number of rows.
  const GradPair* gh = nullptr;     ///< gh[k] belongs to row rows[k] (gathered, "ordered").
  const std::int32_t* features = nullptr;  ///< Features to build, ascending.
  Index n_features = 0;
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
