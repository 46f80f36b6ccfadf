// SPDX-License-Identifier: Apache-2.0
// Inline SVG charts: a linear map from data to pixels, "nice" ticks, and plain SVG primitives.
#include "report/svg.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace calibrisk::detail {

namespace {

// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string color_of(const ChartSeries& s, std::size_t k) {
  return css_color(s.color, kPalette[k % 8]);
}

// Margins leave room for the title, the tick labels and the axis labels.
struct Frame {
  double left = 56, right = 14, top = 30, bottom = 46;
  double w, h, x0, x1, y0, y1;
  Frame(int width, int height, double xa, double xb, double ya, double yb)
      : w(width), h(height), x0(xa), x1(xb), y0(ya), y1(yb) {}
  double sx(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
  double sy(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }
};

void fit_range(double& lo, double& hi, double data_lo, double data_hi) {
  const bool fixed_lo = std::isfinite(lo), fixed_hi = std::isfinite(hi);
  if (!fixed_lo) lo = data_lo;
  if (!fixed_hi) hi = data_hi;
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi <= lo) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    if (!fixed_lo) lo -= pad;
    if (!fixed_hi || hi <= lo) hi = lo + 2 * pad;
  }
  if (!fixed_lo || !fixed_hi) {
    const auto t = nice_ticks(lo, hi, 5);
    if (t.size() >= 2) {
      const double step = t[1] - t[0];
      if (!fixed_lo) lo = std::floor(lo / step + 1e-9) * step;
      if (!fixed_hi) hi = std::ceil(hi / step - 1e-9) * step;
    }
  }
}

void open_svg(std::ostringstream& o, int width, int height, const std::string& title) {
  o << "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << ' ' << height << "\">"
    << "<title>" << xml_escape(title) << "</title>"
    << "<rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height
    << "\" fill=\"#ffffff\"/>"
    << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\" class=\"ct\">"
    << xml_escape(title) << "</text>";
}

void axes(std::ostringstream& o, const Frame& f, const std::vector<double>& xt,
          const std::vector<std::string>& xlabels, const std::vector<double>& yt,
          const std::string& x_label, const std::string& y_label) {
  const double bx = f.sy(f.y0), lx = f.sx(f.x0);
  for (double t : yt) {
    const double y = f.sy(t);
    o << "<line x1=\"" << px(lx) << "\" y1=\"" << px(y) << "\" x2=\"" << px(f.w - f.right)
      << "\" y2=\"" << px(y) << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << px(lx - 5) << "\" y=\"" << px(y + 3.5)
      << "\" text-anchor=\"end\" class=\"tk\">" << fmt_num(t, 3) << "</text>";
  }
  for (std::size_t k = 0; k < xt.size(); ++k) {
    const double x = f.sx(xt[k]);
    o << "<line x1=\"" << px(x) << "\" y1=\"" << px(bx) << "\" x2=\"" << px(x) << "\" y2=\""
      << px(bx + 4) << "\" stroke=\"#333\"/>"
      << "<text x=\"" << px(x) << "\" y=\"" << px(bx + 15)
      << "\" text-anchor=\"middle\" class=\"tk\">"
      << (xlabels.empty() ? fmt_num(xt[k], 3) : xml_escape(xlabels[k])) << "</text>";
  }
  o << "<line x1=\"" << px(lx) << "\" y1=\"" << px(bx) << "\" x2=\"" << px(f.w - f.right)
    << "\" y2=\"" << px(bx) << "\" stroke=\"#333\"/>"
    << "<line x1=\"" << px(lx) << "\" y1=\"" << px(f.top) << "\" x2=\"" << px(lx) << "\" y2=\""
    << px(bx) << "\" stroke=\"#333\"/>"
    << "<text x=\"" << px((lx + f.w - f.right) / 2) << "\" y=\"" << px(f.h - 8)
    << "\" text-anchor=\"middle\" class=\"al\">" << xml_escape(x_label) << "</text>"
    << "<text transform=\"translate(14," << px((f.top + bx) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" class=\"al\">" << xml_escape(y_label) << "</text>";
}

void legend(std::ostringstream& o, const Frame& f, const std::vector<ChartSeries>& series) {
  double y = f.top + 6;
  const double x = f.left + 10;
  for (std::size_t k = 0; k < series.size(); ++k) {
    if (series[k].name.empty()) continue;
    const std::string c = color_of(series[k], k);
    o << "<g class=\"lg\"><line x1=\"" << px(x) << "\" y1=\"" << px(y) << "\" x2=\"" << px(x + 18)
      << "\" y2=\"" << px(y) << "\" stroke=\"" << c << "\" stroke-width=\"2.5\""
      << (series[k].dashed ? " stroke-dasharray=\"5,3\"" : "") << "/>"
      << "<text x=\"" << px(x + 23) << "\" y=\"" << px(y + 3.5) << "\" class=\"tk\">"
      << xml_escape(series[k].name) << "</text></g>";
    y += 14;
  }
}

// Shows every k-th category label so that labels (about 6.2 px per character at the tick font
// size) do not overlap along `width` pixels.
std::size_t label_stride(const std::vector<std::string>& labels, double width,
                         std::size_t max_chars = 1000) {
  std::size_t longest = 1;
  for (const auto& l : labels) longest = std::max(longest, std::min(l.size(), max_chars));
  const double per_label = static_cast<double>(longest) * 6.2 + 10.0;
  const auto fit = static_cast<std::size_t>(std::max(1.0, std::floor(width / per_label)));
  return std::max<std::size_t>(1, (labels.size() + fit - 1) / fit);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(std::isfinite(lo) && std::isfinite(hi)) || hi <= lo || target < 1) return out;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (raw <= step * (1 + 1e-9)) break;
  }
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int k = 0; k < 1000; ++k) {
    const double t = first + k * step;
    if (t > hi + step * 1e-9) break;
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when it is invalid
// (overlong forms, surrogates, code points above U+10FFFF, truncated sequences); `cp` receives
// the code point.
std::size_t utf8_sequence(const std::string& s, std::size_t i, char32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t len;
  char32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool forbidden(char32_t cp) {
  return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp <= 0x9F) ||
         cp == 0xFFFE || cp == 0xFFFF;
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t len = utf8_sequence(s, i, cp);
    if (len == 0 || forbidden(cp)) {
      out += kReplacement;
      i += len == 0 ? 1 : len;
      continue;
    }
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.append(s, i, len);
    }
    i += len;
  }
  return out;
}

