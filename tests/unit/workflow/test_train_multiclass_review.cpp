// SPDX-License-Identifier: Apache-2.0
// K-class review queues from the workflow: the conformal policy (TrainSpec::conformal_review, CLI
// --policy conformal=0.9) calibrated exactly as review.hpp's conformal_calibrate on the same
// calibration part, its sets covering fresh held-out rows at the stated level, and its route
// (auto = a one-label set); the calendar split of a multiclass label; `monitor` of K-class models
// (the review rate and the auto-routed accuracy recounted by hand, drift detected).
#include <doctest/doctest.h>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/monitor/monitor.hpp>
#include <calibrisk/workflow/train.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// Exchangeable rows of two features and a label drawn from a known softmax; `shift` moves
// feature a; `day` is a time column (one row per day from day 0).
Table review_table(Index n, std::uint64_t seed, double shift = 0.0) {
  Rng rng(seed);
  std::vector<double> a(static_cast<std::size_t>(n)), b(a.size()), y(a.size()), day(a.size());
  for (Index i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    a[u] = rng.normal();
    b[u] = rng.normal();
    day[u] = static_cast<double>(i);
    const double z[3] = {0.0, 1.5 * a[u], 1.5 * b[u] - 0.3};
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double r = rng.uniform() * s;
    y[u] = r < e[0] ? 0.0 : (r < e[0] + e[1] ? 1.0 : 2.0);
    a[u] += shift;
  }
  Table t;
  t.add_column(Column::numeric("a", a));
  t.add_column(Column::numeric("b", b));
  t.add_column(Column::numeric("day", day));
  t.add_column(Column::numeric("y", y));
  return t;
}

TrainSpec review_spec() {
  TrainSpec s;
  s.columns.label = "y";
  s.columns.drop = {"day"};
  s.model = ModelKind::kLogisticRegression;
  s.seed = 5;
  return s;
}

RowMatrixXd features(const Table& t) { return t.to_matrix({"a", "b"}); }

}  // namespace

TEST_CASE("multiclass workflow: conformal review sets at coverage 0.9 (LAC and APS)") {
  const Table t = review_table(3000, 21);
  const Table fresh = review_table(6000, 22);
  for (const ConformalMethod method : {ConformalMethod::kLac, ConformalMethod::kAps}) {
    TrainSpec spec = review_spec();
    spec.conformal_review = TrainSpec::ConformalReview{0.9, method};
    const TrainResult r = train_pipeline(t, spec);
    const Pipeline& pipe = *r.pipeline;
    const ReviewPolicyRecord* rp = pipe.review_policy();
    REQUIRE(rp != nullptr);
    CHECK(rp->kind == "conformal");
    CHECK(rp->policy == std::string("conformal=0.9,method=") + conformal_method_name(method));
    // Oracle: conformal_calibrate on the same calibration part.
    const ConformalSets oracle = conformal_calibrate(VectorView<const double>(r.calibration.y),
                                                     view(r.calibration.P), 0.1, method, 5);
    CHECK(rp->conformal.quantile() == oracle.quantile());
    CHECK(rp->conformal.n_calibration() == static_cast<Index>(r.calibration.y.size()));
    // Fresh held-out rows: given the calibration part (n rows), the coverage of split-conformal
    // sets is Beta(l, n + 1 - l) distributed with l = ceil((n + 1) 0.9) for distinct LAC scores
    // (Vovk 2012; Angelopoulos & Bates 2021, sec. 3), mean l / (n + 1), variance ~ 0.09 / (n + 2);
    // the fresh rows add binomial noise. APS sets are at least as large: only the lower bound.
    const RowMatrixXd X = features(fresh);
    const RowMatrixXd P = pipe.predict_proba_matrix(FeatureMatrix(view(X)));
    const std::vector<double>& y = fresh.column("y").values;
    const std::vector<std::uint8_t> sets = oracle.predict_sets(view(P));
    const std::vector<std::uint8_t> route = pipe.route(view(P));
    double covered = 0.0;
    for (Index i = 0; i < P.rows(); ++i) {
      const auto u = static_cast<std::size_t>(i);
      covered += sets[u * 3 + static_cast<std::size_t>(y[u])];
      const int size = sets[u * 3] + sets[u * 3 + 1] + sets[u * 3 + 2];
      CHECK(route[u] == (size == 1 ? 1 : 0));  // auto exactly when the set holds one label
    }
    const double n = static_cast<double>(P.rows()), cover = covered / n;
    const double n_cal = static_cast<double>(r.calibration.y.size());
    const double mean = std::ceil((n_cal + 1) * 0.9) / (n_cal + 1);
    const double sd = std::sqrt(0.09 / (n_cal + 2) + 0.09 / n);
    CAPTURE(cover);
    CHECK(cover >= mean - 3 * sd);
    if (method == ConformalMethod::kLac) CHECK(cover <= mean + 3 * sd);
    // The operating-point figures recount the calibration part's sets.
    const std::vector<std::uint8_t> cs = oracle.predict_sets(view(r.calibration.P));
    double cal_cover = 0.0;
    for (std::size_t i = 0; i < r.calibration.y.size(); ++i) {
      cal_cover += cs[i * 3 + static_cast<std::size_t>(r.calibration.y[i])];
    }
    CHECK(pipe.operating_point().figure("set_coverage") ==
          doctest::Approx(cal_cover / static_cast<double>(r.calibration.y.size())));
    CHECK(pipe.operating_point().policy == rp->policy);
    // The policy survives the file.
    const Pipeline back = load_from_string(to_string(pipe));
    CHECK(back.route(view(P)) == route);
  }
  TrainSpec bad = review_spec();
  bad.conformal_review = TrainSpec::ConformalReview{1.0, ConformalMethod::kLac};
  CHECK_THROWS_WITH_AS(train_pipeline(t, bad), doctest::Contains("coverage"), InvalidParams);
}

