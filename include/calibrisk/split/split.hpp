// SPDX-License-Identifier: Apache-2.0
/// @file split.hpp
/// Every way calibrisk divides rows: a stratified holdout (early stopping), stratified and grouped
/// cross-fitting folds, a time-ordered cut (fit on the earlier rows, calibrate on the later
/// ones), and the train / calibration / test partition by time and group of the workflow (and so
/// of `calibrisk train`). One module, used by the trees, the calibration, the workflow, the CLI
/// and Python. Every function is deterministic: the same input and seed give the same rows.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <array>
#include <limits>

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

/// The three parts, in time order; kExcluded marks a row a calendar split leaves out (see
/// `split_by_calendar`). The entry-order split never uses it.
enum class SplitPart : std::uint8_t { kTrain = 0, kCalibration = 1, kTest = 2, kExcluded = 3 };

/// Name of a part ("train", "calibration", "test", "excluded").
const char* part_name(SplitPart p) noexcept;

/// How train_pipeline divides rows into train / calibration / test. Text forms (CLI
/// --split-rule, Python split_rule=, provenance): "entry", "calendar".
enum class SplitRule : std::uint8_t {
  kEntry,     ///< patients ordered by entry, taken by row fractions (split_by_time_and_group)
  kCalendar,  ///< rows by their own date against two cut dates (split_by_calendar)
};

/// What a calendar split does with a patient (group) whose rows fall in more than one part.
/// Text forms (CLI --calendar-patients, Python calendar_patients=): "exclude", "later-only".
enum class CalendarPatients : std::uint8_t {
  /// The patient stays only in the first part they appear in; their rows dated in later parts
  /// are left out (SplitPart::kExcluded). No patient is in two parts: the default, the one to
  /// audit ("nobody tested was seen in training").
  kExclude,
  /// Every row goes to the part of its date: a patient seen earlier keeps only their later
  /// encounters in the later part (their earlier ones stay in the earlier part), so the later
  /// part holds patients the model has seen. Counted in `TimeGroupSplit::groups_seen_earlier`.
  kLaterOnly,
};

inline const EnumTable<SplitRule>& enum_table(SplitRule) {
  static const EnumText<SplitRule> e[] = {{SplitRule::kEntry, "entry"},
                                          {SplitRule::kCalendar, "calendar"}};
  static const EnumTable<SplitRule> t{e, 2, "SplitRule"};
  return t;
}

inline const EnumTable<CalendarPatients>& enum_table(CalendarPatients) {
  static const EnumText<CalendarPatients> e[] = {{CalendarPatients::kExclude, "exclude"},
                                                 {CalendarPatients::kLaterOnly, "later-only"}};
  static const EnumTable<CalendarPatients> t{e, 2, "CalendarPatients"};
  return t;
}

/// A calendar split as the user gives it: two cuts, either as text (ISO 8601 dates "2023-01-01"
/// for a date time column, numbers for a numeric one) or as fractions of the time range
/// (cut = min + f * (max - min), for a date column rounded down to midnight). Exactly one of
/// `cuts` and `cut_fractions` holds two values.
struct CalendarSpec {
  std::vector<std::string> cuts;
  std::vector<double> cut_fractions;
  CalendarPatients patients = CalendarPatients::kExclude;
};

/// The two cut keys of `spec` on the time keys `time` (days since 1970 when `in_days`). Throws
/// InvalidParams when neither or both forms are given, a count is not two, a cut does not parse
/// or the cuts are not strictly increasing; InvalidInput when a cut lies outside the data's time
/// range (first cut <= the earliest row leaves training empty, last cut > the latest row leaves
/// the test part empty), naming the cut, the range and the fix.
std::array<double, 2> calendar_cut_keys(const CalendarSpec& spec, const std::vector<double>& time,
                                        bool in_days);

/// The text of a time key as in messages and provenance (an ISO date / date-time when `in_days`,
/// else the number).
std::string time_key_text(double key, bool in_days);

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
  /// Calendar split only (rule == kCalendar): the cut keys and the patient rule; per part, the
  /// rows dated in it that were left out because their patient appears in an earlier part
  /// (kExclude), and the patients with rows in it who also have rows in an earlier part (counted
  /// before leaving rows out, under either rule). Rows at or after `end` are out of every part.
  SplitRule rule = SplitRule::kEntry;
  double cuts[2] = {0.0, 0.0};
  double end = 0.0;
  CalendarPatients patients = CalendarPatients::kExclude;
  Index rows_dropped[3] = {0, 0, 0};
  Index groups_seen_earlier[3] = {0, 0, 0};
  Index rows_after_end = 0;
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

/// Splits rows by their own time key: time < cut1 -> train, cut1 <= time < cut2 -> calibration,
/// cut2 <= time < end -> test, time >= end -> left out (rolling-origin validation tests one
/// period; `end` = +inf keeps every later row). A patient (group) with rows in two parts is
/// handled by `patients` (see CalendarPatients); the counts of rows left out and of patients
/// seen earlier are in the result. `time` is required (no NaN); `group` may be empty (every row
/// its own patient). Requires cut1 <= cut2 <= end (cut1 == cut2 gives an empty calibration
/// part, for callers that need two parts); InvalidInput on NaN keys or mismatched sizes. Parts may
/// come out empty: the caller checks sizes (train_pipeline's messages name the cuts). O(n).
/// Deterministic.
TimeGroupSplit split_by_calendar(const std::vector<double>& time, const std::vector<double>& group,
                                 double cut1, double cut2, CalendarPatients patients,
                                 double end = std::numeric_limits<double>::infinity());

}  // namespace calibrisk
