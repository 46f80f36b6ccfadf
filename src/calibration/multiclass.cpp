// SPDX-License-Identifier: Apache-2.0
// Multiclass calibration (declared in calibration/multiclass.hpp): input validation, temperature
// scaling, one-vs-rest calibration and Dirichlet calibration.
#include <calibrisk/calibration/multiclass.hpp>

#include "calibration/common.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {
namespace detail {

void validate_class_scores(MatrixView<const double> scores, ScoreKind kind,
                           const std::string& where, bool allow_empty) {
  const Index n = scores.rows(), k = scores.cols();
  if (k < 2 || k > kMaxClasses) {
    throw InvalidInput(where + ": scores has " + std::to_string(k) +
                       " columns; pass one column per class, between 2 and " +
                       std::to_string(kMaxClasses) + " classes.");
  }
  if (n == 0 && !allow_empty) {
    throw InvalidInput(where + ": scores has 0 rows; pass at least one row per class.");
  }
  for (Index i = 0; i < n; ++i) {
    double sum = 0.0;
    for (Index j = 0; j < k; ++j) {
      const double v = scores(i, j);
      if (!std::isfinite(v)) {
        throw InvalidInput(where + ": scores[" + std::to_string(i) + ", " + std::to_string(j) +
                           "] is " + fmt_value(v) +
                           "; scores must be finite (impute or drop rows whose model output is "
                           "NaN or infinite).");
      }
      if (kind == ScoreKind::kProbability && !(v >= 0.0 && v <= 1.0)) {
        throw InvalidInput(where + ": scores[" + std::to_string(i) + ", " + std::to_string(j) +
                           "] is " + fmt_value(v) +
                           " but probabilities must lie in [0, 1]; pass predict_proba output or "
                           "set input = margin for logits.");
      }
      sum += v;
    }
    if (kind == ScoreKind::kProbability && !(std::abs(sum - 1.0) <= kRowSumTolerance)) {
      throw InvalidInput(where + ": row " + std::to_string(i) + " of the probabilities sums to " +
                         fmt_value(sum) +
                         ", not 1; pass predict_proba output (rows summing to 1) or set "
                         "input = margin for logits.");
    }
  }
}

std::vector<Index> validate_multiclass_fit(MatrixView<const double> scores, ScoreKind kind,
                                           VectorView<const double> y,
                                           VectorView<const double> sample_weight,
                                           const std::string& where) {
  validate_class_scores(scores, kind, where);
  const int k = static_cast<int>(scores.cols());
  std::vector<Index> counts = validate_class_labels(y, k, scores.rows(), where, false);
  validate_sample_weight(sample_weight, scores.rows(), where);
  std::vector<double> wk(static_cast<std::size_t>(k), 0.0);
  for (Index i = 0; i < y.size(); ++i) {
    wk[static_cast<std::size_t>(y[i])] += sample_weight.empty() ? 1.0 : sample_weight[i];
  }
  int present = 0, last = 0;
  for (int c = 0; c < k; ++c) {
    if (wk[static_cast<std::size_t>(c)] > 0.0) {
      ++present;
      last = c;
    }
  }
  if (present < 2) {
    throw InvalidInput(where + ": y contains only class " + std::to_string(last) + " (of " +
                       std::to_string(k) +
                       " columns) with positive weight; calibration needs rows of at least two "
                       "classes.");
  }
  return counts;
}

void validate_class_out(MatrixView<const double> scores, MatrixView<double> out,
                        const std::string& where) {
  if (out.rows() != scores.rows() || out.cols() != scores.cols()) {
    throw InvalidInput(where + ": out is (" + std::to_string(out.rows()) + ", " +
                       std::to_string(out.cols()) + ") but scores is (" +
                       std::to_string(scores.rows()) + ", " + std::to_string(scores.cols()) +
                       "); pass one slot per score.");
  }
}

namespace {

void require_classes(MatrixView<const double> scores, int n_classes, const std::string& where) {
  if (scores.cols() != n_classes) {
    throw InvalidInput(where + ": scores has " + std::to_string(scores.cols()) +
                       " columns but the calibrator was fitted on " + std::to_string(n_classes) +
                       " classes; pass one column per class, in the fitted order.");
  }
}

// Numerically stable softmax of `z` (K values) into `q`; returns logsumexp(z).
double softmax_into(const double* z, int k, double* q) {
  double m = z[0];
  for (int j = 1; j < k; ++j) m = std::max(m, z[j]);
  double s = 0.0;
  for (int j = 0; j < k; ++j) {
    q[j] = std::exp(z[j] - m);
    s += q[j];
  }
  for (int j = 0; j < k; ++j) q[j] /= s;
  return m + std::log(s);
}

// The logits temperature scaling works on: the scores, or log(p + eps) (scikit-learn's
// _convert_to_logits), as an (n, K) row-major matrix.
RowMatrixXd temperature_logits(MatrixView<const double> s, ScoreKind kind, double eps) {
  RowMatrixXd z(s.rows(), s.cols());
  for (Index i = 0; i < s.rows(); ++i) {
    for (Index j = 0; j < s.cols(); ++j) {
      z(i, j) = kind == ScoreKind::kProbability ? std::log(s(i, j) + eps) : s(i, j);
    }
  }
  return z;
}

// First and second derivative of sum_i w_i [logsumexp(beta z_i) - beta z_iy] in beta.
struct TemperatureDerivs {
  double g = 0.0;
  double h = 0.0;
};

TemperatureDerivs temperature_derivs(const RowMatrixXd& z, VectorView<const double> y,
                                     VectorView<const double> w, double beta) {
  const int k = static_cast<int>(z.cols());
  std::vector<double> bz(static_cast<std::size_t>(k)), q(static_cast<std::size_t>(k));
  TemperatureDerivs d;
  for (Index i = 0; i < z.rows(); ++i) {
    const double wi = w.empty() ? 1.0 : w[i];
    if (wi == 0.0) continue;
    for (int j = 0; j < k; ++j) bz[static_cast<std::size_t>(j)] = beta * z(i, j);
    softmax_into(bz.data(), k, q.data());
    double mean = 0.0;
    for (int j = 0; j < k; ++j) mean += q[static_cast<std::size_t>(j)] * z(i, j);
    double var = 0.0;
    for (int j = 0; j < k; ++j) {
      const double dz = z(i, j) - mean;
      var += q[static_cast<std::size_t>(j)] * dz * dz;
    }
    d.g += wi * (mean - z(i, static_cast<Index>(y[i])));
    d.h += wi * var;
  }
  return d;
}

}  // namespace
}  // namespace detail

