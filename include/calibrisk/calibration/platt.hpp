// SPDX-License-Identifier: Apache-2.0
/// @file platt.hpp
/// Platt scaling (Platt 2000): p = sigmoid(a * s + b) fitted by weighted log loss on Platt's
/// smoothed targets, with the safeguarded Newton method of Lin, Lin & Weng (2007).
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// What the scores passed to a calibrator are.
enum class ScoreKind {
  kMargin,       ///< Raw margins / decision values on the real line (used as they are).
  kProbability,  ///< Probabilities in [0, 1]; the calibrator works on logit(clip(p, eps, 1 - eps)).
};

/// Spellings of ScoreKind (model file, Python, CLI).
inline const EnumTable<ScoreKind>& enum_table(ScoreKind) {
  static const EnumText<ScoreKind> e[] = {{ScoreKind::kMargin, "margin"},
                                          {ScoreKind::kProbability, "probability"}};
  static const EnumTable<ScoreKind> t{e, 2, "ScoreKind"};
  return t;
}

/// Hyper-parameters of `PlattCalibrator`, declared once in `fields`.
struct PlattParams {
  static constexpr const char* kName = "PlattParams";
  ScoreKind input = ScoreKind::kMargin;
  bool smoothed_targets = true;
  double eps = 1e-12;
  int max_iter = 100;
  double tol = 1e-11;

  template <class V>
  static void fields(V& v) {
    using P = PlattParams;
    v("input", &P::input, any_value(),
      "Scores are margins (default, as scikit-learn) or probabilities.");
    v("smoothed_targets", &P::smoothed_targets, any_value(),
      "Platt's smoothed targets (N+ + 1)/(N+ + 2), 1/(N- + 2) as scikit-learn; false = 0/1.");
    v("eps", &P::eps, open_open(0, 0.5).fix("the default is 1e-12."),
      "Probabilities are clipped to [eps, 1 - eps] before the logit; ignored for margins.");
    v("max_iter", &P::max_iter, at_least(1), "Newton iterations.");
    v("tol", &P::tol, open_open(0, 1), "Stop when max |gradient| <= tol * total weight.");
  }

  void validate() const { validate_params(*this); }
};

/// Complete prediction-time state of `PlattCalibrator`.
struct PlattState {
  double a = 0.0;  ///< Slope on the (margin or logit) score; finite.
  double b = 0.0;  ///< Intercept; finite.
  ScoreKind input = ScoreKind::kMargin;
  double eps = 1e-12;  ///< Probability clipping used at fit time, in (0, 0.5).
};

namespace detail {
/// logit(clip(p, eps, 1 - eps)) for p in [0, 1].
inline double clipped_logit(double p, double eps) noexcept {
  p = std::min(std::max(p, eps), 1.0 - eps);
  return std::log(p) - std::log1p(-p);
}
}  // namespace detail

/// Sigmoid calibration p = 1 / (1 + exp(-(a * s + b))), s the margin or the logit of the input
/// probability.
///
/// Fit minimises sum_i w_i [-t_i log p_i - (1 - t_i) log(1 - p_i)] with Platt's targets, from
/// a = 0, b = log((N+ + 1)/(N- + 1)), by Newton steps with backtracking (Lin, Lin & Weng 2007,
/// "A note on Platt's probabilistic outputs for support vector machines"). Scores are divided by
/// max |s| internally when that exceeds 1 (a affine-invariant rescaling for conditioning, as
/// scikit-learn does above 30). With smoothed targets the objective always has a minimiser; with
/// 0/1 targets on separable data it has none and fit stops at max_iter with
/// `fit_info().converged == false` and a note. A negative slope (a < 0: calibration reverses the
/// model's ranking, e.g. when fitted on noise) is kept, as the fit says, and noted in fit_info().
///
/// Complexity: O(n) per Newton iteration (typically < 10 iterations). Thread-safety: const methods
/// may be called concurrently.
class PlattCalibrator {
 public:
  explicit PlattCalibrator(PlattParams params = {}) : params_(std::move(params)) {
    params_.validate();
  }

  /// Fits on finite `scores` (probabilities in [0, 1] when input == kProbability), labels y in
  /// {0, 1}, optional non-negative weights. Throws InvalidInput on bad input. Returns *this.
  PlattCalibrator& fit(VectorView<const double> scores, VectorView<const double> y,
                       VectorView<const double> sample_weight = {});

  /// Calibrated probability of one score. Allocation-free, const, thread-safe.
  double predict_one(double score) const {
    require_fitted("PlattCalibrator::predict_one");
    return eval(score);
  }

  /// Calibrated probabilities into `out`. Throws InvalidInput on NaN/inf (or, for probability
  /// input, values outside [0, 1]) and size mismatch; NotFitted before fit.
  void predict(VectorView<const double> scores, VectorView<double> out) const;
  Eigen::VectorXd predict(VectorView<const double> scores) const {
    Eigen::VectorXd out(scores.size());
    predict(scores, VectorView<double>(out));
    return out;
  }

  double a() const { return state().a; }
  double b() const { return state().b; }
  /// Final objective sum_i w_i * logloss(t_i, p_i) (with the targets used at fit time).
  double objective() const {
    require_fitted("PlattCalibrator::objective");
    return objective_;
  }
  const FitInfo& fit_info() const {
    require_fitted("PlattCalibrator::fit_info");
    return info_;
  }
  bool is_fitted() const noexcept { return fitted_; }
  const PlattParams& params() const noexcept { return params_; }

  const PlattState& state() const {
    require_fitted("PlattCalibrator::state");
    return state_;
  }
  /// Rebuilds from a state (a, b finite; eps in (0, 0.5)); throws InvalidInput naming the field.
  static PlattCalibrator from_state(PlattState s, PlattParams p = {});

 private:
  // True when every positive-weight class-1 score lies on one side of every class-0 score.
  static bool separable(const std::vector<double>& s, const std::vector<double>& t,
                        const std::vector<double>& w);
  double to_margin(double s) const noexcept {
    return params_.input == ScoreKind::kProbability ? detail::clipped_logit(s, params_.eps) : s;
  }
  double eval(double s) const noexcept {
    const double m =
        state_.input == ScoreKind::kProbability ? detail::clipped_logit(s, state_.eps) : s;
    return sigmoid(state_.a * m + state_.b);
  }
  void require_fitted(const char* where) const {
    if (!fitted_) {
      throw NotFitted(std::string(where) + ": the calibrator is not fitted; call fit first.");
    }
  }

  PlattParams params_;
  PlattState state_;
  double objective_ = 0.0;
  FitInfo info_;
  bool fitted_ = false;
};

}  // namespace calibrisk
