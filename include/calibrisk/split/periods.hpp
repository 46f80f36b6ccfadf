// SPDX-License-Identifier: Apache-2.0
/// @file periods.hpp
/// Time periods of a time key: calendar months, quarters or years of a date key, or bins of
/// about equal row counts of any numeric key. One implementation, used by the report's
/// over-time section and by rolling-origin validation (each period's rows, label and start).
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <string>
#include <vector>

namespace calibrisk {

/// How periods are formed from a time key.
enum class TimeGranularity {
  kAuto,     ///< days: months when the span is at most 12 months, else quarters; numbers: bins
  kMonth,    ///< calendar months (time key in days since 1970-01-01)
  kQuarter,  ///< calendar quarters (time key in days since 1970-01-01)
  kBins,     ///< `n_bins` bins with about equal row counts (any numeric key)
  kYear,     ///< calendar years (time key in days since 1970-01-01)
};

/// The one text table of TimeGranularity (Python's `time_granularity=`, `calibrisk validate
/// --period`).
inline const EnumTable<TimeGranularity>& enum_table(TimeGranularity) {
  static const EnumText<TimeGranularity> e[] = {{TimeGranularity::kAuto, "auto"},
                                                {TimeGranularity::kMonth, "month"},
                                                {TimeGranularity::kQuarter, "quarter"},
                                                {TimeGranularity::kYear, "year"},
                                                {TimeGranularity::kBins, "bins"}};
  static const EnumTable<TimeGranularity> t{e, 5, "TimeGranularity"};
  return t;
}

/// One period: its label ("2023-04", "2023-Q2", "2023", bins "t3 (17…25)" or, of a date key,
/// "t3 (2023-05-02…2023-08-30)"), the first time key it
/// covers (the first day of the month / quarter / year; a bin's smallest key) and its rows in
/// time order (ties in input order).
struct TimePeriod {
  std::string label;
  double start = 0.0;
  std::vector<Index> rows;
};

/// The non-empty periods of `t` in time order. Calendar periods need `in_days` (a date key);
/// without it, or with kBins, rows are cut into min(n_bins, n) bins of about equal counts whose
/// boundaries never split rows with the same key, so the rows of period k are exactly those with
/// start[k] <= t < start[k + 1]. `granularity` receives what was used ("month", "quarter",
/// "year" or "equal-count bins"). Keys must be finite (the caller checks). O(n log n).
std::vector<TimePeriod> time_periods(VectorView<const double> t, bool in_days, TimeGranularity g,
                                     int n_bins, std::string& granularity);

}  // namespace calibrisk
