// SPDX-License-Identifier: Apache-2.0
// BetaCalibrator: fitting (with the paper's refits for negative coefficients), batch prediction
// and rebuilding from a state (declared in calibration/beta.hpp).
#include <calibrisk/calibration/beta.hpp>

#include "calibration/common.hpp"
#include "calibration/logistic_newton.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

BetaCalibrator& BetaCalibrator::fit(VectorView<const double> scores, VectorView<const double> y,
                                    VectorView<const double> sample_weight) {
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

void BetaCalibrator::predict(VectorView<const double> scores, VectorView<double> out) const {
  require_fitted("BetaCalibrator::predict");
  detail::validate_scores(scores, "BetaCalibrator::predict");
  detail::validate_probabilities(scores, "BetaCalibrator::predict");
  detail::validate_out(scores, out, "BetaCalibrator::predict");
  for (Index i = 0; i < scores.size(); ++i) out[i] = eval(scores[i]);
}

BetaCalibrator BetaCalibrator::from_state(BetaState s, BetaParams p) {
  const std::string where = "BetaCalibrator::from_state";
  if (!std::isfinite(s.a) || s.a < 0.0) {
    throw InvalidInput(where + ": state.a must be finite and >= 0, got " + detail::fmt_value(s.a) +
                       ".");
  }
  if (!std::isfinite(s.b) || s.b < 0.0) {
    throw InvalidInput(where + ": state.b must be finite and >= 0, got " + detail::fmt_value(s.b) +
                       ".");
  }
  if (!std::isfinite(s.c)) throw InvalidInput(where + ": state.c is not finite.");
  if (!(s.eps > 0.0 && s.eps < 0.5)) {
    throw InvalidInput(where + ": state.eps must be in (0, 0.5), got " + detail::fmt_value(s.eps) +
                       ".");
  }
  p.eps = s.eps;
  BetaCalibrator c(std::move(p));
  c.state_ = s;
  c.fitted_ = true;
  return c;
}

}  // namespace calibrisk
