// SPDX-License-Identifier: Apache-2.0
// Operating-point selection (declared in threshold/select.hpp): one pass over the tie blocks of the
// sorted scores, split into stages (totals, conservative alert limit, the two scans, the failure
// message, the chosen point). Every arithmetic expression is the one the header-only version used,
// so chosen thresholds and reported numbers are bit-identical.
#include <calibrisk/threshold/select.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

namespace calibrisk {
namespace {

struct Counts {
  double tp = 0, fp = 0, tp2 = 0, fp2 = 0;  // weighted counts and sums of squared weights
};

/// Proportion interval with weights: Kish's effective n, p-hat * n_eff successes.
metrics::ProportionInterval weighted_interval(double num, double den, double sq, double confidence,
                                              IntervalMethod m) {
  if (!(den > 0.0)) return {0.0, 1.0};
  const double neff = metrics::effective_sample_size(den, sq);
  const double x = std::min(neff, num / den * neff);
  return m == IntervalMethod::kWilson ? metrics::wilson_interval(x, neff, confidence)
                                      : metrics::clopper_pearson_interval(x, neff, confidence);
}

OperatingPoint make_point(double threshold, const Counts& c, double P, double N, double P2,
                          double N2, double beta, double cfp, double cfn, double confidence) {
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

/// What the policy and options reduce to, plus the class totals of the sorted scores.
struct Selection {
  PolicyKind kind = PolicyKind::kMaxFBeta;
  bool cons = false;
  double beta = 1.0, cfp = 1.0, cfn = 1.0;
  double P = 0.0, N = 0.0, W = 0.0, P2 = 0.0, N2 = 0.0;
  double floor = 0.0;
  IntervalMethod im = IntervalMethod::kWilson;
  double conf = 0.95, b2 = 1.0, bayes_t = 0.5;
  double alert_neff = 0.0;

  /// Upper bound of the alert proportion at `rate` (n = Kish's effective size of all rows).
  double alert_upper(double rate) const {
    const double x = std::min(alert_neff, rate * alert_neff);
    return im == IntervalMethod::kWilson
               ? metrics::wilson_interval(x, alert_neff, conf).upper
               : metrics::clopper_pearson_interval(x, alert_neff, conf).upper;
  }
};

/// The scan's running result: the best feasible candidate and the best achievable measure.
struct ScanState {
  bool found = false;
  double best_obj = 0.0, best_t = 0.0;
  Counts best_c;
  double achievable = 0.0, achievable_t = 0.0;
  Counts bayes_c;                                                 // counts at p >= bayes threshold
  double recall_ok_tp = std::numeric_limits<double>::infinity();  // conservative min_recall
  double alert_max_rate = -1.0;  // conservative max_alert_rate: largest rate within the budget
};

// Stage 1: validation, the policy's numbers and the class totals.
Selection make_selection(const metrics::SortedScores& s, const ThresholdPolicy& pol,
                         const ThresholdOptions& opt) {
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
  Selection x;
  x.kind = pol.kind;
  x.cons = cons;
  x.beta = pol.kind == PolicyKind::kMaxFBeta ? pol.value : opt.beta;
  x.cfp = pol.kind == PolicyKind::kMinCost ? pol.cost_fp : opt.cost_fp;
  x.cfn = pol.kind == PolicyKind::kMinCost ? pol.cost_fn : opt.cost_fn;
  x.P = s.positive_weight();
  x.N = s.negative_weight();
  x.W = x.P + x.N;
  if (s.has_weights()) {
    for (Index i = 0; i < s.size(); ++i) {
      (s.label()[i] ? x.P2 : x.N2) += s.weight()[i] * s.weight()[i];
    }
  } else {
    x.P2 = x.P;
    x.N2 = x.N;
  }
  x.floor = pol.value;
  x.im = opt.conservative_interval;
  x.conf = opt.confidence;
  x.b2 = x.beta * x.beta;
  x.bayes_t = x.cfp / (x.cfp + x.cfn);
  x.alert_neff = metrics::effective_sample_size(x.W, x.P2 + x.N2);
  return x;
}

// Stage 2 (conservative max_alert_rate): the largest alert rate whose upper bound stays within the
// budget, by bisection (the bound grows with the rate at a fixed n); -1 when none does.
double conservative_alert_limit(const Selection& x) {
  if (x.alert_upper(1.0) <= x.floor) return 1.0;
  if (!(x.alert_upper(0.0) <= x.floor)) return -1.0;
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 200 && hi - lo > 0.0; ++it) {
    const double mid = lo + (hi - lo) / 2.0;
    if (mid <= lo || mid >= hi) break;
    (x.alert_upper(mid) <= x.floor ? lo : hi) = mid;
  }
  return lo;
}

// Stage 3 (conservative min_precision): scans from the lowest threshold up. Recall only decreases
// on the way, so the first feasible block has the highest recall and the scan stops as soon as the
// recall drops below it; the (costly, Clopper-Pearson: ibeta_inv) precision bound is evaluated
// only near the answer. Counts at a threshold are the totals minus the weight strictly below it.
template <class W>
void scan_up_min_precision(const metrics::SortedScores& s, W w, const Selection& x, ScanState& st) {
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  double below_tp = 0, below_fp = 0, below_tp2 = 0, below_fp2 = 0;
  Index hi = s.size();  // current block is [lo, hi)
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
    Counts c;
    c.tp = x.P - below_tp;
    c.fp = x.N - below_fp;
    c.tp2 = x.P2 - below_tp2;
    c.fp2 = x.N2 - below_fp2;
    below_tp += bp;
    below_fp += bn;
    below_tp2 += bp2;
    below_fp2 += bn2;
    const double flagged = c.tp + c.fp;
    if (!(flagged > 0.0)) continue;
    const double recall = c.tp / x.P;
    if (st.found && recall < st.best_obj) break;  // higher thresholds cannot reach this recall
    const double point = c.tp / flagged;
    if (point < x.floor) continue;  // the bound never exceeds the point estimate
    const double measure = weighted_interval(c.tp, flagged, c.tp2 + c.fp2, x.conf, x.im).lower;
    if (measure >= x.floor) {  // equal recall further up: the higher threshold wins the tie
      st.found = true;
      st.best_obj = recall;
      st.best_t = t;
      st.best_c = c;
    }
  }
}

// The objective `obj` and constrained measure of candidate threshold `t` with counts `c`;
// returns whether the candidate satisfies the policy. Updates the conservative bookkeeping.
bool evaluate_candidate(const Selection& x, ScanState& st, const Counts& c, double t, double& obj,
                        double& measure) {
  const double flagged = c.tp + c.fp;
  switch (x.kind) {
    case PolicyKind::kMaxFBeta:
      obj = (1.0 + x.b2) * c.tp / ((1.0 + x.b2) * c.tp + x.b2 * (x.P - c.tp) + c.fp);
      return true;
    case PolicyKind::kMinCost:
      obj = -(x.cfp * c.fp + x.cfn * (x.P - c.tp));
      return true;
    case PolicyKind::kMinRecall:
      // The recall bound has a fixed n (all positives) and grows with tp: once some tp is
      // feasible every larger tp is, so the (costly) bound is evaluated only until then.
      measure = c.tp / x.P;
      obj = c.tp / flagged;
      if (x.cons) {
        if (c.tp >= st.recall_ok_tp) {
          measure = x.floor;
        } else if (measure >= x.floor) {
          measure = weighted_interval(c.tp, x.P, x.P2, x.conf, x.im).lower;
          if (measure >= x.floor) st.recall_ok_tp = c.tp;
        }
        // the best bound achievable is the one at the largest tp: evaluated after the pass
      }
      return measure >= x.floor;
    case PolicyKind::kMinPrecision:
      measure = c.tp / flagged;
      obj = c.tp / x.P;
      if (x.cons) {
        // The bound never exceeds the point estimate, so it is only computed where it could
        // change the answer: a possible improvement, or a better "best achievable".
        const bool could_select = measure >= x.floor && (!st.found || obj > st.best_obj);
        if (could_select || measure > st.achievable) {
          measure = weighted_interval(c.tp, flagged, c.tp2 + c.fp2, x.conf, x.im).lower;
        } else {
          measure = -1.0;  // cannot be selected nor improve "achievable"
        }
      }
      return measure >= x.floor;
    case PolicyKind::kMaxAlertRate: {
      measure = flagged / x.W;
      obj = c.tp / x.P;
      if (!x.cons) return measure <= x.floor;
      // The upper bound grows with the alert rate (fixed n): compare the rate with the largest
      // rate whose bound fits the budget, found once by bisection; the bound itself is evaluated
      // once, at the first (smallest) rate, for the "best achievable" message.
      const bool feasible = measure <= st.alert_max_rate;
      if (st.achievable == std::numeric_limits<double>::infinity()) {
        st.achievable = x.alert_upper(measure);
        st.achievable_t = t;
      }
      measure = feasible ? 0.0 : 2.0;  // keeps "achievable" at the first block's bound
      return feasible;
    }
  }
  return true;
}

// Stage 4: one pass from the highest threshold down, evaluating every tie block that carries
// positive weight; among equal objectives the first (highest) threshold is kept.
template <class W>
void scan_down(const metrics::SortedScores& s, W w, const Selection& x, ScanState& st) {
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  const Index n = s.size();
  Counts c;
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
    if (t >= x.bayes_t) st.bayes_c = c;
    double obj = 0.0, measure = 0.0;
    const bool feasible = evaluate_candidate(x, st, c, t, obj, measure);
    if (x.kind == PolicyKind::kMaxAlertRate) {
      if (measure < st.achievable) {
        st.achievable = measure;
        st.achievable_t = t;
      }
    } else if (measure > st.achievable) {
      st.achievable = measure;
      st.achievable_t = t;
    }
    if (feasible && (!st.found || obj > st.best_obj)) {
      st.found = true;
      st.best_obj = obj;
      st.best_t = t;
      st.best_c = c;
    }
  }
}

