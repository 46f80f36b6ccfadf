// SPDX-License-Identifier: Apache-2.0
/// @file split.hpp
/// Every way calibrisk divides rows: a stratified holdout (early stopping), stratified and grouped
/// cross-fitting folds, a time-ordered cut (fit on the earlier rows, calibrate on the later
/// ones), and the train / calibration / test partition by time and group of the workflow (and so
/// of `calibrisk train`). One module, used by the trees, the calibration, the workflow, the CLI
/// and Python. Every function is deterministic: the same input and seed give the same rows.
#pragma once

#include <calibrisk/core/matrix.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk {

// ---------------------------------------------------------------- holdout and folds

/// A stratified, seeded holdout of the rows [0, n) of `y` (0/1 labels): each class is shuffled
/// on its own stream and llround(fraction * n_class) of its rows go to `valid`, at least one when
/// the class has two rows or more and never all of them (one row of each class stays in
/// `train`). Both index lists come back sorted. Used for the early-stopping validation set of
/// GradientBoostedTrees. `fraction` in (0, 1) (the caller validates it).
struct Holdout {
  std::vector<Index> train;
  std::vector<Index> valid;
};
Holdout stratified_holdout(VectorView<const double> y, double fraction, std::uint64_t seed);

/// Stratified fold of each row: each class shuffled (seeded) and dealt round-robin, the deal
/// continuing from one class to the next so fold sizes differ by at most one. Throws InvalidInput
/// (prefixed by `where`) when a class has fewer rows than `k` folds.
std::vector<int> stratified_folds(VectorView<const double> y, int k, std::uint64_t seed,
                                  const std::string& where = "CalibratedModel::fit");

/// Grouped stratified folds (like scikit-learn's StratifiedGroupKFold): every row of a group
/// gets the same fold. Groups are shuffled (seeded), ordered by size (largest first) and each is
/// put in the fold whose per-class shares stay smallest after adding it (greedy balancing of both
/// classes). Throws InvalidInput when sizes differ, a group id is not finite or there are fewer
/// groups than folds.
std::vector<int> grouped_folds(VectorView<const double> y, VectorView<const double> groups, int k,
                               std::uint64_t seed,
                               const std::string& where = "CalibratedModel::fit");

// ---------------------------------------------------------------- time-ordered cut

/// The rows in time order (stable: ties keep input order) and the cut between the earlier
/// (fitting) rows order[0, cut) and the later (calibration) rows order[cut, n).
struct TimeCut {
  std::vector<Index> order;
  Index cut = 0;
};

/// Cuts the latest `fraction` of rows (ceil(fraction * n)) off, extended backwards over rows
/// sharing the cut time so every fitting row is strictly earlier than every calibration row.
/// `time` is one stamp per row (any unit; +-inf allowed, NaN not). Throws InvalidInput (prefixed
/// by `where`) on NaN or when every row would fall in the calibration part.
TimeCut time_cut(VectorView<const double> time, double fraction,
                 const std::string& where = "CalibratedModel::fit_time_ordered");

/// Per row: 0 = fitting part (earlier), 1 = calibration part (the later rows of `time_cut`).
std::vector<int> time_split(VectorView<const double> time, double fraction,
                            const std::string& where = "CalibratedModel::fit_time_ordered");

// ---------------------------------------------------------------- train / calibration / test

/// Fractions of rows for the three parts; each > 0, summing to 1.
struct SplitFractions {
  double train = 0.6;
  double calibration = 0.2;
  double test = 0.2;
};

/// The three parts, in time order.
enum class SplitPart : std::uint8_t { kTrain = 0, kCalibration = 1, kTest = 2 };

/// Name of a part ("train", "calibration", "test").
const char* part_name(SplitPart p) noexcept;

/// Summary of one part, recorded in the pipeline's provenance and the report.
struct PartSummary {
  Index rows = 0;
  Index groups = 0;
  double first_time = 0.0;   ///< smallest time key of its rows (row index when no time column)
  double last_time = 0.0;    ///< largest time key of its rows
  double entry_first = 0.0;  ///< earliest entry (first time key) of its groups
  double entry_last = 0.0;   ///< latest entry of its groups
};

/// Which part each row is in, and what that means.
struct TimeGroupSplit {
  std::vector<SplitPart> part;  ///< one per input row
  PartSummary summary[3];       ///< indexed by SplitPart
  SplitFractions requested;
  /// Per part: rows dated before the last row of the previous part (a later-entering patient's
  /// rows may interleave in calendar time with an earlier part's repeat visits). Reported in the
  /// provenance so the overlap is visible, never hidden. Entry [0] is always 0.
  Index rows_overlapping_earlier_part[3] = {0, 0, 0};
  /// Row indices of a part, in input order.
  std::vector<Index> rows_of(SplitPart p) const;
};

/// Splits rows into train / calibration / test so that
///  (1) no group (patient) has rows in two parts, and
///  (2) the parts follow time: groups are ordered by their entry, the time key of their first row
///      (ties by first appearance in the input), and taken in that order: the earliest-entering
///      groups form the training part, the next the calibration part, the latest the test part.
///      Every calibration group entered no earlier than every training group, and every test
///      group no earlier than every calibration group.
/// A group goes to the part in which the midpoint of its rows falls on the cumulative row count,
/// so each part's share of rows is the requested fraction up to half a group.
///
/// @param time    one time key per row (days since 1970 or any numeric order key; no NaN), or
///                empty: the input order is the time order.
/// @param group   one group key per row (no NaN), or empty: every row is its own group.
/// @param n_rows  number of rows (must match non-empty `time` / `group`).
/// Throws InvalidInput when a key is NaN, sizes differ, or a part would be empty (too few groups
/// for the fractions; the message says how many groups there are and what to change).
/// Complexity O(n log n). Deterministic.
TimeGroupSplit split_by_time_and_group(const std::vector<double>& time,
                                       const std::vector<double>& group, Index n_rows,
                                       const SplitFractions& fractions);

}  // namespace calibrisk
