// SPDX-License-Identifier: Apache-2.0
/// @file logistic.hpp
/// Binary L2-penalised logistic regression with scikit-learn's objective, a damped Newton solver,
/// learned missing-value handling, and Wald statistics (standard errors, CIs, odds ratios).
///
/// Objective (identical to scikit-learn's `LogisticRegression(penalty="l2")`):
///
///     f(beta, b) = sum_i w_i * logloss(y_i, sigmoid(b + x_i . beta)) + ||beta||^2 / (2 C)
///
/// where `w_i = sample_weight_i * class_weight[y_i]`, the intercept `b` is not penalised, and
/// `C = +inf` removes the penalty. `beta` is always the coefficient vector on the *raw* feature
/// scale (after mean imputation), also when `standardize` is true: standardisation only
/// re-parameterises the problem for conditioning and never changes the minimiser.
///
/// Solver: Newton's method with an Armijo backtracking line search (Nocedal & Wright, Numerical
/// Optimization, 2nd ed., Alg. 3.1 and §3.1); an iteration builds the exact (p+1)x(p+1) Hessian
/// X^T W X over fixed row chunks in parallel, reduces them in chunk order (so the result is
/// bit-identical for any thread count) and solves with an LDL^T factorisation. In the fast local
/// phase the factorised Hessian is reused while each step still cuts the gradient 10-fold (lazy
/// Hessian). Convergence is declared when max_j |df/dtheta_j| / sum_i w_i <= tol (scikit-learn's
/// scaling of the gradient).
///
/// Wide data: with more than `newton_max_columns` model columns (features + missing indicators
/// + intercept) the Hessian is never formed; L-BFGS (LBFGSpp, 10 correction pairs, strong-Wolfe
/// line search) minimises the same objective in the same internal coordinates with the same
/// stopping rule, using O(n p) time per gradient and O(p) memory. Standard errors are then NaN
/// (noted in fit_info()).
///
/// Wald statistics follow the usual maximum-likelihood theory (e.g. Hosmer, Lemeshow &
/// Sturdivant, Applied Logistic Regression, 3rd ed., §1.3): Cov = H^-1 at the optimum. They are
/// exact (asymptotically) for C = +inf; under a penalty they are the common approximation that
/// uses the penalised Hessian, and `CoefficientTable::approximate` says so.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/core/weights.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk {

/// How NaN (missing) feature values are handled; learned at fit time, applied at predict time.
enum class MissingStrategy {
  /// Replace NaN in column j by the sample-weighted mean of its observed training values (0 when
  /// the column had no observed value).
  kMean,
  /// As kMean, plus one 0/1 "was missing" indicator feature for every column that had at least one
  /// NaN in the training data (scikit-learn's MissingIndicator(features="missing-only")). The
  /// indicator coefficients follow the input coefficients in `coef()`.
  kMeanWithIndicator,
};

/// The spellings of MissingStrategy in every interface (C++ text, CLI, Python, model file).
/// "mean_indicator" is the old Python spelling, accepted with a deprecation warning.
inline const EnumTable<MissingStrategy>& enum_table(MissingStrategy) {
  static const EnumText<MissingStrategy> e[] = {
      {MissingStrategy::kMean, "mean"},
      {MissingStrategy::kMeanWithIndicator, "mean_with_indicator"},
      {MissingStrategy::kMeanWithIndicator, "mean_indicator"}};
  static const EnumTable<MissingStrategy> t{e, 3, "MissingStrategy"};
  return t;
}

/// Hyper-parameters of LogisticRegression (names as in scikit-learn). Each field is declared once,
/// in `fields` (name, range, one-line doc); the default is the member initialiser.
struct LogisticRegressionParams {
  static constexpr const char* kName = "LogisticRegressionParams";
  double C = 1.0;
  bool fit_intercept = true;
  int max_iter = 100;
  double tol = 1e-6;
  ClassWeight class_weight;
  MissingStrategy missing = MissingStrategy::kMean;
  /// The objective, and hence the solution, is the same either way (penalty on raw coefficients).
  bool standardize = true;
  int n_threads = 0;
  /// The default keeps the Hessian near 32 MB and its factorisation near a second.
  Index newton_max_columns = 2048;

  template <class V>
  static void fields(V& v) {
    using P = LogisticRegressionParams;
    v("C", &P::C,
      above(0)
          .with_note("(or +inf for no penalty)")
          .fix("C is the inverse regularisation strength (1.0 is the default)."),
      "Inverse L2 strength; inf = no penalty.");
    v("fit_intercept", &P::fit_intercept, any_value(), "Fit an unpenalised intercept.");
    v("max_iter", &P::max_iter, at_least(1),
      "Newton iterations (L-BFGS may take 10 * max_iter gradients).");
    v("tol", &P::tol, finite_at_least(0), "Stop when max |gradient| / sum(w) <= tol.");
    v("class_weight", &P::class_weight, any_value(),
      "none, balanced or explicit {w0, w1}, folded into the weights.");
    v("missing", &P::missing, any_value(),
      "NaN handling learned at fit time: mean or mean_with_indicator.");
    v("standardize", &P::standardize, any_value(),
      "Centre and scale the columns internally to condition the Newton system.");
    v("n_threads", &P::n_threads, at_least(0).with_note("(0 = all available)").execution(),
      "Threads; 0 = all OpenMP allows (honours OMP_NUM_THREADS).");
    v("newton_max_columns", &P::newton_max_columns, at_least(1).execution(),
      "Model columns (features + indicators + intercept) up to which the exact Newton solver "
      "(and Wald statistics) is used; wider problems use L-BFGS.");
  }

