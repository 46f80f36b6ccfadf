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

TEST_CASE("svg: the escaper turns any bytes into inert, valid UTF-8 text") {
  // Markup, attribute break-outs and script-looking text: every special character is a reference.
  CHECK(xml_escape("\"><img src=x onerror=alert(1)>") ==
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  CHECK(xml_escape("'><svg onload=alert(1)>") == "&#39;&gt;&lt;svg onload=alert(1)&gt;");
  CHECK(xml_escape("</script><script>alert(1)</script>") ==
        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  CHECK(xml_escape("</title></style><!-- -->") == "&lt;/title&gt;&lt;/style&gt;&lt;!-- --&gt;");
  CHECK(xml_escape("&amp; &#60; &lt;") == "&amp;amp; &amp;#60; &amp;lt;");  // no double decoding
  // A javascript: URL is harmless text (the page has no href/src built from data).
  CHECK(xml_escape("javascript:alert(1)") == "javascript:alert(1)");
  // NUL, other C0/C1 controls and invalid UTF-8 become U+FFFD; tab, LF, CR and valid UTF-8 stay.
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(xml_escape(std::string("a\0b", 3)) == "a" + fffd + "b");
  CHECK(xml_escape("\x01\x1F\x7F\xC2\x85") == fffd + fffd + fffd + fffd);
  CHECK(xml_escape("t\tl\nr\r") == "t\tl\nr\r");
  CHECK(xml_escape("\xFF\xFE") == fffd + fffd);                        // not UTF-8 at all
  CHECK(xml_escape("\xC3") == fffd);                                   // truncated sequence
  CHECK(xml_escape("\xC0\xBC") == fffd + fffd);                        // overlong '<'
  CHECK(xml_escape("\xED\xA0\x80") == fffd + fffd + fffd);             // UTF-16 surrogate
  CHECK(xml_escape("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
  CHECK(xml_escape("\xEF\xBF\xBE") == fffd);                           // noncharacter U+FFFE
  CHECK(xml_escape("Gr\xC3\xBC\xC3\x9F"
                   "e \xE2\x86\x92 \xF0\x9F\x98\x80") ==
        "Gr\xC3\xBC\xC3\x9F"
        "e \xE2\x86\x92 \xF0\x9F\x98\x80");
  // Very long names are escaped whole (no truncation, no quadratic blow-up).
  std::string longname;
  for (int k = 0; k < 100000; ++k) longname += "<\"";
  const std::string out = xml_escape(longname);
  CHECK(out.size() == 100000 * (4 + 6));
  CHECK(out.find_first_of("<>\"'") == std::string::npos);
}

TEST_CASE("svg: truncation keeps whole characters; colours are validated") {
  CHECK(truncate_utf8("short", 14) == "short");
  CHECK(truncate_utf8("abcdefghijklmn", 14) == "abcdefghijklmn");
  CHECK(truncate_utf8("abcdefghijklmno", 14) == "abcdefghijklm\xE2\x80\xA6");
  // 15 two-byte characters: cut after 13 characters (26 bytes), never inside one.
  std::string u;
  for (int k = 0; k < 15; ++k) u += "\xC3\xA9";
  CHECK(truncate_utf8(u, 14) == u.substr(0, 26) + "\xE2\x80\xA6");
  CHECK(css_color("#0072B2", "#000") == "#0072B2");
  CHECK(css_color("#abc", "#000") == "#abc");
  CHECK(css_color("red\" onclick=\"x", "#000") == "#000");
  CHECK(css_color("#12345g", "#000") == "#000");
  CHECK(css_color("", "#999") == "#999");
}

TEST_CASE("svg: chart titles, labels, categories and series names are escaped") {
  const std::string bad = "\"><img src=x onerror=alert(1)>";
  BarChart b;
  b.title = bad;
  b.y_label = bad;
  b.categories = {bad, "ok"};
  b.reference = 0.1;
  b.reference_label = bad;
  ChartSeries s1, s2;
  s1.name = bad;
  s1.y = {0.1, 0.2};
  s1.color = "\" onmouseover=\"alert(1)";
  s2.name = "other";
  s2.y = {0.2, 0.1};
  b.series = {s1, s2};
  LineChart c;
  c.title = c.x_label = c.y_label = bad;
  c.x_tick_labels = {bad, bad};
  ChartSeries s3;
  s3.name = bad;
  s3.x = {0, 1};
  s3.y = {0.1, 0.2};
  c.series = {s3};
  for (const std::string& svg : {svg_bar_chart(b), svg_line_chart(c)}) {
    CHECK(svg.find("<img") == std::string::npos);
    CHECK(svg.find("onmouseover") == std::string::npos);
    CHECK(svg.find("&lt;img src=x onerror=alert(1)") != std::string::npos);
  }
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