// ================================================================ temperature scaling

TemperatureScaling& TemperatureScaling::fit(MatrixView<const double> scores,
                                            VectorView<const double> y,
                                            VectorView<const double> sample_weight) {
  params_.validate();
  const std::string where = "TemperatureScaling::fit";
  detail::validate_multiclass_fit(scores, params_.input, y, sample_weight, where);
  const RowMatrixXd z = detail::temperature_logits(scores, params_.input, params_.eps);
  info_ = FitInfo{};
  // The loss is convex in beta (a linear map of the logits), so its derivative g is increasing
  // and has the sign of the derivative in t = log beta. Newton steps in t (scale-free: steps are
  // multiplicative in beta) inside a bracket [t_lo, t_hi] with g(t_lo) < 0 < g(t_hi), bisecting
  // when a step leaves it. The bracket starts as scikit-learn's search interval [-10, 10]; a
  // root outside it makes the iterates close in on the bound, where beta is clamped.
  constexpr double kBound = 10.0;
  const double eps = std::numeric_limits<double>::epsilon();
  double t_lo = -kBound, t_hi = kBound, t = 0.0;
  info_.converged = false;
  for (int it = 0; it < params_.max_iter; ++it) {
    const double beta = std::exp(t);
    const detail::TemperatureDerivs d = detail::temperature_derivs(z, y, sample_weight, beta);
    info_.n_iter = it + 1;
    if (d.g == 0.0) {
      info_.converged = true;
      break;
    }
    (d.g < 0.0 ? t_lo : t_hi) = t;
    const double d1 = beta * d.g, d2 = beta * d.g + beta * beta * d.h;
    double next = d2 > 0.0 ? t - d1 / d2 : t_lo - 1.0;
    if (!(next > t_lo && next < t_hi)) next = 0.5 * (t_lo + t_hi);
    const double tol = 4.0 * eps * std::max(1.0, std::abs(t));
    const bool done = std::abs(next - t) <= tol || t_hi - t_lo <= tol;
    t = next;
    if (done) {
      info_.converged = true;
      break;
    }
  }
  if (t >= kBound - 1e-9) {
    t = kBound;
    info_.notes.push_back(
        "TemperatureScaling: the log loss still falls as the temperature drops below exp(-10); "
        "the scores separate the classes, so the temperature is clamped at exp(-10)");
  } else if (t <= -kBound + 1e-9) {
    t = -kBound;
    info_.notes.push_back(
        "TemperatureScaling: the log loss still falls as the temperature rises past exp(10); "
        "the scores carry no information about the labels, so the temperature is clamped at "
        "exp(10) (nearly uniform probabilities)");
  } else if (!info_.converged) {
    info_.notes.push_back("TemperatureScaling: stopped after " + std::to_string(params_.max_iter) +
                          " iterations before the temperature settled; raise max_iter");
  }
  const double beta = std::exp(t);
  state_ = TemperatureState{beta, params_.input, params_.eps, static_cast<int>(scores.cols())};
  fitted_ = true;
  return *this;
}

