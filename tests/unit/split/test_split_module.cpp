// SPDX-License-Identifier: Apache-2.0
// The split module against fixed row assignments. The expected arrays are those of the four
// implementations the module replaced (CalibratedModel's stratified / grouped folds and time
// split, the trees' early-stopping holdout), printed by a program built against main before the
// move; the time cut and the holdout sizes are also checked by hand below. A change here means
// models trained before and after would differ: that must never happen silently.
#include <doctest/doctest.h>

#include <calibrisk/calibration/calibrated.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/split/split.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace calibrisk;

namespace {

// 24 rows: 9 positives in an irregular pattern, 9 groups, times 0..9 with ties.
struct Fixture {
  std::vector<double> y, groups, time;
  Fixture() {
    for (int i = 0; i < 24; ++i) {
      y.push_back((i * 7 % 11) < 4 ? 1.0 : 0.0);
      groups.push_back((i * 5) % 9);
      time.push_back((i * 13) % 10);
    }
  }
};

}  // namespace

TEST_CASE("split: stratified folds give main's assignment") {
  const Fixture f;
  CHECK(stratified_folds(VectorView<const double>(f.y), 3, 0) ==
        std::vector<int>{1, 0, 0, 2, 2, 0, 0, 1, 0, 0, 1, 2, 1, 2, 1, 2, 1, 0, 2, 1, 0, 1, 2, 2});
  CHECK(stratified_folds(VectorView<const double>(f.y), 4, 42) ==
        std::vector<int>{3, 1, 0, 1, 2, 0, 3, 2, 3, 1, 3, 1, 0, 1, 0, 2, 2, 0, 2, 3, 0, 3, 2, 1});
  CHECK_THROWS_WITH_AS(stratified_folds(VectorView<const double>(f.y), 10, 0, "where"),
                       doctest::Contains("where: class 1 has 9 rows but cv = 10 folds"),
                       InvalidInput);
}

TEST_CASE("split: grouped folds give main's assignment and keep every group in one fold") {
  const Fixture f;
  const VectorView<const double> y(f.y), g(f.groups);
  const auto k3 = grouped_folds(y, g, 3, 0);
  CHECK(k3 ==
        std::vector<int>{1, 2, 0, 0, 2, 1, 2, 1, 0, 1, 2, 0, 0, 2, 1, 2, 1, 0, 1, 2, 0, 0, 2, 1});
  CHECK(grouped_folds(y, g, 4, 7) ==
        std::vector<int>{3, 1, 2, 1, 0, 3, 0, 2, 0, 3, 1, 2, 1, 0, 3, 0, 2, 0, 3, 1, 2, 1, 0, 3});
  for (int i = 0; i < 24; ++i) {
    for (int j = 0; j < 24; ++j) {
      if (f.groups[i] == f.groups[j]) CHECK(k3[i] == k3[j]);
    }
  }
  CHECK_THROWS_WITH_AS(grouped_folds(y, g, 10, 0), doctest::Contains("there are 9 groups"),
                       InvalidInput);
  std::vector<double> bad = f.groups;
  bad[5] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(grouped_folds(y, VectorView<const double>(bad), 3, 0),
                       doctest::Contains("groups[5] is nan"), InvalidInput);
}

TEST_CASE("split: time cut by hand, and main's assignment") {
  const Fixture f;
  const VectorView<const double> t(f.time);
  // fraction 0.25: ceil(6) = 6 latest rows, but the 6th-latest (time 7) ties with another 7, so
  // the cut moves back over both: rows with time >= 7 (3 x 9, 2 x 8, 2 x 7) calibrate.
  std::vector<int> expected(24, 0);
  for (int i = 0; i < 24; ++i) expected[i] = f.time[i] >= 7 ? 1 : 0;
  CHECK(time_split(t, 0.25) == expected);
  CHECK(time_split(t, 0.5) ==
        std::vector<int>{0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1});
  const TimeCut tc = time_cut(t, 0.25);
  CHECK(tc.cut == 17);
  for (std::size_t r = 1; r < tc.order.size(); ++r) {
    CHECK(f.time[tc.order[r - 1]] <= f.time[tc.order[r]]);
    if (f.time[tc.order[r - 1]] == f.time[tc.order[r]]) CHECK(tc.order[r - 1] < tc.order[r]);
  }
  const std::vector<double> same(10, 1.0);
  CHECK_THROWS_WITH_AS(time_cut(VectorView<const double>(same), 0.2, "fit"),
                       doctest::Contains("fit: every row falls in the calibration part"),
                       InvalidInput);
}

TEST_CASE("split: stratified holdout gives main's early-stopping validation rows") {
  const Fixture f;
  const VectorView<const double> y(f.y);
  // fraction 0.1: llround(0.9) = 1 of the 9 positives, llround(1.5) = 2 of the 15 negatives.
  const Holdout h = stratified_holdout(y, 0.1, 0);
  CHECK(h.valid == std::vector<Index>{4, 7, 16});
  CHECK(h.train.size() == 21);
  CHECK(stratified_holdout(y, 0.3, 123).valid == std::vector<Index>{1, 4, 5, 6, 12, 13, 16, 17});
  // One row of a class stays in training; two rows give one to validation.
  const std::vector<double> tiny{1, 0, 0, 1};
  const Holdout t = stratified_holdout(VectorView<const double>(tiny), 0.01, 0);
  CHECK(t.valid.size() == 2);
  CHECK(t.train.size() == 2);
}

TEST_CASE("split: CalibratedModel uses the module's folds and time split") {
  const Fixture f;
  RowMatrixXd X(24, 1);
  for (int i = 0; i < 24; ++i) X(i, 0) = f.y[i] + 0.1 * (i % 5);
  const Dataset d(FeatureMatrix(view(X)), VectorView<const double>(f.y));
  CalibratedParams p;
  p.cv = 3;
  CalibratedModel<LogisticRegression, IsotonicCalibrator> strat(LogisticRegression(),
                                                                IsotonicCalibrator(), p);
  strat.fit(d);
  CHECK(strat.fold_of_row() == stratified_folds(VectorView<const double>(f.y), 3, 0));
  p.split = CrossFitSplit::kGrouped;
  CalibratedModel<LogisticRegression, IsotonicCalibrator> grouped(LogisticRegression(),
                                                                  IsotonicCalibrator(), p);
  grouped.fit(d, VectorView<const double>(f.groups));
  CHECK(grouped.fold_of_row() ==
        std::vector<int>{1, 2, 0, 0, 2, 1, 2, 1, 0, 1, 2, 0, 0, 2, 1, 2, 1, 0, 1, 2, 0, 0, 2, 1});
}
