// SPDX-License-Identifier: Apache-2.0
/// @file review.hpp
/// The review queue (selective classification): route an item automatically only when the model
/// is confident enough and send the rest to a person. Four tools, each exact on calibration data
/// and reported with Clopper-Pearson and Wilson intervals (compiled in src/threshold/review.cpp):
///
/// - `select_review_threshold`: the confidence threshold(s) on max_k P[i, k] meeting an accuracy
///   floor on auto-routed items and/or a review budget (El-Yaniv & Wiener 2010; Geifman &
///   El-Yaniv 2017, "Selective classification for deep neural networks");
/// - `conformal_calibrate` / `ConformalSets`: split-conformal prediction sets with the LAC score
///   (Sadinle, Lei & Wasserman 2019) or the APS score (Romano, Sesia & Candès 2020), optionally
///   randomised; an item whose set does not hold exactly one label goes to review;
/// - `select_triage_band`: for binary models, auto-negative / review / auto-positive under a
///   recall floor and a review budget;
/// - `risk_coverage_curve`: risk (error rate of auto-routed items) against coverage, and AURC.
///
/// Inputs (every function): P is an (n, K) matrix of class probabilities, K in [2, kMaxClasses],
/// any strides; every entry finite and in [0, 1], every row summing to 1 within
/// `probability_row_tolerance(K)` = 1e-6 * K (float32 softmax output passes; unnormalised scores
/// do not). y holds class indices 0..K-1 as doubles (checked by `validate_class_labels`; a class
/// may be absent). Rows with zero sample weight take no part in any count or candidate.
///
/// Example:
/// @code
///   calibrisk::ReviewOptions o;
///   o.min_accuracy = 0.98;
///   o.confidence = 0.95;                       // the lower Clopper-Pearson bound meets 0.98
///   auto r = calibrisk::select_review_threshold(y_cal, P_cal, o);
///   // r.overall.threshold, r.overall.accuracy, r.overall.review_rate, r.feasible, r.message
/// @endcode
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/metrics/intervals.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace calibrisk {

/// Largest |sum_k P[i, k] - 1| accepted for a row of K probabilities: 1e-6 * K.
inline double probability_row_tolerance(int n_classes) noexcept { return 1e-6 * n_classes; }

/// Checks an (n, K) probability matrix as described in the file comment (n >= 1, K in
/// [2, kMaxClasses], finite entries in [0, 1], rows summing to 1 within the tolerance).
/// `where` starts each message. Throws InvalidInput naming the first bad row (and column).
void validate_probability_matrix(MatrixView<const double> P, const std::string& where);

// ---- confidence threshold ---------------------------------------------------------------------

/// The policy of `select_review_threshold`. At least one of `min_accuracy` and `max_review_rate`.
///
/// - min_accuracy only: the smallest review rate whose auto-routed accuracy reaches the floor;
/// - max_review_rate only: the highest auto-routed accuracy with review rate <= the budget (ties:
///   the lower review rate);
/// - both: the smallest review rate reaching the floor, which must also be within the budget.
/// With `confidence` set, "accuracy" in the floor (and in the max_review_rate objective) is the
/// lower Clopper-Pearson bound of the auto-routed accuracy at that level; the review budget is
/// always compared with the observed review rate.
struct ReviewOptions {
  std::optional<double> min_accuracy;     ///< accuracy floor, in [0, 1]
  std::optional<double> max_review_rate;  ///< review budget, in [0, 1]
  std::optional<double> confidence;       ///< conservative level, in (0, 1); unset = point estimate
  /// Level of the reported intervals when `confidence` is unset (otherwise `confidence`).
  double interval_confidence = 0.95;
  /// One threshold per predicted class (argmax), each meeting `min_accuracy` within the items
  /// predicted as that class; needs min_accuracy. `max_review_rate` then caps the joint rate.
  bool per_class = false;

  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const;
  /// E.g. "min_accuracy=0.98 [conservative: 95% Clopper-Pearson lower bound]".
  std::string describe() const;
};

/// An operating point of the review queue. Counts are weighted when sample weights are given.
struct ReviewPoint {
  /// Auto-route an item when its confidence max_k P[i, k] >= threshold; +inf routes nothing.
  double threshold = std::numeric_limits<double>::infinity();
  double n_total = 0.0;    ///< weight of all items (of the class, for a per-class point)
  double n_auto = 0.0;     ///< weight of auto-routed items
  double n_correct = 0.0;  ///< weight of auto-routed items whose argmax is the label
  double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< n_correct / n_auto (NaN if 0)
  double review_rate = 1.0;                                    ///< 1 - n_auto / n_total
  double coverage = 0.0;                                       ///< n_auto / n_total
  double confidence = 0.95;                                    ///< level of the intervals
  metrics::ProportionInterval accuracy_cp, accuracy_wilson;    ///< of accuracy ([0, 1] if none)
  metrics::ProportionInterval review_rate_cp, review_rate_wilson;
  bool feasible = true;  ///< false: the policy could not be met; this is the best achievable
  std::string message;   ///< why infeasible (or a note), empty otherwise
};

/// What `select_review_threshold` returns.
struct ReviewThresholds {
  std::string policy;   ///< ReviewOptions::describe()
  ReviewPoint overall;  ///< the single threshold, or the joint result of the per-class ones
  /// per_class: one point per class c over the items predicted as c (argmax, ties to the lowest
  /// index); `overall.threshold` is then NaN and `overall` counts the union of the auto-routed
  /// items of every class: joint accuracy = sum_c correct_c / sum_c auto_c, joint review rate =
  /// 1 - sum_c auto_c / n_total. A class predicted for no calibration item gets threshold +inf.
  std::vector<ReviewPoint> per_class;
  bool feasible = true;  ///< every part of the policy met
  std::string message;   ///< what was not met and the best achievable values
};

/// Chooses the confidence threshold(s) of the review queue on calibration data.
///
/// Confidence c_i = max_k P[i, k], predicted label = argmax (ties to the lowest class index),
/// correct when it equals y_i. Candidates are the distinct confidences carried by rows of positive
/// weight: threshold t auto-routes every item with c_i >= t, so tied confidences are never split.
/// When no candidate meets the policy the best achievable point is returned with
/// `feasible = false` and a message: the highest (bound on) accuracy for an accuracy floor
/// (ties: the lower review rate), the highest accuracy within the budget when only the budget
/// failed. Exact, O(n log n + n K) (one sort of the confidences; Clopper-Pearson bounds evaluated
/// only where they can change the answer). Thread-safe.
///
/// Throws InvalidParams for bad options (no policy, values out of range, per_class without
/// min_accuracy) and InvalidInput for bad P, y or sample weights.
ReviewThresholds select_review_threshold(VectorView<const double> y, MatrixView<const double> P,
                                         const ReviewOptions& options,
                                         VectorView<const double> sample_weight = {});

/// Routes items with the thresholds of `r`: 1 = auto-routed (its argmax label), 0 = review.
std::vector<std::uint8_t> route_items(const ReviewThresholds& r, MatrixView<const double> P);

// ---- risk-coverage curve ----------------------------------------------------------------------

/// Risk (error rate of the auto-routed items) against coverage (their weight share), one point
/// per distinct confidence, in decreasing threshold order (coverage increasing to 1).
struct RiskCoverageCurve {
  std::vector<double> threshold;  ///< auto-route c_i >= threshold
  std::vector<double> coverage;   ///< n_auto / n_total
  std::vector<double> risk;       ///< 1 - accuracy of the auto-routed items
  /// Area under the risk-coverage step curve: sum_j (coverage_j - coverage_{j-1}) * risk_j
  /// (coverage_0 = 0). With distinct confidences and unit weights it equals Geifman et al.'s
  /// (1/n) sum_i risk(top i items); tied confidences enter as one step at the tie block's end.
  double aurc = 0.0;
};

/// The risk-coverage curve of max-probability confidence. O(n log n + n K).
RiskCoverageCurve risk_coverage_curve(VectorView<const double> y, MatrixView<const double> P,
                                      VectorView<const double> sample_weight = {});

// ---- split-conformal prediction sets -----------------------------------------------------------

/// Non-conformity score of split-conformal sets.
enum class ConformalMethod {
  kLac,           ///< s(x, y) = 1 - P[y] (Sadinle et al. 2019, "least ambiguous set-valued")
  kAps,           ///< s(x, y) = sum of the probabilities ranked at or above y (Romano et al.)
  kApsRandomized  ///< s(x, y, u) = sum of those ranked strictly above y + u * P[y], u ~ U(0, 1)
};

/// Spelling of ConformalMethod everywhere ("lac", "aps", "aps_randomized").
const char* conformal_method_name(ConformalMethod m) noexcept;
/// Parses the spelling; throws InvalidParams listing the choices.
ConformalMethod conformal_method_from_name(const std::string& name);

/// Calibrated split-conformal sets: C(x) = {k : s(x, k) <= quantile}. On exchangeable data,
/// P(y in C(x)) >= 1 - alpha (Vovk et al. 2005; Lei et al. 2018); the randomised APS sets and LAC
/// with distinct scores also cover at most 1 - alpha + 1 / (n + 1).
///
/// APS ranks classes by decreasing probability, ties by lowest class index. The randomised variant
/// draws one u per row from `Rng(random_state, stream)` where stream = 0 for the calibration rows
/// and stream = 1 + the row index at prediction (each row's u depends only on the seed and its
/// index, so a batch gives the same sets whatever the thread count).
class ConformalSets {
 public:
  ConformalSets() = default;
  /// From saved state (validated: alpha in (0, 1), n_classes in [2, kMaxClasses],
  /// n_calibration >= 1, quantile finite or +inf).
  ConformalSets(ConformalMethod method, double alpha, double quantile, int n_classes,
                Index n_calibration, std::uint64_t random_state);

  /// The boolean (n, K) mask of the sets, row-major (out[i * K + k] = 1 when k is in C(x_i)).
  /// Throws InvalidInput when P's K differs from the calibration's or P is not probabilities.
  std::vector<std::uint8_t> predict_sets(MatrixView<const double> P) const;

  ConformalMethod method() const noexcept { return method_; }
  double alpha() const noexcept { return alpha_; }
  /// The ceil((n + 1)(1 - alpha))-th smallest calibration score; +inf when that rank exceeds n
  /// (fewer than 1 / alpha - 1 calibration rows: every set then holds every label).
  double quantile() const noexcept { return quantile_; }
  int n_classes() const noexcept { return n_classes_; }
  Index n_calibration() const noexcept { return n_calibration_; }
  std::uint64_t random_state() const noexcept { return random_state_; }

 private:
  ConformalMethod method_ = ConformalMethod::kLac;
  double alpha_ = 0.1;
  double quantile_ = std::numeric_limits<double>::infinity();
  int n_classes_ = 0;
  Index n_calibration_ = 0;
  std::uint64_t random_state_ = 0;
};

/// Split-conformal calibration on held-out (y_cal, P_cal) at miscoverage alpha in (0, 1).
/// Exchangeable rows are assumed (no sample weights). O(n K log K). Throws InvalidParams for
/// alpha outside (0, 1), InvalidInput for bad y / P.
ConformalSets conformal_calibrate(VectorView<const double> y, MatrixView<const double> P,
                                  double alpha, ConformalMethod method,
                                  std::uint64_t random_state = 0);

/// The conformity scores s(x_i, y_i) of labelled rows (the calibration rows use stream 0 of the
/// randomised method): exposed for tests and diagnostics.
std::vector<double> conformal_scores(VectorView<const double> y, MatrixView<const double> P,
                                     ConformalMethod method, std::uint64_t random_state = 0);

// ---- binary triage band ------------------------------------------------------------------------

/// Options of `select_triage_band`.
struct TriageOptions {
  double min_recall = 0.9;            ///< recall floor of auto-positive + review, in [0, 1]
  double max_review_rate = 0.2;       ///< review budget, in [0, 1]
  std::optional<double> confidence;   ///< set: the recall floor holds on the lower CP bound
  double interval_confidence = 0.95;  ///< level of the intervals when `confidence` is unset
  void validate() const;
  std::string describe() const;
};

/// A triage band: p < t_low auto-negative, t_low <= p < t_high review, p >= t_high
/// auto-positive (t_low == t_high: no review band; +inf: nothing above).
struct TriageBand {
  std::string policy;
  double t_low = 0.0, t_high = 0.0;
  double n_total = 0.0, n_review = 0.0;
  double tp = 0, fp = 0, tn = 0, fn = 0;  ///< of the automatic decisions
  double positives_in_review = 0.0;       ///< positive weight in the band
  /// (tp + positives in review) / all positives: positives that reach a person or an alert.
  double recall = 0.0;
  double review_rate = 0.0;  ///< n_review / n_total
  /// Errors that escape review, per item: (fp + fn) / n_total (the objective).
  double auto_error_rate = 0.0;
  /// (tp + tn) / (n_total - n_review) (NaN when everything is reviewed).
  double auto_accuracy = std::numeric_limits<double>::quiet_NaN();
  double confidence = 0.95;
  metrics::ProportionInterval recall_cp, recall_wilson, review_rate_cp, review_rate_wilson;
  metrics::ProportionInterval auto_accuracy_cp, auto_accuracy_wilson;
  bool feasible = true;
  std::string message;
};

/// Chooses the binary triage band on calibration data (y in {0, 1}, p = P(y = 1)).
///
/// Objective: minimise the weight of automatic errors per item, (FP among auto-positive + FN
/// among auto-negative) / n, subject to recall (positives not auto-negative) >= min_recall (or its
/// lower Clopper-Pearson bound with `confidence`) and review rate <= max_review_rate. Ties: the
/// lower review rate, then the higher t_low. Candidates are the distinct scores (ties never split)
/// and +inf. Always feasible on point estimates (the band [min p, min p) flags everything); with
/// `confidence` an unreachable floor gives the highest-recall band, `feasible = false`.
/// Exact, O(n log n) (one sort, then a two-pointer scan over tie blocks).
TriageBand select_triage_band(VectorView<const double> y, VectorView<const double> p,
                              const TriageOptions& options,
                              VectorView<const double> sample_weight = {});

// ---- saved review policy -----------------------------------------------------------------------

/// What a model file keeps of a review policy (encoded by the artifact codec, format 1.5):
/// kind "threshold" (thresholds: one value, or one per class when per_class), "conformal"
/// (method, alpha, quantile, n_classes, n_calibration, random_state) or "triage" (t_low, t_high).
struct ReviewPolicyRecord {
  std::string kind = "threshold";  ///< "threshold" | "conformal" | "triage"
  std::string policy;              ///< description of the policy that chose it
  bool per_class = false;
  std::vector<double> thresholds;    ///< "threshold": 1 value, or K when per_class (+inf allowed)
  ConformalSets conformal;           ///< "conformal"
  double t_low = 0.0, t_high = 0.0;  ///< "triage"

  static ReviewPolicyRecord from(const ReviewThresholds& r);
  static ReviewPolicyRecord from(const ConformalSets& c);
  static ReviewPolicyRecord from(const TriageBand& b);
};

}  // namespace calibrisk
