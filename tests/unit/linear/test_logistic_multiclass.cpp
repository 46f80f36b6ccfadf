// SPDX-License-Identifier: Apache-2.0
// Tests of multinomial logistic regression and of sparse (CSR/CSC) input: stationarity of the
// objective checked by independent loops, agreement of the dense and sparse paths (different
// design operators) and of the sparse binary fit with the dense Newton solver, class-weight
// identities, determinism across thread counts, the model file, and bad input.
#include <doctest/doctest.h>
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <Eigen/Cholesky>

#include "unit/linear/sparse_arrays.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <variant>
#include <vector>

using namespace calibrisk;

namespace {

// n x p row-major data with ~density non-zeros per row, K classes drawn from a softmax of known
// linear scores; columns have different scales so preconditioning matters.
struct MultiData {
  Index n = 0, p = 0;
  int K = 0;
  std::vector<double> X, y;
  MatrixView<const double> view() const {
    return MatrixView<const double>::row_major(X.data(), n, p);
  }
};

MultiData make_multi(Index n, Index p, int K, double density, std::uint64_t seed) {
  MultiData d;
  d.n = n, d.p = p, d.K = K;
  d.X.assign(static_cast<std::size_t>(n * p), 0.0);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed);
  std::vector<double> B(static_cast<std::size_t>(K * p));
  for (auto& b : B) b = rng.normal();
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) {
      if (rng.uniform() < density) d.X[i * p + j] = (1.0 + j % 4) * rng.normal() + 0.3 * (j % 3);
    }
    std::vector<double> z(static_cast<std::size_t>(K), 0.0);
    double m = -1e300;
    for (int k = 0; k < K; ++k) {
      for (Index j = 0; j < p; ++j) z[k] += B[k * p + j] * d.X[i * p + j] / (1.0 + j % 4);
      m = std::max(m, z[k]);
    }
    double s = 0.0;
    for (int k = 0; k < K; ++k) s += std::exp(z[k] - m);
    double u = rng.uniform() * s, acc = 0.0;
    int c = K - 1;
    for (int k = 0; k < K; ++k) {
      acc += std::exp(z[k] - m);
      if (u < acc) {
        c = k;
        break;
      }
    }
    d.y[static_cast<std::size_t>(i)] = c;
  }
  for (int k = 0; k < K; ++k) d.y[static_cast<std::size_t>(k)] = k;  // every class present
  return d;
}

using calibrisk::test::Csr;
using calibrisk::test::to_csc;
using calibrisk::test::to_csr;

// max |d objective / d theta| / sum(w) of scikit-learn's multinomial objective, by plain loops.
double softmax_grad_max(const LogisticRegression& m, const MultiData& d,
                        const std::vector<double>& w, double C) {
  const auto& s = m.state();
  const int K = d.K;
  const Index p = d.p;
  std::vector<double> g(static_cast<std::size_t>(K * (p + 1)), 0.0);
  double sw = 0.0;
  for (Index i = 0; i < d.n; ++i) {
    std::vector<double> z(static_cast<std::size_t>(K));
    double mx = -1e300;
    for (int k = 0; k < K; ++k) {
      z[k] = s.class_intercept[k];
      for (Index j = 0; j < p; ++j) z[k] += s.class_coef[k * p + j] * d.X[i * p + j];
      mx = std::max(mx, z[k]);
    }
    double tot = 0.0;
    for (int k = 0; k < K; ++k) tot += std::exp(z[k] - mx);
    for (int k = 0; k < K; ++k) {
      const double r = w[i] * (std::exp(z[k] - mx) / tot - (d.y[i] == k ? 1.0 : 0.0));
      for (Index j = 0; j < p; ++j) g[k * (p + 1) + j] += r * d.X[i * p + j];
      g[k * (p + 1) + p] += r;
    }
    sw += w[i];
  }
  double mx = 0.0;
  for (int k = 0; k < K; ++k) {
    for (Index j = 0; j <= p; ++j) {
      double gk = g[k * (p + 1) + j];
      if (j < p && std::isfinite(C)) gk += s.class_coef[k * p + j] / C;
      mx = std::max(mx, std::abs(gk));
    }
  }
  return mx / sw;
}

LogisticRegressionParams tight(double C = 1.0) {
  LogisticRegressionParams p;
  p.C = C;
  p.tol = 1e-10;
  p.max_iter = 200;
  return p;
}

