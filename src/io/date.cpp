// SPDX-License-Identifier: Apache-2.0
// Calendar arithmetic and ISO 8601 parsing used by the CSV reader, the cohort and the report.
#include <calibrisk/io/date.hpp>

#include <cmath>
#include <cstdio>

namespace calibrisk {

// Era-based conversion: a 400-year era has exactly 146097 days, and counting years from March
// puts the leap day at the end of the year, so the day-of-year is a closed form in the month.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);                            // [0, 399]
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t days) noexcept {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  CivilDate d;
  d.day = doy - (153 * mp + 2) / 5 + 1;
  d.month = mp < 10 ? mp + 3 : mp - 9;
  d.year = static_cast<std::int64_t>(yoe) + era * 400 + (d.month <= 2 ? 1 : 0);
  return d;
}

bool is_valid_date(std::int64_t year, unsigned month, unsigned day) noexcept {
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const unsigned last = month == 2 && leap ? 29 : kDays[month - 1];
  return day <= last;
}

namespace {

// Reads exactly `n` decimal digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[pos + static_cast<std::size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  out = v;
  return true;
}

}  // namespace

bool parse_iso8601(std::string_view s, double& days) noexcept {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-') return false;
  if (!digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-') return false;
  if (!digits(s, pos, 2, day)) return false;
  if (!is_valid_date(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) return false;
  double seconds = 0.0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != ' ') return false;
    ++pos;
    int hh = 0, mm = 0, ss = 0;
    if (!digits(s, pos, 2, hh) || pos >= s.size() || s[pos++] != ':') return false;
    if (!digits(s, pos, 2, mm)) return false;
    double frac = 0.0;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!digits(s, pos, 2, ss)) return false;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        double scale = 0.1;
        const std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          frac += scale * (s[pos] - '0');
          scale /= 10.0;
          ++pos;
        }
        if (pos == start) return false;
      }
    }
    if (hh > 23 || mm > 59 || ss > 60) return false;
    seconds = hh * 3600.0 + mm * 60.0 + ss + frac;
    if (pos < s.size()) {
      if (s[pos] == 'Z') {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        const double sign = s[pos] == '+' ? 1.0 : -1.0;
        ++pos;
        int oh = 0, om = 0;
        if (!digits(s, pos, 2, oh)) return false;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (!digits(s, pos, 2, om)) return false;
        if (oh > 23 || om > 59) return false;
        seconds -= sign * (oh * 3600.0 + om * 60.0);  // local = UTC + offset
      } else {
        return false;
      }
    }
    if (pos != s.size()) return false;
  }
  days = static_cast<double>(
             days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) +
         seconds / 86400.0;
  return true;
}

std::string iso8601_problem(std::string_view s) {
  double unused = 0.0;
  if (parse_iso8601(s, unused)) return {};
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0;
  const bool date_shape = digits(s, pos, 4, year) && pos < s.size() && s[pos++] == '-' &&
                          digits(s, pos, 2, month) && pos < s.size() && s[pos++] == '-' &&
                          digits(s, pos, 2, day);
  if (date_shape) {
    char buf[96];
    if (month < 1 || month > 12) {
      std::snprintf(buf, sizeof buf, "month %02d is not in 01..12", month);
      return buf;
    }
    if (!is_valid_date(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) {
      unsigned last = 28;
      while (last < 31 && is_valid_date(year, static_cast<unsigned>(month), last + 1)) ++last;
      std::snprintf(buf, sizeof buf, "not a valid calendar date (%04d-%02d has %u days)", year,
                    month, last);
      return buf;
    }
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
      return "not a valid ISO 8601 date-time: the time must be HH:MM or HH:MM:SS[.fff] within "
             "00:00 to 23:59:60, optionally followed by Z or +HH:MM";
    }
  }
  return "not an ISO 8601 date/date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)";
}

std::string format_iso_date(std::int64_t days) {
  const CivilDate d = civil_from_days(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(d.year), d.month,
                d.day);
  return buf;
}

std::string format_iso_datetime(double days) {
  const double whole = std::floor(days);
  auto secs = static_cast<long long>(std::llround((days - whole) * 86400.0));
  auto day = static_cast<std::int64_t>(whole);
  if (secs >= 86400) {
    ++day;
    secs -= 86400;
  }
  if (secs == 0 && days == whole) return format_iso_date(day);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lld", format_iso_date(day).c_str(),
                secs / 3600, (secs / 60) % 60, secs % 60);
  return buf;
}

}  // namespace calibrisk
