// SPDX-License-Identifier: Apache-2.0
// monitor(): PSI against hand computation, and the checks on synthetic batches whose truth is
// known (same distribution, a shifted unused feature, a shifted risk factor, miscalibrated
// labels), models without a monitoring reference (golden files), and the format-1.3 section.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/monitor/monitor.hpp>
#include <calibrisk/serve.hpp>

#include "unit/artifact/golden.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

constexpr Index kP = 4;  // x0, x1 (risk factors), x2 (unused), site (category 0/1/2)

// Rows of the truth: x0, x1, x2 ~ N(0, 1), site uniform on {0, 1, 2};
// y ~ Bernoulli(sigmoid(-1 + x0 + 0.5 x1 + intercept_shift)).
struct Batch {
  std::vector<double> x;  // row-major (n, kP)
  std::vector<double> y;
  Index n = 0;
  FeatureMatrix X() const {
    return FeatureMatrix(MatrixView<const double>::row_major(x.data(), n, kP));
  }
};

Batch draw(Index n, std::uint64_t seed, double x0_shift = 0, double x2_shift = 0,
           double intercept_shift = 0) {
  Batch b;
  b.n = n;
  Rng rng(seed, 3);
  for (Index i = 0; i < n; ++i) {
    const double x0 = rng.normal() + x0_shift, x1 = rng.normal(), x2 = rng.normal() + x2_shift;
    const double site = std::floor(3 * rng.uniform());
    b.x.insert(b.x.end(), {x0, x1, x2, site});
    const double m = -1 + x0 + 0.5 * x1 + intercept_shift;
    b.y.push_back(rng.uniform() < 1 / (1 + std::exp(-m)) ? 1.0 : 0.0);
  }
  return b;
}

// Logistic regression on 4000 training rows; threshold at recall >= 0.8 on 4000 calibration rows;
// the monitoring reference from both.
Pipeline make_pipeline() {
  const Batch train = draw(4000, 1), cal = draw(4000, 2);
  LogisticRegression lr;
  lr.fit(Dataset(train.X(), VectorView<const double>(train.y)));
  SchemaOptions so;
  so.categorical = {3};
  FeatureSchema schema = FeatureSchema::from_data(train.X(), {"x0", "x1", "x2", "site"}, so);
  const Eigen::VectorXd pc = lr.predict_proba(cal.X());
  const std::vector<double> p(pc.data(), pc.data() + pc.size());
  const OperatingPoint op = select_threshold(VectorView<const double>(cal.y),
                                             VectorView<const double>(p), policy::min_recall(0.8));
  Pipeline pipe(schema, lr, {}, op);
  return pipe.with_reference(
      MonitoringReference::from_data(pipe.schema(), train.X(), p, pipe.threshold()));
}

const FeatureMonitor& feature(const MonitorResult& r, const std::string& name) {
  for (const auto& f : r.features)
    if (f.name == name) return f;
  FAIL("no feature " << name);
  return r.features.front();
}

}  // namespace

TEST_CASE("monitor: PSI of a tiny example equals the hand computation") {
  // expected (0.5, 0.3, 0.2), actual (0.4, 0.4, 0.2):
  // (0.4-0.5) ln(0.4/0.5) + (0.4-0.3) ln(0.4/0.3) + 0 = 0.0223144 + 0.0287682 = 0.0510826
  CHECK(population_stability_index({0.5, 0.3, 0.2}, {0.4, 0.4, 0.2}) ==
        doctest::Approx(0.1 * std::log(1.25) + 0.1 * std::log(4.0 / 3.0)).epsilon(1e-12));
  CHECK(population_stability_index({0.5, 0.3, 0.2}, {0.4, 0.4, 0.2}) ==
        doctest::Approx(0.0510826).epsilon(1e-6));
  // An empty bin is floored at eps: (0.5 - 1e-4) ln(0.5 / 1e-4) + (0.5 - 1) ln(0.5)
  const double empty = (0.5 - 1e-4) * std::log(0.5 / 1e-4) + (0.5 - 1.0) * std::log(0.5);
  CHECK(population_stability_index({1.0, 0.0}, {0.5, 0.5}) == doctest::Approx(empty));
  CHECK(population_stability_index({0.2, 0.8}, {0.2, 0.8}) == 0.0);
  CHECK_THROWS_WITH_AS(population_stability_index({0.5, 0.5}, {1.0}),
                       doctest::Contains("one share per bin"), InvalidInput);
}