void check_close(const LogisticRegression& a, const LogisticRegression& b, double tol) {
  const auto& s = a.state();
  const auto& t = b.state();
  REQUIRE(s.class_coef.size() == t.class_coef.size());
  for (std::size_t e = 0; e < s.class_coef.size(); ++e) {
    CHECK(std::abs(s.class_coef[e] - t.class_coef[e]) <= tol);
  }
  for (std::size_t k = 0; k < s.class_intercept.size(); ++k) {
    CHECK(std::abs(s.class_intercept[k] - t.class_intercept[k]) <= tol);
  }
}

}  // namespace

TEST_CASE("multinomial: the dense fit is a stationary point of scikit-learn's objective") {
  const MultiData d = make_multi(800, 6, 4, 1.0, 3);
  for (double C : {0.1, 1.0, 100.0}) {
    LogisticRegression m(tight(C));
    m.fit(Dataset(d.view(), d.y), 4);
    CHECK(m.n_classes() == 4);
    CHECK(m.fit_info().converged);
    const std::vector<double> w(static_cast<std::size_t>(d.n), 1.0);
    CHECK(softmax_grad_max(m, d, w, C) < 1e-9);
    double sum_b = 0.0;
    for (double b : m.state().class_intercept) sum_b += b;
    CHECK(std::abs(sum_b) < 1e-12);
    // Probabilities: rows sum to 1, and equal the softmax of the reported margins.
    RowMatrixXd P(d.n, 4), Z(d.n, 4);
    m.predict_proba_matrix(d.view(), view_mut(P));
    m.decision_matrix(d.view(), view_mut(Z));
    for (Index i = 0; i < d.n; ++i) {
      CHECK(P.row(i).sum() == doctest::Approx(1.0).epsilon(1e-14));
      const double e0 = std::exp(Z(i, 0)), e1 = std::exp(Z(i, 1));
      CHECK(P(i, 0) / P(i, 1) == doctest::Approx(e0 / e1).epsilon(1e-12));
    }
  }
}

TEST_CASE("multinomial: standardize on/off, float32 and F order give the same minimiser") {
  const MultiData d = make_multi(600, 5, 3, 1.0, 5);
  LogisticRegression a(tight()), b(tight());
  LogisticRegressionParams pb = tight();
  pb.standardize = false;
  b = LogisticRegression(pb);
  a.fit(Dataset(d.view(), d.y), 3);
  b.fit(Dataset(d.view(), d.y), 3);
  check_close(a, b, 1e-7);
  Eigen::MatrixXd F = d.view().eigen();  // column-major copy
  LogisticRegression c(tight());
  c.fit(Dataset(view(F), d.y), 3);
  check_close(a, c, 1e-9);
}

TEST_CASE("sparse: CSR and CSC fits equal the dense fit (binary and multinomial)") {
  const MultiData d = make_multi(700, 12, 3, 0.3, 11);
  const Csr csr = to_csr(d.X, d.n, d.p), csc = to_csc(d.X, d.n, d.p);
  LogisticRegression dense(tight()), sr(tight()), sc(tight());
  dense.fit(Dataset(d.view(), d.y), 3);
  sr.fit(csr.view(d.n, d.p), d.y, {}, 3);
  sc.fit(csc.view(d.n, d.p, false), d.y, {}, 3);
  check_close(dense, sr, 1e-7);
  check_close(sr, sc, 1e-9);
  RowMatrixXd P(d.n, 3), Q(d.n, 3);
  sr.predict_proba_matrix(csr.view(d.n, d.p), view_mut(P));
  dense.predict_proba_matrix(d.view(), view_mut(Q));
  CHECK((P - Q).cwiseAbs().maxCoeff() < 1e-7);

  // Binary: the sparse Newton-CG fit against the dense exact-Newton solver (another algorithm).
  std::vector<double> y01(d.y.size());
  for (std::size_t i = 0; i < y01.size(); ++i) y01[i] = d.y[i] == 2.0 ? 1.0 : 0.0;
  for (double C : {0.05, 1.0, 50.0}) {
    LogisticRegression bd(tight(C)), bs(tight(C));
    bd.fit(Dataset(d.view(), y01));
    bs.fit(csr.view(d.n, d.p), y01);
    CHECK(bs.n_classes() == 2);
    for (Index j = 0; j < d.p; ++j) CHECK(std::abs(bd.coef()[j] - bs.coef()[j]) < 1e-7);
    CHECK(std::abs(bd.intercept() - bs.intercept()) < 1e-7);
    const Eigen::VectorXd ps = bs.predict_proba(csr.view(d.n, d.p));
    const Eigen::VectorXd pd = bd.predict_proba(d.view());
    CHECK((ps - pd).cwiseAbs().maxCoeff() < 1e-8);
  }
}