void TemperatureScaling::predict_proba(MatrixView<const double> scores,
                                       MatrixView<double> out) const {
  const std::string where = "TemperatureScaling::predict_proba";
  const TemperatureState& s = state();
  detail::validate_class_scores(scores, s.input, where, true);
  detail::require_classes(scores, s.n_classes, where);
  detail::validate_class_out(scores, out, where);
  const int k = s.n_classes;
  std::vector<double> z(static_cast<std::size_t>(k)), q(static_cast<std::size_t>(k));
  for (Index i = 0; i < scores.rows(); ++i) {
    for (int j = 0; j < k; ++j) {
      const double v = scores(i, j);
      z[static_cast<std::size_t>(j)] =
          s.beta * (s.input == ScoreKind::kProbability ? std::log(v + s.eps) : v);
    }
    detail::softmax_into(z.data(), k, q.data());
    for (int j = 0; j < k; ++j) out(i, j) = q[static_cast<std::size_t>(j)];
  }
}

RowMatrixXd TemperatureScaling::predict_proba(MatrixView<const double> scores) const {
  RowMatrixXd out(scores.rows(), scores.cols());
  predict_proba(scores, view_mut(out));
  return out;
}

const FitInfo& TemperatureScaling::fit_info() const {
  state();
  return info_;
}

const TemperatureState& TemperatureScaling::state() const {
  if (!fitted_) {
    throw NotFitted("TemperatureScaling: the calibrator is not fitted; call fit first.");
  }
  return state_;
}

TemperatureScaling TemperatureScaling::from_state(TemperatureState s, TemperatureParams p) {
  const std::string where = "TemperatureScaling::from_state";
  if (!(s.beta >= std::exp(-10.0) * (1 - 1e-12) && s.beta <= std::exp(10.0) * (1 + 1e-12))) {
    throw InvalidInput(where + ": state.beta must be in [exp(-10), exp(10)], got " +
                       detail::fmt_value(s.beta) + ".");
  }
  if (!(s.eps > 0.0 && s.eps < 0.5)) {
    throw InvalidInput(where + ": state.eps must be in (0, 0.5), got " + detail::fmt_value(s.eps) +
                       ".");
  }
  if (s.n_classes < 2 || s.n_classes > kMaxClasses) {
    throw InvalidInput(where + ": state.n_classes must be in [2, " + std::to_string(kMaxClasses) +
                       "], got " + std::to_string(s.n_classes) + ".");
  }
  p.input = s.input;
  p.eps = s.eps;
  TemperatureScaling t(std::move(p));
  t.state_ = s;
  t.fitted_ = true;
  return t;
}

// ================================================================ one-vs-rest

