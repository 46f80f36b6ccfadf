// SPDX-License-Identifier: Apache-2.0
// Holdout, folds, time cut and the train / calibration / test partition (see split.hpp). The
// random streams and row assignments are those of the four implementations this module replaced
// (trees' early-stopping split, CalibratedModel's folds and time split, the CLI's partition), so
// models trained before and after it are bit-identical.
#include <calibrisk/split/split.hpp>

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

namespace calibrisk {

Holdout stratified_holdout(VectorView<const double> y, double fraction, std::uint64_t seed) {
  Holdout h;
  std::vector<Index> cls[2];
  for (Index i = 0; i < y.size(); ++i) cls[y[i] == 1.0 ? 1 : 0].push_back(i);
  for (int c = 0; c < 2; ++c) {
    auto& v = cls[c];
    Rng rng(seed, /*stream=*/0x5A11 + static_cast<std::uint64_t>(c));
    rng.shuffle(v.data(), static_cast<Index>(v.size()));
    const auto n = static_cast<Index>(v.size());
    // At least one row of each class stays in training; at least one goes to validation when
    // the class has two rows or more.
    Index n_val = static_cast<Index>(std::llround(fraction * static_cast<double>(n)));
    n_val = std::min(std::max<Index>(n_val, n >= 2 ? 1 : 0), n - 1);
    h.valid.insert(h.valid.end(), v.begin(), v.begin() + n_val);
    h.train.insert(h.train.end(), v.begin() + n_val, v.end());
  }
  std::sort(h.train.begin(), h.train.end());
  std::sort(h.valid.begin(), h.valid.end());
  return h;
}

std::vector<int> stratified_folds(VectorView<const double> y, int k, std::uint64_t seed,
                                  const std::string& where) {
  std::vector<Index> idx[2];
  for (Index i = 0; i < y.size(); ++i) idx[y[i] == 1.0 ? 1 : 0].push_back(i);
  for (int c = 0; c < 2; ++c) {
    if (static_cast<Index>(idx[c].size()) < k) {
      throw InvalidInput(where + ": class " + std::to_string(c) + " has " +
                         std::to_string(idx[c].size()) + " rows but cv = " + std::to_string(k) +
                         " folds need at least one each; lower cv or add data.");
    }
  }
  std::vector<int> fold(static_cast<std::size_t>(y.size()), 0);
  Rng rng(seed, 0x5f01d);
  std::size_t deal = 0;
  for (auto& v : idx) {
    rng.shuffle(v.data(), static_cast<Index>(v.size()));
    for (const Index i : v) fold[static_cast<std::size_t>(i)] = static_cast<int>(deal++ % k);
  }
  return fold;
}

namespace {

// Per group (indexed in order of first appearance): its row count of each class; per row: the
// index of its group.
struct GroupCounts {
  std::vector<std::array<double, 2>> counts;
  std::vector<std::size_t> group_of;
  double total[2] = {0.0, 0.0};
};

GroupCounts count_groups(VectorView<const double> y, VectorView<const double> groups,
                         const std::string& where) {
  if (groups.size() != y.size()) {
    throw InvalidInput(where + ": groups has " + std::to_string(groups.size()) +
                       " values but y has " + std::to_string(y.size()) +
                       "; pass one group id per row.");
  }
  GroupCounts gc;
  std::map<double, std::size_t> id;
  gc.group_of.resize(static_cast<std::size_t>(y.size()));
  for (Index i = 0; i < y.size(); ++i) {
    if (!std::isfinite(groups[i])) {
      throw InvalidInput(where + ": groups[" + std::to_string(i) + "] is " +
                         detail::fmt_value(groups[i]) + "; group ids must be finite numbers.");
    }
    auto it = id.emplace(groups[i], gc.counts.size()).first;
    if (it->second == gc.counts.size()) gc.counts.push_back({0.0, 0.0});
    const int c = y[i] == 1.0 ? 1 : 0;
    gc.counts[it->second][static_cast<std::size_t>(c)] += 1.0;
    gc.total[c] += 1.0;
    gc.group_of[static_cast<std::size_t>(i)] = it->second;
  }
  return gc;
}

}  // namespace

std::vector<int> grouped_folds(VectorView<const double> y, VectorView<const double> groups, int k,
                               std::uint64_t seed, const std::string& where) {
  const GroupCounts gc = count_groups(y, groups, where);
  const auto& counts = gc.counts;
  const double* total = gc.total;
  const std::size_t G = counts.size();
  if (static_cast<int>(G) < k) {
    throw InvalidInput(where + ": there are " + std::to_string(G) + " groups but cv = " +
                       std::to_string(k) + " folds; lower cv to at most the number of groups.");
  }
  std::vector<std::size_t> order(G);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed, 0x960f01d);
  rng.shuffle(order.data(), static_cast<Index>(G));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return counts[a][0] + counts[a][1] > counts[b][0] + counts[b][1];
  });
  std::vector<std::array<double, 2>> load(static_cast<std::size_t>(k), {0.0, 0.0});
  std::vector<int> fold_of_group(G, 0);
  for (const std::size_t g : order) {
    int best = 0;
    double best_cost = 0.0;
    for (int f = 0; f < k; ++f) {
      const auto& l = load[static_cast<std::size_t>(f)];
      const double cost =
          std::max((l[0] + counts[g][0]) / total[0], (l[1] + counts[g][1]) / total[1]) +
          1e-9 * ((l[0] + counts[g][0]) / total[0] + (l[1] + counts[g][1]) / total[1]);
      if (f == 0 || cost < best_cost) {
        best = f;
        best_cost = cost;
      }
    }
    fold_of_group[g] = best;
    load[static_cast<std::size_t>(best)][0] += counts[g][0];
    load[static_cast<std::size_t>(best)][1] += counts[g][1];
  }
  std::vector<int> fold(static_cast<std::size_t>(y.size()));
  for (std::size_t i = 0; i < fold.size(); ++i) fold[i] = fold_of_group[gc.group_of[i]];
  return fold;
}