std::string truncate_utf8(const std::string& s, std::size_t max_chars) {
  std::size_t i = 0, chars = 0, keep = 0;  // keep: byte length of the first max_chars - 1 chars
  while (i < s.size()) {
    if (chars + 1 == max_chars) keep = i;
    if (chars == max_chars) return s.substr(0, keep) + "\xE2\x80\xA6";
    char32_t cp = 0;
    const std::size_t len = utf8_sequence(s, i, cp);
    i += len == 0 ? 1 : len;
    ++chars;
  }
  return s;
}

std::string css_color(const std::string& color, const std::string& fallback) {
  const std::size_t n = color.size();
  bool ok = (n == 4 || n == 5 || n == 7 || n == 9) && color[0] == '#';
  for (std::size_t k = 1; ok && k < n; ++k)
    ok = std::isxdigit(static_cast<unsigned char>(color[k]));
  return ok ? color : fallback;
}

std::string fmt_num(double v, int digits) {
  if (std::isnan(v)) return "\xE2\x80\x94";  // em dash
  if (std::isinf(v)) return v > 0 ? "\xE2\x88\x9E" : "-\xE2\x88\x9E";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string svg_line_chart(const LineChart& chart) {
  double dx0 = INFINITY, dx1 = -INFINITY, dy0 = INFINITY, dy1 = -INFINITY;
  for (const auto& s : chart.series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      dx0 = std::min(dx0, s.x[i]);
      dx1 = std::max(dx1, s.x[i]);
      double lo = s.y[i], hi = s.y[i];
      if (i < s.lower.size() && std::isfinite(s.lower[i])) lo = std::min(lo, s.lower[i]);
      if (i < s.upper.size() && std::isfinite(s.upper[i])) hi = std::max(hi, s.upper[i]);
      dy0 = std::min(dy0, lo);
      dy1 = std::max(dy1, hi);
    }
  }
  double x0 = chart.x_min, x1 = chart.x_max, y0 = chart.y_min, y1 = chart.y_max;
  const bool categorical = !chart.x_tick_labels.empty();
  if (categorical) {
    x0 = -0.5;
    x1 = static_cast<double>(chart.x_tick_labels.size()) - 0.5;
  }
  fit_range(x0, x1, dx0, dx1);
  fit_range(y0, y1, dy0, dy1);
  const Frame f(chart.width, chart.height, x0, x1, y0, y1);
  std::ostringstream o;
  open_svg(o, chart.width, chart.height, chart.title);
  std::vector<double> xt;
  std::vector<std::string> xl;
  if (categorical) {
    const std::size_t n = chart.x_tick_labels.size();
    const std::size_t every = label_stride(chart.x_tick_labels, f.w - f.left - f.right);
    for (std::size_t k = 0; k < n; k += every) {
      xt.push_back(static_cast<double>(k));
      xl.push_back(chart.x_tick_labels[k]);
    }
  } else {
    xt = nice_ticks(x0, x1, 5);
  }
  axes(o, f, xt, xl, nice_ticks(y0, y1, 5), chart.x_label, chart.y_label);
  auto inside = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && x >= x0 - 1e-12 && x <= x1 + 1e-12 &&
           y >= y0 - 1e-12 && y <= y1 + 1e-12;
  };
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const ChartSeries& s = chart.series[k];
    const std::string c = color_of(s, k);
    const std::size_t n = std::min(s.x.size(), s.y.size());
    const bool has_interval = s.lower.size() == n && s.upper.size() == n && n > 0;
    o << "<g class=\"series\" data-name=\"" << xml_escape(s.name) << "\">";
    if (has_interval && !s.error_bars) {
      std::string up, down;
      for (std::size_t i = 0; i < n; ++i) {
        if (!inside(s.x[i], s.y[i]) || !std::isfinite(s.lower[i]) || !std::isfinite(s.upper[i]))
          continue;
        up += px(f.sx(s.x[i])) + "," + px(f.sy(std::min(s.upper[i], y1))) + " ";
        down = px(f.sx(s.x[i])) + "," + px(f.sy(std::max(s.lower[i], y0))) + " " + down;
      }
      if (!up.empty()) {
        o << "<polygon points=\"" << up << down << "\" fill=\"" << c
          << "\" fill-opacity=\"0.15\" stroke=\"none\"/>";
      }
    }
    if (has_interval && s.error_bars) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!inside(s.x[i], s.y[i]) || !std::isfinite(s.lower[i]) || !std::isfinite(s.upper[i]))
          continue;
        const double x = f.sx(s.x[i]);
        o << "<line x1=\"" << px(x) << "\" y1=\"" << px(f.sy(std::max(s.lower[i], y0)))
          << "\" x2=\"" << px(x) << "\" y2=\"" << px(f.sy(std::min(s.upper[i], y1)))
          << "\" stroke=\"" << c << "\" stroke-width=\"1.2\"/>";
      }
    }
    if (s.line) {
      // A gap (non-finite point) ends one polyline and starts the next.
      std::string pts;
      auto flush = [&] {
        if (!pts.empty()) {
          o << "<polyline points=\"" << pts << "\" fill=\"none\" stroke=\"" << c
            << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"5,3\"" : "") << "/>";
        }
        pts.clear();
      };
      for (std::size_t i = 0; i < n; ++i) {
        if (!inside(s.x[i], s.y[i])) {
          flush();
          continue;
        }
        pts += px(f.sx(s.x[i])) + "," + px(f.sy(s.y[i])) + " ";
      }
      flush();
    }
    if (s.markers) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!inside(s.x[i], s.y[i])) continue;
        o << "<circle cx=\"" << px(f.sx(s.x[i])) << "\" cy=\"" << px(f.sy(s.y[i]))
          << "\" r=\"3.2\" fill=\"" << c << "\"/>";
      }
    }
    o << "</g>";
  }
  legend(o, f, chart.series);
  o << "</svg>";
  return o.str();
}

