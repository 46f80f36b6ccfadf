// SPDX-License-Identifier: Apache-2.0
// Review-queue thresholds and the risk-coverage curve (declared in threshold/review.hpp). Both
// rest on the same construction: sort the rows by confidence max_k P[i, k] (decreasing), walk the
// tie blocks accumulating weighted auto-routed and correct counts; each block end is a candidate
// threshold (so tied confidences are never split). A policy is then a scan over the candidates.
#include <calibrisk/threshold/review.hpp>

#include "threshold/review_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>

namespace calibrisk {

using detail::review::fmt;
using detail::review::percent;

void validate_probability_matrix(MatrixView<const double> P, const std::string& where) {
  if (P.rows() <= 0) throw InvalidInput(where + ": P has 0 rows; pass at least one item.");
  const Index K = P.cols();
  if (K < 2 || K > kMaxClasses) {
    throw InvalidInput(where + ": P has " + std::to_string(K) +
                       " columns; pass one probability column per class, between 2 and " +
                       std::to_string(kMaxClasses) +
                       " classes (a binary model: the two columns [1 - p, p]).");
  }
  const double tol = probability_row_tolerance(static_cast<int>(K));
  for (Index i = 0; i < P.rows(); ++i) {
    double sum = 0.0;
    for (Index k = 0; k < K; ++k) {
      const double v = P(i, k);
      if (!(v >= 0.0 && v <= 1.0 + tol)) {
        throw InvalidInput(where + ": P[" + std::to_string(i) + ", " + std::to_string(k) + "] is " +
                           detail::fmt_value(v) +
                           "; probabilities must be finite and in [0, 1] (pass predict_proba "
                           "output, not scores or logits).");
      }
      sum += v;
    }
    if (!(std::abs(sum - 1.0) <= tol)) {
      throw InvalidInput(where + ": row " + std::to_string(i) + " of P sums to " +
                         detail::fmt_value(sum) + "; each row must sum to 1 within " + fmt(tol) +
                         " (1e-6 * K); normalise the rows first.");
    }
  }
}

void ReviewOptions::validate() const {
  const std::string w = "select_review_threshold";
  if (!min_accuracy && !max_review_rate) {
    throw InvalidParams(w +
                        ": no policy; pass min_accuracy (e.g. 0.98) and/or max_review_rate "
                        "(e.g. 0.2).");
  }
  detail::review::check_unit(min_accuracy, "min_accuracy", w);
  detail::review::check_unit(max_review_rate, "max_review_rate", w);
  if (confidence) metrics::detail::check_confidence(*confidence, w);
  metrics::detail::check_confidence(interval_confidence, w + " (interval_confidence)");
  if (per_class && !min_accuracy) {
    throw InvalidParams(w +
                        ": per_class thresholds need min_accuracy (each class meets the floor "
                        "within its predicted items); pass min_accuracy=...");
  }
}

std::string ReviewOptions::describe() const {
  std::string s;
  if (min_accuracy) s += "min_accuracy=" + fmt(*min_accuracy);
  if (max_review_rate)
    s += (s.empty() ? "" : ", ") + std::string("max_review_rate=") + fmt(*max_review_rate);
  if (per_class) s += ", per_class";
  if (confidence) s += " [conservative: " + percent(*confidence) + " Clopper-Pearson lower bound]";
  return s;
}

namespace {

/// Confidence, prediction and correctness of each row.
struct Scored {
  std::vector<double> conf;
  std::vector<int> pred;
  std::vector<std::uint8_t> correct;
};

Scored score_rows(VectorView<const double> y, MatrixView<const double> P) {
  const Index n = P.rows(), K = P.cols();
  Scored s;
  s.conf.resize(static_cast<std::size_t>(n));
  s.pred.resize(static_cast<std::size_t>(n));
  s.correct.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    int best = 0;
    double m = P(i, 0);
    for (Index k = 1; k < K; ++k) {
      if (P(i, k) > m) {  // strict: ties go to the lowest class index
        m = P(i, k);
        best = static_cast<int>(k);
      }
    }
    s.conf[i] = m;
    s.pred[i] = best;
    s.correct[i] = y.empty() ? 0 : static_cast<std::uint8_t>(y[i] == best);
  }
  return s;
}

/// One candidate threshold: the end of a tie block, with cumulative weighted counts.
struct Candidate {
  double t = 0.0;
  double n_auto = 0.0, n_correct = 0.0, sq_auto = 0.0;
};

/// The candidates of the rows `rows` (decreasing threshold) and their total weight / squares.
struct Candidates {
  std::vector<Candidate> c;
  double total = 0.0, sq_total = 0.0;
};

Candidates build_candidates(const Scored& s, VectorView<const double> w, std::vector<Index> rows) {
  Candidates out;
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [&](Index i) { return !(detail::review::weight_of(w, i) > 0.0); }),
             rows.end());
  std::sort(rows.begin(), rows.end(), [&](Index a, Index b) { return s.conf[a] > s.conf[b]; });
  Candidate cur;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Index i = rows[r];
    const double wi = detail::review::weight_of(w, i);
    cur.n_auto += wi;
    cur.sq_auto += wi * wi;
    if (s.correct[i]) cur.n_correct += wi;
    if (r + 1 == rows.size() || s.conf[rows[r + 1]] != s.conf[i]) {
      cur.t = s.conf[i];
      out.c.push_back(cur);
    }
  }
  out.total = cur.n_auto;
  out.sq_total = cur.sq_auto;
  return out;
}

