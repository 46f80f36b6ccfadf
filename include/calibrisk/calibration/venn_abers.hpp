// SPDX-License-Identifier: Apache-2.0
/// @file venn_abers.hpp
/// Inductive Venn-ABERS calibration (Vovk & Petej, "Venn-Abers predictors", UAI 2014), computed
/// for all test scores at once from the cumulative sum diagram of the calibration set (Vovk,
/// Petej & Fedorova, "Large-scale probabilistic predictors with and without guarantees of
/// validity", NeurIPS 2015) instead of two isotonic fits per test score.
#pragma once

#include <calibrisk/calibration/common.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Hyper-parameters of `VennAbersCalibrator` (none are needed; kept for the common shape).
struct VennAbersParams {
  static constexpr const char* kName = "VennAbersParams";
  template <class V>
  static void fields(V&) {}  // no parameters
  void validate() const {}
};

/// Complete prediction-time state of `VennAbersCalibrator`.
///
/// With the k distinct calibration scores t_1 < ... < t_k: `f0[j]` (j = 0..k) is p0 for a test
/// score s with exactly j calibration scores <= s, and `f1[j]` (j = 0..k) is p1 for a test score
/// with exactly j calibration scores < s.
struct VennAbersState {
  std::vector<double> x;   ///< Distinct calibration scores, strictly increasing, finite, k >= 1.
  std::vector<double> f0;  ///< k + 1 values in [0, 1]; f0[0] = 0.
  std::vector<double> f1;  ///< k + 1 values in [0, 1]; f1[k] = 1.
};

/// One Venn-ABERS prediction: the multiprobability pair and the merged probability.
struct VennAbersPrediction {
  double p0 = 0.0;  ///< Isotonic value at s when s is added to the calibration set with label 0.
  double p1 = 0.0;  ///< ... with label 1. p0 <= p1.
  /// p1 / (1 - p0 + p1): the log-loss-minimax merge of (p0, p1) (Vovk & Petej 2014, eq. 9).
  double p = 0.0;
  double width() const noexcept { return p1 - p0; }  ///< Uncertainty flag, in [0, 1].
};

/// Inductive Venn-ABERS predictor on a calibration set of scores and labels.
///
/// For a test score s, p_y is the value at s of the (weighted) isotonic regression fitted on the
/// calibration set plus the point (s, y) with weight 1 (ties in the score pooled as in
/// `IsotonicCalibrator`). That value only depends on where s falls among the distinct calibration
/// scores: for y = 0 it equals the fit with the virtual point tied to the largest t_j <= s (0
/// below all of them), for y = 1 the fit with it tied to the smallest t_j >= s (1 above all),
/// because a virtual 0 (1) placed between two calibration scores always ends up in the level set
/// of its left (right) neighbour, so tying it to that neighbour changes nothing.
/// In the cumulative sum diagram P_j = (sum of weights, sum of weighted labels up to t_j), the
/// virtual point is a step of length 1 and rise y, and p_y is the slope of the diagram's greatest
/// convex minorant (lower hull) over that step. Following Vovk, Petej & Fedorova 2015
/// (Algorithms 1-4, with the x-steps equal to the pooled weights), the hull with the virtual step
/// at one end is built once with a stack; the step is then swept across the k positions (left to
/// right for p1, right to left for p0), which moves one diagram point per position, and each
/// value is read off the top of the stack in amortised O(1) (every point is pushed at most once).
///
/// Reference: Vovk & Petej, "Venn-Abers predictors", UAI 2014; Vovk, Petej & Fedorova,
/// "Large-scale probabilistic predictors with and without guarantees of validity", NeurIPS 2015.
///
/// Complexity: fit one O(n) radix sort (std::stable_sort below 4096 scores) + O(k) for k distinct
/// scores; predict O(log k) per score (two binary searches). Memory O(k). Const methods
/// thread-safe.
class VennAbersCalibrator {
 public:
  explicit VennAbersCalibrator(VennAbersParams params = {}) : params_(params) {
    params_.validate();
  }

  /// Fits on finite calibration `scores` (any monotone score: margins or probabilities), labels
  /// y in {0, 1}, optional non-negative weights. Throws InvalidInput on bad input.
  VennAbersCalibrator& fit(VectorView<const double> scores, VectorView<const double> y,
                           VectorView<const double> sample_weight = {}) {
    detail::validate_calibration_fit(scores, y, sample_weight, "VennAbersCalibrator::fit");
    detail::PooledScores p = detail::pool_sorted_scores(scores, y, sample_weight);
    const std::size_t k = p.x.size();
    std::vector<Pt> P(k + 1);
    P[0] = Pt{0.0L, 0.0L};
    for (std::size_t j = 1; j <= k; ++j) {
      const long double w = p.w[j - 1];
      P[j] = Pt{P[j - 1].x + w, P[j - 1].y + w * static_cast<long double>(p.y[j - 1])};
    }
    VennAbersState s;
    s.x = std::move(p.x);
    s.f0.assign(k + 1, 0.0);
    s.f1.assign(k + 1, 1.0);
    const std::vector<double> g0 = p0_tied(P);
    const std::vector<double> g1 = p1_tied(P);
    for (std::size_t j = 1; j <= k; ++j) {
      s.f0[j] = g0[j];      // j calibration scores <= s: tied to t_j
      s.f1[j - 1] = g1[j];  // j - 1 calibration scores < s: tied to t_j
    }
    state_ = std::move(s);
    fitted_ = true;
    return *this;
  }

