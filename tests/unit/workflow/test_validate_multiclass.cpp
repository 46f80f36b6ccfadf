// SPDX-License-Identifier: Apache-2.0
// Rolling-origin validation on a K-class label: every test period's figures recomputed by
// independent loops from its rows and probabilities; the last origin equal, bit for bit, to
// train_pipeline with a calendar split at the same cuts (the same road on the same fold); a class
// missing from the early training periods skips those origins with the reason.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/workflow/train.hpp>
#include <calibrisk/workflow/validate.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// n rows in time order (t = 0..n-1) of two features and a 3-class label from a known softmax;
// class 2 is never drawn before row `class2_from`.
Table three_class_table(Index n, std::uint64_t seed, Index class2_from = 0) {
  Rng rng(seed);
  std::vector<double> a(static_cast<std::size_t>(n)), b(a.size()), y(a.size()), t(a.size());
  for (std::size_t u = 0; u < a.size(); ++u) {
    a[u] = rng.normal();
    b[u] = rng.normal();
    t[u] = static_cast<double>(u);
    const double z[3] = {0.0, 1.5 * a[u], static_cast<Index>(u) < class2_from ? -50.0 : 1.5 * b[u]};
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double r = rng.uniform() * s;
    y[u] = r < e[0] ? 0.0 : (r < e[0] + e[1] ? 1.0 : 2.0);
  }
  Table tab;
  tab.add_column(Column::numeric("a", a));
  tab.add_column(Column::numeric("b", b));
  tab.add_column(Column::numeric("t", t));
  tab.add_column(Column::numeric("y", y));
  return tab;
}

ValidateSpec spec_of() {
  ValidateSpec v;
  v.train.columns.label = "y";
  v.train.columns.time = "t";
  v.train.model = ModelKind::kLogisticRegression;
  v.train.task = TaskKind::kMulticlass;
  v.train.review.min_accuracy = 0.8;
  v.period = TimeGranularity::kBins;
  v.n_bins = 5;
  v.min_train_periods = 2;
  return v;
}

}  // namespace

TEST_CASE("validate: K-class figures per test period equal independent loops") {
  const Index n = 3000;
  const Table t = three_class_table(n, 17);
  const ValidationResult r = validate_rolling(t, spec_of());
  REQUIRE(r.n_classes == 3);
  CHECK(r.classes == std::vector<std::string>{"0", "1", "2"});
  CHECK(r.review_policy == "min_accuracy=0.8");
  REQUIRE(r.periods.size() == 3);  // 5 periods, 2 training ones: test periods 3, 4, 5
  const std::vector<double>& y_all = t.column("y").values;
  for (std::size_t j = 0; j < r.periods.size(); ++j) {
    const PeriodResult& p = r.periods[j];
    CAPTURE(p.period);
    REQUIRE(p.skipped.empty());
    // Equal-count bins of a strictly increasing time: the (j + 3)-th fifth of the rows.
    const Index first = static_cast<Index>(j + 2) * n / 5, last = static_cast<Index>(j + 3) * n / 5;
    REQUIRE(p.test_rows.size() == static_cast<std::size_t>(last - first));
    CHECK(p.test_rows.front() == first);
    CHECK(p.test_rows.back() == last - 1);
    CHECK(p.n_fit == first - n / 5);
    CHECK(p.n_calibration == n / 5);
    const RowMatrixXd& P = p.test_P;
    REQUIRE(P.rows() == last - first);
    REQUIRE(P.cols() == 3);
    double ll = 0, brier = 0, right = 0, n_auto = 0, auto_right = 0;
    std::vector<double> bin_hits(10, 0.0), bin_conf(10, 0.0);
    std::vector<Index> counts(3, 0);
    for (Index i = 0; i < P.rows(); ++i) {
      const auto yi = static_cast<Index>(y_all[static_cast<std::size_t>(first + i)]);
      CHECK(p.test_y[static_cast<std::size_t>(i)] == static_cast<double>(yi));
      ++counts[static_cast<std::size_t>(yi)];
      ll -= std::log(std::clamp(P(i, yi), 1e-15, 1 - 1e-15));
      Index arg = 0;
      for (Index k = 0; k < 3; ++k) {
        brier += std::pow(P(i, k) - (k == yi ? 1.0 : 0.0), 2);
        if (P(i, k) > P(i, arg)) arg = k;
      }
      const double conf = P(i, arg);
      right += arg == yi;
      // 10 uniform bins, (lower, upper] with the first closed: ceil(10 conf) - 1.
      const auto b = static_cast<std::size_t>(std::max(0.0, std::ceil(conf * 10.0) - 1.0));
      bin_hits[b] += arg == yi;
      bin_conf[b] += conf;
      if (conf >= p.review_threshold) n_auto += 1, auto_right += arg == yi;
    }
    const double m = static_cast<double>(P.rows());
    double ece = 0;
    for (std::size_t b = 0; b < 10; ++b) ece += std::abs(bin_hits[b] - bin_conf[b]) / m;
    CHECK(p.log_loss == doctest::Approx(ll / m).epsilon(1e-12));
    CHECK(p.brier == doctest::Approx(brier / m).epsilon(1e-12));
    CHECK(p.accuracy == doctest::Approx(right / m).epsilon(1e-12));
    CHECK(p.top_label_ece == doctest::Approx(ece).epsilon(1e-10));
    CHECK(p.class_counts_test == counts);
    CHECK(p.n_auto == static_cast<Index>(n_auto));
    CHECK(p.review_rate == doctest::Approx(1.0 - n_auto / m).epsilon(1e-12));
    CHECK(p.auto_accuracy == doctest::Approx(auto_right / n_auto).epsilon(1e-12));
    CHECK(p.expected_review_rate >= 0.0);
    CHECK(p.expected_auto_accuracy >= 0.8 - 1e-12);  // the floor, met on the calibration period
    CHECK(std::isnan(p.auc));                        // binary figures stay undefined
  }
  // The last origin is the calendar split of train_pipeline at the same cuts (its test part runs
  // to the end of the data, as the last test period does): the same probabilities, bit for bit.
  TrainSpec direct = spec_of().train;
  direct.split_rule = SplitRule::kCalendar;
  direct.calendar.cuts = {format_double(static_cast<double>(3 * n / 5)),
                          format_double(r.periods.back().start)};
  const TrainResult d = train_pipeline(t, direct);
  CHECK(d.test.rows == r.periods.back().test_rows);
  CHECK(d.test.P == r.periods.back().test_P);
  CHECK(d.review_calibration.overall.threshold == r.periods.back().review_threshold);
}

TEST_CASE("validate: a K-class origin whose training periods lack a class is skipped") {
  // Class 2 first appears in the second fifth: the first origin (fit on the first fifth) lacks it.
  const Table t = three_class_table(3000, 18, 700);
  const ValidationResult r = validate_rolling(t, spec_of());
  REQUIRE(r.periods.size() == 3);
  CHECK(r.periods[0].skipped.find("no rows in the training part") != std::string::npos);
  CHECK(r.periods[0].test_P.size() == 0);
  CHECK(std::isnan(r.periods[0].log_loss));
  CHECK(r.periods[1].skipped.empty());
  CHECK(r.periods[2].skipped.empty());
}
