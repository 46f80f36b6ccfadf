// SPDX-License-Identifier: Apache-2.0
// Holdout, folds, time cut and the train / calibration / test partition (see split.hpp). The
// random streams and row assignments are those of the four implementations this module replaced
// (trees' early-stopping split, CalibratedModel's folds and time split, the CLI's partition), so
// models trained before and after it are bit-identical.
#include <calibrisk/split/split.hpp>

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/workflow/params_text.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
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
    case SplitPart::kExcluded:
      return "excluded";
  }
  return "?";
}

std::vector<Index> TimeGroupSplit::rows_of(SplitPart p) const {
  std::vector<Index> rows;
  if (p != SplitPart::kExcluded)
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

// ---------------------------------------------------------------- calendar split

std::string time_key_text(double key, bool in_days) {
  if (in_days) {
    const double day = std::floor(key);
    return key == day ? format_iso_date(static_cast<std::int64_t>(day)) : format_iso_datetime(key);
  }
  return format_double(key);
}

namespace {

const char* kCutForms = "--cut 2023-01-01,2023-07-01 or --cut-fractions 0.6,0.8";

double parse_cut(const std::string& text, int k, bool in_days) {
  double v = 0.0;
  if (in_days) {
    if (parse_iso8601(text, v)) return v;
    throw InvalidParams("calendar split: cut " + std::to_string(k) + " " + quote_for_message(text) +
                        " is not a date: " + iso8601_problem(text) +
                        "; the time column holds dates, so write cuts as YYYY-MM-DD.");
  }
  errno = 0;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) {
    throw InvalidParams("calendar split: cut " + std::to_string(k) + " " + quote_for_message(text) +
                        " is not a number; the time column holds numbers, so write cuts as "
                        "numbers of the same scale (or use cut fractions).");
  }
  return v;
}

std::array<double, 2> time_range(const std::vector<double>& time) {
  std::array<double, 2> r = {std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity()};
  for (std::size_t i = 0; i < time.size(); ++i) {
    if (std::isnan(time[i])) {
      throw InvalidInput("the time column is missing at data row " + std::to_string(i + 1) +
                         "; every row needs a time to be split by calendar.");
    }
    r[0] = std::min(r[0], time[i]);
    r[1] = std::max(r[1], time[i]);
  }
  return r;
}

std::array<double, 2> cuts_from_fractions(const std::vector<double>& f,
                                          const std::array<double, 2>& range, bool in_days) {
  std::array<double, 2> c{};
  for (int k = 0; k < 2; ++k) {
    if (!(f[static_cast<std::size_t>(k)] > 0.0 && f[static_cast<std::size_t>(k)] < 1.0)) {
      throw InvalidParams("calendar split: cut fraction " + std::to_string(k + 1) + " is " +
                          format_double(f[static_cast<std::size_t>(k)]) +
                          "; fractions of the time range must be in (0, 1), e.g. 0.6,0.8.");
    }
    c[static_cast<std::size_t>(k)] =
        range[0] + f[static_cast<std::size_t>(k)] * (range[1] - range[0]);
    if (in_days) c[static_cast<std::size_t>(k)] = std::floor(c[static_cast<std::size_t>(k)]);
  }
  return c;
}

}  // namespace

std::array<double, 2> calendar_cut_keys(const CalendarSpec& spec, const std::vector<double>& time,
                                        bool in_days) {
  const bool text = !spec.cuts.empty(), frac = !spec.cut_fractions.empty();
  if (text == frac) {
    throw InvalidParams(std::string("calendar split: give the two cuts ") +
                        (text ? "either as dates/numbers or as fractions, not both" : "") +
                        (text ? "" : "(none given)") + "; e.g. " + kCutForms + ".");
  }
  const std::size_t given = text ? spec.cuts.size() : spec.cut_fractions.size();
  if (given != 2) {
    throw InvalidParams("calendar split: " + std::to_string(given) +
                        " cuts given; give exactly two (train before the first, calibration "
                        "between, test from the second), e.g. " +
                        kCutForms + ".");
  }
  if (time.empty()) throw InvalidInput("calendar split: there are no rows to split.");
  const std::array<double, 2> range = time_range(time);
  std::array<double, 2> c{};
  if (text) {
    for (int k = 0; k < 2; ++k)
      c[static_cast<std::size_t>(k)] =
          parse_cut(spec.cuts[static_cast<std::size_t>(k)], k + 1, in_days);
  } else {
    c = cuts_from_fractions(spec.cut_fractions, range, in_days);
  }
  const std::string c1 = time_key_text(c[0], in_days), c2 = time_key_text(c[1], in_days);
  const std::string span = "the data span " + time_key_text(range[0], in_days) + " to " +
                           time_key_text(range[1], in_days);
  if (!(c[0] < c[1])) {
    throw InvalidParams("calendar split: cut 1 (" + c1 + ") is not before cut 2 (" + c2 +
                        "); give the cuts in increasing order (training ends at cut 1, the test "
                        "part starts at cut 2), e.g. " +
                        kCutForms + ".");
  }
  if (c[0] <= range[0]) {
    throw InvalidInput("calendar split: cut 1 (" + c1 +
                       ") is not after the earliest row, so the "
                       "training part (rows before cut 1) would be empty; " +
                       span + ": choose cut 1 inside that range.");
  }
  if (c[1] > range[1]) {
    throw InvalidInput("calendar split: cut 2 (" + c2 +
                       ") is after the latest row, so the test "
                       "part (rows from cut 2) would be empty; " +
                       span + ": choose cut 2 inside that range.");
  }
  return c;
}

