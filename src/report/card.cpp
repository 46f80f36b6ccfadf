// SPDX-License-Identifier: Apache-2.0
// Building a model card from a pipeline, its model file's text, an optional evaluation report and
// rolling-origin validation, and the user's spec. The card is plain text in sections (see
// card.hpp); card_render.cpp turns it into HTML or Markdown, escaping every string.
#include <calibrisk/io/text.hpp>
#include <calibrisk/monitor/monitor.hpp>
#include <calibrisk/report/card.hpp>

#include "report/card_parts.hpp"
#include "report/svg.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace calibrisk {

namespace detail::card {

using json = nlohmann::json;
using detail::fmt_num;

// ---- small text helpers --------------------------------------------------------------------

std::string num(double v, int digits) { return fmt_num(v, digits); }
std::string pct(double v) { return std::isfinite(v) ? fmt_num(100 * v, 3) + "%" : fmt_num(v); }
std::string signed_num(double v) {
  return std::isfinite(v) && v > 0 ? "+" + fmt_num(v, 3) : fmt_num(v, 3);
}
// A count of patients per 1,000, to one decimal.
std::string per1000(double v) {
  if (!std::isfinite(v)) return fmt_num(v);
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << (std::fabs(v) < 0.05 ? 0.0 : v);
  return o.str();
}
std::string range(double lo, double hi, std::string (*show)(double, int), int digits) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "";
  return show(lo, digits) + " \xE2\x80\x93 " + show(hi, digits);
}
std::string with_ci(const Estimate& e, bool percent) {
  std::string s = percent ? pct(e.value) : num(e.value);
  if (std::isfinite(e.lower) && std::isfinite(e.upper)) {
    s += " (" + (percent ? pct(e.lower) : num(e.lower)) + " \xE2\x80\x93 " +
         (percent ? pct(e.upper) : num(e.upper)) + ")";
  }
  return s;
}

CardBlock para(std::string text, Kind kind) {
  CardBlock b;
  b.kind = kind;
  b.text = std::move(text);
  return b;
}
CardBlock note(std::string text) { return para(std::move(text), Kind::kNote); }
CardBlock list(std::vector<std::string> items) {
  CardBlock b;
  b.kind = Kind::kList;
  b.items = std::move(items);
  return b;
}
CardBlock table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows,
                std::vector<bool> flagged) {
  CardBlock b;
  b.kind = Kind::kTable;
  b.table.header = std::move(header);
  b.table.rows = std::move(rows);
  b.table.flagged = std::move(flagged);
  return b;
}
std::string stated(const std::string& v, const char* field) {
  return v.empty() ? std::string("not stated (card spec field '") + field + "')" : v;
}
std::string joined(const std::vector<std::string>& v, const char* field) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
  return stated(s, field);
}

const json* child(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string text_of(const json* v) {
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_float()) return num(v->get<double>(), 4);  // 0.05, not 0.050000000000000044
  if (v->is_number() || v->is_boolean()) return v->dump();
  return "";
}

CardSection intended_use_section(const CardSpec& s) {
  CardSection sec{"intended-use", "Intended use and population", {}};
  if (!s.summary.empty()) sec.blocks.push_back(para(s.summary));
  sec.blocks.push_back(table({}, {{"intended use", stated(s.intended_use, "intended_use")},
                                  {"intended users", stated(s.intended_users, "intended_users")},
                                  {"population", stated(s.population, "population")},
                                  {"owners", joined(s.owners, "owners")},
                                  {"contact", stated(s.contact, "contact")},
                                  {"version", stated(s.version, "version")},
                                  {"date", stated(s.date, "date")}}));
  sec.blocks.push_back(para("Out of scope (do not use the model for):"));
  if (s.out_of_scope_uses.empty())
    sec.blocks.push_back(para("not stated (card spec field 'out_of_scope_uses')."));
  else
    sec.blocks.push_back(list(s.out_of_scope_uses));
  return sec;
}

std::vector<std::vector<std::string>> file_rows(const CardSources& s) {
  if (s.artifact_text.empty()) {
    return {{"model file", "not read from a file (built in memory): no checksum or signature"}};
  }
  json doc;
  try {
    doc = json::parse(s.artifact_text);
  } catch (const json::parse_error&) {
    throw InvalidInput(
        "model card: the model file text is not valid JSON; pass the text of a "
        "model file written by calibrisk.");
  }
  std::vector<std::vector<std::string>> rows;
  if (!s.model_source.empty()) rows.push_back({"model file", s.model_source});
  rows.push_back({"file format version", text_of(child(doc, "format_version"))});
  rows.push_back({"checksum", text_of(child(doc, "checksum")) + " (verified when loaded)"});
  const json* sig = child(doc, "signature");
  rows.push_back(
      {"signature", sig ? "Ed25519, key id " + text_of(child(*sig, "key_id")) +
                              " (check it with `calibrisk verify --key KEY.pub --model FILE`)"
                        : "unsigned (the checksum detects accidents, not who wrote the file; "
                          "sign with `calibrisk sign`)"});
  return rows;
}

