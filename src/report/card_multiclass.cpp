// SPDX-License-Identifier: Apache-2.0
// The model card of a K-class pipeline (issue 13 item 6): intended use from the spec, provenance
// from the artifact (classes, calibrator, review policy), calibration and accuracy with
// intervals, the per-class table and the top-label reliability from a multiclass report, the
// review queue's operating point per 1,000 items, limitations, drift checks and ethics. Without
// a report the card shows what the model file knows and says how to produce one.
#include <calibrisk/report/card.hpp>
#include <calibrisk/report/multiclass.hpp>

#include "report/card_parts.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::detail::card {

namespace {

const char* const kNeedsMulticlassReport =
    "This section needs a multiclass evaluation report, and none was given. Produce one on "
    "held-out data with `calibrisk train ... --json report.json` (the test part) or `calibrisk "
    "evaluate --model MODEL --data DATA --label LABEL --json report.json`, then pass --report "
    "report.json to `calibrisk card`.";

struct McView {
  bool present = false;
  MulticlassEvaluation r;
  std::string source;
};

McView read_multiclass_report(const Pipeline& p, const CardSources& s) {
  McView v;
  if (s.report_json.empty()) return v;
  v.r = multiclass_report_from_json(s.report_json);  // validates, naming the JSON path
  if (v.r.n_classes != p.n_classes()) {
    throw InvalidInput("model card: the report evaluates " + std::to_string(v.r.n_classes) +
                       " classes but the model has " + std::to_string(p.n_classes()) +
                       "; pass the report of this model.");
  }
  v.present = true;
  v.source = s.report_source;
  return v;
}

std::string class_name(const McView& v, const std::vector<std::string>& labels, int k) {
  if (v.present && k >= 0 && static_cast<std::size_t>(k) < v.r.class_names.size())
    return v.r.class_names[static_cast<std::size_t>(k)];
  return k >= 0 && static_cast<std::size_t>(k) < labels.size() ? labels[static_cast<std::size_t>(k)]
                                                               : std::to_string(k);
}

std::string thresholds_text(const std::vector<double>& t, const std::vector<std::string>& names) {
  if (t.size() == 1) return num(t[0], 4);
  std::string s;
  for (std::size_t k = 0; k < t.size(); ++k) {
    s += (s.empty() ? "" : "; ") + (k < names.size() ? names[k] : std::to_string(k)) + ": " +
         (std::isinf(t[k]) ? std::string("none auto-routed") : num(t[k], 4));
  }
  return s;
}

std::string review_text(const Pipeline& p) {
  const ReviewPolicyRecord* r = p.review_policy();
  if (!r) return "none (every item is auto-routed)";
  std::string s = r->kind;
  if (r->kind == "conformal") {
    s += " (alpha " + num(r->conformal.alpha(), 4) +
         "): an item is auto-routed when its prediction set holds one class";
  } else {
    s += (r->per_class ? " per predicted class: " : ": confidence at least ") +
         thresholds_text(r->thresholds, p.class_labels());
  }
  if (!r->policy.empty()) s += " (policy " + r->policy + ")";
  return s;
}

CardSection provenance_section(const Pipeline& p, const CardSources& s) {
  CardSection sec{"provenance", "Model and data provenance", {}};
  const Provenance& pv = p.provenance();
  const DataFingerprint& d = pv.training_data;
  std::string classes;
  for (const auto& c : p.class_labels()) classes += (classes.empty() ? "" : ", ") + c;
  std::vector<std::vector<std::string>> rows = {
      {"model", std::string(p.model_type()) + " (" + std::to_string(p.n_classes()) + " classes)"},
      {"classes", classes},
      {"calibrator", p.calibrator_type()},
      {"features", std::to_string(p.n_features())},
      {"review queue", review_text(p)},
      {"built by calibrisk", pv.library_version},
      {"created at", pv.created_at.empty() ? "not recorded" : pv.created_at},
      {"random seed", std::to_string(pv.seed)},
      {"training rows", d.rows > 0 ? std::to_string(d.rows) : "unknown"},
      {"training columns", d.cols > 0 ? std::to_string(d.cols) : "unknown"},
      {"training data SHA-256", d.sha256.empty() ? "unknown" : d.sha256}};
  for (auto& r : file_rows(s)) rows.push_back(std::move(r));
  sec.blocks.push_back(table({}, std::move(rows)));
  parameter_blocks(pv, sec);
  return sec;
}

// The top-label reliability table: per confidence bin, the mean confidence and the observed
// accuracy with its interval.
CardBlock top_label_table(const MulticlassCalibrationSection& c) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : c.top_label_bins) {
    const std::string r = range(
        b.lower, b.upper, [](double x, int) { return pct(x); }, 0);
    rows.push_back({std::to_string(b.count), pct(b.mean_predicted),
                    pct(b.observed) + (r.empty() ? "" : " (" + r + ")")});
  }
  return table({"items in the bin", "mean confidence (max P)", "observed accuracy (interval)"},
               std::move(rows));
}