ReviewPoint make_point(const Candidates& cs, const Candidate* c, double level) {
  ReviewPoint p;
  p.confidence = level;
  p.n_total = cs.total;
  if (c) {
    p.threshold = c->t;
    p.n_auto = c->n_auto;
    p.n_correct = c->n_correct;
  }
  if (!(cs.total > 0.0)) {
    p.review_rate = p.coverage = std::numeric_limits<double>::quiet_NaN();
    return p;
  }
  p.coverage = p.n_auto / cs.total;
  p.review_rate = (cs.total - p.n_auto) / cs.total;
  if (p.n_auto > 0.0) p.accuracy = p.n_correct / p.n_auto;
  const double sq_auto = c ? c->sq_auto : 0.0;
  const auto acc = detail::review::intervals(p.n_correct, p.n_auto, sq_auto, level);
  p.accuracy_cp = acc.cp;
  p.accuracy_wilson = acc.wilson;
  const auto rev = detail::review::intervals(cs.total - p.n_auto, cs.total, cs.sq_total, level);
  p.review_rate_cp = rev.cp;
  p.review_rate_wilson = rev.wilson;
  return p;
}

/// The policy reduced to numbers; `measure(j)` is the accuracy (or its lower bound) of candidate j.
struct Policy {
  const ReviewOptions* o = nullptr;
  double level = 0.95;
  double measure(const Candidate& c) const {
    if (!(c.n_auto > 0.0)) return -1.0;
    const double point = c.n_correct / c.n_auto;
    return o->confidence
               ? detail::review::cp_lower(c.n_correct, c.n_auto, c.sq_auto, *o->confidence)
               : point;
  }
  double review(const Candidates& cs, const Candidate& c) const {
    return (cs.total - c.n_auto) / cs.total;
  }
};

/// The candidate with the highest measure among indices >= first (review rate decreases with the
/// index); ties: the highest index (lower review rate). Bounds only where the point beats the best.
std::ptrdiff_t best_measure(const Candidates& cs, const Policy& pol, std::ptrdiff_t first,
                            double& best) {
  std::ptrdiff_t arg = -1;
  best = -std::numeric_limits<double>::infinity();
  for (std::ptrdiff_t j = static_cast<std::ptrdiff_t>(cs.c.size()) - 1; j >= first; --j) {
    const Candidate& c = cs.c[static_cast<std::size_t>(j)];
    const double point = c.n_auto > 0.0 ? c.n_correct / c.n_auto : -1.0;
    if (!(point > best)) continue;  // the bound never exceeds the point estimate
    const double m = pol.measure(c);
    if (m > best) {
      best = m;
      arg = j;
    }
  }
  return arg;
}

/// The first index whose review rate is within the budget (-1: every rate is, i.e. index 0).
std::ptrdiff_t first_within_budget(const Candidates& cs, const Policy& pol, double budget) {
  for (std::size_t j = 0; j < cs.c.size(); ++j) {
    if (pol.review(cs, cs.c[j]) <= budget) return static_cast<std::ptrdiff_t>(j);
  }
  return static_cast<std::ptrdiff_t>(cs.c.size());
}