CardSection drift_section(const Pipeline& p, const std::string& monitor_text) {
  CardSection sec{"drift-checks", "Drift checks in force", {}};
  const FeatureSchema& sc = p.schema();
  const InputCheckOptions o;
  sec.blocks.push_back(para(
      "Every batch scored through `Pipeline::check_inputs` (C++ and Python) is compared with what "
      "training saw (" +
      (sc.n_train_rows > 0 ? std::to_string(sc.n_train_rows) + " rows"
                           : std::string("unknown rows")) +
      "): rows of the wrong length and infinite values are errors; a numeric value outside the "
      "training range, a category code not seen in training (scored as missing when the feature "
      "was declared categorical), and a missing rate that departs from training by more than " +
      num(o.missing_rate_tolerance) + " with |z| > " + num(o.missing_z) +
      " (two-proportion test) are warnings. Scores are never changed by the checks."));
  sec.blocks.push_back(para(monitor_text));
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : sc.features) {
    std::string seen;
    if (f.categorical) {
      seen = std::to_string(f.categories.size()) + " codes";
      if (!f.categories.empty()) {
        seen += " (" + std::to_string(f.categories.front()) + " \xE2\x80\xA6 " +
                std::to_string(f.categories.back()) + ")";
      }
    } else {
      seen = std::isnan(f.min) ? "unknown" : num(f.min, 6) + " \xE2\x80\x93 " + num(f.max, 6);
    }
    rows.push_back({f.name,
                    f.categorical ? (f.unseen_as_missing ? "categorical (declared)"
                                                         : "categorical (detected codes)")
                                  : "numeric",
                    seen, pct(f.missing_rate)});
  }
  sec.blocks.push_back(
      table({"feature", "type", "training values", "training missing rate"}, std::move(rows)));
  return sec;
}

CardSection ethics_section(const CardSpec& s) {
  CardSection sec{"ethics", "Ethical considerations and references", {}};
  if (s.ethical_considerations.empty())
    sec.blocks.push_back(
        para("Ethical considerations: none stated (card spec field "
             "'ethical_considerations')."));
  else
    sec.blocks.push_back(list(s.ethical_considerations));
  if (!s.references.empty()) {
    sec.blocks.push_back(para("References:"));
    sec.blocks.push_back(list(s.references));
  }
  return sec;
}

CardSection limitations_section(const CardSpec& spec, const std::vector<std::string>& found) {
  CardSection sec{"limitations", "Limitations", {}};
  sec.blocks.push_back(para("Stated by the owners:"));
  if (spec.limitations.empty())
    sec.blocks.push_back(para("none stated (card spec field 'limitations')."));
  else
    sec.blocks.push_back(list(spec.limitations));
  sec.blocks.push_back(para("Found by calibrisk in the model file and the report:"));
  if (found.empty())
    sec.blocks.push_back(para("none found."));
  else
    sec.blocks.push_back(list(found));
  return sec;
}

void parameter_blocks(const Provenance& pv, CardSection& sec) {
  if (pv.parameters.empty()) return;
  std::vector<std::vector<std::string>> params;
  for (const auto& [k, v] : pv.parameters) params.push_back({k, v});
  sec.blocks.push_back(para("Parameters recorded in the model file:"));
  sec.blocks.push_back(table({"parameter", "value"}, std::move(params)));
}

}  // namespace detail::card