TEST_CASE("multinomial: balanced class weights equal sample weights n / (K n_c)") {
  const MultiData d = make_multi(500, 4, 3, 1.0, 17);
  std::vector<double> count(3, 0.0), sw(d.y.size());
  for (double v : d.y) count[static_cast<std::size_t>(v)] += 1.0;
  for (std::size_t i = 0; i < sw.size(); ++i) {
    sw[i] = static_cast<double>(d.n) / (3.0 * count[static_cast<std::size_t>(d.y[i])]);
  }
  LogisticRegressionParams pb = tight();
  pb.class_weight = ClassWeight::balanced();
  LogisticRegression a(pb), b(tight());
  a.fit(Dataset(d.view(), d.y), 3);
  b.fit(Dataset(d.view(), d.y, sw), 3);
  check_close(a, b, 1e-8);
  // Explicit per-class weights equal the same multipliers as sample weights.
  LogisticRegressionParams pe = tight();
  pe.class_weight = ClassWeight::per_class_weights({0.5, 2.0, 1.5});
  std::vector<double> sw2(d.y.size());
  for (std::size_t i = 0; i < sw2.size(); ++i) sw2[i] = std::vector<double>{0.5, 2.0, 1.5}[d.y[i]];
  LogisticRegression c(pe), e(tight());
  c.fit(Dataset(d.view(), d.y), 3);
  e.fit(Dataset(d.view(), d.y, sw2), 3);
  check_close(c, e, 1e-8);
}

TEST_CASE("multinomial and sparse fits are bit-identical for any thread count") {
  const MultiData d = make_multi(20000, 40, 10, 0.5, 23);
  const Csr csr = to_csr(d.X, d.n, d.p);
  LogisticRegressionParams p1, p2;
  p1.n_threads = 1;
  p2.n_threads = 2;
  LogisticRegression a(p1), b(p2), c(p1), e(p2);
  a.fit(Dataset(d.view(), d.y), 10);
  b.fit(Dataset(d.view(), d.y), 10);
  c.fit(csr.view(d.n, d.p), d.y, {}, 10);
  e.fit(csr.view(d.n, d.p), d.y, {}, 10);
  CHECK(a.state().class_coef == b.state().class_coef);
  CHECK(a.state().class_intercept == b.state().class_intercept);
  CHECK(c.state().class_coef == e.state().class_coef);
  // These problems are above the polish threshold (a pass > 2^20 multiply-adds): the fits stop at
  // the rule itself, which an independent gradient loop confirms (default tol = 1e-6).
  const std::vector<double> w(static_cast<std::size_t>(d.n), 1.0);
  CHECK(a.fit_info().converged);
  CHECK(c.fit_info().converged);
  CHECK(softmax_grad_max(a, d, w, 1.0) <= 1e-6);
  CHECK(softmax_grad_max(c, d, w, 1.0) <= 1e-6);
}

TEST_CASE("binary sparse fits are bit-identical for any thread count and meet the rule") {
  // Above the polish threshold, with many nnz-balanced blocks: the binary Newton-CG (gradient and
  // preconditioner diagonal from one CSC pass, CG stopped on the predicted gradient).
  const MultiData d = make_multi(20000, 40, 2, 0.5, 31);
  const Csr csr = to_csr(d.X, d.n, d.p), csc = to_csc(d.X, d.n, d.p);
  LogisticRegressionParams p1, p2;
  p1.n_threads = 1;
  p2.n_threads = 2;
  LogisticRegression a(p1), b(p2), c(p2);
  a.fit(csr.view(d.n, d.p), d.y);
  b.fit(csr.view(d.n, d.p), d.y);
  c.fit(csc.view(d.n, d.p, false), d.y);
  CHECK(a.coef() == b.coef());
  CHECK(a.intercept() == b.intercept());
  CHECK(a.fit_info().converged);
  // The stopping rule max |gradient| / n <= tol (default 1e-6, C = 1), recomputed independently
  // for the CSR and the CSC fit.
  for (const LogisticRegression* m : {&a, &c}) {
    std::vector<double> g(static_cast<std::size_t>(d.p + 1), 0.0);
    for (Index i = 0; i < d.n; ++i) {
      double z = m->intercept();
      for (Index j = 0; j < d.p; ++j) z += d.X[i * d.p + j] * m->coef()[j];
      const double r = 1.0 / (1.0 + std::exp(-z)) - d.y[i];
      for (Index j = 0; j < d.p; ++j) g[j] += d.X[i * d.p + j] * r;
      g[d.p] += r;
    }
    double gmax = 0.0;
    for (Index j = 0; j <= d.p; ++j) {
      const double pen = j < d.p ? m->coef()[j] : 0.0;
      gmax = std::max(gmax, std::abs(g[j] + pen));
    }
    CHECK(gmax / static_cast<double>(d.n) <= 1e-6);
  }
}

