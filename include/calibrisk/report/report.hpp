// SPDX-License-Identifier: Apache-2.0
/// @file report.hpp
/// The evaluation report's data model and its two renderings: a JSON document and one
/// self-contained HTML page (inline CSS and SVG charts; nothing is fetched from the network).
///
/// The model is plain data: `evaluate` (report/evaluate.hpp) fills it from labels and
/// probabilities, but any caller may fill or edit it and render it. Every number that could not be
/// computed (a subgroup with one class has no AUC, an interval without bootstrap) is NaN, which
/// renders as "—" in HTML and `null` in JSON. When a statistic is NaN because it is undefined on
/// the data (Spiegelhalter's z with all predictions 0.5, the AUC of a one-class subgroup), the
/// section's `undefined` map holds the reason under the field's JSON key; HTML then shows
/// "undefined (reason)" and JSON keeps `null` plus the reason in the section's "undefined" object.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Why statistics of a section are undefined: field key (as in JSON, e.g. "spiegelhalter_z") ->
/// reason (e.g. "its variance is zero: every prediction is 0, 0.5 or 1"). The field is NaN.
using UndefinedReasons = std::map<std::string, std::string>;

/// A point estimate with a confidence interval [lower, upper] (NaN bounds = no interval).
struct Estimate {
  double value = std::numeric_limits<double>::quiet_NaN();
  double lower = std::numeric_limits<double>::quiet_NaN();
  double upper = std::numeric_limits<double>::quiet_NaN();
};

/// A curve as parallel arrays, e.g. ROC (x = false-positive rate, y = true-positive rate) or PR
/// (x = recall, y = precision); `threshold[k]` is the score at which point k is reached (may be
/// empty when the curve has no thresholds).
struct Curve {
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> threshold;
};

/// Missingness of one input feature.
struct FeatureMissingness {
  std::string name;
  double missing_fraction = 0.0;  ///< in [0, 1]
};

/// What the evaluated data looked like.
struct DataSummary {
  Index rows = 0;
  Index positives = 0;
  double prevalence = std::numeric_limits<double>::quiet_NaN();
  Index patients = -1;   ///< distinct group ids; -1 when no group key was given
  std::string time_min;  ///< first/last time key as text (ISO date or number); empty when none
  std::string time_max;
  std::vector<FeatureMissingness> missingness;  ///< one per feature, in input order
};

/// ROC AUC and average precision with bootstrap intervals, and the curves.
struct DiscriminationSection {
  Estimate roc_auc;
  Estimate average_precision;
  Curve roc;  ///< x = false-positive rate, y = true-positive rate
  Curve pr;   ///< x = recall, y = precision
};

/// One bin of a reliability diagram.
struct ReliabilityPoint {
  Index count = 0;
  double mean_predicted = 0.0;
  double observed = 0.0;                                    ///< observed event rate in the bin
  double lower = std::numeric_limits<double>::quiet_NaN();  ///< Wilson interval of `observed`
  double upper = std::numeric_limits<double>::quiet_NaN();
};

/// One level of Van Calster's calibration hierarchy (see metrics::CalibrationHierarchy).
struct HierarchyCheck {
  bool assessed = false;
  bool met = false;
  std::string evidence;  ///< the numbers that decided it
};

/// The smoothed calibration curve (lowess of y on p, metrics/smooth_calibration.hpp) with its
/// pointwise bootstrap band, ICI / E50 / E90 / Emax with bootstrap intervals, and the verdict on
/// Van Calster's hierarchy. `grid` is empty when it was not computed.
struct SmoothedCalibrationPart {
  double frac = 2.0 / 3.0;  ///< lowess span
  std::vector<double> grid;
  std::vector<double> observed;  ///< lowess estimate of P(y = 1 | p) at each grid point
  std::vector<double> lower;     ///< pointwise bootstrap band (empty without bootstrap)
  std::vector<double> upper;
  Estimate ici, e50, e90, emax;
  Estimate calibration_in_the_large;  ///< mean(y) - mean(p)
  Index n_events = 0;
  Index n_nonevents = 0;
  std::string verdict;  ///< "insufficient data", "none", "mean", "weak" or "moderate"
  HierarchyCheck mean, weak, moderate;
  std::vector<std::string> warnings;  ///< e.g. too few events, with the count
};

/// Histogram of the predicted risks: counts[j] rows with edges[j] <= p < edges[j + 1] (the last
/// bin includes 1); 20 equal-width bins over [0, 1].
struct RiskHistogram {
  std::vector<double> edges;
  std::vector<Index> counts;
};

