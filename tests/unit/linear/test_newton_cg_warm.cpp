// SPDX-License-Identifier: Apache-2.0
// Tests of the Newton-CG warm start (LinearProblem::warm_start: a row-subsample solve as the
// starting point; binary model only, K >= 3 keeps the cold start): warm and cold fits reach the
// optimum of an independent exact Newton solve (dense Hessian of the whole parameter vector, built
// by dense matrix algebra in this file), with sample weights, per-feature penalty multipliers, with
// and without intercepts, binary and multinomial, CSR and CSC input; the warm fit gives the same
// bytes on 1 and 2 threads; columns absent from the subsample's rows.
#include <doctest/doctest.h>
#include <calibrisk/core/random.hpp>
#include <linear/newton_cg.hpp>

#include <Eigen/Dense>

#include "unit/linear/sparse_arrays.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace calibrisk;
using calibrisk::detail::LinearProblem;
using calibrisk::detail::LinearSolution;
using calibrisk::detail::solve_newton_cg;

namespace {

// n x p sparse data (CSR and CSC arrays of the same matrix), K classes from a softmax (K = 2: a
// sigmoid) of known scores, row weights in [0.5, 2] and penalty multipliers in [0.25, 3].
struct Case {
  Index n = 0, p = 0;
  int K = 2;
  std::vector<double> dense, y;
  test::Csr rows, cols;
  std::vector<double> factor;
  Eigen::VectorXd w;
  SparseMatrixView csr() const { return rows.view(n, p, true); }
  SparseMatrixView csc() const { return cols.view(n, p, false); }
};

void draw_labels(Case& c, Rng& rng) {
  const int Kp = c.K == 2 ? 1 : c.K;
  std::vector<double> B(static_cast<std::size_t>(c.p * Kp));
  for (auto& b : B) b = 0.8 * rng.normal();
  for (Index i = 0; i < c.n; ++i) {
    std::vector<double> z(static_cast<std::size_t>(Kp), 0.0);
    for (Index j = 0; j < c.p; ++j) {
      for (int k = 0; k < Kp; ++k) z[k] += B[j * Kp + k] * c.dense[i * c.p + j];
    }
    if (c.K == 2) {
      c.y[i] = rng.uniform() < 1.0 / (1.0 + std::exp(-z[0] + 0.4)) ? 1.0 : 0.0;
      continue;
    }
    double s = 0.0;
    for (double& v : z) s += (v = std::exp(v));
    double u = rng.uniform() * s;
    int cls = c.K - 1;
    for (int k = 0; k < c.K; ++k) {
      if ((u -= z[k]) < 0.0) {
        cls = k;
        break;
      }
    }
    c.y[i] = cls;
  }
}

Case make_case(Index n, Index p, int K, std::uint64_t seed) {
  Case c;
  c.n = n, c.p = p, c.K = K;
  Rng rng(seed);
  c.dense.assign(static_cast<std::size_t>(n * p), 0.0);
  c.y.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) {
      if (rng.uniform() < 0.35) c.dense[i * p + j] = (0.5 + j % 3) * rng.uniform();
    }
  }
  draw_labels(c, rng);
  c.rows = test::to_csr(c.dense, n, p);
  c.cols = test::to_csc(c.dense, n, p);
  c.w.resize(n);
  for (Index i = 0; i < n; ++i) c.w[i] = 0.5 + 1.5 * rng.uniform();
  c.factor.resize(static_cast<std::size_t>(p));
  for (auto& f : c.factor) f = 0.25 + 2.75 * rng.uniform();
  return c;
}

// The reference: the objective, gradient and Hessian of theta = [B (p x K', row-major), b (K')]
// over the dense copy (per-row loops and dense matrix products), minimised by exact Newton
// (minimum-norm solves: the softmax intercepts have a free shift) with backtracking, to max |g| /
// sum(w) <= 1e-13 or until the Newton decrement is at round-off (1e-15 of the objective).
struct Reference {
  const Case& c;
  double C;
  bool intercept;
  int Kp() const { return c.K == 2 ? 1 : c.K; }
  Index size() const { return (c.p + 1) * Kp(); }

