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
/// Penalty scale (`penalty_scale`): `raw` (the default) is the objective above. `standardized`
/// replaces the penalty by sum_j s_j^2 beta_j^2 / (2C), s_j^2 the sample-weighted variance of
/// model column j over the training rows (numeric inputs after mean imputation, missing
/// indicators m_j (1 - m_j); sparse input: the variance with the absent entries as 0), which is
/// scikit-learn's fit on StandardScaler(X) (sample-weighted; with_mean=False when fit_intercept is
/// false) with the coefficients mapped back (beta_j = beta'_j / s_j). On data with columns in
/// different units the raw penalty shrinks large-unit columns hardly at all and small-unit columns
/// hard; the standardized one treats them alike. A column with s_j = 0 (constant) keeps factor 1,
/// as StandardScaler gives it scale 1 (with an intercept its coefficient is 0 anyway). Categorical
/// levels keep factor 1: a one-hot indicator's variance m (1 - m) is smallest for the rarest
/// levels, so a variance-scaled penalty would shrink rare codes least and overfit them.
/// Every solver (exact/subsampled Newton, L-BFGS, Newton-CG for multinomial and sparse input)
/// minimises the same objective.
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
///
/// Categorical features (`LogisticRegressionParams::categorical_features`): a column of integer
/// codes k >= 0 (stored as double/float, NaN = missing) is expanded internally into one 0/1
/// indicator per kept level ("dummy" / reference coding): the most frequent training level is the
/// reference (coefficient 0), levels seen in fewer than `min_category_count` training rows are
/// pooled into one "other" indicator, and NaN is its own "missing" indicator when the training
/// data had one. The expanded design is never materialised: an indicator adds its coefficient to
/// the margin directly, and the solver builds the gradient and Hessian from the row's level
/// indices (O(rows x (numeric columns + categorical columns)^2) per Hessian, whatever the number
/// of levels). Indicators are neither centred nor scaled (their penalty is the raw one under either
/// penalty_scale, so the solution is unchanged). At scoring, a code the training data never had (a
/// new code, a negative or non-integer value) and NaN in a column that had no NaN in training
/// contribute 0, i.e. score as the reference level.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/core/sparse.hpp>
#include <calibrisk/core/weights.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
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

/// Which scale the L2 penalty applies to (LogisticRegressionParams::penalty_scale).
enum class PenaltyScale {
  /// ||beta||^2 / (2C) on the raw-scale coefficients: scikit-learn's objective on X as given.
  kRaw,
  /// sum_j s_j^2 beta_j^2 / (2C), s_j^2 the (sample-weighted) variance of column j on the training
  /// rows (after mean imputation; a missing indicator's is m (1 - m)): the same fit as
  /// scikit-learn on StandardScaler-transformed X, its coefficients mapped back to the raw scale.
  /// A column with zero variance keeps factor 1 (StandardScaler's scale 1); categorical levels
  /// keep the raw penalty (see the file comment).
  kStandardized,
};

/// The spellings of PenaltyScale in every interface (C++ text, CLI, Python, model file).
inline const EnumTable<PenaltyScale>& enum_table(PenaltyScale) {
  static const EnumText<PenaltyScale> e[] = {{PenaltyScale::kRaw, "raw"},
                                             {PenaltyScale::kStandardized, "standardized"}};
  static const EnumTable<PenaltyScale> t{e, 2, "PenaltyScale"};
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
  /// The objective, and hence the solution, is the same either way (the penalty's scale is
  /// `penalty_scale`, independent of this conditioning switch).
  bool standardize = true;
  int n_threads = 0;
  /// The default keeps the Hessian near 32 MB and its factorisation near a second.
  Index newton_max_columns = 2048;
  /// Input columns holding integer category codes (see the file comment); empty = none.
  std::vector<int> categorical_features;
  /// Newton iterations on tall data use a Hessian from a fixed subsample of rows (the exact one
  /// is still computed once at the solution for the standard errors). Same optimum either way.
  bool hessian_subsample = true;
  /// Levels seen in fewer training rows (with positive weight) are pooled into "other".
  int min_category_count = 10;
  /// raw (scikit-learn's objective, the default) or standardized (see PenaltyScale).
  PenaltyScale penalty_scale = PenaltyScale::kRaw;

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
    v("categorical_features", &P::categorical_features,
      at_least(0).fix("list column indices (0-based), each once.").since(4),
      "Columns of integer category codes (NaN = missing), expanded into one indicator per level "
      "against the most frequent level; empty = none.");
    v("min_category_count", &P::min_category_count, at_least(1).since(4),
      "Levels of a categorical feature seen in fewer training rows are pooled into one 'other' "
      "level.");
    v("hessian_subsample", &P::hessian_subsample, any_value().execution(),
      "Dense Newton on tall data: build the iterations' Hessian from a fixed row subsample "
      "(~max(16384, 64 q) rows); the exact Hessian is computed once at the solution.");
    v("penalty_scale", &P::penalty_scale, any_value().since(8),
      "raw: L2 on the raw coefficients (scikit-learn); standardized: coefficient j's penalty "
      "times the training variance of column j (as fitting on StandardScaler output).");
  }

  /// Throws InvalidParams naming the field, the value and the accepted range.
  void validate() const;
};