namespace {

using namespace detail::card;
using json = nlohmann::json;
using Kind = CardBlock::Kind;

const char* const kNeedsReport =
    "This section needs an evaluation report, and none was given. Produce one on held-out data "
    "with `calibrisk train ... --json report.json` (the test part) or `calibrisk evaluate "
    "--model MODEL --data DATA --label LABEL --report r.html --json report.json`, then pass "
    "--report report.json to `calibrisk card`.";

// ---- the report and its optional extensions ------------------------------------------------

struct ReportView {
  bool present = false;
  Report r;
  json raw;
  std::string source;
};

ReportView read_report(const CardSources& s) {
  ReportView v;
  if (s.report_json.empty()) return v;
  v.r = report_from_json(s.report_json);  // validates the shape, naming the JSON path
  v.raw = json::parse(s.report_json);
  v.present = true;
  v.source = s.report_source;
  return v;
}

// A number or an {"value", "lower", "upper"} object, as an Estimate (NaN when absent).
Estimate estimate_of(const json* v) {
  Estimate e;
  if (!v) return e;
  auto get = [](const json* x) {
    return x && x->is_number() ? x->get<double>() : std::numeric_limits<double>::quiet_NaN();
  };
  if (v->is_number()) {
    e.value = v->get<double>();
  } else if (v->is_object()) {
    e.value = get(child(*v, "value"));
    e.lower = get(child(*v, "lower"));
    e.upper = get(child(*v, "upper"));
  }
  return e;
}

// The smoothed-calibration object of the `smooth` module (issue 15 §1): on its branch the report
// writes it at /calibration/after/smoothed ({ici, e50, e90, emax, calibration_in_the_large} as
// {value, lower, upper}, hierarchy {verdict, mean, weak, moderate}, warnings). Read from the raw
// JSON so the card works with reports written before and after that module; other spellings are
// accepted in case the key moves at merge.
const json* smooth_object(const json& raw) {
  static const char* const names[] = {"smoothed", "smooth", "smooth_calibration"};
  const json* cal = child(raw, "calibration");
  const json* after = cal ? child(*cal, "after") : nullptr;
  for (const json* parent : {after, cal, &raw}) {
    if (!parent) continue;
    for (const char* n : names)
      if (const json* o = child(*parent, n); o && o->is_object()) return o;
  }
  return nullptr;
}

// ---- sections ------------------------------------------------------------------------------

CardSection provenance_section(const Pipeline& p, const CardSources& s) {
  CardSection sec{"provenance", "Model and data provenance", {}};
  const Provenance& pv = p.provenance();
  const DataFingerprint& d = pv.training_data;
  std::vector<std::vector<std::string>> rows = {
      {"model", p.model_type()},
      {"calibrator", p.calibrator_type()},
      {"features", std::to_string(p.n_features())},
      {"threshold", num(p.threshold(), 4) + " (policy " + p.operating_point().policy + ")"},
      {"built by calibrisk", pv.library_version},
      {"created at", pv.created_at.empty() ? "not recorded" : pv.created_at},
      {"random seed", std::to_string(pv.seed)},
      {"training rows", d.rows > 0 ? std::to_string(d.rows) : "unknown"},
      {"training columns", d.cols > 0 ? std::to_string(d.cols) : "unknown"},
      {"training prevalence", pct(d.prevalence)},
      {"training data SHA-256", d.sha256.empty() ? "unknown" : d.sha256}};
  for (auto& r : file_rows(s)) rows.push_back(std::move(r));
  sec.blocks.push_back(table({}, std::move(rows)));
  parameter_blocks(pv, sec);
  return sec;
}

// "mean: met (evidence); weak: ..." from the smooth module's per-level checks
// ({"assessed", "met", "evidence"} under "mean", "weak", "moderate").
std::string hierarchy_evidence(const json& h) {
  std::string out;
  for (const char* level : {"mean", "weak", "moderate"}) {
    const json* c = child(h, level);
    if (!c || !c->is_object()) continue;
    const json* assessed = child(*c, "assessed");
    const json* met = child(*c, "met");
    std::string state =
        assessed && assessed->is_boolean() && !assessed->get<bool>()
            ? "not assessed"
            : (met && met->is_boolean() ? (met->get<bool>() ? "met" : "not met") : "");
    const std::string ev = text_of(child(*c, "evidence"));
    if (!ev.empty()) state += (state.empty() ? "" : " (") + ev + (state.empty() ? "" : ")");
    if (!state.empty()) out += (out.empty() ? "" : "; ") + std::string(level) + ": " + state;
  }
  return out;
}

void smooth_rows(const ReportView& rv, std::vector<std::vector<std::string>>& rows,
                 std::vector<CardBlock>& after) {
  const json* sm = smooth_object(rv.raw);
  // Present but NaN (e.g. too few events): "not computed", and the module's warnings say why.
  const std::string absent = sm ? "not computed (see the notes below)" : "not in report";
  const char* const keys[][2] = {{"ici", "ICI (integrated calibration index)"},
                                 {"e50", "E50 (median absolute error)"},
                                 {"e90", "E90 (90th percentile)"},
                                 {"emax", "Emax (largest error)"},
                                 {"calibration_in_the_large", "calibration-in-the-large"}};
  for (const auto& k : keys) {
    const Estimate e = estimate_of(sm ? child(*sm, k[0]) : nullptr);
    rows.push_back({k[1], std::isnan(e.value) ? absent : with_ci(e)});
  }
  const json* v = nullptr;
  for (const char* n : {"hierarchy", "van_calster", "verdict"})
    if (!v && sm) v = child(*sm, n);
  std::string verdict = text_of(v), evidence;
  if (v && v->is_object()) {
    for (const char* n : {"verdict", "level", "status"})
      if (verdict.empty()) verdict = text_of(child(*v, n));
    for (const char* n : {"evidence", "explanation", "reason"})
      if (evidence.empty()) evidence = text_of(child(*v, n));
    if (evidence.empty()) evidence = hierarchy_evidence(*v);
  }
  rows.push_back({"Van Calster calibration level", verdict.empty() ? absent : verdict});
  if (!evidence.empty()) after.push_back(para("Calibration hierarchy: " + evidence + "."));
  const json* warnings = sm ? child(*sm, "warnings") : nullptr;
  if (warnings && warnings->is_array()) {
    for (const auto& w : *warnings)
      if (w.is_string()) after.push_back(note(w.get<std::string>()));
  }
}

CardSection performance_section(const ReportView& rv) {
  CardSection sec{"performance", "Discrimination and calibration", {}};
  if (!rv.present) {
    sec.blocks.push_back(note(kNeedsReport));
    return sec;
  }
  const Report& r = rv.r;
  const DataSummary& d = r.data;
  std::string where = "Evaluated on " + std::to_string(d.rows) + " rows with " +
                      std::to_string(d.positives) + " events (prevalence " + pct(d.prevalence) +
                      ")";
  if (!d.time_min.empty()) where += ", " + d.time_min + " to " + d.time_max;
  if (!rv.source.empty()) where += ", report " + rv.source;
  sec.blocks.push_back(
      para(where + ". Intervals are " + num(100 * r.confidence) + "% (" +
           (r.n_bootstrap > 0 ? "bootstrap, " + std::to_string(r.n_bootstrap) + " replicates"
                              : std::string("none computed")) +
           "); values are shown as estimate (lower \xE2\x80\x93 upper)."));
  const CalibrationSection& c = r.calibration_after;
  std::vector<std::vector<std::string>> rows = {
      {"ROC AUC (discrimination)", with_ci(r.discrimination.roc_auc)},
      {"average precision", with_ci(r.discrimination.average_precision)},
      {"calibration intercept (ideal 0)", signed_num(c.intercept)},
      {"calibration slope (ideal 1)", num(c.slope)},
      {"ECE (expected calibration error)", with_ci(c.ece)},
      {"Brier score", num(c.brier, 4)},
      {"Spiegelhalter p-value", num(c.spiegelhalter_p)}};
  std::vector<CardBlock> after;
  smooth_rows(rv, rows, after);
  sec.blocks.push_back(table({"measure", "value"}, std::move(rows)));
  for (auto& b : after) sec.blocks.push_back(std::move(b));
  if (r.ranking.flagged()) {
    sec.blocks.push_back(note("Calibration changes the ranking (" + r.ranking.status +
                              "): " + r.ranking.explanation));
  }
  return sec;
}

// The operating point's figures: from the report's evaluated part, or (without a report) from
// the validation figures the model file recorded when the threshold was chosen.
struct OperatingFigures {
  double threshold = std::numeric_limits<double>::quiet_NaN();
  std::string policy, source;
  double prevalence = std::numeric_limits<double>::quiet_NaN();
  Estimate recall, precision, alert_rate;
  bool from_model_file = false;  ///< the calibration-part figures, not held-out data
};

bool figures_from(const Pipeline& p, const ReportView& rv, OperatingFigures& f) {
  f.threshold = p.threshold();
  f.policy = p.operating_point().policy;
  if (rv.present && rv.r.has_operating_point) {
    const OperatingPointSection& o = rv.r.operating_point;
    f.threshold = o.threshold;
    f.policy = o.policy.empty() ? f.policy : o.policy;
    f.prevalence = rv.r.data.prevalence;
    f.recall = o.recall;
    f.precision = o.precision;
    f.alert_rate = o.alert_rate;
    f.source = "the evaluated part of the report (" + std::to_string(rv.r.data.rows) + " rows)";
    return true;
  }
  const OperatingPointRecord& op = p.operating_point();
  const double tp = op.figure("tp"), fp = op.figure("fp"), tn = op.figure("tn"),
               fn = op.figure("fn");
  const double n = tp + fp + tn + fn;
  if (!(n > 0)) return false;
  f.prevalence = (tp + fn) / n;
  f.recall = {op.figure("recall"), op.figure("recall_ci_lower"), op.figure("recall_ci_upper")};
  f.precision = {op.figure("precision"), op.figure("precision_ci_lower"),
                 op.figure("precision_ci_upper")};
  f.alert_rate.value = op.figure("alert_rate");
  f.from_model_file = true;
  f.source = "the figures the model file recorded when the threshold was chosen (" + num(n, 12) +
             " rows of the calibration part)";
  return true;
}

CardSection operating_point_section(const Pipeline& p, const ReportView& rv) {
  CardSection sec{"operating-point", "Operating point: what it means per 1,000 patients", {}};
  OperatingFigures f;
  if (!figures_from(p, rv, f)) {
    sec.blocks.push_back(para("The model flags a patient when the predicted risk is at least " +
                              num(p.threshold(), 4) + " (policy " + f.policy + ")."));
    sec.blocks.push_back(note(kNeedsReport));
    return sec;
  }
  const PerThousand k = per_thousand(f.prevalence, f.recall, f.alert_rate);
  sec.blocks.push_back(para(
      "The model flags a patient when the predicted risk is at least " + num(f.threshold, 4) +
      " (policy " + f.policy + "). Of every 1,000 patients like those of " + f.source + ", about " +
      per1000(k.cases) + " have the event. The model raises " + per1000(k.alerts) +
      " alerts, catches " + per1000(k.caught) + " of the cases and misses " + per1000(k.missed) +
      "; " + per1000(k.false_alarms) + " alerts go to patients without the event."));
  if (f.from_model_file) {
    sec.blocks.push_back(
        note("These figures come from the data the threshold was chosen on, not "
             "from held-out data, and are optimistic. " +
             std::string(rv.present ? "The report has no operating point." : kNeedsReport)));
  }
  auto with_range = [](double v, double lo, double hi) {
    const std::string r = range(
        lo, hi, [](double x, int) { return per1000(x); }, 0);
    return per1000(v) + (r.empty() ? "" : " (" + r + ")");
  };
  const double per_case = k.caught > 0 ? k.alerts / k.caught : std::nan("");
  sec.blocks.push_back(table(
      {"per 1,000 patients", "count (interval)"},
      {{"patients with the event", per1000(k.cases)},
       {"alerts (flagged patients)", with_range(k.alerts, k.alerts_lower, k.alerts_upper)},
       {"cases caught (true alerts)", with_range(k.caught, k.caught_lower, k.caught_upper)},
       {"cases missed (false negatives)", with_range(k.missed, k.missed_lower, k.missed_upper)},
       {"false alarms (alerts without the event)", per1000(k.false_alarms)},
       {"alerts per case caught", num(per_case)}}));
  sec.blocks.push_back(table({"measure at the threshold", "value (interval)"},
                             {{"recall (sensitivity)", with_ci(f.recall)},
                              {"precision (positive predictive value)", with_ci(f.precision)},
                              {"alert rate", with_ci(f.alert_rate, true)}}));
  return sec;
}

CardSection subgroup_section(const ReportView& rv) {
  CardSection sec{"subgroups", "Subgroups", {}};
  if (!rv.present) {
    sec.blocks.push_back(note(kNeedsReport));
    return sec;
  }
  const SubgroupSection& s = rv.r.subgroups;
  if (s.rows.empty()) {
    sec.blocks.push_back(
        para("The report has no subgroups: pass --subgroup COLUMN to `calibrisk "
             "train` or `calibrisk evaluate` to check the model per group."));
    return sec;
  }
  std::string rule =
      "A group is flagged when its calibration intercept departs from 0 by more "
      "than " +
      num(s.intercept_tolerance) + ", its recall is more than " + num(s.recall_tolerance) +
      " below the overall recall";
  if (s.ece_tolerance > 0) rule += ", or its ECE exceeds " + num(s.ece_tolerance);
  rule += "; groups under " + std::to_string(s.min_size) + " rows are not flagged.";
  const json* raw = child(rv.raw, "subgroups");
  const json empty = json::object();
  const json& sg = raw ? *raw : empty;
  const std::string method = text_of(child(sg, "multiplicity"));
  if (!method.empty()) {
    rule += " Flags are tested against chance with " + method +
            " adjustment for multiple "
            "comparisons (" +
            text_of(child(sg, "n_tests")) + " tests, alpha " + text_of(child(sg, "alpha")) + ").";
  }
  sec.blocks.push_back(para(rule));
  if (const json* notes = child(sg, "notes"); notes && notes->is_array()) {
    for (const auto& n : *notes)
      if (n.is_string()) sec.blocks.push_back(note(n.get<std::string>()));
  }
  const json* raw_rows = child(sg, "rows");
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> flagged;
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    const SubgroupRow& g = s.rows[i];
    // Intervals of the intercept and recall when the report has them (issue 15 §3).
    const json& x =
        raw_rows && raw_rows->is_array() && i < raw_rows->size() ? (*raw_rows)[i] : empty;
    auto interval = [&](const char* key, bool with_sign) {
      const double lo = estimate_of(child(x, (std::string(key) + "_lower").c_str())).value;
      const double hi = estimate_of(child(x, (std::string(key) + "_upper").c_str())).value;
      if (!std::isfinite(lo) || !std::isfinite(hi)) return std::string();
      auto show = [&](double v) { return with_sign ? signed_num(v) : num(v); };
      return " (" + show(lo) + " \xE2\x80\x93 " + show(hi) + ")";
    };
    std::string why;
    for (const auto& f : g.flags) why += (why.empty() ? "" : "; ") + f;
    rows.push_back({g.column, g.level, std::to_string(g.n), std::to_string(g.positives),
                    pct(g.prevalence), pct(g.mean_predicted), num(g.roc_auc),
                    signed_num(g.calibration_intercept) + interval("calibration_intercept", true),
                    num(g.recall) + interval("recall", false), pct(g.alert_rate),
                    why.empty() ? "" : "FLAGGED: " + why});

    flagged.push_back(!g.flags.empty());
  }
  sec.blocks.push_back(table({"column", "group", "n", "events", "prevalence", "mean predicted",
                              "ROC AUC", "calibration intercept", "recall", "alert rate", "flag"},
                             std::move(rows), std::move(flagged)));
  return sec;
}