TEST_CASE("multiclass workflow: the calendar split cuts a multiclass label by date") {
  const Table t = review_table(900, 23);
  TrainSpec spec = review_spec();
  spec.columns.drop.clear();
  spec.columns.time = "day";
  spec.split_rule = SplitRule::kCalendar;
  spec.calendar.cuts = {"500", "700"};
  spec.review.min_accuracy = 0.7;
  const TrainResult r = train_pipeline(t, spec);
  REQUIRE(r.n_classes == 3);
  // Rows by their own day: < 500 train, [500, 700) calibration, >= 700 test.
  CHECK(r.train.rows.size() == 500);
  CHECK(r.calibration.rows.size() == 200);
  CHECK(r.test.rows.size() == 200);
  CHECK(r.calibration.rows.front() == 500);
  CHECK(r.test.rows.front() == 700);
}

TEST_CASE("monitor: a K-class model's review rate, auto-routed accuracy and drift") {
  const Table t = review_table(3000, 31);
  TrainSpec spec = review_spec();
  spec.review.min_accuracy = 0.85;
  const TrainResult r = train_pipeline(t, spec);
  const Pipeline pipe = load_from_string(to_string(*r.pipeline));
  REQUIRE(!pipe.reference().empty());
  CHECK(pipe.reference().score.alert_rate == r.review_calibration.overall.review_rate);

  // A batch from the training distribution: no alarm; the figures recounted by hand.
  const Table batch = review_table(4000, 32);
  const RowMatrixXd X = features(batch);
  const std::vector<double>& y = batch.column("y").values;
  const MonitorResult m = monitor(pipe, FeatureMatrix(view(X)), VectorView<const double>(y));
  CHECK(m.n_classes == 3);
  const RowMatrixXd P = pipe.predict_proba_matrix(FeatureMatrix(view(X)));
  const std::vector<std::uint8_t> route = pipe.route(view(P));
  const std::vector<std::int32_t> label = pipe.predict_label(view(P));
  double reviews = 0.0, n_auto = 0.0, right = 0.0;
  for (std::size_t i = 0; i < route.size(); ++i) {
    reviews += route[i] ? 0.0 : 1.0;
    if (route[i]) n_auto += 1.0, right += label[i] == static_cast<std::int32_t>(y[i]) ? 1.0 : 0.0;
  }
  CHECK(m.review_rate.observed == doctest::Approx(reviews / 4000.0));
  CHECK(m.review_rate.expected == r.review_calibration.overall.review_rate);
  CHECK(m.auto_accuracy.observed == doctest::Approx(right / n_auto));
  CHECK(m.auto_accuracy.expected == r.review_calibration.overall.accuracy);
  CHECK(m.top_label_ece ==
        doctest::Approx(metrics::top_label_ece(VectorView<const double>(y), view(P))));
  CHECK(m.review_rate.status != MonitorStatus::kAlarm);
  CHECK(m.auto_accuracy.status != MonitorStatus::kAlarm);
  CHECK(m.score_status == MonitorStatus::kOk);
  CHECK(m.status != MonitorStatus::kAlarm);
  CHECK(m.to_json().find("\"review_rate\"") != std::string::npos);

  // Feature a shifted by 2: its PSI and the confidence distribution alarm.
  const Table shifted = review_table(4000, 33, 2.0);
  const RowMatrixXd Xs = features(shifted);
  const MonitorResult ms = monitor(pipe, FeatureMatrix(view(Xs)));
  CHECK(ms.features[0].psi_status == MonitorStatus::kAlarm);
  CHECK(ms.status == MonitorStatus::kAlarm);

  // Labels drawn from another rule (class 1 and 2 swapped): the auto-routed accuracy alarms.
  std::vector<double> swapped = y;
  for (double& v : swapped) v = v == 1.0 ? 2.0 : (v == 2.0 ? 1.0 : v);
  const MonitorResult mw = monitor(pipe, FeatureMatrix(view(X)), VectorView<const double>(swapped));
  CHECK(mw.auto_accuracy.status == MonitorStatus::kAlarm);
  CHECK(mw.status == MonitorStatus::kAlarm);
  // Labels outside 0..K-1 are refused.
  std::vector<double> bad = y;
  bad[3] = 3.0;
  CHECK_THROWS_WITH_AS(monitor(pipe, FeatureMatrix(view(X)), VectorView<const double>(bad)),
                       doctest::Contains("class index"), InvalidInput);
}