/// Calibration of one set of probabilities (before or after calibration).
struct CalibrationSection {
  std::string label;  ///< "uncalibrated" / "calibrated" (shown in legends)
  std::vector<ReliabilityPoint> bins;
  Estimate ece;  ///< expected calibration error, with a bootstrap interval
  double max_calibration_error = std::numeric_limits<double>::quiet_NaN();
  double intercept = std::numeric_limits<double>::quiet_NaN();  ///< calibration-in-the-large
  double slope = std::numeric_limits<double>::quiet_NaN();      ///< calibration slope
  double spiegelhalter_z = std::numeric_limits<double>::quiet_NaN();
  double spiegelhalter_p = std::numeric_limits<double>::quiet_NaN();
  double brier = std::numeric_limits<double>::quiet_NaN();
  double log_loss = std::numeric_limits<double>::quiet_NaN();
  double roc_auc = std::numeric_limits<double>::quiet_NaN();  ///< of these probabilities
  UndefinedReasons undefined;        ///< e.g. {"slope": "every prediction is the same"}
  SmoothedCalibrationPart smoothed;  ///< flexible calibration curve, ICI and hierarchy
  RiskHistogram histogram;           ///< distribution of the predicted risks
};

/// The chosen operating point: a case is flagged when p >= threshold.
struct OperatingPointSection {
  double threshold = std::numeric_limits<double>::quiet_NaN();
  std::string policy;  ///< how it was chosen, e.g. "min_recall=0.8" ("" = given)
  Index tp = 0, fp = 0, tn = 0, fn = 0;
  Estimate precision;    ///< Wilson interval
  Estimate recall;       ///< Wilson interval
  Estimate specificity;  ///< Wilson interval
  Estimate npv;          ///< Wilson interval
  Estimate alert_rate;   ///< Wilson interval
  double f1 = std::numeric_limits<double>::quiet_NaN();
  UndefinedReasons undefined;  ///< e.g. {"precision": "no case is flagged at this threshold"}
};

/// Decision-curve analysis (Vickers & Elkin 2006): net benefit = TP/n − FP/n · t/(1 − t) at
/// threshold probability t; treat-none is 0 everywhere.
struct DecisionCurveSection {
  std::vector<double> threshold;
  std::vector<double> model;
  std::vector<double> treat_all;
};

/// Metrics of one subgroup level.
struct SubgroupRow {
  std::string column;  ///< the subgroup variable, e.g. "site"
  std::string level;   ///< its value, e.g. "C"
  Index n = 0;
  Index positives = 0;
  double prevalence = std::numeric_limits<double>::quiet_NaN();
  double mean_predicted = std::numeric_limits<double>::quiet_NaN();
  double roc_auc = std::numeric_limits<double>::quiet_NaN();
  double ece = std::numeric_limits<double>::quiet_NaN();
  double calibration_intercept = std::numeric_limits<double>::quiet_NaN();
  /// Wald interval of the calibration intercept (intercept ± z · standard error).
  double calibration_intercept_lower = std::numeric_limits<double>::quiet_NaN();
  double calibration_intercept_upper = std::numeric_limits<double>::quiet_NaN();
  /// Observed − expected events over their standard deviation, Σ(y − p) / sqrt(Σ p(1 − p)): the
  /// score test of calibration intercept = 0 (slope fixed at 1); two-sided p-value, raw and
  /// adjusted for multiplicity (NaN = not tested, reason under "calibration_p").
  double calibration_z = std::numeric_limits<double>::quiet_NaN();
  double calibration_p = std::numeric_limits<double>::quiet_NaN();
  double calibration_p_adjusted = std::numeric_limits<double>::quiet_NaN();
  double recall = std::numeric_limits<double>::quiet_NaN();        ///< at the operating point
  double recall_lower = std::numeric_limits<double>::quiet_NaN();  ///< Wilson interval of recall
  double recall_upper = std::numeric_limits<double>::quiet_NaN();
  double recall_others = std::numeric_limits<double>::quiet_NaN();  ///< recall of all other rows
  /// Two-proportion z test (pooled) of recall = recall_others (equal opportunity), two-sided;
  /// raw and adjusted p-value (NaN = not tested, reason under "recall_p").
  double recall_p = std::numeric_limits<double>::quiet_NaN();
  double recall_p_adjusted = std::numeric_limits<double>::quiet_NaN();
  double precision = std::numeric_limits<double>::quiet_NaN();  ///< at the operating point
  double alert_rate = std::numeric_limits<double>::quiet_NaN();
  /// Why the group is flagged (empty = not flagged): the effect, its interval and the adjusted
  /// p-value, e.g. "calibration intercept +0.71 (95% CI +0.35 to +1.07) beyond ±0.40 ...".
  std::vector<std::string> flags;
  UndefinedReasons undefined;  ///< e.g. {"roc_auc": "the group has only class 0"}
};

/// The tolerances subgroups are checked against, the multiplicity adjustment, and the rows.
struct SubgroupSection {
  double intercept_tolerance = 0.0;  ///< |calibration intercept| above it flags the group
  double ece_tolerance = 0.0;        ///< ECE above it flags the group
  double recall_tolerance = 0.0;     ///< other rows' recall − group recall above it flags it
  Index min_size = 0;                ///< smaller groups are listed but never tested or flagged
  /// How the p-values of all tests (every tested group of every column, recall and calibration)
  /// were adjusted: "holm", "bh" (Benjamini–Hochberg) or "none"; "" in documents without tests.
  std::string multiplicity;
  Index n_tests = 0;                                        ///< p-values in the adjustment
  double alpha = std::numeric_limits<double>::quiet_NaN();  ///< adjusted p below it: significant
  std::vector<std::string> notes;  ///< e.g. a column whose levels were capped and pooled
  std::vector<SubgroupRow> rows;
};

