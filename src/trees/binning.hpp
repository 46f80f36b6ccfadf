// SPDX-License-Identifier: Apache-2.0
/// @file binning.hpp
/// Quantile binning of features into small integer codes, the input of histogram boosting.
#pragma once

#include <calibrisk/core/matrix.hpp>

#include <cstdint>
#include <vector>

namespace calibrisk {

/// Per-feature bin edges learned from training data (stage 1 of tree training).
///
/// Feature f has `n_value_bins(f)` value bins and one extra missing bin (code
/// `missing_bin(f) == n_value_bins(f)`) that holds NaN. `edges[f]` is strictly increasing and
/// has `n_value_bins(f) - 1` entries; a value x goes to the first bin b with `x <= edges[f][b]`,
/// or to the last value bin when it exceeds every edge. Every edge is a finite double that is
/// exactly representable as a float, so a tree threshold "bin <= b" becomes the raw comparison
/// `x <= edges[f][b]` and routes float32 and float64 rows the same way at prediction time.
///
/// Edges are midpoints between consecutive distinct values (one bin per value when a feature has at
/// most `max_bins` distinct values), otherwise midpoints at the `k / max_bins` quantiles of a
/// seeded subsample (the rows with the smallest hash of (seed, global row index):
/// `detail::bin_sample_rows`, independent of any partition of the rows); values are compared as
/// floats (float64 inputs are rounded to float first) and midpoints are rounded down to the nearest
/// float. Missingness is information: a feature with one distinct non-missing value and missing
/// values (a lab coded 1 / NaN) can still be split, missing vs present. A feature with fewer than
/// two distinct values, counting "missing" as one, is flagged constant and is never split. Sample
/// weights do not enter the edges (as in LightGBM and scikit-learn). `has_missing` is taken from
/// the sample.
struct BinMapper {
  std::vector<std::vector<double>> edges;  ///< Per feature: upper edges of all but the last bin.
  std::vector<std::uint8_t> has_missing;   ///< Per feature: 1 when NaN was seen while fitting.
  std::vector<std::uint8_t> is_constant;   ///< Per feature: 1 when never worth splitting.
  std::vector<Index> offsets;  ///< Per feature: first slot in a flat histogram; +1 total.
  int max_bins = 255;          ///< The max_bins the mapper was fitted with.

  /// Categorical features (see `make_categorical`); all empty when there are none.
  /// Per feature: 0 = numeric, K = largest training code + 1 for a categorical feature.
  std::vector<std::int32_t> cardinality;
  /// Per categorical feature: the value bin of every code in [0, K) (rare and absent codes map to
  /// the pooled bin). Empty for numeric features.
  std::vector<std::vector<std::uint16_t>> code_bin;
  /// Per categorical feature: the code of each value bin, -1 for the pooled bin.
  std::vector<std::vector<std::int32_t>> bin_code;
  /// Per feature: the pooled ("rare") value bin, -1 when none.
  std::vector<std::int32_t> pooled_bin;

  /// True when feature f is categorical.
  bool is_categorical(Index f) const noexcept {
    return !cardinality.empty() && cardinality[static_cast<std::size_t>(f)] > 0;
  }

  Index n_features() const noexcept { return static_cast<Index>(edges.size()); }
  /// Value bins of feature f (>= 1).
  int n_value_bins(Index f) const noexcept {
    return static_cast<int>(edges[static_cast<std::size_t>(f)].size()) + 1;
  }
  /// Code of the missing bin of feature f; also the number of value bins.
  int missing_bin(Index f) const noexcept { return n_value_bins(f); }
  /// Slots of a flat histogram over all features (value bins + one missing bin each).
  Index total_bins() const noexcept { return offsets.empty() ? 0 : offsets.back(); }
  /// True when codes need 16 bits (max_bins > 255).
  bool wide() const noexcept { return max_bins > 255; }
  /// The bin code of value x for feature f. O(log n_bins).
  int bin_of(Index f, double x) const noexcept;
  /// Raw threshold of the split "code <= bin" on feature f (bin < n_value_bins(f) - 1).
  double threshold(Index f, int bin) const noexcept {
    return edges[static_cast<std::size_t>(f)][static_cast<std::size_t>(bin)];
  }
};

/// Bin codes of a matrix, column-major (`code(i, f) = data[f * n_rows + i]`) so that a
/// histogram of one feature streams one contiguous column. One byte per code, two bytes when the
/// mapper is wide. With 8-bit codes a row-major copy (`row8(i)[f]`) can be kept as well: a leaf
/// holding a scattered minority of the rows is histogrammed row by row (one cache line per row
/// feeds every feature) instead of column by column (one cache line per row and feature).
struct BinnedMatrix {
  Index n_rows = 0;
  Index n_features = 0;
  bool wide = false;
  std::vector<std::uint8_t> codes8;    ///< Used when !wide.
  std::vector<std::uint16_t> codes16;  ///< Used when wide.
  std::vector<std::uint8_t> rows8;     ///< Optional row-major copy of codes8 (empty when absent).