/// Everything a fitted LogisticRegression needs to predict (the artifact module saves this).
///
/// The linear predictor of a raw row x (length n_features, NaN = missing) is
///   z = intercept + sum_j coef[j] * (isnan(x_j) ? impute_values[j] : x_j)
///                 + sum_k coef[n_features + k] * isnan(x[indicator_features[k]])
///                 + sum_c coef[level_index(c, x[categorical_features[c]])]
/// and P(y = 1) = 1 / (1 + exp(-z)). For a categorical column j, coef[j] and impute_values[j] are
/// 0 (placeholders, so the numeric part ignores it) and its levels' coefficients follow the
/// missing indicators: for each categorical feature c in order, one per kept level (codes
/// ascending), then "other" (when `category_pooled` has codes for c), then "missing" (when
/// `category_missing[c]`). level_index maps the reference level, codes never seen in training
/// and NaN without a missing level to "no term".
struct LogisticRegressionState {
  Index n_features = 0;  ///< Input columns, >= 1.
  /// n_features + indicator_features.size() + (category levels) raw-scale coefficients.
  std::vector<double> coef;
  double intercept = 0.0;             ///< Raw-scale intercept (0 when fit without intercept).
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

  // The categorical expansion (all empty when the model has no categorical feature; saved from
  // model-file format 1.4). Per-feature lists are flattened with offsets (size n_cat + 1).
  std::vector<Index> categorical_features;    ///< Input columns, strictly increasing.
  std::vector<Index> category_level_offsets;  ///< Kept levels of feature c: [off[c], off[c+1]).
  std::vector<std::int64_t> category_levels;  ///< Kept codes, strictly increasing per feature.
  /// Reference code per feature (coefficient 0): the most frequent training level (ties: the
  /// smallest code); -1 when the feature had no observed code.
  std::vector<std::int64_t> category_reference;
  std::vector<Index> category_pooled_offsets;  ///< Pooled codes of feature c: [off[c], off[c+1]).
  std::vector<std::int64_t> category_pooled;   ///< Codes pooled into "other", increasing.
  std::vector<int> category_missing;  ///< Per feature: 1 when NaN has its own "missing" level.

