// SPDX-License-Identifier: Apache-2.0
/// @file beta.hpp
/// Beta calibration (Kull, Silva Filho & Flach, "Beta calibration: a well-founded and easily
/// implemented improvement on logistic calibration for binary classifiers", AISTATS 2017).
#pragma once

#include <calibrisk/calibration/common.hpp>
#include <calibrisk/calibration/logistic_newton.hpp>
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
/// (0/1 targets), solved by Newton's method (see logistic_newton.hpp). The paper constrains
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
                      VectorView<const double> sample_weight = {}) {
    params_.validate();
    const std::string where = "BetaCalibrator::fit";
    detail::validate_calibration_fit(scores, y, sample_weight, where);
    detail::validate_probabilities(scores, where);
    const std::size_t n = static_cast<std::size_t>(scores.size());
    std::vector<double> lp(n), l1p(n), t(n), w;
    double w0 = 0.0, w1 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto ii = static_cast<Index>(i);
      const double p = std::min(std::max(scores[ii], params_.eps), 1.0 - params_.eps);
      lp[i] = std::log(p);
      l1p[i] = -std::log1p(-p);
      t[i] = y[ii];
      const double wi = sample_weight.empty() ? 1.0 : sample_weight[ii];
      (t[i] == 1.0 ? w1 : w0) += wi;
    }
    if (!sample_weight.empty()) {
      w.resize(n);
      for (std::size_t i = 0; i < n; ++i) w[i] = sample_weight[static_cast<Index>(i)];
    }
    info_ = FitInfo{};
    const double c0 = std::log(w1 / w0);
    auto run = [&](std::vector<std::vector<double>> cols) {
      Eigen::VectorXd theta0 = Eigen::VectorXd::Zero(static_cast<Index>(cols.size()) + 1);
      theta0[theta0.size() - 1] = c0;
      detail::NewtonResult r =
          detail::fit_logistic_newton(cols, t, w, theta0, params_.max_iter, params_.tol);
      info_.n_iter += r.n_iter;
      if (!r.converged) {
        info_.converged = false;
        info_.notes.push_back("BetaCalibrator: Newton stopped after " + std::to_string(r.n_iter) +
                              " iterations with max |gradient| " + detail::fmt_value(r.grad_norm) +
                              " (separable scores have no finite optimum)");
      }
      return r;
    };
    detail::NewtonResult full = run({lp, l1p});
    double a = full.theta[0], b = full.theta[1], c = full.theta[2];
    if (a < 0.0) {
      info_.notes.push_back("BetaCalibrator: a < 0 in the full fit; refitted with a = 0.");
      detail::NewtonResult r = run({l1p});
      a = 0.0;
      b = r.theta[0];
      c = r.theta[1];
    } else if (b < 0.0) {
      info_.notes.push_back("BetaCalibrator: b < 0 in the full fit; refitted with b = 0.");
      detail::NewtonResult r = run({lp});
      a = r.theta[0];
      b = 0.0;
      c = r.theta[1];
    }
    if (a < 0.0 || b < 0.0) {
      info_.notes.push_back(
          "BetaCalibrator: the remaining coefficient is negative too (scores anti-correlated "
          "with y); using the constant prevalence.");
      a = 0.0;
      b = 0.0;
      c = c0;
    }
    state_ = BetaState{a, b, c, params_.eps};
    fitted_ = true;
    return *this;
  }

  /// Calibrated probability of one probability. Allocation-free, const, thread-safe.
  double predict_one(double p) const {
    require_fitted("BetaCalibrator::predict_one");
    return eval(p);
  }
  void predict(VectorView<const double> scores, VectorView<double> out) const {
    require_fitted("BetaCalibrator::predict");
    detail::validate_scores(scores, "BetaCalibrator::predict");
    detail::validate_probabilities(scores, "BetaCalibrator::predict");
    detail::validate_out(scores, out, "BetaCalibrator::predict");
    for (Index i = 0; i < scores.size(); ++i) out[i] = eval(scores[i]);
  }
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
  static BetaCalibrator from_state(BetaState s, BetaParams p = {}) {
    const std::string where = "BetaCalibrator::from_state";
    if (!std::isfinite(s.a) || s.a < 0.0) {
      throw InvalidInput(where + ": state.a must be finite and >= 0, got " +
                         detail::fmt_value(s.a) + ".");
    }
    if (!std::isfinite(s.b) || s.b < 0.0) {
      throw InvalidInput(where + ": state.b must be finite and >= 0, got " +
                         detail::fmt_value(s.b) + ".");
    }
    if (!std::isfinite(s.c)) throw InvalidInput(where + ": state.c is not finite.");
    if (!(s.eps > 0.0 && s.eps < 0.5)) {
      throw InvalidInput(where + ": state.eps must be in (0, 0.5), got " +
                         detail::fmt_value(s.eps) + ".");
    }
    p.eps = s.eps;
    BetaCalibrator c(std::move(p));
    c.state_ = s;
    c.fitted_ = true;
    return c;
  }

 private:
  double eval(double p) const noexcept {
    p = std::min(std::max(p, state_.eps), 1.0 - state_.eps);
    return detail::sigmoid(state_.a * std::log(p) - state_.b * std::log1p(-p) + state_.c);
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
