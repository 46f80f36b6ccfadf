// SPDX-License-Identifier: Apache-2.0
// `calibrisk validate`: rolling-origin validation (validate_rolling in the library) with the
// per-period table on stdout, as JSON (--json) and as an HTML page with a chart (--report).
#include "cli/commands.hpp"

#include "cli/data.hpp"
#include "cli/errors.hpp"
#include "cli/multiclass.hpp"
#include "cli/output_file.hpp"
#include "cli/train_flow.hpp"
#include "report/svg.hpp"

#include <calibrisk/io/date.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/version.hpp>
#include <calibrisk/workflow/validate.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace calibrisk::cli {
namespace {

std::string fixed(double v, int digits = 3) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

nlohmann::json start_json(const ValidationResult& r, const PeriodResult& p) {
  return r.time_in_days ? nlohmann::json(format_iso_datetime(p.start)) : number(p.start);
}

// K-class labels: the K-class figures per period (docs/cli.md "validate").
nlohmann::json multiclass_json(const ValidationResult& r, const ValidateSpec& spec) {
  nlohmann::json rows = nlohmann::json::array();
  for (const PeriodResult& p : r.periods) {
    rows.push_back({{"period", p.period},
                    {"start", start_json(r, p)},
                    {"fit_periods", p.fit_first + ".." + p.fit_last},
                    {"calibration_period", p.calibration},
                    {"n_fit", p.n_fit},
                    {"n_calibration", p.n_calibration},
                    {"n_test", p.n_test},
                    {"class_counts_test", p.class_counts_test},
                    {"test_rows_left_out", p.test_rows_left_out},
                    {"test_groups_seen_earlier", p.test_groups_seen_earlier},
                    {"log_loss", number(p.log_loss)},
                    {"log_loss_lower", number(p.log_loss_lower)},
                    {"log_loss_upper", number(p.log_loss_upper)},
                    {"brier", number(p.brier)},
                    {"brier_lower", number(p.brier_lower)},
                    {"brier_upper", number(p.brier_upper)},
                    {"top_label_ece", number(p.top_label_ece)},
                    {"top_label_ece_lower", number(p.top_label_ece_lower)},
                    {"top_label_ece_upper", number(p.top_label_ece_upper)},
                    {"accuracy", number(p.accuracy)},
                    {"accuracy_lower", number(p.accuracy_lower)},
                    {"accuracy_upper", number(p.accuracy_upper)},
                    {"review_threshold", number(p.review_threshold)},
                    {"n_auto", p.n_auto},
                    {"auto_accuracy", number(p.auto_accuracy)},
                    {"auto_accuracy_lower", number(p.auto_accuracy_lower)},
                    {"auto_accuracy_upper", number(p.auto_accuracy_upper)},
                    {"review_rate", number(p.review_rate)},
                    {"review_rate_lower", number(p.review_rate_lower)},
                    {"review_rate_upper", number(p.review_rate_upper)},
                    {"expected_auto_accuracy", number(p.expected_auto_accuracy)},
                    {"expected_review_rate", number(p.expected_review_rate)},
                    {"skipped", p.skipped}});
  }
  return {{"calibrisk_version", kVersion},
          {"task", "multiclass"},
          {"classes", r.classes},
          {"granularity", r.granularity},
          {"min_train_periods", spec.min_train_periods},
          {"model", spec.train.model == ModelKind::kGradientBoostedTrees ? "gbdt" : "lr"},
          {"calibration", multiclass_calibration_name(spec.train.multiclass_calibration)},
          {"review_policy", r.review_policy},
          {"calendar_patients", enum_to_text(spec.train.calendar.patients)},
          {"periods", rows}};
}

nlohmann::json to_json(const ValidationResult& r, const ValidateSpec& spec) {
  nlohmann::json rows = nlohmann::json::array();
  for (const PeriodResult& p : r.periods) {
    rows.push_back(
        {{"period", p.period},
         {"start", r.time_in_days ? nlohmann::json(format_iso_datetime(p.start)) : number(p.start)},
         {"fit_periods", p.fit_first + ".." + p.fit_last},
         {"calibration_period", p.calibration},
         {"n_fit", p.n_fit},
         {"n_calibration", p.n_calibration},
         {"n_test", p.n_test},
         {"events_test", p.events_test},
         {"test_rows_left_out", p.test_rows_left_out},
         {"test_groups_seen_earlier", p.test_groups_seen_earlier},
         {"auc", number(p.auc)},
         {"auc_lower", number(p.auc_lower)},
         {"auc_upper", number(p.auc_upper)},
         {"calibration_intercept", number(p.calibration_intercept)},
         {"calibration_slope", number(p.calibration_slope)},
         {"ici", number(p.ici)},
         {"threshold", number(p.threshold)},
         {"alert_rate", number(p.alert_rate)},
         {"expected_alert_rate", number(p.expected_alert_rate)},
         {"recall", number(p.recall)},
         {"precision", number(p.precision)},
         {"prevalence", number(p.prevalence)},
         {"mean_risk", number(p.mean_risk)},
         {"skipped", p.skipped}});
  }
  if (r.n_classes > 2) return multiclass_json(r, spec);
  return {{"calibrisk_version", kVersion},
          {"granularity", r.granularity},
          {"min_train_periods", spec.min_train_periods},
          {"model", model_kind_name(spec.train.model)},
          {"calibration", calibration_method_name(spec.train.calibration)},
          {"calendar_patients", enum_to_text(spec.train.calendar.patients)},
          {"periods", rows}};
}

// Characters (not bytes) of UTF-8 text, for column widths.
int display_width(const std::string& s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// "[lo, hi]" of a bootstrap interval.
std::string interval(double lo, double hi, const char* sep = ", ") {
  return "[" + fixed(lo) + sep + fixed(hi) + "]";
}

// The K-class figures' bootstrap intervals of one period, under its row of the table.
std::string multiclass_ci_line(const PeriodResult& p) {
  return "  95% CI: logloss " + interval(p.log_loss_lower, p.log_loss_upper) + ", brier " +
         interval(p.brier_lower, p.brier_upper) + ", ECE " +
         interval(p.top_label_ece_lower, p.top_label_ece_upper) + ", acc " +
         interval(p.accuracy_lower, p.accuracy_upper) + ", auto " +
         interval(p.auto_accuracy_lower, p.auto_accuracy_upper) + ", review " +
         interval(p.review_rate_lower, p.review_rate_upper) + "\n";
}

// A figure with its bootstrap interval when there is one: "0.812 [0.790–0.833]".
std::string with_interval(double v, double lo, double hi) {
  if (std::isnan(lo) && std::isnan(hi)) return fixed(v);
  return fixed(v) + " " + interval(lo, hi, "\xE2\x80\x93");
}

void print_multiclass_table(const ValidationResult& r, std::ostream& out, int w) {
  out << "rolling-origin validation by " << r.granularity << ", " << r.classes.size()
      << " classes, review policy " << printable(r.review_policy)
      << " (fit on the earlier periods, calibrate on the last, test on the next)\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %8s %8s %7s %8s %6s %6s %6s %6s %6s %6s\n", w,
                "test period", "fit", "calib", "test", "logloss", "brier", "ECE", "acc", "auto",
                "review", "expect");
  out << line;
  for (const PeriodResult& p : r.periods) {
    const std::string label = printable(p.period);
    const int pad = w + static_cast<int>(label.size()) - display_width(label);
    std::snprintf(line, sizeof line, "%-*s %8lld %8lld %7lld %8s %6s %6s %6s %6s %6s %6s\n", pad,
                  label.c_str(), static_cast<long long>(p.n_fit),
                  static_cast<long long>(p.n_calibration), static_cast<long long>(p.n_test),
                  fixed(p.log_loss).c_str(), fixed(p.brier).c_str(), fixed(p.top_label_ece).c_str(),
                  fixed(p.accuracy).c_str(), fixed(p.auto_accuracy).c_str(),
                  fixed(p.review_rate).c_str(), fixed(p.expected_review_rate).c_str());
    out << line;
    if (!p.skipped.empty()) out << "  skipped: " << printable(p.skipped) << "\n";
    if (p.skipped.empty() && !std::isnan(p.log_loss_lower)) out << multiclass_ci_line(p);
  }
}

void print_table(const ValidationResult& r, std::ostream& out) {
  int w = 16;
  for (const PeriodResult& p : r.periods) w = std::max(w, display_width(printable(p.period)));
  if (r.n_classes > 2) {
    print_multiclass_table(r, out, w);
    return;
  }
  out << "rolling-origin validation by " << r.granularity
      << " (fit on the earlier periods, calibrate on the last, test on the next)\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %8s %8s %7s %7s  %-19s %9s %6s %5s %6s %6s\n", w,
                "test period", "fit", "calib", "test", "events", "AUC [95% CI]", "intercept",
                "slope", "ICI", "alerts", "expect");
  out << line;
  for (const PeriodResult& p : r.periods) {
    const std::string auc =
        fixed(p.auc) + " [" + fixed(p.auc_lower) + ", " + fixed(p.auc_upper) + "]";
    const std::string label = printable(p.period);
    const int pad = w + static_cast<int>(label.size()) - display_width(label);
    std::snprintf(
        line, sizeof line, "%-*s %8lld %8lld %7lld %7lld  %-19s %9s %6s %5s %6s %6s\n", pad,
        label.c_str(), static_cast<long long>(p.n_fit), static_cast<long long>(p.n_calibration),
        static_cast<long long>(p.n_test), static_cast<long long>(p.events_test), auc.c_str(),
        fixed(p.calibration_intercept).c_str(), fixed(p.calibration_slope).c_str(),
        fixed(p.ici).c_str(), fixed(p.alert_rate).c_str(), fixed(p.expected_alert_rate).c_str());
    out << line;
    if (!p.skipped.empty()) out << "  skipped: " << printable(p.skipped) << "\n";
  }
}

