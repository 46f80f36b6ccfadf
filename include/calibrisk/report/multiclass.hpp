// SPDX-License-Identifier: Apache-2.0
/// @file multiclass.hpp
/// The evaluation report of a K-class model: its data model, `evaluate_multiclass` (labels and an
/// (n, K) probability matrix in, report out) and its two renderings, a JSON document and one
/// self-contained HTML page (the binary report's style, escaping and Content-Security-Policy).
///
/// Sections: a summary (rows, classes and their counts; log loss, multiclass Brier, accuracy,
/// macro F1, top-label and classwise ECE with bootstrap intervals); calibration before/after
/// (top-label reliability diagram, classwise reliability curves with a histogram of each class's
/// predicted probabilities); a per-class table (precision and recall with Wilson intervals, F1
/// with a bootstrap interval, support, classwise ECE); the confusion matrix (counts and
/// row-normalised); the review-queue operating point (threshold(s), accuracy of the auto-routed
/// items and review rate with Clopper-Pearson intervals) and the risk-coverage curve.
///
/// Metrics come from metrics/multiclass.hpp (Guo et al. 2017 for top-label ECE, Kull et al. 2019
/// for classwise ECE) and threshold/review.hpp (Geifman & El-Yaniv 2017 for risk-coverage).
///
/// Size is bounded for any K <= kMaxClasses: the per-class table of the JSON lists every class
/// (O(K)), but the confusion matrix, the classwise reliability curves and the HTML per-class
/// table show at most `max_classes_shown` classes — the most frequent ones, the others pooled as
/// one "(other classes)" row and column of the confusion matrix — and a note says so.
///
/// Example:
/// @code
///   calibrisk::MulticlassEvaluationInput in;
///   in.y = y;                               // class indices 0..K-1 as doubles
///   in.P = P;                               // (n, K) calibrated probabilities
///   in.class_names = {"referral", "lab", "insurance"};
///   calibrisk::ReviewOptions o;
///   o.min_accuracy = 0.98;
///   in.review_options = o;                  // or in.review_policy = the saved thresholds
///   auto r = calibrisk::evaluate_multiclass(in);
///   calibrisk::write_multiclass_report_html(r, "report.html");
/// @endcode
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/report/report.hpp>
#include <calibrisk/threshold/review.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Default of MulticlassEvaluationParams::max_classes_shown: classes shown in the confusion
/// matrix, the classwise reliability curves and the HTML per-class table.
inline constexpr int kDefaultMaxClassesShown = 30;

/// Settings of `evaluate_multiclass`.
struct MulticlassEvaluationParams {
  static constexpr const char* kName = "MulticlassEvaluationParams";
  int n_bootstrap = 200;     ///< replicates for the bootstrap intervals, in [0, 100000]; 0 = none
  double confidence = 0.95;  ///< level of every interval, in (0, 1)
  metrics::CalibrationBinning binning;  ///< reliability and ECE bins (10 equal-width)
  std::uint64_t random_state = 0;  ///< bootstrap seed; same seed => same report for any n_threads
  int n_threads = 0;               ///< 0 = all OpenMP threads
  /// Classes with their own row/column in the confusion matrix, their own reliability curve and
  /// their own HTML table row: the most frequent ones (ties: lower index), in [2, kMaxClasses].
  int max_classes_shown = kDefaultMaxClassesShown;
  int max_curve_points = 400;  ///< the risk-coverage curve is thinned to about this many, >= 10

  /// Each field once (binning is a CalibrationBinning with its own fields).
  template <class V>
  static void fields(V& v) {
    using P = MulticlassEvaluationParams;
    v("n_bootstrap", &P::n_bootstrap, in_range(0, 100000).with_note("(0 = no bootstrap intervals)"),
      "Bootstrap replicates for the log loss, Brier, accuracy, ECE and F1 intervals.");
    v("confidence", &P::confidence, open_open(0, 1), "Level of every interval.");
    v("random_state", &P::random_state, any_value(),
      "Bootstrap seed; the same seed gives the same report for any n_threads.");
    v("n_threads", &P::n_threads, at_least(0).with_note("(0 = all)").execution(),
      "Threads; 0 = all OpenMP threads.");
    v("max_classes_shown", &P::max_classes_shown, in_range(2, kMaxClasses),
      "Classes shown in the confusion matrix, classwise reliability curves and HTML table (the "
      "most frequent; the others are pooled).");
    v("max_curve_points", &P::max_curve_points, at_least(10),
      "The risk-coverage curve is thinned to about this many points.");
  }
  void validate() const;  ///< Throws InvalidParams naming the field.
};

