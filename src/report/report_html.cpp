// SPDX-License-Identifier: Apache-2.0
// The report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts.
#include <calibrisk/report/report.hpp>

#include "report/svg.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace calibrisk {

namespace {

using detail::BarChart;
using detail::ChartSeries;
using detail::fmt_num;
using detail::LineChart;
using detail::xml_escape;

const char* const kCss = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
 color:#1d1d1f;background:#f6f7f9;line-height:1.4}
main{max-width:1180px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:2px solid #dde;
 padding-bottom:4px}h3{font-size:1em;margin:1em 0 .3em}
section{background:#fff;border:1px solid #e3e5ea;border-radius:8px;padding:6px 18px 14px;margin:14px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #e3e5ea;
 border-radius:8px;padding:8px 14px;min-width:150px}.card .v{font-size:1.35em;font-weight:600}
.card .k{font-size:.8em;color:#555}.ci{color:#666;font-size:.85em}
table{border-collapse:collapse;font-size:.88em;margin:6px 0}th,td{padding:3px 9px;
 border-bottom:1px solid #eee;text-align:right}th{background:#f0f2f5}td:first-child,
th:first-child{text-align:left}tr.flagged td{background:#fdecea}.flag{color:#b3261e;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}figure{margin:0;border:1px solid #eee;border-radius:6px}
svg.chart .ct{font-size:13px;font-weight:600}svg.chart .tk{font-size:10.5px;fill:#333}
svg.chart .al{font-size:11.5px;fill:#222}.note{color:#7a4f01;background:#fff8e1;padding:4px 8px;
 border-radius:4px}.muted{color:#666;font-size:.85em}code{font-size:.9em}
)css";

std::string esc(const std::string& s) { return xml_escape(s); }

std::string pct(double v) { return std::isfinite(v) ? fmt_num(100 * v, 3) + "%" : fmt_num(v); }

std::string with_ci(const Estimate& e, bool percent = false) {
  auto f = [&](double v) { return percent ? pct(v) : fmt_num(v, 3); };
  std::string s = f(e.value);
  if (std::isfinite(e.lower) && std::isfinite(e.upper)) {
    s += " <span class=\"ci\">[" + f(e.lower) + ", " + f(e.upper) + "]</span>";
  }
  return s;
}

std::string signed_num(double v) {
  if (!std::isfinite(v)) return fmt_num(v);
  return (v > 0 ? "+" : "") + fmt_num(v, 3);
}

void card(std::ostringstream& o, const std::string& key, const std::string& value) {
  o << "<div class=\"card\"><div class=\"k\">" << esc(key) << "</div><div class=\"v\">" << value
    << "</div></div>";
}

void figure(std::ostringstream& o, const std::string& id, const std::string& svg) {
  o << "<figure id=\"chart-" << id << "\" class=\"chart-box\">" << svg << "</figure>";
}

ChartSeries series(std::string name, std::vector<double> x, std::vector<double> y) {
  ChartSeries s;
  s.name = std::move(name);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

ChartSeries diagonal(std::string name = "") {
  ChartSeries d = series(std::move(name), {0, 1}, {0, 1});
  d.dashed = true;
  d.color = "#999999";
  return d;
}

std::string reliability_chart(const Report& r) {
  LineChart c;
  c.title = "Reliability diagram";
  c.x_label = "mean predicted risk";
  c.y_label = "observed rate";
  c.x_min = 0;
  c.y_min = 0;
  double hi = 0;
  auto add = [&](const CalibrationSection& cal, const std::string& fallback, const char* color) {
    ChartSeries s;
    s.name = cal.label.empty() ? fallback : cal.label;
    s.markers = true;
    s.error_bars = true;
    s.color = color;
    for (const auto& b : cal.bins) {
      if (b.count == 0) continue;
      s.x.push_back(b.mean_predicted);
      s.y.push_back(b.observed);
      s.lower.push_back(b.lower);
      s.upper.push_back(b.upper);
      hi = std::max({hi, b.mean_predicted, std::isfinite(b.upper) ? b.upper : b.observed});
    }
    c.series.push_back(std::move(s));
  };
  c.series.push_back(diagonal("perfect calibration"));
  if (r.has_uncalibrated) add(r.calibration_before, "uncalibrated", "#D55E00");
  add(r.calibration_after, "calibrated", "#0072B2");
  // Zoom on the populated range (risks are often far below 1), keeping the square aspect.
  const auto ticks = detail::nice_ticks(0, std::max(hi, 0.05) * 1.05, 5);
  const double top =
      ticks.size() >= 2 ? ticks.back() + (ticks.back() < hi ? ticks[1] - ticks[0] : 0) : 1.0;
  c.x_max = c.y_max = std::min(1.0, top);
  c.series[0].x = c.series[0].y = {0, c.x_max};
  return detail::svg_line_chart(c);
}

void calibration_rows(std::ostringstream& o, const Report& r) {
  std::vector<const CalibrationSection*> cols;
  if (r.has_uncalibrated) cols.push_back(&r.calibration_before);
  cols.push_back(&r.calibration_after);
  o << "<table><tr><th>metric</th>";
  for (auto* c : cols) o << "<th>" << esc(c->label) << "</th>";
  o << "</tr>";
  auto row = [&](const char* name, auto get) {
    o << "<tr><td>" << name << "</td>";
    for (auto* c : cols) o << "<td>" << get(*c) << "</td>";
    o << "</tr>";
  };
  row("ECE", [](const CalibrationSection& c) { return with_ci(c.ece); });
  row("max calibration error",
      [](const CalibrationSection& c) { return fmt_num(c.max_calibration_error); });
  row("calibration intercept (ideal 0)",
      [](const CalibrationSection& c) { return signed_num(c.intercept); });
  row("calibration slope (ideal 1)", [](const CalibrationSection& c) { return fmt_num(c.slope); });
  row("Spiegelhalter z", [](const CalibrationSection& c) { return fmt_num(c.spiegelhalter_z); });
  row("Spiegelhalter p-value",
      [](const CalibrationSection& c) { return fmt_num(c.spiegelhalter_p); });
  row("Brier score", [](const CalibrationSection& c) { return fmt_num(c.brier, 4); });
  row("log loss", [](const CalibrationSection& c) { return fmt_num(c.log_loss, 4); });
  row("ROC AUC", [](const CalibrationSection& c) { return fmt_num(c.roc_auc); });
  o << "</table>";
}

void subgroup_section(std::ostringstream& o, const Report& r) {
  const SubgroupSection& s = r.subgroups;
  o << "<section id=\"subgroups\"><h2>Subgroups</h2>";
  if (s.rows.empty()) {
    o << "<p class=\"muted\">No subgroup columns were given.</p></section>";
    return;
  }
  Index flagged = 0;
  for (const auto& row : s.rows) flagged += !row.flags.empty();
  o << "<p>A group is <span class=\"flag\">flagged</span> when its calibration intercept departs "
       "from 0 by more than "
    << fmt_num(s.intercept_tolerance) << " (and by more than its own sampling noise), ";
  if (s.ece_tolerance > 0) o << "its ECE exceeds " << fmt_num(s.ece_tolerance) << ", ";
  o << "or its recall at the threshold is more than " << fmt_num(s.recall_tolerance)
    << " below the overall recall (beyond its confidence interval); groups under " << s.min_size
    << " rows are never flagged. <b>" << flagged << "</b> of " << s.rows.size()
    << " groups are flagged.</p>";
  // One bar chart per subgroup column: observed rate vs mean predicted risk, flagged outlined.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const SubgroupRow*>> by_col;
  for (const auto& row : s.rows) {
    if (!by_col.count(row.column)) order.push_back(row.column);
    by_col[row.column].push_back(&row);
  }
  o << "<div class=\"charts\">";
  for (const auto& col : order) {
    BarChart b;
    b.title = "Observed vs predicted by " + col;
    b.y_label = "rate";
    b.reference = r.data.prevalence;
    b.reference_label = "overall prevalence";
    ChartSeries obs, pred;
    obs.name = "observed";
    pred.name = "mean predicted";
    for (const auto* row : by_col[col]) {
      b.categories.push_back(row->level);
      obs.y.push_back(row->prevalence);
      pred.y.push_back(row->mean_predicted);
      b.highlight.push_back(!row->flags.empty());
    }
    b.series = {obs, pred};
    figure(o, "subgroup-" + col, detail::svg_bar_chart(b));
  }
  o << "</div><table><tr><th>column</th><th>level</th><th>n</th><th>prevalence</th>"
       "<th>mean predicted</th><th>ROC AUC</th><th>ECE</th><th>calibration intercept</th>"
       "<th>recall</th><th>precision</th><th>alert rate</th><th>flag</th></tr>";
  for (const auto& row : s.rows) {
    const bool f = !row.flags.empty();
    o << "<tr" << (f ? " class=\"flagged\"" : "") << "><td>" << esc(row.column) << "</td><td>"
      << esc(row.level) << "</td><td>" << row.n << "</td><td>" << pct(row.prevalence) << "</td><td>"
      << pct(row.mean_predicted) << "</td><td>" << fmt_num(row.roc_auc) << "</td><td>"
      << fmt_num(row.ece) << "</td><td>" << signed_num(row.calibration_intercept) << "</td><td>"
      << fmt_num(row.recall) << "</td><td>" << fmt_num(row.precision) << "</td><td>"
      << pct(row.alert_rate) << "</td><td>";
    if (f) {
      o << "<span class=\"flag\">&#9888; flagged</span>";
      for (const auto& why : row.flags) o << "<br><span class=\"muted\">" << esc(why) << "</span>";
    }
    o << "</td></tr>";
  }
  o << "</table></section>";
}

void time_section(std::ostringstream& o, const Report& r) {
  const TimeSection& t = r.over_time;
  o << "<section id=\"over-time\"><h2>Over time</h2>";
  if (t.rows.empty()) {
    o << "<p class=\"muted\">No time key was given.</p></section>";
    return;
  }
  o << "<p class=\"muted\">Per " << esc(t.granularity) << " of the evaluated period.</p>";
  LineChart rates, quality;
  std::vector<double> x, prev, mean, auc, ece;
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    x.push_back(static_cast<double>(k));
    rates.x_tick_labels.push_back(t.rows[k].period);
    prev.push_back(t.rows[k].prevalence);
    mean.push_back(t.rows[k].mean_predicted);
    auc.push_back(t.rows[k].roc_auc);
    ece.push_back(t.rows[k].ece);
  }
  quality.x_tick_labels = rates.x_tick_labels;
  rates.title = "Prevalence and mean predicted risk";
  rates.y_label = "rate";
  rates.y_min = 0;
  rates.series = {series("observed prevalence", x, prev), series("mean predicted", x, mean)};
  for (auto& s : rates.series) s.markers = true;
  quality.title = "ROC AUC and ECE";
  quality.y_label = "value";
  quality.y_min = 0;
  quality.y_max = 1;
  quality.series = {series("ROC AUC", x, auc), series("ECE", x, ece)};
  for (auto& s : quality.series) s.markers = true;
  o << "<div class=\"charts\">";
  figure(o, "time-rates", detail::svg_line_chart(rates));
  figure(o, "time-quality", detail::svg_line_chart(quality));
  o << "</div><table><tr><th>period</th><th>n</th><th>prevalence</th><th>mean predicted</th>"
       "<th>ROC AUC</th><th>ECE</th></tr>";
  for (const auto& row : t.rows) {
    o << "<tr><td>" << esc(row.period) << "</td><td>" << row.n << "</td><td>" << pct(row.prevalence)
      << "</td><td>" << pct(row.mean_predicted) << "</td><td>" << fmt_num(row.roc_auc)
      << "</td><td>" << fmt_num(row.ece) << "</td></tr>";
  }
  o << "</table></section>";
}

}  // namespace

std::string report_to_html(const Report& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>"
    << esc(r.title) << "</title><style>" << kCss << "</style></head><body><main>";
  o << "<h1>" << esc(r.title) << "</h1>";
  o << "<p class=\"muted\">Intervals are " << fmt_num(100 * r.confidence, 3) << "% ";
  if (r.n_bootstrap > 0)
    o << "(bootstrap, " << r.n_bootstrap
      << " replicates, for AUC, AP and ECE; Wilson for proportions)";
  else
    o << "(Wilson for proportions)";
  o << ".</p>";
  for (const auto& n : r.notes) o << "<p class=\"note\">" << esc(n) << "</p>";

  // Headline numbers.
  o << "<div class=\"cards\">";
  card(o, "rows", std::to_string(r.data.rows));
  if (r.data.patients >= 0) card(o, "patients", std::to_string(r.data.patients));
  card(o, "prevalence", pct(r.data.prevalence));
  card(o, "ROC AUC", with_ci(r.discrimination.roc_auc));
  card(o, "average precision", with_ci(r.discrimination.average_precision));
  if (r.has_uncalibrated) {
    card(o, "ECE before \xE2\x86\x92 after",
         fmt_num(r.calibration_before.ece.value) + " \xE2\x86\x92 " +
             fmt_num(r.calibration_after.ece.value));
  } else {
    card(o, "ECE", with_ci(r.calibration_after.ece));
  }
  if (r.has_operating_point) {
    card(o, "threshold", fmt_num(r.operating_point.threshold, 4));
    card(o, "recall / precision",
         fmt_num(r.operating_point.recall.value) + " / " +
             fmt_num(r.operating_point.precision.value));
  }
  Index flagged = 0;
  for (const auto& s : r.subgroups.rows) flagged += !s.flags.empty();
  if (!r.subgroups.rows.empty()) {
    card(
        o, "flagged subgroups",
        flagged ? "<span class=\"flag\">" + std::to_string(flagged) + "</span>" : std::string("0"));
  }
  o << "</div>";

  // Data summary.
  o << "<section id=\"data\"><h2>Data</h2><table>"
    << "<tr><td>rows</td><td>" << r.data.rows << "</td></tr>"
    << "<tr><td>positives</td><td>" << r.data.positives << "</td></tr>"
    << "<tr><td>prevalence</td><td>" << pct(r.data.prevalence) << "</td></tr>";
  if (r.data.patients >= 0) o << "<tr><td>patients</td><td>" << r.data.patients << "</td></tr>";
  if (!r.data.time_min.empty()) {
    o << "<tr><td>time range</td><td>" << esc(r.data.time_min) << " \xE2\x80\x93 "
      << esc(r.data.time_max) << "</td></tr>";
  }
  o << "</table>";
  if (!r.data.missingness.empty()) {
    o << "<h3>Missingness per feature</h3><table><tr><th>feature</th><th>missing</th></tr>";
    for (const auto& m : r.data.missingness) {
      o << "<tr><td>" << esc(m.name) << "</td><td>" << pct(m.missing_fraction) << "</td></tr>";
    }
    o << "</table>";
  }
  o << "</section>";

  // Discrimination.
  {
    o << "<section id=\"discrimination\"><h2>Discrimination</h2><p>ROC AUC "
      << with_ci(r.discrimination.roc_auc) << "; average precision "
      << with_ci(r.discrimination.average_precision) << ".</p><div class=\"charts\">";
    LineChart roc;
    roc.title = "ROC curve";
    roc.x_label = "false-positive rate";
    roc.y_label = "true-positive rate (recall)";
    roc.x_min = roc.y_min = 0;
    roc.x_max = roc.y_max = 1;
    roc.series = {diagonal("chance"),
                  series("model (AUC " + fmt_num(r.discrimination.roc_auc.value) + ")",
                         r.discrimination.roc.x, r.discrimination.roc.y)};
    LineChart pr;
    pr.title = "Precision-recall curve";
    pr.x_label = "recall";
    pr.y_label = "precision";
    pr.x_min = pr.y_min = 0;
    pr.x_max = pr.y_max = 1;
    ChartSeries base = series("prevalence", {0, 1}, {r.data.prevalence, r.data.prevalence});
    base.dashed = true;
    base.color = "#999999";
    pr.series = {base,
                 series("model (AP " + fmt_num(r.discrimination.average_precision.value) + ")",
                        r.discrimination.pr.x, r.discrimination.pr.y)};
    if (r.has_operating_point) {
      ChartSeries op = series("operating point", {r.operating_point.recall.value},
                              {r.operating_point.precision.value});
      op.line = false;
      op.markers = true;
      op.color = "#D55E00";
      pr.series.push_back(op);
      ChartSeries op2 = series("operating point", {1 - r.operating_point.specificity.value},
                               {r.operating_point.recall.value});
      op2.line = false;
      op2.markers = true;
      op2.color = "#D55E00";
      roc.series.push_back(op2);
    }
    roc.series[1].color = pr.series[1].color = "#0072B2";
    figure(o, "roc", detail::svg_line_chart(roc));
    figure(o, "pr", detail::svg_line_chart(pr));
    o << "</div></section>";
  }

  // Calibration.
  o << "<section id=\"calibration\"><h2>Calibration</h2><div class=\"charts\">";
  figure(o, "reliability", reliability_chart(r));
  o << "<div>";
  calibration_rows(o, r);
  o << "<p class=\"muted\">Reliability bins with Wilson intervals of the observed rate. "
       "Intercept and slope from the logistic recalibration of the logit (Cox 1958); "
       "Spiegelhalter's z tests calibration (1986).</p></div></div></section>";

  // Operating point and decision curve.
  o << "<section id=\"operating-point\"><h2>Operating point</h2><div class=\"charts\"><div>";
  if (r.has_operating_point) {
    const auto& p = r.operating_point;
    o << "<p>Flag a case when the predicted risk &ge; <b>" << fmt_num(p.threshold, 4) << "</b>"
      << (p.policy.empty() ? std::string() : " (policy <code>" + esc(p.policy) + "</code>)")
      << ".</p><table><tr><th></th><th>readmitted</th><th>not readmitted</th></tr>"
      << "<tr><td>flagged</td><td>" << p.tp << " (TP)</td><td>" << p.fp << " (FP)</td></tr>"
      << "<tr><td>not flagged</td><td>" << p.fn << " (FN)</td><td>" << p.tn << " (TN)</td></tr>"
      << "</table><table><tr><th>metric</th><th>value [interval]</th></tr>"
      << "<tr><td>precision (PPV)</td><td>" << with_ci(p.precision) << "</td></tr>"
      << "<tr><td>recall (sensitivity)</td><td>" << with_ci(p.recall) << "</td></tr>"
      << "<tr><td>specificity</td><td>" << with_ci(p.specificity) << "</td></tr>"
      << "<tr><td>NPV</td><td>" << with_ci(p.npv) << "</td></tr>"
      << "<tr><td>alert rate</td><td>" << with_ci(p.alert_rate, true) << "</td></tr>"
      << "<tr><td>F1</td><td>" << fmt_num(p.f1) << "</td></tr></table>";
  } else {
    o << "<p class=\"muted\">No threshold was given.</p>";
  }
  o << "</div>";
  if (!r.decision_curve.threshold.empty()) {
    LineChart dc;
    dc.title = "Decision curve";
    dc.x_label = "threshold probability";
    dc.y_label = "net benefit";
    const double prev = std::isfinite(r.data.prevalence) ? r.data.prevalence : 0.1;
    dc.y_min = -0.02;
    dc.y_max = std::max(0.02, prev * 1.1);
    ChartSeries none =
        series("treat none",
               {r.decision_curve.threshold.front(), r.decision_curve.threshold.back()}, {0, 0});
    none.color = "#999999";
    ChartSeries all = series("treat all", r.decision_curve.threshold, r.decision_curve.treat_all);
    all.dashed = true;
    all.color = "#555555";
    dc.series = {series("model", r.decision_curve.threshold, r.decision_curve.model), all, none};
    figure(o, "decision-curve", detail::svg_line_chart(dc));
  }
  o << "</div></section>";

  subgroup_section(o, r);
  time_section(o, r);

  // Top features.
  o << "<section id=\"features\"><h2>Top features</h2>";
  if (r.top_features.empty()) {
    o << "<p class=\"muted\">No feature importances were given.</p>";
  } else {
    BarChart b;
    b.title =
        "Feature importance" + (r.importance_kind.empty() ? "" : " (" + r.importance_kind + ")");
    b.y_label = r.importance_kind.empty() ? "importance" : r.importance_kind;
    ChartSeries s;
    s.name = "importance";
    for (const auto& f : r.top_features) {
      b.categories.push_back(f.name);
      s.y.push_back(f.value);
    }
    b.series = {s};
    b.width = 640;
    o << "<div class=\"charts\">";
    figure(o, "features", detail::svg_bar_chart(b));
    o << "<table><tr><th>feature</th><th>" << esc(b.y_label) << "</th></tr>";
    for (const auto& f : r.top_features) {
      o << "<tr><td>" << esc(f.name) << "</td><td>" << fmt_num(f.value, 4) << "</td></tr>";
    }
    o << "</table></div>";
  }
  o << "</section>";

  // Provenance.
  o << "<section id=\"provenance\"><h2>Provenance</h2><table>";
  for (const auto& [k, v] : r.provenance) {
    o << "<tr><td>" << esc(k) << "</td><td style=\"text-align:left\"><code>" << esc(v)
      << "</code></td></tr>";
  }
  o << "</table></section></main></body></html>\n";
  return o.str();
}

void write_report_html(const Report& report, const std::string& path) {
  const std::string text = report_to_html(report);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw InvalidInput("write_report_html: cannot open '" + path +
                       "' for writing; check that the folder exists and is writable.");
  }
  out << text;
  out.close();
  if (!out) throw Error("write_report_html: writing '" + path + "' failed (disk full?).");
}

}  // namespace calibrisk
