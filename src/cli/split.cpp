// SPDX-License-Identifier: Apache-2.0
// Time-ordered grouped split (see split.hpp).
#include "cli/split.hpp"

#include <calibrisk/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace calibrisk::cli {

const char* part_name(Part p) noexcept {
  switch (p) {
    case Part::kTrain:
      return "train";
    case Part::kCalibration:
      return "calibration";
    case Part::kTest:
      return "test";
  }
  return "?";
}

std::vector<Index> Split::rows_of(Part p) const {
  std::vector<Index> rows;
  rows.reserve(static_cast<std::size_t>(summary[static_cast<int>(p)].rows));
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] == p) rows.push_back(static_cast<Index>(i));
  }
  return rows;
}

namespace {

struct GroupInfo {
  double entry = 0.0;   // time key of the group's first row
  Index first_row = 0;  // input position of that row (tie-break)
  Index rows = 0;
};

}  // namespace

Split split_by_time_and_group(const std::vector<double>& time, const std::vector<double>& group,
                              Index n_rows, const SplitFractions& fractions) {
  const char* where = "split";
  if (n_rows <= 0) throw InvalidInput(std::string(where) + ": there are no rows to split.");
  if (!time.empty() && static_cast<Index>(time.size()) != n_rows) {
    throw InvalidInput(std::string(where) + ": the time column has " + std::to_string(time.size()) +
                       " values for " + std::to_string(n_rows) + " rows.");
  }
  if (!group.empty() && static_cast<Index>(group.size()) != n_rows) {
    throw InvalidInput(std::string(where) + ": the group column has " +
                       std::to_string(group.size()) + " values for " + std::to_string(n_rows) +
                       " rows.");
  }
  auto time_of = [&](Index i) {
    return time.empty() ? static_cast<double>(i) : time[static_cast<std::size_t>(i)];
  };

  // Collect groups in order of first appearance.
  std::vector<Index> group_of(static_cast<std::size_t>(n_rows));
  std::vector<GroupInfo> groups;
  std::unordered_map<double, Index> index_of;
  index_of.reserve(static_cast<std::size_t>(n_rows));
  for (Index i = 0; i < n_rows; ++i) {
    const double t = time_of(i);
    if (std::isnan(t)) {
      throw InvalidInput("the time column is missing at data row " + std::to_string(i + 1) +
                         "; every row needs a time to be split in time order.");
    }
    Index g;
    if (group.empty()) {
      g = static_cast<Index>(groups.size());
      groups.push_back({t, i, 0});
    } else {
      const double key = group[static_cast<std::size_t>(i)];
      if (std::isnan(key)) {
        throw InvalidInput("the group column is missing at data row " + std::to_string(i + 1) +
                           "; every row needs a group (patient) id so that no patient lands in "
                           "two parts.");
      }
      auto [it, inserted] = index_of.try_emplace(key, static_cast<Index>(groups.size()));
      if (inserted) groups.push_back({t, i, 0});
      g = it->second;
      GroupInfo& gi = groups[static_cast<std::size_t>(g)];
      if (t < gi.entry) gi.entry = t;  // first row in time, not in the file
    }
    groups[static_cast<std::size_t>(g)].rows += 1;
    group_of[static_cast<std::size_t>(i)] = g;
  }

  std::vector<Index> order(groups.size());
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), [&](Index a, Index b) {
    const GroupInfo& ga = groups[static_cast<std::size_t>(a)];
    const GroupInfo& gb = groups[static_cast<std::size_t>(b)];
    if (ga.entry != gb.entry) return ga.entry < gb.entry;
    return ga.first_row < gb.first_row;
  });

  const double n = static_cast<double>(n_rows);
  const double b1 = fractions.train * n;
  const double b2 = (fractions.train + fractions.calibration) * n;
  std::vector<Part> group_part(groups.size(), Part::kTrain);
  double cum = 0.0;
  for (Index g : order) {
    const GroupInfo& gi = groups[static_cast<std::size_t>(g)];
    const double mid = cum + 0.5 * static_cast<double>(gi.rows);
    group_part[static_cast<std::size_t>(g)] =
        mid < b1 ? Part::kTrain : (mid < b2 ? Part::kCalibration : Part::kTest);
    cum += static_cast<double>(gi.rows);
  }

  Split s;
  s.requested = fractions;
  s.part.resize(static_cast<std::size_t>(n_rows));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (auto& ps : s.summary) {
    ps.first_time = kInf;
    ps.last_time = -kInf;
    ps.entry_first = kInf;
    ps.entry_last = -kInf;
  }
  for (Index i = 0; i < n_rows; ++i) {
    const Part p = group_part[static_cast<std::size_t>(group_of[static_cast<std::size_t>(i)])];
    s.part[static_cast<std::size_t>(i)] = p;
    PartSummary& ps = s.summary[static_cast<int>(p)];
    ps.rows += 1;
    ps.first_time = std::min(ps.first_time, time_of(i));
    ps.last_time = std::max(ps.last_time, time_of(i));
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    PartSummary& ps = s.summary[static_cast<int>(group_part[g])];
    ps.groups += 1;
    ps.entry_first = std::min(ps.entry_first, groups[g].entry);
    ps.entry_last = std::max(ps.entry_last, groups[g].entry);
  }
  for (int p = 0; p < 3; ++p) {
    if (s.summary[p].rows == 0) {
      throw InvalidInput(
          std::string("split: the ") + part_name(static_cast<Part>(p)) +
          " part is empty: " + std::to_string(n_rows) + " rows in " +
          std::to_string(groups.size()) + (group.empty() ? " groups" : " patients (groups)") +
          " are too few for --split train=" + std::to_string(fractions.train) + ",calibration=" +
          std::to_string(fractions.calibration) + ",test=" + std::to_string(fractions.test) +
          "; use more data, larger fractions for the small parts, or check the group column.");
    }
  }
  for (Index i = 0; i < n_rows; ++i) {
    const int p = static_cast<int>(s.part[static_cast<std::size_t>(i)]);
    if (p > 0 && time_of(i) < s.summary[p - 1].last_time) s.rows_overlapping_earlier_part[p] += 1;
  }
  return s;
}

}  // namespace calibrisk::cli