/// Everything `evaluate_multiclass` reads. Views are non-owning: the caller keeps the data alive
/// during the call. Only `y` and `P` are required.
struct MulticlassEvaluationInput {
  VectorView<const double> y;               ///< n class indices 0..K-1 (a class may be absent)
  MatrixView<const double> P;               ///< (n, K) final (calibrated) probabilities
  MatrixView<const double> P_uncalibrated;  ///< empty, or (n, K) probabilities before calibration
  std::vector<std::string> class_names;     ///< empty (= "0", "1", ...) or K names, any bytes
  /// The review queue's saved policy (kind "threshold": one threshold or K per-class ones; kind
  /// "conformal": an item is auto-routed when its prediction set holds exactly one label): its
  /// accuracy and review rate are re-measured on this data. Kind "triage" (binary) is rejected.
  std::optional<ReviewPolicyRecord> review_policy;
  /// Or a review policy to choose the threshold(s) on this data with `select_review_threshold`
  /// (in-sample: the report says so). At most one of review_policy and review_options.
  std::optional<ReviewOptions> review_options;
  std::vector<std::pair<std::string, std::string>> provenance;  ///< shown as given, in order
  std::string title;  ///< "" = "calibrisk multiclass evaluation report"
};

/// One class of the per-class table. Precision/recall/F1 follow scikit-learn's
/// `precision_recall_fscore_support(..., zero_division=0)`; `undefined` says why a 0 is a
/// convention ("precision": nothing is predicted as the class; "recall": the class is absent).
struct ClassReportRow {
  int index = 0;        ///< class index (column of P)
  std::string name;     ///< class_names[index]
  Index support = 0;    ///< rows of the class (tp + fn)
  Index predicted = 0;  ///< rows predicted as the class (tp + fp)
  Estimate precision;   ///< Wilson interval
  Estimate recall;      ///< Wilson interval
  Estimate f1;          ///< percentile bootstrap interval (NaN bounds without bootstrap)
  double prevalence = std::numeric_limits<double>::quiet_NaN();      ///< support / n
  double mean_predicted = std::numeric_limits<double>::quiet_NaN();  ///< mean of P[:, k]
  double ece = std::numeric_limits<double>::quiet_NaN();             ///< binary ECE of P[:, k]
  UndefinedReasons undefined;
};

/// Reliability curve and histogram of one class's probabilities P[:, k] against [y = k].
struct ClassCalibration {
  int index = 0;
  std::vector<ReliabilityPoint> bins;  ///< non-empty bins, Wilson intervals
  RiskHistogram histogram;             ///< of P[:, k], 20 bins over [0, 1]
};

/// Calibration of one probability matrix (before or after calibration).
struct MulticlassCalibrationSection {
  std::string label;  ///< "uncalibrated" / "calibrated"
  Estimate log_loss;
  Estimate brier;          ///< multiclass Brier, scikit-learn's definition (halved for K = 2)
  Estimate accuracy;       ///< of the argmax
  Estimate top_label_ece;  ///< Guo et al. 2017
  Estimate classwise_ece;  ///< Kull et al. 2019: mean over the K classes
  std::vector<ReliabilityPoint> top_label_bins;  ///< confidence max_k P vs argmax correct
  RiskHistogram confidence_histogram;            ///< of max_k P, 20 bins over [0, 1]
  std::vector<ClassCalibration> classes;         ///< the shown classes, in `shown_classes` order
};

/// Confusion matrix over the shown classes: `labels` are the shown class indices, then -1 for
/// "(other classes)" when some classes are pooled. counts[i][j] = rows of true class labels[i]
/// predicted as labels[j] (scikit-learn's convention: rows true, columns predicted);
/// row_normalized[i][j] = counts[i][j] / sum_j counts[i][j] (NaN for an empty row).
struct ConfusionSection {
  std::vector<int> labels;
  std::vector<std::vector<double>> counts;
  std::vector<std::vector<double>> row_normalized;
};

/// The review queue measured on the evaluated data.
struct ReviewQueueSection {
  std::string kind;    ///< "threshold" or "conformal"
  std::string policy;  ///< how it was chosen (ReviewOptions::describe() or the saved text)
  /// "given": thresholds chosen elsewhere, re-measured here; "selected": chosen on this data.
  std::string source;
  bool per_class = false;
  std::vector<double> thresholds;  ///< 1 value, or K (per class); +inf routes nothing
  double conformal_alpha = std::numeric_limits<double>::quiet_NaN();  ///< kind "conformal"
  /// Share of rows whose conformal set holds the label (kind "conformal"), Wilson interval.
  Estimate set_coverage;
  Index n = 0, n_auto = 0, n_correct = 0;
  Estimate accuracy;     ///< of the auto-routed items, Clopper-Pearson interval
  Estimate review_rate;  ///< 1 - n_auto / n, Clopper-Pearson interval
  /// "selected" only: whether the policy was met on this data, and why not.
  bool feasible = true;
  std::string message;
  /// per_class: one row per class c over the items predicted as c (index, threshold, n, n_auto,
  /// n_correct, accuracy, review rate); capped like the other per-class views.
  struct ClassPoint {
    int index = 0;
    double threshold = std::numeric_limits<double>::infinity();
    Index n = 0, n_auto = 0, n_correct = 0;
    Estimate accuracy, review_rate;
  };
  std::vector<ClassPoint> classes;
  UndefinedReasons undefined;  ///< e.g. {"accuracy": "no item is auto-routed"}
};