TimeCut time_cut(VectorView<const double> time, double fraction, const std::string& where) {
  const Index n = time.size();
  for (Index i = 0; i < n; ++i) {
    if (std::isnan(time[i])) {
      throw InvalidInput(where + ": time[" + std::to_string(i) +
                         "] is NaN; every row needs a time stamp.");
    }
  }
  TimeCut tc;
  tc.order.resize(static_cast<std::size_t>(n));
  std::iota(tc.order.begin(), tc.order.end(), Index{0});
  std::stable_sort(tc.order.begin(), tc.order.end(),
                   [&](Index a, Index b) { return time[a] < time[b]; });
  Index cut = n - static_cast<Index>(std::ceil(fraction * static_cast<double>(n)));
  while (cut > 0 && cut < n &&
         time[tc.order[static_cast<std::size_t>(cut - 1)]] ==
             time[tc.order[static_cast<std::size_t>(cut)]]) {
    --cut;
  }
  if (cut <= 0) {
    throw InvalidInput(where +
                       ": every row falls in the calibration part (too few distinct "
                       "times); raise the number of distinct times or lower calibration_fraction.");
  }
  tc.cut = cut;
  return tc;
}

std::vector<int> time_split(VectorView<const double> time, double fraction,
                            const std::string& where) {
  const TimeCut tc = time_cut(time, fraction, where);
  std::vector<int> part(tc.order.size(), 0);
  for (std::size_t r = static_cast<std::size_t>(tc.cut); r < tc.order.size(); ++r) {
    part[static_cast<std::size_t>(tc.order[r])] = 1;
  }
  return part;
}

const char* part_name(SplitPart p) noexcept {
  switch (p) {
    case SplitPart::kTrain:
      return "train";
    case SplitPart::kCalibration:
      return "calibration";
    case SplitPart::kTest:
      return "test";
  }
  return "?";
}