const char* const kPageHead =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rolling-origin "
    "validation</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
    "collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head>"
    "<body><h1>Rolling-origin validation</h1>";

detail::LineChart multiclass_chart(const ValidationResult& r) {
  detail::LineChart chart;
  chart.title = "Test accuracy and review queue per period";
  chart.x_label = "test period";
  chart.y_label = "share";
  detail::ChartSeries acc, auto_acc, review, expect;
  acc.name = "accuracy (all rows)";
  auto_acc.name = "auto-routed accuracy";
  review.name = "review rate";
  expect.name = "expected review rate";
  acc.markers = auto_acc.markers = review.markers = true;
  acc.error_bars = auto_acc.error_bars = review.error_bars = true;
  expect.dashed = true;
  for (std::size_t i = 0; i < r.periods.size(); ++i) {
    const PeriodResult& p = r.periods[i];
    chart.x_tick_labels.push_back(p.period);
    for (auto* s : {&acc, &auto_acc, &review, &expect}) s->x.push_back(static_cast<double>(i));
    acc.y.push_back(p.accuracy);
    acc.lower.push_back(p.accuracy_lower);
    acc.upper.push_back(p.accuracy_upper);
    auto_acc.y.push_back(p.auto_accuracy);
    auto_acc.lower.push_back(p.auto_accuracy_lower);
    auto_acc.upper.push_back(p.auto_accuracy_upper);
    review.y.push_back(p.review_rate);
    review.lower.push_back(p.review_rate_lower);
    review.upper.push_back(p.review_rate_upper);
    expect.y.push_back(p.expected_review_rate);
  }
  chart.series = {acc, auto_acc, review, expect};
  chart.y_min = 0.0;
  chart.y_max = 1.0;
  chart.width = 640;
  return chart;
}