TEST_CASE("multinomial model file: round trip predicts bit-identically; binary bytes unchanged") {
  const MultiData d = make_multi(300, 5, 3, 1.0, 29);
  LogisticRegression m(tight());
  m.fit(Dataset(d.view(), d.y), 3);
  const std::string text = encode_model(m);
  CHECK(text.find("class_coef") != std::string::npos);
  const PipelineModel back = decode_model(text);
  const auto& r = std::get<LogisticRegression>(back);
  RowMatrixXd P(d.n, 3), Q(d.n, 3);
  m.predict_proba_matrix(d.view(), view_mut(P));
  r.predict_proba_matrix(d.view(), view_mut(Q));
  CHECK(P == Q);
  // A binary model does not write the multinomial fields.
  std::vector<double> y01(d.y.size());
  for (std::size_t i = 0; i < y01.size(); ++i) y01[i] = d.y[i] == 1.0 ? 1.0 : 0.0;
  LogisticRegression bm;
  bm.fit(Dataset(d.view(), y01));
  CHECK(encode_model(bm).find("class_coef") == std::string::npos);
  // A binary model cannot be asked for a multinomial output and vice versa.
  CHECK_THROWS_AS(m.predict_proba(d.view()), InvalidInput);
  CHECK_THROWS_AS(m.coefficient_table(), InvalidInput);
}

TEST_CASE("bad input: one class, too many classes, NaN in sparse input, malformed CSR") {
  const MultiData d = make_multi(50, 3, 3, 1.0, 31);
  std::vector<double> one(d.y.size(), 0.0);
  LogisticRegression m;
  CHECK_THROWS_WITH_AS(m.fit(Dataset(d.view(), one), 3),
                       doctest::Contains("class 1 of 3 has no rows"), InvalidInput);
  CHECK_THROWS_AS(m.fit(Dataset(d.view(), d.y), kMaxClasses + 1), InvalidParams);
  const Csr good = to_csr(d.X, d.n, d.p);
  Csr nan = good;
  nan.values[4] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(m.fit(nan.view(d.n, d.p), d.y, {}, 3), doctest::Contains("X[1, 1] is nan"),
                       InvalidInput);
  Csr unsorted = good;
  std::swap(unsorted.indices[0], unsorted.indices[1]);
  CHECK_THROWS_WITH_AS(m.fit(unsorted.view(d.n, d.p), d.y, {}, 3),
                       doctest::Contains("not strictly increasing"), InvalidInput);
  Csr out = good;
  out.indices[2] = 7;
  CHECK_THROWS_WITH_AS(m.fit(out.view(d.n, d.p), d.y, {}, 3), doctest::Contains("outside [0, 3)"),
                       InvalidInput);
  Csr dec = good;
  dec.indptr[2] = dec.indptr[1] - 1;
  CHECK_THROWS_WITH_AS(m.fit(dec.view(d.n, d.p), d.y, {}, 3), doctest::Contains("decreases"),
                       InvalidInput);
  LogisticRegressionParams pc;
  pc.categorical_features = {0};
  LogisticRegression mc(pc);
  CHECK_THROWS_AS(mc.fit(Dataset(d.view(), d.y), 3), InvalidParams);
  // Prediction: wrong width, and a sparse matrix for a model with fewer columns.
  m.fit(good.view(d.n, d.p), d.y, {}, 3);
  RowMatrixXd P(d.n, 3);
  CHECK_THROWS_AS(m.predict_proba_matrix(good.view(d.n, 2), view_mut(P)), InvalidInput);
}

