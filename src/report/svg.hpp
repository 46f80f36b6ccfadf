// SPDX-License-Identifier: Apache-2.0
// Two small, generic inline-SVG chart builders for the HTML report: a line/scatter chart with
// axes, ticks, an optional interval band or error bars and a legend, and a grouped bar chart.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace calibrisk::detail {

/// One series of a line chart. Non-finite points are skipped (a gap in the line).
struct ChartSeries {
  std::string name;  ///< legend entry ("" = not in the legend)
  std::vector<double> x, y;
  std::vector<double> lower, upper;  ///< optional interval per point (same length as y)
  bool line = true;                  ///< draw a polyline
  bool markers = false;              ///< draw a circle per point
  bool dashed = false;
  bool error_bars = false;  ///< intervals as vertical bars (else a shaded band)
  std::string color;        ///< CSS colour; "" = the palette colour of the series index
};

/// A line/scatter chart. Axis ranges are fixed when both ends are finite, else fitted to the
/// data (with "nice" rounded ends).
struct LineChart {
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  double x_min = std::numeric_limits<double>::quiet_NaN();
  double x_max = std::numeric_limits<double>::quiet_NaN();
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> x_tick_labels;  ///< when set: categorical ticks at x = 0, 1, ...
  int width = 440;
  int height = 320;
};

/// A grouped bar chart: one group per category, one bar per series; `highlight[k]` outlines
/// category k (e.g. a flagged subgroup). An optional horizontal reference line.
struct BarChart {
  std::string title, y_label;
  std::vector<std::string> categories;
  std::vector<ChartSeries> series;  ///< uses `name`, `y` (one per category), `lower`/`upper`
  std::vector<bool> highlight;
  double reference = std::numeric_limits<double>::quiet_NaN();
  std::string reference_label;
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  int width = 440;
  int height = 320;
};

/// The <svg> element of a chart (class "chart", role "img", a <title> for accessibility).
std::string svg_line_chart(const LineChart& chart);
std::string svg_bar_chart(const BarChart& chart);

/// "Nice" tick positions (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

/// The one escaper for every string that reaches the HTML page or an SVG chart, in element text
/// and in double-quoted attribute values alike: & < > " ' become character references, and the
/// result is always valid UTF-8 without characters HTML/XML forbid — invalid UTF-8 sequences, NUL
/// and the other C0/C1 control characters (except tab, line feed, carriage return) and the
/// noncharacters U+FFFE/U+FFFF become U+FFFD. So data (column names, category labels, file names)
/// can never become markup, whatever bytes it holds.
std::string xml_escape(const std::string& s);

/// `s` when it has at most `max_chars` (>= 1) code points, else its first max_chars - 1 code
/// points and "…" (never cuts a multi-byte character in two).
std::string truncate_utf8(const std::string& s, std::size_t max_chars);

/// `color` when it is a CSS hex colour (#rgb, #rgba, #rrggbb, #rrggbbaa), else `fallback`: chart
/// colours go into attributes unescaped-safe.
std::string css_color(const std::string& color, const std::string& fallback);

/// A number for display: "—" for NaN, otherwise `digits` significant digits without trailing
/// zeros noise ("0.843", "12", "1.2e-05").
std::string fmt_num(double v, int digits = 3);

}  // namespace calibrisk::detail