  /// Throws InvalidParams naming the field, the value and the accepted range.
  void validate() const;
};

/// Everything a fitted LogisticRegression needs to predict (the artifact module saves this).
///
/// The linear predictor of a raw row x (length n_features, NaN = missing) is
///   z = intercept + sum_j coef[j] * (isnan(x_j) ? impute_values[j] : x_j)
///                 + sum_k coef[n_features + k] * isnan(x[indicator_features[k]])
/// and P(y = 1) = 1 / (1 + exp(-z)).
struct LogisticRegressionState {
  Index n_features = 0;      ///< Input columns, >= 1.
  std::vector<double> coef;  ///< n_features + indicator_features.size() raw-scale coefficients.
  double intercept = 0.0;    ///< Raw-scale intercept (0 when fit without intercept).
  std::vector<double> impute_values;  ///< n_features finite values replacing NaN.
  std::vector<Index>
      indicator_features;  ///< Columns with a missing indicator, strictly increasing.
  /// Centre and scale used while fitting, one per coefficient (informational: prediction uses the
  /// raw-scale coef; kept for reports). Either empty or coef.size() values, scale >= 0.
  std::vector<double> feature_mean;
  std::vector<double> feature_scale;
  /// Wald standard errors, one per coefficient (may hold NaN for a coefficient held at 0), or empty
  /// when unavailable. `intercept_std_error` is NaN when unavailable or without an intercept.
  std::vector<double> coef_std_error;
  double intercept_std_error = std::numeric_limits<double>::quiet_NaN();
  bool penalized = true;      ///< Whether the fit used a finite C (statistics approximate).
  bool has_intercept = true;  ///< Whether the intercept was fitted.
};

/// One line of a coefficient table.
struct CoefficientRow {
  std::string term;        ///< "(intercept)", the feature name, or "missing(<name>)".
  double estimate = 0.0;   ///< Raw-scale coefficient (log odds ratio per unit).
  double std_error = 0.0;  ///< Wald standard error sqrt([H^-1]_jj).
  double z = 0.0;          ///< estimate / std_error.
  double p_value = 0.0;    ///< Two-sided, standard normal reference.
  double ci_lower = 0.0;   ///< estimate -/+ z_{(1+confidence)/2} * std_error.
  double ci_upper = 0.0;
  double odds_ratio = 0.0;        ///< exp(estimate).
  double odds_ratio_lower = 0.0;  ///< exp(ci_lower).
  double odds_ratio_upper = 0.0;  ///< exp(ci_upper).
};

/// Wald statistics of a fitted model: the intercept row first (when fitted), then one row per
/// coefficient in `coef()` order.
struct CoefficientTable {
  std::vector<CoefficientRow> rows;
  double confidence = 0.95;
  /// True when C was finite: intervals come from the penalised Hessian and are only approximate
  /// (biased towards 0, narrower than a likelihood-based interval). False for C = +inf.
  bool approximate = true;
};

/// Binary logistic regression (see the file comment for the objective and solver).
///
/// Example:
/// @code
///   calibrisk::LogisticRegressionParams p; p.C = 10.0;
///   calibrisk::LogisticRegression lr(p);
///   lr.fit(calibrisk::Dataset(calibrisk::view(X), y));
///   Eigen::VectorXd risk = lr.predict_proba(calibrisk::view(X_new));
/// @endcode
/// `fit` may not run concurrently with anything else on the same object; all const methods may be
/// called concurrently. Copyable and movable (a plain value).
class LogisticRegression {
 public:
  explicit LogisticRegression(LogisticRegressionParams params = {}) : params_(params) {}

  /// Validates params and data, then fits. X: (n, p) float32/float64, any strides, NaN = missing,
  /// no ±inf; y in {0, 1} with both classes; optional sample weights (see Dataset).
  /// Throws InvalidParams / InvalidInput. Cost per iteration O(n p^2 / threads) + O(p^3).
  /// Non-convergence is not an error: see fit_info().
  LogisticRegression& fit(const Dataset& train);

  /// P(y = 1) per row of X (n, n_features()); NaN handled as learned. Throws NotFitted,
  /// InvalidInput (wrong column count; ±inf, naming the smallest offending row and its column).
  /// Zero rows give an empty vector. One pass over X, parallel over fixed 4096-row blocks.
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const;
  /// As above, writing into `out` (X.rows() values, any stride); allocation-free. When it throws,
  /// the contents of `out` are unspecified.
  void predict_proba(const FeatureMatrix& X, VectorView<double> out) const;
  /// Linear predictor (log odds) per row.
  Eigen::VectorXd decision_function(const FeatureMatrix& X) const;
  /// As above, writing into `out` (X.rows() values); allocation-free.
  void decision_function(const FeatureMatrix& X, VectorView<double> out) const;