std::string svg_bar_chart(const BarChart& chart) {
  const std::size_t ncat = chart.categories.size();
  const std::size_t nser = std::max<std::size_t>(1, chart.series.size());
  double dy0 = 0, dy1 = -INFINITY;  // bars start at zero
  for (const auto& s : chart.series) {
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      dy0 = std::min(dy0, s.y[i]);
      dy1 = std::max(dy1, s.y[i]);
      if (i < s.upper.size() && std::isfinite(s.upper[i])) dy1 = std::max(dy1, s.upper[i]);
      if (i < s.lower.size() && std::isfinite(s.lower[i])) dy0 = std::min(dy0, s.lower[i]);
    }
  }
  if (std::isfinite(chart.reference)) {
    dy1 = std::max(dy1, chart.reference);
    dy0 = std::min(dy0, chart.reference);
  }
  double y0 = chart.y_min, y1 = chart.y_max;
  fit_range(y0, y1, dy0, dy1);
  Frame f(chart.width, chart.height, -0.5,
          static_cast<double>(std::max<std::size_t>(ncat, 1)) - 0.5, y0, y1);
  std::ostringstream o;
  open_svg(o, chart.width, chart.height, chart.title);
  std::vector<double> xt;
  std::vector<std::string> xl;
  const std::size_t every = label_stride(chart.categories, f.w - f.left - f.right, 14);
  for (std::size_t k = 0; k < ncat; k += every) {
    xt.push_back(static_cast<double>(k));
    xl.push_back(truncate_utf8(chart.categories[k], 14));
  }
  axes(o, f, xt, xl, nice_ticks(y0, y1, 5), "", chart.y_label);
  const double slot = (f.sx(1) - f.sx(0)) * 0.8;
  const double bw = slot / static_cast<double>(nser);
  const double base = f.sy(std::max(y0, std::min(0.0, y1)));
  for (std::size_t k = 0; k < ncat; ++k) {
    if (k < chart.highlight.size() && chart.highlight[k]) {
      o << "<rect class=\"hl\" x=\"" << px(f.sx(static_cast<double>(k)) - slot / 2 - 3) << "\" y=\""
        << px(f.top) << "\" width=\"" << px(slot + 6) << "\" height=\"" << px(f.sy(y0) - f.top)
        << "\" fill=\"#fdecea\" stroke=\"#c0392b\" stroke-dasharray=\"3,2\"/>";
    }
  }
  for (std::size_t s = 0; s < chart.series.size(); ++s) {
    const ChartSeries& ser = chart.series[s];
    const std::string c = color_of(ser, s);
    o << "<g class=\"series\" data-name=\"" << xml_escape(ser.name) << "\">";
    for (std::size_t k = 0; k < ncat && k < ser.y.size(); ++k) {
      const double v = ser.y[k];
      if (!std::isfinite(v)) continue;
      const double x = f.sx(static_cast<double>(k)) - slot / 2 + bw * static_cast<double>(s);
      const double top = f.sy(std::min(std::max(v, y0), y1));
      o << "<rect class=\"bar\" x=\"" << px(x + 1) << "\" y=\"" << px(std::min(top, base))
        << "\" width=\"" << px(std::max(bw - 2, 1.0)) << "\" height=\""
        << px(std::max(std::abs(base - top), 0.5)) << "\" fill=\"" << c << "\"><title>"
        << xml_escape(chart.categories[k]) << ": " << fmt_num(v, 3) << "</title></rect>";
      if (k < ser.lower.size() && k < ser.upper.size() && std::isfinite(ser.lower[k]) &&
          std::isfinite(ser.upper[k])) {
        const double cx = x + bw / 2;
        o << "<line x1=\"" << px(cx) << "\" y1=\"" << px(f.sy(std::max(ser.lower[k], y0)))
          << "\" x2=\"" << px(cx) << "\" y2=\"" << px(f.sy(std::min(ser.upper[k], y1)))
          << "\" stroke=\"#222\" stroke-width=\"1.2\"/>";
      }
    }
    o << "</g>";
  }
  if (std::isfinite(chart.reference)) {
    const double y = f.sy(chart.reference);
    o << "<line x1=\"" << px(f.left) << "\" y1=\"" << px(y) << "\" x2=\"" << px(f.w - f.right)
      << "\" y2=\"" << px(y) << "\" stroke=\"#444\" stroke-dasharray=\"6,3\"/>"
      << "<text x=\"" << px(f.w - f.right - 2) << "\" y=\"" << px(y - 4)
      << "\" text-anchor=\"end\" class=\"tk\">" << xml_escape(chart.reference_label) << "</text>";
  }
  if (chart.series.size() > 1) legend(o, f, chart.series);
  o << "</svg>";
  return o.str();
}

}  // namespace calibrisk::detail
