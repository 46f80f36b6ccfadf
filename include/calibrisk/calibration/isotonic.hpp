// SPDX-License-Identifier: Apache-2.0
/// @file isotonic.hpp
/// Isotonic calibration: a non-decreasing step-linear map from scores to probabilities fitted by
/// weighted pool-adjacent-violators (Zadrozny & Elkan 2002; Barlow et al. 1972), matching
/// scikit-learn's `IsotonicRegression(out_of_bounds="clip")` to rounding.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Hyper-parameters of `IsotonicCalibrator`.
struct IsotonicParams {
  static constexpr const char* kName = "IsotonicParams";
  double y_min = -std::numeric_limits<double>::infinity();
  double y_max = std::numeric_limits<double>::infinity();
  int n_threads = 0;

  template <class V>
  static void fields(V& v) {
    using P = IsotonicParams;
    const double inf = std::numeric_limits<double>::infinity();
    v("y_min", &P::y_min,
      closed_open(-inf, inf).range_text("finite or -inf").fix("use -inf for no lower bound."),
      "Lower bound of the fitted values; -inf = none.");
    v("y_max", &P::y_max,
      open_closed(-inf, inf).range_text("finite or +inf").fix("use +inf for no upper bound."),
      "Upper bound of the fitted values; +inf = none.");
    v("n_threads", &P::n_threads, at_least(0).with_note("(0 = all)").execution(),
      "Threads of predict on many scores; results do not depend on it.");
  }

  /// Throws InvalidParams naming the field, the value and the valid range.
  void validate() const {
    validate_params(*this);
    if (y_min > y_max) {
      throw InvalidParams("IsotonicParams.y_min (" + detail::param_number(y_min) +
                          ") must be <= y_max (" + detail::param_number(y_max) + ").");
    }
  }
};

/// The complete prediction-time state: the knots of the piecewise-linear map.
struct IsotonicState {
  std::vector<double> x;  ///< Knot scores, strictly increasing, finite, at least one.
  std::vector<double> y;  ///< Fitted value at each knot, non-decreasing, finite; same size as x.
};

/// Non-decreasing calibration map fitted by weighted isotonic regression.
///
/// Fit: rows with zero weight are dropped; scores are sorted once (radix sort) and equal scores
/// pooled (weighted mean label, summed weight, as scikit-learn's `_make_unique`); weighted PAV
/// gives the non-decreasing fit, clipped to [y_min, y_max]; knots whose value equals both
/// neighbours' are dropped (scikit-learn's `X_thresholds_`), so storage is one knot per step edge.
/// Predict: scores are clipped to [first knot, last knot] and linearly interpolated between the
/// knots with scipy's `interp1d` formula, so outputs equal scikit-learn's to rounding (1e-12).
///
/// Complexity: fit O(n) after the O(n) radix sort; predict O(log K) per score for K knots.
/// Thread-safety: const methods may be called concurrently; `fit` may not.
///
/// Example:
/// @code
///   calibrisk::IsotonicCalibrator cal;
///   cal.fit(scores, y);                     // VectorView<const double>s
///   double p = cal.predict_one(0.37);       // allocation-free
/// @endcode
class IsotonicCalibrator {
 public:
  explicit IsotonicCalibrator(IsotonicParams params = {}) : params_(std::move(params)) {
    params_.validate();
  }

  /// Fits on `scores` (finite, any order) with labels `y` in {0, 1} and optional non-negative
  /// `sample_weight`. Throws InvalidInput on NaN/inf scores, one class, mismatched lengths,
  /// negative weights. Returns *this.
  IsotonicCalibrator& fit(VectorView<const double> scores, VectorView<const double> y,
                          VectorView<const double> sample_weight = {});

  /// Calibrated value of one score (clipped to the knot range). Allocation-free, const,
  /// thread-safe. NaN in gives NaN out (use `predict` for validated input). Throws NotFitted.
  double predict_one(double score) const {
    require_fitted("IsotonicCalibrator::predict_one");
    return eval(score);
  }

  /// Calibrated values of `scores` into `out` (same size). Throws InvalidInput on NaN/inf scores
  /// or a size mismatch, NotFitted before fit.
  void predict(VectorView<const double> scores, VectorView<double> out) const;

  /// As above, returning a new vector.
  Eigen::VectorXd predict(VectorView<const double> scores) const {
    Eigen::VectorXd out(scores.size());
    predict(scores, VectorView<double>(out));
    return out;
  }

  bool is_fitted() const noexcept { return fitted_; }
  const IsotonicParams& params() const noexcept { return params_; }
  /// Number of stored knots.
  Index n_knots() const { return static_cast<Index>(state().x.size()); }

  /// The knots. Throws NotFitted before fit.
  const IsotonicState& state() const {
    require_fitted("IsotonicCalibrator::state");
    return state_;
  }

  /// Rebuilds a fitted calibrator from a state; validates sizes, finiteness and monotonicity and
  /// throws InvalidInput naming the bad field. Predicts bit-identically to the original.
  static IsotonicCalibrator from_state(IsotonicState s, IsotonicParams p = {});

 private:
  void require_fitted(const char* where) const {
    if (!fitted_) {
      throw NotFitted(std::string(where) + ": the calibrator is not fitted; call fit first.");
    }
  }

  // scikit-learn's trimming: keep the end points and every point whose value differs from its
  // predecessor's or its successor's; interior points of a flat run add nothing to interp1d.
  static IsotonicState compact(std::vector<double> x, std::vector<double> y);

  // scipy interp1d(kind="linear") after np.clip: idx = searchsorted(x, t) clipped to [1, K-1],
  // slope = (y_hi - y_lo) / (x_hi - x_lo), value = slope * (t - x_lo) + y_lo.
  double eval(double t) const noexcept {
    const std::vector<double>& x = state_.x;
    const std::vector<double>& y = state_.y;
    const std::size_t k = x.size();
    if (k == 1) return y[0];
    t = std::min(std::max(t, x.front()), x.back());
    std::size_t idx = lower_bound(t);
    idx = std::min(std::max<std::size_t>(idx, 1), k - 1);
    const double slope = (y[idx] - y[idx - 1]) / (x[idx] - x[idx - 1]);
    return slope * (t - x[idx - 1]) + y[idx - 1];
  }

  // A guide table over a uniform grid of the knot range narrows the search for the first knot
  // >= t to the knots of one grid cell; the result is then corrected by stepping, so it is
  // exactly std::lower_bound's whatever the floating-point rounding of the cell index.
  void build_guide();
  std::size_t lower_bound(double t) const noexcept {
    const std::vector<double>& x = state_.x;
    if (guide_.empty()) {
      return static_cast<std::size_t>(std::lower_bound(x.begin(), x.end(), t) - x.begin());
    }
    const double f = (t - guide_lo_) * guide_scale_;
    const std::size_t cells = guide_.size() - 1;
    const std::size_t c = f <= 0.0 ? 0 : std::min(cells - 1, static_cast<std::size_t>(f));
    std::size_t idx = static_cast<std::size_t>(
        std::lower_bound(x.begin() + guide_[c], x.begin() + guide_[c + 1], t) - x.begin());
    while (idx > 0 && x[idx - 1] >= t) --idx;
    while (idx < x.size() && x[idx] < t) ++idx;
    return idx;
  }

  IsotonicParams params_;
  IsotonicState state_;
  std::vector<std::uint32_t> guide_;
  double guide_lo_ = 0.0;
  double guide_scale_ = 0.0;
  bool fitted_ = false;
};

}  // namespace calibrisk
