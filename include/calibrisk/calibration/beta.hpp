// SPDX-License-Identifier: Apache-2.0
/// @file beta.hpp
/// Beta calibration (Kull, Silva Filho & Flach, "Beta calibration: a well-founded and easily
/// implemented improvement on logistic calibration for binary classifiers", AISTATS 2017).
#pragma once

#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <Eigen/Core>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Hyper-parameters of `BetaCalibrator`.
struct BetaParams {
  static constexpr const char* kName = "BetaParams";
  double eps = 1e-12;
  int max_iter = 100;
  double tol = 1e-11;

  template <class V>
  static void fields(V& v) {
    using P = BetaParams;
    v("eps", &P::eps, open_open(0, 0.5).fix("the default is 1e-12."),
      "Probabilities are clipped to [eps, 1 - eps] before the logs.");
    v("max_iter", &P::max_iter, at_least(1), "Newton iterations per fit.");
    v("tol", &P::tol, open_open(0, 1), "Stop when max |gradient| <= tol * total weight.");
  }

  void validate() const { validate_params(*this); }
};

/// Complete prediction-time state of `BetaCalibrator`: the map
/// p' = sigmoid(a ln p - b ln(1 - p) + c).
struct BetaState {
  double a = 0.0;      ///< >= 0, finite.
  double b = 0.0;      ///< >= 0, finite.
  double c = 0.0;      ///< finite.
  double eps = 1e-12;  ///< Clipping of the input probability, in (0, 0.5).
};

/// Three-parameter beta calibration of probabilities.
///
/// Fit: an unpenalised weighted logistic regression of y on [ln p, -ln(1 - p)] with an intercept
/// (0/1 targets), solved by Newton's method (the solver Platt scaling uses). The paper constrains
/// a, b >= 0 (so the map is monotone) and handles a negative coefficient by dropping its feature
/// and refitting: if a < 0 refit on -ln(1 - p) alone (a = 0); else if b < 0 refit on ln p alone
/// (b = 0). If the remaining coefficient is still negative the map falls back to the constant
/// prevalence (a = b = 0), noted in fit_info(). a = b recovers Platt scaling on the logit.
///
/// Complexity O(n) per Newton iteration; const methods thread-safe.
class BetaCalibrator {
 public:
  explicit BetaCalibrator(BetaParams params = {}) : params_(std::move(params)) {
    params_.validate();
  }

  /// Fits on probabilities `scores` in [0, 1], labels y in {0, 1}, optional weights. Throws
  /// InvalidInput on NaN/inf, values outside [0, 1], one class, mismatched lengths, negative
  /// weights. Returns *this.
  BetaCalibrator& fit(VectorView<const double> scores, VectorView<const double> y,
                      VectorView<const double> sample_weight = {});

  /// Calibrated probability of one probability. Allocation-free, const, thread-safe.
  double predict_one(double p) const {
    require_fitted("BetaCalibrator::predict_one");
    return eval(p);
  }
  void predict(VectorView<const double> scores, VectorView<double> out) const;
  Eigen::VectorXd predict(VectorView<const double> scores) const {
    Eigen::VectorXd out(scores.size());
    predict(scores, VectorView<double>(out));
    return out;
  }

  const FitInfo& fit_info() const {
    require_fitted("BetaCalibrator::fit_info");
    return info_;
  }
  bool is_fitted() const noexcept { return fitted_; }
  const BetaParams& params() const noexcept { return params_; }
  const BetaState& state() const {
    require_fitted("BetaCalibrator::state");
    return state_;
  }
  /// Rebuilds from a state; throws InvalidInput naming a non-finite or negative field.
  static BetaCalibrator from_state(BetaState s, BetaParams p = {});

 private:
  double eval(double p) const noexcept {
    p = std::min(std::max(p, state_.eps), 1.0 - state_.eps);
    return sigmoid(state_.a * std::log(p) - state_.b * std::log1p(-p) + state_.c);
  }
  void require_fitted(const char* where) const {
    if (!fitted_) {
      throw NotFitted(std::string(where) + ": the calibrator is not fitted; call fit first.");
    }
  }

  BetaParams params_;
  BetaState state_;
  FitInfo info_;
  bool fitted_ = false;
};

}  // namespace calibrisk
