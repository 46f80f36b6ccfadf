// SPDX-License-Identifier: Apache-2.0
// PlattCalibrator: fitting, batch prediction and rebuilding from a state (declared in
// calibration/platt.hpp).
#include <calibrisk/calibration/platt.hpp>

#include "calibration/common.hpp"
#include "calibration/logistic_newton.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

PlattCalibrator& PlattCalibrator::fit(VectorView<const double> scores, VectorView<const double> y,
                                      VectorView<const double> sample_weight) {
  params_.validate();
  const std::string where = "PlattCalibrator::fit";
  detail::validate_calibration_fit(scores, y, sample_weight, where);
  if (params_.input == ScoreKind::kProbability) detail::validate_probabilities(scores, where);
  const std::size_t n = static_cast<std::size_t>(scores.size());
  std::vector<std::vector<double>> cols(1, std::vector<double>(n));
  std::vector<double> t(n), w;
  double max_abs = 0.0, w0 = 0.0, w1 = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double s = to_margin(scores[static_cast<Index>(i)]);
    cols[0][i] = s;
    max_abs = std::max(max_abs, std::abs(s));
    const double wi = sample_weight.empty() ? 1.0 : sample_weight[static_cast<Index>(i)];
    (y[static_cast<Index>(i)] == 1.0 ? w1 : w0) += wi;
  }
  const double scale = max_abs > 1.0 ? max_abs : 1.0;
  if (scale != 1.0) {
    for (double& v : cols[0]) v /= scale;
  }
  const double t1 = params_.smoothed_targets ? (w1 + 1.0) / (w1 + 2.0) : 1.0;
  const double t0 = params_.smoothed_targets ? 1.0 / (w0 + 2.0) : 0.0;
  for (std::size_t i = 0; i < n; ++i) t[i] = y[static_cast<Index>(i)] == 1.0 ? t1 : t0;
  if (!sample_weight.empty()) {
    w.resize(n);
    for (std::size_t i = 0; i < n; ++i) w[i] = sample_weight[static_cast<Index>(i)];
  }
  Eigen::VectorXd theta0(2);
  theta0 << 0.0, std::log((w1 + 1.0) / (w0 + 1.0));
  const detail::NewtonResult r =
      detail::fit_logistic_newton(cols, t, w, theta0, params_.max_iter, params_.tol);
  state_ = PlattState{r.theta[0] / scale, r.theta[1], params_.input, params_.eps};
  objective_ = r.objective;
  info_ = FitInfo{};
  info_.n_iter = r.n_iter;
  info_.converged = r.converged;
  if (!params_.smoothed_targets && separable(cols[0], t, w)) {
    // The log loss keeps decreasing as |a| grows; Newton stops where the gradient underflows.
    info_.converged = false;
    info_.notes.push_back(
        "PlattCalibrator: the scores separate the classes, so 0/1 targets have no finite "
        "optimum (a = " +
        detail::fmt_value(state_.a) +
        " is where Newton stopped); use smoothed_targets = true for a finite fit");
  } else if (!r.converged) {
    info_.notes.push_back("PlattCalibrator: Newton stopped after " + std::to_string(r.n_iter) +
                          " iterations with max |gradient| " + detail::fmt_value(r.grad_norm) +
                          (params_.smoothed_targets
                               ? ""
                               : " (0/1 targets on separable scores have no finite optimum; "
                                 "use smoothed_targets)"));
  }
  if (state_.a < 0.0) {
    info_.notes.push_back(
        "PlattCalibrator: the fitted slope a = " + detail::fmt_value(state_.a) +
        " is negative, so the calibrated risk falls as the model's score rises: calibration "
        "reverses the model's ranking (the calibration scores are anti-correlated with the "
        "labels, or noise); check the calibration rows, or use isotonic or beta calibration, "
        "which never reverse the order");
  }
  fitted_ = true;
  return *this;
}

void PlattCalibrator::predict(VectorView<const double> scores, VectorView<double> out) const {
  require_fitted("PlattCalibrator::predict");
  detail::validate_scores(scores, "PlattCalibrator::predict");
  if (state_.input == ScoreKind::kProbability) {
    detail::validate_probabilities(scores, "PlattCalibrator::predict");
  }
  detail::validate_out(scores, out, "PlattCalibrator::predict");
  for (Index i = 0; i < scores.size(); ++i) out[i] = eval(scores[i]);
}

PlattCalibrator PlattCalibrator::from_state(PlattState s, PlattParams p) {
  const std::string where = "PlattCalibrator::from_state";
  if (!std::isfinite(s.a)) throw InvalidInput(where + ": state.a is not finite.");
  if (!std::isfinite(s.b)) throw InvalidInput(where + ": state.b is not finite.");
  if (!(s.eps > 0.0 && s.eps < 0.5)) {
    throw InvalidInput(where + ": state.eps must be in (0, 0.5), got " + detail::fmt_value(s.eps) +
                       ".");
  }
  if (s.input != ScoreKind::kMargin && s.input != ScoreKind::kProbability) {
    throw InvalidInput(where + ": state.input is not a ScoreKind.");
  }
  p.input = s.input;
  p.eps = s.eps;
  PlattCalibrator c(std::move(p));
  c.state_ = s;
  c.fitted_ = true;
  return c;
}

bool PlattCalibrator::separable(const std::vector<double>& s, const std::vector<double>& t,
                                const std::vector<double>& w) {
  double lo[2] = {HUGE_VAL, HUGE_VAL}, hi[2] = {-HUGE_VAL, -HUGE_VAL};
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!w.empty() && !(w[i] > 0.0)) continue;
    const int c = t[i] > 0.5 ? 1 : 0;
    lo[c] = std::min(lo[c], s[i]);
    hi[c] = std::max(hi[c], s[i]);
  }
  return hi[0] < lo[1] || hi[1] < lo[0];
}

}  // namespace calibrisk