// K-class labels: the chart of the review queue and the per-period table; every string from the
// data (period labels, class labels, messages) escaped.
std::string multiclass_html_page(const ValidationResult& r, const std::string& source) {
  using detail::xml_escape;
  std::string classes;
  for (const std::string& c : r.classes) classes += (classes.empty() ? "" : ", ") + c;
  std::string h = std::string(kPageHead) + "<p>Data: " + xml_escape(source) +
                  ". Periods: " + xml_escape(r.granularity) + ". Classes (" +
                  std::to_string(r.classes.size()) + "): " + xml_escape(classes) +
                  ". Review policy: " + xml_escape(r.review_policy) +
                  ". For each test period the model was fitted on the earlier periods, calibrated "
                  "and its review queue chosen on the period before the test period. Brackets: "
                  "95% bootstrap intervals (patients of the test period resampled; the review "
                  "queue's thresholds held fixed).</p>" +
                  detail::svg_line_chart(multiclass_chart(r)) +
                  "<table><thead><tr><th>test period</th><th>fit periods</th><th>calibration</th>"
                  "<th>test rows</th><th>log loss</th><th>Brier</th><th>top-label ECE</th>"
                  "<th>accuracy</th><th>review threshold</th><th>auto-routed accuracy</th>"
                  "<th>review rate</th><th>expected accuracy</th><th>expected review rate</th>"
                  "<th>note</th></tr></thead><tbody>";
  for (const PeriodResult& p : r.periods) {
    const std::string cells[] = {
        p.period,
        p.fit_first + ".." + p.fit_last,
        p.calibration,
        std::to_string(p.n_test),
        with_interval(p.log_loss, p.log_loss_lower, p.log_loss_upper),
        with_interval(p.brier, p.brier_lower, p.brier_upper),
        with_interval(p.top_label_ece, p.top_label_ece_lower, p.top_label_ece_upper),
        with_interval(p.accuracy, p.accuracy_lower, p.accuracy_upper),
        fixed(p.review_threshold),
        with_interval(p.auto_accuracy, p.auto_accuracy_lower, p.auto_accuracy_upper),
        with_interval(p.review_rate, p.review_rate_lower, p.review_rate_upper),
        fixed(p.expected_auto_accuracy),
        fixed(p.expected_review_rate),
        p.skipped};
    h += "<tr>";
    for (const auto& c : cells) h += "<td>" + xml_escape(c) + "</td>";
    h += "</tr>";
  }
  return h + "</tbody></table></body></html>\n";
}