  const std::uint8_t* col8(Index f) const noexcept { return codes8.data() + f * n_rows; }
  const std::uint16_t* col16(Index f) const noexcept { return codes16.data() + f * n_rows; }
  const std::uint8_t* row8(Index i) const noexcept { return rows8.data() + i * n_features; }
  bool has_rows() const noexcept { return !rows8.empty(); }
  int code(Index i, Index f) const noexcept {
    return wide ? codes16[static_cast<std::size_t>(f * n_rows + i)]
                : codes8[static_cast<std::size_t>(f * n_rows + i)];
  }
};

namespace detail {

/// The bin-sample key of the row with global index `row`: a 64-bit hash of (seed, row)
/// (splitmix64's finaliser). The rows with the smallest keys form the bin sample, so whether a row
/// is sampled depends only on its global index and the seed, never on how rows are partitioned.
std::uint64_t bin_sample_key(std::uint64_t seed, Index row) noexcept;

/// The bin sample: of the global row indices `rows`, the `k` with the smallest
/// (bin_sample_key, row) (bottom-k sampling), ascending; all of them when k <= 0 or
/// k >= rows.size(). Mergeable: for any partition of the rows into parts, the bin sample of the
/// union of the parts' bin samples equals the bin sample of all rows, so a distributed fit
/// selects each worker's bottom-k and merges them (O(k) per worker) to get the single-process
/// sample. O(#rows).
std::vector<Index> bin_sample_rows(std::vector<Index> rows, Index k, std::uint64_t seed);

/// Fits the bin edges of every feature on the rows `rows` of X (all rows when `rows` is empty),
/// using the bin sample (`bin_sample_rows`, keyed by row index in X) of at most `subsample` of them
/// (0 = no subsampling).
///
/// @param max_bins  value bins per feature, in [2, 65535]
/// Preconditions: X validated (no inf), rows in range. Parallel over features; deterministic.
/// Complexity O(n + F * s log s) with s = min(#rows, subsample).
BinMapper fit_bin_mapper(const FeatureMatrix& X, const std::vector<Index>& rows, int max_bins,
                         Index subsample, std::uint64_t seed, int n_threads);

/// The bin edges of every feature from the values of already sampled rows (every row of
/// `sample`): what `fit_bin_mapper` computes from its bin sample. The edges depend only on the
/// multiset of values of each feature, never on the order of the rows, so a distributed fit
/// gathers the sampled rows in any order and every worker (or the driver) gets the same mapper.
BinMapper bin_mapper_from_sample(const FeatureMatrix& sample, int max_bins, int n_threads);

/// Regularisation of categorical binning.
struct CategoricalBinning {
  std::vector<int> features;       ///< Categorical column indices (distinct, in range).
  int min_data_per_category = 10;  ///< A level with fewer training rows is pooled.
};

/// Turns `cat.features` of a fitted mapper into categorical features (issue 12): one value bin
/// per level with at least min_data_per_category rows among `rows` (all rows when empty), at
/// most min(max_bins, 255) - 1 of them (the most frequent; ties to the lower code), listed by
/// ascending code; one pooled bin for every other code in [0, K) (rare, beyond the cap, or never
/// seen) when there is any; the missing bin last. Codes are checked over every row of X: a
/// negative or non-integer finite value, or a code >= kMaxCategories, is InvalidInput naming the
/// column and row. Offsets are recomputed. Parallel over the categorical features; deterministic.
void make_categorical(BinMapper& mapper, const FeatureMatrix& X, const std::vector<Index>& rows,
                      const CategoricalBinning& cat, int n_threads);

/// The training code counts of categorical column f over `rows` (all rows when empty): count[c]
/// rows have code c (size = largest code + 1); `missing` is set when a row of `rows` is missing.
/// Checks every row of X as make_categorical does. A distributed fit counts each partition and
/// sums the counts (exact integers), then calls make_categorical_from_counts.
std::vector<Index> category_code_counts(const FeatureMatrix& X, Index f,
                                        const std::vector<Index>& rows, bool* missing);

/// make_categorical from the code counts of every feature of `cat.features` (counts[q] and
/// missing[q] for cat.features[q]; counts may be summed over partitions and padded with trailing
/// zeros, which are dropped): the same mapper as make_categorical on the rows that were counted.
void make_categorical_from_counts(BinMapper& mapper, const CategoricalBinning& cat,
                                  const std::vector<std::vector<Index>>& counts,
                                  const std::vector<std::uint8_t>& missing);

/// Bins every row of X with a fitted mapper (X must have mapper.n_features() columns).
/// Parallel over blocks of rows; reads X once, in its own storage order. O(n * F * log bins).
/// With `row_major_copy` (8-bit codes only) the row-major copy `rows8` is filled too.
BinnedMatrix bin_matrix(const BinMapper& mapper, const FeatureMatrix& X, int n_threads,
                        bool row_major_copy = false);

}  // namespace detail
}  // namespace calibrisk
