// SPDX-License-Identifier: Apache-2.0
// The time-ordered grouped split of `calibrisk train`.
#include <doctest/doctest.h>

#include <calibrisk/split/split.hpp>
#include "cli/train_flow.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/io/table.hpp>

#include <cmath>
#include <map>
#include <set>

using namespace calibrisk;
using namespace calibrisk::cli;
using calibrisk::Index;

TEST_CASE("cli split: no group in two parts, parts ordered by entry, sizes near the fractions") {
  // 2000 patients with 1..4 visits at random days over two years, rows shuffled in the file.
  calibrisk::Rng rng(7);
  std::vector<double> time, group;
  for (int g = 0; g < 2000; ++g) {
    const int visits = 1 + static_cast<int>(rng.below(4));
    for (int v = 0; v < visits; ++v) {
      time.push_back(std::floor(rng.uniform() * 730.0));
      group.push_back(1000.0 + g * 3.0);
    }
  }
  std::vector<Index> perm(time.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<Index>(i);
  rng.shuffle(perm.data(), static_cast<Index>(perm.size()));
  std::vector<double> t2(time.size()), g2(time.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    t2[i] = time[static_cast<std::size_t>(perm[i])];
    g2[i] = group[static_cast<std::size_t>(perm[i])];
  }
  const Index n = static_cast<Index>(t2.size());
  const TimeGroupSplit s = split_by_time_and_group(t2, g2, n, SplitFractions{0.6, 0.2, 0.2});

  // Oracle: recompute entry per group and the part per group directly.
  std::map<double, double> entry;
  std::map<double, std::set<int>> parts;
  for (Index i = 0; i < n; ++i) {
    const double g = g2[static_cast<std::size_t>(i)];
    const auto it = entry.find(g);
    entry[g] = it == entry.end() ? t2[static_cast<std::size_t>(i)]
                                 : std::min(it->second, t2[static_cast<std::size_t>(i)]);
    parts[g].insert(static_cast<int>(s.part[static_cast<std::size_t>(i)]));
  }
  for (const auto& [g, ps] : parts) CHECK(ps.size() == 1);
  // Every calibration patient entered no earlier than every train patient, etc.
  double max_entry[3] = {-1e300, -1e300, -1e300}, min_entry[3] = {1e300, 1e300, 1e300};
  for (const auto& [g, ps] : parts) {
    const int p = *ps.begin();
    max_entry[p] = std::max(max_entry[p], entry[g]);
    min_entry[p] = std::min(min_entry[p], entry[g]);
  }
  CHECK(max_entry[0] <= min_entry[1]);
  CHECK(max_entry[1] <= min_entry[2]);
  CHECK(s.summary[0].entry_last == max_entry[0]);
  CHECK(s.summary[2].entry_first == min_entry[2]);
  // Sizes: within 4 rows (the largest group) of the requested fractions.
  CHECK(std::abs(static_cast<double>(s.summary[0].rows) - 0.6 * n) <= 4.0);
  CHECK(std::abs(static_cast<double>(s.summary[1].rows) - 0.2 * n) <= 4.0);
  CHECK(s.summary[0].rows + s.summary[1].rows + s.summary[2].rows == n);
  CHECK(s.summary[0].groups + s.summary[1].groups + s.summary[2].groups == 2000);
  CHECK(static_cast<Index>(s.rows_of(SplitPart::kTest).size()) == s.summary[2].rows);
}

TEST_CASE("cli split: without groups or time the file order is the time order") {
  const TimeGroupSplit s = split_by_time_and_group({}, {}, 10, SplitFractions{0.6, 0.2, 0.2});
  const std::vector<SplitPart> expected{
      SplitPart::kTrain, SplitPart::kTrain, SplitPart::kTrain,       SplitPart::kTrain,
      SplitPart::kTrain, SplitPart::kTrain, SplitPart::kCalibration, SplitPart::kCalibration,
      SplitPart::kTest,  SplitPart::kTest};
  CHECK(s.part == expected);
  CHECK(s.rows_overlapping_earlier_part[1] == 0);
  CHECK(s.rows_overlapping_earlier_part[2] == 0);
}

TEST_CASE("cli split: time without groups splits rows strictly by time; ties keep file order") {
  const std::vector<double> t{5, 1, 3, 2, 4, 0, 9, 8, 7, 6};
  const TimeGroupSplit s = split_by_time_and_group(t, {}, 10, SplitFractions{0.5, 0.3, 0.2});
  for (std::size_t i = 0; i < t.size(); ++i) {
    const SplitPart expected =
        t[i] < 5 ? SplitPart::kTrain : (t[i] < 8 ? SplitPart::kCalibration : SplitPart::kTest);
    CHECK(s.part[i] == expected);
  }
  CHECK(s.summary[1].first_time == 5.0);
  CHECK(s.summary[1].last_time == 7.0);
}

TEST_CASE("cli split: errors name the row and the fix") {
  const double nan = std::nan("");
  CHECK_THROWS_WITH_AS(split_by_time_and_group({1, nan, 3}, {}, 3, {}),
                       doctest::Contains("time column is missing at data row 2"),
                       calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(split_by_time_and_group({}, {1, 1, nan}, 3, {}),
                       doctest::Contains("group column is missing at data row 3"),
                       calibrisk::InvalidInput);
  // Two patients cannot fill three parts.
  CHECK_THROWS_WITH_AS(split_by_time_and_group({}, {1, 1, 1, 2, 2}, 5, {}),
                       doctest::Contains("part is empty"), calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(split_by_time_and_group({1, 2}, {}, 3, {}),
                       doctest::Contains("2 values for 3 rows"), calibrisk::InvalidInput);
}

TEST_CASE("cli train: a file too small for the split is a data error naming the minimum") {
  std::string text = "x,y\n";
  for (int i = 0; i < 10; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  const calibrisk::Table table = calibrisk::parse_csv(text);
  TrainConfig cfg;
  cfg.roles.label = "y";
  cfg.model = "lr";
  cfg.calibration = "none";
  Progress quiet(true);
  CHECK_THROWS_WITH_AS(train_on_table(table, cfg, quiet),
                       doctest::Contains("the file has 10 data rows, too few for --split "
                                         "train=0.6,calibration=0.2,test=0.2: every part needs "
                                         "at least 20 rows, so the minimum is 100 rows"),
                       calibrisk::InvalidInput);
  // Whole patients move between parts: a part can still end up too small.
  std::string grouped = "pid,x,y\n";
  for (int i = 0; i < 100; ++i) {
    const int pid = i < 70 ? 0 : i;  // one patient holds 70 rows
    grouped += std::to_string(pid) + "," + std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  }
  cfg.roles.group = "pid";
  CHECK_THROWS_WITH_AS(train_on_table(calibrisk::parse_csv(grouped), cfg, quiet),
                       doctest::Contains("the calibration part has 10 of the 100 rows"),
                       calibrisk::InvalidInput);
}
