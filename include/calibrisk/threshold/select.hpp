// SPDX-License-Identifier: Apache-2.0
/// @file select.hpp
/// Operating-point selection: the threshold a clinical workflow can live with, chosen under a
/// policy (max F-beta, recall floor, precision floor, alert budget, cost ratio), reported with
/// confusion counts, rates and Wilson / Clopper-Pearson intervals (Boost.Math, inside the library:
/// the selection itself is compiled in src/threshold/select.cpp).
#pragma once

#include <calibrisk/core/params.hpp>
#include <calibrisk/metrics/intervals.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

namespace calibrisk {

/// What the threshold is chosen to achieve.
enum class PolicyKind {
  kMaxFBeta,      ///< maximise F-beta (value = beta > 0)
  kMinRecall,     ///< recall >= value; among those, the highest precision
  kMinPrecision,  ///< precision >= value; among those, the highest recall
  kMaxAlertRate,  ///< at most a fraction `value` of cases flagged; among those, the highest recall
  kMinCost,       ///< minimise cost_fp * FP + cost_fn * FN
};

/// The one text table of PolicyKind. The canonical spelling is the key of the CLI's `--policy`
/// and of the policy text stored in model files ("min-recall=0.8"; kMinCost is written as its two
/// costs, "cost-fp=1,cost-fn=10"). The underscore forms (Python's keyword names) and "fbeta" /
/// "cost" are accepted aliases.
inline const EnumTable<PolicyKind>& enum_table(PolicyKind) {
  static const EnumText<PolicyKind> e[] = {{PolicyKind::kMaxFBeta, "max-f"},
                                           {PolicyKind::kMinRecall, "min-recall"},
                                           {PolicyKind::kMinPrecision, "min-precision"},
                                           {PolicyKind::kMaxAlertRate, "max-alert-rate"},
                                           {PolicyKind::kMinCost, "min-cost"},
                                           {PolicyKind::kMaxFBeta, "max_f"},
                                           {PolicyKind::kMaxFBeta, "fbeta"},
                                           {PolicyKind::kMinRecall, "min_recall"},
                                           {PolicyKind::kMinPrecision, "min_precision"},
                                           {PolicyKind::kMaxAlertRate, "max_alert_rate"},
                                           {PolicyKind::kMinCost, "min_cost"},
                                           {PolicyKind::kMinCost, "cost"}};
  static const EnumTable<PolicyKind> t{e, sizeof(e) / sizeof(e[0]), "PolicyKind"};
  return t;
}

/// A policy: its kind and its number(s). Build one with the `policy::` helpers.
struct ThresholdPolicy {
  PolicyKind kind = PolicyKind::kMaxFBeta;
  double value = 1.0;    ///< beta, recall floor, precision floor or alert budget (see PolicyKind)
  double cost_fp = 1.0;  ///< kMinCost: cost of one false positive, >= 0
  double cost_fn = 1.0;  ///< kMinCost: cost of one false negative, >= 0 (cost_fp + cost_fn > 0)

  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const {
    auto bad = [](const std::string& what, double v, const std::string& range) {
      throw InvalidParams("ThresholdPolicy: " + what + " must be " + range + ", got " +
                          calibrisk::detail::fmt_value(v) + ".");
    };
    switch (kind) {
      case PolicyKind::kMaxFBeta:
        if (!(value > 0.0) || !std::isfinite(value)) bad("beta", value, "finite and > 0 (1 = F1)");
        break;
      case PolicyKind::kMinRecall:
        if (!(value >= 0.0 && value <= 1.0)) bad("min_recall", value, "in [0, 1]");
        break;
      case PolicyKind::kMinPrecision:
        if (!(value >= 0.0 && value <= 1.0)) bad("min_precision", value, "in [0, 1]");
        break;
      case PolicyKind::kMaxAlertRate:
        if (!(value > 0.0 && value <= 1.0)) bad("max_alert_rate", value, "in (0, 1]");
        break;
      case PolicyKind::kMinCost:
        if (!(cost_fp >= 0.0) || !std::isfinite(cost_fp))
          bad("cost_fp", cost_fp, "finite and >= 0");
        if (!(cost_fn >= 0.0) || !std::isfinite(cost_fn))
          bad("cost_fn", cost_fn, "finite and >= 0");
        if (!(cost_fp + cost_fn > 0.0)) bad("cost_fp + cost_fn", cost_fp + cost_fn, "> 0");
        break;
    }
  }
  /// Human-readable description, e.g. "min_recall=0.8 (highest precision with recall >= 0.8)".
  std::string describe() const {
    std::ostringstream os;
    os.precision(6);
    switch (kind) {
      case PolicyKind::kMaxFBeta:
        os << "max_fbeta beta=" << value;
        break;
      case PolicyKind::kMinRecall:
        os << "min_recall=" << value << " (highest precision with recall >= " << value << ")";
        break;
      case PolicyKind::kMinPrecision:
        os << "min_precision=" << value << " (highest recall with precision >= " << value << ")";
        break;
      case PolicyKind::kMaxAlertRate:
        os << "max_alert_rate=" << value << " (highest recall with at most " << value
           << " of cases flagged)";
        break;
      case PolicyKind::kMinCost:
        os << "min_cost cost_fp=" << cost_fp << " cost_fn=" << cost_fn;
        break;
    }
    return os.str();
  }
};

/// Builders: `select_threshold(y, p, policy::min_recall(0.8))`.
namespace policy {
inline ThresholdPolicy max_fbeta(double beta = 1.0) { return {PolicyKind::kMaxFBeta, beta, 1, 1}; }
inline ThresholdPolicy min_recall(double r) { return {PolicyKind::kMinRecall, r, 1, 1}; }
inline ThresholdPolicy min_precision(double p) { return {PolicyKind::kMinPrecision, p, 1, 1}; }
inline ThresholdPolicy max_alert_rate(double a) { return {PolicyKind::kMaxAlertRate, a, 1, 1}; }
inline ThresholdPolicy min_cost(double cost_fp, double cost_fn) {
  return {PolicyKind::kMinCost, 0.0, cost_fp, cost_fn};
}
}  // namespace policy

/// Which interval conservative mode compares with the floor.
enum class IntervalMethod { kWilson, kClopperPearson };

/// Options of `select_threshold`.
struct ThresholdOptions {
  double confidence = 0.95;  ///< level of every interval, in (0, 1)
  /// When true the floor applies to the confidence bound, not the point estimate: the lower bound
  /// of recall (kMinRecall) or precision (kMinPrecision) must reach the floor, the upper bound of
  /// the alert rate must stay within the budget (kMaxAlertRate). Not defined for kMaxFBeta and
  /// kMinCost (InvalidParams).
  bool conservative = false;
  IntervalMethod conservative_interval = IntervalMethod::kWilson;
  /// F-beta reported in every OperatingPoint (kMaxFBeta uses the policy's beta instead), > 0.
  double beta = 1.0;
  /// Costs behind `expected_cost` when the policy is not kMinCost (1 and 1: the error rate).
  double cost_fp = 1.0;
  double cost_fn = 1.0;
  void validate() const {
    metrics::detail::check_confidence(confidence, "ThresholdOptions.confidence");
    if (!(beta > 0.0) || !std::isfinite(beta)) {
      throw InvalidParams("ThresholdOptions.beta must be finite and > 0, got " +
                          calibrisk::detail::fmt_value(beta) + ".");
    }
    if (!(cost_fp >= 0.0) || !(cost_fn >= 0.0) || !std::isfinite(cost_fp + cost_fn)) {
      throw InvalidParams("ThresholdOptions.cost_fp and cost_fn must be finite and >= 0.");
    }
  }
};

/// A chosen operating point. Counts are weighted when sample weights are given.
struct OperatingPoint {
  double threshold = 0.0;  ///< flag a case when p >= threshold
  std::string policy;      ///< description of the policy (and conservative mode)
  double tp = 0, fp = 0, tn = 0, fn = 0;
  double precision = 0.0;      ///< PPV = tp / (tp + fp)
  double recall = 0.0;         ///< sensitivity = tp / (tp + fn)
  double specificity = 0.0;    ///< tn / (tn + fp)
  double npv = 0.0;            ///< tn / (tn + fn); NaN when every case is flagged
  double alert_rate = 0.0;     ///< (tp + fp) / total
  double beta = 1.0;           ///< the beta of `fbeta`
  double fbeta = 0.0;          ///< (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)
  double expected_cost = 0.0;  ///< (cost_fp fp + cost_fn fn) / total, per case
  double confidence = 0.95;
  metrics::ProportionInterval precision_wilson, recall_wilson;  ///< Wilson score intervals
  metrics::ProportionInterval precision_cp, recall_cp;          ///< Clopper-Pearson intervals
  /// kMinCost only (NaN otherwise): the threshold cost_fp / (cost_fp + cost_fn) that calibrated
  /// probabilities imply (Elkan 2001), the expected cost and recall when flagging p >= it, and the
  /// difference to the empirically optimal point.
  double bayes_threshold = std::numeric_limits<double>::quiet_NaN();
  double bayes_expected_cost = std::numeric_limits<double>::quiet_NaN();
  double bayes_recall = std::numeric_limits<double>::quiet_NaN();
  double bayes_alert_rate = std::numeric_limits<double>::quiet_NaN();
};

/// Chooses the threshold under `pol` from sorted scores.
///
/// Candidates are the distinct score values carried by rows of positive weight; flagging at
/// candidate t means flagging every row with score >= t, so tied scores are always flagged
/// together (a tie block is never split). The objective is evaluated at every candidate in one pass
/// over the sorted scores; among candidates with exactly the same objective value the *highest*
/// threshold wins (fewest alerts). Scores need not be probabilities (the Bayes threshold of
/// kMinCost is meaningful only for calibrated probabilities).
///
/// Throws InvalidParams for a bad policy/options (or `conservative` with kMaxFBeta / kMinCost),
/// InvalidInput when a class has zero total weight, and InvalidInput stating the best value
/// achievable when no candidate satisfies the policy. O(n) after the sort; thread-safe.
///
/// Example: `auto op = select_threshold(sorted, policy::min_recall(0.8));`
OperatingPoint select_threshold(const metrics::SortedScores& s, const ThresholdPolicy& pol,
                                const ThresholdOptions& opt = {});

/// Chooses the threshold from unsorted inputs: y (n labels 0/1), p (n finite scores), optional
/// sample weights (see the SortedScores overload). O(n) radix sort + one pass.
OperatingPoint select_threshold(VectorView<const double> y, VectorView<const double> p,
                                const ThresholdPolicy& pol, const ThresholdOptions& opt = {},
                                VectorView<const double> sample_weight = {});

/// The operating point at a given threshold (flag p >= threshold), with the same fields and
/// intervals; `policy` reads "fixed threshold". Needs both classes. O(n) over the sorted scores.
OperatingPoint operating_point_at(const metrics::SortedScores& s, double threshold,
                                  const ThresholdOptions& opt = {});

}  // namespace calibrisk