std::vector<Index> TimeGroupSplit::rows_of(SplitPart p) const {
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

// The time key of row i: the time column, or the row's position when there is none.
struct TimeKeys {
  const std::vector<double>& time;
  double operator()(Index i) const {
    return time.empty() ? static_cast<double>(i) : time[static_cast<std::size_t>(i)];
  }
};

// The groups in order of first appearance, and each row's group.
struct Groups {
  std::vector<GroupInfo> info;
  std::vector<Index> of_row;
};

Groups collect_groups(const TimeKeys& time_of, const std::vector<double>& group, Index n_rows) {
  Groups G;
  G.of_row.resize(static_cast<std::size_t>(n_rows));
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
      g = static_cast<Index>(G.info.size());
      G.info.push_back({t, i, 0});
    } else {
      const double key = group[static_cast<std::size_t>(i)];
      if (std::isnan(key)) {
        throw InvalidInput("the group column is missing at data row " + std::to_string(i + 1) +
                           "; every row needs a group (patient) id so that no patient lands in "
                           "two parts.");
      }
      auto [it, inserted] = index_of.try_emplace(key, static_cast<Index>(G.info.size()));
      if (inserted) G.info.push_back({t, i, 0});
      g = it->second;
      GroupInfo& gi = G.info[static_cast<std::size_t>(g)];
      if (t < gi.entry) gi.entry = t;  // first row in time, not in the file
    }
    G.info[static_cast<std::size_t>(g)].rows += 1;
    G.of_row[static_cast<std::size_t>(i)] = g;
  }
  return G;
}

// Groups ordered by entry (ties by first appearance), each to the part in which the midpoint of
// its rows falls on the cumulative row count.
std::vector<SplitPart> assign_groups(const std::vector<GroupInfo>& groups, Index n_rows,
                                     const SplitFractions& fractions) {
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
  std::vector<SplitPart> group_part(groups.size(), SplitPart::kTrain);
  double cum = 0.0;
  for (Index g : order) {
    const GroupInfo& gi = groups[static_cast<std::size_t>(g)];
    const double mid = cum + 0.5 * static_cast<double>(gi.rows);
    group_part[static_cast<std::size_t>(g)] =
        mid < b1 ? SplitPart::kTrain : (mid < b2 ? SplitPart::kCalibration : SplitPart::kTest);
    cum += static_cast<double>(gi.rows);
  }
  return group_part;
}

// Each row's part and each part's rows, groups, time window and entry window.
void summarize(const TimeKeys& time_of, const Groups& G, const std::vector<SplitPart>& group_part,
               TimeGroupSplit& s) {
  const Index n_rows = static_cast<Index>(G.of_row.size());
  s.part.resize(static_cast<std::size_t>(n_rows));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (auto& ps : s.summary) {
    ps.first_time = kInf;
    ps.last_time = -kInf;
    ps.entry_first = kInf;
    ps.entry_last = -kInf;
  }
  for (Index i = 0; i < n_rows; ++i) {
    const SplitPart p = group_part[static_cast<std::size_t>(G.of_row[static_cast<std::size_t>(i)])];
    s.part[static_cast<std::size_t>(i)] = p;
    PartSummary& ps = s.summary[static_cast<int>(p)];
    ps.rows += 1;
    ps.first_time = std::min(ps.first_time, time_of(i));
    ps.last_time = std::max(ps.last_time, time_of(i));
  }
  for (std::size_t g = 0; g < G.info.size(); ++g) {
    PartSummary& ps = s.summary[static_cast<int>(group_part[g])];
    ps.groups += 1;
    ps.entry_first = std::min(ps.entry_first, G.info[g].entry);
    ps.entry_last = std::max(ps.entry_last, G.info[g].entry);
  }
}

}  // namespace

TimeGroupSplit split_by_time_and_group(const std::vector<double>& time,
                                       const std::vector<double>& group, Index n_rows,
                                       const SplitFractions& fractions) {
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
  const TimeKeys time_of{time};
  const Groups G = collect_groups(time_of, group, n_rows);
  TimeGroupSplit s;
  s.requested = fractions;
  summarize(time_of, G, assign_groups(G.info, n_rows, fractions), s);
  for (int p = 0; p < 3; ++p) {
    if (s.summary[p].rows == 0) {
      throw InvalidInput(
          std::string("split: the ") + part_name(static_cast<SplitPart>(p)) +
          " part is empty: " + std::to_string(n_rows) + " rows in " +
          std::to_string(G.info.size()) + (group.empty() ? " groups" : " patients (groups)") +
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

}  // namespace calibrisk