/// Metrics of one period.
struct TimePeriodRow {
  std::string period;  ///< "2023-04" (month), "2023-Q2" (quarter) or "t1" ... (number keys)
  double start = std::numeric_limits<double>::quiet_NaN();  ///< first key of the period
  Index n = 0;
  double prevalence = std::numeric_limits<double>::quiet_NaN();
  double mean_predicted = std::numeric_limits<double>::quiet_NaN();
  double roc_auc = std::numeric_limits<double>::quiet_NaN();
  double ece = std::numeric_limits<double>::quiet_NaN();
  UndefinedReasons undefined;  ///< e.g. {"roc_auc": "the period has only class 0"}
};

/// Metrics over time; empty rows when no time key was given.
struct TimeSection {
  std::string granularity;  ///< "month", "quarter" or "equal-count bins" (number keys)
  std::vector<TimePeriodRow> rows;
};

/// One feature's importance.
struct FeatureImportance {
  std::string name;
  double value = 0.0;
};

/// Does calibration keep the model's ranking? Compares the scores before calibration (x) with
/// those after (c) over every pair of rows with x_i < x_j:
/// - "preserved": no pair has c_i > c_j (c is non-decreasing in x; ties allowed, as isotonic
///   regression makes);
/// - "reversed": some pair has c_i > c_j and none has c_i < c_j (c never increases with x and
///   decreases at least once — e.g. a Platt calibrator with a negative slope): the ranking is
///   inverted, AUC after = 1 − AUC before (up to ties);
/// - "flattened": no pair has c_i != c_j although x takes at least two values: calibration gives
///   every case the same risk (no ranking left);
/// - "non-monotone": some pairs have c_i > c_j and others c_i < c_j (the calibrated risk is not a
///   monotone function of the model's score).
/// `status` is "" when it was not checked (no scores before calibration, or all of them equal).
/// Every status but "preserved" and "" is flagged.
struct RankingCheck {
  std::string status;
  std::string explanation;  ///< for the reader, with an example pair when flagged
  bool flagged() const { return !status.empty() && status != "preserved"; }
};

/// The whole report.
struct Report {
  std::string title = "calibrisk evaluation report";
  DataSummary data;
  DiscriminationSection discrimination;
  bool has_uncalibrated = false;  ///< `calibration_before` is filled
  CalibrationSection calibration_before;
  CalibrationSection calibration_after;  ///< of the final probabilities
  RankingCheck ranking;                  ///< before vs after calibration (see RankingCheck)
  bool has_operating_point = false;      ///< `operating_point` is filled
  OperatingPointSection operating_point;
  DecisionCurveSection decision_curve;
  SubgroupSection subgroups;
  TimeSection over_time;
  std::string importance_kind;                  ///< e.g. "gain" or "mean |contribution|"
  std::vector<FeatureImportance> top_features;  ///< in display order (largest first)
  /// Data fingerprint, parameters, versions...: shown as a key/value table in input order.
  std::vector<std::pair<std::string, std::string>> provenance;
  double confidence = 0.95;        ///< level of every interval
  int n_bootstrap = 0;             ///< replicates behind the bootstrap intervals
  std::vector<std::string> notes;  ///< anything the reader must know (skipped sections, ...)
};

/// The report as a JSON document (UTF-8; NaN as null). Key names follow the struct fields;
/// `format` = "calibrisk-report", `format_version` = 1. `indent` < 0 gives one line.
/// Thread-safe; O(size of the report).
std::string report_to_json(const Report& report, int indent = 2);

/// Reads a document written by `report_to_json` back into a Report (null -> NaN), so a saved
/// report can be re-rendered or edited. Missing optional keys keep their defaults. Throws
/// InvalidInput naming the JSON path of the first malformed field, or when `format` is not
/// "calibrisk-report" or `format_version` is newer than 1.
Report report_from_json(const std::string& text);

/// The report as one self-contained HTML page: inline CSS, inline SVG charts (ROC, PR,
/// reliability before/after, decision curve, over-time lines, subgroup bars), no scripts and no
/// external resources. No string of the report can become markup: every one is escaped for its
/// context (invalid UTF-8 and control characters become U+FFFD), element ids are generated
/// ("chart-subgroup-1"), and a Content-Security-Policy (default-src 'none') forbids scripts.
/// Thread-safe.
std::string report_to_html(const Report& report);

/// Writes `report_to_json` / `report_to_html` to a file (replaced). Throws InvalidInput when the
/// file cannot be opened and Error when writing fails.
void write_report_json(const Report& report, const std::string& path, int indent = 2);
void write_report_html(const Report& report, const std::string& path);

}  // namespace calibrisk