  // Multinomial models (K >= 3 classes; saved from model-file format 1.5, both empty for a binary
  // model). Class k's linear predictor is class_intercept[k] + sum_j class_coef[k * n_features +
  // j] * (isnan(x_j) ? impute_values[j] : x_j), and P(y = k) its softmax. `coef` is then empty,
  // `intercept` 0, and there are no indicators, categorical levels or standard errors.
  std::vector<double> class_coef;       ///< K x n_features, row-major (one row per class)
  std::vector<double> class_intercept;  ///< K intercepts, summing to 0 (softmax is shift-free)
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

namespace detail {
/// Code -> coefficient look-up derived from a state's categorical expansion (internal).
struct CategoryLookup {
  std::vector<Index> column;          ///< Input column of categorical feature c.
  std::vector<Index> offset;          ///< n_cat + 1 offsets into `table` and `value`.
  std::vector<std::int32_t> table;    ///< Code -> coef position, -1 = no term.
  std::vector<std::int32_t> missing;  ///< Per feature: coef position of NaN, or -1.
  /// Code -> coefficient (the scoring path: one load, no second look-up into coef); -0.0 for "no
  /// term", so that adding it leaves every margin's bits unchanged. Empty while the coefficients
  /// are not known yet (the look-up the solver uses).
  std::vector<double> value;
  /// What scoring needs of categorical feature c, packed together (one cache line per row).
  struct Feature {
    Index column = 0;       ///< input column
    Index offset = 0;       ///< start of its codes in `value`
    double size = 0.0;      ///< codes [0, size) are in `value`
    double missing = -0.0;  ///< coefficient of NaN, or -0.0
  };
  std::vector<Feature> features;  ///< empty while `value` is
  /// The input columns that are not categorical, as maximal runs [first, second): the numeric
  /// part of the margin skips the categorical columns (their placeholder coefficients are 0).
  std::vector<std::pair<Index, Index>> numeric_runs;
  /// Coefficient position of value v of feature c, or -1 (reference, unseen code, NaN without a
  /// missing level). Allocation-free, O(1).
  std::int32_t index(Index c, double v) const noexcept {
    if (v != v) return missing[c];
    const double size = static_cast<double>(offset[c + 1] - offset[c]);
    if (!(v >= 0.0 && v < size)) return -1;
    const auto code = static_cast<Index>(v);
    return static_cast<double>(code) == v ? table[offset[c] + code] : -1;
  }
  /// Margin term of value v of categorical feature f: its level's coefficient, -0.0 for no term,
  /// NaN for an infinite v (so the bulk paths diagnose the row). Allocation-free, O(1).
  double term(const Feature& f, double v) const noexcept {
    if (v != v) return f.missing;
    if (!(v >= 0.0 && v < f.size)) return -(v - v);  // -0.0, or NaN for +-inf
    const auto code = static_cast<Index>(v);
    return static_cast<double>(code) == v ? value[f.offset + code] : -0.0;
  }
};
/// The look-up of a state whose categorical fields are consistent (checked by from_state).
CategoryLookup make_category_lookup(const LogisticRegressionState& s);
}  // namespace detail

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
  /// Fits `n_classes` classes: y holds class indices 0..n_classes-1 (validate_class_labels), every
  /// class present. n_classes == 2 is fit(train); n_classes >= 3 fits the multinomial (softmax)
  /// model, scikit-learn's objective sum_i w_i [logsumexp_k z_ik - z_i,y_i] + ||B||^2 / (2C),
  /// with the Hessian-free Newton-CG solver (docs/linear.md). Multinomial models take missing =
  /// mean and no categorical_features (InvalidParams otherwise); class_weight balanced gives
  /// n / (K n_c), explicit per_class weights one multiplier per class. Throws InvalidParams
  /// (n_classes outside [2, kMaxClasses]), InvalidInput.
  LogisticRegression& fit(const Dataset& train, int n_classes);
  /// As fit(train, n_classes), where the columns from `indicators_from` on are 0/1 level
  /// indicators the caller expanded (the K-class pipeline's CategoricalExpansion): under
  /// penalty_scale = standardized they keep the raw penalty, as the model's own levels do.
  LogisticRegression& fit(const Dataset& train, int n_classes, Index indicators_from);
  /// Fits on a CSR/CSC matrix without densifying (validate_sparse: explicit NaN/inf and malformed
  /// structure are rejected naming the entry; stored zeros and absent entries are 0). Binary
  /// (n_classes == 2, y in {0, 1}) or multinomial (n_classes >= 3). No centring (the sparsity is
  /// kept); Newton-CG with a diagonal preconditioner. categorical_features must be empty; standard
  /// errors are not computed for sparse input (NaN, with a note).
  LogisticRegression& fit(const SparseMatrixView& X, VectorView<const double> y,
                          VectorView<const double> sample_weight = {}, int n_classes = 2);

