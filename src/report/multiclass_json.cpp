// SPDX-License-Identifier: Apache-2.0
// The multiclass report as JSON (nlohmann/json stays inside src/). NaN and infinities become null.
#include <calibrisk/report/multiclass.hpp>

#include "report/json_common.hpp"

#include <cmath>
#include <limits>

namespace calibrisk {

namespace {

using namespace detail::report_json;  // json, num, nums, est, reasons, bins, histogram, ...

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
  j["provenance"] = provenance(r.provenance);
  j["notes"] = r.notes;
  // Invalid UTF-8 in a class name is replaced rather than thrown on.
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

namespace {

// Reading (multiclass_report_from_json): every accessor names the JSON path it failed on.
struct MulticlassWho {
  static constexpr const char* name = "multiclass_report_from_json";
  static constexpr const char* format = "calibrisk-multiclass-report";
  static constexpr const char* document = "calibrisk multiclass evaluation report";
  static constexpr const char* writer =
      "multiclass_report_to_json / MulticlassReport.to_json() (calibrisk train/evaluate --json on "
      "a K-class label)";
};

struct McReader : JsonReader<MulticlassWho> {
  // A class index in [0, k).
  static int class_index(const json& j, const std::string& key, const std::string& base, int k) {
    const Index v = integer(j, key, base, -1);
    if (v < 0 || v >= k) bad(path_of(base, key), "must be a class index in [0, n_classes)");
    return static_cast<int>(v);
  }
  // A threshold: a number, null (NaN) or the string "inf" (routes nothing).
  static double threshold(const json& x, const std::string& p) {
    if (x.is_string() && x.get<std::string>() == "inf")
      return std::numeric_limits<double>::infinity();
    if (x.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!x.is_number()) bad(p, "must be a number, null or \"inf\"");
    return x.get<double>();
  }
  static MulticlassCalibrationSection calibration(const json& c, const std::string& p, int k) {
    MulticlassCalibrationSection s;
    s.label = text(c, "label", p);
    s.log_loss = estimate(c, "log_loss", p);
    s.brier = estimate(c, "brier", p);
    s.accuracy = estimate(c, "accuracy", p);
    s.top_label_ece = estimate(c, "top_label_ece", p);
    s.classwise_ece = estimate(c, "classwise_ece", p);
    s.top_label_bins = reliability(c, "top_label_bins", p);
    s.confidence_histogram = histogram(c, "confidence_histogram", p);
    const json& cls = array(c, "classwise", p);
    for (std::size_t i = 0; i < cls.size(); ++i) {
      const std::string cp = p + "/classwise/" + std::to_string(i);
      ClassCalibration cc;
      cc.index = class_index(cls[i], "class", cp, k);
      cc.bins = reliability(cls[i], "bins", cp);
      cc.histogram = histogram(cls[i], "histogram", cp);
      s.classes.push_back(std::move(cc));
    }
    return s;
  }
  static ClassReportRow class_row(const json& x, const std::string& p, int k) {
    ClassReportRow r;
    r.index = class_index(x, "class", p, k);
    r.name = text(x, "name", p);
    r.support = integer(x, "support", p);
    r.predicted = integer(x, "predicted", p);
    r.precision = estimate(x, "precision", p);
    r.recall = estimate(x, "recall", p);
    r.f1 = estimate(x, "f1", p);
    r.prevalence = number(x, "prevalence", p);
    r.mean_predicted = number(x, "mean_predicted", p);
    r.ece = number(x, "ece", p);
    r.undefined = undefined(x, p);
    return r;
  }
  static std::vector<std::vector<double>> square(const json& c, const char* key, std::size_t m) {
    const std::string p = std::string("/confusion_matrix/") + key;
    const json& rows = array(c, key, "/confusion_matrix");
    if (rows.size() != m) bad(p, "must have one row per label");
    std::vector<std::vector<double>> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      json wrap = json::object();
      wrap["row"] = rows[i];
      out.push_back(numbers(wrap, "row", p + "/" + std::to_string(i)));
      if (out.back().size() != m) bad(p + "/" + std::to_string(i), "must have one value per label");
    }
    return out;
  }
  static ConfusionSection confusion(const json& c, int k) {
    ConfusionSection s;
    const json& labels = array(c, "labels", "/confusion_matrix");
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::string lp = "/confusion_matrix/labels/" + std::to_string(i);
      if (labels[i].is_null()) {
        s.labels.push_back(-1);  // "(other classes)"
        continue;
      }
      if (!labels[i].is_number_integer() || labels[i].get<Index>() < 0 ||
          labels[i].get<Index>() >= k)
        bad(lp, "must be a class index in [0, n_classes) or null");
      s.labels.push_back(labels[i].get<int>());
    }
    s.counts = square(c, "counts", s.labels.size());
    s.row_normalized = square(c, "row_normalized", s.labels.size());
    return s;
  }
  static ReviewQueueSection::ClassPoint review_class(const json& x, const std::string& p, int k) {
    ReviewQueueSection::ClassPoint c;
    c.index = class_index(x, "class", p, k);
    const json* t = opt(x, "threshold");
    c.threshold = t ? threshold(*t, p + "/threshold") : std::numeric_limits<double>::infinity();
    c.n = integer(x, "n", p);
    c.n_auto = integer(x, "n_auto", p);
    c.n_correct = integer(x, "n_correct", p);
    c.accuracy = estimate(x, "accuracy", p);
    c.review_rate = estimate(x, "review_rate", p);
    return c;
  }
  static ReviewQueueSection review(const json& x, int k) {
    const std::string p = "/review";
    ReviewQueueSection s;
    s.kind = text(x, "kind", p);
    s.policy = text(x, "policy", p);
    s.source = text(x, "source", p);
    s.per_class = flag(x, "per_class", p);
    const json& th = array(x, "thresholds", p);
    for (std::size_t i = 0; i < th.size(); ++i)
      s.thresholds.push_back(threshold(th[i], p + "/thresholds/" + std::to_string(i)));
    s.conformal_alpha = number(x, "conformal_alpha", p);
    s.set_coverage = estimate(x, "set_coverage", p);
    s.n = integer(x, "n", p);
    s.n_auto = integer(x, "n_auto", p);
    s.n_correct = integer(x, "n_correct", p);
    if (s.n < 0 || s.n_auto < 0 || s.n_auto > s.n || s.n_correct < 0 || s.n_correct > s.n_auto)
      bad(p, "needs 0 <= n_correct <= n_auto <= n");
    s.accuracy = estimate(x, "accuracy", p);
    s.review_rate = estimate(x, "review_rate", p);
    s.feasible = opt(x, "feasible") ? flag(x, "feasible", p) : true;
    s.message = text(x, "message", p);
    const json& cls = array(x, "classes", p);
    for (std::size_t i = 0; i < cls.size(); ++i)
      s.classes.push_back(review_class(cls[i], p + "/classes/" + std::to_string(i), k));
    s.undefined = undefined(x, p);
    return s;
  }
};

// The summary's counts and names: K in [2, kMaxClasses], K names and K counts.
void read_summary(const json& sum, MulticlassEvaluation& r) {
  using R = McReader;
  const std::string p = "/summary";
  r.rows = R::integer(sum, "rows", p);
  const Index k = R::integer(sum, "n_classes", p);
  if (k < 2 || k > kMaxClasses)
    R::bad(p + "/n_classes", "must be in [2, " + std::to_string(kMaxClasses) + "]");
  r.n_classes = static_cast<int>(k);
  r.class_names = R::texts(sum, "class_names", p);
  if (r.class_names.size() != static_cast<std::size_t>(k))
    R::bad(p + "/class_names", "must hold n_classes names");
  const std::vector<double> counts = R::numbers(sum, "class_counts", p);
  if (counts.size() != static_cast<std::size_t>(k))
    R::bad(p + "/class_counts", "must hold n_classes counts");
  for (const double c : counts) {
    if (!(c >= 0) || c != std::floor(c)) R::bad(p + "/class_counts", "must hold counts");
    r.class_counts.push_back(static_cast<Index>(c));
  }
  r.macro_f1 = R::estimate(sum, "macro_f1", p);
}

}  // namespace

