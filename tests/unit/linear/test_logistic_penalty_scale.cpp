// SPDX-License-Identifier: Apache-2.0
// LogisticRegressionParams::penalty_scale = standardized: the optimality conditions of the
// variance-weighted penalty (computed here with plain loops), and its known invariance: rescaling
// and shifting the columns leaves the fitted probabilities unchanged on every solver path. The
// scikit-learn oracle is in tests/python/test_linear_penalty_scale.py.
#include <doctest/doctest.h>
#include <calibrisk/linear/logistic.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "support/logistic_data.hpp"
#include "unit/linear/sparse_arrays.hpp"

using namespace calibrisk;
using calibrisk::testing::make_logistic_data;

namespace {

LogisticRegressionParams standardized(double C) {
  LogisticRegressionParams p;
  p.C = C;
  p.tol = 1e-11;
  p.max_iter = 500;
  p.penalty_scale = PenaltyScale::kStandardized;
  return p;
}

// max_j |d/dbeta_j (sum_i w_i logloss_i + sum_j var_j beta_j^2 / (2C))| / sum(w), the variances
// and the gradient by plain loops over the rows (NaN imputed by the model's impute values).
double kkt_residual(const LogisticRegression& m, const std::vector<double>& X, Index n, Index p,
                    const std::vector<double>& y, const std::vector<double>& w, double C) {
  const auto& s = m.state();
  std::vector<double> mean(p, 0.0), var(p, 0.0), g(p + 1, 0.0);
  double sw = 0.0;
  auto x = [&](Index i, Index j) {
    const double v = X[i * p + j];
    return std::isnan(v) ? s.impute_values[j] : v;
  };
  for (Index i = 0; i < n; ++i) {
    sw += w[i];
    for (Index j = 0; j < p; ++j) mean[j] += w[i] * x(i, j);
  }
  for (Index j = 0; j < p; ++j) mean[j] /= sw;
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) var[j] += w[i] * (x(i, j) - mean[j]) * (x(i, j) - mean[j]) / sw;
    double z = s.intercept;
    for (Index j = 0; j < p; ++j) z += s.coef[j] * x(i, j);
    const double r = w[i] * (1.0 / (1.0 + std::exp(-z)) - y[i]);
    for (Index j = 0; j < p; ++j) g[j] += r * x(i, j);
    g[p] += r;
  }
  double mx = std::abs(g[p]);
  for (Index j = 0; j < p; ++j) mx = std::max(mx, std::abs(g[j] + var[j] * s.coef[j] / C));
  return mx / sw;
}