// The rolling-origin validation document, read loosely: an array of per-period objects, either
// the document itself or its first member named "periods", "folds", "rows" or "results".
const json& validation_rows(const json& doc) {
  if (doc.is_array()) return doc;
  for (const char* n : {"periods", "folds", "rows", "results"})
    if (const json* a = child(doc, n); a && a->is_array()) return *a;
  throw InvalidInput(
      "model card: the validation document has no array of periods (looked for a top-level "
      "array or the keys \"periods\", \"folds\", \"rows\", \"results\"); pass the JSON written "
      "by `calibrisk validate --json`.");
}

// One cell: the first of `keys` (after the title at keys[0]) the period has; a number with
// sibling "<key>_lower" / "<key>_upper" numbers shows their interval.
std::string validation_cell(const json& period, const std::vector<const char*>& keys, bool& used) {
  for (std::size_t k = 1; k < keys.size(); ++k) {
    if (!period.contains(keys[k])) continue;
    const json* v = child(period, keys[k]);
    // null (not computed) still shows the column, as a dash; an empty text alone does not.
    used = used || !v || !(v->is_string() && v->get<std::string>().empty());
    if (!v) break;
    if (v->is_string() || v->is_boolean()) return text_of(v);
    if (v->is_number_integer()) return v->dump();
    Estimate e = estimate_of(v);
    if (v->is_number()) {
      e.lower = estimate_of(child(period, (std::string(keys[k]) + "_lower").c_str())).value;
      e.upper = estimate_of(child(period, (std::string(keys[k]) + "_upper").c_str())).value;
    }
    return with_ci(e);
  }
  return fmt_num(std::nan(""));
}

