// SPDX-License-Identifier: Apache-2.0
// The three renderings of a MonitorResult: a readable summary, a JSON document and a
// self-contained HTML page (strings escaped with the report's xml_escape, charts from svg.hpp).
#include <calibrisk/monitor/monitor.hpp>

#include "report/svg.hpp"

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>

namespace calibrisk {
namespace {

using json = nlohmann::json;
using detail::fmt_num;
using detail::xml_escape;

const char* name(MonitorStatus s) { return monitor_status_name(s); }

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json rate_json(const RateCheck& c) {
  return {{"successes", c.successes},
          {"n", c.n},
          {"observed", num(c.observed)},
          {"expected", num(c.expected)},
          {"expected_n", c.expected_n},
          {"difference_interval", {num(c.difference_lower), num(c.difference_upper)}},
          {"warn_interval", {num(c.warn_lower), num(c.warn_upper)}},
          {"alarm_interval", {num(c.alarm_lower), num(c.alarm_upper)}},
          {"evaluated", c.evaluated},
          {"status", name(c.status)}};
}

struct OptionsJson {
  const MonitorOptions& o;
  json& j;
  template <class T>
  void operator()(const char* key, T MonitorOptions::*m, const ParamSpec&, const char*) {
    j[key] = o.*m;
  }
};

json feature_json(const FeatureMonitor& f) {
  return {{"name", f.name},
          {"categorical", f.categorical},
          {"status", name(f.status)},
          {"psi", num(f.psi)},
          {"psi_status", name(f.psi_status)},
          {"missing_rate", num(f.missing_rate)},
          {"train_missing_rate", num(f.train_missing_rate)},
          {"missing_rate_z", num(f.missing_rate_z)},
          {"missing_status", name(f.missing_status)},
          {"n_out_of_range", f.n_out_of_range},
          {"out_of_range_rate", num(f.out_of_range_rate)},
          {"range_status", name(f.range_status)},
          {"n_unseen_category", f.n_unseen_category},
          {"unseen_rate", num(f.unseen_rate)},
          {"unseen_status", name(f.unseen_status)},
          {"example_rows", f.example_rows}};
}

std::string interval(double lo, double hi) { return "[" + fmt_num(lo) + ", " + fmt_num(hi) + "]"; }

// "alert rate 0.12 (12 of 100), expected 0.1: 99% interval [a, b] -> alarm"
std::string rate_line(const char* what, const RateCheck& c, double level) {
  return std::string(what) + " " + fmt_num(c.observed) + " (" + fmt_num(c.successes, 12) + " of " +
         fmt_num(c.n, 12) + "), expected " + fmt_num(c.expected) + ", " + fmt_num(100 * level) +
         "% Wilson interval " +
         (c.status == MonitorStatus::kAlarm ? interval(c.alarm_lower, c.alarm_upper)
                                            : interval(c.warn_lower, c.warn_upper)) +
         (c.expected_n > 0 ? " (expected from " + fmt_num(c.expected_n, 12) +
                                 " rows; difference interval at the alarm level " +
                                 interval(c.difference_lower, c.difference_upper) + ")"
                           : "");
}

std::string feature_line(const FeatureMonitor& f) {
  std::string s = f.name + ":";
  if (f.psi_status != MonitorStatus::kOk)
    s += " PSI " + fmt_num(f.psi) + " (" + name(f.psi_status) + ");";
  if (f.missing_status != MonitorStatus::kOk)
    s += " missing rate " + fmt_num(f.missing_rate) + " vs " + fmt_num(f.train_missing_rate) +
         " in training (z = " + fmt_num(f.missing_rate_z) + ", " + name(f.missing_status) + ");";
  if (f.range_status != MonitorStatus::kOk)
    s += " " + fmt_num(100 * f.out_of_range_rate) + "% outside the training range (" +
         name(f.range_status) + ");";
  if (f.unseen_status != MonitorStatus::kOk)
    s += " " + fmt_num(100 * f.unseen_rate) + "% unseen category codes (" + name(f.unseen_status) +
         ");";
  return s;
}

// The checks that are not ok, one line each (shared by the summary and the HTML page).
std::vector<std::string> findings(const MonitorResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back("error: " + e);
  for (const auto& f : r.features)
    if (f.status != MonitorStatus::kOk)
      out.push_back(std::string(name(f.status)) + ": " + feature_line(f));
  if (r.score_status != MonitorStatus::kOk)
    out.push_back(std::string(name(r.score_status)) + ": " +
                  (r.n_classes > 2 ? "top-label confidence" : "risk distribution") + " PSI " +
                  fmt_num(r.score_psi) + " against the calibration part");
  const MonitorOptions& o = r.options;
  const double lv_alert =
      r.alert_rate.status == MonitorStatus::kAlarm ? o.alarm_confidence : o.warn_confidence;
  if (r.alert_rate.status != MonitorStatus::kOk)
    out.push_back(std::string(name(r.alert_rate.status)) + ": " +
                  rate_line("alert rate", r.alert_rate, lv_alert));
  if (r.calibration_status != MonitorStatus::kOk)
    out.push_back(std::string(name(r.calibration_status)) + ": calibration intercept " +
                  fmt_num(r.calibration_intercept) + " (0 = calibrated), " +
                  fmt_num(100 * o.alarm_confidence) + "% CI " +
                  interval(r.intercept_alarm_lower, r.intercept_alarm_upper));
  const double lv_recall =
      r.recall.status == MonitorStatus::kAlarm ? o.alarm_confidence : o.warn_confidence;
  if (r.recall.status != MonitorStatus::kOk)
    out.push_back(std::string(name(r.recall.status)) + ": " +
                  rate_line("recall at the threshold", r.recall, lv_recall));
  for (const auto& [what, c] : {std::make_pair("review rate", &r.review_rate),
                                std::make_pair("auto-routed accuracy", &r.auto_accuracy)}) {
    if (c->status == MonitorStatus::kOk) continue;
    const double lv = c->status == MonitorStatus::kAlarm ? o.alarm_confidence : o.warn_confidence;
    out.push_back(std::string(name(c->status)) + ": " + rate_line(what, *c, lv));
  }
  if (r.top_label_ece_status != MonitorStatus::kOk)
    out.push_back(std::string(name(r.top_label_ece_status)) + ": top-label ECE " +
                  fmt_num(r.top_label_ece) + " above its " +
                  (r.top_label_ece_status == MonitorStatus::kAlarm ? "alarm" : "warn") + " limit " +
                  fmt_num(r.top_label_ece_status == MonitorStatus::kAlarm ? r.top_label_ece_alarm
                                                                          : r.top_label_ece_warn) +
                  " (calibration part " + fmt_num(r.expected_top_label_ece) +
                  " plus the batch's sampling noise; p = " + fmt_num(r.top_label_ece_p_value) +
                  ")");
  return out;
}

const char* const kStyle =
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:right}td:first-child,th:first-child{text-align:left}"
    ".ok{color:#1a7f37}.warn{color:#9a6700;font-weight:bold}.alarm{color:#cf222e;"
    "font-weight:bold}";

std::string cell(MonitorStatus s, const std::string& text) {
  return std::string("<td class=\"") + name(s) + "\">" + xml_escape(text) + "</td>";
}

void html_features(std::ostringstream& o, const MonitorResult& r) {
  o << "<h2>Features</h2><table><tr><th>feature</th><th>status</th><th>PSI</th>"
       "<th>missing (train)</th><th>outside range</th><th>unseen codes</th></tr>";
  for (const auto& f : r.features) {
    o << "<tr><td>" << xml_escape(f.name) << "</td>" << cell(f.status, name(f.status))
      << cell(f.psi_status, fmt_num(f.psi))
      << cell(f.missing_status,
              fmt_num(f.missing_rate) + " (" + fmt_num(f.train_missing_rate) + ")")
      << cell(f.range_status, fmt_num(100 * f.out_of_range_rate) + "%")
      << cell(f.unseen_status, fmt_num(100 * f.unseen_rate) + "%") << "</tr>";
  }
  o << "</table>";
  if (!r.has_reference || r.features.empty()) return;
  detail::BarChart c;
  c.title = "Population stability index per feature";
  c.y_label = "PSI";
  detail::ChartSeries s;
  s.name = "PSI";
  for (const auto& f : r.features) {
    c.categories.push_back(detail::truncate_utf8(f.name, 24));
    s.y.push_back(f.psi);
    c.highlight.push_back(f.psi_status != MonitorStatus::kOk);
  }
  c.series.push_back(std::move(s));
  c.reference = r.options.psi_alarm;
  c.reference_label = "alarm";
  o << "<figure>" << detail::svg_bar_chart(c) << "</figure>";
}

void html_outputs(std::ostringstream& o, const MonitorResult& r) {
  o << "<h2>Scores and outcomes</h2><table><tr><th>check</th><th>status</th><th>value</th>"
       "<th>expected</th><th>interval (alarm level)</th></tr>";
  const bool k_class = r.n_classes > 2;
  o << "<tr><td>" << (k_class ? "top-label confidence PSI" : "risk distribution PSI") << "</td>"
    << cell(r.score_status, name(r.score_status)) << "<td>" << fmt_num(r.score_psi)
    << "</td><td>&lt; " << fmt_num(r.options.psi_warn) << "</td><td></td></tr>";
  const auto rate = [&](const char* what, const RateCheck& c) {
    o << "<tr><td>" << what << "</td>" << cell(c.status, name(c.status)) << "<td>"
      << fmt_num(c.observed) << "</td><td>" << fmt_num(c.expected) << "</td><td>"
      << interval(c.alarm_lower, c.alarm_upper) << "</td></tr>";
  };
  if (k_class) {
    rate("review rate", r.review_rate);
    if (r.has_labels) {
      rate("auto-routed accuracy", r.auto_accuracy);
      o << "<tr><td>top-label ECE</td>"
        << cell(r.top_label_ece_status, name(r.top_label_ece_status)) << "<td>"
        << fmt_num(r.top_label_ece) << "</td><td>" << fmt_num(r.expected_top_label_ece)
        << "</td><td>&le; " << fmt_num(r.top_label_ece_alarm) << "</td></tr>";
    }
    o << "</table>";
    return;
  }
  rate("alert rate", r.alert_rate);
  if (r.has_labels) {
    o << "<tr><td>calibration intercept</td>"
      << cell(r.calibration_status, name(r.calibration_status)) << "<td>"
      << fmt_num(r.calibration_intercept) << "</td><td>0</td><td>"
      << interval(r.intercept_alarm_lower, r.intercept_alarm_upper) << "</td></tr>";
    o << "<tr><td>ICI</td><td></td><td>" << fmt_num(r.ici) << "</td><td></td><td></td></tr>";
    rate("recall at the threshold", r.recall);
  }
  o << "</table>";
}

}  // namespace

