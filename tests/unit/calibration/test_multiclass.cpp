// SPDX-License-Identifier: Apache-2.0
// Multiclass calibration: closed forms (temperature on two logit patterns, a saturated Dirichlet
// fit), optimality of the ODIR objective, one-vs-rest normalisation rules, saved state, errors.
#include <doctest/doctest.h>
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/calibration/multiclass.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <string>
#include <vector>

using calibrisk::Index;
using calibrisk::MatrixView;
using calibrisk::RowMatrixXd;
using calibrisk::ScoreKind;
using V = std::vector<double>;

namespace {

MatrixView<const double> mat(const V& v, Index k) {
  return MatrixView<const double>::row_major(v.data(), static_cast<Index>(v.size()) / k, k);
}

// Over-confident probabilities of a K-class problem, labels from the true softmax.
struct Sample {
  V p, y, w;
};
Sample sample(int n, int k, std::uint64_t seed) {
  calibrisk::Rng rng(seed);
  Sample s;
  for (int i = 0; i < n; ++i) {
    V z(k), q(k), shown(k);
    double sq = 0, ss = 0;
    for (int j = 0; j < k; ++j) {
      z[j] = 1.5 * rng.normal();
      q[j] = std::exp(z[j]);
      shown[j] = std::exp(2.5 * z[j] + (j == 0 ? 0.7 : 0.0));
      sq += q[j];
      ss += shown[j];
    }
    double u = rng.uniform() * sq, acc = 0;
    int label = k - 1;
    for (int j = 0; j < k; ++j) {
      acc += q[j];
      if (u < acc) {
        label = j;
        break;
      }
    }
    for (int j = 0; j < k; ++j) s.p.push_back(shown[j] / ss);
    s.y.push_back(label);
    s.w.push_back(0.5 + rng.uniform());
  }
  return s;
}

}  // namespace

TEST_CASE("temperature: two logit patterns give beta = logit(3/4) / 2 exactly") {
  const V z = {-1, 1, -1, 1, -1, 1, -1, 1};
  const V y = {1, 1, 1, 0};
  calibrisk::TemperatureScaling t;
  t.fit(mat(z, 2), y);
  CHECK(t.inverse_temperature() == doctest::Approx(std::log(3.0) / 2).epsilon(1e-14));
  CHECK(t.fit_info().converged);
}

TEST_CASE("temperature: the derivative of the weighted log loss in beta vanishes at the fit") {
  const Sample s = sample(3000, 4, 3);
  calibrisk::TemperatureParams p;
  p.input = ScoreKind::kProbability;
  calibrisk::TemperatureScaling t(p);
  t.fit(mat(s.p, 4), s.y, s.w);
  const double beta = t.inverse_temperature();
  double g = 0, scale = 0;
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    double zs[4], m = -1e300, sum = 0, mean = 0;
    for (int j = 0; j < 4; ++j) {
      zs[j] = std::log(s.p[i * 4 + j] + 1e-12);
      m = std::max(m, beta * zs[j]);
    }
    for (int j = 0; j < 4; ++j) sum += std::exp(beta * zs[j] - m);
    for (int j = 0; j < 4; ++j) mean += std::exp(beta * zs[j] - m) / sum * zs[j];
    g += s.w[i] * (mean - zs[static_cast<int>(s.y[i])]);
    scale += s.w[i] * std::abs(zs[static_cast<int>(s.y[i])]);
  }
  CHECK(std::abs(g) <= 1e-10 * scale);
  CHECK(t.temperature() == doctest::Approx(2.5).epsilon(0.1));  // shown = softmax(2.5 z + bias)
}

TEST_CASE("dirichlet: a saturated unpenalised fit reproduces the class frequencies per pattern") {
  const double pats[4][3] = {{0.6, 0.3, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.2, 0.7}, {0.3, 0.3, 0.4}};
  const int counts[4][3] = {{5, 3, 2}, {1, 6, 3}, {2, 2, 6}, {4, 1, 5}};
  V P, y, grid;
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 3; ++c) {
      for (int m = 0; m < counts[r][c]; ++m) {
        P.insert(P.end(), pats[r], pats[r] + 3);
        y.push_back(c);
      }
    }
    grid.insert(grid.end(), pats[r], pats[r] + 3);
  }
  calibrisk::DirichletParams p;
  p.reg_lambda = 0.0;
  p.reg_mu = 0.0;
  calibrisk::DirichletCalibrator d(p);
  d.fit(mat(P, 3), y);
  const RowMatrixXd q = d.predict_proba(mat(grid, 3));
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 3; ++c)
      CHECK(q(r, c) == doctest::Approx(counts[r][c] / 10.0).epsilon(1e-8));
  }
}

TEST_CASE("dirichlet: the ODIR gradient vanishes at the fit; the diagonal is not penalised") {
  const Sample s = sample(1500, 3, 5);
  calibrisk::DirichletParams p;
  p.reg_lambda = 0.5;
  p.reg_mu = 0.2;
  calibrisk::DirichletCalibrator d(p);
  d.fit(mat(s.p, 3), s.y, s.w);
  REQUIRE(d.fit_info().converged);
  const Eigen::MatrixXd W = d.coef();
  const Eigen::VectorXd b = d.intercept();
  double total = 0;
  for (double w : s.w) total += w;
  Eigen::MatrixXd G = Eigen::MatrixXd::Zero(3, 4);
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    Eigen::Vector3d l, z;
    for (int j = 0; j < 3; ++j) l[j] = std::log(s.p[i * 3 + j]);
    z = W * l + b;
    const Eigen::Vector3d q =
        (z.array() - z.maxCoeff()).exp() / (z.array() - z.maxCoeff()).exp().sum();
    for (int a = 0; a < 3; ++a) {
      const double r = s.w[i] / total * (q[a] - (s.y[i] == a ? 1.0 : 0.0));
      for (int j = 0; j < 3; ++j) G(a, j) += r * l[j];
      G(a, 3) += r;
    }
  }
  for (int a = 0; a < 3; ++a) {
    for (int j = 0; j < 3; ++j) {
      if (a != j) G(a, j) += 2 * 0.5 / 6 * W(a, j);
    }
    G(a, 3) += 2 * 0.2 / 3 * b[a];
  }
  CHECK(G.cwiseAbs().maxCoeff() <= 1e-9);
}

