// SPDX-License-Identifier: Apache-2.0
/// @file logistic_newton.hpp
/// A small-dimensional (<= 3 coefficients) weighted logistic regression with soft targets, solved
/// by the safeguarded Newton method of Lin, Lin & Weng (2007), shared by Platt and beta
/// calibration.
#pragma once

#include "calibration/common.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <cmath>
#include <string>
#include <vector>

namespace calibrisk {
namespace detail {

/// Result of `fit_logistic_newton`.
struct NewtonResult {
  Eigen::VectorXd theta;   ///< Coefficients of the feature columns, then the intercept.
  double objective = 0.0;  ///< Final value of sum_i w_i (softplus(z_i) - t_i z_i).
  int n_iter = 0;
  bool converged = false;
  double grad_norm = 0.0;  ///< Max-abs gradient at the end.
};

/// Minimises f(theta) = sum_i w_i [log(1 + exp(z_i)) - t_i z_i], z_i = sum_j theta_j x_ij +
/// theta_k, i.e. weighted log loss with (possibly soft) targets t_i in [0, 1] (Platt 2000).
///
/// Newton steps on the exact Hessian plus `sigma` * I (Lin, Lin & Weng 2007, Algorithm 3: the
/// ridge keeps the system solvable when the data are separable or a column is constant), with
/// backtracking until the Armijo condition f(new) <= f + 1e-4 * step * g.d holds; the step is
/// halved down to 1e-10. Stops when max |g| <= tol * sum(w) (gradient noise scales with the total
/// weight) or after `max_iter` Newton steps. Monotone in f, so it terminates on separable data
/// too, where f has no minimiser (then `converged` is false).
///
/// @param cols    feature columns, each of size n (the intercept is added here)
/// @param t       targets, size n;  @param w  positive weights, size n (empty = ones)
/// @param theta0  start, size cols.size() + 1
/// Complexity O(n k^2) per iteration, k = cols.size() + 1 <= 4.
inline NewtonResult fit_logistic_newton(const std::vector<std::vector<double>>& cols,
                                        const std::vector<double>& t, const std::vector<double>& w,
                                        Eigen::VectorXd theta0, int max_iter, double tol) {
  const std::size_t n = t.size();
  const int k = static_cast<int>(cols.size()) + 1;
  const double sigma = 1e-12;
  auto weight = [&](std::size_t i) { return w.empty() ? 1.0 : w[i]; };
  auto z_of = [&](const Eigen::VectorXd& th, std::size_t i) {
    double z = th[k - 1];
    for (int j = 0; j + 1 < k; ++j) z += th[j] * cols[static_cast<std::size_t>(j)][i];
    return z;
  };
  auto objective = [&](const Eigen::VectorXd& th) {
    double f = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double z = z_of(th, i);
      f += weight(i) * (softplus(z) - t[i] * z);
    }
    return f;
  };
  double total_w = 0.0;
  for (std::size_t i = 0; i < n; ++i) total_w += weight(i);

  NewtonResult r;
  r.theta = std::move(theta0);
  double f = objective(r.theta);
  Eigen::VectorXd g(k), x(k);
  Eigen::MatrixXd H(k, k);
  for (int it = 0; it < max_iter; ++it) {
    g.setZero();
    H.setZero();
    for (std::size_t i = 0; i < n; ++i) {
      for (int j = 0; j + 1 < k; ++j) x[j] = cols[static_cast<std::size_t>(j)][i];
      x[k - 1] = 1.0;
      const double z = z_of(r.theta, i);
      const double p = sigmoid(z);
      const double wi = weight(i);
      g.noalias() += (wi * (p - t[i])) * x;
      // p (1 - p) computed from the smaller tail keeps precision for |z| large.
      const double q = z >= 0.0 ? sigmoid(-z) : 1.0 - p;
      H.noalias() += (wi * p * q) * (x * x.transpose());
    }
    r.grad_norm = g.cwiseAbs().maxCoeff();
    if (r.grad_norm <= tol * total_w) {
      r.converged = true;
      break;
    }
    H.diagonal().array() += sigma;
    const Eigen::VectorXd d = -H.ldlt().solve(g);
    const double gd = g.dot(d);
    double step = 1.0;
    bool moved = false;
    while (step >= 1e-10) {
      const Eigen::VectorXd cand = r.theta + step * d;
      const double fc = objective(cand);
      if (std::isfinite(fc) && fc <= f + 1e-4 * step * gd) {
        moved = fc < f || cand != r.theta;
        r.theta = cand;
        f = fc;
        break;
      }
      step *= 0.5;
    }
    r.n_iter = it + 1;
    if (!moved) {
      // No further decrease is representable: at the optimum to rounding, or stalled.
      r.converged = r.grad_norm <= 1e-7 * total_w;
      break;
    }
  }
  r.objective = f;
  return r;
}

}  // namespace detail
}  // namespace calibrisk
