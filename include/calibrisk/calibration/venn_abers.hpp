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

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Hyper-parameters of `VennAbersCalibrator` (none are needed; kept for the common shape).
struct VennAbersParams {
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
/// because a virtual 0 (1) between two calibration scores only pools leftwards (rightwards).
/// Each tied value is the slope of the bridge between the lower convex hulls of the shifted
/// prefix {P_a - (1, y) : a < j} and the suffix {P_b : b >= j} of the cumulative sum diagram
/// P_j = (sum of weights, sum of weighted labels up to t_j); both hulls are maintained in one
/// right-to-left sweep (the prefix hull is rolled back point by point) and the bridge is found by
/// nested searches that gallop from the previous bridge.
///
/// Complexity: fit O(n) radix sort + O(k log^2 k) worst case for k distinct scores (near O(k) in
/// practice: consecutive bridges are close); predict O(log k) per score. Memory O(k). Const
/// methods thread-safe.
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
    const std::vector<double> g0 = tied_values(P, 0.0L);
    const std::vector<double> g1 = tied_values(P, 1.0L);
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
  static long double slope(const Pt& a, const Pt& b) { return (b.y - a.y) / (b.x - a.x); }
  // > 0 when a -> b -> c turns left (counter-clockwise): b is strictly below segment a-c.
  static long double cross(const Pt& a, const Pt& b, const Pt& c) {
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
  }

  // out[j] (j = 1..k): isotonic value at t_j after adding (t_j, label) with weight 1, i.e.
  // max over L in {P_a - (1, label) : a < j} of min over R in {P_b : b >= j} of slope(L, R).
  static std::vector<double> tied_values(const std::vector<Pt>& P, long double label) {
    const std::size_t k = P.size() - 1;
    std::vector<double> out(k + 1, 0.0);
    // Prefix lower hull of Q_a = P_a - (1, label), a = 0..k-1, with an undo log.
    std::vector<Pt> H;
    std::vector<std::vector<Pt>> popped(k);
    H.reserve(k);
    for (std::size_t a = 0; a < k; ++a) {
      const Pt q{P[a].x - 1.0L, P[a].y - label};
      while (H.size() >= 2 && cross(H[H.size() - 2], H.back(), q) <= 0.0L) {
        popped[a].push_back(H.back());
        H.pop_back();
      }
      H.push_back(q);
    }
    // Suffix lower hull as a stack: R.back() is the leftmost point.
    std::vector<Pt> R;
    R.reserve(k);
    Hints hints;
    hints.left = k;
    for (std::size_t j = k; j >= 1; --j) {
      const Pt& np = P[j];
      while (R.size() >= 2 && cross(np, R.back(), R[R.size() - 2]) <= 0.0L) R.pop_back();
      R.push_back(np);
      out[j] = static_cast<double>(bridge_slope(H, R, hints));
      // Roll the prefix hull back to Q_0..Q_{j-2}.
      H.pop_back();
      for (auto it = popped[j - 1].rbegin(); it != popped[j - 1].rend(); ++it) H.push_back(*it);
    }
    return out;
  }

  // First index in [0, hi] where the monotone predicate (false...false true...true, pred(hi)
  // true) holds, by galloping from `hint` then binary search: O(log |answer - hint|) calls.
  template <class Pred>
  static std::size_t first_true(std::size_t hi, std::size_t hint, Pred&& pred) {
    hint = std::min(hint, hi);
    std::size_t lo_b = 0, hi_b = hint;
    if (pred(hint)) {
      for (std::size_t step = 1;; step *= 2) {
        if (hi_b < step) {
          lo_b = 0;
          break;
        }
        const std::size_t c = hi_b - step;
        if (!pred(c)) {
          lo_b = c + 1;
          break;
        }
        hi_b = c;
      }
    } else {
      lo_b = hint + 1;
      for (std::size_t step = 1;; step *= 2) {
        const std::size_t c = std::min(hi, hint + step);
        if (pred(c)) {
          hi_b = c;
          break;
        }
        lo_b = c + 1;
      }
    }
    while (lo_b < hi_b) {
      const std::size_t mid = lo_b + (hi_b - lo_b) / 2;
      if (pred(mid)) {
        hi_b = mid;
      } else {
        lo_b = mid + 1;
      }
    }
    return lo_b;
  }

  // Search state carried between consecutive j: the bridge ends found last time. Consecutive
  // bridges are usually close, so galloping from them makes the sweep near-linear in practice
  // (O(log^2 k) per j in the worst case).
  struct Hints {
    std::size_t left = 0;            // index in the left hull H (from the left)
    std::size_t right_from_top = 0;  // index in the right hull counted from its left end
  };

  // min over the right hull of slope(L, R_i), L left of every R_i: the tangent from L.
  // Right hull point i counted from the left is R[R.size() - 1 - i].
  static long double tangent(const Pt& L, const std::vector<Pt>& R, Hints& hints) {
    const std::size_t last = R.size() - 1;
    auto at = [&](std::size_t i) -> const Pt& { return R[last - i]; };
    const std::size_t i = first_true(last, hints.right_from_top, [&](std::size_t c) {
      return c == last || slope(at(c), at(c + 1)) >= slope(L, at(c));
    });
    hints.right_from_top = i;
    return slope(L, at(i));
  }
  // Slope of the edge of the combined lower hull that joins the left and the right hull.
  static long double bridge_slope(const std::vector<Pt>& H, const std::vector<Pt>& R,
                                  Hints& hints) {
    const std::size_t last = H.size() - 1;
    const std::size_t h = first_true(last, hints.left, [&](std::size_t c) {
      return c == last || slope(H[c], H[c + 1]) >= tangent(H[c], R, hints);
    });
    hints.left = h;
    const long double v = tangent(H[h], R, hints);
    return std::min(std::max(v, 0.0L), 1.0L);
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