TEST_CASE("one-vs-rest: rows are renormalised, all-zero rows become uniform, K = 2 is binary") {
  calibrisk::OneVsRestState st;
  st.method = calibrisk::OvrMethod::kIsotonic;
  st.n_classes = 3;
  for (int k = 0; k < 3; ++k) st.isotonic.push_back({{0.0, 1.0}, {0.0, 0.5 * (k + 1)}});
  const auto c = calibrisk::OneVsRestCalibrator::from_state(st);
  const V s = {1, 1, 1, -1, -1, -1};
  const RowMatrixXd q = c.predict_proba(mat(s, 3));
  CHECK(q(0, 0) == doctest::Approx(0.5 / 3.0).epsilon(1e-15));
  CHECK(q(0, 2) == doctest::Approx(1.5 / 3.0).epsilon(1e-15));
  for (int j = 0; j < 3; ++j) CHECK(q(1, j) == 1.0 / 3.0);

  const Sample d = sample(500, 2, 7);
  calibrisk::OneVsRestParams p;
  p.method = calibrisk::OvrMethod::kSigmoid;
  p.input = ScoreKind::kProbability;
  calibrisk::OneVsRestCalibrator two(p);
  two.fit(mat(d.p, 2), d.y);
  REQUIRE(two.state().platt.size() == 1);
  calibrisk::PlattParams pp;
  pp.input = ScoreKind::kProbability;
  calibrisk::PlattCalibrator platt(pp);
  V col1, y1;
  for (std::size_t i = 0; i < d.y.size(); ++i) col1.push_back(d.p[2 * i + 1]);
  platt.fit(col1, d.y);
  const RowMatrixXd q2 = two.predict_proba(mat(d.p, 2));
  CHECK(q2(3, 1) == platt.predict_one(col1[3]));
  CHECK(q2(3, 0) == 1.0 - platt.predict_one(col1[3]));
}

TEST_CASE("multiclass calibrators: saved state reloads and predicts bit-identically") {
  const Sample s = sample(400, 3, 9);
  calibrisk::DirichletCalibrator d;
  d.fit(mat(s.p, 3), s.y, s.w);
  calibrisk::OneVsRestParams op;
  op.method = calibrisk::OvrMethod::kBeta;
  op.input = ScoreKind::kProbability;
  calibrisk::OneVsRestCalibrator o(op);
  o.fit(mat(s.p, 3), s.y);
  calibrisk::TemperatureParams tp;
  tp.input = ScoreKind::kProbability;
  calibrisk::TemperatureScaling t(tp);
  t.fit(mat(s.p, 3), s.y);
  for (const calibrisk::MulticlassCalibrator& c :
       {calibrisk::MulticlassCalibrator(d), calibrisk::MulticlassCalibrator(o),
        calibrisk::MulticlassCalibrator(t)}) {
    const std::string bytes = calibrisk::encode_multiclass_calibrator(c);
    const calibrisk::MulticlassCalibrator back = calibrisk::decode_multiclass_calibrator(bytes);
    CHECK(back.index() == c.index());
    CHECK(calibrisk::encode_multiclass_calibrator(back) == bytes);
    std::visit(
        [&](const auto& a) {
          using T = std::decay_t<decltype(a)>;
          const RowMatrixXd q1 = a.predict_proba(mat(s.p, 3));
          const RowMatrixXd q2 = std::get<T>(back).predict_proba(mat(s.p, 3));
          CHECK((q1.array() == q2.array()).all());
        },
        c);
  }
  CHECK_THROWS_WITH_AS(calibrisk::decode_multiclass_calibrator(R"({"type":"platt"})"),
                       doctest::Contains("/calibrator/params is missing"),
                       calibrisk::ModelFormatError);
}

TEST_CASE("multiclass calibrators: bad input gets errors naming the problem") {
  const V P = {0.5, 0.5, 0.0, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8};
  calibrisk::TemperatureParams tp;
  tp.input = ScoreKind::kProbability;
  calibrisk::TemperatureScaling t(tp);
  CHECK_THROWS_WITH_AS(t.fit(mat(P, 3), V{1, 1, 1}), doctest::Contains("only class 1"),
                       calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(t.fit(mat(P, 3), V{0, 1, 3}),
                       doctest::Contains("labels must be class indices 0..2"),
                       calibrisk::InvalidInput);
  V bad = P;
  bad[4] = 0.6;
  CHECK_THROWS_WITH_AS(t.fit(mat(bad, 3), V{0, 1, 2}),
                       doctest::Contains("row 1 of the probabilities sums to"),
                       calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(t.predict_proba(mat(P, 3)), doctest::Contains("not fitted"),
                       calibrisk::NotFitted);
  calibrisk::OneVsRestCalibrator o;
  CHECK_THROWS_WITH_AS(o.fit(mat(P, 3), V{0, 1, 1}),
                       doctest::Contains("class 2 has no calibration rows"),
                       calibrisk::InvalidInput);
}