namespace {

SplitPart calendar_part(double t, double cut1, double cut2, double end) {
  if (t < cut1) return SplitPart::kTrain;
  if (t < cut2) return SplitPart::kCalibration;
  return t < end ? SplitPart::kTest : SplitPart::kExcluded;
}

// Each row's patient index (input order of first appearance); every row its own without groups.
std::vector<Index> group_index(const std::vector<double>& group, Index n, Index& n_groups) {
  std::vector<Index> of(static_cast<std::size_t>(n));
  if (group.empty()) {
    std::iota(of.begin(), of.end(), Index{0});
    n_groups = n;
    return of;
  }
  std::unordered_map<double, Index> index_of;
  for (Index i = 0; i < n; ++i) {
    const double key = group[static_cast<std::size_t>(i)];
    if (std::isnan(key)) {
      throw InvalidInput("the group column is missing at data row " + std::to_string(i + 1) +
                         "; every row needs a group (patient) id.");
    }
    of[static_cast<std::size_t>(i)] =
        index_of.try_emplace(key, static_cast<Index>(index_of.size())).first->second;
  }
  n_groups = static_cast<Index>(index_of.size());
  return of;
}

}  // namespace

TimeGroupSplit split_by_calendar(const std::vector<double>& time, const std::vector<double>& group,
                                 double cut1, double cut2, CalendarPatients patients, double end) {
  const Index n = static_cast<Index>(time.size());
  if (!group.empty() && static_cast<Index>(group.size()) != n) {
    throw InvalidInput("split: the group column has " + std::to_string(group.size()) +
                       " values for " + std::to_string(n) + " rows.");
  }
  time_range(time);  // no NaN
  Index n_groups = 0;
  const std::vector<Index> of = group_index(group, n, n_groups);
  TimeGroupSplit s;
  s.rule = SplitRule::kCalendar;
  s.cuts[0] = cut1;
  s.cuts[1] = cut2;
  s.end = end;
  s.patients = patients;
  s.requested = {0.0, 0.0, 0.0};
  s.part.resize(static_cast<std::size_t>(n));
  // Per patient: the first part they appear in, their entry, and the parts they have rows in.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<int> first_part(static_cast<std::size_t>(n_groups), 3);
  std::vector<double> entry(static_cast<std::size_t>(n_groups), kInf);
  std::vector<std::array<bool, 3>> in_part(static_cast<std::size_t>(n_groups),
                                           {false, false, false});
  for (Index i = 0; i < n; ++i) {
    const auto g = static_cast<std::size_t>(of[static_cast<std::size_t>(i)]);
    const SplitPart p = calendar_part(time[static_cast<std::size_t>(i)], cut1, cut2, end);
    s.part[static_cast<std::size_t>(i)] = p;
    entry[g] = std::min(entry[g], time[static_cast<std::size_t>(i)]);
    if (p == SplitPart::kExcluded) {
      s.rows_after_end += 1;
      continue;
    }
    first_part[g] = std::min(first_part[g], static_cast<int>(p));
    in_part[g][static_cast<std::size_t>(p)] = true;
  }
  for (std::size_t g = 0; g < first_part.size(); ++g) {
    for (int p = first_part[g] + 1; p < 3; ++p)
      s.groups_seen_earlier[p] += in_part[g][static_cast<std::size_t>(p)];
  }
  for (auto& ps : s.summary) {
    ps.first_time = ps.entry_first = kInf;
    ps.last_time = ps.entry_last = -kInf;
  }
  std::vector<std::array<bool, 3>> counted(static_cast<std::size_t>(n_groups),
                                           {false, false, false});
  for (Index i = 0; i < n; ++i) {
    SplitPart& p = s.part[static_cast<std::size_t>(i)];
    if (p == SplitPart::kExcluded) continue;
    const auto g = static_cast<std::size_t>(of[static_cast<std::size_t>(i)]);
    const int k = static_cast<int>(p);
    if (patients == CalendarPatients::kExclude && first_part[g] < k) {
      s.rows_dropped[k] += 1;
      p = SplitPart::kExcluded;
      continue;
    }
    PartSummary& ps = s.summary[k];
    const double t = time[static_cast<std::size_t>(i)];
    ps.rows += 1;
    ps.first_time = std::min(ps.first_time, t);
    ps.last_time = std::max(ps.last_time, t);
    if (!counted[g][static_cast<std::size_t>(k)]) {
      counted[g][static_cast<std::size_t>(k)] = true;
      ps.groups += 1;
      ps.entry_first = std::min(ps.entry_first, entry[g]);
      ps.entry_last = std::max(ps.entry_last, entry[g]);
    }
  }
  return s;
}

}  // namespace calibrisk
