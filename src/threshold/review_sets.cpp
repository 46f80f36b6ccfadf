// SPDX-License-Identifier: Apache-2.0
// Split-conformal prediction sets (LAC, APS), the binary triage band and the saved review-policy
// record (declared in threshold/review.hpp).
#include <calibrisk/core/random.hpp>
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

// ---- conformal ---------------------------------------------------------------------------------

const char* conformal_method_name(ConformalMethod m) noexcept {
  switch (m) {
    case ConformalMethod::kLac:
      return "lac";
    case ConformalMethod::kAps:
      return "aps";
    case ConformalMethod::kApsRandomized:
      return "aps_randomized";
  }
  return "lac";
}

ConformalMethod conformal_method_from_name(const std::string& name) {
  for (ConformalMethod m :
       {ConformalMethod::kLac, ConformalMethod::kAps, ConformalMethod::kApsRandomized}) {
    if (name == conformal_method_name(m)) return m;
  }
  throw InvalidParams(
      "conformal_calibrate: method must be \"lac\", \"aps\" or \"aps_randomized\", "
      "got \"" +
      name + "\".");
}

namespace {

void check_alpha(double alpha, const std::string& where) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    throw InvalidParams(where +
                        ": alpha must be in (0, 1) (the miscoverage: 0.1 gives 90% sets), "
                        "got " +
                        detail::fmt_value(alpha) + ".");
  }
}

/// The classes of row i by decreasing probability, ties by the lowest index.
void rank_classes(MatrixView<const double> P, Index i, std::vector<int>& order) {
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return P(i, a) > P(i, b); });
}

/// The randomisation u of row i: stream 0 is drawn row after row for calibration; at prediction
/// each row has its own stream 1 + i.
double prediction_u(std::uint64_t seed, Index i) {
  return Rng(seed, static_cast<std::uint64_t>(i) + 1).uniform();
}

/// Scores of every class of row i, written to `out` (K values): s(x, k) for k = 0..K-1. The
/// accumulation order is the same at calibration and prediction, so a calibration row's own
/// label gets bit-identically the score it had.
void row_scores(MatrixView<const double> P, Index i, ConformalMethod m, double u,
                std::vector<int>& order, std::vector<double>& out) {
  const Index K = P.cols();
  if (m == ConformalMethod::kLac) {
    for (Index k = 0; k < K; ++k) out[static_cast<std::size_t>(k)] = 1.0 - P(i, k);
    return;
  }
  rank_classes(P, i, order);
  double above = 0.0;  // mass ranked strictly above the current class
  for (int k : order) {
    const double pk = P(i, k);
    out[static_cast<std::size_t>(k)] = m == ConformalMethod::kAps ? above + pk : above + u * pk;
    above += pk;
  }
}

}  // namespace

std::vector<double> conformal_scores(VectorView<const double> y, MatrixView<const double> P,
                                     ConformalMethod method, std::uint64_t random_state) {
  const std::string where = "conformal_calibrate";
  validate_probability_matrix(P, where);
  validate_class_labels(y, static_cast<int>(P.cols()), P.rows(), where, false);
  Rng rng(random_state, 0);
  std::vector<int> order(static_cast<std::size_t>(P.cols()));
  std::vector<double> all(static_cast<std::size_t>(P.cols()));
  std::vector<double> s(static_cast<std::size_t>(P.rows()));
  for (Index i = 0; i < P.rows(); ++i) {
    const double u = method == ConformalMethod::kApsRandomized ? rng.uniform() : 0.0;
    row_scores(P, i, method, u, order, all);
    s[static_cast<std::size_t>(i)] = all[static_cast<std::size_t>(y[i])];
  }
  return s;
}