/// The floor policy on one set of candidates: the largest index (lowest review rate) whose measure
/// reaches the floor, or -1.
std::ptrdiff_t lowest_review_meeting_floor(const Candidates& cs, const Policy& pol, double floor) {
  for (std::ptrdiff_t j = static_cast<std::ptrdiff_t>(cs.c.size()) - 1; j >= 0; --j) {
    const Candidate& c = cs.c[static_cast<std::size_t>(j)];
    if (!(c.n_auto > 0.0) || c.n_correct / c.n_auto < floor) continue;
    if (pol.measure(c) >= floor) return j;
  }
  return -1;
}

std::string accuracy_word(const ReviewOptions& o) {
  return o.confidence ? "accuracy (" + percent(*o.confidence) + " lower bound)"
                      : std::string("accuracy");
}

/// One threshold for all items.
ReviewThresholds select_global(const Candidates& cs, const Policy& pol) {
  const ReviewOptions& o = *pol.o;
  ReviewThresholds r;
  std::ptrdiff_t j = -1;
  std::ostringstream msg;
  const double budget = o.max_review_rate.value_or(1.0);
  const std::ptrdiff_t first = first_within_budget(cs, pol, budget);
  if (o.min_accuracy) {
    j = lowest_review_meeting_floor(cs, pol, *o.min_accuracy);
    if (j < 0 || j < first) {
      r.feasible = false;
      double best = 0.0;
      const std::ptrdiff_t k = best_measure(cs, pol, first, best);
      if (j < 0) {
        msg << "no threshold meets min_accuracy=" << fmt(*o.min_accuracy) << ": the best "
            << accuracy_word(o) << " achievable"
            << (o.max_review_rate ? " within max_review_rate=" + fmt(budget) : std::string())
            << " is " << fmt(best) << " (at threshold " << fmt(cs.c[static_cast<std::size_t>(k)].t)
            << ")";
      } else {
        msg << "the smallest review rate meeting min_accuracy=" << fmt(*o.min_accuracy) << " is "
            << fmt(pol.review(cs, cs.c[static_cast<std::size_t>(j)])) << " (threshold "
            << fmt(cs.c[static_cast<std::size_t>(j)].t)
            << "), above max_review_rate=" << fmt(budget) << "; the best " << accuracy_word(o)
            << " within the budget is " << fmt(best) << " (at threshold "
            << fmt(cs.c[static_cast<std::size_t>(k)].t) << ")";
      }
      msg << "; returned that point. Relax the policy or collect more calibration data.";
      j = k;
    }
  } else {
    double best = 0.0;
    j = best_measure(cs, pol, first, best);
  }
  r.overall = make_point(cs, j >= 0 ? &cs.c[static_cast<std::size_t>(j)] : nullptr, pol.level);
  r.overall.feasible = r.feasible;
  r.message = r.overall.message = msg.str();
  return r;
}

/// One threshold per predicted class; an infeasible class routes none of its items.
ReviewThresholds select_per_class(const Scored& s, VectorView<const double> w, Index K,
                                  const Policy& pol) {
  const ReviewOptions& o = *pol.o;
  std::vector<std::vector<Index>> rows(static_cast<std::size_t>(K));
  for (std::size_t i = 0; i < s.pred.size(); ++i) {
    rows[static_cast<std::size_t>(s.pred[i])].push_back(static_cast<Index>(i));
  }
  ReviewThresholds r;
  Candidates joint;  // totals of every row; the union of the auto-routed rows of each class
  Candidate joint_auto;
  std::ostringstream msg;
  for (Index k = 0; k < K; ++k) {
    const Candidates cs = build_candidates(s, w, rows[static_cast<std::size_t>(k)]);
    joint.total += cs.total;
    joint.sq_total += cs.sq_total;
    const std::ptrdiff_t j =
        cs.c.empty() ? -1 : lowest_review_meeting_floor(cs, pol, *o.min_accuracy);
    ReviewPoint p =
        make_point(cs, j >= 0 ? &cs.c[static_cast<std::size_t>(j)] : nullptr, pol.level);
    if (cs.c.empty()) {
      p.message = "no calibration item is predicted as class " + std::to_string(k) +
                  "; its items go to review";
    } else if (j < 0) {
      double best = 0.0;
      const std::ptrdiff_t b = best_measure(cs, pol, 0, best);
      p.feasible = false;
      p.message = "class " + std::to_string(k) +
                  ": no threshold meets min_accuracy=" + fmt(*o.min_accuracy) + " (best " +
                  accuracy_word(o) + " " + fmt(best) + " at threshold " +
                  fmt(cs.c[static_cast<std::size_t>(b)].t) + "); all its items go to review";
      msg << (msg.tellp() > 0 ? "; " : "") << p.message;
      r.feasible = false;
    } else {
      const Candidate& c = cs.c[static_cast<std::size_t>(j)];
      joint_auto.n_auto += c.n_auto;
      joint_auto.n_correct += c.n_correct;
      joint_auto.sq_auto += c.sq_auto;
    }
    r.per_class.push_back(std::move(p));
  }
  r.overall = make_point(joint, &joint_auto, pol.level);
  r.overall.threshold = std::numeric_limits<double>::quiet_NaN();
  if (o.max_review_rate && r.overall.review_rate > *o.max_review_rate) {
    r.feasible = false;
    msg << (msg.tellp() > 0 ? "; " : "") << "the joint review rate " << fmt(r.overall.review_rate)
        << " is above max_review_rate=" << fmt(*o.max_review_rate);
  }
  if (!r.feasible) msg << ". Relax the policy or collect more calibration data.";
  r.overall.feasible = r.feasible;
  r.message = r.overall.message = msg.str();
  return r;
}