// X with column j multiplied by 10^(j % 7 - 3) and shifted by 100 j (dense, row-major).
std::vector<double> rescaled(const std::vector<double>& X, Index n, Index p, bool shift) {
  std::vector<double> out(X);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) {
      out[i * p + j] = X[i * p + j] * std::pow(10.0, double(j % 7) - 3.0) + (shift ? 100.0 * j : 0);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("standardized penalty: the fit satisfies its optimality conditions") {
  auto d = make_logistic_data<double>(3000, 6, 5, 0.05);
  d.X = rescaled(d.X, d.n, d.p, true);
  std::vector<double> w(d.n);
  for (Index i = 0; i < d.n; ++i) w[i] = 0.5 + double(i % 5) * 0.3;
  for (double C : {0.01, 1.0}) {
    LogisticRegression m(standardized(C));
    m.fit(Dataset(FeatureMatrix(MatrixView<const double>::row_major(d.X.data(), d.n, d.p)), d.y,
                  VectorView<const double>(w.data(), d.n)));
    CHECK(m.fit_info().converged);
    CHECK(kkt_residual(m, d.X, d.n, d.p, d.y, w, C) < 1e-9);
  }
}

TEST_CASE("standardized penalty: rescaled and shifted columns give the same probabilities") {
  const auto d = make_logistic_data<double>(2000, 10, 7);
  const std::vector<double> X2 = rescaled(d.X, d.n, d.p, true);
  auto view = [&](const std::vector<double>& X) {
    return FeatureMatrix(MatrixView<const double>::row_major(X.data(), d.n, d.p));
  };
  for (Index newton_max_columns : {Index(2048), Index(4)}) {  // exact Newton, then L-BFGS
    LogisticRegressionParams p = standardized(0.05);
    p.newton_max_columns = newton_max_columns;
    LogisticRegression a(p), b(p);
    a.fit(Dataset(view(d.X), d.y));
    b.fit(Dataset(view(X2), d.y));
    const Eigen::VectorXd pa = a.predict_proba(view(d.X)), pb = b.predict_proba(view(X2));
    CHECK((pa - pb).cwiseAbs().maxCoeff() < 1e-7);
    // The raw penalty is not invariant: the same check fails by far.
    p.penalty_scale = PenaltyScale::kRaw;
    LogisticRegression ra(p), rb(p);
    ra.fit(Dataset(view(d.X), d.y));
    rb.fit(Dataset(view(X2), d.y));
    CHECK((ra.predict_proba(view(d.X)) - rb.predict_proba(view(X2))).cwiseAbs().maxCoeff() > 1e-3);
  }
  // Multinomial (Newton-CG): three classes from the sign pattern of two margins.
  std::vector<double> y3(d.y);
  for (Index i = 0; i < d.n; ++i) y3[i] = d.y[i] + (d.X[i * d.p + 1] > 0.5 ? 1.0 : 0.0);
  LogisticRegression a(standardized(0.05)), b(standardized(0.05));
  a.fit(Dataset(view(d.X), y3), 3);
  b.fit(Dataset(view(X2), y3), 3);
  Eigen::MatrixXd Pa(d.n, 3), Pb(d.n, 3);
  a.predict_proba_matrix(view(d.X), MatrixView<double>::row_major(Pa.data(), d.n, 3));
  b.predict_proba_matrix(view(X2), MatrixView<double>::row_major(Pb.data(), d.n, 3));
  CHECK((Pa - Pb).cwiseAbs().maxCoeff() < 1e-7);
}

TEST_CASE("standardized penalty: sparse input equals the dense fit, also rescaled") {
  auto d = make_logistic_data<double>(1500, 8, 9);
  for (double& v : d.X) v = v > 0.5 ? v : 0.0;                    // sparse-ish
  const std::vector<double> X2 = rescaled(d.X, d.n, d.p, false);  // no shift: keeps the zeros
  const test::Csr c1 = test::to_csr(d.X, d.n, d.p), c2 = test::to_csr(X2, d.n, d.p);
  const SparseMatrixView s1 = c1.view(d.n, d.p), s2 = c2.view(d.n, d.p);
  LogisticRegression sp1(standardized(0.2)), sp2(standardized(0.2)), dense(standardized(0.2));
  sp1.fit(s1, VectorView<const double>(d.y.data(), d.n));
  sp2.fit(s2, VectorView<const double>(d.y.data(), d.n));
  dense.fit(Dataset(FeatureMatrix(d.view()), d.y));
  const Eigen::VectorXd p1 = sp1.predict_proba(s1), p2 = sp2.predict_proba(s2);
  CHECK((p1 - p2).cwiseAbs().maxCoeff() < 1e-7);
  CHECK((p1 - dense.predict_proba(FeatureMatrix(d.view()))).cwiseAbs().maxCoeff() < 1e-7);
}

TEST_CASE("penalty_scale: text forms and the raw default") {
  CHECK(LogisticRegressionParams{}.penalty_scale == PenaltyScale::kRaw);
  PenaltyScale v{};
  std::string alias;
  CHECK(enum_from_text("standardized", v, alias));
  CHECK(v == PenaltyScale::kStandardized);
  CHECK_FALSE(enum_from_text("scaled", v, alias));
  CHECK(std::string(enum_to_text(PenaltyScale::kRaw)) == "raw");
}
