// SPDX-License-Identifier: Apache-2.0
// Rendering a hand-made report: the HTML page is self-contained and complete, JSON round-trips.
#include <calibrisk/report/report.hpp>

#include "support/sample_report.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace calibrisk;

TEST_CASE("report html: every section and chart is present and text is escaped") {
  const std::string html = report_to_html(test::sample_report());
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  for (const char* id :
       {"chart-roc", "chart-pr", "chart-reliability", "chart-decision-curve", "chart-subgroup-site",
        "chart-time-rates", "chart-time-quality", "chart-features"}) {
    CAPTURE(id);
    CHECK(html.find(std::string("id=\"") + id + "\"") != std::string::npos);
  }
  for (const char* id : {"data", "discrimination", "calibration", "operating-point", "subgroups",
                         "over-time", "features", "provenance"}) {
    CAPTURE(id);
    CHECK(html.find(std::string("<section id=\"") + id + "\"") != std::string::npos);
  }
  CHECK(html.find("Sample &lt;report&gt; &amp; &quot;quotes&quot;") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);  // "C<script>" level is escaped
  CHECK(html.find("C&lt;script&gt;") != std::string::npos);
  CHECK(html.find("class=\"flagged\"") != std::string::npos);
  CHECK(html.find("calibration intercept +0.7 beyond ±0.4") != std::string::npos);
  CHECK(html.find("min_recall=0.8") != std::string::npos);
  CHECK(html.find("0.78 <span class=\"ci\">[0.75, 0.81]</span>") != std::string::npos);
  // Self-contained: no external resources (the only URL is the SVG namespace).
  std::string stripped = html;
  for (std::size_t p; (p = stripped.find("http://www.w3.org/2000/svg")) != std::string::npos;) {
    stripped.erase(p, 26);
  }
  CHECK(stripped.find("http") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find(" src=") == std::string::npos);
}

TEST_CASE("report html: sections without data say so instead of drawing empty charts") {
  Report r;
  r.data.rows = 10;
  const std::string html = report_to_html(r);
  CHECK(html.find("No threshold was given") != std::string::npos);
  CHECK(html.find("No subgroup columns were given") != std::string::npos);
  CHECK(html.find("No time key was given") != std::string::npos);
  CHECK(html.find("No feature importances were given") != std::string::npos);
  CHECK(html.find("chart-decision-curve") == std::string::npos);
}

TEST_CASE("report json: fields, null for NaN, and an exact round trip") {
  const Report r = test::sample_report();
  const std::string text = report_to_json(r);
  const auto j = nlohmann::json::parse(text);
  CHECK(j["format"] == "calibrisk-report");
  CHECK(j["format_version"] == 1);
  CHECK(j["discrimination"]["roc_auc"]["value"] == 0.78);
  CHECK(j["subgroups"]["rows"][1]["flagged"] == true);
  CHECK(j["subgroups"]["rows"][0]["flagged"] == false);
  CHECK(j["over_time"]["rows"][2]["roc_auc"].is_null());
  CHECK(j["calibration"]["after"]["bins"][3]["observed"].is_null());
  CHECK(j["data"]["patients"] == 700);
  CHECK(j["provenance"]["data_sha256"] == "abc123");
  CHECK(text.find("\"calibrisk\"") < text.find("\"data_sha256\""));  // insertion order kept

  const Report back = report_from_json(text);
  CHECK(report_to_json(back) == text);
  CHECK(report_to_html(back) == report_to_html(r));
  CHECK(back.provenance == r.provenance);
}

TEST_CASE("report json: malformed documents name the bad path") {
  CHECK_THROWS_WITH_AS(report_from_json("{"), doctest::Contains("not valid JSON"), InvalidInput);
  CHECK_THROWS_WITH_AS(report_from_json("{\"format\": \"other\"}"),
                       doctest::Contains("/format is not \"calibrisk-report\""), InvalidInput);
  CHECK_THROWS_WITH_AS(
      report_from_json("{\"format\": \"calibrisk-report\", \"format_version\": 2}"),
      doctest::Contains("/format_version is 2"), InvalidInput);
  CHECK_THROWS_WITH_AS(
      report_from_json("{\"format\": \"calibrisk-report\", \"format_version\": 1, "
                       "\"discrimination\": {\"roc_auc\": {\"value\": \"high\"}}}"),
      doctest::Contains("/discrimination/roc_auc/value must be a number or null"), InvalidInput);
  CHECK_THROWS_WITH_AS(report_from_json("{\"format\": \"calibrisk-report\", \"format_version\": 1, "
                                        "\"subgroups\": {\"rows\": [{\"n\": 1.5}]}}"),
                       doctest::Contains("/subgroups/rows/0/n must be an integer"), InvalidInput);
}

TEST_CASE("report files: written and unwritable paths") {
  const Report r = test::sample_report();
  write_report_html(r, "calibrisk_test_report.html");
  write_report_json(r, "calibrisk_test_report.json");
  std::ifstream in("calibrisk_test_report.json");
  std::stringstream buf;
  buf << in.rdbuf();
  CHECK(report_from_json(buf.str()).title == r.title);
  std::remove("calibrisk_test_report.html");
  std::remove("calibrisk_test_report.json");
  CHECK_THROWS_WITH_AS(write_report_html(r, "/nonexistent/dir/r.html"),
                       doctest::Contains("cannot open '/nonexistent/dir/r.html'"), InvalidInput);
}