OneVsRestCalibrator& OneVsRestCalibrator::fit(MatrixView<const double> scores,
                                              VectorView<const double> y,
                                              VectorView<const double> sample_weight) {
  params_.validate();
  const std::string where = "OneVsRestCalibrator::fit";
  if (params_.method == OvrMethod::kBeta && params_.input != ScoreKind::kProbability) {
    throw InvalidParams(where +
                        ": method beta calibrates probabilities; set input = probability and "
                        "pass predict_proba output.");
  }
  detail::validate_multiclass_fit(scores, params_.input, y, sample_weight, where);
  const int k = static_cast<int>(scores.cols());
  const Index n = scores.rows();
  state_ = OneVsRestState{};
  state_.method = params_.method;
  state_.input = params_.input;
  state_.n_classes = k;
  info_ = FitInfo{};
  // K = 2: one calibrator of class 1 (scikit-learn's binary case); else one per class.
  const int first = k == 2 ? 1 : 0;
  std::vector<double> t(static_cast<std::size_t>(n));
  for (int c = first; c < k; ++c) {
    double w_in = 0.0, w_out = 0.0;
    for (Index i = 0; i < n; ++i) {
      const bool in = y[i] == static_cast<double>(c);
      t[static_cast<std::size_t>(i)] = in ? 1.0 : 0.0;
      (in ? w_in : w_out) += sample_weight.empty() ? 1.0 : sample_weight[i];
    }
    if (!(w_in > 0.0) || !(w_out > 0.0)) {
      throw InvalidInput(where + ": " +
                         (w_in > 0.0 ? "every calibration row is class " + std::to_string(c)
                                     : "class " + std::to_string(c) +
                                           " has no calibration rows (with positive weight)") +
                         "; one-vs-rest calibration needs rows in and out of every class (use "
                         "fewer folds, stratified folds, or temperature / Dirichlet "
                         "calibration, which allow an absent class).");
    }
    const VectorView<const double> col(scores.col_ptr(c), n, scores.row_stride());
    const VectorView<const double> tv(t);
    const std::string prefix = "class " + std::to_string(c) + ": ";
    auto add_notes = [&](const FitInfo& f) {
      for (const std::string& note : f.notes) info_.notes.push_back(prefix + note);
      info_.converged = info_.converged && f.converged;
      info_.n_iter = std::max(info_.n_iter, f.n_iter);
    };
    if (params_.method == OvrMethod::kSigmoid) {
      PlattParams pp;
      pp.input = params_.input;
      PlattCalibrator cal(pp);
      cal.fit(col, tv, sample_weight);
      add_notes(cal.fit_info());
      state_.platt.push_back(cal.state());
    } else if (params_.method == OvrMethod::kIsotonic) {
      IsotonicCalibrator cal;
      cal.fit(col, tv, sample_weight);
      state_.isotonic.push_back(cal.state());
    } else {
      BetaCalibrator cal;
      cal.fit(col, tv, sample_weight);
      add_notes(cal.fit_info());
      state_.beta.push_back(cal.state());
    }
  }
  build_from_state();
  fitted_ = true;
  return *this;
}

void OneVsRestCalibrator::build_from_state() {
  platt_.clear();
  isotonic_.clear();
  beta_.clear();
  for (const PlattState& s : state_.platt) platt_.push_back(PlattCalibrator::from_state(s));
  for (const IsotonicState& s : state_.isotonic) {
    isotonic_.push_back(IsotonicCalibrator::from_state(s));
  }
  for (const BetaState& s : state_.beta) beta_.push_back(BetaCalibrator::from_state(s));
}

double OneVsRestCalibrator::calibrated(std::size_t c, double s) const noexcept {
  switch (state_.method) {
    case OvrMethod::kSigmoid:
      return platt_[c].predict_one(s);
    case OvrMethod::kIsotonic:
      return isotonic_[c].predict_one(s);
    default:
      return beta_[c].predict_one(s);
  }
}