std::string MonitorResult::summary() const {
  std::string s = std::string("monitor: ") + name(status) + " - " + std::to_string(n_rows) +
                  " rows, " + std::to_string(features.size()) + " features" +
                  (has_labels ? ", with labels" : "") + "\n";
  const auto lines = findings(*this);
  for (const auto& l : lines) s += "  " + l + "\n";
  if (lines.empty()) s += "  every check is within its thresholds\n";
  for (const auto& n : notes) s += "  note: " + n + "\n";
  return s;
}

std::string MonitorResult::to_json() const {
  json j;
  j["status"] = name(status);
  j["n_rows"] = n_rows;
  j["n_scored"] = n_scored;
  j["has_reference"] = has_reference;
  j["has_labels"] = has_labels;
  j["errors"] = errors;
  j["notes"] = notes;
  json th = json::object();
  OptionsJson v{options, th};
  MonitorOptions::fields(v);
  j["thresholds"] = th;
  json fs = json::array();
  for (const auto& f : features) fs.push_back(feature_json(f));
  j["features"] = fs;
  j["score"] = {{"psi", num(score_psi)}, {"status", name(score_status)}};
  j["n_classes"] = n_classes;
  if (n_classes > 2) {  // K-class: the review queue's checks (docs/monitoring.md)
    j["review_rate"] = rate_json(review_rate);
    j["labels"] = has_labels ? json{{"auto_accuracy", rate_json(auto_accuracy)},
                                    {"top_label_ece", num(top_label_ece)},
                                    {"expected_top_label_ece", num(expected_top_label_ece)},
                                    {"top_label_ece_warn", num(top_label_ece_warn)},
                                    {"top_label_ece_alarm", num(top_label_ece_alarm)},
                                    {"top_label_ece_p_value", num(top_label_ece_p_value)},
                                    {"top_label_ece_status", name(top_label_ece_status)}}
                             : json(nullptr);
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  }
  j["alert_rate"] = rate_json(alert_rate);
  if (has_labels) {
    j["labels"] = {
        {"prevalence", num(prevalence)},
        {"calibration_intercept", num(calibration_intercept)},
        {"calibration_intercept_se", num(calibration_intercept_se)},
        {"intercept_warn_interval", {num(intercept_warn_lower), num(intercept_warn_upper)}},
        {"intercept_alarm_interval", {num(intercept_alarm_lower), num(intercept_alarm_upper)}},
        {"calibration_status", name(calibration_status)},
        {"ici", num(ici)},
        {"recall", rate_json(recall)}};
  } else {
    j["labels"] = nullptr;
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string MonitorResult::to_html(const std::string& title) const {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << xml_escape(title)
    << "</title><style>" << kStyle << "</style></head><body><main><h1>" << xml_escape(title)
    << "</h1><p>Status: <span class=\"" << name(status) << "\">" << name(status)
    << "</span> &middot; " << n_rows << " rows" << (has_labels ? " with labels" : "") << "</p>";
  const auto lines = findings(*this);
  if (!lines.empty()) {
    o << "<h2>Findings</h2><ul>";
    for (const auto& l : lines) o << "<li>" << xml_escape(l) << "</li>";
    o << "</ul>";
  }
  if (!notes.empty()) {
    o << "<h2>Notes</h2><ul>";
    for (const auto& n : notes) o << "<li>" << xml_escape(n) << "</li>";
    o << "</ul>";
  }
  html_features(o, *this);
  html_outputs(o, *this);
  o << "<p>Thresholds: PSI warn " << fmt_num(options.psi_warn) << ", alarm "
    << fmt_num(options.psi_alarm) << "; intervals " << fmt_num(100 * options.warn_confidence)
    << "% (warn) and " << fmt_num(100 * options.alarm_confidence)
    << "% (alarm). See docs/monitoring.md.</p></main></body></html>\n";
  return o.str();
}

}  // namespace calibrisk