// Stage 5: no candidate satisfies the policy; say what the best achievable value was.
[[noreturn]] void throw_infeasible(const ThresholdPolicy& pol, const Selection& x,
                                   const ScanState& st) {
  std::ostringstream os;
  os.precision(6);
  const std::string bound =
      x.cons ? std::string(" (the ") + (pol.kind == PolicyKind::kMaxAlertRate ? "upper" : "lower") +
                   " " + std::to_string(static_cast<int>(std::lround(x.conf * 100))) + "% " +
                   (x.im == IntervalMethod::kWilson ? "Wilson" : "Clopper-Pearson") + " bound)"
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
  os << st.achievable << " (at threshold " << st.achievable_t
     << "); relax the constraint or collect more data.";
  throw InvalidInput(os.str());
}

}  // namespace

OperatingPoint select_threshold(const metrics::SortedScores& s, const ThresholdPolicy& pol,
                                const ThresholdOptions& opt) {
  const Selection x = make_selection(s, pol, opt);
  ScanState st;
  st.achievable = pol.kind == PolicyKind::kMaxAlertRate ? std::numeric_limits<double>::infinity()
                                                        : -std::numeric_limits<double>::infinity();
  if (x.cons && pol.kind == PolicyKind::kMaxAlertRate)
    st.alert_max_rate = conservative_alert_limit(x);
  const bool scan_up = x.cons && pol.kind == PolicyKind::kMinPrecision;
  if (scan_up) s.visit_weights(nullptr, [&](auto w) { scan_up_min_precision(s, w, x, st); });
  // Conservative min_precision without a feasible threshold: the downward pass then finds the
  // best bound achievable for the message (bounds only where the point estimate beats it).
  if (!scan_up || !st.found) s.visit_weights(nullptr, [&](auto w) { scan_down(s, w, x, st); });
  if (!st.found && x.cons && pol.kind == PolicyKind::kMinRecall) {
    st.achievable = weighted_interval(x.P, x.P, x.P2, x.conf, x.im).lower;  // every case flagged
    st.achievable_t = s.score().back();
  }
  if (!st.found) throw_infeasible(pol, x, st);
  OperatingPoint op =
      make_point(st.best_t, st.best_c, x.P, x.N, x.P2, x.N2, x.beta, x.cfp, x.cfn, x.conf);
  op.policy =
      pol.describe() +
      (x.cons ? std::string(" [conservative: ") +
                    (x.im == IntervalMethod::kWilson ? "Wilson" : "Clopper-Pearson") + " bound]"
              : std::string());
  if (pol.kind == PolicyKind::kMinCost) {
    op.bayes_threshold = x.bayes_t;
    op.bayes_expected_cost = (x.cfp * st.bayes_c.fp + x.cfn * (x.P - st.bayes_c.tp)) / x.W;
    op.bayes_recall = st.bayes_c.tp / x.P;
    op.bayes_alert_rate = (st.bayes_c.tp + st.bayes_c.fp) / x.W;
  }
  return op;
}

OperatingPoint select_threshold(VectorView<const double> y, VectorView<const double> p,
                                const ThresholdPolicy& pol, const ThresholdOptions& opt,
                                VectorView<const double> sample_weight) {
  pol.validate();
  opt.validate();
  return select_threshold(metrics::SortedScores(y, p, sample_weight, "select_threshold"), pol, opt);
}

OperatingPoint operating_point_at(const metrics::SortedScores& s, double threshold,
                                  const ThresholdOptions& opt) {
  opt.validate();
  if (std::isnan(threshold)) throw InvalidInput("operating_point_at: threshold is NaN.");
  s.require_both_classes("operating_point_at");
  const double P = s.positive_weight(), N = s.negative_weight();
  double P2 = 0.0, N2 = 0.0;
  Counts c;
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
  OperatingPoint op =
      make_point(threshold, c, P, N, P2, N2, opt.beta, opt.cost_fp, opt.cost_fn, opt.confidence);
  op.policy = "fixed threshold";
  return op;
}

}  // namespace calibrisk