  /// P(y = 1) per row of X (n, n_features()); NaN handled as learned. Throws NotFitted,
  /// InvalidInput (wrong column count; ±inf, naming the smallest offending row and its column).
  /// Zero rows give an empty vector. One pass over X, parallel over fixed 4096-row blocks.
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const;
  /// As above, writing into `out` (X.rows() values, any stride); allocation-free. When it throws,
  /// the contents of `out` are unspecified.
  void predict_proba(const FeatureMatrix& X, VectorView<double> out) const;
  /// P(y = 1) per row of a CSR/CSC matrix (binary models; validated as in fit, zero rows allowed).
  Eigen::VectorXd predict_proba(const SparseMatrixView& X) const;
  /// Class probabilities of any model into `out` (X.rows() x n_classes(), rows summing to 1):
  /// [1 - p, p] for a binary model, the softmax for a multinomial one. Throws NotFitted,
  /// InvalidInput (wrong shape, ±inf).
  void predict_proba_matrix(const FeatureMatrix& X, MatrixView<double> out) const;
  void predict_proba_matrix(const SparseMatrixView& X, MatrixView<double> out) const;
  /// Linear predictors into `out`: X.rows() x 1 (log odds) for a binary model, X.rows() x K for a
  /// multinomial one.
  void decision_matrix(const FeatureMatrix& X, MatrixView<double> out) const;
  void decision_matrix(const SparseMatrixView& X, MatrixView<double> out) const;
  /// 2 for a binary model, K for a multinomial one. Throws NotFitted.
  int n_classes() const;
  /// Multinomial coefficients as a K x n_features matrix (empty for a binary model).
  Eigen::MatrixXd class_coef_matrix() const;

  /// Linear predictor (log odds) per row.
  Eigen::VectorXd decision_function(const FeatureMatrix& X) const;
  /// As above, writing into `out` (X.rows() values); allocation-free.
  void decision_function(const FeatureMatrix& X, VectorView<double> out) const;

  /// Log odds of one contiguous row of n_features() values (NaN = missing). Unchecked: the model
  /// must be a fitted binary model and the row finite-or-NaN. Const, thread-safe, allocation-free,
  /// O(p).
  double decision_function_row(const double* row) const noexcept { return margin(row, 1); }
  double decision_function_row(const float* row) const noexcept { return margin(row, 1); }
  /// P(y = 1) of one contiguous row; same contract as decision_function_row.
  double predict_proba_row(const double* row) const noexcept { return sigmoid(margin(row, 1)); }
  double predict_proba_row(const float* row) const noexcept { return sigmoid(margin(row, 1)); }

  /// Raw-scale coefficients: n_features() inputs (0 for a categorical column), then one per
  /// missing indicator, then the categorical levels (see LogisticRegressionState). Throws
  /// NotFitted.
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
  /// (x0, x1, ...) or n_features() names; `category_labels` as in design_names. One row per
  /// design term (`design_names` order) after the intercept. Throws NotFitted, InvalidInput (bad
  /// confidence or names, or a model restored without standard errors).
  CoefficientTable coefficient_table(
      double confidence = 0.95, const std::vector<std::string>& names = {},
      const std::vector<std::vector<std::string>>& category_labels = {}) const;

  /// Positions in coef() of the design's terms, in order: the numeric inputs, the missing
  /// indicators, the categorical levels (coef() minus the placeholders of categorical columns;
  /// scikit-learn's `coef_` on the expanded design). Throws NotFitted.
  std::vector<Index> design_coef_index() const;
  /// Names of the design's terms, aligned with design_coef_index(): the feature name, then
  /// "missing(<name>)", then "<name>=<level>", "<name>=other" and "<name>=missing" for the
  /// levels. `names` as in coefficient_table. `category_labels` is empty or holds one list per
  /// input column: the labels of its codes (label k of code k, as FeatureInfo's); a level is named
  /// by its label when there is one, else by its code (`admission_source=7`). Throws NotFitted,
  /// InvalidInput (wrong number of names or label lists).
  std::vector<std::string> design_names(
      const std::vector<std::string>& names = {},
      const std::vector<std::vector<std::string>>& category_labels = {}) const;
  /// The margin term of categorical input column `column` at value v: its level's coefficient,
  /// 0 for the reference and for unseen codes (0 for a column that is not categorical).
  /// Allocation-free. Throws NotFitted.
  double categorical_term(Index column, double v) const;

