// SPDX-License-Identifier: Apache-2.0
/// @file select.hpp
/// Operating-point selection: the threshold a clinical workflow can live with, chosen under a
/// policy (max F-beta, recall floor, precision floor, alert budget, cost ratio), reported with
/// confusion counts, rates and Wilson / Clopper-Pearson intervals (Boost.Math).
#pragma once

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

namespace detail {

struct Counts {
  double tp = 0, fp = 0, tp2 = 0, fp2 = 0;  // weighted counts and sums of squared weights
};

/// Proportion interval with weights: Kish's effective n, p-hat * n_eff successes.
inline metrics::ProportionInterval weighted_interval(double num, double den, double sq,
                                                     double confidence, IntervalMethod m) {
  if (!(den > 0.0)) return {0.0, 1.0};
  const double neff = metrics::effective_sample_size(den, sq);
  const double x = std::min(neff, num / den * neff);
  return m == IntervalMethod::kWilson ? metrics::wilson_interval(x, neff, confidence)
                                      : metrics::clopper_pearson_interval(x, neff, confidence);
}

inline OperatingPoint make_point(double threshold, const Counts& c, double P, double N, double P2,
                                 double N2, double beta, double cfp, double cfn,
                                 double confidence) {
  (void)N2;  // the specificity interval is not reported
  OperatingPoint op;
  op.threshold = threshold;
  op.tp = c.tp;
  op.fp = c.fp;
  op.fn = std::max(0.0, P - c.tp);
  op.tn = std::max(0.0, N - c.fp);
  const double flagged = c.tp + c.fp;
  op.precision = flagged > 0.0 ? c.tp / flagged : 0.0;
  op.recall = P > 0.0 ? c.tp / P : 0.0;
  op.specificity = N > 0.0 ? op.tn / N : 0.0;
  op.npv = op.tn + op.fn > 0.0 ? op.tn / (op.tn + op.fn) : std::numeric_limits<double>::quiet_NaN();
  op.alert_rate = flagged / (P + N);
  op.beta = beta;
  const double b2 = beta * beta;
  const double fden = (1.0 + b2) * c.tp + b2 * op.fn + c.fp;
  op.fbeta = fden > 0.0 ? (1.0 + b2) * c.tp / fden : 0.0;
  op.expected_cost = (cfp * c.fp + cfn * op.fn) / (P + N);
  op.confidence = confidence;
  op.precision_wilson =
      weighted_interval(c.tp, flagged, c.tp2 + c.fp2, confidence, IntervalMethod::kWilson);
  op.precision_cp =
      weighted_interval(c.tp, flagged, c.tp2 + c.fp2, confidence, IntervalMethod::kClopperPearson);
  op.recall_wilson = weighted_interval(c.tp, P, P2, confidence, IntervalMethod::kWilson);
  op.recall_cp = weighted_interval(c.tp, P, P2, confidence, IntervalMethod::kClopperPearson);
  return op;
}

}  // namespace detail

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
inline OperatingPoint select_threshold(const metrics::SortedScores& s, const ThresholdPolicy& pol,
                                       const ThresholdOptions& opt = {}) {
  pol.validate();
  opt.validate();
  const bool cons = opt.conservative;
  if (cons && (pol.kind == PolicyKind::kMaxFBeta || pol.kind == PolicyKind::kMinCost)) {
    throw InvalidParams(
        "select_threshold: conservative mode applies to min_recall, min_precision "
        "and max_alert_rate only (policy " +
        pol.describe() + ").");
  }
  s.require_both_classes("select_threshold");
  const double beta = pol.kind == PolicyKind::kMaxFBeta ? pol.value : opt.beta;
  const double cfp = pol.kind == PolicyKind::kMinCost ? pol.cost_fp : opt.cost_fp;
  const double cfn = pol.kind == PolicyKind::kMinCost ? pol.cost_fn : opt.cost_fn;
  const double P = s.positive_weight(), N = s.negative_weight(), W = P + N;
  double P2 = 0.0, N2 = 0.0;
  if (s.has_weights()) {
    for (Index i = 0; i < s.size(); ++i) (s.label()[i] ? P2 : N2) += s.weight()[i] * s.weight()[i];
  } else {
    P2 = P;
    N2 = N;
  }
  const double floor = pol.value;
  const IntervalMethod im = opt.conservative_interval;
  const double conf = opt.confidence;
  const double b2 = beta * beta;
  const double bayes_t = cfp / (cfp + cfn);

  // Best feasible candidate so far (objective, counts, threshold) and best achievable measure.
  bool found = false;
  double best_obj = 0.0, best_t = 0.0;
  detail::Counts best_c;
  double achievable = pol.kind == PolicyKind::kMaxAlertRate
                          ? std::numeric_limits<double>::infinity()
                          : -std::numeric_limits<double>::infinity();
  double achievable_t = 0.0;
  detail::Counts bayes_c;                                         // counts at p >= bayes threshold
  double recall_ok_tp = std::numeric_limits<double>::infinity();  // conservative min_recall
  // Conservative max_alert_rate: the upper bound of the alert proportion (n = Kish's effective
  // size of all rows) and the largest alert rate whose bound stays within the budget.
  const double alert_neff = metrics::effective_sample_size(W, P2 + N2);
  auto alert_upper = [&](double rate) {
    const double x = std::min(alert_neff, rate * alert_neff);
    return im == IntervalMethod::kWilson
               ? metrics::wilson_interval(x, alert_neff, conf).upper
               : metrics::clopper_pearson_interval(x, alert_neff, conf).upper;
  };
  double alert_max_rate = -1.0;
  if (cons && pol.kind == PolicyKind::kMaxAlertRate) {
    if (alert_upper(1.0) <= floor) {
      alert_max_rate = 1.0;
    } else if (alert_upper(0.0) <= floor) {
      double lo = 0.0, hi = 1.0;
      for (int it = 0; it < 200 && hi - lo > 0.0; ++it) {
        const double mid = lo + (hi - lo) / 2.0;
        if (mid <= lo || mid >= hi) break;
        (alert_upper(mid) <= floor ? lo : hi) = mid;
      }
      alert_max_rate = lo;
    }
  }

  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  const Index n = s.size();
  // Conservative min_precision scans from the lowest threshold up: recall only decreases on the
  // way, so the first feasible block has the highest recall and the scan stops as soon as the
  // recall drops below it. The (costly, Clopper-Pearson: ibeta_inv) precision bound is therefore
  // evaluated only near the answer instead of at every block. Counts at a threshold are the
  // totals minus the weight strictly below it.
  const bool reverse_scan = cons && pol.kind == PolicyKind::kMinPrecision;
  if (reverse_scan) {
    s.visit_weights(nullptr, [&](auto w) {
      const double tot_tp2 = P2, tot_fp2 = N2;
      double below_tp = 0, below_fp = 0, below_tp2 = 0, below_fp2 = 0;
      Index hi = n;  // current block is [lo, hi)
      while (hi > 0) {
        Index lo = hi - 1;
        while (lo > 0 && sc[lo - 1] == sc[hi - 1]) --lo;
        double bp = 0, bn = 0, bp2 = 0, bn2 = 0;
        for (Index i = lo; i < hi; ++i) {
          const double wi = w(i);
          if (y[i]) {
            bp += wi;
            bp2 += wi * wi;
          } else {
            bn += wi;
            bn2 += wi * wi;
          }
        }
        const double t = sc[lo];
        hi = lo;
        if (bp + bn <= 0.0) continue;
        detail::Counts c;
        c.tp = P - below_tp;
        c.fp = N - below_fp;
        c.tp2 = tot_tp2 - below_tp2;
        c.fp2 = tot_fp2 - below_fp2;
        below_tp += bp;
        below_fp += bn;
        below_tp2 += bp2;
        below_fp2 += bn2;
        const double flagged = c.tp + c.fp;
        if (!(flagged > 0.0)) continue;
        const double recall = c.tp / P;
        if (found && recall < best_obj) break;  // higher thresholds cannot reach this recall
        const double point = c.tp / flagged;
        double measure = point;
        if (point < floor) continue;  // the bound never exceeds the point estimate
        measure = detail::weighted_interval(c.tp, flagged, c.tp2 + c.fp2, conf, im).lower;
        if (measure >= floor) {  // equal recall further up: the higher threshold wins the tie
          found = true;
          best_obj = recall;
          best_t = t;
          best_c = c;
        }
      }
    });
  }
  // Conservative min_precision without a feasible threshold: the forward pass below then finds
  // the best bound achievable for the message (bounds only where the point estimate beats it).
  if (!reverse_scan || !found)
    s.visit_weights(nullptr, [&](auto w) {
      detail::Counts c;
      double bp = 0, bn = 0, bp2 = 0, bn2 = 0;
      for (Index i = 0; i < n; ++i) {
        const double wi = w(i);
        if (y[i]) {
          bp += wi;
          bp2 += wi * wi;
        } else {
          bn += wi;
          bn2 += wi * wi;
        }
        if (!(i + 1 == n || sc[i + 1] != sc[i])) continue;
        if (bp + bn <= 0.0) continue;  // a score carried only by zero-weight rows is no candidate
        c.tp += bp;
        c.fp += bn;
        c.tp2 += bp2;
        c.fp2 += bn2;
        bp = bn = bp2 = bn2 = 0.0;
        const double t = sc[i];
        if (t >= bayes_t) bayes_c = c;
        const double flagged = c.tp + c.fp;
        double obj = 0.0, measure = 0.0;
        bool feasible = true;
        switch (pol.kind) {
          case PolicyKind::kMaxFBeta:
            obj = (1.0 + b2) * c.tp / ((1.0 + b2) * c.tp + b2 * (P - c.tp) + c.fp);
            break;
          case PolicyKind::kMinCost:
            obj = -(cfp * c.fp + cfn * (P - c.tp));
            break;
          case PolicyKind::kMinRecall: {
            // The recall bound has a fixed n (all positives) and grows with tp: once some tp is
            // feasible every larger tp is, so the (costly) bound is evaluated only until then.
            measure = c.tp / P;
            obj = c.tp / flagged;
            if (cons) {
              if (c.tp >= recall_ok_tp) {
                measure = floor;
              } else if (measure >= floor) {
                measure = detail::weighted_interval(c.tp, P, P2, conf, im).lower;
                if (measure >= floor) recall_ok_tp = c.tp;
              }
              // the best bound achievable is the one at the largest tp: evaluated after the pass
            }
            feasible = measure >= floor;
            break;
          }
          case PolicyKind::kMinPrecision: {
            measure = c.tp / flagged;
            obj = c.tp / P;
            if (cons) {
              // The bound never exceeds the point estimate, so it is only computed where it could
              // change the answer: a possible improvement, or a better "best achievable".
              const bool could_select = measure >= floor && (!found || obj > best_obj);
              if (could_select || measure > achievable) {
                measure = detail::weighted_interval(c.tp, flagged, c.tp2 + c.fp2, conf, im).lower;
              } else {
                measure = -1.0;  // cannot be selected nor improve "achievable"
              }
            }
            feasible = measure >= floor;
            break;
          }
          case PolicyKind::kMaxAlertRate: {
            measure = flagged / W;
            obj = c.tp / P;
            if (cons) {
              // The upper bound grows with the alert rate (fixed n): compare the rate with the
              // largest rate whose bound fits the budget, found once by bisection; the bound itself
              // is evaluated once, at the first (smallest) rate, for the "best achievable" message.
              feasible = measure <= alert_max_rate;
              if (achievable == std::numeric_limits<double>::infinity()) {
                achievable = alert_upper(measure);
                achievable_t = t;
              }
              measure = feasible ? 0.0 : 2.0;  // keeps "achievable" at the first block's bound
            } else {
              feasible = measure <= floor;
            }
            break;
          }
        }
        if (pol.kind == PolicyKind::kMaxAlertRate) {
          if (measure < achievable) {
            achievable = measure;
            achievable_t = t;
          }
        } else if (measure > achievable) {
          achievable = measure;
          achievable_t = t;
        }
        if (feasible && (!found || obj > best_obj)) {
          found = true;
          best_obj = obj;
          best_t = t;
          best_c = c;
        }
      }
    });

  if (!found && cons && pol.kind == PolicyKind::kMinRecall) {
    achievable = detail::weighted_interval(P, P, P2, conf, im).lower;  // every case flagged
    achievable_t = s.score().back();
  }
  if (!found) {
    std::ostringstream os;
    os.precision(6);
    const std::string bound =
        cons ? std::string(" (the ") + (pol.kind == PolicyKind::kMaxAlertRate ? "upper" : "lower") +
                   " " + std::to_string(static_cast<int>(std::lround(conf * 100))) + "% " +
                   (im == IntervalMethod::kWilson ? "Wilson" : "Clopper-Pearson") + " bound)"
             : std::string();
    os << "select_threshold: no threshold satisfies " << pol.describe() << bound << "; the best ";
    switch (pol.kind) {
      case PolicyKind::kMinRecall:
        os << "recall" << bound << " achievable is ";
        break;
      case PolicyKind::kMinPrecision:
        os << "precision" << bound << " achievable is ";
        break;
      default:
        os << "alert rate" << bound << " achievable is ";
        break;
    }
    os << achievable << " (at threshold " << achievable_t
       << "); relax the constraint or collect more data.";
    throw InvalidInput(os.str());
  }
  OperatingPoint op = detail::make_point(best_t, best_c, P, N, P2, N2, beta, cfp, cfn, conf);
  op.policy = pol.describe() +
              (cons ? std::string(" [conservative: ") +
                          (im == IntervalMethod::kWilson ? "Wilson" : "Clopper-Pearson") + " bound]"
                    : std::string());
  if (pol.kind == PolicyKind::kMinCost) {
    op.bayes_threshold = bayes_t;
    op.bayes_expected_cost = (cfp * bayes_c.fp + cfn * (P - bayes_c.tp)) / W;
    op.bayes_recall = bayes_c.tp / P;
    op.bayes_alert_rate = (bayes_c.tp + bayes_c.fp) / W;
  }
  return op;
}

