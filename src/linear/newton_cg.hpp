// SPDX-License-Identifier: Apache-2.0
// Internal: the Hessian-free solver of logistic regression (binary on sparse input, multinomial on
// dense or sparse input). See newton_cg.cpp and docs/linear.md ("Solvers").
#pragma once

#include <calibrisk/core/matrix.hpp>

#include <Eigen/Core>

#include <string>
#include <vector>

namespace calibrisk::detail {

/// One logistic-regression problem in raw coordinates: exactly one of `dense` / `sparse`.
struct LinearProblem {
  const FeatureMatrix* dense = nullptr;            ///< NaN = missing (imputed by the weighted mean)
  const SparseMatrixView* sparse = nullptr;        ///< validated, CSR or CSC
  VectorView<const double> y;                      ///< class indices 0..K-1
  const Eigen::VectorXd* w = nullptr;              ///< effective row weights
  const Eigen::VectorXd* sample_weight = nullptr;  ///< for the column statistics (dense)
  int n_classes = 2;  ///< 2: one sigmoid margin; >= 3: softmax over K margins
  double C = 1.0;
  /// Per raw feature, a multiplier of its L2 penalty (the penalty becomes
  /// sum_j factor_j * beta_j^2 / (2C)); null = 1 for every feature.
  const std::vector<double>* penalty_factor = nullptr;
  bool fit_intercept = true;
  bool standardize = true;  ///< dense only: centre and scale internally (same minimiser)
  double tol = 1e-6;
  int max_iter = 100;
  int n_threads = 1;
  /// Binary model on sparse input with many rows (kWarmMinRows in newton_cg.cpp): first solve the
  /// same per-row problem on a fixed 1-in-16 row subsample (hashed row index) to a loose tolerance
  /// and start from its minimiser; the stopping rule then also requires the Newton decrement to be
  /// negligible. false: the cold start from the class log-priors (the previous path, bit for bit).
  bool warm_start = true;
  /// Small problems: one more Newton step with a tight CG tolerance once the rule holds (see
  /// newton_iterations). false for the warm start's subsample solve (only a starting point).
  bool polish = true;
};

/// The minimiser in raw coordinates. K' = 1 for binary, K for multinomial.
struct LinearSolution {
  Eigen::MatrixXd coef;               ///< d x K'
  Eigen::VectorXd intercept;          ///< K' (multinomial: summing to 0)
  std::vector<double> impute;         ///< d imputation values (0 for sparse input)
  std::vector<double> feature_mean;   ///< d internal centres (empty for sparse input)
  std::vector<double> feature_scale;  ///< d internal scales (empty for sparse input)
  double f = 0.0;                     ///< penalised objective
  double gmax = 0.0;                  ///< max |raw gradient| / sum(w)
  int n_iter = 0;                     ///< Newton iterations
  int n_cg = 0;                       ///< Hessian-vector products
  bool converged = false;
  bool warm_started = false;  ///< the fit started from a row-subsample solution
  std::vector<std::string> notes;
};

/// Truncated Newton (Newton-CG with a diagonal preconditioner and Armijo backtracking).
/// Deterministic for any thread count (fixed row chunks reduced in order; the transposed products
/// of sparse input run over columns of a CSC copy).
LinearSolution solve_newton_cg(const LinearProblem& prob);

/// Margins X B + 1 b^T of rows of a CSR/CSC view into `out` (n x K' row-major); B is d x K'.
void sparse_margins(const SparseMatrixView& X, const Eigen::MatrixXd& B, const Eigen::VectorXd& b,
                    double* out, int n_threads);

}  // namespace calibrisk::detail