ConformalSets::ConformalSets(ConformalMethod method, double alpha, double quantile, int n_classes,
                             Index n_calibration, std::uint64_t random_state)
    : method_(method),
      alpha_(alpha),
      quantile_(quantile),
      n_classes_(n_classes),
      n_calibration_(n_calibration),
      random_state_(random_state) {
  check_alpha(alpha, "ConformalSets");
  if (n_classes < 2 || n_classes > kMaxClasses) {
    throw InvalidInput("ConformalSets: n_classes must be in [2, " + std::to_string(kMaxClasses) +
                       "], got " + std::to_string(n_classes) + ".");
  }
  if (n_calibration < 1) {
    throw InvalidInput("ConformalSets: n_calibration must be >= 1, got " +
                       std::to_string(n_calibration) + ".");
  }
  if (std::isnan(quantile) || quantile == -std::numeric_limits<double>::infinity()) {
    throw InvalidInput("ConformalSets: quantile must be a number or +inf, got " +
                       detail::fmt_value(quantile) + ".");
  }
}

ConformalSets conformal_calibrate(VectorView<const double> y, MatrixView<const double> P,
                                  double alpha, ConformalMethod method,
                                  std::uint64_t random_state) {
  check_alpha(alpha, "conformal_calibrate");
  std::vector<double> s = conformal_scores(y, P, method, random_state);
  const Index n = static_cast<Index>(s.size());
  // Finite-sample rank k = ceil((n + 1)(1 - alpha)); the relative 1e-12 keeps an exact integer
  // product (n = 9, alpha = 0.1) from rounding up to the next rank.
  const double target = static_cast<double>(n + 1) * (1.0 - alpha);
  const auto k = static_cast<Index>(std::ceil(target * (1.0 - 1e-12)));
  double q = std::numeric_limits<double>::infinity();
  if (k <= n) {
    std::nth_element(s.begin(), s.begin() + (k - 1), s.end());
    q = s[static_cast<std::size_t>(k - 1)];
  }
  return ConformalSets(method, alpha, q, static_cast<int>(P.cols()), n, random_state);
}

std::vector<std::uint8_t> ConformalSets::predict_sets(MatrixView<const double> P) const {
  if (n_classes_ < 2)
    throw NotFitted("ConformalSets::predict_sets: call conformal_calibrate first.");
  if (P.rows() == 0 && P.cols() == n_classes_) return {};
  validate_probability_matrix(P, "ConformalSets::predict_sets");
  if (P.cols() != n_classes_) {
    throw InvalidInput("ConformalSets::predict_sets: P has " + std::to_string(P.cols()) +
                       " columns but the sets were calibrated for " + std::to_string(n_classes_) +
                       " classes.");
  }
  const auto K = static_cast<std::size_t>(n_classes_);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(P.rows()) * K);
  std::vector<int> order(K);
  std::vector<double> s(K);
  for (Index i = 0; i < P.rows(); ++i) {
    const double u =
        method_ == ConformalMethod::kApsRandomized ? prediction_u(random_state_, i) : 0.0;
    row_scores(P, i, method_, u, order, s);
    for (std::size_t k = 0; k < K; ++k) {
      out[static_cast<std::size_t>(i) * K + k] = static_cast<std::uint8_t>(s[k] <= quantile_);
    }
  }
  return out;
}

// ---- triage band -------------------------------------------------------------------------------

void TriageOptions::validate() const {
  const std::string w = "select_triage_band";
  detail::review::check_unit(min_recall, "min_recall", w);
  detail::review::check_unit(max_review_rate, "max_review_rate", w);
  if (confidence) metrics::detail::check_confidence(*confidence, w);
  metrics::detail::check_confidence(interval_confidence, w + " (interval_confidence)");
}

std::string TriageOptions::describe() const {
  return "min_recall=" + fmt(min_recall) + ", max_review_rate=" + fmt(max_review_rate) +
         " (fewest automatic errors)" +
         (confidence ? " [conservative: " + percent(*confidence) + " Clopper-Pearson lower bound]"
                     : std::string());
}