CardBlock validation_table(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InvalidInput(std::string("model card: the validation document is not valid JSON (") +
                       printable(e.what(), 200) +
                       "); pass the JSON written by `calibrisk validate --json`.");
  }
  const json& periods = validation_rows(doc);
  // Column title, then the keys it may be stored under (first present wins).
  const std::vector<std::vector<const char*>> cols = {
      {"period", "period", "test_period", "name", "origin"},
      {"n", "n_test", "n", "rows"},
      {"events", "events_test", "events"},
      {"ROC AUC", "roc_auc", "auc"},
      {"calibration intercept", "calibration_intercept", "intercept"},
      {"calibration slope", "calibration_slope", "slope"},
      {"ICI", "ici"},
      {"alert rate", "alert_rate"},
      {"recall", "recall"},
      // K-class labels (`calibrisk validate` on a multiclass label), each with its interval.
      {"accuracy", "accuracy"},
      {"log loss", "log_loss"},
      {"Brier", "brier"},
      {"top-label ECE", "top_label_ece"},
      {"auto-routed accuracy", "auto_accuracy"},
      {"review rate", "review_rate"},
      {"skipped", "skipped"}};
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> used(cols.size(), false);
  for (std::size_t i = 0; i < periods.size(); ++i) {
    if (!periods[i].is_object()) {
      throw InvalidInput("model card: validation period " + std::to_string(i) +
                         " is not an object; each period is an object of figures.");
    }
    std::vector<std::string> row;
    for (std::size_t c = 0; c < cols.size(); ++c) {
      bool present = false;
      row.push_back(validation_cell(periods[i], cols[c], present));
      if (present) used[c] = true;
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> header;
  for (std::size_t c = 0; c < cols.size(); ++c)
    if (used[c]) header.push_back(cols[c][0]);
  for (auto& row : rows) {
    std::vector<std::string> kept;
    for (std::size_t c = 0; c < cols.size(); ++c)
      if (used[c]) kept.push_back(std::move(row[c]));
    row = std::move(kept);
  }
  return table(std::move(header), std::move(rows));
}

CardSection temporal_section(const ReportView& rv, const CardSources& s) {
  CardSection sec{"temporal", "Temporal stability", {}};
  if (!rv.present) {
    sec.blocks.push_back(note(kNeedsReport));
  } else if (rv.r.over_time.rows.empty()) {
    sec.blocks.push_back(
        para("The report has no over-time section: give a time column "
             "(--time-column) when training or evaluating."));
  } else {
    sec.blocks.push_back(para("Per " + rv.r.over_time.granularity + " of the evaluated part:"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : rv.r.over_time.rows) {
      rows.push_back({t.period, std::to_string(t.n), pct(t.prevalence), pct(t.mean_predicted),
                      num(t.roc_auc), num(t.ece)});
    }
    sec.blocks.push_back(
        table({"period", "n", "prevalence", "mean predicted", "ROC AUC", "ECE"}, std::move(rows)));
  }
  if (s.validation_json.empty()) {
    sec.blocks.push_back(
        para("No rolling-origin validation was given (train up to each period, "
             "test on the next: `calibrisk validate`, then --validation to "
             "`calibrisk card`)."));
  } else {
    sec.blocks.push_back(
        para("Rolling-origin validation (trained up to each period, tested on "
             "the next):"));
    sec.blocks.push_back(validation_table(s.validation_json));
  }
  return sec;
}

// Limitations the data show, besides those the owners wrote.
std::vector<std::string> automatic_limitations(const Pipeline& p, const ReportView& rv,
                                               const CardSources& s) {
  std::vector<std::string> out;
  if (!p.is_calibrated()) {
    out.push_back("The model has no calibrator: its risks are the raw model probabilities.");
  }
  if (p.operating_point().policy == "default") {
    out.push_back("The threshold " + num(p.threshold(), 4) +
                  " was not chosen by a policy (recall floor, cost, alert budget).");
  }
  if (!rv.present) {
    out.push_back(
        "No evaluation report was given: discrimination, calibration, subgroups and "
        "stability over time are not shown on this card.");
    return out;
  }
  const Report& r = rv.r;
  if (r.data.positives < 100) {
    out.push_back("The evaluated part has only " + std::to_string(r.data.positives) +
                  " events; a validation needs at least 100 (Collins et al. 2016), so its "
                  "intervals are wide and its estimates unstable.");
  }
  const double slope = r.calibration_after.slope, icpt = r.calibration_after.intercept;
  if (std::isfinite(slope) && (slope < 0.8 || slope > 1.2)) {
    out.push_back("Calibration slope " + num(slope) +
                  (slope < 1 ? ": risks are too extreme" : ": risks are too moderate") +
                  " (ideal 1; outside 0.8 \xE2\x80\x93 1.2).");
  }
  if (std::isfinite(icpt) && std::fabs(icpt) > 0.2) {
    out.push_back("Calibration intercept " + signed_num(icpt) + ": risks are on average too " +
                  (icpt > 0 ? "low" : "high") +
                  " (ideal 0; beyond \xC2\xB1"
                  "0.2).");
  }
  std::string flagged;
  Index n_flagged = 0;
  for (const auto& g : r.subgroups.rows) {
    if (g.flags.empty()) continue;
    if (++n_flagged <= 10) flagged += (flagged.empty() ? "" : ", ") + g.column + " = " + g.level;
  }
  if (n_flagged > 0) {
    out.push_back(std::to_string(n_flagged) + " of " + std::to_string(r.subgroups.rows.size()) +
                  " subgroups are flagged (" + flagged + (n_flagged > 10 ? ", ..." : "") +
                  "): see the subgroup table.");
  }
  if (r.over_time.rows.empty() && s.validation_json.empty()) {
    out.push_back(
        "Stability over time was not checked (no time column, no rolling-origin "
        "validation).");
  }
  return out;
}

// What `calibrisk monitor` checks for this model, with the default thresholds (MonitorOptions).
std::string monitor_paragraph(const Pipeline& p) {
  const MonitorOptions m;
  const MonitoringReference& ref = p.reference();
  std::string s =
      "`calibrisk monitor` (C++ `monitor`, Python `Pipeline.monitor`) checks a batch further: ";
  if (ref.empty()) {
    s += "this model file carries no reference distributions (it predates format 1.3 or was built "
         "without reference data), so the population stability index is not available; ";
  } else {
    s += "the population stability index of every feature and of the risk against the stored "
         "training and calibration distributions (warning at " +
         num(m.psi_warn) + ", alarm at " + num(m.psi_alarm) + "); the alert rate against the " +
         (std::isnan(ref.score.alert_rate) ? std::string("expected rate")
                                           : "expected " + pct(ref.score.alert_rate)) +
         " (Newcombe interval of the difference); ";
  }
  s += "out-of-range values (warning at " + pct(m.out_of_range_warn) + ", alarm at " +
       pct(m.out_of_range_alarm) + " of rows), unseen categories (" + pct(m.unseen_warn) + " / " +
       pct(m.unseen_alarm) + ") and missing rates; with labels, the calibration intercept (" +
       num(m.warn_confidence) + " / " + num(m.alarm_confidence) +
       " intervals), ICI and recall at the threshold. An alarm exits with code 5 (docs/"
       "monitoring.md).";
  return s;
}

// A binary report for a K-class model (or the reverse) is refused before it is read, naming both.
void check_report_kind(const Pipeline& p, const std::string& text) {
  if (text.empty()) return;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error&) {
    return;  // the report reader names the parse error
  }
  const json* f = child(j, "format");
  const std::string format = f && f->is_string() ? f->get<std::string>() : "";
  const bool multiclass_report = format == "calibrisk-multiclass-report";
  if (format == "calibrisk-report" && p.n_classes() > 2) {
    throw InvalidInput("model card: the report is a binary evaluation report but the model has " +
                       std::to_string(p.n_classes()) +
                       " classes; pass the multiclass report of this model (calibrisk "
                       "train/evaluate --json on its K-class label).");
  }
  if (multiclass_report && p.n_classes() == 2) {
    throw InvalidInput(
        "model card: the report is a multiclass (K-class) evaluation report but the model is "
        "binary; pass the binary report of this model.");
  }
}

}  // namespace