/// The risk-coverage curve of max-probability confidence (thinned), and its AURC.
struct RiskCoverageSection {
  std::vector<double> threshold, coverage, risk;
  double aurc = std::numeric_limits<double>::quiet_NaN();
};

/// The whole multiclass report.
struct MulticlassEvaluation {
  std::string title = "calibrisk multiclass evaluation report";
  Index rows = 0;
  int n_classes = 0;
  std::vector<std::string> class_names;  ///< K names
  std::vector<Index> class_counts;       ///< K counts of y
  Estimate macro_f1;                     ///< bootstrap interval
  bool has_uncalibrated = false;         ///< `calibration_before` is filled
  MulticlassCalibrationSection calibration_before;
  MulticlassCalibrationSection calibration_after;  ///< of the final probabilities (the summary)
  /// Class indices with their own detail, in increasing index order: every class when
  /// K <= max_classes_shown, else the max_classes_shown most frequent (ties: lower index).
  std::vector<int> shown_classes;
  int max_classes_shown = kDefaultMaxClassesShown;
  std::vector<ClassReportRow> per_class;  ///< all K classes, in index order
  ConfusionSection confusion;
  bool has_review = false;  ///< `review` is filled
  ReviewQueueSection review;
  RiskCoverageSection risk_coverage;
  std::vector<std::pair<std::string, std::string>> provenance;
  double confidence = 0.95;
  int n_bootstrap = 0;
  std::vector<std::string> notes;
};

/// Computes the multiclass report.
///
/// Log loss, Brier, accuracy, macro F1, both ECEs and each class's F1 carry stratified
/// percentile-bootstrap intervals (`metrics::multiclass_bootstrap`, seeded by random_state:
/// bit-identical for any n_threads); precision and recall Wilson intervals; the review queue's
/// accuracy and review rate Clopper-Pearson intervals. Throws InvalidInput naming the field when
/// shapes differ, a label is not a class index, P is not a probability matrix (see
/// threshold/review.hpp), class_names has the wrong length or the review policy does not fit K;
/// InvalidParams for bad params or review options.
/// Complexity O(n K log n + n_bootstrap · n K); memory O(n K + max_classes_shown²).
MulticlassEvaluation evaluate_multiclass(const MulticlassEvaluationInput& input,
                                         const MulticlassEvaluationParams& params = {});

/// The report as a JSON document (UTF-8, invalid sequences replaced; NaN and ±inf as null).
/// `format` = "calibrisk-multiclass-report", `format_version` = 1; key names follow the struct
/// fields (docs/report.md, "Multiclass report"). `indent` < 0 gives one line. Thread-safe.
std::string multiclass_report_to_json(const MulticlassEvaluation& report, int indent = 2);

/// The report as one self-contained HTML page (inline CSS and SVG, no scripts, the binary
/// report's Content-Security-Policy). Every string of the report (class names, provenance,
/// title, notes) is escaped; invalid UTF-8 becomes U+FFFD. Thread-safe.
std::string multiclass_report_to_html(const MulticlassEvaluation& report);

/// Reads `multiclass_report_to_json`'s document back (format_version 1): every field of the
/// JSON (NaN for null numbers, +inf for the threshold "inf"). Throws InvalidInput naming the JSON
/// path when the text is not JSON, not a "calibrisk-multiclass-report", of a newer version, or
/// holds a value of the wrong type or out of range (a class index outside [0, n_classes), K names
/// for n_classes, a non-square confusion matrix, n_correct > n_auto > n in the review queue).
MulticlassEvaluation multiclass_report_from_json(const std::string& text);

/// Writes `multiclass_report_to_json` / `multiclass_report_to_html` to a file (replaced). Throws
/// InvalidInput when the file cannot be opened and Error when writing fails.
void write_multiclass_report_json(const MulticlassEvaluation& report, const std::string& path,
                                  int indent = 2);
void write_multiclass_report_html(const MulticlassEvaluation& report, const std::string& path);

}  // namespace calibrisk