  // The design A = [X, 1] (the last column 0 without an intercept).
  Eigen::MatrixXd A = design();
  Eigen::MatrixXd design() const {
    Eigen::MatrixXd D(c.n, c.p + 1);
    for (Index i = 0; i < c.n; ++i) {
      for (Index j = 0; j < c.p; ++j) D(i, j) = c.dense[i * c.p + j];
      D(i, c.p) = intercept ? 1.0 : 0.0;
    }
    return D;
  }
  // The weighted loss of theta (theta row-major as a (p + 1) x K' matrix); P gets the
  // probabilities (binary: of class 1).
  double loss(const Eigen::VectorXd& th, Eigen::MatrixXd& P) const {
    const int Kp = this->Kp();
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::MatrixXd Z = A * Eigen::Map<const RowMajor>(th.data(), c.p + 1, Kp);
    P.resize(c.n, Kp);
    double f = 0.0;
    for (Index i = 0; i < c.n; ++i) {
      const auto yi = static_cast<Index>(c.y[i]);
      if (Kp == 1) {
        const double z = Z(i, 0);
        P(i, 0) = 1.0 / (1.0 + std::exp(-z));
        f += c.w[i] * (std::log1p(std::exp(-std::abs(z))) + std::max(0.0, yi == 1 ? -z : z));
        continue;
      }
      const double m = Z.row(i).maxCoeff();
      P.row(i) = (Z.row(i).array() - m).exp();
      const double sum = P.row(i).sum();
      P.row(i) /= sum;
      f += c.w[i] * (m + std::log(sum) - Z(i, yi));
    }
    return f;
  }
  double objective(const Eigen::VectorXd& th) const {
    Eigen::MatrixXd P;
    double f = loss(th, P);
    for (Index j = 0; j < c.p; ++j) {
      f += 0.5 * c.factor[j] / C * th.segment(j * Kp(), Kp()).squaredNorm();
    }
    return f;
  }
  // Gradient and Hessian as dense matrix products: G = A^T diag(w) R, and block (k, l) of
  // H = A^T diag(w * S_kl) A with S_kl = p_k (1[k = l] - p_l) (binary: p (1 - p)).
  void derivatives(const Eigen::VectorXd& th, Eigen::VectorXd& g, Eigen::MatrixXd& H) const {
    const int Kp = this->Kp();
    const Index m = c.p + 1;
    Eigen::MatrixXd P;
    loss(th, P);
    Eigen::MatrixXd R = P;
    for (Index i = 0; i < c.n; ++i)
      R(i, Kp == 1 ? 0 : static_cast<Index>(c.y[i])) -= Kp == 1 ? c.y[i] : 1.0;
    const Eigen::MatrixXd G = A.transpose() * (R.array().colwise() * c.w.array()).matrix();
    g.resize(size());
    H.setZero(size(), size());
    for (int k = 0; k < Kp; ++k) {
      for (Index a = 0; a < m; ++a) g[a * Kp + k] = G(a, k);
      for (int l = 0; l < Kp; ++l) {
        Eigen::ArrayXd s = -P.col(k).array() * P.col(l).array();
        if (k == l) s += P.col(k).array();
        const Eigen::MatrixXd B = A.transpose() * (s * c.w.array()).matrix().asDiagonal() * A;
        for (Index a = 0; a < m; ++a) {
          for (Index b = 0; b < m; ++b) H(a * Kp + k, b * Kp + l) = B(a, b);
        }
      }
    }
    for (Index j = 0; j < c.p; ++j) {
      for (int k = 0; k < Kp; ++k) {
        g[j * Kp + k] += c.factor[j] / C * th[j * Kp + k];
        H(j * Kp + k, j * Kp + k) += c.factor[j] / C;
      }
    }
  }
  Eigen::VectorXd solve() const {
    Eigen::VectorXd th = Eigen::VectorXd::Zero(size()), g;
    Eigen::MatrixXd H;
    for (int it = 0; it < 50; ++it) {
      derivatives(th, g, H);
      if (g.lpNorm<Eigen::Infinity>() <= 1e-13 * c.w.sum()) break;
      const Eigen::VectorXd s = H.completeOrthogonalDecomposition().solve(-g);
      const double f0 = objective(th);
      if (-g.dot(s) <= 1e-15 * f0) break;  // the Newton decrement is at round-off: optimal
      double t = 1.0;
      while (t > 1e-10 && objective(th + t * s) > f0 + 1e-4 * t * g.dot(s)) t *= 0.5;
      th += t * s;
    }
    return th;
  }
};

// The solver's solution as the reference's theta (softmax intercepts centred on both sides).
Eigen::VectorXd as_theta(const LinearSolution& r, Index p, int Kp) {
  Eigen::VectorXd th((p + 1) * Kp);
  for (Index j = 0; j < p; ++j) {
    for (int k = 0; k < Kp; ++k) th[j * Kp + k] = r.coef(j, k);
  }
  th.tail(Kp) = r.intercept;
  return th;
}