namespace detail::card {

CardBlock rolling_validation_table(const std::string& validation_json) {
  return validation_table(validation_json);
}

}  // namespace detail::card

PerThousand per_thousand(double prevalence, const Estimate& recall, const Estimate& alert_rate) {
  PerThousand k;
  k.cases = 1000.0 * prevalence;
  k.caught = k.cases * recall.value;
  k.missed = k.cases - k.caught;
  k.alerts = 1000.0 * alert_rate.value;
  k.false_alarms = k.alerts - k.caught;
  if (std::isfinite(recall.lower) && std::isfinite(recall.upper)) {
    k.caught_lower = k.cases * recall.lower;
    k.caught_upper = k.cases * recall.upper;
    k.missed_lower = k.cases - k.caught_upper;
    k.missed_upper = k.cases - k.caught_lower;
  }
  if (std::isfinite(alert_rate.lower) && std::isfinite(alert_rate.upper)) {
    k.alerts_lower = 1000.0 * alert_rate.lower;
    k.alerts_upper = 1000.0 * alert_rate.upper;
  }
  return k;
}

ModelCard build_model_card(const Pipeline& pipeline, const CardSources& sources) {
  check_report_kind(pipeline, sources.report_json);
  if (pipeline.n_classes() > 2) return detail::card::build_multiclass_card(pipeline, sources);
  const ReportView rv = read_report(sources);
  ModelCard card;
  const CardSpec& s = sources.spec;
  card.title =
      "Model card: " +
      (s.model_name.empty() ? std::string(pipeline.model_type()) + " risk model" : s.model_name);
  card.subtitle = (s.version.empty() ? "" : "Version " + s.version + ". ") +
                  (s.date.empty() ? "" : "Dated " + s.date + ". ") +
                  "For compliance teams, clinicians and product owners.";
  card.sections.push_back(intended_use_section(s));
  card.sections.push_back(provenance_section(pipeline, sources));
  card.sections.push_back(performance_section(rv));
  card.sections.push_back(operating_point_section(pipeline, rv));
  card.sections.push_back(subgroup_section(rv));
  card.sections.push_back(temporal_section(rv, sources));
  card.sections.push_back(limitations_section(s, automatic_limitations(pipeline, rv, sources)));
  card.sections.push_back(drift_section(pipeline, monitor_paragraph(pipeline)));
  card.sections.push_back(ethics_section(s));
  return card;
}

}  // namespace calibrisk