  /// (p0, p1, merged p) for one score. Allocation-free, const, thread-safe; NotFitted before fit.
  VennAbersPrediction predict_interval_one(double score) const {
    require_fitted("VennAbersCalibrator::predict_interval_one");
    return eval(score);
  }
  /// Merged probability p1 / (1 - p0 + p1) of one score.
  double predict_one(double score) const { return predict_interval_one(score).p; }

  /// Merged probabilities into `p` and, when non-empty, p0 and p1 into `p0`, `p1`. Throws
  /// InvalidInput on NaN/inf scores or size mismatch, NotFitted before fit.
  void predict(VectorView<const double> scores, VectorView<double> p, VectorView<double> p0 = {},
               VectorView<double> p1 = {}) const {
    const std::string where = "VennAbersCalibrator::predict";
    require_fitted(where.c_str());
    detail::validate_scores(scores, where);
    detail::validate_out(scores, p, where);
    if (!p0.empty()) detail::validate_out(scores, p0, where);
    if (!p1.empty()) detail::validate_out(scores, p1, where);
    for (Index i = 0; i < scores.size(); ++i) {
      const VennAbersPrediction r = eval(scores[i]);
      p[i] = r.p;
      if (!p0.empty()) p0[i] = r.p0;
      if (!p1.empty()) p1[i] = r.p1;
    }
  }
  Eigen::VectorXd predict(VectorView<const double> scores) const {
    Eigen::VectorXd out(scores.size());
    predict(scores, VectorView<double>(out));
    return out;
  }

  bool is_fitted() const noexcept { return fitted_; }
  const VennAbersState& state() const {
    require_fitted("VennAbersCalibrator::state");
    return state_;
  }
  /// Rebuilds from a state; throws InvalidInput naming the bad field (sizes, finiteness, order,
  /// range [0, 1], f0[0] = 0, f1[k] = 1).
  static VennAbersCalibrator from_state(VennAbersState s, VennAbersParams p = {}) {
    const std::string where = "VennAbersCalibrator::from_state";
    const std::size_t k = s.x.size();
    if (k == 0) throw InvalidInput(where + ": state.x is empty.");
    if (s.f0.size() != k + 1 || s.f1.size() != k + 1) {
      throw InvalidInput(where + ": state.f0 and state.f1 must have " + std::to_string(k + 1) +
                         " values (one more than state.x), got " + std::to_string(s.f0.size()) +
                         " and " + std::to_string(s.f1.size()) + ".");
    }
    for (std::size_t i = 0; i < k; ++i) {
      if (!std::isfinite(s.x[i]) || (i > 0 && !(s.x[i] > s.x[i - 1]))) {
        throw InvalidInput(where + ": state.x[" + std::to_string(i) +
                           "] is not finite or not above the previous score.");
      }
    }
    for (std::size_t i = 0; i <= k; ++i) {
      if (!(s.f0[i] >= 0.0 && s.f0[i] <= 1.0)) {
        throw InvalidInput(where + ": state.f0[" + std::to_string(i) + "] is not in [0, 1].");
      }
      if (!(s.f1[i] >= 0.0 && s.f1[i] <= 1.0)) {
        throw InvalidInput(where + ": state.f1[" + std::to_string(i) + "] is not in [0, 1].");
      }
    }
    if (s.f0[0] != 0.0) throw InvalidInput(where + ": state.f0[0] must be 0.");
    if (s.f1[k] != 1.0)
      throw InvalidInput(where + ": state.f1[" + std::to_string(k) + "] must be 1.");
    VennAbersCalibrator c(p);
    c.state_ = std::move(s);
    c.fitted_ = true;
    return c;
  }

