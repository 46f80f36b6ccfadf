// SPDX-License-Identifier: Apache-2.0
/// @file date.hpp
/// Calendar dates as day numbers: the proleptic Gregorian calendar and ISO 8601 parsing/formatting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace calibrisk {

/// Days since 1970-01-01 of the proleptic Gregorian date (year, month 1..12, day 1..31).
///
/// Exact integer arithmetic for any year in [-10^6, 10^6] (era-based; Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms", 2013). Does not validate the day of the month; use
/// `is_valid_date` first. Complexity O(1); thread-safe.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept;

/// A calendar date.
struct CivilDate {
  std::int64_t year = 1970;
  unsigned month = 1;  ///< 1..12
  unsigned day = 1;    ///< 1..31
};

/// The date of a day number (inverse of `days_from_civil`).
CivilDate civil_from_days(std::int64_t days) noexcept;

/// True when (year, month, day) exists in the Gregorian calendar (leap years included).
bool is_valid_date(std::int64_t year, unsigned month, unsigned day) noexcept;

/// Parses an ISO 8601 date or date-time into fractional days since 1970-01-01 (UTC).
///
/// Accepted: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS`, with optional fractional
/// seconds (`.fff`), a space instead of `T`, and an optional zone `Z` or `±HH:MM` / `±HHMM`
/// (converted to UTC). Returns false (leaving `days` untouched) on anything else, including
/// impossible dates such as 2023-02-30. Thread-safe.
bool parse_iso8601(std::string_view text, double& days) noexcept;

/// Why `parse_iso8601(text)` fails, for an error message: "not a valid calendar date (2023-02 has
/// 28 days)", "month 13 is not in 01..12", "the time 25:00 is out of range", or "not an ISO 8601
/// date/date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"; "" when it parses. Thread-safe.
std::string iso8601_problem(std::string_view text);

/// `YYYY-MM-DD` of a day number.
std::string format_iso_date(std::int64_t days);

/// `YYYY-MM-DD` when `days` is a whole number, otherwise `YYYY-MM-DDTHH:MM:SS` (UTC, seconds
/// rounded to the nearest whole second).
std::string format_iso_datetime(double days);

}  // namespace calibrisk