TEST_CASE("monitor: reference bins are type-1 quantiles with every bin non-empty") {
  // 1..10 in 4 bins: cut points at the 3rd, 5th, 8th values (ceil(10 q / 4)) -> 3, 5, 8.
  const std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(MonitoringReference::quantile_edges(v, 4) == std::vector<double>{3, 5, 8});
  CHECK(MonitoringReference::bin_shares({3, 5, 8}, v, 10) ==
        std::vector<double>{0.3, 0.2, 0.3, 0.2});
  // Ties: a column of 0s with a few 1s keeps a single edge at 0 (0 <= x is bin 0, 1 is bin 1).
  const std::vector<double> t{0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
  CHECK(MonitoringReference::quantile_edges(t, 10) == std::vector<double>{0});
}

TEST_CASE("monitor: a batch from the training distribution raises no alarm") {
  const Pipeline pipe = make_pipeline();
  const Batch b = draw(3000, 11);
  const MonitorResult r = monitor(pipe, b.X(), VectorView<const double>(b.y));
  INFO(r.summary());
  CHECK(r.has_reference);
  CHECK(r.status != MonitorStatus::kAlarm);
  for (const auto& f : r.features) CHECK(f.psi < 0.1);
  CHECK(r.score_psi < 0.1);
  CHECK(r.alert_rate.evaluated);
  CHECK(r.recall.evaluated);
  CHECK(r.ici >= 0);  // drawn from the training distribution: near the diagonal
  CHECK(r.ici < 0.05);
}

TEST_CASE("monitor: a shifted unused feature alarms on that feature only") {
  const Pipeline pipe = make_pipeline();
  const Batch b = draw(3000, 12, 0.0, 1.0);  // x2 + 1 standard deviation
  const MonitorResult r = monitor(pipe, b.X());
  INFO(r.summary());
  CHECK(r.status == MonitorStatus::kAlarm);
  CHECK(feature(r, "x2").psi_status == MonitorStatus::kAlarm);
  for (const char* other : {"x0", "x1", "site"})
    CHECK(feature(r, other).status == MonitorStatus::kOk);
  CHECK(r.score_status == MonitorStatus::kOk);  // x2 does not drive the risk
  CHECK(r.alert_rate.status != MonitorStatus::kAlarm);
  CHECK(r.summary().find("x2: PSI") != std::string::npos);
}

TEST_CASE("monitor: a shifted risk factor moves the score distribution and the alert rate") {
  const Pipeline pipe = make_pipeline();
  const Batch b = draw(3000, 13, 0.7);
  const MonitorResult r = monitor(pipe, b.X());
  INFO(r.summary());
  CHECK(feature(r, "x0").psi_status == MonitorStatus::kAlarm);
  CHECK(r.alert_rate.status == MonitorStatus::kAlarm);
  CHECK(r.alert_rate.observed > r.alert_rate.alarm_lower);
  CHECK(r.alert_rate.expected < r.alert_rate.alarm_lower);  // more alerts than expected
  CHECK(r.score_psi > 0.1);
}

TEST_CASE("monitor: labels generated miscalibrated give a calibration alarm") {
  const Pipeline pipe = make_pipeline();
  const Batch ok = draw(4000, 14), bad = draw(4000, 14, 0, 0, 1.0);  // true intercept +1
  const MonitorResult r0 = monitor(pipe, ok.X(), VectorView<const double>(ok.y));
  const MonitorResult r1 = monitor(pipe, bad.X(), VectorView<const double>(bad.y));
  INFO(r1.summary());
  CHECK(r0.calibration_status == MonitorStatus::kOk);
  CHECK(r1.calibration_status == MonitorStatus::kAlarm);
  // The offset fit recovers the shift: the interval holds 1 (within sampling error).
  CHECK(r1.calibration_intercept == doctest::Approx(1.0).epsilon(0.15));
  CHECK(r1.intercept_alarm_lower < 1.0);
  CHECK(r1.intercept_alarm_upper > 1.0);
  // The extra cases come from rows of lower modelled risk: recall at the same threshold falls.
  CHECK(r1.recall.observed < r0.recall.observed);
}

TEST_CASE("monitor: unseen categories, out-of-range values and missing rates") {
  const Pipeline pipe = make_pipeline();
  Batch b = draw(1000, 15);
  for (Index i = 0; i < 100; ++i) b.x[static_cast<std::size_t>(i * kP + 3)] = 7;    // unseen
  for (Index i = 0; i < 100; ++i) b.x[static_cast<std::size_t>(i * kP + 1)] = 50;   // > max
  for (Index i = 0; i < 300; ++i) b.x[static_cast<std::size_t>(i * kP + 2)] = NAN;  // missing
  const MonitorResult r = monitor(pipe, b.X());
  INFO(r.summary());
  CHECK(feature(r, "site").n_unseen_category == 100);
  CHECK(feature(r, "site").unseen_status == MonitorStatus::kAlarm);
  CHECK(feature(r, "x1").out_of_range_rate == doctest::Approx(0.1));
  CHECK(feature(r, "x1").range_status == MonitorStatus::kAlarm);
  CHECK(feature(r, "x2").missing_rate == doctest::Approx(0.3));
  CHECK(feature(r, "x2").missing_status == MonitorStatus::kAlarm);
  CHECK(feature(r, "x0").status == MonitorStatus::kOk);
}

TEST_CASE("monitor: rows with an infinite value are an error and are not scored") {
  const Pipeline pipe = make_pipeline();
  Batch b = draw(200, 19);
  b.x[5 * kP + 1] = INFINITY;
  const MonitorResult r = monitor(pipe, b.X(), VectorView<const double>(b.y));
  CHECK(r.status == MonitorStatus::kAlarm);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("infinite") != std::string::npos);
  CHECK(r.n_scored == 199);
  CHECK(r.alert_rate.n == 199);
}