CardSection performance_section(const McView& v) {
  CardSection sec{"performance", "Accuracy and calibration", {}};
  if (!v.present) {
    sec.blocks.push_back(note(kNeedsMulticlassReport));
    return sec;
  }
  const MulticlassEvaluation& r = v.r;
  std::string where = "Evaluated on " + std::to_string(r.rows) + " rows of " +
                      std::to_string(r.n_classes) + " classes";
  if (!v.source.empty()) where += ", report " + v.source;
  sec.blocks.push_back(
      para(where + ". Intervals are " + num(100 * r.confidence) + "% (" +
           (r.n_bootstrap > 0 ? "bootstrap, " + std::to_string(r.n_bootstrap) + " replicates"
                              : std::string("no bootstrap")) +
           "; precision and recall Wilson); values are shown as estimate (lower \xE2\x80\x93 "
           "upper)."));
  const MulticlassCalibrationSection& c = r.calibration_after;
  sec.blocks.push_back(table({"measure", "value"},
                             {{"accuracy (top label)", with_ci(c.accuracy, true)},
                              {"macro F1", with_ci(r.macro_f1)},
                              {"log loss", with_ci(c.log_loss)},
                              {"Brier score (multiclass)", with_ci(c.brier)},
                              {"top-label ECE (Guo et al. 2017)", with_ci(c.top_label_ece)},
                              {"classwise ECE (Kull et al. 2019)", with_ci(c.classwise_ece)}}));
  sec.blocks.push_back(
      para("Top-label calibration: of the items whose top probability falls in a bin, the share "
           "whose top class is right (a calibrated model's accuracy equals its confidence)."));
  sec.blocks.push_back(top_label_table(c));
  return sec;
}

CardSection per_class_section(const Pipeline& p, const McView& v) {
  CardSection sec{"per-class", "Per class", {}};
  if (!v.present) {
    std::string classes;
    for (const auto& c : p.class_labels()) classes += (classes.empty() ? "" : ", ") + c;
    sec.blocks.push_back(
        para("The model predicts " + std::to_string(p.n_classes()) + " classes: " + classes + "."));
    sec.blocks.push_back(note(kNeedsMulticlassReport));
    return sec;
  }
  const MulticlassEvaluation& r = v.r;
  std::vector<bool> shown(static_cast<std::size_t>(r.n_classes), r.shown_classes.empty());
  for (int k : r.shown_classes) shown[static_cast<std::size_t>(k)] = true;
  std::vector<std::vector<std::string>> rows;
  std::size_t hidden = 0;
  for (const ClassReportRow& c : r.per_class) {
    if (!shown[static_cast<std::size_t>(c.index)]) {
      ++hidden;
      continue;
    }
    // A 0 by convention (nothing predicted as the class, or the class absent) says so.
    auto shown_value = [&](const char* key, const Estimate& e) {
      const auto it = c.undefined.find(key);
      return it == c.undefined.end() ? with_ci(e) : "undefined (" + it->second + ")";
    };
    rows.push_back({c.name, std::to_string(c.support), pct(c.prevalence), pct(c.mean_predicted),
                    shown_value("precision", c.precision), shown_value("recall", c.recall),
                    with_ci(c.f1), num(c.ece)});
  }
  sec.blocks.push_back(table({"class", "support", "prevalence", "mean predicted", "precision",
                              "recall", "F1", "ECE (one-vs-rest)"},
                             std::move(rows)));
  if (hidden > 0) {
    sec.blocks.push_back(note(std::to_string(hidden) + " less frequent classes are not shown (" +
                              std::to_string(r.shown_classes.size()) +
                              " most frequent shown); the report's JSON lists every class."));
  }
  return sec;
}

