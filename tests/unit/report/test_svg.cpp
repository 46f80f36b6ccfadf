// SPDX-License-Identifier: Apache-2.0
// The generic SVG chart builders: ticks, escaping, and the elements each chart must contain.
#include "report/svg.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <regex>

using namespace calibrisk::detail;

namespace {

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (std::size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("svg: nice ticks are round numbers covering the range") {
  const auto unit = nice_ticks(0, 1, 5);
  REQUIRE(unit.size() == 6);
  for (std::size_t k = 0; k < 6; ++k) CHECK(unit[k] == doctest::Approx(0.2 * k).epsilon(1e-12));
  const auto t = nice_ticks(0.013, 0.187, 5);  // step 0.05 (raw 0.0348 -> 0.05)
  REQUIRE(t.size() == 3);
  CHECK(t[0] == doctest::Approx(0.05));
  CHECK(t[2] == doctest::Approx(0.15));
  CHECK(nice_ticks(-30, 70, 5) == std::vector<double>{-20, 0, 20, 40, 60});
  CHECK(nice_ticks(1, 1, 5).empty());
  CHECK(nice_ticks(NAN, 1, 5).empty());
}

TEST_CASE("svg: escaping and number formatting") {
  CHECK(xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  CHECK(fmt_num(0.84312) == "0.843");
  CHECK(fmt_num(12.0) == "12");
  CHECK(fmt_num(NAN) == "\xE2\x80\x94");
}

TEST_CASE("svg: a line chart maps data to pixels inside the plot frame") {
  LineChart c;
  c.title = "T<1>";
  c.x_label = "x";
  c.y_label = "y";
  c.x_min = 0;
  c.x_max = 1;
  c.y_min = 0;
  c.y_max = 1;
  ChartSeries s;
  s.name = "s1";
  s.x = {0, 0.5, 1};
  s.y = {0, 0.5, 1};
  s.markers = true;
  c.series = {s};
  const std::string svg = svg_line_chart(c);
  CHECK(svg.rfind("<svg class=\"chart\"", 0) == 0);
  CHECK(svg.find("<title>T&lt;1&gt;</title>") != std::string::npos);
  CHECK(count(svg, "<circle") == 3);
  CHECK(count(svg, "<polyline") == 1);
  // Frame: left 56, right 14, top 30, bottom 46 in a 440 x 320 box: (0,0) -> (56, 274),
  // (1,1) -> (426, 30), (0.5,0.5) -> (241, 152).
  CHECK(svg.find("points=\"56.0,274.0 241.0,152.0 426.0,30.0 \"") != std::string::npos);
  CHECK(svg.find(">s1</text>") != std::string::npos);  // legend
  CHECK(svg.substr(svg.size() - 6) == "</svg>");
}

TEST_CASE("svg: gaps, bands, error bars and categorical ticks") {
  LineChart c;
  c.x_tick_labels = {"2023-01", "2023-02", "2023-03"};
  ChartSeries s;
  s.name = "auc";
  s.x = {0, 1, 2};
  s.y = {0.7, NAN, 0.8};
  s.lower = {0.6, NAN, 0.7};
  s.upper = {0.8, NAN, 0.9};
  c.series = {s};
  std::string svg = svg_line_chart(c);
  CHECK(count(svg, "<polyline") == 2);  // split at the NaN
  CHECK(count(svg, "<polygon") == 1);   // the band
  CHECK(svg.find(">2023-02</text>") != std::string::npos);
  c.series[0].error_bars = true;
  svg = svg_line_chart(c);
  CHECK(count(svg, "<polygon") == 0);
  CHECK(count(svg, "stroke-width=\"1.2\"") == 2);
}

TEST_CASE("svg: a bar chart draws one bar per finite value, highlights and a reference") {
  BarChart b;
  b.title = "bars";
  b.categories = {"A", "B", "C"};
  ChartSeries s1, s2;
  s1.name = "observed";
  s1.y = {0.1, 0.2, NAN};
  s2.name = "predicted";
  s2.y = {0.1, 0.1, 0.1};
  s2.lower = {0.05, 0.05, 0.05};
  s2.upper = {0.15, 0.15, 0.15};
  b.series = {s1, s2};
  b.highlight = {false, true, false};
  b.reference = 0.12;
  b.reference_label = "overall";
  const std::string svg = svg_bar_chart(b);
  CHECK(count(svg, "class=\"bar\"") == 5);
  CHECK(count(svg, "class=\"hl\"") == 1);
  CHECK(svg.find(">overall</text>") != std::string::npos);
  CHECK(svg.find(">predicted</text>") != std::string::npos);  // legend with two series
  // The y axis starts at 0 and covers the largest upper bound.
  CHECK(svg.find(">0</text>") != std::string::npos);
}
