// SPDX-License-Identifier: Apache-2.0
/// @file venn_abers.hpp
/// Inductive Venn-ABERS calibration (Vovk & Petej, "Venn-Abers predictors", UAI 2014), computed
/// for all test scores at once from the cumulative sum diagram of the calibration set (Vovk,
/// Petej & Fedorova, "Large-scale probabilistic predictors with and without guarantees of
/// validity", NeurIPS 2015) instead of two isotonic fits per test score.
#pragma once

#include <calibrisk/core/dataset.hpp>
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
                           VectorView<const double> sample_weight = {});

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
               VectorView<double> p1 = {}) const;
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
  static VennAbersCalibrator from_state(VennAbersState s, VennAbersParams p = {});

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
  static std::vector<double> p1_tied(const std::vector<Pt>& P);

  // g[j] (j = 1..k): p0 with the virtual point (weight 1, label 0) tied to t_j, which equals the
  // value of the virtual point placed just after t_j (Algorithms 3-4, mirrored; the replaced
  // point P_i starts a slope-0 step, so it is never a strict hull vertex): points left of
  // the virtual step are P_a, points right of it P_b + (1, 0); the sweep runs right to left and
  // the stack keeps the hull up to the last shifted vertex (back() = rightmost).
  static std::vector<double> p0_tied(const std::vector<Pt>& P);

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