/// Chooses the threshold from unsorted inputs: y (n labels 0/1), p (n finite scores), optional
/// sample weights (see the SortedScores overload). O(n) radix sort + one pass.
inline OperatingPoint select_threshold(VectorView<const double> y, VectorView<const double> p,
                                       const ThresholdPolicy& pol, const ThresholdOptions& opt = {},
                                       VectorView<const double> sample_weight = {}) {
  pol.validate();
  opt.validate();
  return select_threshold(metrics::SortedScores(y, p, sample_weight, "select_threshold"), pol, opt);
}

/// The operating point at a given threshold (flag p >= threshold), with the same fields and
/// intervals; `policy` reads "fixed threshold". Needs both classes. O(n) over the sorted scores.
inline OperatingPoint operating_point_at(const metrics::SortedScores& s, double threshold,
                                         const ThresholdOptions& opt = {}) {
  opt.validate();
  if (std::isnan(threshold)) throw InvalidInput("operating_point_at: threshold is NaN.");
  s.require_both_classes("operating_point_at");
  const double P = s.positive_weight(), N = s.negative_weight();
  double P2 = 0.0, N2 = 0.0;
  detail::Counts c;
  for (Index i = 0; i < s.size(); ++i) {
    const double wi = s.has_weights() ? s.weight()[i] : 1.0;
    const bool pos = s.label()[i] != 0;
    (pos ? P2 : N2) += wi * wi;
    if (s.score()[i] >= threshold) {
      if (pos) {
        c.tp += wi;
        c.tp2 += wi * wi;
      } else {
        c.fp += wi;
        c.fp2 += wi * wi;
      }
    }
  }
  OperatingPoint op = detail::make_point(threshold, c, P, N, P2, N2, opt.beta, opt.cost_fp,
                                         opt.cost_fn, opt.confidence);
  op.policy = "fixed threshold";
  return op;
}

}  // namespace calibrisk