TEST_CASE("monitor: bad labels, options and a wrong width") {
  const Pipeline pipe = make_pipeline();
  const Batch b = draw(10, 16);
  std::vector<double> y(10, 0.0);
  y[3] = 2;
  CHECK_THROWS_WITH_AS(monitor(pipe, b.X(), VectorView<const double>(y)), doctest::Contains("y[3]"),
                       InvalidInput);
  y.pop_back();
  CHECK_THROWS_WITH_AS(monitor(pipe, b.X(), VectorView<const double>(y)),
                       doctest::Contains("9 labels for 10 rows"), InvalidInput);
  MonitorOptions o;
  o.psi_warn = 0.5;
  CHECK_THROWS_WITH_AS(monitor(pipe, b.X(), {}, o), doctest::Contains("psi_warn"), InvalidParams);
  const MonitorResult r =
      monitor(pipe, FeatureMatrix(MatrixView<const double>::row_major(b.x.data(), 5, 8)));
  CHECK(r.status == MonitorStatus::kAlarm);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("columns") != std::string::npos);
}

TEST_CASE("monitor: the reference is saved as format 1.3 and survives a round trip") {
  const Pipeline pipe = make_pipeline();
  const std::string text = to_string(pipe);
  CHECK(text.find("\"format_version\": \"1.3\"") != std::string::npos);
  const Pipeline back = load_from_string(text);
  CHECK(to_string(back) == text);
  REQUIRE(back.reference().features.size() == 4);
  CHECK(back.reference().features[3].edges.empty());  // categorical: shares per code
  CHECK(back.reference().features[3].shares.size() == 3);
  const Batch b = draw(500, 17);
  CHECK(monitor(back, b.X()).to_json() == monitor(pipe, b.X()).to_json());
  // Without the reference the same pipeline keeps the 1.1 bytes.
  PipelineParts parts = pipe.parts();
  parts.reference = {};
  CHECK(to_string(Pipeline(parts)).find("\"format_version\": \"1.1\"") != std::string::npos);
  CHECK(to_string(Pipeline(parts)).find("reference") == std::string::npos);
}