MulticlassEvaluation multiclass_report_from_json(const std::string& text) {
  using R = McReader;
  const json j = R::parse_document(text);
  MulticlassEvaluation r;
  r.title = R::text(j, "title", "");
  r.confidence = R::number(j, "confidence", "", 0.95);
  r.n_bootstrap = static_cast<int>(R::integer(j, "n_bootstrap", ""));
  read_summary(R::object(j, "summary", ""), r);
  const int k = r.n_classes;
  const json& cal = R::object(j, "calibration", "");
  const json* before = R::opt(cal, "before");
  if (before && !before->is_null()) {
    r.has_uncalibrated = true;
    r.calibration_before = R::calibration(*before, "/calibration/before", k);
  }
  r.calibration_after =
      R::calibration(R::object(cal, "after", "/calibration"), "/calibration/after", k);
  r.max_classes_shown =
      static_cast<int>(R::integer(j, "max_classes_shown", "", r.max_classes_shown));
  const json& shown = R::array(j, "shown_classes", "");
  for (std::size_t i = 0; i < shown.size(); ++i) {
    json wrap = json::object();
    wrap["c"] = shown[i];
    r.shown_classes.push_back(R::class_index(wrap, "c", "/shown_classes/" + std::to_string(i), k));
  }
  const json& rows = R::array(j, "per_class", "");
  for (std::size_t i = 0; i < rows.size(); ++i)
    r.per_class.push_back(R::class_row(rows[i], "/per_class/" + std::to_string(i), k));
  r.confusion = R::confusion(R::object(j, "confusion_matrix", ""), k);
  const json* rv = R::opt(j, "review");
  if (rv && !rv->is_null()) {
    if (!rv->is_object()) R::bad("/review", "must be an object or null");
    r.has_review = true;
    r.review = R::review(*rv, k);
  }
  const json& rc = R::object(j, "risk_coverage", "");
  r.risk_coverage.threshold = R::numbers(rc, "threshold", "/risk_coverage");
  r.risk_coverage.coverage = R::numbers(rc, "coverage", "/risk_coverage");
  r.risk_coverage.risk = R::numbers(rc, "risk", "/risk_coverage");
  r.risk_coverage.aurc = R::number(rc, "aurc", "/risk_coverage");
  r.provenance = R::provenance(j);
  r.notes = R::texts(j, "notes", "");
  return r;
}

void write_multiclass_report_json(const MulticlassEvaluation& report, const std::string& path,
                                  int indent) {
  write_text_file(multiclass_report_to_json(report, indent), path, "write_multiclass_report_json");
}

}  // namespace calibrisk