namespace {

/// Tie blocks of the scores in increasing order, as prefix sums over blocks (size m + 1).
struct Blocks {
  std::vector<double> value;                  // m distinct scores
  std::vector<double> pos, neg, all, all_sq;  // prefix sums of weight
  double pos_sq = 0.0;                        // sum of squared weights of positives
};

Blocks build_blocks(VectorView<const double> y, VectorView<const double> p,
                    VectorView<const double> w) {
  std::vector<Index> rows;
  for (Index i = 0; i < p.size(); ++i) {
    if (detail::review::weight_of(w, i) > 0.0) rows.push_back(i);
  }
  std::sort(rows.begin(), rows.end(), [&](Index a, Index b) { return p[a] < p[b]; });
  Blocks b;
  b.pos = b.neg = b.all = b.all_sq = {0.0};
  double cp = 0, cn = 0, ca = 0, cs = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Index i = rows[r];
    const double wi = detail::review::weight_of(w, i);
    (y[i] == 1.0 ? cp : cn) += wi;
    if (y[i] == 1.0) b.pos_sq += wi * wi;
    ca += wi;
    cs += wi * wi;
    if (r + 1 == rows.size() || p[rows[r + 1]] != p[i]) {
      b.value.push_back(p[i]);
      b.pos.push_back(cp);
      b.neg.push_back(cn);
      b.all.push_back(ca);
      b.all_sq.push_back(cs);
    }
  }
  return b;
}

/// The best band [a, bb) of blocks (auto-negative below a, auto-positive from bb).
struct BandChoice {
  std::size_t a = 0, b = 0;
};

/// Largest a whose recall (or its lower bound) reaches the floor; recall falls as a grows.
std::size_t recall_limit(const Blocks& bl, const TriageOptions& o, bool& feasible) {
  const std::size_t m = bl.value.size();
  const double P = bl.pos[m];
  auto ok = [&](std::size_t a) {
    const double caught = P - bl.pos[a];
    if (caught / P < o.min_recall) return false;
    return !o.confidence ||
           detail::review::cp_lower(caught, P, bl.pos_sq, *o.confidence) >= o.min_recall;
  };
  feasible = ok(0);
  std::size_t a = 0;
  while (a < m && ok(a + 1)) ++a;
  return a;
}

BandChoice choose_band(const Blocks& bl, std::size_t a_max, double budget) {
  const std::size_t m = bl.value.size();
  const double W = bl.all[m], N = bl.neg[m];
  // neg_start[b]: the smallest b' <= b with no negative weight in blocks [b', b).
  std::vector<std::size_t> neg_start(m + 1, 0);
  for (std::size_t b = 1; b <= m; ++b) {
    neg_start[b] = bl.neg[b] > bl.neg[b - 1] ? b : neg_start[b - 1];
  }
  BandChoice best;
  double best_err = std::numeric_limits<double>::infinity(), best_rev = 0.0;
  std::size_t hi = 0;
  for (std::size_t a = 0; a <= a_max; ++a) {
    hi = std::max(hi, a);
    while (hi < m && (bl.all[hi + 1] - bl.all[a]) / W <= budget) ++hi;
    const std::size_t b = std::max(a, neg_start[hi]);  // fewest false positives, least review
    const double err = bl.pos[a] + (N - bl.neg[b]);
    const double rev = bl.all[b] - bl.all[a];
    // Ties: lower review, then the higher t_low (later a).
    if (err < best_err || (err == best_err && rev <= best_rev)) {
      best = {a, b};
      best_err = err;
      best_rev = rev;
    }
  }
  return best;
}