LinearProblem problem(const Case& c, const SparseMatrixView& X, double C, bool intercept) {
  LinearProblem q;
  q.sparse = &X;
  q.y = VectorView<const double>(c.y);
  q.w = &c.w;
  q.n_classes = c.K;
  q.C = C;
  q.penalty_factor = &c.factor;
  q.fit_intercept = intercept;
  q.tol = 1e-8;
  q.max_iter = 200;
  q.n_threads = 1;
  return q;
}

// Warm and cold fits against the reference: objective to 1e-10 relative, coefficients to 1e-6.
void check_against_reference(const Case& c, bool csr, double C, bool intercept) {
  const SparseMatrixView X = csr ? c.csr() : c.csc();
  LinearProblem q = problem(c, X, C, intercept);
  const Reference ref{c, C, intercept};
  Eigen::VectorXd best = ref.solve();
  const int Kp = ref.Kp();
  if (Kp > 1) best.tail(Kp).array() -= best.tail(Kp).mean();
  const double f_ref = ref.objective(best);
  for (bool warm : {true, false}) {
    CAPTURE(warm);
    q.warm_start = warm;
    const LinearSolution r = solve_newton_cg(q);
    CHECK(r.warm_started == (warm && c.K == 2));  // K >= 3: the cold start (measured faster)
    CHECK(r.converged);
    const Eigen::VectorXd th = as_theta(r, c.p, Kp);
    const double f = ref.objective(th);
    CHECK(std::abs(f - f_ref) <= 1e-10 * f_ref);
    CHECK(std::abs(r.f - f_ref) <= 1e-10 * f_ref);
    CHECK((th - best).lpNorm<Eigen::Infinity>() <= 1e-6);
  }
}

bool same_bytes(const LinearSolution& a, const LinearSolution& b) {
  return a.coef.size() == b.coef.size() && a.f == b.f &&
         std::memcmp(a.coef.data(), b.coef.data(), sizeof(double) * a.coef.size()) == 0 &&
         std::memcmp(a.intercept.data(), b.intercept.data(), sizeof(double) * a.intercept.size()) ==
             0;
}

}  // namespace

TEST_CASE("newton_cg warm start: binary, weights and penalty factors, against exact Newton") {
  const Case c = make_case(40000, 12, 2, 11);
  check_against_reference(c, true, 0.05, true);
  check_against_reference(c, false, 0.05, true);
  check_against_reference(c, true, 1.0, false);
}

TEST_CASE("newton_cg warm start: columns without an entry in the subsample's rows") {
  // Columns 0-3 keep 2 entries each, so most of them miss the 1-in-16 warm-start rows, whose solve
  // leaves such columns out (their coefficients start the full solve at 0); the penalty factors
  // of the columns kept must follow them.
  Case c = make_case(40000, 12, 2, 16);
  for (Index j = 0; j < 4; ++j) {
    for (Index i = 0; i < c.n; ++i) c.dense[i * c.p + j] = 0.0;
    c.dense[(1000 * j + 7) * c.p + j] = 1.5;
    c.dense[(1000 * j + 9001) * c.p + j] = 0.75;
  }
  c.rows = test::to_csr(c.dense, c.n, c.p);
  c.cols = test::to_csc(c.dense, c.n, c.p);
  check_against_reference(c, true, 0.05, true);
  check_against_reference(c, false, 0.05, true);
}

TEST_CASE("newton_cg warm start: multinomial, weights and penalty factors, against exact Newton") {
  const Case c = make_case(36000, 8, 3, 12);
  check_against_reference(c, true, 0.1, true);
  check_against_reference(c, false, 0.1, true);
  check_against_reference(c, true, 0.1, false);
}

TEST_CASE("newton_cg warm start: the same bytes on 1 and 2 threads") {
  for (int K : {2, 4}) {
    CAPTURE(K);
    const Case c = make_case(40000, 30, K, 13);
    const SparseMatrixView X = c.csr();
    LinearProblem q = problem(c, X, 0.5, true);
    q.tol = 1e-6;
    const LinearSolution one = solve_newton_cg(q);
    q.n_threads = 2;
    const LinearSolution two = solve_newton_cg(q);
    CHECK(one.warm_started == (K == 2));
    CHECK(same_bytes(one, two));
  }
}

TEST_CASE("newton_cg warm start: not used below the row threshold or when switched off") {
  const Case c = make_case(20000, 6, 2, 14);
  const SparseMatrixView X = c.csr();
  LinearProblem q = problem(c, X, 1.0, true);
  CHECK_FALSE(solve_newton_cg(q).warm_started);  // 20000 < 32768 rows
  const Case big = make_case(40000, 6, 2, 15);
  const SparseMatrixView Xb = big.csr();
  LinearProblem qb = problem(big, Xb, 1.0, true);
  qb.warm_start = false;
  CHECK_FALSE(solve_newton_cg(qb).warm_started);
}