void OneVsRestCalibrator::predict_proba(MatrixView<const double> scores,
                                        MatrixView<double> out) const {
  const std::string where = "OneVsRestCalibrator::predict_proba";
  const OneVsRestState& st = state();
  detail::validate_class_scores(scores, st.input, where, true);
  detail::require_classes(scores, st.n_classes, where);
  detail::validate_class_out(scores, out, where);
  const int k = st.n_classes;
  for (Index i = 0; i < scores.rows(); ++i) {
    if (k == 2) {
      const double q = calibrated(0, scores(i, 1));
      out(i, 0) = 1.0 - q;
      out(i, 1) = q;
    } else {
      double sum = 0.0;
      for (int c = 0; c < k; ++c) {
        out(i, c) = calibrated(static_cast<std::size_t>(c), scores(i, c));
        sum += out(i, c);
      }
      // scikit-learn: divide by the row sum; a row of zeros gets the uniform distribution.
      for (int c = 0; c < k; ++c) out(i, c) = sum != 0.0 ? out(i, c) / sum : 1.0 / k;
    }
    for (int c = 0; c < k; ++c) {
      if (out(i, c) > 1.0 && out(i, c) <= 1.0 + 1e-5) out(i, c) = 1.0;
    }
  }
}

RowMatrixXd OneVsRestCalibrator::predict_proba(MatrixView<const double> scores) const {
  RowMatrixXd out(scores.rows(), scores.cols());
  predict_proba(scores, view_mut(out));
  return out;
}

const FitInfo& OneVsRestCalibrator::fit_info() const {
  state();
  return info_;
}

const OneVsRestState& OneVsRestCalibrator::state() const {
  if (!fitted_) {
    throw NotFitted("OneVsRestCalibrator: the calibrator is not fitted; call fit first.");
  }
  return state_;
}

OneVsRestCalibrator OneVsRestCalibrator::from_state(OneVsRestState s) {
  const std::string where = "OneVsRestCalibrator::from_state";
  if (s.n_classes < 2 || s.n_classes > kMaxClasses) {
    throw InvalidInput(where + ": state.n_classes must be in [2, " + std::to_string(kMaxClasses) +
                       "], got " + std::to_string(s.n_classes) + ".");
  }
  const std::size_t expected = s.n_classes == 2 ? 1 : static_cast<std::size_t>(s.n_classes);
  const std::size_t got = s.method == OvrMethod::kSigmoid    ? s.platt.size()
                          : s.method == OvrMethod::kIsotonic ? s.isotonic.size()
                                                             : s.beta.size();
  const std::size_t others = s.platt.size() + s.isotonic.size() + s.beta.size() - got;
  if (got != expected || others != 0) {
    throw InvalidInput(where + ": state holds " + std::to_string(got) + " " +
                       enum_to_text(s.method) + " calibrators (and " + std::to_string(others) +
                       " of other kinds) for " + std::to_string(s.n_classes) +
                       " classes; expected " + std::to_string(expected) + ".");
  }
  if (s.method == OvrMethod::kBeta && s.input != ScoreKind::kProbability) {
    throw InvalidInput(where + ": state.input must be probability for beta calibrators.");
  }
  OneVsRestParams p;
  p.method = s.method;
  p.input = s.input;
  OneVsRestCalibrator c(p);
  c.state_ = std::move(s);
  c.build_from_state();
  c.fitted_ = true;
  return c;
}

// ================================================================ Dirichlet

namespace {

// ln p per row: log(max(p, eps)) for probabilities, z - logsumexp(z) for logits.
RowMatrixXd dirichlet_features(MatrixView<const double> s, ScoreKind kind, double eps) {
  const Index n = s.rows();
  const int k = static_cast<int>(s.cols());
  RowMatrixXd L(n, k);
  std::vector<double> z(static_cast<std::size_t>(k)), q(static_cast<std::size_t>(k));
  for (Index i = 0; i < n; ++i) {
    if (kind == ScoreKind::kProbability) {
      for (int j = 0; j < k; ++j) L(i, j) = std::log(std::max(s(i, j), eps));
    } else {
      for (int j = 0; j < k; ++j) z[static_cast<std::size_t>(j)] = s(i, j);
      const double lse = detail::softmax_into(z.data(), k, q.data());
      for (int j = 0; j < k; ++j) L(i, j) = s(i, j) - lse;
    }
  }
  return L;
}

// The ODIR objective, its gradient and Hessian over theta = [W | b] row by row
// (index k (K + 1) + j: W_kj for j < K, b_k for j = K).
struct DirichletProblem {
  const RowMatrixXd& L;  // n x K log-probabilities
  VectorView<const double> y;
  Eigen::VectorXd w;  // n weights divided by their total
  int k;
  double c_lambda;  // lambda / (K (K - 1))
  double c_mu;      // mu / K

