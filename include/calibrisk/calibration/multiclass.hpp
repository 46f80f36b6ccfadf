// SPDX-License-Identifier: Apache-2.0
/// @file multiclass.hpp
/// Calibration of K-class probabilities: temperature scaling (Guo, Pleiss, Sun & Weinberger,
/// "On calibration of modern neural networks", ICML 2017), one-vs-rest Platt / isotonic / beta
/// with renormalisation (Zadrozny & Elkan 2002, as scikit-learn's multiclass
/// CalibratedClassifierCV) and Dirichlet calibration with ODIR regularisation (Kull, Perello-Nieto,
/// Kängsepp, Silva Filho, Song & Flach, "Beyond temperature scaling: obtaining well-calibrated
/// multiclass probabilities with Dirichlet calibration", NeurIPS 2019).
///
/// Shared conventions (the issue-13 multiclass contract):
/// - scores: an (n, K) `MatrixView<const double>`, any strides; either logits / decision values
///   (`ScoreKind::kMargin`) or probabilities whose rows sum to 1 (`ScoreKind::kProbability`);
/// - labels: class indices 0..K-1 stored as doubles (`validate_class_labels`), K = scores.cols();
/// - output: an (n, K) row-major matrix of probabilities, each row summing to 1.
/// K is limited to `kMaxClasses` (core/dataset.hpp); Dirichlet calibration, whose exact Newton
/// solve costs O(n K^4) per iteration, to `kMaxDirichletClasses`.
#pragma once