void check_inputs(VectorView<const double> y, MatrixView<const double> P,
                  VectorView<const double> w, const std::string& where) {
  validate_probability_matrix(P, where);
  validate_class_labels(y, static_cast<int>(P.cols()), P.rows(), where, false);
  detail::review::check_weights(w, P.rows(), where);
}

}  // namespace

ReviewThresholds select_review_threshold(VectorView<const double> y, MatrixView<const double> P,
                                         const ReviewOptions& options,
                                         VectorView<const double> sample_weight) {
  options.validate();
  check_inputs(y, P, sample_weight, "select_review_threshold");
  const Scored s = score_rows(y, P);
  Policy pol;
  pol.o = &options;
  pol.level = options.confidence.value_or(options.interval_confidence);
  ReviewThresholds r;
  if (options.per_class) {
    r = select_per_class(s, sample_weight, P.cols(), pol);
  } else {
    std::vector<Index> all(static_cast<std::size_t>(P.rows()));
    std::iota(all.begin(), all.end(), Index{0});
    r = select_global(build_candidates(s, sample_weight, std::move(all)), pol);
  }
  r.policy = options.describe();
  return r;
}

std::vector<std::uint8_t> route_items(const ReviewThresholds& r, MatrixView<const double> P) {
  validate_probability_matrix(P, "route_items");
  if (!r.per_class.empty() && static_cast<Index>(r.per_class.size()) != P.cols()) {
    throw InvalidInput("route_items: P has " + std::to_string(P.cols()) +
                       " columns but the thresholds were chosen for " +
                       std::to_string(r.per_class.size()) + " classes.");
  }
  const Scored s = score_rows({}, P);
  std::vector<std::uint8_t> out(s.conf.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double t = r.per_class.empty()
                         ? r.overall.threshold
                         : r.per_class[static_cast<std::size_t>(s.pred[i])].threshold;
    out[i] = static_cast<std::uint8_t>(s.conf[i] >= t);
  }
  return out;
}

RiskCoverageCurve risk_coverage_curve(VectorView<const double> y, MatrixView<const double> P,
                                      VectorView<const double> sample_weight) {
  check_inputs(y, P, sample_weight, "risk_coverage_curve");
  const Scored s = score_rows(y, P);
  std::vector<Index> all(static_cast<std::size_t>(P.rows()));
  std::iota(all.begin(), all.end(), Index{0});
  const Candidates cs = build_candidates(s, sample_weight, std::move(all));
  RiskCoverageCurve out;
  double prev = 0.0;
  for (const Candidate& c : cs.c) {
    const double cov = c.n_auto / cs.total;
    const double risk = 1.0 - c.n_correct / c.n_auto;
    out.threshold.push_back(c.t);
    out.coverage.push_back(cov);
    out.risk.push_back(risk);
    out.aurc += (cov - prev) * risk;
    prev = cov;
  }
  return out;
}

}  // namespace calibrisk
