// SPDX-License-Identifier: Apache-2.0
// The status of the top-label ECE in `monitor` for K-class models (docs/monitoring.md "K-class
// models"): batches from the training distribution stay ok, labels perturbed so that calibration
// breaks alarm, and the limits agree with an independent simulation of the same null (a
// different generator, the library's binned ECE) within Monte-Carlo error.
#include <doctest/doctest.h>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/monitor/monitor.hpp>
#include <calibrisk/workflow/train.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// Rows of two features and a label drawn from a known softmax (exchangeable).
Table softmax_table(Index n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> a(static_cast<std::size_t>(n)), b(a.size()), y(a.size());
  for (std::size_t u = 0; u < a.size(); ++u) {
    a[u] = rng.normal();
    b[u] = rng.normal();
    const double z[3] = {0.0, 1.5 * a[u], 1.5 * b[u] - 0.3};
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double r = rng.uniform() * s;
    y[u] = r < e[0] ? 0.0 : (r < e[0] + e[1] ? 1.0 : 2.0);
  }
  Table t;
  t.add_column(Column::numeric("a", a));
  t.add_column(Column::numeric("b", b));
  t.add_column(Column::numeric("y", y));
  return t;
}

Pipeline trained_pipeline() {
  TrainSpec s;
  s.columns.label = "y";
  s.model = ModelKind::kLogisticRegression;
  s.review.min_accuracy = 0.85;
  const TrainResult r = train_pipeline(softmax_table(3000, 41), s);
  return load_from_string(to_string(*r.pipeline));
}

MonitorResult run(const Pipeline& pipe, const Table& t, const std::vector<double>& y,
                  const MonitorOptions& o = {}) {
  const RowMatrixXd X = t.to_matrix({"a", "b"});
  return monitor(pipe, FeatureMatrix(view(X)), VectorView<const double>(y), o);
}

double quantile(std::vector<double> v, double level) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(std::ceil(level * static_cast<double>(v.size()))) - 1];
}

}  // namespace

TEST_CASE("monitor: K-class top-label ECE stays ok on same-distribution batches") {
  const Pipeline pipe = trained_pipeline();
  const double e_ref = pipe.operating_point().figure("top_label_ece");
  REQUIRE(e_ref > 0.0);
  // 20 batches of the training distribution: at the 95% / 99% levels, about one warning and no
  // alarm are expected (the null is conservative: e_ref carries the calibration part's noise).
  int warn = 0, alarm = 0;
  for (std::uint64_t seed = 100; seed < 120; ++seed) {
    const Table t = softmax_table(1500, seed);
    const MonitorResult m = run(pipe, t, t.column("y").values);
    CHECK(m.expected_top_label_ece == e_ref);
    CHECK(m.top_label_ece_alarm >= m.top_label_ece_warn);
    CHECK(m.top_label_ece_p_value >= 0.0);
    warn += m.top_label_ece_status == MonitorStatus::kWarn;
    alarm += m.top_label_ece_status == MonitorStatus::kAlarm;
  }
  CHECK(alarm <= 1);
  CHECK(warn + alarm <= 4);
}

TEST_CASE("monitor: K-class labels perturbed so calibration breaks alarm on the top-label ECE") {
  const Pipeline pipe = trained_pipeline();
  const Table t = softmax_table(1500, 200);
  std::vector<double> y = t.column("y").values;
  // Every fourth label moved to the next class: the confidences stay, the accuracy drops by about
  // a quarter, so the model is over-confident by ~0.2 in every bin.
  for (std::size_t i = 0; i < y.size(); i += 4) y[i] = std::fmod(y[i] + 1.0, 3.0);
  const MonitorResult m = run(pipe, t, y);
  CAPTURE(m.top_label_ece);
  CAPTURE(m.top_label_ece_alarm);
  CHECK(m.top_label_ece > 0.1);
  CHECK(m.top_label_ece_status == MonitorStatus::kAlarm);
  CHECK(m.top_label_ece_p_value == 0.0);
  CHECK(m.status == MonitorStatus::kAlarm);
  CHECK(m.summary().find("top-label ECE") != std::string::npos);
  const std::string j = m.to_json();
  CHECK(j.find("\"top_label_ece_status\": \"alarm\"") != std::string::npos);
  CHECK(m.to_html().find("top-label ECE</td><td class=\"alarm\">") != std::string::npos);
}