#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <Eigen/Core>

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace calibrisk {

/// Probabilities are accepted as rows of an (n, K) matrix when every entry is in [0, 1] and each
/// row sums to 1 within this absolute tolerance (float32 predict_proba output passes).
inline constexpr double kRowSumTolerance = 1e-5;

/// Most classes `DirichletCalibrator` accepts: its K (K + 1) parameters are solved by Newton's
/// method with the exact Hessian (K^2 (K + 1)^2 entries); above this use temperature scaling.
inline constexpr int kMaxDirichletClasses = 32;

namespace detail {
/// Validates an (n, K) score matrix: n >= 1 (unless `allow_empty`), K in [2, kMaxClasses], finite
/// entries; for probabilities, entries in [0, 1] and rows summing to 1 (kRowSumTolerance).
/// Throws InvalidInput naming `where`, the row and the column.
void validate_class_scores(MatrixView<const double> scores, ScoreKind kind,
                           const std::string& where, bool allow_empty = false);
/// Validates labels (indices 0..K-1, at least two classes present) and weights for a fit on an
/// (n, K) score matrix; returns the per-class row counts.
std::vector<Index> validate_multiclass_fit(MatrixView<const double> scores, ScoreKind kind,
                                           VectorView<const double> y,
                                           VectorView<const double> sample_weight,
                                           const std::string& where);
/// Throws InvalidInput unless `out` is (scores.rows(), scores.cols()).
void validate_class_out(MatrixView<const double> scores, MatrixView<double> out,
                        const std::string& where);
}  // namespace detail

// ================================================================ temperature scaling

/// Hyper-parameters of `TemperatureScaling`.
struct TemperatureParams {
  static constexpr const char* kName = "TemperatureParams";
  ScoreKind input = ScoreKind::kMargin;
  double eps = 1e-12;
  int max_iter = 200;

  template <class V>
  static void fields(V& v) {
    using P = TemperatureParams;
    v("input", &P::input, any_value(),
      "Scores are logits / decision values (margin) or probabilities (their logs are used).");
    v("eps", &P::eps, open_open(0, 0.5).fix("the default is 1e-12."),
      "Probability input: the logits are log(p + eps), as scikit-learn.");
    v("max_iter", &P::max_iter, at_least(1), "Safeguarded Newton iterations on the temperature.");
  }
  void validate() const { validate_params(*this); }
};

/// Complete prediction-time state of `TemperatureScaling`.
struct TemperatureState {
  double beta = 1.0;  ///< Inverse temperature 1 / T, in [exp(-10), exp(10)].
  ScoreKind input = ScoreKind::kMargin;
  double eps = 1e-12;  ///< log(p + eps) for probability input, in (0, 0.5).
  int n_classes = 0;   ///< K >= 2.
};

/// Temperature scaling: q = softmax(z / T) = softmax(beta z) with one scalar beta = 1 / T; z are
/// the logits (margin input) or log(p + eps) (probability input), exactly scikit-learn >= 1.8's
/// `CalibratedClassifierCV(method="temperature")` (`_TemperatureScaling`).
///
/// Fit minimises the weighted multinomial log loss sum_i w_i [logsumexp(beta z_i) - beta z_iy].
/// The loss is convex in beta (a linear map of the logits), so its derivative
/// sum_i w_i (E_q[z_i] - z_iy) is increasing and the minimiser is its root: Newton steps in
/// log beta inside a sign-changing bracket, bisecting when a step leaves it, to the last
/// representable digit. log beta is bounded to [-10, 10], scikit-learn's search interval; a
/// minimiser outside it (uninformative or perfectly separating logits) is clamped and noted in
/// fit_info(). Temperature scaling keeps the argmax, so accuracy is unchanged.
///
/// Labels: class indices 0..K-1, K = scores.cols(), at least two classes present; a class absent
/// from the calibration rows is allowed (one parameter for all classes).
/// Complexity O(n K) per iteration, typically < 30 iterations. Const methods are thread-safe.
class TemperatureScaling {
 public:
  explicit TemperatureScaling(TemperatureParams params = {}) : params_(std::move(params)) {
    params_.validate();
  }

  /// Fits on (n, K) scores, labels in 0..K-1 and optional non-negative weights. Throws
  /// InvalidInput on non-finite scores, probability rows not summing to 1, bad labels or weights,
  /// one class only. Returns *this.
  TemperatureScaling& fit(MatrixView<const double> scores, VectorView<const double> y,
                          VectorView<const double> sample_weight = {});

  /// Calibrated probabilities into `out` (n, K). Throws InvalidInput on bad scores or a K other
  /// than the fitted one, NotFitted before fit.
  void predict_proba(MatrixView<const double> scores, MatrixView<double> out) const;
  RowMatrixXd predict_proba(MatrixView<const double> scores) const;

  double temperature() const { return 1.0 / state().beta; }
  double inverse_temperature() const { return state().beta; }
  const FitInfo& fit_info() const;
  bool is_fitted() const noexcept { return fitted_; }
  const TemperatureParams& params() const noexcept { return params_; }
  const TemperatureState& state() const;
  /// Rebuilds from a state (the params' input and eps are taken from it); throws InvalidInput
  /// naming a bad field.
  static TemperatureScaling from_state(TemperatureState s, TemperatureParams p = {});

 private:
  TemperatureParams params_;
  TemperatureState state_;
  FitInfo info_;
  bool fitted_ = false;
};

// ================================================================ one-vs-rest

/// The binary calibrator one-vs-rest calibration applies per class.
enum class OvrMethod { kSigmoid, kIsotonic, kBeta };

/// Spellings of OvrMethod (scikit-learn's method names).
inline const EnumTable<OvrMethod>& enum_table(OvrMethod) {
  static const EnumText<OvrMethod> e[] = {{OvrMethod::kSigmoid, "sigmoid"},
                                          {OvrMethod::kIsotonic, "isotonic"},
                                          {OvrMethod::kBeta, "beta"}};
  static const EnumTable<OvrMethod> t{e, 3, "OvrMethod"};
  return t;
}

/// Hyper-parameters of `OneVsRestCalibrator` (the per-class calibrators use their defaults).
struct OneVsRestParams {
  static constexpr const char* kName = "OneVsRestParams";
  OvrMethod method = OvrMethod::kSigmoid;
  ScoreKind input = ScoreKind::kMargin;

  template <class V>
  static void fields(V& v) {
    using P = OneVsRestParams;
    v("method", &P::method, any_value(), "Per-class calibrator: sigmoid, isotonic or beta.");
    v("input", &P::input, any_value(),
      "Scores are decision values (margin) or probabilities; beta needs probabilities.");
  }
  void validate() const { validate_params(*this); }
};

/// Complete prediction-time state of `OneVsRestCalibrator`: one binary calibrator per class
/// (K of them; for K = 2 one, of class 1), of the kind `method` says.
struct OneVsRestState {
  OvrMethod method = OvrMethod::kSigmoid;
  ScoreKind input = ScoreKind::kMargin;
  int n_classes = 0;
  std::vector<PlattState> platt;
  std::vector<IsotonicState> isotonic;
  std::vector<BetaState> beta;
};

/// One-vs-rest calibration, scikit-learn's multiclass `CalibratedClassifierCV` for
/// method="sigmoid" / "isotonic": class k's calibrator is fitted on column k of the scores against
/// the indicator y == k; at prediction the K calibrated values are divided by their sum, and a
/// row whose calibrated values are all 0 gets the uniform distribution 1/K (scikit-learn's rule);
/// values in (1, 1 + 1e-5] are then set to 1. For K = 2 one calibrator on column 1 gives
/// (1 - q, q), as scikit-learn's binary case.
///
/// Sigmoid on margins is Platt scaling of the raw column (scikit-learn's `_SigmoidCalibration`;
/// fitted by exact Newton, scikit-learn by L-BFGS to gtol 1e-6); on probabilities calibrisk's
/// Platt works on logit(p) (scikit-learn applies the sigmoid to p itself). Isotonic uses the raw
/// column; beta needs probabilities.
///
/// Every class needs calibration rows of both kinds (in class k and not): a class absent from the
/// calibration rows throws InvalidInput naming it (scikit-learn fits a constant there silently).
/// Complexity: K binary fits. Const methods are thread-safe.
class OneVsRestCalibrator {
 public:
  explicit OneVsRestCalibrator(OneVsRestParams params = {}) : params_(std::move(params)) {
    params_.validate();
  }

  OneVsRestCalibrator& fit(MatrixView<const double> scores, VectorView<const double> y,
                           VectorView<const double> sample_weight = {});
  void predict_proba(MatrixView<const double> scores, MatrixView<double> out) const;
  RowMatrixXd predict_proba(MatrixView<const double> scores) const;

  bool is_fitted() const noexcept { return fitted_; }
  const OneVsRestParams& params() const noexcept { return params_; }
  /// Notes of the per-class fits (e.g. a negative Platt slope), prefixed by the class.
  const FitInfo& fit_info() const;
  const OneVsRestState& state() const;
  /// Rebuilds from a state (each per-class state validated by its calibrator's from_state).
  static OneVsRestCalibrator from_state(OneVsRestState s);
  /// The calibrated, unnormalised value of class `k` (calibrator index `c`) for score `s`
  /// (unchecked, allocation-free; a K-class Pipeline's single-row path).
  double calibrated(std::size_t c, double s) const noexcept;

 private:
  void build_from_state();

  OneVsRestParams params_;
  OneVsRestState state_;
  std::vector<PlattCalibrator> platt_;
  std::vector<IsotonicCalibrator> isotonic_;
  std::vector<BetaCalibrator> beta_;
  FitInfo info_;
  bool fitted_ = false;
};

// ================================================================ Dirichlet

/// Hyper-parameters of `DirichletCalibrator`.
///
/// Default regularisation lambda = mu = 1e-3 on the mean log loss: for n calibration rows it acts
/// like a Gaussian prior of variance K (K - 1) / (2 n lambda) on each off-diagonal weight
/// (K / (2 n mu) on each intercept), so it vanishes as n grows, keeps the fit finite when classes
/// are separable, and on a few hundred rows pulls the map towards a per-class
/// temperature-like diagonal, the regime where Kull et al. (2019, Table 3) found ODIR best.
/// Choose it by cross-validated log loss when the calibration set is small (docs/calibration.md).
struct DirichletParams {
  static constexpr const char* kName = "DirichletParams";
  ScoreKind input = ScoreKind::kProbability;
  double reg_lambda = 1e-3;
  double reg_mu = 1e-3;
  double eps = 1e-12;
  int max_iter = 100;
  double tol = 1e-10;

  template <class V>
  static void fields(V& v) {
    using P = DirichletParams;
    v("input", &P::input, any_value(),
      "Scores are probabilities (default) or logits (log-softmax gives the log-probabilities).");
    v("reg_lambda", &P::reg_lambda, finite_at_least(0),
      "ODIR: weight of the mean squared off-diagonal coefficient, lambda / (K (K - 1)) sum "
      "w_jk^2.");
    v("reg_mu", &P::reg_mu, finite_at_least(0),
      "ODIR: weight of the mean squared intercept, mu / K sum b_k^2.");
    v("eps", &P::eps, open_open(0, 0.5).fix("the default is 1e-12."),
      "Probabilities are clipped to [eps, 1] before the log.");
    v("max_iter", &P::max_iter, at_least(1), "Newton iterations.");
    v("tol", &P::tol, open_open(0, 1), "Stop when max |gradient| of the mean objective <= tol.");
  }
  void validate() const { validate_params(*this); }
};

/// Complete prediction-time state of `DirichletCalibrator`: q = softmax(W ln p + b).
struct DirichletState {
  int n_classes = 0;              ///< K in [2, kMaxDirichletClasses].
  std::vector<double> coef;       ///< W, K x K row-major (row k gives class k's logit); finite.
  std::vector<double> intercept;  ///< b, K values; finite.
  ScoreKind input = ScoreKind::kProbability;
  double eps = 1e-12;  ///< Clipping of p before the log, in (0, 0.5).
};

/// Dirichlet calibration (Kull et al. 2019): a multinomial logistic regression on the
/// log-probabilities, q = softmax(W ln p + b), with the ODIR penalty ("off-diagonal and intercept
/// regularisation") that leaves the diagonal of W free:
///   F(W, b) = (1 / sum w) sum_i w_i [logsumexp(z_i) - z_iy]
///             + lambda / (K (K - 1)) sum_{j != k} W_jk^2 + mu / K sum_k b_k^2,
/// with z_i = W ln p_i + b.
/// W = I, b = 0 is the identity map (the start); a diagonal W with equal entries is temperature
/// scaling of log-probabilities, so Dirichlet calibration nests temperature scaling.
///
/// Fit: Newton's method with the exact Hessian of F on the K (K + 1) parameters (a 1e-12 ridge
/// keeps the system solvable when lambda = 0, where softmax's shift invariance makes F flat in one
/// direction) and Armijo backtracking; F is convex, and strictly so for lambda, mu > 0, so the
/// optimum is unique and the result deterministic. Stops when max |grad F| <= tol or when the
/// Newton decrement is at rounding level (the gradient left is summation noise, growing with n).
/// Logit input (kMargin) uses ln p = z - logsumexp(z).
///
/// Labels: every class 0..K-1 needs calibration rows of positive weight (an absent class has no
/// finite fit: its unpenalised diagonal weight grows without bound), else InvalidInput naming it.
/// Complexity O(n K^4) per Newton iteration (K <= 32).
/// Const methods are thread-safe.
class DirichletCalibrator {
 public:
  explicit DirichletCalibrator(DirichletParams params = {}) : params_(std::move(params)) {
    params_.validate();
  }

  DirichletCalibrator& fit(MatrixView<const double> scores, VectorView<const double> y,
                           VectorView<const double> sample_weight = {});
  void predict_proba(MatrixView<const double> scores, MatrixView<double> out) const;
  RowMatrixXd predict_proba(MatrixView<const double> scores) const;

  /// W (K x K) and b (K).
  Eigen::MatrixXd coef() const;
  Eigen::VectorXd intercept() const;
  /// Final value of F (mean loss plus penalty).
  double objective() const;
  const FitInfo& fit_info() const;
  bool is_fitted() const noexcept { return fitted_; }
  const DirichletParams& params() const noexcept { return params_; }
  const DirichletState& state() const;
  /// Rebuilds from a state (the params' input and eps are taken from it); throws InvalidInput
  /// naming a bad field.
  static DirichletCalibrator from_state(DirichletState s, DirichletParams p = {});

 private:
  DirichletParams params_;
  DirichletState state_;
  double objective_ = 0.0;
  FitInfo info_;
  bool fitted_ = false;
};

/// Any fitted multiclass calibrator: what a K-class pipeline carries and the codec saves
/// (encode_multiclass_calibrator / decode_multiclass_calibrator in artifact/io.hpp).
using MulticlassCalibrator =
    std::variant<TemperatureScaling, OneVsRestCalibrator, DirichletCalibrator>;

}  // namespace calibrisk
