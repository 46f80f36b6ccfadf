// SPDX-License-Identifier: Apache-2.0
// Logistic regression on sparse input and with K >= 3 classes (multinomial): fitting through the
// Hessian-free Newton-CG solver (newton_cg.cpp) and (n, K) prediction.
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "newton_cg.hpp"
#include "penalty_scale.hpp"

namespace calibrisk {

namespace {

// Threads for a fit of `work` multiply-adds per pass: one below ~8M (waking a team costs more).
int fit_threads(double work, int requested) {
  return work < double(1 << 23) ? 1 : detail::resolve_threads(requested);
}

void check_total_weights(VectorView<const double> y, const Eigen::VectorXd& w, int K,
                         const std::string& where) {
  std::vector<double> tot(static_cast<std::size_t>(K), 0.0);
  for (Index i = 0; i < y.size(); ++i) tot[static_cast<std::size_t>(y[i])] += w[i];
  for (int k = 0; k < K; ++k) {
    if (!(tot[static_cast<std::size_t>(k)] > 0.0) ||
        !std::isfinite(tot[static_cast<std::size_t>(k)])) {
      throw InvalidInput(where + ": every row of class " + std::to_string(k) +
                         " has zero weight (sample_weight x class_weight); each class needs a "
                         "positive total weight.");
    }
  }
}

void check_solver_params(const LogisticRegressionParams& p, const std::string& where,
                         const char* what) {
  if (!p.categorical_features.empty()) {
    throw InvalidParams(where + ": categorical_features is not supported " + what +
                        "; one-hot encode the columns (or fit a binary model on dense codes).");
  }
  if (p.missing != MissingStrategy::kMean) {
    throw InvalidParams(where + ": missing = mean_with_indicator is not supported " + what +
                        "; use missing = mean, or add the indicator columns yourself.");
  }
}

void add_notes(const detail::LinearSolution& r, const LogisticRegressionParams& p, FitInfo& info) {
  info.n_iter = r.n_iter;
  info.converged = r.converged;
  info.notes = r.notes;
  if (!r.converged) {
    info.notes.push_back(
        "did not converge: max |gradient| / sum(w) = " + detail::fmt_value(r.gmax) +
        " > tol = " + detail::fmt_value(p.tol) + " after " + std::to_string(r.n_iter) +
        " Newton-CG iterations; increase "
        "max_iter" +
        (std::isfinite(p.C) ? "" : ", or use a finite C"));
  }
}

}  // namespace

std::vector<double> detail::sparse_penalty_factors(const SparseMatrixView& X,
                                                   VectorView<const double> sw) {
  // Per column: total weight and weighted sum of the stored entries, then (second pass, for
  // accuracy) the weighted squared deviations; the absent entries are 0, each adding
  // w_i mean^2. A column is constant when every row holds the same value.
  const Index d = X.cols, n = X.rows;
  auto weight = [&](Index i) { return sw.empty() ? 1.0 : sw[i]; };
  double total = 0.0;
  for (Index i = 0; i < n; ++i) total += weight(i);
  std::vector<double> w_nz(static_cast<std::size_t>(d), 0.0), sum(w_nz), dev(w_nz);
  std::vector<double> lo(w_nz), hi(w_nz);
  std::vector<Index> count(static_cast<std::size_t>(d), 0);
  auto each = [&](const auto& f) {
    for (Index o = 0; o < X.outer(); ++o) {
      for (std::int64_t e = X.indptr[o]; e < X.indptr[o + 1]; ++e) {
        const Index in = static_cast<Index>(X.indices[e]);
        X.csr ? f(o, in, X.values[e]) : f(in, o, X.values[e]);
      }
    }
  };
  each([&](Index i, Index j, double v) {
    w_nz[j] += weight(i), sum[j] += weight(i) * v;
    lo[j] = count[j] == 0 ? v : std::min(lo[j], v);
    hi[j] = count[j] == 0 ? v : std::max(hi[j], v);
    ++count[j];
  });
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (Index j = 0; j < d; ++j) mean[j] = total > 0.0 ? sum[j] / total : 0.0;
  each([&](Index i, Index j, double v) { dev[j] += weight(i) * (v - mean[j]) * (v - mean[j]); });
  std::vector<double> factor(static_cast<std::size_t>(d));
  for (Index j = 0; j < d; ++j) {
    if (count[j] < n) lo[j] = std::min(lo[j], 0.0), hi[j] = std::max(hi[j], 0.0);
    const double var = total > 0.0 ? (dev[j] + (total - w_nz[j]) * mean[j] * mean[j]) / total : 0.0;
    factor[j] = variance_penalty_factor(var, !(hi[j] > lo[j]));
  }
  return factor;
}

LogisticRegression& LogisticRegression::fit(const Dataset& train, int n_classes) {
  return fit(train, n_classes, train.n_features());
}

LogisticRegression& LogisticRegression::fit(const Dataset& train, int n_classes,
                                            Index indicators_from) {
  if (n_classes == 2) return fit(train);
  fit_multinomial(train, n_classes, indicators_from);
  return *this;
}

void LogisticRegression::fit_multinomial(const Dataset& train, int K, Index indicators_from) {
  static const std::string where = "LogisticRegression::fit";
  params_.validate();
  const Index n = train.n_samples(), p = train.n_features();
  validate_class_labels(train.y, K, n, where, true);
  validate_features(train.X, where);
  validate_sample_weight(train.sample_weight, n, where);
  check_solver_params(params_, where, "for multinomial models");
  const Eigen::VectorXd w =
      effective_class_weights(train.y, train.sample_weight, params_.class_weight, K);
  check_total_weights(train.y, w, K, where);
  const Eigen::VectorXd sw = train.sample_weight.empty()
                                 ? Eigen::VectorXd::Ones(n)
                                 : Eigen::VectorXd(train.sample_weight.eigen());
  detail::LinearProblem prob;
  prob.dense = &train.X;
  prob.y = train.y;
  prob.w = &w;
  prob.sample_weight = &sw;
  prob.n_classes = K;
  prob.C = params_.C;
  prob.fit_intercept = params_.fit_intercept;
  prob.standardize = params_.standardize;
  prob.tol = params_.tol;
  prob.max_iter = params_.max_iter;
  prob.n_threads = fit_threads(double(n) * double(p) * K, params_.n_threads);
  std::vector<double> factor;
  if (params_.penalty_scale == PenaltyScale::kStandardized) {
    factor = detail::dense_penalty_factors(train.X, sw, prob.n_threads);
    for (Index j = std::max<Index>(0, indicators_from); j < p; ++j) factor[j] = 1.0;
    prob.penalty_factor = &factor;
  }
  const detail::LinearSolution r = detail::solve_newton_cg(prob);

  LogisticRegressionState s;
  s.n_features = p;
  s.impute_values = r.impute;
  s.penalized = std::isfinite(params_.C);
  s.has_intercept = params_.fit_intercept;
  s.class_coef.resize(static_cast<std::size_t>(K * p));
  for (Index k = 0; k < K; ++k) {
    for (Index j = 0; j < p; ++j) s.class_coef[static_cast<std::size_t>(k * p + j)] = r.coef(j, k);
  }
  s.class_intercept.assign(r.intercept.data(), r.intercept.data() + K);
  FitInfo info;
  add_notes(r, params_, info);
  state_ = std::move(s);
  cat_ = detail::make_category_lookup(state_);
  info_ = std::move(info);
  objective_ = r.f;
  gradient_max_ = r.gmax;
  fitted_ = true;
}

LogisticRegression& LogisticRegression::fit(const SparseMatrixView& X, VectorView<const double> y,
                                            VectorView<const double> sample_weight, int n_classes) {
  static const std::string where = "LogisticRegression::fit";
  params_.validate();
  validate_sparse(X, where);
  validate_class_labels(y, n_classes, X.rows, where, true);
  validate_sample_weight(sample_weight, X.rows, where);
  check_solver_params(params_, where, "with sparse input");
  const Eigen::VectorXd w =
      effective_class_weights(y, sample_weight, params_.class_weight, n_classes);
  check_total_weights(y, w, n_classes, where);
  detail::LinearProblem prob;
  prob.sparse = &X;
  prob.y = y;
  prob.w = &w;
  prob.n_classes = n_classes;
  prob.C = params_.C;
  prob.fit_intercept = params_.fit_intercept;
  prob.standardize = false;
  prob.tol = params_.tol;
  prob.max_iter = params_.max_iter;
  const int K = n_classes == 2 ? 1 : n_classes;
  prob.n_threads = fit_threads(double(X.nnz()) * K * 4.0, params_.n_threads);
  std::vector<double> factor;
  if (params_.penalty_scale == PenaltyScale::kStandardized) {
    factor = detail::sparse_penalty_factors(X, sample_weight);
    prob.penalty_factor = &factor;
  }
  const detail::LinearSolution r = detail::solve_newton_cg(prob);

  const Index p = X.cols;
  LogisticRegressionState s;
  s.n_features = p;
  s.impute_values.assign(static_cast<std::size_t>(p), 0.0);
  s.penalized = std::isfinite(params_.C);
  s.has_intercept = params_.fit_intercept;
  FitInfo info;
  add_notes(r, params_, info);
  if (K == 1) {
    s.coef.assign(r.coef.data(), r.coef.data() + p);
    s.intercept = r.intercept[0];
    s.coef_std_error.assign(static_cast<std::size_t>(p), std::numeric_limits<double>::quiet_NaN());
    info.notes.push_back(
        "standard errors are not computed for sparse input (they are NaN); fit a dense matrix of "
        "moderate width for Wald statistics");
  } else {
    s.class_coef.resize(static_cast<std::size_t>(K * p));
    for (Index k = 0; k < K; ++k) {
      for (Index j = 0; j < p; ++j)
        s.class_coef[static_cast<std::size_t>(k * p + j)] = r.coef(j, k);
    }
    s.class_intercept.assign(r.intercept.data(), r.intercept.data() + K);
  }
  state_ = std::move(s);
  cat_ = detail::make_category_lookup(state_);
  info_ = std::move(info);
  objective_ = r.f;
  gradient_max_ = r.gmax;
  fitted_ = true;
  return *this;
}

int LogisticRegression::n_classes() const {
  const LogisticRegressionState& s = state();
  return s.class_intercept.empty() ? 2 : static_cast<int>(s.class_intercept.size());
}

Eigen::MatrixXd LogisticRegression::class_coef_matrix() const {
  const LogisticRegressionState& s = state();
  const auto K = static_cast<Index>(s.class_intercept.size());
  Eigen::MatrixXd B(K, s.n_features);
  for (Index k = 0; k < K; ++k) {
    for (Index j = 0; j < s.n_features; ++j) {
      B(k, j) = s.class_coef[static_cast<std::size_t>(k * s.n_features + j)];
    }
  }
  return B;
}

void LogisticRegression::check_binary(const char* where) const {
  if (!state().class_intercept.empty()) {
    throw InvalidInput(std::string(where) + ": this is a " + std::to_string(n_classes()) +
                       "-class model; use predict_proba_matrix / decision_matrix for its (n, K) "
                       "outputs.");
  }
}

namespace {

void check_out(const MatrixView<double>& out, Index rows, Index cols, const char* where) {
  if (out.rows() != rows || out.cols() != cols) {
    throw InvalidInput(std::string(where) + ": out has shape (" + std::to_string(out.rows()) +
                       ", " + std::to_string(out.cols()) + ") but (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + ") is needed.");
  }
}

// Row i of `out` (K margins) to probabilities in place (K == 1: [1 - p, p] into two columns).
void to_proba(const double* z, Index K, double* o, Index stride) {
  if (K == 1) {
    const double p = calibrisk::sigmoid(z[0]);
    o[0] = 1.0 - p;
    o[stride] = p;
    return;
  }
  double m = z[0];
  for (Index k = 1; k < K; ++k) m = std::max(m, z[k]);
  double s = 0.0;
  for (Index k = 0; k < K; ++k) s += std::exp(z[k] - m);
  for (Index k = 0; k < K; ++k) o[k * stride] = std::exp(z[k] - m) / s;
}

}  // namespace

void LogisticRegression::matrix_into(const FeatureMatrix& X, MatrixView<double> out, bool proba,
                                     const char* where) const {
  const LogisticRegressionState& s = state();
  const Index K = s.class_intercept.empty() ? 1 : static_cast<Index>(s.class_intercept.size());
  const Index n = X.rows();
  check_out(out, n, proba ? std::max<Index>(K, 2) : K, where);
  if (K == 1) {  // binary: the 1-D path (which diagnoses bad rows), then the two columns
    Eigen::VectorXd z(n);
    predict_into(X, VectorView<double>(z), false, where);
    for (Index i = 0; i < n; ++i) {
      if (proba) {
        to_proba(&z[i], 1, &out(i, 0), out.col_stride());
      } else {
        out(i, 0) = z[i];
      }
    }
    return;
  }
  validate_features(X, s.n_features, where);
  const Index p = s.n_features;
  const int nt =
      double(n) * double(p) * K < double(1 << 20) ? 1 : detail::resolve_threads(params_.n_threads);
  X.visit([&](const auto& Xv) {
    detail::parallel_blocks(n, 1024, nt, [&](Index, Index lo, Index hi) {
      std::vector<double> z(static_cast<std::size_t>(K));
      for (Index i = lo; i < hi; ++i) {
        for (Index k = 0; k < K; ++k) z[k] = s.class_intercept[static_cast<std::size_t>(k)];
        for (Index j = 0; j < p; ++j) {
          double v = static_cast<double>(Xv(i, j));
          if (v != v) v = s.impute_values[static_cast<std::size_t>(j)];
          for (Index k = 0; k < K; ++k)
            z[k] += s.class_coef[static_cast<std::size_t>(k * p + j)] * v;
        }
        if (proba) {
          to_proba(z.data(), K, &out(i, 0), out.col_stride());
        } else {
          for (Index k = 0; k < K; ++k) out(i, k) = z[k];
        }
      }
    });
  });
}

void LogisticRegression::matrix_into(const SparseMatrixView& X, MatrixView<double> out, bool proba,
                                     const char* where) const {
  const LogisticRegressionState& s = state();
  validate_sparse(X, where, /*allow_empty_rows=*/true);
  if (X.cols != s.n_features) {
    throw InvalidInput(std::string(where) + ": X has " + std::to_string(X.cols) +
                       " features but the model was fitted with " + std::to_string(s.n_features) +
                       "; pass the same columns, in the same order, as at fit time.");
  }
  if (!s.categorical_features.empty() || !s.indicator_features.empty()) {
    throw InvalidInput(std::string(where) +
                       ": this model has categorical levels or missing indicators, which sparse "
                       "input cannot express; pass a dense array.");
  }
  const Index K = s.class_intercept.empty() ? 1 : static_cast<Index>(s.class_intercept.size());
  const Index n = X.rows;
  check_out(out, n, proba ? std::max<Index>(K, 2) : K, where);
  Eigen::MatrixXd B(s.n_features, K);
  Eigen::VectorXd b(K);
  if (K == 1) {
    B.col(0) = Eigen::Map<const Eigen::VectorXd>(s.coef.data(), s.n_features);
    b[0] = s.intercept;
  } else {
    B = class_coef_matrix().transpose();
    b = Eigen::Map<const Eigen::VectorXd>(s.class_intercept.data(), K);
  }
  std::vector<double> z(static_cast<std::size_t>(n * K));
  detail::sparse_margins(X, B, b, z.data(), detail::resolve_threads(params_.n_threads));
  for (Index i = 0; i < n; ++i) {
    if (proba) {
      to_proba(z.data() + i * K, K, &out(i, 0), out.col_stride());
    } else {
      for (Index k = 0; k < K; ++k) out(i, k) = z[static_cast<std::size_t>(i * K + k)];
    }
  }
}

void LogisticRegression::predict_proba_matrix(const FeatureMatrix& X,
                                              MatrixView<double> out) const {
  matrix_into(X, out, true, "LogisticRegression::predict_proba");
}
void LogisticRegression::predict_proba_matrix(const SparseMatrixView& X,
                                              MatrixView<double> out) const {
  matrix_into(X, out, true, "LogisticRegression::predict_proba");
}
void LogisticRegression::decision_matrix(const FeatureMatrix& X, MatrixView<double> out) const {
  matrix_into(X, out, false, "LogisticRegression::decision_function");
}
void LogisticRegression::decision_matrix(const SparseMatrixView& X, MatrixView<double> out) const {
  matrix_into(X, out, false, "LogisticRegression::decision_function");
}

Eigen::VectorXd LogisticRegression::predict_proba(const SparseMatrixView& X) const {
  check_binary("LogisticRegression::predict_proba");
  RowMatrixXd P(X.rows, 2);
  predict_proba_matrix(X, view_mut(P));
  return P.col(1);
}

}  // namespace calibrisk