TEST_CASE("monitor: a hand-edited reference is rejected with its path") {
  const std::string text = to_string(make_pipeline());
  LoadOptions lo;
  lo.verify_checksum = false;
  std::string bad = text;
  const auto at = bad.find("\"missing_share\": ");
  REQUIRE(at != std::string::npos);
  const auto end = bad.find_first_of(",\n", at);
  bad.replace(at, end - at, "\"missing_share\": 0.5");
  CHECK_THROWS_WITH_AS(load_from_string(bad, lo), doctest::Contains("/reference"),
                       ModelFormatError);
  // A reference listing the features under other names, or with a share too few.
  std::string renamed = text;
  renamed.replace(renamed.find("\"name\": \"x2\"", renamed.find("\"reference\"")), 12,
                  "\"name\": \"zz\"");
  CHECK_THROWS_WITH_AS(load_from_string(renamed, lo), doctest::Contains("schema order"),
                       ModelFormatError);
  std::string short_shares = text;
  const auto sh = short_shares.find("\"shares\": [", short_shares.find("\"reference\""));
  short_shares.replace(sh, 11, "\"shares\": [0.5, ");  // one share too many
  CHECK_THROWS_WITH_AS(load_from_string(short_shares, lo), doctest::Contains("one share per bin"),
                       ModelFormatError);
  // A 1.2 file cannot carry the section (strict reading of an older minor).
  std::string old = text;
  old.replace(old.find("\"1.3\""), 5, "\"1.2\"");
  CHECK_THROWS_AS(load_from_string(old, lo), ModelFormatError);
}

TEST_CASE("monitor: models saved before format 1.3 get the possible checks and a note") {
  int checked = 0;
  for (const auto& release : std::filesystem::directory_iterator(calibrisk::test::kGolden)) {
    const auto model = release.path() / "py_lr_nocal_noop.json";
    if (!std::filesystem::exists(model)) continue;
    const Pipeline pipe = load(model.string());
    CHECK(pipe.reference().empty());
    const auto rows = calibrisk::test::read_csv(release.path() / "rows_numeric.csv");
    std::vector<double> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    const MonitorResult r =
        monitor(pipe, FeatureMatrix(MatrixView<const double>::row_major(
                          flat.data(), static_cast<Index>(rows.size()), pipe.n_features())));
    CHECK_FALSE(r.has_reference);
    CHECK(std::isnan(r.score_psi));
    REQUIRE_FALSE(r.notes.empty());
    CHECK(r.notes[0].find("needs a model trained with this release") != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("monitor: ScoringPipeline::monitor_json gives the library's document") {
  const Pipeline pipe = make_pipeline();
  const ScoringPipeline sp(pipe);
  const Batch b = draw(800, 18, 0.7);
  std::string status;
  const std::string doc =
      sp.monitor_json(RowBlock<double>::row_major(b.x.data(), b.n, kP), b.y.data(), &status);
  CHECK(doc == monitor(pipe, b.X(), VectorView<const double>(b.y)).to_json());
  CHECK(status == "alarm");
  CHECK(doc.find("\"status\": \"alarm\"") != std::string::npos);
}

TEST_CASE("monitor: the format-1.3 golden file loads, keeps its bytes and its alert rate") {
  // tests/golden/format-1.3: `calibrisk train` (gbdt + beta, categorical site) of this release on
  // the make_golden.py cohort; its scores are checked through the CLI in test_monitor.py.
  const auto path = calibrisk::test::kGolden / "format-1.3" / "gbdt_beta_reference.json";
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Pipeline pipe = load_from_string(text);
  CHECK(to_string(pipe) == text);
  REQUIRE_FALSE(pipe.reference().empty());
  CHECK(pipe.reference().features.size() == static_cast<std::size_t>(pipe.n_features()));
  // The calibration part's alert rate, recorded twice: by the operating point and the reference.
  CHECK(pipe.reference().score.alert_rate ==
        doctest::Approx(pipe.operating_point().figure("alert_rate")).epsilon(1e-12));
  CHECK(pipe.reference().score.n_rows == pipe.operating_point().figure("n_rows"));
}