namespace {

// The binary optimum by a plain reference Newton solve (dense Hessian, Eigen LDL^T, 60 full
// steps from 0): sum_i w_i logloss_i + ||beta||^2 / (2C), intercept unpenalised.
Eigen::VectorXd reference_newton(const MultiData& d, const std::vector<double>& y,
                                 const std::vector<double>& w, double C, bool intercept) {
  const Index q = d.p + (intercept ? 1 : 0);
  Eigen::VectorXd th = Eigen::VectorXd::Zero(q);
  for (int it = 0; it < 60; ++it) {
    Eigen::VectorXd g = Eigen::VectorXd::Zero(q);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(q, q);
    for (Index i = 0; i < d.n; ++i) {
      Eigen::VectorXd x(q);
      for (Index j = 0; j < d.p; ++j) x[j] = d.X[i * d.p + j];
      if (intercept) x[d.p] = 1.0;
      const double p = 1.0 / (1.0 + std::exp(-x.dot(th)));
      g += w[i] * (p - y[i]) * x;
      H += w[i] * p * (1.0 - p) * x * x.transpose();
    }
    for (Index j = 0; j < d.p; ++j) g[j] += th[j] / C, H(j, j) += 1.0 / C;
    th -= H.ldlt().solve(g);
  }
  return th;
}

}  // namespace

TEST_CASE("binary sparse (fused row passes): the reference Newton optimum, CSR = CSC") {
  // Weights, an unpenalised intercept (or none), a column of tiny values (the Hessian products
  // then keep the doubles instead of a float copy): the optimum of a plain Newton solve to 1e-6.
  MultiData d = make_multi(900, 10, 2, 0.4, 41);
  for (Index i = 0; i < d.n; i += 3) d.X[i * d.p + 9] = 0.0;
  Rng rng(5);
  std::vector<double> w(static_cast<std::size_t>(d.n));
  for (auto& v : w) v = 0.25 + 2.0 * rng.uniform();
  for (bool tiny : {false, true}) {
    if (tiny) {
      for (Index i = 0; i < d.n; ++i) d.X[i * d.p + 4] *= 1e-31;
    }
    const Csr csr = to_csr(d.X, d.n, d.p), csc = to_csc(d.X, d.n, d.p);
    for (bool intercept : {true, false}) {
      for (double C : {0.1, 10.0}) {
        CAPTURE(tiny);
        CAPTURE(intercept);
        CAPTURE(C);
        const Eigen::VectorXd ref = reference_newton(d, d.y, w, C, intercept);
        LogisticRegressionParams prm = tight(C);
        prm.fit_intercept = intercept;
        LogisticRegression a(prm), b(prm);
        a.fit(csr.view(d.n, d.p), d.y, w);
        b.fit(csc.view(d.n, d.p, false), d.y, w);
        for (Index j = 0; j < d.p; ++j) {
          CHECK(std::abs(a.coef()[j] - ref[j]) <= 1e-6 * std::max(1.0, std::abs(ref[j])));
          CHECK(std::abs(b.coef()[j] - ref[j]) <= 1e-6 * std::max(1.0, std::abs(ref[j])));
        }
        const double b_ref = intercept ? ref[d.p] : 0.0;
        CHECK(std::abs(a.intercept() - b_ref) <= 1e-6);
        CHECK(std::abs(b.intercept() - b_ref) <= 1e-6);
      }
    }
  }
}

TEST_CASE("binary sparse (fused row passes): weighted fits bit-identical at 1 and 2 threads") {
  // Large enough for several fixed scatter chunks; CSR and CSC input.
  const MultiData d = make_multi(30000, 30, 2, 0.3, 43);
  const Csr csr = to_csr(d.X, d.n, d.p), csc = to_csc(d.X, d.n, d.p);
  Rng rng(7);
  std::vector<double> w(static_cast<std::size_t>(d.n));
  for (auto& v : w) v = 0.5 + rng.uniform();
  LogisticRegressionParams p1, p2;
  p1.n_threads = 1;
  p2.n_threads = 2;
  LogisticRegression a(p1), b(p2), c(p1), e(p2);
  a.fit(csr.view(d.n, d.p), d.y, w);
  b.fit(csr.view(d.n, d.p), d.y, w);
  c.fit(csc.view(d.n, d.p, false), d.y, w);
  e.fit(csc.view(d.n, d.p, false), d.y, w);
  CHECK(a.coef() == b.coef());
  CHECK(a.intercept() == b.intercept());
  CHECK(c.coef() == e.coef());
  CHECK(c.intercept() == e.intercept());
  CHECK(a.fit_info().converged);
  const Eigen::VectorXd ref = reference_newton(d, d.y, w, 1.0, true);
  for (Index j = 0; j < d.p; ++j) CHECK(std::abs(a.coef()[j] - ref[j]) < 1e-4);
}