TEST_CASE("monitor: K-class ECE limits match an independent simulation of the null") {
  const Pipeline pipe = trained_pipeline();
  const double e_ref = pipe.operating_point().figure("top_label_ece");
  for (const Index n : {300, 3000}) {
    const Table t = softmax_table(n, 300 + static_cast<std::uint64_t>(n));
    MonitorOptions o;
    o.ece_replicates = 4000;
    const MonitorResult m = run(pipe, t, t.column("y").values, o);
    // Independent: std::mt19937_64, and the library's binned ECE of (correct*, confidence).
    const RowMatrixXd X = t.to_matrix({"a", "b"});
    const RowMatrixXd P = pipe.predict_proba_matrix(FeatureMatrix(view(X)));
    std::vector<double> conf(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) conf[static_cast<std::size_t>(i)] = P.row(i).maxCoeff();
    std::mt19937_64 gen(12345);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> null(4000), c(conf.size());
    for (double& e : null) {
      for (std::size_t i = 0; i < c.size(); ++i) c[i] = u(gen) < conf[i] - e_ref ? 1.0 : 0.0;
      e = metrics::expected_calibration_error(VectorView<const double>(c),
                                              VectorView<const double>(conf));
    }
    const double w = quantile(null, 0.95), a = quantile(null, 0.99);
    CAPTURE(n);
    // Monte-Carlo error of a 95% / 99% quantile of 4000 draws: a few percent of the value.
    CHECK(m.top_label_ece_warn == doctest::Approx(w).epsilon(0.06));
    CHECK(m.top_label_ece_alarm == doctest::Approx(a).epsilon(0.08));
    // The allowance is above the reference ECE and shrinks with the batch (noise ~ 1 / sqrt(n)).
    CHECK(m.top_label_ece_warn > e_ref);
  }
  const Table small = softmax_table(300, 9), large = softmax_table(3000, 9);
  CHECK(run(pipe, small, small.column("y").values).top_label_ece_warn >
        run(pipe, large, large.column("y").values).top_label_ece_warn);
}

TEST_CASE("monitor: K-class ECE status off with ece_replicates = 0 or no reference ECE") {
  const Pipeline pipe = trained_pipeline();
  const Table t = softmax_table(600, 400);
  std::vector<double> y = t.column("y").values;
  for (std::size_t i = 0; i < y.size(); i += 2) y[i] = std::fmod(y[i] + 1.0, 3.0);
  MonitorOptions o;
  o.ece_replicates = 0;
  const MonitorResult m = run(pipe, t, y, o);
  CHECK(m.top_label_ece > 0.2);
  CHECK(m.top_label_ece_status == MonitorStatus::kOk);
  CHECK(std::isnan(m.top_label_ece_warn));
  // A file whose operating point has no top_label_ece figure: reported with a note.
  PipelineParts parts = pipe.parts();
  auto& f = parts.operating_point.figures;
  f.erase(
      std::remove_if(f.begin(), f.end(), [](const auto& e) { return e.first == "top_label_ece"; }),
      f.end());
  const MonitorResult m2 = run(Pipeline(std::move(parts)), t, y);
  CHECK(m2.top_label_ece_status == MonitorStatus::kOk);
  CHECK(std::any_of(m2.notes.begin(), m2.notes.end(), [](const std::string& s) {
    return s.find("top-label ECE has no status") != std::string::npos;
  }));
  o.ece_replicates = 100001;
  CHECK_THROWS_WITH_AS(run(pipe, t, y, o), doctest::Contains("ece_replicates"), InvalidParams);
}