TriageBand make_band(const Blocks& bl, BandChoice c, double level) {
  const std::size_t m = bl.value.size();
  const double inf = std::numeric_limits<double>::infinity();
  TriageBand t;
  t.t_low = c.a < m ? bl.value[c.a] : inf;
  t.t_high = c.b < m ? bl.value[c.b] : inf;
  const double W = bl.all[m], P = bl.pos[m], N = bl.neg[m];
  t.n_total = W;
  t.n_review = bl.all[c.b] - bl.all[c.a];
  t.fn = bl.pos[c.a];
  t.tn = bl.neg[c.a];
  t.tp = P - bl.pos[c.b];
  t.fp = N - bl.neg[c.b];
  t.positives_in_review = bl.pos[c.b] - bl.pos[c.a];
  t.recall = (P - t.fn) / P;
  t.review_rate = t.n_review / W;
  t.auto_error_rate = (t.fp + t.fn) / W;
  const double n_auto = W - t.n_review;
  if (n_auto > 0.0) t.auto_accuracy = (t.tp + t.tn) / n_auto;
  t.confidence = level;
  const auto rec = detail::review::intervals(P - t.fn, P, bl.pos_sq, level);
  t.recall_cp = rec.cp;
  t.recall_wilson = rec.wilson;
  const double sq_all = bl.all_sq[m], sq_rev = bl.all_sq[c.b] - bl.all_sq[c.a];
  const auto rev = detail::review::intervals(t.n_review, W, sq_all, level);
  t.review_rate_cp = rev.cp;
  t.review_rate_wilson = rev.wilson;
  const auto acc = detail::review::intervals(t.tp + t.tn, n_auto, sq_all - sq_rev, level);
  t.auto_accuracy_cp = acc.cp;
  t.auto_accuracy_wilson = acc.wilson;
  return t;
}

}  // namespace

TriageBand select_triage_band(VectorView<const double> y, VectorView<const double> p,
                              const TriageOptions& options,
                              VectorView<const double> sample_weight) {
  const std::string where = "select_triage_band";
  options.validate();
  if (p.size() == 0) throw InvalidInput(where + ": p is empty; pass at least one item.");
  for (Index i = 0; i < p.size(); ++i) {
    if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
      throw InvalidInput(where + ": p[" + std::to_string(i) + "] is " + detail::fmt_value(p[i]) +
                         "; probabilities must be finite and in [0, 1].");
    }
  }
  validate_labels(y, p.size(), where, true);
  detail::review::check_weights(sample_weight, p.size(), where);
  const Blocks bl = build_blocks(y, p, sample_weight);
  if (!(bl.pos.back() > 0.0)) {
    throw InvalidInput(where + ": every positive row has zero sample weight; recall is undefined.");
  }
  bool feasible = true;
  const std::size_t a_max = recall_limit(bl, options, feasible);
  TriageBand t = make_band(bl, choose_band(bl, a_max, options.max_review_rate),
                           options.confidence.value_or(options.interval_confidence));
  t.policy = options.describe();
  if (!feasible) {
    t.feasible = false;
    t.message = "no band meets min_recall=" + fmt(options.min_recall) + " on the " +
                percent(*options.confidence) +
                " lower Clopper-Pearson bound: the best achievable " + "is " +
                fmt(t.recall_cp.lower) +
                " (nothing auto-negative); returned that band. Relax the floor or collect more "
                "positives.";
  }
  return t;
}

// ---- saved record ------------------------------------------------------------------------------

ReviewPolicyRecord ReviewPolicyRecord::from(const ReviewThresholds& r) {
  ReviewPolicyRecord rec;
  rec.kind = "threshold";
  rec.policy = r.policy;
  rec.per_class = !r.per_class.empty();
  if (rec.per_class) {
    for (const ReviewPoint& p : r.per_class) rec.thresholds.push_back(p.threshold);
  } else {
    rec.thresholds.push_back(r.overall.threshold);
  }
  return rec;
}

ReviewPolicyRecord ReviewPolicyRecord::from(const ConformalSets& c) {
  ReviewPolicyRecord rec;
  rec.kind = "conformal";
  rec.policy =
      std::string("conformal ") + conformal_method_name(c.method()) + " alpha=" + fmt(c.alpha());
  rec.conformal = c;
  return rec;
}

ReviewPolicyRecord ReviewPolicyRecord::from(const TriageBand& b) {
  ReviewPolicyRecord rec;
  rec.kind = "triage";
  rec.policy = b.policy;
  rec.t_low = b.t_low;
  rec.t_high = b.t_high;
  return rec;
}

}  // namespace calibrisk
