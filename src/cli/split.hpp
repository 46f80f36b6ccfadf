// SPDX-License-Identifier: Apache-2.0
// The train / calibration / test split of `calibrisk train`: in time order and by group.
#pragma once

#include "cli/options.hpp"

#include <calibrisk/core/matrix.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// The three parts, in time order.
enum class Part : std::uint8_t { kTrain = 0, kCalibration = 1, kTest = 2 };

/// Name of a part ("train", "calibration", "test").
const char* part_name(Part p) noexcept;

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
struct Split {
  std::vector<Part> part;  ///< one per input row
  PartSummary summary[3];  ///< indexed by Part
  SplitFractions requested;
  /// Per part: rows dated before the last row of the previous part (a later-entering patient's
  /// rows may interleave in calendar time with an earlier part's repeat visits). Reported in the
  /// provenance so the overlap is visible, never hidden. Entry [0] is always 0.
  Index rows_overlapping_earlier_part[3] = {0, 0, 0};
  /// Row indices of a part, in input order.
  std::vector<Index> rows_of(Part p) const;
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
Split split_by_time_and_group(const std::vector<double>& time, const std::vector<double>& group,
                              Index n_rows, const SplitFractions& fractions);

}  // namespace calibrisk::cli