 private:
  struct Pt {
    long double x, y;
  };
  // (b - a) x (c - a): > 0 when a -> b -> c turns left (counter-clockwise); for a.x < b.x it is
  // (b.x - a.x) times the height of c above the line through a and b.
  static long double cross(const Pt& a, const Pt& b, const Pt& c) {
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
  }
  // Slope of the hull edge l -> r (l left of r), clamped to [0, 1]. The edges read below always
  // span the virtual point's unit step, so r.x - l.x >= 1 mathematically; the guard only matters
  // when total weights beyond 2^64 swallow that step in long double.
  static double edge_slope(const Pt& l, const Pt& r) {
    const long double dx = r.x - l.x, dy = r.y - l.y;
    if (!(dx > 0.0L)) return dy > 0.0L ? 1.0 : 0.0;
    return static_cast<double>(std::min(std::max(dy / dx, 0.0L), 1.0L));
  }
  // Lower convex hull of points given left to right (collinear middle points dropped); the
  // result is ordered left to right.
  template <class PointAt>
  static std::vector<Pt> lower_hull(std::size_t count, PointAt&& at) {
    std::vector<Pt> h;
    h.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const Pt q = at(i);
      while (h.size() >= 2 && cross(h[h.size() - 2], h.back(), q) <= 0.0L) h.pop_back();
      h.push_back(q);
    }
    return h;
  }

  // g[j] (j = 1..k): p1 with the virtual point (weight 1, label 1) tied to t_j, which equals the
  // value of the virtual point placed just before t_j (it always ends in t_j's level set).
  // Vovk, Petej & Fedorova 2015, Algorithms 1-2, with weighted steps: in the diagram with the
  // virtual step inserted before block i, every point left of it is P_a - (1, 1) and every point
  // right of it is P_b, and the virtual step's value is the slope of the greatest convex
  // minorant (lower hull) over that step. Moving the virtual step past block i replaces
  // the point P_{i-1} (never a strict hull vertex: it ends a slope-1 step) by P_i - (1, 1).
  // The stack keeps the part of the hull from the last shifted vertex rightwards (back() =
  // leftmost); each point is pushed once, so the sweep is O(k) amortised.
  static std::vector<double> p1_tied(const std::vector<Pt>& P) {
    const std::size_t k = P.size() - 1;
    std::vector<double> g(k + 1, 1.0);
    std::vector<Pt> S = lower_hull(k + 2, [&](std::size_t i) {
      return i == 0 ? Pt{P[0].x - 1.0L, P[0].y - 1.0L} : P[i - 1];
    });
    std::reverse(S.begin(), S.end());
    for (std::size_t i = 1; i <= k; ++i) {
      g[i] = edge_slope(S.back(), S[S.size() - 2]);
      if (i == k) break;
      const Pt q{P[i].x - 1.0L, P[i].y - 1.0L};
      if (cross(S.back(), S[S.size() - 2], q) >= 0.0L) continue;  // q on or above the hull
      S.pop_back();  // q is a new hull vertex: everything left of it is never needed again
      while (S.size() >= 2 && cross(q, S.back(), S[S.size() - 2]) <= 0.0L) S.pop_back();
      S.push_back(q);
    }
    return g;
  }

  // g[j] (j = 1..k): p0 with the virtual point (weight 1, label 0) tied to t_j, which equals the
  // value of the virtual point placed just after t_j (Algorithms 3-4, mirrored; the replaced
  // point P_i starts a slope-0 step, so it is never a strict hull vertex): points left of
  // the virtual step are P_a, points right of it P_b + (1, 0); the sweep runs right to left and
  // the stack keeps the hull up to the last shifted vertex (back() = rightmost).
  static std::vector<double> p0_tied(const std::vector<Pt>& P) {
    const std::size_t k = P.size() - 1;
    std::vector<double> g(k + 1, 0.0);
    std::vector<Pt> S = lower_hull(k + 2, [&](std::size_t i) {
      return i <= k ? P[i] : Pt{P[k].x + 1.0L, P[k].y};
    });
    for (std::size_t i = k; i >= 1; --i) {
      g[i] = edge_slope(S[S.size() - 2], S.back());
      if (i == 1) break;
      const Pt q{P[i - 1].x + 1.0L, P[i - 1].y};
      if (cross(S[S.size() - 2], S.back(), q) >= 0.0L) continue;  // q on or above the hull
      S.pop_back();
      while (S.size() >= 2 && cross(q, S.back(), S[S.size() - 2]) >= 0.0L) S.pop_back();
      S.push_back(q);
    }
    return g;
  }

  VennAbersPrediction eval(double s) const noexcept {
    const std::vector<double>& x = state_.x;
    const auto le = static_cast<std::size_t>(std::upper_bound(x.begin(), x.end(), s) - x.begin());
    const auto lt = static_cast<std::size_t>(std::lower_bound(x.begin(), x.end(), s) - x.begin());
    VennAbersPrediction r;
    r.p0 = state_.f0[le];
    r.p1 = state_.f1[lt];
    r.p = r.p1 / (1.0 - r.p0 + r.p1);
    return r;
  }
  void require_fitted(const char* where) const {
    if (!fitted_) {
      throw NotFitted(std::string(where) + ": the calibrator is not fitted; call fit first.");
    }
  }

  VennAbersParams params_;
  VennAbersState state_;
  bool fitted_ = false;
};

}  // namespace calibrisk
