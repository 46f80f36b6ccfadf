// SPDX-License-Identifier: Apache-2.0
// The multiclass report as one self-contained HTML page: the binary report's CSS and CSP, inline
// SVG charts (svg.cpp), no scripts. Every string from the report goes through xml_escape.
#include <calibrisk/report/multiclass.hpp>

#include "report/html_style.hpp"
#include "report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace calibrisk {

namespace {

using detail::BarChart;
using detail::ChartSeries;
using detail::fmt_num;
using detail::LineChart;

// Class names are data: escaped everywhere, and shortened in chart titles and table headers so a
// 10 kB label cannot blow up the page K² times.
constexpr std::size_t kMaxNameChars = 40;

std::string esc(const std::string& s) { return detail::xml_escape(s); }

std::string short_name(const std::string& s) { return detail::truncate_utf8(s, kMaxNameChars); }

std::string pct(double v) { return std::isfinite(v) ? fmt_num(100 * v, 3) + "%" : fmt_num(v); }

std::string with_ci(const Estimate& e, bool percent = false, int digits = 3) {
  auto f = [&](double v) { return percent ? pct(v) : fmt_num(v, digits); };
  std::string s = f(e.value);
  if (std::isfinite(e.lower) && std::isfinite(e.upper)) {
    s += " <span class=\"ci\">[" + f(e.lower) + ", " + f(e.upper) + "]</span>";
  }
  return s;
}

std::string or_undefined(const UndefinedReasons& u, const char* key, const std::string& shown) {
  const auto it = u.find(key);
  if (it == u.end()) return shown;
  return shown + " <span class=\"undef\">(" + esc(it->second) + ")</span>";
}

std::string threshold_text(double t) {
  return std::isinf(t) && t > 0 ? std::string("&infin; (none routed)") : fmt_num(t, 4);
}

void card(std::ostringstream& o, const std::string& key, const std::string& value) {
  o << "<div class=\"card\"><div class=\"k\">" << esc(key) << "</div><div class=\"v\">" << value
    << "</div></div>";
}

// `id` is generated here ("class-3"), never taken from data.
void figure(std::ostringstream& o, const std::string& id, const std::string& svg) {
  o << "<figure id=\"chart-" << esc(id) << "\" class=\"chart-box\">" << svg << "</figure>";
}

ChartSeries diagonal(const std::string& name) {
  ChartSeries d;
  d.name = name;
  d.x = d.y = {0, 1};
  d.dashed = true;
  d.color = "#999999";
  return d;
}

ChartSeries reliability_series(const std::string& name, const std::vector<ReliabilityPoint>& bs,
                               const char* color) {
  ChartSeries s;
  s.name = name;
  s.markers = true;
  s.error_bars = true;
  s.color = color;
  for (const auto& b : bs) {
    if (b.count == 0) continue;
    s.x.push_back(b.mean_predicted);
    s.y.push_back(b.observed);
    s.lower.push_back(b.lower);
    s.upper.push_back(b.upper);
  }
  return s;
}

std::string histogram_chart(const std::string& title, const RiskHistogram& after,
                            const RiskHistogram* before, int width, int height) {
  BarChart b;
  b.title = title;
  b.y_label = "rows";
  b.width = width;
  b.height = height;
  b.y_min = 0;
  if (after.counts.empty() || after.edges.size() != after.counts.size() + 1) return "";
  for (std::size_t j = 0; j < after.counts.size(); ++j)
    b.categories.push_back(fmt_num(after.edges[j], 2));
  auto add = [&](const RiskHistogram& h, const char* name, const char* color) {
    if (h.counts.size() != after.counts.size()) return;
    ChartSeries s;
    s.name = name;
    s.color = color;
    for (Index v : h.counts) s.y.push_back(static_cast<double>(v));
    b.series.push_back(std::move(s));
  };
  if (before) add(*before, "uncalibrated", "#D55E00");
  add(after, "calibrated", "#0072B2");
  return detail::svg_bar_chart(b);
}

void page_header(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"" << detail::report_csp() << "\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>"
    << esc(r.title) << "</title><style>" << detail::report_css()
    << ".cm td{text-align:center}</style></head><body><main>";
  o << "<h1>" << esc(r.title) << "</h1><p class=\"muted\">Intervals are "
    << fmt_num(100 * r.confidence, 3) << "% ";
  if (r.n_bootstrap > 0) {
    o << "(bootstrap of rows, not stratified by class, " << r.n_bootstrap
      << " replicates, for log loss, Brier, accuracy, ECE and F1; Wilson for precision and "
         "recall; Clopper&ndash;Pearson for the review queue)";
  } else {
    o << "(Wilson for precision and recall; Clopper&ndash;Pearson for the review queue)";
  }
  o << ".</p>";
  for (const auto& n : r.notes) o << "<p class=\"note\">" << esc(n) << "</p>";
}

void headline_cards(std::ostringstream& o, const MulticlassEvaluation& r) {
  const MulticlassCalibrationSection& a = r.calibration_after;
  o << "<div class=\"cards\">";
  card(o, "rows", std::to_string(r.rows));
  card(o, "classes", std::to_string(r.n_classes));
  card(o, "accuracy", with_ci(a.accuracy));
  card(o, "macro F1", with_ci(r.macro_f1));
  card(o, "log loss", with_ci(a.log_loss, false, 4));
  card(o, "Brier (multiclass)", with_ci(a.brier, false, 4));
  if (r.has_uncalibrated) {
    card(o, "top-label ECE before \xE2\x86\x92 after",
         fmt_num(r.calibration_before.top_label_ece.value) + " \xE2\x86\x92 " +
             fmt_num(a.top_label_ece.value));
  } else {
    card(o, "top-label ECE", with_ci(a.top_label_ece));
  }
  card(o, "classwise ECE", with_ci(a.classwise_ece));
  if (r.has_review) {
    card(o, "auto-routed accuracy", with_ci(r.review.accuracy));
    card(o, "review rate", with_ci(r.review.review_rate, true));
  }
  o << "</div>";
}

// Class counts of the shown classes, the others summed in one row.
void data_section(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<section id=\"data\"><h2>Data</h2><table><tr><th>class</th><th>rows</th><th>share</th>"
       "</tr>";
  Index shown_total = 0;
  for (int k : r.shown_classes) {
    const Index c = r.class_counts[static_cast<std::size_t>(k)];
    shown_total += c;
    // The full name once (charts and matrix headers shorten it).
    o << "<tr><td>" << esc(r.class_names[static_cast<std::size_t>(k)]) << "</td><td>" << c
      << "</td><td>" << pct(static_cast<double>(c) / static_cast<double>(r.rows)) << "</td></tr>";
  }
  if (static_cast<int>(r.shown_classes.size()) < r.n_classes) {
    const Index rest = r.rows - shown_total;
    o << "<tr><td><i>(" << (r.n_classes - static_cast<int>(r.shown_classes.size()))
      << " other classes)</i></td><td>" << rest << "</td><td>"
      << pct(static_cast<double>(rest) / static_cast<double>(r.rows)) << "</td></tr>";
  }
  o << "<tr><td><b>all</b></td><td>" << r.rows << "</td><td>100%</td></tr></table></section>";
}

std::string top_label_chart(const MulticlassEvaluation& r) {
  LineChart c;
  c.title = "Top-label reliability (confidence)";
  c.x_label = "mean confidence max\xE2\x82\x96 P";
  c.y_label = "accuracy";
  c.x_min = c.y_min = 0;
  c.x_max = c.y_max = 1;
  c.series.push_back(diagonal("perfect calibration"));
  if (r.has_uncalibrated) {
    c.series.push_back(
        reliability_series("uncalibrated", r.calibration_before.top_label_bins, "#D55E00"));
  }
  c.series.push_back(
      reliability_series("calibrated", r.calibration_after.top_label_bins, "#0072B2"));
  return detail::svg_line_chart(c);
}

void metrics_table(std::ostringstream& o, const MulticlassEvaluation& r) {
  std::vector<const MulticlassCalibrationSection*> cols;
  if (r.has_uncalibrated) cols.push_back(&r.calibration_before);
  cols.push_back(&r.calibration_after);
  o << "<table><tr><th>metric</th>";
  for (auto* c : cols) o << "<th>" << esc(c->label) << "</th>";
  o << "</tr>";
  auto row = [&](const char* name, Estimate MulticlassCalibrationSection::*f, int digits) {
    o << "<tr><td>" << name << "</td>";
    for (auto* c : cols) o << "<td>" << with_ci(c->*f, false, digits) << "</td>";
    o << "</tr>";
  };
  using S = MulticlassCalibrationSection;
  row("log loss", &S::log_loss, 4);
  row("Brier score (multiclass)", &S::brier, 4);
  row("accuracy", &S::accuracy, 3);
  row("top-label ECE", &S::top_label_ece, 3);
  row("classwise ECE", &S::classwise_ece, 3);
  o << "</table>";
}

// One small reliability chart (and the histogram of P[:, k]) per shown class.
void classwise_charts(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<h3>Classwise reliability</h3><p class=\"muted\">P[:, k] against [y = k] for each class "
       "k, with Wilson intervals; next to each, the histogram of P[:, k].</p><div "
       "class=\"charts\">";
  const auto& after = r.calibration_after.classes;
  for (std::size_t s = 0; s < after.size(); ++s) {
    const int k = after[s].index;
    const std::string name = short_name(r.class_names[static_cast<std::size_t>(k)]);
    LineChart c;
    c.title = name;
    c.x_label = "mean predicted";
    c.y_label = "observed rate";
    c.x_min = c.y_min = 0;
    c.x_max = c.y_max = 1;
    c.width = 260;
    c.height = 220;
    c.series.push_back(diagonal(""));
    const RiskHistogram* before_h = nullptr;
    if (r.has_uncalibrated && s < r.calibration_before.classes.size()) {
      c.series.push_back(
          reliability_series("uncalibrated", r.calibration_before.classes[s].bins, "#D55E00"));
      before_h = &r.calibration_before.classes[s].histogram;
    }
    c.series.push_back(reliability_series("calibrated", after[s].bins, "#0072B2"));
    figure(o, "class-" + std::to_string(s + 1),
           detail::svg_line_chart(c) +
               histogram_chart("P[:, k] of " + name, after[s].histogram, before_h, 260, 160));
  }
  o << "</div>";
}

void calibration_section(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<section id=\"calibration\"><h2>Calibration</h2><div class=\"charts\">";
  figure(o, "top-label", top_label_chart(r));
  figure(o, "confidence-histogram",
         histogram_chart("Distribution of the confidence max\xE2\x82\x96 P",
                         r.calibration_after.confidence_histogram,
                         r.has_uncalibrated ? &r.calibration_before.confidence_histogram : nullptr,
                         440, 320));
  o << "<div>";
  metrics_table(o, r);
  o << "<p class=\"muted\">Log loss and Brier score as scikit-learn (the Brier score sums the "
       "squared errors over the K classes). Top-label ECE: the calibration of the confidence "
       "(Guo et al. 2017); classwise ECE: the mean over classes of the ECE of P[:, k] (Kull et "
       "al. 2019).</p></div></div>";
  classwise_charts(o, r);
  o << "</section>";
}

void per_class_section(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<section id=\"per-class\"><h2>Per class</h2><table><tr><th>class</th><th>support</th>"
       "<th>predicted</th><th>precision</th><th>recall</th><th>F1</th><th>mean predicted</th>"
       "<th>ECE</th></tr>";
  for (int k : r.shown_classes) {
    const ClassReportRow& c = r.per_class[static_cast<std::size_t>(k)];
    o << "<tr><td>" << esc(short_name(c.name)) << "</td><td>" << c.support << "</td><td>"
      << c.predicted << "</td><td>" << or_undefined(c.undefined, "precision", with_ci(c.precision))
      << "</td><td>" << or_undefined(c.undefined, "recall", with_ci(c.recall)) << "</td><td>"
      << with_ci(c.f1) << "</td><td>" << pct(c.mean_predicted) << "</td><td>" << fmt_num(c.ece)
      << "</td></tr>";
  }
  o << "</table>";
  if (static_cast<int>(r.shown_classes.size()) < r.n_classes) {
    o << "<p class=\"muted\">" << r.shown_classes.size() << " of " << r.n_classes
      << " classes shown (the most frequent); the JSON report lists every class.</p>";
  }
  o << "</section>";
}

std::string label_of(const MulticlassEvaluation& r, int l) {
  return l < 0 ? std::string("<i>(other classes)</i>")
               : esc(short_name(r.class_names[static_cast<std::size_t>(l)]));
}

// A heat-shaded matrix: the shade is computed from the number only (no data in the style).
void matrix_table(std::ostringstream& o, const MulticlassEvaluation& r, const char* id,
                  const std::vector<std::vector<double>>& m, bool percent) {
  const ConfusionSection& c = r.confusion;
  o << "<table class=\"cm\" id=\"" << id
    << "\"><tr><th>true \xE2\x86\x93 / predicted \xE2\x86\x92</th>";
  for (int l : c.labels) o << "<th>" << label_of(r, l) << "</th>";
  o << "</tr>";
  for (std::size_t i = 0; i < m.size(); ++i) {
    const double row_sum = std::max(1.0, [&] {
      double s = 0;
      for (double v : c.counts[i]) s += v;
      return s;
    }());
    o << "<tr><th>" << label_of(r, c.labels[i]) << "</th>";
    for (std::size_t j = 0; j < m[i].size(); ++j) {
      const double share = std::clamp(c.counts[i][j] / row_sum, 0.0, 1.0);
      const int alpha = static_cast<int>(std::lround(share * 60));  // percent of the colour
      o << "<td style=\"background:rgba(0,114,178," << fmt_num(alpha / 100.0, 2) << ")\">"
        << (percent ? pct(m[i][j]) : std::to_string(std::llround(m[i][j]))) << "</td>";
    }
    o << "</tr>";
  }
  o << "</table>";
}

void confusion_section(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<section id=\"confusion\"><h2>Confusion matrix</h2><p class=\"muted\">Rows: true class; "
       "columns: predicted class (argmax of P, ties to the lowest index), as scikit-learn's "
       "confusion_matrix.</p><h3>Counts</h3>";
  matrix_table(o, r, "confusion-counts", r.confusion.counts, false);
  o << "<h3>Row-normalised (recall per true class)</h3>";
  matrix_table(o, r, "confusion-normalized", r.confusion.row_normalized, true);
  o << "</section>";
}

std::string risk_coverage_chart(const MulticlassEvaluation& r) {
  LineChart c;
  c.title =
      "Risk\xE2\x80\x93"
      "coverage (AURC " +
      fmt_num(r.risk_coverage.aurc) + ")";
  c.x_label = "coverage (share auto-routed)";
  c.y_label = "risk (error rate of auto-routed)";
  c.x_min = c.y_min = 0;
  c.x_max = 1;
  ChartSeries s;
  s.name = "model";
  s.x = r.risk_coverage.coverage;
  s.y = r.risk_coverage.risk;
  s.color = "#0072B2";
  c.series.push_back(std::move(s));
  if (r.has_review && std::isfinite(r.review.accuracy.value)) {
    ChartSeries op;
    op.name = "review-queue operating point";
    op.x = {1.0 - r.review.review_rate.value};
    op.y = {1.0 - r.review.accuracy.value};
    op.line = false;
    op.markers = true;
    op.color = "#D55E00";
    c.series.push_back(std::move(op));
  }
  return detail::svg_line_chart(c);
}

void review_table(std::ostringstream& o, const MulticlassEvaluation& r) {
  const ReviewQueueSection& s = r.review;
  o << "<p>Policy <code>" << esc(s.policy) << "</code> ("
    << (s.source == "selected" ? "chosen on this data" : "given; re-measured on this data") << ").";
  if (s.kind == "conformal") {
    o << " Conformal prediction sets at &alpha; = " << fmt_num(s.conformal_alpha)
      << ": an item is auto-routed when its set holds exactly one label; set coverage "
      << with_ci(s.set_coverage, true) << ".";
  } else if (!s.per_class && !s.thresholds.empty()) {
    o << " Auto-route when the confidence max<sub>k</sub> P &ge; <b>"
      << threshold_text(s.thresholds[0]) << "</b>.";
  }
  o << "</p>";
  if (!s.feasible) o << "<p class=\"flag\">Policy not met: " << esc(s.message) << "</p>";
  o << "<table><tr><th>metric</th><th>value [interval]</th></tr><tr><td>items</td><td>" << s.n
    << "</td></tr><tr><td>auto-routed</td><td>" << s.n_auto << "</td></tr>"
    << "<tr><td>accuracy of auto-routed items</td><td>"
    << or_undefined(s.undefined, "accuracy", with_ci(s.accuracy)) << "</td></tr>"
    << "<tr><td>review rate</td><td>" << with_ci(s.review_rate, true) << "</td></tr></table>";
  if (!s.classes.empty()) {
    o << "<h3>Per predicted class</h3><table><tr><th>class</th><th>threshold</th><th>items</th>"
         "<th>auto-routed</th><th>accuracy</th><th>review rate</th></tr>";
    for (int k : r.shown_classes) {
      if (k >= static_cast<int>(s.classes.size())) continue;
      const auto& c = s.classes[static_cast<std::size_t>(k)];
      o << "<tr><td>" << esc(short_name(r.class_names[static_cast<std::size_t>(k)])) << "</td><td>"
        << threshold_text(c.threshold) << "</td><td>" << c.n << "</td><td>" << c.n_auto
        << "</td><td>" << with_ci(c.accuracy) << "</td><td>" << with_ci(c.review_rate, true)
        << "</td></tr>";
    }
    o << "</table>";
  }
}

void review_section(std::ostringstream& o, const MulticlassEvaluation& r) {
  o << "<section id=\"review-queue\"><h2>Review queue</h2><div class=\"charts\"><div>";
  if (r.has_review) {
    review_table(o, r);
  } else {
    o << "<p class=\"muted\">No review policy was given.</p>";
  }
  o << "<p class=\"muted\">Items whose confidence (max<sub>k</sub> P) is below the threshold go "
       "to a person; the risk&ndash;coverage curve shows the error rate of the auto-routed "
       "items for every threshold (Geifman &amp; El-Yaniv 2017). Intervals of proportions are "
       "Clopper&ndash;Pearson.</p></div>";
  if (!r.risk_coverage.coverage.empty()) figure(o, "risk-coverage", risk_coverage_chart(r));
  o << "</div></section>";
}

void provenance_section(std::ostringstream& o, const MulticlassEvaluation& r) {
  if (!r.provenance.empty()) detail::provenance_html(o, r.provenance);
}

}  // namespace

std::string multiclass_report_to_html(const MulticlassEvaluation& r) {
  return detail::render_page<MulticlassEvaluation>(
      r, {page_header, headline_cards, data_section, calibration_section, per_class_section,
          confusion_section, review_section, provenance_section});
}

void write_multiclass_report_html(const MulticlassEvaluation& report, const std::string& path) {
  detail::write_html_file(multiclass_report_to_html(report), path, "write_multiclass_report_html");
}

}  // namespace calibrisk