  Index dim() const { return static_cast<Index>(k) * (k + 1); }

  RowMatrixXd logits(const Eigen::VectorXd& th) const {
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
        P(th.data(), k, k + 1);
    RowMatrixXd z = L * P.leftCols(k).transpose();
    z.rowwise() += P.col(k).transpose();
    return z;
  }

  double penalty(const Eigen::VectorXd& th) const {
    double r = 0.0;
    for (int a = 0; a < k; ++a) {
      for (int j = 0; j <= k; ++j) {
        const double v = th[a * (k + 1) + j];
        if (j == k) {
          r += c_mu * v * v;
        } else if (j != a) {
          r += c_lambda * v * v;
        }
      }
    }
    return r;
  }
  double penalty_curvature(int a, int j) const {
    return j == k ? 2.0 * c_mu : (j != a ? 2.0 * c_lambda : 0.0);
  }

  double objective(const Eigen::VectorXd& th) const {
    const RowMatrixXd z = logits(th);
    std::vector<double> q(static_cast<std::size_t>(k));
    double f = 0.0;
    for (Index i = 0; i < z.rows(); ++i) {
      if (w[i] == 0.0) continue;
      const double lse = detail::softmax_into(z.row(i).data(), k, q.data());
      f += w[i] * (lse - z(i, static_cast<Index>(y[i])));
    }
    return f + penalty(th);
  }

  // Gradient and Hessian at th.
  void derivatives(const Eigen::VectorXd& th, Eigen::VectorXd& g, Eigen::MatrixXd& H) const {
    const Index n = L.rows();
    const RowMatrixXd z = logits(th);
    RowMatrixXd Q(n, k);
    for (Index i = 0; i < n; ++i) detail::softmax_into(z.row(i).data(), k, Q.row(i).data());
    Eigen::MatrixXd X(n, k + 1);
    X.leftCols(k) = L;
    X.col(k).setOnes();
    Eigen::MatrixXd R = Q;  // w_i (q_i - onehot_i)
    for (Index i = 0; i < n; ++i) {
      R(i, static_cast<Index>(y[i])) -= 1.0;
      R.row(i) *= w[i];
    }
    const Eigen::MatrixXd G = R.transpose() * X;  // K x (K + 1)
    g.resize(dim());
    H.setZero(dim(), dim());
    const int m = k + 1;
    for (int a = 0; a < k; ++a) {
      for (int j = 0; j < m; ++j) g[a * m + j] = G(a, j) + penalty_curvature(a, j) * th[a * m + j];
    }
    Eigen::VectorXd c(n);
    for (int a = 0; a < k; ++a) {
      for (int b = a; b < k; ++b) {
        for (Index i = 0; i < n; ++i) {
          c[i] = w[i] * ((a == b ? Q(i, a) : 0.0) - Q(i, a) * Q(i, b));
        }
        const Eigen::MatrixXd block = X.transpose() * (c.asDiagonal() * X);
        H.block(a * m, b * m, m, m) = block;
        if (b != a) H.block(b * m, a * m, m, m) = block.transpose();
      }
    }
    for (int a = 0; a < k; ++a) {
      for (int j = 0; j < m; ++j) H(a * m + j, a * m + j) += penalty_curvature(a, j);
    }
  }
};

}  // namespace