// Per 1,000 items like those evaluated: auto-routed, sent to review, expected errors among the
// auto-routed (auto x (1 - accuracy)); intervals carry the review rate's and the accuracy's.
void review_per_thousand(const ReviewQueueSection& q, CardSection& sec) {
  const double autos = 1000.0 * (1.0 - q.review_rate.value);
  const double lo_auto = 1000.0 * (1.0 - q.review_rate.upper);
  const double hi_auto = 1000.0 * (1.0 - q.review_rate.lower);
  const double errors = autos * (1.0 - q.accuracy.value);
  const double err_lo = autos * (1.0 - q.accuracy.upper);
  const double err_hi = autos * (1.0 - q.accuracy.lower);
  auto with_range = [](double x, double lo, double hi) {
    const std::string r = range(
        lo, hi, [](double y, int) { return per1000(y); }, 0);
    return per1000(x) + (r.empty() ? "" : " (" + r + ")");
  };
  sec.blocks.push_back(para("Of every 1,000 items like those evaluated, about " + per1000(autos) +
                            " are routed automatically and " + per1000(1000.0 - autos) +
                            " go to a person; about " + per1000(errors) +
                            " of the automatically routed items get the wrong class."));
  sec.blocks.push_back(
      table({"per 1,000 items", "count (interval)"},
            {{"auto-routed", with_range(autos, lo_auto, hi_auto)},
             {"sent to review", with_range(1000.0 - autos, 1000.0 - hi_auto, 1000.0 - lo_auto)},
             {"expected errors among the auto-routed", with_range(errors, err_lo, err_hi)}}));
  sec.blocks.push_back(table({"measure of the review queue", "value (interval)"},
                             {{"accuracy of the auto-routed items", with_ci(q.accuracy, true)},
                              {"review rate", with_ci(q.review_rate, true)}}));
}

void review_class_table(const ReviewQueueSection& q, const McView& v,
                        const std::vector<std::string>& labels, CardSection& sec) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : q.classes) {
    rows.push_back({class_name(v, labels, c.index),
                    std::isinf(c.threshold) ? "none auto-routed" : num(c.threshold, 4),
                    std::to_string(c.n), std::to_string(c.n_auto), with_ci(c.accuracy, true),
                    with_ci(c.review_rate, true)});
  }
  sec.blocks.push_back(table({"predicted class", "threshold", "items", "auto-routed",
                              "accuracy of the auto-routed", "review rate"},
                             std::move(rows)));
}

CardSection review_section(const Pipeline& p, const McView& v) {
  CardSection sec{"operating-point", "Review queue: what it means per 1,000 items", {}};
  sec.blocks.push_back(para("Review policy of the model file: " + review_text(p) + "."));
  if (!v.present) {
    sec.blocks.push_back(note(kNeedsMulticlassReport));
    return sec;
  }
  if (!v.r.has_review) {
    sec.blocks.push_back(
        note("The report measured no review queue (evaluate with the model file's review "
             "policy, or with --min-accuracy, to add one)."));
    return sec;
  }
  const ReviewQueueSection& q = v.r.review;
  sec.blocks.push_back(para(
      "The report measured the queue on " + std::to_string(q.n) + " items (" +
      (q.source == "selected" ? std::string("thresholds chosen on the same data: optimistic")
                              : std::string("thresholds chosen elsewhere")) +
      "); kind " + q.kind +
      (q.thresholds.empty() ? std::string()
                            : ", threshold " + thresholds_text(q.thresholds, v.r.class_names)) +
      (q.policy.empty() ? std::string() : ", policy " + q.policy) + "."));
  if (!q.feasible) sec.blocks.push_back(note("The policy was not met: " + q.message));
  review_per_thousand(q, sec);
  if (q.per_class && !q.classes.empty()) review_class_table(q, v, p.class_labels(), sec);
  return sec;
}

