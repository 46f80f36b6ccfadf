// SPDX-License-Identifier: Apache-2.0
// Rendering a hand-made report: the HTML page is self-contained and complete, JSON round-trips.
#include <calibrisk/report/report.hpp>

#include "support/sample_report.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace calibrisk;

TEST_CASE("report html: every section and chart is present and text is escaped") {
  const std::string html = report_to_html(test::sample_report());
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  for (const char* id :
       {"chart-roc", "chart-pr", "chart-reliability", "chart-decision-curve", "chart-subgroup-1",
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
  for (const std::string known : {"http://www.w3.org/2000/svg", "http-equiv"}) {
    for (std::size_t p; (p = stripped.find(known)) != std::string::npos;) {
      stripped.erase(p, known.size());
    }
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

namespace {

// Payloads for every context a string can reach: element text, attribute values, SVG text,
// <title>, <style>, comments; plus NUL, invalid UTF-8 and a very long name.
std::vector<std::string> injection_strings() {
  return {"\"><img src=x onerror=alert(1)>",
          "'><svg onload=alert(1)>",
          "</script><script>document.title='pwned'</script>",
          "</title><script>alert(1)</script>",
          "</style><style>body{display:none}</style>",
          "<!--",
          "]]><![CDATA[",
          "javascript:alert(1)",
          "&lt;b&gt; &amp; &#x3C;",
          std::string("nul\0byte", 8),
          "bad\xFF\xFEutf8 \xC0\xBC",
          std::string(5000, '<') + "long"};
}

// Every tag of the page, checked against a strict grammar: known element names only, attributes
// only name="value" (no event handlers, no src/href), nothing else may start with '<'.
void check_markup_is_ours(const std::string& html) {
  static const std::set<std::string> tags{
      "!DOCTYPE", "html", "head", "meta", "title",  "style",    "body",    "main",
      "h1",       "h2",   "h3",   "p",    "div",    "span",     "section", "table",
      "tr",       "th",   "td",   "b",    "br",     "code",     "figure",  "svg",
      "rect",     "text", "line", "g",    "circle", "polyline", "polygon"};
  static const std::regex tag(
      R"(^<(/?)(!DOCTYPE|[a-z][a-z0-9]*)((?: [a-zA-Z][a-zA-Z0-9:-]*(?:="[^"<>]*")?)*) ?/?>)");
  static const std::regex attr(R"( ([a-zA-Z][a-zA-Z0-9:-]*)(?:="[^"<>]*")?)");
  std::size_t count = 0;
  for (std::size_t pos = html.find('<'); pos != std::string::npos; pos = html.find('<', pos + 1)) {
    const std::string rest = html.substr(pos, 400);
    std::smatch m;
    const bool ok = std::regex_search(rest, m, tag);
    CAPTURE(rest.substr(0, 80));
    REQUIRE(ok);
    CHECK(tags.count(m[2].str()) == 1);
    const std::string attrs = m[3].str();
    for (std::sregex_iterator it(attrs.begin(), attrs.end(), attr), end; it != end; ++it) {
      const std::string name = (*it)[1].str();
      CAPTURE(name);
      CHECK(name.rfind("on", 0) != 0);
      CHECK(name != "src");
      CHECK(name != "href");
    }
    ++count;
  }
  CHECK(count > 100);
}

bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80         ? 1
                            : (c >> 5) == 6  ? 2
                            : (c >> 4) == 14 ? 3
                            : (c >> 3) == 30 ? 4
                                             : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

TEST_CASE("report html: no string from data or the user becomes markup (issue 11 §1)") {
  const auto bad = injection_strings();
  Report r = test::sample_report();
  r.title = bad[0];
  r.notes = bad;
  r.data.time_min = bad[1];
  r.data.time_max = bad[2];
  r.data.missingness.clear();
  for (const auto& b : bad) r.data.missingness.push_back({b, 0.5});
  r.calibration_before.label = bad[3];
  r.calibration_after.label = bad[4];
  r.operating_point.policy = bad[5];
  r.calibration_after.undefined["slope"] = bad[6];
  r.ranking = {"reversed", bad[7]};
  r.subgroups.rows.clear();
  for (std::size_t k = 0; k < bad.size(); ++k) {
    SubgroupRow row;
    row.column = bad[k % 3];  // three columns named by payloads: one chart each
    row.level = bad[k];
    row.n = 100;
    row.flags = {bad[(k + 1) % bad.size()]};
    row.undefined["roc_auc"] = bad[(k + 2) % bad.size()];
    r.subgroups.rows.push_back(row);
  }
  r.over_time.granularity = bad[8];
  for (std::size_t k = 0; k < r.over_time.rows.size(); ++k) r.over_time.rows[k].period = bad[k];
  r.importance_kind = bad[9];
  r.top_features.clear();
  for (const auto& b : bad) r.top_features.push_back({b, 1.0});
  r.provenance.clear();
  for (std::size_t k = 0; k < bad.size(); ++k)
    r.provenance.emplace_back(bad[k], bad[bad.size() - 1 - k]);

  const std::string html = report_to_html(r);
  check_markup_is_ours(html);
  CHECK(valid_utf8(html));
  CHECK(html.find('\0') == std::string::npos);
  // Ids are generated, never derived from names.
  for (const char* id : {"chart-subgroup-1", "chart-subgroup-2", "chart-subgroup-3"}) {
    CHECK(html.find(std::string("<figure id=\"") + id + "\"") != std::string::npos);
  }
  CHECK(html.find("chart-subgroup-4") == std::string::npos);
  // The restrictive Content-Security-Policy is the first thing after the charset.
  CHECK(html.find("<meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
                  "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:;") !=
        std::string::npos);
  // Every name shows as text (escaped by hand here, independently of the code under test).
  for (const std::string s : {"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
                              "&lt;/script&gt;&lt;script&gt;document.title=&#39;pwned&#39;",
                              "&amp;lt;b&amp;gt; &amp;amp; &amp;#x3C;", "javascript:alert(1)",
                              "nul\xEF\xBF\xBD"
                              "byte",
                              "bad\xEF\xBF\xBD\xEF\xBF\xBDutf8"}) {
    CAPTURE(s);
    CHECK(html.find(s) != std::string::npos);
  }
  // JSON: valid, and the names survive the round trip byte for byte (invalid UTF-8 replaced).
  const Report back = report_from_json(report_to_json(r));
  CHECK(back.subgroups.rows[0].level == bad[0]);
  CHECK(back.subgroups.rows[9].level == bad[9]);
  CHECK(back.title == bad[0]);
}

TEST_CASE("report html/json: undefined statistics show their reason; ranking flags") {
  Report r = test::sample_report();
  r.calibration_after.spiegelhalter_z = NAN;
  r.calibration_after.undefined["spiegelhalter_z"] = "its variance is zero";
  r.subgroups.rows[0].undefined["roc_auc"] = "the group has only class 0";
  r.ranking = {"reversed", "Calibration reverses the model's ranking."};
  const std::string html = report_to_html(r);
  CHECK(html.find("<span class=\"undef\">undefined (its variance is zero)</span>") !=
        std::string::npos);
  CHECK(html.find("undefined (the group has only class 0)") != std::string::npos);
  CHECK(html.find("ranking reversed") != std::string::npos);
  const auto j = nlohmann::json::parse(report_to_json(r));
  CHECK(j["calibration"]["after"]["spiegelhalter_z"].is_null());
  CHECK(j["calibration"]["after"]["undefined"]["spiegelhalter_z"] == "its variance is zero");
  CHECK(j["subgroups"]["rows"][0]["undefined"]["roc_auc"] == "the group has only class 0");
  CHECK(j["calibration"]["ranking"]["status"] == "reversed");
  CHECK(j["calibration"]["ranking"]["flagged"] == true);
  const Report back = report_from_json(report_to_json(r));
  CHECK(report_to_json(back) == report_to_json(r));
  CHECK(back.ranking.flagged());
  CHECK_THROWS_WITH_AS(
      report_from_json("{\"format\": \"calibrisk-report\", \"format_version\": 1, "
                       "\"calibration\": {\"after\": {\"undefined\": {\"slope\": 1}}}}"),
      doctest::Contains("/calibration/after/undefined/slope must be a string"), InvalidInput);
}