DirichletCalibrator& DirichletCalibrator::fit(MatrixView<const double> scores,
                                              VectorView<const double> y,
                                              VectorView<const double> sample_weight) {
  params_.validate();
  const std::string where = "DirichletCalibrator::fit";
  if (scores.cols() > kMaxDirichletClasses) {
    throw InvalidInput(where + ": " + std::to_string(scores.cols()) +
                       " classes; Dirichlet calibration solves K (K + 1) parameters exactly and "
                       "accepts at most " +
                       std::to_string(kMaxDirichletClasses) +
                       " classes; use temperature scaling for more.");
  }
  detail::validate_multiclass_fit(scores, params_.input, y, sample_weight, where);
  const int k = static_cast<int>(scores.cols());
  const Index n = scores.rows();
  std::vector<double> wk(static_cast<std::size_t>(k), 0.0);
  Eigen::VectorXd w(n);
  double total = 0.0;
  for (Index i = 0; i < n; ++i) {
    w[i] = sample_weight.empty() ? 1.0 : sample_weight[i];
    wk[static_cast<std::size_t>(y[i])] += w[i];
    total += w[i];
  }
  w /= total;
  // An absent class has no finite optimum: its diagonal weight is unpenalised and the loss keeps
  // falling as it grows (its probability pushed to 0 wherever p_k < 1).
  for (int c = 0; c < k; ++c) {
    if (!(wk[static_cast<std::size_t>(c)] > 0.0)) {
      throw InvalidInput(where + ": class " + std::to_string(c) + " of " + std::to_string(k) +
                         " has no calibration rows (with positive weight), so Dirichlet "
                         "calibration has no finite fit; use folds that keep every class, or "
                         "temperature scaling, which allows an absent class.");
    }
  }
  const RowMatrixXd L = dirichlet_features(scores, params_.input, params_.eps);
  const DirichletProblem prob{
      L, y, w, k, k > 1 ? params_.reg_lambda / (k * (k - 1.0)) : 0.0, params_.reg_mu / k};
  const Index d = prob.dim();
  const int m = k + 1;
  Eigen::VectorXd th = Eigen::VectorXd::Zero(d);
  for (int a = 0; a < k; ++a) th[a * m + a] = 1.0;  // W = I, b = 0: the identity map
  double f = prob.objective(th);
  info_ = FitInfo{};
  info_.converged = false;
  Eigen::VectorXd g;
  Eigen::MatrixXd H;
  double gmax = 0.0;
  for (int it = 0; it < params_.max_iter; ++it) {
    prob.derivatives(th, g, H);
    gmax = g.cwiseAbs().maxCoeff();
    if (gmax <= params_.tol) {
      info_.converged = true;
      break;
    }
    H.diagonal().array() += 1e-12;
    const Eigen::VectorXd step = -H.ldlt().solve(g);
    const double gd = g.dot(step);
    // The predicted decrease -g.d / 2 at rounding level: the gradient left is summation noise
    // (it grows with n), so further steps cannot lower F.
    if (-gd <= 8.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(f))) {
      info_.converged = true;
      info_.n_iter = it + 1;
      break;
    }
    double t = 1.0;
    bool moved = false;
    while (t >= 1e-10) {
      const Eigen::VectorXd cand = th + t * step;
      const double fc = prob.objective(cand);
      if (std::isfinite(fc) && fc <= f + 1e-4 * t * gd) {
        moved = fc < f || cand != th;
        th = cand;
        f = fc;
        break;
      }
      t *= 0.5;
    }
    info_.n_iter = it + 1;
    if (!moved) {
      info_.converged = gmax <= 1e-7;  // no representable decrease: at the optimum to rounding
      break;
    }
  }
  if (!info_.converged) {
    info_.notes.push_back("DirichletCalibrator: Newton stopped after " +
                          std::to_string(info_.n_iter) + " iterations with max |gradient| " +
                          detail::fmt_value(gmax) +
                          (params_.reg_lambda == 0.0 || params_.reg_mu == 0.0
                               ? " (without regularisation separable scores have no finite "
                                 "optimum; set reg_lambda, reg_mu > 0)"
                               : ""));
  }
  state_ = DirichletState{};
  state_.n_classes = k;
  state_.input = params_.input;
  state_.eps = params_.eps;
  for (int a = 0; a < k; ++a) {
    for (int j = 0; j < k; ++j) state_.coef.push_back(th[a * m + j]);
    state_.intercept.push_back(th[a * m + k]);
  }
  objective_ = f;
  fitted_ = true;
  return *this;
}

