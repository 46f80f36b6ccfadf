// SPDX-License-Identifier: Apache-2.0
// The report's smoothed-calibration part: hand-known curve and histogram on a small case, the
// insufficient-data verdict with its warning, the JSON round trip, and the HTML pieces.
#include <doctest/doctest.h>
#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/report/report.hpp>

#include <string>
#include <vector>

using namespace calibrisk;

TEST_CASE("report: smoothed calibration part, histogram, insufficient data, JSON and HTML") {
  // p_j = j / 50 (j = 1..49), 100 rows each with exactly 10 + j events: the observed rate is the
  // linear truth 0.1 + 0.5 p, which lowess reproduces exactly (see test_smooth_calibration.cpp).
  std::vector<double> y, p;
  for (int j = 1; j <= 49; ++j)
    for (int r = 0; r < 100; ++r) {
      p.push_back(j / 50.0);
      y.push_back(r < 10 + j ? 1.0 : 0.0);
    }
  EvaluationInput in;
  in.y = y;
  in.p = p;
  EvaluationParams params;
  params.n_bootstrap = 20;
  const Report r = evaluate(in, params);
  const SmoothedCalibrationPart& m = r.calibration_after.smoothed;
  REQUIRE(m.grid.size() == 50);
  for (std::size_t j = 0; j < m.grid.size(); ++j)
    CHECK(m.observed[j] == doctest::Approx(0.1 + 0.5 * m.grid[j]).epsilon(1e-9));
  CHECK(m.ici.value == doctest::Approx(0.01 * 825.0 / 49.0).epsilon(1e-9));
  CHECK(m.lower.size() == 50);
  CHECK(m.n_events == 1715);
  CHECK(m.verdict == "none");  // intercept far from 0 with 4,900 rows
  CHECK(m.warnings.empty());
  // Histogram: 20 bins of width 0.05; level j / 50 falls in bin floor(j / 2.5).
  const RiskHistogram& h = r.calibration_after.histogram;
  REQUIRE(h.counts.size() == 20);
  Index total = 0;
  for (Index c : h.counts) total += c;
  CHECK(total == 4900);
  CHECK(h.counts[0] == 200);  // j = 1, 2 (0.02, 0.04)

  const std::string json = report_to_json(r);
  CHECK(json.find("\"smoothed\"") != std::string::npos);
  CHECK(report_to_json(report_from_json(json)) == json);
  const std::string html = report_to_html(r);
  CHECK(html.find("id=\"chart-risk-histogram\"") != std::string::npos);
  CHECK(html.find("Smoothed calibration") != std::string::npos);

  // 30 events: the warning carries the count and the verdict is "insufficient data".
  std::vector<double> y2, p2;
  for (int i = 0; i < 600; ++i) {
    p2.push_back(0.01 + 0.1 * (i % 50) / 50.0);
    y2.push_back(i % 20 == 0 ? 1.0 : 0.0);
  }
  EvaluationInput in2;
  in2.y = y2;
  in2.p = p2;
  const Report r2 = evaluate(in2, params);
  CHECK(r2.calibration_after.smoothed.verdict == "insufficient data");
  REQUIRE(r2.calibration_after.smoothed.warnings.size() == 1);
  CHECK(r2.calibration_after.smoothed.warnings[0].find("only 30 events") != std::string::npos);
  CHECK(report_to_html(r2).find("only 30 events") != std::string::npos);
}
