// SPDX-License-Identifier: Apache-2.0
// Calendar and equal-count periods of a time key (see periods.hpp).
#include <calibrisk/split/periods.hpp>

#include <calibrisk/io/date.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>

namespace calibrisk {
namespace {

// A finite key with 6 significant digits (as the report prints numbers).
std::string key_text(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

CivilDate day_of(double t) { return civil_from_days(static_cast<std::int64_t>(std::floor(t))); }

// Months, quarters or years of a date key.
std::vector<TimePeriod> calendar_periods(VectorView<const double> t,
                                         const std::vector<Index>& order, TimeGranularity g,
                                         std::string& granularity) {
  const CivilDate first = day_of(t[order.front()]);
  const CivilDate last = day_of(t[order.back()]);
  const std::int64_t months =
      (last.year - first.year) * 12 + static_cast<std::int64_t>(last.month) - first.month + 1;
  if (g == TimeGranularity::kAuto) {
    g = months <= 12 ? TimeGranularity::kMonth : TimeGranularity::kQuarter;
  }
  granularity = enum_to_text(g);
  std::map<std::int64_t, TimePeriod> by_key;
  for (Index i : order) {
    const CivilDate d = day_of(t[i]);
    const unsigned q = (d.month - 1) / 3 + 1;
    const std::int64_t key = g == TimeGranularity::kMonth     ? d.year * 12 + d.month
                             : g == TimeGranularity::kQuarter ? d.year * 4 + q
                                                              : d.year;
    TimePeriod& p = by_key[key];
    if (p.rows.empty()) {
      char buf[32];
      unsigned first_month = 1;
      const auto year = static_cast<long long>(d.year);
      if (g == TimeGranularity::kMonth) {
        std::snprintf(buf, sizeof buf, "%04lld-%02u", year, d.month);
        first_month = d.month;
      } else if (g == TimeGranularity::kQuarter) {
        std::snprintf(buf, sizeof buf, "%04lld-Q%u", year, q);
        first_month = (q - 1) * 3 + 1;
      } else {
        std::snprintf(buf, sizeof buf, "%04lld", year);
      }
      p.label = buf;
      p.start = static_cast<double>(days_from_civil(d.year, first_month, 1));
    }
    p.rows.push_back(i);
  }
  std::vector<TimePeriod> out;
  for (auto& [k, p] : by_key) out.push_back(std::move(p));
  return out;
}

// Equal-count bins; ties in the key never straddle a boundary.
std::vector<TimePeriod> count_bins(VectorView<const double> t, const std::vector<Index>& order,
                                   int n_bins, bool in_days) {
  // A date key's bins are labelled by their first and last day.
  auto text = [in_days](double v) {
    return in_days ? format_iso_date(static_cast<std::int64_t>(std::floor(v))) : key_text(v);
  };
  const Index n = t.size();
  const Index bins = std::min<Index>(n_bins, n);
  std::vector<TimePeriod> out;
  Index begin = 0;
  for (Index b = 0; b < bins && begin < n; ++b) {
    Index end = (b + 1 == bins) ? n : (n * (b + 1)) / bins;
    end = std::max(end, begin + 1);
    while (end < n && t[order[end]] == t[order[end - 1]]) ++end;
    TimePeriod p;
    p.label = "t" + std::to_string(out.size() + 1) + " (" + text(t[order[begin]]) + "\xE2\x80\xA6" +
              text(t[order[end - 1]]) + ")";
    p.start = t[order[begin]];
    p.rows.assign(order.begin() + begin, order.begin() + end);
    out.push_back(std::move(p));
    begin = end;
  }
  return out;
}

}  // namespace

std::vector<TimePeriod> time_periods(VectorView<const double> t, bool in_days, TimeGranularity g,
                                     int n_bins, std::string& granularity) {
  const Index n = t.size();
  if (n == 0) {
    granularity.clear();
    return {};
  }
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return t[a] < t[b]; });
  if (in_days && g != TimeGranularity::kBins) return calendar_periods(t, order, g, granularity);
  granularity = "equal-count bins";
  return count_bins(t, order, n_bins, in_days);
}

}  // namespace calibrisk
