// SPDX-License-Identifier: Apache-2.0
// The report as JSON (nlohmann/json stays inside src/). NaN and infinities become null.
#include <calibrisk/report/report.hpp>

#include "report/json_common.hpp"

#include <cmath>
#include <limits>

namespace calibrisk {

namespace {

using namespace detail::report_json;  // json, num, nums, est, reasons, bins, histogram, ...

json curve(const Curve& c) {
  return json{{"x", nums(c.x)}, {"y", nums(c.y)}, {"threshold", nums(c.threshold)}};
}

json hierarchy_check(const HierarchyCheck& h) {
  return json{{"assessed", h.assessed}, {"met", h.met}, {"evidence", h.evidence}};
}

// The smoothed calibration part (absent from reports written before it existed).
json smoothed(const SmoothedCalibrationPart& m) {
  json warnings = json::array();
  for (const auto& w : m.warnings) warnings.push_back(w);
  return json{{"method", "lowess of y on p (statsmodels frac, it=0, delta=0)"},
              {"frac", num(m.frac)},
              {"grid", nums(m.grid)},
              {"observed", nums(m.observed)},
              {"lower", nums(m.lower)},
              {"upper", nums(m.upper)},
              {"ici", est(m.ici)},
              {"e50", est(m.e50)},
              {"e90", est(m.e90)},
              {"emax", est(m.emax)},
              {"calibration_in_the_large", est(m.calibration_in_the_large)},
              {"n_events", m.n_events},
              {"n_nonevents", m.n_nonevents},
              {"hierarchy",
               {{"verdict", m.verdict},
                {"mean", hierarchy_check(m.mean)},
                {"weak", hierarchy_check(m.weak)},
                {"moderate", hierarchy_check(m.moderate)}}},
              {"warnings", warnings}};
}

json calibration(const CalibrationSection& c) {
  return json{{"label", c.label},
              {"bins", bins(c.bins)},
              {"ece", est(c.ece)},
              {"max_calibration_error", num(c.max_calibration_error)},
              {"intercept", num(c.intercept)},
              {"slope", num(c.slope)},
              {"spiegelhalter_z", num(c.spiegelhalter_z)},
              {"spiegelhalter_p", num(c.spiegelhalter_p)},
              {"brier", num(c.brier)},
              {"log_loss", num(c.log_loss)},
              {"roc_auc", num(c.roc_auc)},
              {"undefined", reasons(c.undefined)},
              {"smoothed", smoothed(c.smoothed)},
              {"histogram", histogram(c.histogram)}};
}

json ranking(const RankingCheck& r) {
  if (r.status.empty()) return nullptr;
  return json{{"status", r.status}, {"flagged", r.flagged()}, {"explanation", r.explanation}};
}

}  // namespace

std::string report_to_json(const Report& r, int indent) {
  json j;
  j["format"] = "calibrisk-report";
  j["format_version"] = 1;
  j["title"] = r.title;
  j["confidence"] = num(r.confidence);
  j["n_bootstrap"] = r.n_bootstrap;
  json miss = json::array();
  for (const auto& m : r.data.missingness) {
    miss.push_back({{"name", m.name}, {"missing_fraction", num(m.missing_fraction)}});
  }
  j["data"] = {{"rows", r.data.rows},
               {"positives", r.data.positives},
               {"prevalence", num(r.data.prevalence)},
               {"patients", r.data.patients < 0 ? json(nullptr) : json(r.data.patients)},
               {"time_min", r.data.time_min},
               {"time_max", r.data.time_max},
               {"missingness", miss}};
  j["discrimination"] = {{"roc_auc", est(r.discrimination.roc_auc)},
                         {"average_precision", est(r.discrimination.average_precision)},
                         {"roc", curve(r.discrimination.roc)},
                         {"pr", curve(r.discrimination.pr)}};
  j["calibration"] = {
      {"before", r.has_uncalibrated ? calibration(r.calibration_before) : json(nullptr)},
      {"after", calibration(r.calibration_after)},
      {"ranking", ranking(r.ranking)}};
  if (r.has_operating_point) {
    const auto& o = r.operating_point;
    j["operating_point"] = {{"threshold", num(o.threshold)},
                            {"policy", o.policy},
                            {"tp", o.tp},
                            {"fp", o.fp},
                            {"tn", o.tn},
                            {"fn", o.fn},
                            {"precision", est(o.precision)},
                            {"recall", est(o.recall)},
                            {"specificity", est(o.specificity)},
                            {"npv", est(o.npv)},
                            {"alert_rate", est(o.alert_rate)},
                            {"f1", num(o.f1)},
                            {"undefined", reasons(o.undefined)}};
  } else {
    j["operating_point"] = nullptr;
  }
  j["decision_curve"] = {{"threshold", nums(r.decision_curve.threshold)},
                         {"model", nums(r.decision_curve.model)},
                         {"treat_all", nums(r.decision_curve.treat_all)}};
  json rows = json::array();
  for (const auto& s : r.subgroups.rows) {
    rows.push_back({{"column", s.column},
                    {"level", s.level},
                    {"n", s.n},
                    {"positives", s.positives},
                    {"prevalence", num(s.prevalence)},
                    {"mean_predicted", num(s.mean_predicted)},
                    {"roc_auc", num(s.roc_auc)},
                    {"ece", num(s.ece)},
                    {"calibration_intercept", num(s.calibration_intercept)},
                    {"calibration_intercept_lower", num(s.calibration_intercept_lower)},
                    {"calibration_intercept_upper", num(s.calibration_intercept_upper)},
                    {"calibration_z", num(s.calibration_z)},
                    {"calibration_p", num(s.calibration_p)},
                    {"calibration_p_adjusted", num(s.calibration_p_adjusted)},
                    {"recall", num(s.recall)},
                    {"recall_lower", num(s.recall_lower)},
                    {"recall_upper", num(s.recall_upper)},
                    {"recall_others", num(s.recall_others)},
                    {"recall_p", num(s.recall_p)},
                    {"recall_p_adjusted", num(s.recall_p_adjusted)},
                    {"precision", num(s.precision)},
                    {"alert_rate", num(s.alert_rate)},
                    {"flagged", !s.flags.empty()},
                    {"flags", s.flags},
                    {"undefined", reasons(s.undefined)}});
  }
  j["subgroups"] = {{"intercept_tolerance", num(r.subgroups.intercept_tolerance)},
                    {"ece_tolerance", num(r.subgroups.ece_tolerance)},
                    {"recall_tolerance", num(r.subgroups.recall_tolerance)},
                    {"min_size", r.subgroups.min_size},
                    {"multiplicity", r.subgroups.multiplicity},
                    {"n_tests", r.subgroups.n_tests},
                    {"alpha", num(r.subgroups.alpha)},
                    {"notes", r.subgroups.notes},
                    {"rows", rows}};
  json periods = json::array();
  for (const auto& t : r.over_time.rows) {
    periods.push_back({{"period", t.period},
                       {"start", num(t.start)},
                       {"n", t.n},
                       {"prevalence", num(t.prevalence)},
                       {"mean_predicted", num(t.mean_predicted)},
                       {"roc_auc", num(t.roc_auc)},
                       {"ece", num(t.ece)},
                       {"undefined", reasons(t.undefined)}});
  }
  j["over_time"] = {{"granularity", r.over_time.granularity}, {"rows", periods}};
  json feats = json::array();
  for (const auto& f : r.top_features) feats.push_back({{"name", f.name}, {"value", num(f.value)}});
  j["top_features"] = {{"kind", r.importance_kind}, {"features", feats}};
  j["provenance"] = provenance(r.provenance);
  j["notes"] = r.notes;
  // Invalid UTF-8 in a user-supplied name is replaced rather than thrown on.
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

namespace {

// Reading: every accessor names the JSON path it failed on.
struct ReportWho {
  static constexpr const char* name = "report_from_json";
  static constexpr const char* format = "calibrisk-report";
  static constexpr const char* document = "calibrisk evaluation report";
  static constexpr const char* writer = "report_to_json / Report.to_json()";
};

struct Reader : JsonReader<ReportWho> {
  static Curve curve(const json& j, const std::string& key, const std::string& base) {
    const json& c = object(j, key, base);
    const std::string p = path_of(base, key);
    Curve out{numbers(c, "x", p), numbers(c, "y", p), numbers(c, "threshold", p)};
    if (out.x.size() != out.y.size()) bad(p, "has x and y of different lengths");
    return out;
  }
  static CalibrationSection calibration(const json& c, const std::string& p) {
    CalibrationSection s;
    s.label = text(c, "label", p);
    s.bins = reliability(c, "bins", p);
    s.ece = estimate(c, "ece", p);
    s.max_calibration_error = number(c, "max_calibration_error", p);
    s.intercept = number(c, "intercept", p);
    s.slope = number(c, "slope", p);
    s.spiegelhalter_z = number(c, "spiegelhalter_z", p);
    s.spiegelhalter_p = number(c, "spiegelhalter_p", p);
    s.brier = number(c, "brier", p);
    s.log_loss = number(c, "log_loss", p);
    s.roc_auc = number(c, "roc_auc", p);
    s.undefined = undefined(c, p);
    s.smoothed = smoothed(object(c, "smoothed", p), p + "/smoothed");
    s.histogram = histogram(c, "histogram", p);
    return s;
  }
  static HierarchyCheck hierarchy_check(const json& j, const std::string& key,
                                        const std::string& base) {
    const json& h = object(j, key, base);
    const std::string p = path_of(base, key);
    HierarchyCheck out;
    out.assessed = flag(h, "assessed", p);
    out.met = flag(h, "met", p);
    out.evidence = text(h, "evidence", p);
    return out;
  }
  static SmoothedCalibrationPart smoothed(const json& m, const std::string& p) {
    SmoothedCalibrationPart out;
    out.frac = number(m, "frac", p, out.frac);
    out.grid = numbers(m, "grid", p);
    out.observed = numbers(m, "observed", p);
    out.lower = numbers(m, "lower", p);
    out.upper = numbers(m, "upper", p);
    if (out.observed.size() != out.grid.size()) bad(p + "/observed", "must match grid in length");
    if ((!out.lower.empty() && out.lower.size() != out.grid.size()) ||
        out.upper.size() != out.lower.size())
      bad(p + "/lower", "and upper must match grid in length");
    out.ici = estimate(m, "ici", p);
    out.e50 = estimate(m, "e50", p);
    out.e90 = estimate(m, "e90", p);
    out.emax = estimate(m, "emax", p);
    out.calibration_in_the_large = estimate(m, "calibration_in_the_large", p);
    out.n_events = integer(m, "n_events", p);
    out.n_nonevents = integer(m, "n_nonevents", p);
    const json& h = object(m, "hierarchy", p);
    out.verdict = text(h, "verdict", p + "/hierarchy");
    out.mean = hierarchy_check(h, "mean", p + "/hierarchy");
    out.weak = hierarchy_check(h, "weak", p + "/hierarchy");
    out.moderate = hierarchy_check(h, "moderate", p + "/hierarchy");
    const json& w = array(m, "warnings", p);
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (!w[i].is_string()) bad(p + "/warnings/" + std::to_string(i), "must be a string");
      out.warnings.push_back(w[i].get<std::string>());
    }
    return out;
  }
  static DataSummary data(const json& d) {
    DataSummary out;
    out.rows = integer(d, "rows", "/data");
    out.positives = integer(d, "positives", "/data");
    out.prevalence = number(d, "prevalence", "/data");
    out.patients = integer(d, "patients", "/data", -1);
    out.time_min = text(d, "time_min", "/data");
    out.time_max = text(d, "time_max", "/data");
    const json& miss = array(d, "missingness", "/data");
    for (std::size_t i = 0; i < miss.size(); ++i) {
      const std::string p = "/data/missingness/" + std::to_string(i);
      out.missingness.push_back({text(miss[i], "name", p), number(miss[i], "missing_fraction", p)});
    }
    return out;
  }
  static OperatingPointSection operating_point(const json& op) {
    const std::string p = "/operating_point";
    OperatingPointSection o;
    o.threshold = number(op, "threshold", p);
    o.policy = text(op, "policy", p);
    o.tp = integer(op, "tp", p);
    o.fp = integer(op, "fp", p);
    o.tn = integer(op, "tn", p);
    o.fn = integer(op, "fn", p);
    o.precision = estimate(op, "precision", p);
    o.recall = estimate(op, "recall", p);
    o.specificity = estimate(op, "specificity", p);
    o.npv = estimate(op, "npv", p);
    o.alert_rate = estimate(op, "alert_rate", p);
    o.f1 = number(op, "f1", p);
    o.undefined = undefined(op, p);
    return o;
  }
  static SubgroupRow subgroup_row(const json& x, const std::string& p) {
    SubgroupRow s;
    s.column = text(x, "column", p);
    s.level = text(x, "level", p);
    s.n = integer(x, "n", p);
    s.positives = integer(x, "positives", p);
    s.prevalence = number(x, "prevalence", p);
    s.mean_predicted = number(x, "mean_predicted", p);
    s.roc_auc = number(x, "roc_auc", p);
    s.ece = number(x, "ece", p);
    s.calibration_intercept = number(x, "calibration_intercept", p);
    s.calibration_intercept_lower = number(x, "calibration_intercept_lower", p);
    s.calibration_intercept_upper = number(x, "calibration_intercept_upper", p);
    s.calibration_z = number(x, "calibration_z", p);
    s.calibration_p = number(x, "calibration_p", p);
    s.calibration_p_adjusted = number(x, "calibration_p_adjusted", p);
    s.recall = number(x, "recall", p);
    s.recall_lower = number(x, "recall_lower", p);
    s.recall_upper = number(x, "recall_upper", p);
    s.recall_others = number(x, "recall_others", p);
    s.recall_p = number(x, "recall_p", p);
    s.recall_p_adjusted = number(x, "recall_p_adjusted", p);
    s.precision = number(x, "precision", p);
    s.alert_rate = number(x, "alert_rate", p);
    const json& flags = array(x, "flags", p);
    for (std::size_t k = 0; k < flags.size(); ++k) {
      if (!flags[k].is_string()) bad(p + "/flags/" + std::to_string(k), "must be a string");
      s.flags.push_back(flags[k].get<std::string>());
    }
    s.undefined = undefined(x, p);
    return s;
  }
  static TimePeriodRow period_row(const json& x, const std::string& p) {
    TimePeriodRow t;
    t.period = text(x, "period", p);
    t.start = number(x, "start", p);
    t.n = integer(x, "n", p);
    t.prevalence = number(x, "prevalence", p);
    t.mean_predicted = number(x, "mean_predicted", p);
    t.roc_auc = number(x, "roc_auc", p);
    t.ece = number(x, "ece", p);
    t.undefined = undefined(x, p);
    return t;
  }
};

}  // namespace

Report report_from_json(const std::string& text) {
  const json j = Reader::parse_document(text);
  using R = Reader;
  Report r;
  r.title = R::text(j, "title", "");
  r.confidence = R::number(j, "confidence", "", 0.95);
  r.n_bootstrap = static_cast<int>(R::integer(j, "n_bootstrap", ""));
  r.data = R::data(R::object(j, "data", ""));
  const json& disc = R::object(j, "discrimination", "");
  r.discrimination.roc_auc = R::estimate(disc, "roc_auc", "/discrimination");
  r.discrimination.average_precision = R::estimate(disc, "average_precision", "/discrimination");
  r.discrimination.roc = R::curve(disc, "roc", "/discrimination");
  r.discrimination.pr = R::curve(disc, "pr", "/discrimination");
  const json& cal = R::object(j, "calibration", "");
  const json* before = R::opt(cal, "before");
  if (before && !before->is_null()) {
    r.has_uncalibrated = true;
    r.calibration_before = R::calibration(*before, "/calibration/before");
  }
  r.calibration_after =
      R::calibration(R::object(cal, "after", "/calibration"), "/calibration/after");
  const json* rk = R::opt(cal, "ranking");
  if (rk && !rk->is_null()) {
    r.ranking.status = R::text(*rk, "status", "/calibration/ranking");
    r.ranking.explanation = R::text(*rk, "explanation", "/calibration/ranking");
  }
  const json* op = R::opt(j, "operating_point");
  if (op && !op->is_null()) {
    r.has_operating_point = true;
    r.operating_point = R::operating_point(*op);
  }
  const json& dc = R::object(j, "decision_curve", "");
  r.decision_curve.threshold = R::numbers(dc, "threshold", "/decision_curve");
  r.decision_curve.model = R::numbers(dc, "model", "/decision_curve");
  r.decision_curve.treat_all = R::numbers(dc, "treat_all", "/decision_curve");
  const json& sg = R::object(j, "subgroups", "");
  r.subgroups.intercept_tolerance = R::number(sg, "intercept_tolerance", "/subgroups");
  r.subgroups.ece_tolerance = R::number(sg, "ece_tolerance", "/subgroups");
  r.subgroups.recall_tolerance = R::number(sg, "recall_tolerance", "/subgroups");
  r.subgroups.min_size = R::integer(sg, "min_size", "/subgroups");
  r.subgroups.multiplicity = R::text(sg, "multiplicity", "/subgroups");
  r.subgroups.n_tests = R::integer(sg, "n_tests", "/subgroups");
  r.subgroups.alpha = R::number(sg, "alpha", "/subgroups");
  const json& sg_notes = R::array(sg, "notes", "/subgroups");
  for (std::size_t i = 0; i < sg_notes.size(); ++i) {
    if (!sg_notes[i].is_string())
      R::bad("/subgroups/notes/" + std::to_string(i), "must be a string");
    r.subgroups.notes.push_back(sg_notes[i].get<std::string>());
  }
  const json& rows = R::array(sg, "rows", "/subgroups");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    r.subgroups.rows.push_back(R::subgroup_row(rows[i], "/subgroups/rows/" + std::to_string(i)));
  }
  const json& ot = R::object(j, "over_time", "");
  r.over_time.granularity = R::text(ot, "granularity", "/over_time");
  const json& periods = R::array(ot, "rows", "/over_time");
  for (std::size_t i = 0; i < periods.size(); ++i) {
    r.over_time.rows.push_back(R::period_row(periods[i], "/over_time/rows/" + std::to_string(i)));
  }
  const json& tf = R::object(j, "top_features", "");
  r.importance_kind = R::text(tf, "kind", "/top_features");
  const json& feats = R::array(tf, "features", "/top_features");
  for (std::size_t i = 0; i < feats.size(); ++i) {
    const std::string p = "/top_features/features/" + std::to_string(i);
    r.top_features.push_back({R::text(feats[i], "name", p), R::number(feats[i], "value", p)});
  }
  r.provenance = R::provenance(j);
  const json& notes = R::array(j, "notes", "");
  for (std::size_t i = 0; i < notes.size(); ++i) {
    if (!notes[i].is_string()) R::bad("/notes/" + std::to_string(i), "must be a string");
    r.notes.push_back(notes[i].get<std::string>());
  }
  return r;
}

void write_report_json(const Report& report, const std::string& path, int indent) {
  write_text_file(report_to_json(report, indent), path, "write_report_json");
}

}  // namespace calibrisk