void DirichletCalibrator::predict_proba(MatrixView<const double> scores,
                                        MatrixView<double> out) const {
  const std::string where = "DirichletCalibrator::predict_proba";
  const DirichletState& s = state();
  detail::validate_class_scores(scores, s.input, where, true);
  detail::require_classes(scores, s.n_classes, where);
  detail::validate_class_out(scores, out, where);
  const int k = s.n_classes;
  const RowMatrixXd L = dirichlet_features(scores, s.input, s.eps);
  std::vector<double> z(static_cast<std::size_t>(k)), q(static_cast<std::size_t>(k));
  for (Index i = 0; i < scores.rows(); ++i) {
    for (int a = 0; a < k; ++a) {
      double v = s.intercept[static_cast<std::size_t>(a)];
      for (int j = 0; j < k; ++j) v += s.coef[static_cast<std::size_t>(a * k + j)] * L(i, j);
      z[static_cast<std::size_t>(a)] = v;
    }
    detail::softmax_into(z.data(), k, q.data());
    for (int a = 0; a < k; ++a) out(i, a) = q[static_cast<std::size_t>(a)];
  }
}

RowMatrixXd DirichletCalibrator::predict_proba(MatrixView<const double> scores) const {
  RowMatrixXd out(scores.rows(), scores.cols());
  predict_proba(scores, view_mut(out));
  return out;
}

Eigen::MatrixXd DirichletCalibrator::coef() const {
  const DirichletState& s = state();
  Eigen::MatrixXd W(s.n_classes, s.n_classes);
  for (int a = 0; a < s.n_classes; ++a) {
    for (int j = 0; j < s.n_classes; ++j)
      W(a, j) = s.coef[static_cast<std::size_t>(a * s.n_classes + j)];
  }
  return W;
}

Eigen::VectorXd DirichletCalibrator::intercept() const {
  const DirichletState& s = state();
  return Eigen::Map<const Eigen::VectorXd>(s.intercept.data(), s.n_classes);
}

double DirichletCalibrator::objective() const {
  state();
  return objective_;
}

const FitInfo& DirichletCalibrator::fit_info() const {
  state();
  return info_;
}

const DirichletState& DirichletCalibrator::state() const {
  if (!fitted_) {
    throw NotFitted("DirichletCalibrator: the calibrator is not fitted; call fit first.");
  }
  return state_;
}

DirichletCalibrator DirichletCalibrator::from_state(DirichletState s, DirichletParams p) {
  const std::string where = "DirichletCalibrator::from_state";
  if (s.n_classes < 2 || s.n_classes > kMaxDirichletClasses) {
    throw InvalidInput(where + ": state.n_classes must be in [2, " +
                       std::to_string(kMaxDirichletClasses) + "], got " +
                       std::to_string(s.n_classes) + ".");
  }
  const std::size_t k = static_cast<std::size_t>(s.n_classes);
  if (s.coef.size() != k * k || s.intercept.size() != k) {
    throw InvalidInput(where + ": state.coef has " + std::to_string(s.coef.size()) +
                       " values and state.intercept " + std::to_string(s.intercept.size()) +
                       "; expected K * K = " + std::to_string(k * k) +
                       " and K = " + std::to_string(k) + ".");
  }
  for (std::size_t i = 0; i < s.coef.size(); ++i) {
    if (!std::isfinite(s.coef[i])) {
      throw InvalidInput(where + ": state.coef[" + std::to_string(i) + "] is not finite.");
    }
  }
  for (std::size_t i = 0; i < s.intercept.size(); ++i) {
    if (!std::isfinite(s.intercept[i])) {
      throw InvalidInput(where + ": state.intercept[" + std::to_string(i) + "] is not finite.");
    }
  }
  if (!(s.eps > 0.0 && s.eps < 0.5)) {
    throw InvalidInput(where + ": state.eps must be in (0, 0.5), got " + detail::fmt_value(s.eps) +
                       ".");
  }
  p.input = s.input;
  p.eps = s.eps;
  DirichletCalibrator c(std::move(p));
  c.state_ = std::move(s);
  c.fitted_ = true;
  return c;
}

}  // namespace calibrisk