  /// Complete prediction-time state. Throws NotFitted.
  const LogisticRegressionState& state() const;
  /// Rebuilds a fitted model from a state, validating every field (throws InvalidInput naming it).
  /// The rebuilt model predicts bit-identically to the one the state came from.
  static LogisticRegression from_state(LogisticRegressionState s, LogisticRegressionParams p = {});
  /// from_state without the checks (internal: for states already validated).
  static LogisticRegression from_state_unchecked(LogisticRegressionState s,
                                                 LogisticRegressionParams p);

  /// Numerically stable logistic function.
  static double sigmoid(double z) noexcept { return calibrisk::sigmoid(z); }

  /// Log odds of the row starting at `row` whose elements are `stride` apart. The summation order
  /// is fixed (four interleaved partial sums), so every prediction path gives the same bits.
  template <class T>
  double margin(const T* row, Index stride) const noexcept {
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    if (cat_.column.empty()) {
      numeric_terms(row, stride, 0, state_.n_features, acc);
    } else {  // categorical columns add nothing here (coefficient 0): skip them
      for (const auto& run : cat_.numeric_runs) {
        numeric_terms(row, stride, run.first, run.second, acc);
      }
    }
    double z = state_.intercept + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
    const double* b = state_.coef.data();
    const Index p = state_.n_features;
    const Index n_ind = static_cast<Index>(state_.indicator_features.size());
    for (Index k = 0; k < n_ind; ++k) {
      const double v = static_cast<double>(row[state_.indicator_features[k] * stride]);
      if (v != v) z += b[p + k];
    }
    // Categorical levels: one table look-up per categorical column, no expanded row. "No term"
    // is -0.0 (z + -0.0 == z bit for bit); an infinite code gives NaN, which the bulk paths
    // report.
    for (const detail::CategoryLookup::Feature& f : cat_.features) {
      z += cat_.term(f, static_cast<double>(row[f.column * stride]));
    }
    return z;
  }

 private:
  /// Adds coef[j] * x_j (NaN imputed) for j in [lo, hi) to acc[j % 4]: term j always lands in
  /// the same partial sum, in increasing j, whichever columns are skipped, so the bits depend
  /// on the numeric terms only.
  template <class T>
  void numeric_terms(const T* row, Index stride, Index lo, Index hi, double* acc) const noexcept {
    const double* b = state_.coef.data();
    const double* m = state_.impute_values.data();
    Index j = lo;
    for (; j < hi && (j & 3) != 0; ++j) {
      double v = static_cast<double>(row[j * stride]);
      if (v != v) v = m[j];
      acc[j & 3] += b[j] * v;
    }
    for (; j + 4 <= hi; j += 4) {
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
    for (; j < hi; ++j) {
      double v = static_cast<double>(row[j * stride]);
      if (v != v) v = m[j];
      acc[j & 3] += b[j] * v;
    }
  }

  void predict_into(const FeatureMatrix& X, VectorView<double> out, bool proba,
                    const char* where) const;
  void fit_multinomial(const Dataset& train, int n_classes, Index indicators_from);
  void check_binary(const char* where) const;
  void matrix_into(const FeatureMatrix& X, MatrixView<double> out, bool proba,
                   const char* where) const;
  void matrix_into(const SparseMatrixView& X, MatrixView<double> out, bool proba,
                   const char* where) const;
  /// Throws InvalidInput for row i, whose margin is not finite: an infinite value, or the feature
  /// whose term overflows the linear predictor.
  template <class T>
  [[noreturn]] void throw_bad_row(const MatrixView<const T>& X, Index i, const char* where) const;

  LogisticRegressionParams params_;
  LogisticRegressionState state_;
  detail::CategoryLookup cat_;  // derived from state_ (not saved)
  FitInfo info_;
  double objective_ = std::numeric_limits<double>::quiet_NaN();
  double gradient_max_ = std::numeric_limits<double>::quiet_NaN();
  bool fitted_ = false;
};

}  // namespace calibrisk
