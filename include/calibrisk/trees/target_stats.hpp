// SPDX-License-Identifier: Apache-2.0
/// @file target_stats.hpp
/// Target statistics of integer-coded categorical columns for the binary log-loss: a numeric
/// encoding the trees consume, computed without target leakage (out-of-fold or ordered), the
/// full-data table used at scoring, and the conversion of a tree split on the encoding into a
/// category set.
///
/// A categorical column holds codes k in [0, K) stored as doubles, NaN = missing (the shared
/// contract of issue 12). For a level k with rows R_k, weights w_i (sample weight times the class
/// multiplier) and labels y_i in {0, 1}, the smoothed target statistic is
///
///     TS(k) = (sum_{i in R_k} w_i y_i + a * prior) / (sum_{i in R_k} w_i + a),
///
/// with smoothing a >= 0 (in units of weight) and prior = weighted mean of y. Used directly on the
/// training rows this leaks each row's own label into its feature, so the training encoding is one
/// of (Prokhorenkova et al. 2018, "CatBoost: unbiased boosting with categorical features", sec. 3;
/// Micci-Barreca 2001 for the smoothing):
///
/// - **out-of-fold** (`TargetStatScheme::kOutOfFold`): rows are assigned to K folds by a hash of
///   (seed, group id) — or (seed, row index) without groups — so the assignment depends on neither
///   the thread count nor how the data was partitioned, and no group (patient) is in two folds. A
///   row's value uses only the rows of the other folds, prior included:
///       TS_oof(i) = (sum_{j in R_k, fold(j) != fold(i)} w_j y_j + a * prior_{-f})
///                   / (sum_{j in R_k, fold(j) != fold(i)} w_j + a),
///   prior_{-f} = weighted mean of y over the other folds.
/// - **ordered** (`TargetStatScheme::kOrdered`, CatBoost's ordered TS): a seeded random order of
///   the groups (of the rows without groups); a row's value uses only the rows of the groups
///   before its own, and the prior is the running weighted mean of those rows with one
///   pseudo-observation of weight 1 at 0.5: prior_<g = (sum_{j before} w_j y_j + 0.5) /
///   (sum_{j before} w_j + 1).
///
/// Either way a row's own label (and its patient's) never enters its own value; tests check it.
/// At scoring a row gets the full-data table value `TargetStatTable::lookup` (same smoothing, the
/// full-data prior). Missing codes, codes outside [0, K), non-integer codes and levels with zero
/// training weight encode to NaN, so the trees route them in the missing direction, as the
/// unseen-category policy of issue 12 requires.
///
/// Because the scoring encoding is a fixed function of the code, a tree split "TS <= t" on an
/// encoded column is the category-set split {k : TS(k) <= t}; `ts_threshold_to_bitset` converts
/// it, so a model trained on target statistics scores with bitset nodes and no table look-up.
///
/// TODO(lead): integrate in booster: encode TS columns before binning, convert TS splits to
/// categorical bitset nodes. The steps: (1) in `GradientBoostedTrees::fit`, for each feature
/// listed for target statistics, call `encode_target_stats` on the training rows (with the
/// booster's y, sample weights, class weight and groups when given) and bin the encoded columns
/// instead of the codes; keep the `TargetStatTable`s; (2) when a tree is finished, replace every
/// split "x <= t" on such a feature with a categorical node whose bitset is
/// `ts_threshold_to_bitset(table, t, missing_left)` over `table.n_levels()` codes, keeping the
/// node's missing direction; (3) the early-stopping validation rows are encoded with `lookup`
/// (never out-of-fold); (4) the tables need not be saved: after (2) the model holds only bitset
/// nodes over the original codes (save them in the artifact only if the encoding is to be
/// reported). Missing-value handling is unchanged: NaN codes are NaN after encoding. (5) With a
/// code hierarchy declared (the data-layer helper's back-off), also encode one column per
/// ancestor level (category, chapter) of the code — the measured winner, docs/categorical_
/// encodings.md — and convert a split on an ancestor column with a table over the original
/// codes, `compose_target_stat_table(ancestor_table, parent_of)`, then `ts_threshold_to_bitset`.
///
/// Measured (docs/categorical_encodings.md): out-of-fold TS of the code and its ancestors beats
/// CatBoost, ordinal codes and LightGBM / XGBoost native partitions on Zipf-distributed
/// ICD-like codes; out-of-fold and ordered TS are equivalent; the smoothing a in [0.3, 3] hardly
/// matters (default 1).
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/core/weights.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk {

/// How the training rows are encoded (the scoring rows always use the full-data table).
enum class TargetStatScheme {
  kOutOfFold,  ///< K hashed folds (grouped when groups are given); a row uses the other folds
  kOrdered,    ///< CatBoost's ordered statistics over a seeded order of the groups / rows
};

/// Spellings of TargetStatScheme (Python `scheme=`).
inline const EnumTable<TargetStatScheme>& enum_table(TargetStatScheme) {
  static const EnumText<TargetStatScheme> e[] = {{TargetStatScheme::kOutOfFold, "out_of_fold"},
                                                 {TargetStatScheme::kOrdered, "ordered"}};
  static const EnumTable<TargetStatScheme> t{e, 2, "TargetStatScheme"};
  return t;
}

/// Codes are integers in [0, kMaxTargetStatLevels); larger codes are a data error at fitting.
inline constexpr Index kMaxTargetStatLevels = 1000000;

/// Settings of `encode_target_stats`.
struct TargetStatParams {
  TargetStatScheme scheme = TargetStatScheme::kOutOfFold;
  int n_folds = 5;         ///< K >= 2 (out-of-fold only)
  double smoothing = 1.0;  ///< a >= 0, finite: weight of the prior pseudo-observation
  std::uint64_t seed = 0;  ///< fold hash / order seed
  ClassWeight class_weight;
  int n_threads = 0;  ///< columns in parallel; 0 = all available; results do not depend on it

  /// Throws InvalidParams naming the field when a value is out of range.
  void validate() const;
};

/// The full-data target statistic of every level of one column (what scoring uses).
struct TargetStatTable {
  double prior = std::numeric_limits<double>::quiet_NaN();  ///< weighted mean of y (all rows)
  double smoothing = 0.0;                                   ///< a
  std::vector<double> weight;      ///< per code k: sum of w over rows with code k
  std::vector<double> weighted_y;  ///< per code k: sum of w * y over rows with code k
  std::vector<double> value;       ///< per code k: TS(k), NaN when weight[k] == 0

  /// K: one past the largest code seen in training (the bitset cardinality).
  Index n_levels() const noexcept { return static_cast<Index>(value.size()); }

  /// TS(code) for a raw code; NaN for NaN, negative, non-integer or >= K codes and for levels
  /// without training weight (the missing direction). O(1), no allocation, thread-safe.
  double lookup(double code) const noexcept {
    if (!(code >= 0.0) || code >= static_cast<double>(value.size())) return kNaN;
    const auto k = static_cast<std::size_t>(code);
    if (static_cast<double>(k) != code) return kNaN;
    return value[k];
  }

 private:
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
};

/// The result of `encode_target_stats`.
struct TargetStatEncoding {
  Eigen::MatrixXd train;                ///< (n_rows, n_columns): leakage-free training encoding
  std::vector<TargetStatTable> tables;  ///< one per column, for scoring
};

/// Fold of each row for the out-of-fold scheme: fold(i) = floor(h * K / 2^64) with h a SplitMix64
/// hash of (seed, key), key = the bits of groups[i] (-0 and +0 are one group) or i when `groups`
/// is empty. Same folds for any thread count and any row order of a group; no group in two folds.
/// Fold sizes are multinomial (not balanced). Throws InvalidInput when a group id is not finite
/// or `groups` has the wrong size, InvalidParams when n_folds < 2. O(n).
std::vector<int> target_stat_folds(Index n_rows, VectorView<const double> groups, int n_folds,
                                   std::uint64_t seed);

/// The full-data table of one column. `w` holds the effective weights (sample weight times the
/// class multiplier, `effective_weights`); empty = all 1. Throws InvalidInput for a code that is
/// not NaN nor an integer in [0, kMaxTargetStatLevels) ("column <column>"). O(n + K).
TargetStatTable target_stat_table(VectorView<const double> codes, VectorView<const double> y,
                                  VectorView<const double> w, double smoothing, Index column = 0);

/// Out-of-fold statistics of one column into `out` (n rows; NaN for missing codes). `folds` from
/// `target_stat_folds`. Throws InvalidInput when a fold that has rows has no weight outside it
/// (e.g. one group only). O(n + K * n_folds^2) time, O(K * n_folds) memory.
void out_of_fold_target_stats(VectorView<const double> codes, VectorView<const double> y,
                              VectorView<const double> w, const std::vector<int>& folds,
                              int n_folds, double smoothing, VectorView<double> out,
                              Index column = 0);

/// The processing order of the ordered scheme: `rows` lists every row, grouped (all rows of a
/// group are consecutive, in increasing row index), the groups in a seeded uniformly random order;
/// block b is rows[block_start[b] .. block_start[b + 1]). Without groups each row is a block.
struct TargetStatOrder {
  std::vector<Index> rows;
  std::vector<Index> block_start;  ///< n_blocks + 1 offsets into `rows`
};

/// The seeded order of `ordered_target_stats` (Fisher-Yates over groups with `Rng(seed)`; groups
/// numbered by first appearance). Throws InvalidInput for non-finite group ids. O(n) expected.
TargetStatOrder target_stat_order(Index n_rows, VectorView<const double> groups,
                                  std::uint64_t seed);

/// Ordered statistics of one column into `out`: a row's value uses only the rows of earlier
/// blocks of `order` (see the file comment for the running prior). O(n + K).
void ordered_target_stats(VectorView<const double> codes, VectorView<const double> y,
                          VectorView<const double> w, const TargetStatOrder& order,
                          double smoothing, VectorView<double> out, Index column = 0);

/// Encodes every column of `codes` (n_rows x n_columns, any strides): the training encoding of
/// `params.scheme` and the full-data tables. `y` in {0, 1}; `sample_weight` empty or n finite
/// non-negative weights; `groups` empty or n finite group (patient) ids. Throws InvalidInput on
/// bad data (naming the column and row), InvalidParams on bad settings. Deterministic: the same
/// bits for any `n_threads`. O(n * n_columns) time.
TargetStatEncoding encode_target_stats(MatrixView<const double> codes, VectorView<const double> y,
                                       VectorView<const double> sample_weight,
                                       VectorView<const double> groups,
                                       const TargetStatParams& params);

/// The scoring encoding: out(i, j) = tables[j].lookup(codes(i, j)). Throws InvalidInput when the
/// column count differs from the number of tables. Never throws on code values.
Eigen::MatrixXd apply_target_stats(const std::vector<TargetStatTable>& tables,
                                   MatrixView<const double> codes, int n_threads = 0);

/// The codes sent left by the split "TS <= t": every k in [0, K) with table.value[k] <= t, plus,
/// when `missing_left`, the levels without training weight (whose TS is NaN and so follow the
/// missing direction). Sorted ascending. Codes outside [0, K), non-integer codes and NaN are not
/// listed: a bitset node sends them in its missing direction, as "TS <= t" does with their NaN.
std::vector<int> ts_threshold_to_codes(const TargetStatTable& table, double t, bool missing_left);

/// The table of an ancestor column (category, chapter) re-indexed by the codes of the column it
/// derives from: row k of the result is `ancestor.lookup(parent_of[k])` (weights likewise), so a
/// split on the ancestor's TS converts to a category set over the original codes with
/// `ts_threshold_to_bitset(compose_target_stat_table(ancestor, parent_of), t, missing_left)`.
/// `parent_of[k]` is the ancestor code of code k, or -1 when unknown (k then follows the missing
/// direction). O(K).
TargetStatTable compose_target_stat_table(const TargetStatTable& ancestor,
                                          const std::vector<int>& parent_of);

/// The same set as a bitset of ceil(K / 32) 32-bit words: bit (k % 32) of word k / 32 is set iff
/// code k goes left (LightGBM's layout).
std::vector<std::uint32_t> ts_threshold_to_bitset(const TargetStatTable& table, double t,
                                                  bool missing_left);

}  // namespace calibrisk
