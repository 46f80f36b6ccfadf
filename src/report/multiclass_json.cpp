// SPDX-License-Identifier: Apache-2.0
// The multiclass report as JSON (nlohmann/json stays inside src/). NaN and infinities become null.
#include <calibrisk/report/multiclass.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace calibrisk {

namespace {

using json = nlohmann::ordered_json;  // keeps keys (provenance) in insertion order

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

json est(const Estimate& e) {
  return json{{"value", num(e.value)}, {"lower", num(e.lower)}, {"upper", num(e.upper)}};
}

json reasons(const UndefinedReasons& u) {
  json o = json::object();
  for (const auto& [k, v] : u) o[k] = v;
  return o;
}

json bins(const std::vector<ReliabilityPoint>& bs) {
  json a = json::array();
  for (const auto& b : bs) {
    a.push_back({{"count", b.count},
                 {"mean_predicted", num(b.mean_predicted)},
                 {"observed", num(b.observed)},
                 {"lower", num(b.lower)},
                 {"upper", num(b.upper)}});
  }
  return a;
}

json histogram(const RiskHistogram& h) {
  return json{{"edges", nums(h.edges)}, {"counts", h.counts}};
}

json calibration(const MulticlassCalibrationSection& c) {
  json classes = json::array();
  for (const auto& k : c.classes) {
    classes.push_back(
        {{"class", k.index}, {"bins", bins(k.bins)}, {"histogram", histogram(k.histogram)}});
  }
  return json{{"label", c.label},
              {"log_loss", est(c.log_loss)},
              {"brier", est(c.brier)},
              {"accuracy", est(c.accuracy)},
              {"top_label_ece", est(c.top_label_ece)},
              {"classwise_ece", est(c.classwise_ece)},
              {"top_label_bins", bins(c.top_label_bins)},
              {"confidence_histogram", histogram(c.confidence_histogram)},
              {"classwise", classes}};
}

json per_class(const std::vector<ClassReportRow>& rows) {
  json a = json::array();
  for (const auto& r : rows) {
    a.push_back({{"class", r.index},
                 {"name", r.name},
                 {"support", r.support},
                 {"predicted", r.predicted},
                 {"precision", est(r.precision)},
                 {"recall", est(r.recall)},
                 {"f1", est(r.f1)},
                 {"prevalence", num(r.prevalence)},
                 {"mean_predicted", num(r.mean_predicted)},
                 {"ece", num(r.ece)},
                 {"undefined", reasons(r.undefined)}});
  }
  return a;
}

json confusion(const ConfusionSection& c) {
  json counts = json::array(), norm = json::array();
  for (const auto& row : c.counts) counts.push_back(nums(row));
  for (const auto& row : c.row_normalized) norm.push_back(nums(row));
  json labels = json::array();
  for (int l : c.labels) labels.push_back(l < 0 ? json(nullptr) : json(l));
  return json{{"labels", labels}, {"counts", counts}, {"row_normalized", norm}};
}

// +inf thresholds (route nothing) are written as the string "inf", not null: they are meaningful.
json threshold_value(double t) { return std::isinf(t) && t > 0 ? json("inf") : num(t); }

json review(const ReviewQueueSection& s) {
  json th = json::array();
  for (double t : s.thresholds) th.push_back(threshold_value(t));
  json classes = json::array();
  for (const auto& c : s.classes) {
    classes.push_back({{"class", c.index},
                       {"threshold", threshold_value(c.threshold)},
                       {"n", c.n},
                       {"n_auto", c.n_auto},
                       {"n_correct", c.n_correct},
                       {"accuracy", est(c.accuracy)},
                       {"review_rate", est(c.review_rate)}});
  }
  return json{{"kind", s.kind},
              {"policy", s.policy},
              {"source", s.source},
              {"per_class", s.per_class},
              {"thresholds", th},
              {"conformal_alpha", num(s.conformal_alpha)},
              {"set_coverage", est(s.set_coverage)},
              {"n", s.n},
              {"n_auto", s.n_auto},
              {"n_correct", s.n_correct},
              {"accuracy", est(s.accuracy)},
              {"review_rate", est(s.review_rate)},
              {"feasible", s.feasible},
              {"message", s.message},
              {"classes", classes},
              {"undefined", reasons(s.undefined)}};
}

}  // namespace

std::string multiclass_report_to_json(const MulticlassEvaluation& r, int indent) {
  json j;
  j["format"] = "calibrisk-multiclass-report";
  j["format_version"] = 1;
  j["title"] = r.title;
  j["confidence"] = num(r.confidence);
  j["n_bootstrap"] = r.n_bootstrap;
  const MulticlassCalibrationSection& a = r.calibration_after;
  j["summary"] = {{"rows", r.rows},
                  {"n_classes", r.n_classes},
                  {"class_names", r.class_names},
                  {"class_counts", r.class_counts},
                  {"log_loss", est(a.log_loss)},
                  {"brier", est(a.brier)},
                  {"accuracy", est(a.accuracy)},
                  {"macro_f1", est(r.macro_f1)},
                  {"top_label_ece", est(a.top_label_ece)},
                  {"classwise_ece", est(a.classwise_ece)}};
  j["calibration"] = {
      {"before", r.has_uncalibrated ? calibration(r.calibration_before) : json(nullptr)},
      {"after", calibration(a)}};
  j["max_classes_shown"] = r.max_classes_shown;
  j["shown_classes"] = r.shown_classes;
  j["per_class"] = per_class(r.per_class);
  j["confusion_matrix"] = confusion(r.confusion);
  j["review"] = r.has_review ? review(r.review) : json(nullptr);
  j["risk_coverage"] = {{"threshold", nums(r.risk_coverage.threshold)},
                        {"coverage", nums(r.risk_coverage.coverage)},
                        {"risk", nums(r.risk_coverage.risk)},
                        {"aurc", num(r.risk_coverage.aurc)}};
  json prov = json::object();
  for (const auto& [k, v] : r.provenance) prov[k] = v;
  j["provenance"] = prov;
  j["notes"] = r.notes;
  // Invalid UTF-8 in a class name is replaced rather than thrown on.
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

void write_multiclass_report_json(const MulticlassEvaluation& report, const std::string& path,
                                  int indent) {
  const std::string text = multiclass_report_to_json(report, indent);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw InvalidInput("write_multiclass_report_json: cannot open '" + path +
                       "' for writing; check that the folder exists and is writable.");
  }
  out << text << '\n';
  out.close();
  if (!out)
    throw Error("write_multiclass_report_json: writing '" + path + "' failed (disk full?).");
}

}  // namespace calibrisk