  /// Log odds of one contiguous row of n_features() values (NaN = missing). Unchecked: the model
  /// must be fitted and the row finite-or-NaN. Const, thread-safe, allocation-free, O(p).
  double decision_function_row(const double* row) const noexcept { return margin(row, 1); }
  double decision_function_row(const float* row) const noexcept { return margin(row, 1); }
  /// P(y = 1) of one contiguous row; same contract as decision_function_row.
  double predict_proba_row(const double* row) const noexcept { return sigmoid(margin(row, 1)); }
  double predict_proba_row(const float* row) const noexcept { return sigmoid(margin(row, 1)); }

  /// Raw-scale coefficients: n_features() inputs, then one per missing indicator.
  /// Throws NotFitted.
  const std::vector<double>& coef() const { return state().coef; }
  /// Raw-scale intercept (0 when fit_intercept is false). Throws NotFitted.
  double intercept() const { return state().intercept; }
  /// Number of input columns the model was fitted with. Throws NotFitted.
  Index n_features() const { return state().n_features; }
  bool is_fitted() const noexcept { return fitted_; }
  /// Iterations, convergence and notes of the last fit. Throws NotFitted.
  const FitInfo& fit_info() const;
  /// Objective value f(beta, b) reached by the last fit (NaN after from_state). Throws NotFitted.
  double objective() const;
  /// max |gradient| / sum(w) at the solution (NaN after from_state). Throws NotFitted.
  double gradient_max() const;
  const LogisticRegressionParams& params() const noexcept { return params_; }

  /// Wald table at `confidence` in (0, 1) (normal quantile from Boost.Math). `names` is empty
  /// (x0, x1, ...) or n_features() names. Throws NotFitted, InvalidInput (bad confidence or names,
  /// or a model restored without standard errors).
  CoefficientTable coefficient_table(double confidence = 0.95,
                                     const std::vector<std::string>& names = {}) const;

  /// Complete prediction-time state. Throws NotFitted.
  const LogisticRegressionState& state() const;
  /// Rebuilds a fitted model from a state, validating every field (throws InvalidInput naming it).
  /// The rebuilt model predicts bit-identically to the one the state came from.
  static LogisticRegression from_state(LogisticRegressionState s, LogisticRegressionParams p = {});

  /// Numerically stable logistic function.
  static double sigmoid(double z) noexcept { return calibrisk::sigmoid(z); }

  /// Log odds of the row starting at `row` whose elements are `stride` apart. The summation order
  /// is fixed (four interleaved partial sums), so every prediction path gives the same bits.
  template <class T>
  double margin(const T* row, Index stride) const noexcept {
    const double* b = state_.coef.data();
    const double* m = state_.impute_values.data();
    const Index p = state_.n_features;
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    Index j = 0;
    for (; j + 4 <= p; j += 4) {
      double v0 = static_cast<double>(row[j * stride]);
      double v1 = static_cast<double>(row[(j + 1) * stride]);
      double v2 = static_cast<double>(row[(j + 2) * stride]);
      double v3 = static_cast<double>(row[(j + 3) * stride]);
      // v != v is the NaN test; it stays correct without -ffast-math and is branch-predictable.
      if (v0 != v0) v0 = m[j];
      if (v1 != v1) v1 = m[j + 1];
      if (v2 != v2) v2 = m[j + 2];
      if (v3 != v3) v3 = m[j + 3];
      acc[0] += b[j] * v0;
      acc[1] += b[j + 1] * v1;
      acc[2] += b[j + 2] * v2;
      acc[3] += b[j + 3] * v3;
    }
    for (; j < p; ++j) {
      double v = static_cast<double>(row[j * stride]);
      if (v != v) v = m[j];
      acc[j & 3] += b[j] * v;
    }
    double z = state_.intercept + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
    const Index n_ind = static_cast<Index>(state_.indicator_features.size());
    for (Index k = 0; k < n_ind; ++k) {
      const double v = static_cast<double>(row[state_.indicator_features[k] * stride]);
      if (v != v) z += b[p + k];
    }
    return z;
  }

 private:
  void predict_into(const FeatureMatrix& X, VectorView<double> out, bool proba,
                    const char* where) const;
  /// Throws InvalidInput for row i, whose margin is not finite: an infinite value, or the feature
  /// whose term overflows the linear predictor.
  template <class T>
  [[noreturn]] void throw_bad_row(const MatrixView<const T>& X, Index i, const char* where) const;

  LogisticRegressionParams params_;
  LogisticRegressionState state_;
  FitInfo info_;
  double objective_ = std::numeric_limits<double>::quiet_NaN();
  double gradient_max_ = std::numeric_limits<double>::quiet_NaN();
  bool fitted_ = false;
};

}  // namespace calibrisk