std::string html_page(const ValidationResult& r, const std::string& source) {
  using detail::xml_escape;
  if (r.n_classes > 2) return multiclass_html_page(r, source);
  detail::LineChart chart;
  chart.title = "Test AUC and alert rate per period";
  chart.x_label = "test period";
  chart.y_label = "value";
  detail::ChartSeries auc, alert, expect;
  auc.name = "AUC";
  alert.name = "alert rate";
  expect.name = "expected alert rate";
  auc.markers = alert.markers = true;
  auc.error_bars = true;
  expect.dashed = true;
  for (std::size_t i = 0; i < r.periods.size(); ++i) {
    const PeriodResult& p = r.periods[i];
    chart.x_tick_labels.push_back(p.period);
    for (auto* s : {&auc, &alert, &expect}) s->x.push_back(static_cast<double>(i));
    auc.y.push_back(p.auc);
    auc.lower.push_back(p.auc_lower);
    auc.upper.push_back(p.auc_upper);
    alert.y.push_back(p.alert_rate);
    expect.y.push_back(p.expected_alert_rate);
  }
  chart.series = {auc, alert, expect};
  chart.y_min = 0.0;
  chart.y_max = 1.0;
  chart.width = 640;
  std::string h =
      std::string(kPageHead) + "<p>Data: " + xml_escape(source) +
      ". Periods: " + xml_escape(r.granularity) +
      ". For each test period the model was fitted on the earlier periods, calibrated (and its "
      "threshold chosen) on the period before the test period.</p>" +
      detail::svg_line_chart(chart) +
      "<table><thead><tr><th>test period</th><th>fit periods</th><th>calibration</th><th>test "
      "rows</th><th>events</th><th>AUC</th><th>95% CI</th><th>intercept</th><th>slope</th>"
      "<th>ICI</th><th>alert rate</th><th>expected</th><th>note</th></tr></thead><tbody>";
  for (const PeriodResult& p : r.periods) {
    const std::string cells[] = {p.period,
                                 p.fit_first + ".." + p.fit_last,
                                 p.calibration,
                                 std::to_string(p.n_test),
                                 std::to_string(p.events_test),
                                 fixed(p.auc),
                                 fixed(p.auc_lower) + "\xE2\x80\x93" + fixed(p.auc_upper),
                                 fixed(p.calibration_intercept),
                                 fixed(p.calibration_slope),
                                 fixed(p.ici),
                                 fixed(p.alert_rate),
                                 fixed(p.expected_alert_rate),
                                 p.skipped};
    h += "<tr>";
    for (const auto& c : cells) h += "<td>" + xml_escape(c) + "</td>";
    h += "</tr>";
  }
  return h + "</tbody></table></body></html>\n";
}

// The spec from the flags; the multiclass fields (--policy min-accuracy=..., --calibration
// temperature, ...) are set once the label is read (apply_task_flags, as for `train`).
ValidateSpec validate_spec(const ValidateOptions& o, const TrainConfig& cfg) {
  ValidateSpec spec;
  spec.train = train_spec(cfg);
  std::string alias;
  if (!enum_from_text(o.period, spec.period, alias) || spec.period == TimeGranularity::kAuto) {
    throw UsageError("--period must be month, quarter, year or bins, got " +
                     quote_for_message(o.period) + ".");
  }
  spec.n_bins = o.n_bins;
  spec.min_train_periods = o.min_train_periods;
  return spec;
}

}  // namespace

int run_validate(const ValidateOptions& o, const CommonOptions& c, Progress& progress,
                 std::ostream& out) {
  const TrainConfig cfg = train_config(o.fit, c);
  ValidateSpec spec = validate_spec(o, cfg);
  if (spec.train.columns.time.empty()) {
    throw UsageError("validate needs --time-column: the periods are formed from its dates.");
  }
  check_input_file(o.fit.data, "--data");
  check_distinct_paths({{"--data", o.fit.data}}, {{"--json", o.json}, {"--report", o.report}});
  OutputSet outputs;
  OutputFile* json = o.json.empty() ? nullptr : &outputs.add(o.json);
  OutputFile* html = o.report.empty() ? nullptr : &outputs.add(o.report);
  // The label as `train` reads it: numbers (0/1, or class codes), else text class labels.
  const Table table = read_training_table(o.fit.data, cfg, read_csv_header(o.fit.data), progress);
  apply_task_flags(table, cfg, spec.train);
  ProgressObserver observer(progress);
  const ValidationResult r = validate_rolling(table, spec, &observer);
  if (json != nullptr) json->stream() << to_json(r, spec).dump(2) << "\n";
  if (html != nullptr) html->stream() << html_page(r, spec.train.source);
  outputs.commit();
  print_table(r, out);
  return kExitOk;
}

}  // namespace calibrisk::cli