std::vector<std::string> automatic_limitations(const Pipeline& p, const McView& v) {
  std::vector<std::string> out;
  if (!p.parts().multiclass_calibrator)
    out.push_back("The model has no calibrator: its probabilities are the model's softmax.");
  if (!p.review_policy())
    out.push_back("The model file has no review policy: every item is routed automatically.");
  if (!v.present) {
    out.push_back(
        "No evaluation report was given: accuracy, calibration and the per-class table are not "
        "shown on this card.");
    return out;
  }
  std::string rare;
  int n_rare = 0;
  for (const ClassReportRow& c : v.r.per_class) {
    if (c.support >= 30) continue;
    if (++n_rare <= 10) rare += (rare.empty() ? "" : ", ") + c.name;
  }
  if (n_rare > 0) {
    out.push_back(std::to_string(n_rare) + " classes have fewer than 30 evaluated items (" + rare +
                  (n_rare > 10 ? ", ..." : "") + "): their precision and recall are uncertain.");
  }
  const double ece = v.r.calibration_after.top_label_ece.value;
  if (std::isfinite(ece) && ece > 0.05)
    out.push_back("Top-label ECE " + num(ece) +
                  ": confidence departs from accuracy by more than "
                  "5 points on average.");
  if (v.r.has_review && v.r.review.source == "selected")
    out.push_back(
        "The review thresholds were chosen on the evaluated data: the queue's figures "
        "are in-sample and optimistic.");
  return out;
}

std::string multiclass_monitor_text(const Pipeline& p) {
  return std::string(
             "`calibrisk monitor` (C++ `monitor`, Python `Pipeline.monitor`) compares a "
             "batch with the model file's reference distributions") +
         (p.reference().empty() ? " (this model file carries none, so population stability is "
                                  "not available)"
                                : "") +
         "; with labels, re-run `calibrisk evaluate` on the batch to re-measure accuracy, "
         "calibration and the review queue (docs/monitoring.md).";
}

// The rolling-origin validation of a K-class model (`calibrisk validate --json`, then
// --validation): accuracy, log loss, Brier, top-label ECE and the review queue per test period.
CardSection temporal_section(const CardSources& s) {
  CardSection sec{"temporal", "Temporal stability", {}};
  if (s.validation_json.empty()) {
    sec.blocks.push_back(
        para("No rolling-origin validation was given (train up to each period, test on the "
             "next: `calibrisk validate`, then --validation to `calibrisk card`)."));
    return sec;
  }
  sec.blocks.push_back(
      para("Rolling-origin validation (trained up to each period, tested on the next; "
           "intervals from the bootstrap `calibrisk validate` ran):"));
  sec.blocks.push_back(rolling_validation_table(s.validation_json));
  return sec;
}

}  // namespace

ModelCard build_multiclass_card(const Pipeline& pipeline, const CardSources& sources) {
  const McView v = read_multiclass_report(pipeline, sources);
  ModelCard card;
  const CardSpec& s = sources.spec;
  card.title = "Model card: " + (s.model_name.empty()
                                     ? std::string(pipeline.model_type()) + " " +
                                           std::to_string(pipeline.n_classes()) + "-class model"
                                     : s.model_name);
  card.subtitle = (s.version.empty() ? "" : "Version " + s.version + ". ") +
                  (s.date.empty() ? "" : "Dated " + s.date + ". ") +
                  "For compliance teams, reviewers and product owners.";
  card.sections.push_back(intended_use_section(s));
  card.sections.push_back(provenance_section(pipeline, sources));
  card.sections.push_back(performance_section(v));
  card.sections.push_back(per_class_section(pipeline, v));
  card.sections.push_back(review_section(pipeline, v));
  card.sections.push_back(temporal_section(sources));
  card.sections.push_back(limitations_section(s, automatic_limitations(pipeline, v)));
  card.sections.push_back(drift_section(pipeline, multiclass_monitor_text(pipeline)));
  card.sections.push_back(ethics_section(s));
  return card;
}

}  // namespace calibrisk::detail::card