TEST_CASE("binary sparse, subsampled Hessian (n >= 32768): reference optimum, thread-independent") {
  // Enough rows for the Hessian products on a row subsample (the gradient and the stopping rule
  // stay exact): the minimiser is the plain Newton optimum, for CSR and CSC input, 1 and 2
  // threads, weights, with and without an intercept.
  const MultiData d = make_multi(40000, 12, 2, 0.3, 47);
  const Csr csr = to_csr(d.X, d.n, d.p), csc = to_csc(d.X, d.n, d.p);
  Rng rng(9);
  std::vector<double> w(static_cast<std::size_t>(d.n));
  for (auto& v : w) v = 0.5 + rng.uniform();
  for (bool intercept : {true, false}) {
    CAPTURE(intercept);
    LogisticRegressionParams p1 = tight(0.5), p2 = tight(0.5);
    p1.fit_intercept = p2.fit_intercept = intercept;
    p1.n_threads = 1;
    p2.n_threads = 2;
    LogisticRegression a(p1), b(p2), c(p2);
    a.fit(csr.view(d.n, d.p), d.y, w);
    b.fit(csr.view(d.n, d.p), d.y, w);
    c.fit(csc.view(d.n, d.p, false), d.y, w);
    CHECK(a.fit_info().converged);
    CHECK(a.coef() == b.coef());
    CHECK(a.intercept() == b.intercept());
    CHECK(a.coef() == c.coef());
    const Eigen::VectorXd ref = reference_newton(d, d.y, w, 0.5, intercept);
    for (Index j = 0; j < d.p; ++j) {
      CHECK(std::abs(a.coef()[j] - ref[j]) <= 1e-7 * std::max(1.0, std::abs(ref[j])));
    }
    CHECK(std::abs(a.intercept() - (intercept ? ref[d.p] : 0.0)) <= 1e-7);
    // The same columns above 2^16 (32-bit column indices in the copies) give the same fit.
    Csr wide = csr;
    for (auto& j : wide.indices) j = 65540 + j;
    LogisticRegression e(p1);
    e.fit(wide.view(d.n, 65540 + d.p), d.y, w);
    for (Index j = 0; j < d.p; ++j) CHECK(std::abs(e.coef()[65540 + j] - a.coef()[j]) <= 1e-9);
  }
}

TEST_CASE("binary sparse: more than 2^16 columns (32-bit column indices) give the same fit") {
  // The compact row copy keeps 16-bit column indices when every index fits; here the 10 used
  // columns sit above 65536 among empty ones (coefficient exactly 0), so the 32-bit path runs
  // and must reproduce the 10-column fit and the plain Newton optimum.
  const MultiData d = make_multi(900, 10, 2, 0.4, 53);
  const Csr narrow = to_csr(d.X, d.n, d.p);
  Csr wide = narrow;
  const Index cols = 70000;
  for (auto& j : wide.indices) j = 65540 + 3 * j;
  const std::vector<double> w(static_cast<std::size_t>(d.n), 1.0);
  LogisticRegression a(tight(0.5)), b(tight(0.5));
  a.fit(narrow.view(d.n, d.p), d.y);
  b.fit(wide.view(d.n, cols), d.y);
  const Eigen::VectorXd ref = reference_newton(d, d.y, w, 0.5, true);
  REQUIRE(b.coef().size() == static_cast<std::size_t>(cols));
  for (Index j = 0; j < d.p; ++j) {
    CHECK(std::abs(b.coef()[65540 + 3 * j] - a.coef()[j]) <= 1e-9);
    CHECK(std::abs(b.coef()[65540 + 3 * j] - ref[j]) <= 1e-6 * std::max(1.0, std::abs(ref[j])));
  }
  CHECK(b.coef()[0] == 0.0);
  CHECK(b.coef()[65541] == 0.0);
  CHECK(std::abs(b.intercept() - ref[d.p]) <= 1e-6);
}
