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
/// The booster consumes these statistics itself (`GBDTParams::cat_encoding`, docs/trees.md):
/// `derive_categorical_columns` turns each target-statistic feature into numeric columns (the
/// out-of-fold TS of the code, the code itself as an ordinal, the out-of-fold TS of each ancestor
/// level of a declared code hierarchy), the trees grow on them, and `to_categorical_tree`
/// converts every split on a derived column into a category-set node over the original codes
/// (`ts_threshold_to_bitset`; `compose_target_stat_table` for ancestors), so a saved model holds
/// only bitset nodes and scores raw codes.
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
#include <calibrisk/io/categories.hpp>
#include <calibrisk/trees/tree.hpp>

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

// ---- target statistics inside the booster ------------------------------------------------------

/// The ancestor groups of one categorical feature's codes: `levels[l][k]` is the group id (>= 0)
/// of code k at hierarchy level l (level 0 the coarsest, e.g. the 3-character ICD category), or -1
/// when unknown (the code then has no value at that level and follows the missing direction). A
/// level may list fewer codes than the feature has (the rest are unknown).
struct CodeAncestry {
  int feature = -1;                      ///< column of X
  std::vector<std::vector<int>> levels;  ///< per level: code -> group id, or -1
};

/// The ancestor levels of a labelled column under its declared hierarchy, for `CodeAncestry`:
/// code k stands for `labels[k]`; with the ancestors of a label nearest first [a_1, ..., a_m]
/// (`CodeHierarchy::ancestors`), the group of level l (0 = coarsest) is a_{m-l} when l < m and
/// the label itself otherwise, so the levels are nested partitions of the codes, each finer than
/// the one before. Groups are numbered by first appearance in code order. A level whose groups are
/// the labels themselves (no pooling) is dropped, and at most `max_levels` levels (the coarsest)
/// are kept. Empty without a declared hierarchy. O(labels * depth).
std::vector<std::vector<int>> code_ancestor_levels(const std::vector<std::string>& labels,
                                                   const CodeHierarchy& hierarchy,
                                                   int max_levels = 3);

/// The hierarchy inferred from a labelled column without a declared one: the dotted hierarchy
/// (250.01 -> 250.0 -> 250, E11.65 -> E11.6 -> E11) when at least half of the labels hold a '.'
/// after their first character and `code_ancestor_levels` under it pools some labels; otherwise
/// none (undeclared). Used by the callers that know the labels (workflow, Python estimators) when
/// `GBDTParams::cat_ts_infer_hierarchy` is on; it only adds ancestor target-statistic columns
/// (the level table and its pooling are unchanged). O(labels * depth).
CodeHierarchy inferred_code_hierarchy(const std::vector<std::string>& labels);

/// What a column of a derived matrix holds.
enum class DerivedKind : std::uint8_t {
  kOriginal,      ///< the feature's own column of X, unchanged
  kCodeStat,      ///< out-of-fold TS of the code
  kOrdinal,       ///< the code itself (range splits), NaN for codes without training weight
  kAncestorStat,  ///< out-of-fold TS of the code's group at one ancestor level
};

/// One column of a derived matrix and its scoring encoding.
struct DerivedColumn {
  int feature = -1;  ///< the column of X it derives from
  DerivedKind kind = DerivedKind::kOriginal;
  int level = -1;  ///< ancestor level (kAncestorStat), else -1
  /// Not kOriginal: the value of a row with code x at scoring is `table.lookup(x)`, a table over
  /// the codes [0, K) of `feature` (TS of the code; the code for kOrdinal; the composed ancestor
  /// TS for kAncestorStat). A split "value <= t" on the column is the category set
  /// `ts_threshold_to_bitset(table, t, missing_left)`.
  TargetStatTable table;
};

/// Settings of `derive_categorical_columns`.
struct DerivedCategoricalSpec {
  std::vector<int> features;           ///< the target-statistic columns of X (distinct, in range)
  std::vector<CodeAncestry> ancestry;  ///< optional, for some of `features`
  bool ordinal = true;                 ///< add the ordinal code column
  int n_folds = 5;                     ///< >= 2
  double smoothing = 1.0;              ///< >= 0, finite
  std::uint64_t seed = 0;              ///< fold hash seed
};

/// The matrix the booster grows on when some categorical features use target statistics.
struct DerivedCategoricalMatrix {
  /// (n_rows, columns.size()), column-major. Columns [0, F) are X's columns, except that a
  /// target-statistic feature's column holds the TS of its code; the other derived columns follow,
  /// per feature in the order of `spec.features`: ordinal, then ancestor levels 0, 1, ...
  /// Training rows hold the leakage-free (out-of-fold) encoding, other rows the scoring encoding.
  Eigen::MatrixXd X;
  std::vector<DerivedColumn> columns;
  /// Per column of X: K (the bitset cardinality: one past the largest training code, or the
  /// ancestry's code count if larger) for target-statistic features, 0 otherwise.
  std::vector<std::int32_t> cardinality;
};

/// Builds the derived matrix. `rows`: the training rows (ascending; empty = all rows): the TS
/// tables and folds use only them. `y` in {0, 1} and `w` (effective weights, sample weight times
/// class multipliers; empty = all 1) have one entry per row of X; `groups` is empty or one finite
/// id per row (folds then grouped: a patient's rows share a fold). Throws InvalidInput naming the
/// column and row when a code of a target-statistic feature (any row of X) is not NaN nor an
/// integer in [0, kMaxCategories), InvalidParams on bad settings. Deterministic: the same bits
/// for any `n_threads`. O(n * (F + derived columns)) time and memory.
DerivedCategoricalMatrix derive_categorical_columns(
    const FeatureMatrix& X, const std::vector<Index>& rows, VectorView<const double> y,
    VectorView<const double> w, VectorView<const double> groups, const DerivedCategoricalSpec& spec,
    int n_threads = 0);

/// A tree grown on `d.X` as a tree over the original columns: a split on a kOriginal column keeps
/// its feature, threshold (or native bitset) and missing direction; a split "value <= t" on a
/// derived column becomes a category-set node on its feature with
/// `ts_threshold_to_bitset(column.table, t, missing_left)` and the same missing direction.
/// Children, values, gains and covers are unchanged. For every row x of raw codes, the result
/// routes x exactly as `tree` routes the row of scoring encodings (column j = columns[j]'s
/// lookup of x's code, kOriginal columns as in x). O(nodes * K).
Tree to_categorical_tree(const Tree& tree, const DerivedCategoricalMatrix& d);

}  // namespace calibrisk
