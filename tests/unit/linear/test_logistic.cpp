// SPDX-License-Identifier: Apache-2.0
// Tests of LogisticRegression: closed forms, optimality, weights, dtypes, threads, NaN, state,
// errors.
#include <doctest/doctest.h>
#include <calibrisk/linear/logistic.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <vector>

#include "support/logistic_data.hpp"

using namespace calibrisk;
using calibrisk::testing::make_logistic_data;

namespace {

double logit(double p) { return std::log(p / (1.0 - p)); }

// Gradient of sklearn's objective at the model's raw coefficients, computed independently with
// plain loops (imputation applied by hand from the state), divided by the total weight.
template <class T>
double independent_grad_max(const LogisticRegression& m, MatrixView<const T> X,
                            const std::vector<double>& y, const std::vector<double>& w, double C) {
  const auto& s = m.state();
  const Index n = X.rows(), p = X.cols();
  const Index q = static_cast<Index>(s.coef.size());
  std::vector<double> g(q + 1, 0.0);
  double sw = 0.0;
  for (Index i = 0; i < n; ++i) {
    std::vector<double> x(q);
    for (Index j = 0; j < p; ++j) {
      const double v = static_cast<double>(X(i, j));
      x[j] = std::isnan(v) ? s.impute_values[j] : v;
    }
    for (std::size_t k = 0; k < s.indicator_features.size(); ++k) {
      x[p + k] = std::isnan(static_cast<double>(X(i, s.indicator_features[k]))) ? 1.0 : 0.0;
    }
    double z = s.intercept;
    for (Index j = 0; j < q; ++j) z += s.coef[j] * x[j];
    const double wi = w.empty() ? 1.0 : w[i];
    const double r = wi * (1.0 / (1.0 + std::exp(-z)) - y[i]);
    for (Index j = 0; j < q; ++j) g[j] += r * x[j];
    g[q] += r;
    sw += wi;
  }
  double mx = 0.0;
  for (Index j = 0; j < q; ++j) mx = std::max(mx, std::abs(g[j] + s.coef[j] / C));
  if (s.has_intercept) mx = std::max(mx, std::abs(g[q]));
  return mx / sw;
}

LogisticRegressionParams tight(double C = 1.0) {
  LogisticRegressionParams p;
  p.C = C;
  p.tol = 1e-10;
  return p;
}

}  // namespace

TEST_CASE("logistic: one binary feature, C = inf, gives the empirical log odds (closed form)") {
  // Group x=0: 3 of 10 positive; group x=1: 8 of 10 positive.
  std::vector<double> X, y;
  for (int i = 0; i < 10; ++i) {
    X.push_back(0);
    y.push_back(i < 3);
  }
  for (int i = 0; i < 10; ++i) {
    X.push_back(1);
    y.push_back(i < 8);
  }
  for (bool standardize : {true, false}) {
    auto p = tight(std::numeric_limits<double>::infinity());
    p.standardize = standardize;
    LogisticRegression m(p);
    m.fit(Dataset(MatrixView<const double>::col_major(X.data(), 20, 1), y));
    CHECK(m.fit_info().converged);
    // The MLE reproduces the group rates exactly; 1e-9 allows for the Newton tolerance.
    CHECK(m.intercept() == doctest::Approx(logit(0.3)).epsilon(1e-9));
    CHECK(m.coef()[0] == doctest::Approx(logit(0.8) - logit(0.3)).epsilon(1e-9));
    // Wald SE of a 2x2 table log odds ratio: sqrt(1/a + 1/b + 1/c + 1/d) (Woolf).
    auto t = m.coefficient_table(0.95);
    CHECK_FALSE(t.approximate);
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0].term == "(intercept)");
    CHECK(t.rows[1].std_error ==
          doctest::Approx(std::sqrt(1 / 3.0 + 1 / 7.0 + 1 / 8.0 + 1 / 2.0)).epsilon(1e-8));
    CHECK(t.rows[0].std_error == doctest::Approx(std::sqrt(1 / 3.0 + 1 / 7.0)).epsilon(1e-8));
    CHECK(t.rows[1].odds_ratio == doctest::Approx((0.8 / 0.2) / (0.3 / 0.7)).epsilon(1e-8));
    const double zq = 1.959963984540054;  // standard normal 0.975 quantile
    CHECK(t.rows[1].ci_upper - t.rows[1].estimate ==
          doctest::Approx(zq * t.rows[1].std_error).epsilon(1e-12));
    CHECK(t.rows[1].odds_ratio_lower ==
          doctest::Approx(std::exp(t.rows[1].ci_lower)).epsilon(1e-12));
    CHECK(t.rows[1].p_value == doctest::Approx(std::erfc(std::abs(t.rows[1].z) / std::sqrt(2.0))));
  }
}

TEST_CASE("logistic: a constant feature gets coefficient 0 and the intercept the prior log odds") {
  std::vector<double> X(50, 3.0), y(50, 0.0);
  for (int i = 0; i < 20; ++i) y[i] = 1.0;
  LogisticRegression m(tight(std::numeric_limits<double>::infinity()));
  m.fit(Dataset(MatrixView<const double>::col_major(X.data(), 50, 1), y));
  CHECK(m.coef()[0] == 0.0);
  CHECK(m.intercept() == doctest::Approx(logit(0.4)).epsilon(1e-10));
  bool noted = false;
  for (const auto& n : m.fit_info().notes)
    noted |= n.find("feature 0 is constant") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("logistic: the gradient of scikit-learn's objective is zero at the solution") {
  auto d = make_logistic_data(3000, 8, 7);
  std::vector<double> w(3000);
  Rng rng(3);
  for (auto& v : w) v = 0.2 + 2.0 * rng.uniform();
  for (double C : {0.01, 1.0, 100.0, std::numeric_limits<double>::infinity()}) {
    for (bool intercept : {true, false}) {
      CAPTURE(C);
      CAPTURE(intercept);
      auto p = tight(C);
      p.fit_intercept = intercept;
      LogisticRegression m(p);
      m.fit(Dataset(d.view(), d.y, w));
      CHECK(m.fit_info().converged);
      CHECK(m.fit_info().n_iter < 20);  // Newton: a handful of iterations
      CHECK(independent_grad_max(m, d.view(), d.y, w, C) < 1e-9);
      CHECK(m.gradient_max() <= 1e-10);
      if (!intercept) CHECK(m.intercept() == 0.0);
    }
  }
}

TEST_CASE("logistic: recovers the generating coefficients on a large unpenalized sample") {
  auto d = make_logistic_data(100000, 4, 11);
  LogisticRegression m(tight(std::numeric_limits<double>::infinity()));
  m.fit(Dataset(d.view(), d.y));
  auto t = m.coefficient_table(0.999);
  // Each true coefficient lies within its 99.9% Wald interval (4 checks + intercept: a false alarm
  // has probability < 0.5%, and the seed is fixed).
  CHECK(t.rows[0].ci_lower < d.intercept);
  CHECK(t.rows[0].ci_upper > d.intercept);
  for (Index j = 0; j < 4; ++j) {
    CHECK(t.rows[j + 1].ci_lower < d.beta[j]);
    CHECK(t.rows[j + 1].ci_upper > d.beta[j]);
  }
}

TEST_CASE("logistic: separable data converge under a penalty and are reported without one") {
  std::vector<double> X = {-3, -2, -1, -0.5, 0.5, 1, 2, 3};
  std::vector<double> y = {0, 0, 0, 0, 1, 1, 1, 1};
  auto Xv = MatrixView<const double>::col_major(X.data(), 8, 1);
  LogisticRegression pen(tight(1.0));
  pen.fit(Dataset(Xv, y));
  CHECK(pen.fit_info().converged);
  CHECK(std::isfinite(pen.coef()[0]));
  CHECK(pen.coef()[0] > 0.0);
  CHECK(independent_grad_max(pen, Xv, y, {}, 1.0) < 1e-9);
  auto p = tight(std::numeric_limits<double>::infinity());
  p.max_iter = 30;
  LogisticRegression unpen(p);
  unpen.fit(Dataset(Xv, y));
  bool noted = false;
  for (const auto& n : unpen.fit_info().notes) noted |= n.find("separable") != std::string::npos;
  CHECK(noted);
  CHECK(unpen.coef()[0] > pen.coef()[0]);
}

TEST_CASE("logistic: integer sample weights are equivalent to duplicating rows") {
  auto d = make_logistic_data(400, 5, 5, 0.05);
  std::vector<double> w(400);
  std::vector<double> Xdup, ydup;
  Rng rng(9);
  for (Index i = 0; i < 400; ++i) {
    w[i] = double(rng.below(4));  // 0..3, zero weights included
    for (int r = 0; r < int(w[i]); ++r) {
      for (Index j = 0; j < 5; ++j) Xdup.push_back(d.X[i * 5 + j]);
      ydup.push_back(d.y[i]);
    }
  }
  for (auto miss : {MissingStrategy::kMean, MissingStrategy::kMeanWithIndicator}) {
    for (int cw = 0; cw < 3; ++cw) {
      auto p = tight(0.5);
      p.missing = miss;
      // Balanced weights use sample-weight totals (scikit-learn >= 1.8), so they are invariant too.
      if (cw == 1) p.class_weight = ClassWeight::explicit_weights(0.7, 1.9);
      if (cw == 2) p.class_weight = ClassWeight::balanced();
      LogisticRegression a(p), b(p);
      a.fit(Dataset(d.view(), d.y, w));
      b.fit(Dataset(MatrixView<const double>::row_major(Xdup.data(), Index(ydup.size()), 5), ydup));
      REQUIRE(a.coef().size() == b.coef().size());
      for (std::size_t j = 0; j < a.coef().size(); ++j) {
        CHECK(a.coef()[j] == doctest::Approx(b.coef()[j]).epsilon(1e-8));
      }
      CHECK(a.intercept() == doctest::Approx(b.intercept()).epsilon(1e-8));
    }
  }
}

TEST_CASE("logistic: float32 and float64 inputs with the same values give the same model") {
  auto f = make_logistic_data<float>(5000, 6, 21, 0.02);
  std::vector<double> dX(f.X.begin(), f.X.end());
  LogisticRegression a(tight()), b(tight());
  a.fit(Dataset(f.view(), f.y));
  b.fit(Dataset(MatrixView<const double>::row_major(dX.data(), f.n, f.p), f.y));
  // float -> double is exact and everything after it runs in double: bit-identical.
  CHECK(a.coef() == b.coef());
  CHECK(a.intercept() == b.intercept());
  Eigen::VectorXd pa = a.predict_proba(f.view());
  Eigen::VectorXd pb = b.predict_proba(MatrixView<const double>::row_major(dX.data(), f.n, f.p));
  CHECK((pa - pb).cwiseAbs().maxCoeff() == 0.0);
  CHECK(a.predict_proba_row(f.X.data() + 6) == pa[1]);
}

TEST_CASE("logistic: results are bit-identical for any thread count and memory order") {
  // Large enough for several row chunks and for fit and predict to use threads at all.
  auto d = make_logistic_data(80000, 14, 8, 0.01);
  std::vector<double> colmajor(d.X.size());
  for (Index i = 0; i < d.n; ++i)
    for (Index j = 0; j < d.p; ++j) colmajor[j * d.n + i] = d.X[i * d.p + j];
  std::vector<double> ref_coef;
  double ref_b = 0;
  Eigen::VectorXd ref_p;
  for (int nt : {1, 2, 3, 4}) {
    for (bool cm : {false, true}) {
      CAPTURE(nt);
      auto p = tight(0.3);
      p.n_threads = nt;
      p.missing = MissingStrategy::kMeanWithIndicator;
      auto X = cm ? MatrixView<const double>::col_major(colmajor.data(), d.n, d.p) : d.view();
      LogisticRegression m(p);
      m.fit(Dataset(X, d.y));
      Eigen::VectorXd pr = m.predict_proba(X);
      if (ref_coef.empty()) {
        ref_coef = m.coef();
        ref_b = m.intercept();
        ref_p = pr;
      } else {
        CHECK(m.coef() == ref_coef);
        CHECK(m.intercept() == ref_b);
        CHECK((pr - ref_p).cwiseAbs().maxCoeff() == 0.0);
      }
    }
  }
}

TEST_CASE("logistic: standardize changes conditioning only, not the solution") {
  auto d = make_logistic_data(2000, 6, 4);
  // Put one column on a huge scale: the raw-coefficient penalty makes its coefficient tiny.
  for (Index i = 0; i < d.n; ++i) d.X[i * 6 + 2] *= 1000.0;
  for (double C : {0.1, 10.0}) {
    auto p = tight(C);
    LogisticRegression a(p);
    p.standardize = false;
    LogisticRegression b(p);
    a.fit(Dataset(d.view(), d.y));
    b.fit(Dataset(d.view(), d.y));
    for (Index j = 0; j < 6; ++j) CHECK(a.coef()[j] == doctest::Approx(b.coef()[j]).epsilon(1e-7));
    CHECK(a.intercept() == doctest::Approx(b.intercept()).epsilon(1e-7));
  }
}

TEST_CASE("logistic: NaN is mean-imputed, optionally with indicators, at fit and predict time") {
  auto d = make_logistic_data(3000, 4, 13, 0.1);
  // Weighted column means over observed values, by hand.
  std::vector<double> w(3000);
  Rng rng(1);
  for (auto& v : w) v = 0.5 + rng.uniform();
  std::vector<double> mean(4, 0.0), sw(4, 0.0);
  for (Index i = 0; i < d.n; ++i)
    for (Index j = 0; j < 4; ++j)
      if (!std::isnan(d.X[i * 4 + j])) {
        mean[j] += w[i] * d.X[i * 4 + j];
        sw[j] += w[i];
      }
  for (Index j = 0; j < 4; ++j) mean[j] /= sw[j];
  std::vector<double> imputed = d.X, augmented;
  for (Index i = 0; i < d.n; ++i) {
    for (Index j = 0; j < 4; ++j) {
      const bool miss = std::isnan(d.X[i * 4 + j]);
      if (miss) imputed[i * 4 + j] = mean[j];
    }
    for (Index j = 0; j < 4; ++j) augmented.push_back(imputed[i * 4 + j]);
    for (Index j = 0; j < 4; ++j) augmented.push_back(std::isnan(d.X[i * 4 + j]) ? 1.0 : 0.0);
  }
  SUBCASE("mean imputation equals fitting on the imputed matrix") {
    LogisticRegression a(tight()), b(tight());
    a.fit(Dataset(d.view(), d.y, w));
    b.fit(Dataset(MatrixView<const double>::row_major(imputed.data(), d.n, 4), d.y, w));
    for (Index j = 0; j < 4; ++j) {
      CHECK(a.state().impute_values[j] == doctest::Approx(mean[j]).epsilon(1e-12));
      CHECK(a.coef()[j] == doctest::Approx(b.coef()[j]).epsilon(1e-8));
    }
    CHECK(a.intercept() == doctest::Approx(b.intercept()).epsilon(1e-8));
    // A NaN row scores as its imputed twin.
    std::vector<double> row = {NAN, 1.0, NAN, -2.0}, twin = {mean[0], 1.0, mean[2], -2.0};
    CHECK(a.predict_proba_row(row.data()) == a.predict_proba_row(twin.data()));
  }
  SUBCASE("indicators equal fitting on the matrix augmented with 0/1 missing flags") {
    auto p = tight();
    p.missing = MissingStrategy::kMeanWithIndicator;
    LogisticRegression a(p), b(tight());
    a.fit(Dataset(d.view(), d.y, w));
    b.fit(Dataset(MatrixView<const double>::row_major(augmented.data(), d.n, 8), d.y, w));
    REQUIRE(a.coef().size() == 8);
    CHECK(a.state().indicator_features == std::vector<Index>{0, 1, 2, 3});
    for (Index j = 0; j < 8; ++j) CHECK(a.coef()[j] == doctest::Approx(b.coef()[j]).epsilon(1e-8));
    Eigen::VectorXd pa = a.predict_proba(d.view());
    Eigen::VectorXd pb =
        b.predict_proba(MatrixView<const double>::row_major(augmented.data(), d.n, 8));
    CHECK((pa - pb).cwiseAbs().maxCoeff() < 1e-10);
    auto t = a.coefficient_table(0.9, {"a", "b", "c", "d"});
    CHECK(t.rows.back().term == "missing(d)");
  }
  SUBCASE("a column without NaN gets no indicator; NaN there at predict time is imputed") {
    std::vector<double> X2 = imputed;
    for (Index i = 0; i < d.n; ++i)
      X2[i * 4 + 1] = std::isnan(d.X[i * 4 + 1]) ? NAN : d.X[i * 4 + 1];
    auto p = tight();
    p.missing = MissingStrategy::kMeanWithIndicator;
    LogisticRegression a(p);
    a.fit(Dataset(MatrixView<const double>::row_major(X2.data(), d.n, 4), d.y));
    CHECK(a.state().indicator_features == std::vector<Index>{1});
    std::vector<double> row = {NAN, 0.5, 0.0, 0.0};
    const auto& s = a.state();
    const double expect = s.intercept + s.coef[0] * s.impute_values[0] + s.coef[1] * 0.5;
    CHECK(a.decision_function_row(row.data()) == doctest::Approx(expect).epsilon(1e-14));
  }
}

TEST_CASE("logistic: state round trip predicts bit-identically; bad states are named") {
  auto d = make_logistic_data(2000, 5, 17, 0.05);
  auto p = tight(2.0);
  p.missing = MissingStrategy::kMeanWithIndicator;
  LogisticRegression m(p);
  m.fit(Dataset(d.view(), d.y));
  LogisticRegression r = LogisticRegression::from_state(m.state(), p);
  Eigen::VectorXd a = m.predict_proba(d.view()), b = r.predict_proba(d.view());
  CHECK((a - b).cwiseAbs().maxCoeff() == 0.0);
  CHECK(m.decision_function(d.view()) == r.decision_function(d.view()));
  CHECK(m.coefficient_table().rows[2].std_error == r.coefficient_table().rows[2].std_error);
  // Column-major / strided views predict the same bits as row-major ones.
  std::vector<double> cm(d.X.size());
  for (Index i = 0; i < d.n; ++i)
    for (Index j = 0; j < d.p; ++j) cm[j * d.n + i] = d.X[i * d.p + j];
  CHECK(r.predict_proba(MatrixView<const double>::col_major(cm.data(), d.n, d.p)) == a);
  Eigen::VectorXd out(d.n);
  r.predict_proba(d.view(), VectorView<double>(out));
  CHECK(out == a);
  CHECK(r.predict_proba_row(d.X.data() + 5 * 7) == a[7]);

  auto s0 = m.state();
  auto expect_bad = [&](LogisticRegressionState s, const char* fragment) {
    CHECK_THROWS_WITH_AS(LogisticRegression::from_state(std::move(s)), doctest::Contains(fragment),
                         InvalidInput);
  };
  {
    auto s = s0;
    s.n_features = 0;
    expect_bad(s, "n_features must be >= 1");
  }
  {
    auto s = s0;
    s.coef.pop_back();
    expect_bad(s, "coef has");
  }
  {
    auto s = s0;
    s.coef[1] = NAN;
    expect_bad(s, "coef[1] is not finite");
  }
  {
    auto s = s0;
    s.intercept = INFINITY;
    expect_bad(s, "intercept is not finite");
  }
  {
    auto s = s0;
    s.impute_values.resize(2);
    expect_bad(s, "impute_values has 2 values");
  }
  {
    auto s = s0;
    s.impute_values[0] = NAN;
    expect_bad(s, "impute_values[0]");
  }
  {
    auto s = s0;
    s.indicator_features[0] = 9;
    expect_bad(s, "indicator_features[0] is 9");
  }
  {
    auto s = s0;
    std::swap(s.indicator_features[0], s.indicator_features[1]);
    expect_bad(s, "strictly increasing");
  }
  {
    auto s = s0;
    s.feature_scale[0] = -1;
    expect_bad(s, "feature_scale[0]");
  }
  {
    auto s = s0;
    s.coef_std_error.resize(1);
    expect_bad(s, "coef_std_error");
  }
  {
    auto s = s0;
    s.has_intercept = false;
    expect_bad(s, "must be 0 when has_intercept");
  }
  {
    auto s = s0;
    s.coef_std_error.clear();
    auto r2 = LogisticRegression::from_state(s);
    CHECK(r2.predict_proba(d.view()) == a);
    CHECK_THROWS_WITH_AS(r2.coefficient_table(), doctest::Contains("no standard errors"),
                         InvalidInput);
  }
}

TEST_CASE("logistic: max_iter reached is reported, not thrown") {
  auto d = make_logistic_data(500, 3, 2);
  auto p = tight(1.0);
  p.max_iter = 1;
  p.tol = 1e-14;
  LogisticRegression m(p);
  m.fit(Dataset(d.view(), d.y));
  CHECK(m.fit_info().n_iter == 1);
  CHECK_FALSE(m.fit_info().converged);
}

TEST_CASE("logistic: every bad parameter and input is rejected with a named error") {
  std::vector<double> x = {0, 1, 2, 3, 4, 5};  // 3x2
  auto X = MatrixView<const double>::row_major(x.data(), 3, 2);
  std::vector<double> y = {0, 1, 1};
  auto fit_with = [&](LogisticRegressionParams p) { LogisticRegression(p).fit(Dataset(X, y)); };
  SUBCASE("params") {
    LogisticRegressionParams p;
    p.C = 0;
    CHECK_THROWS_WITH_AS(fit_with(p), doctest::Contains("LogisticRegressionParams.C must be > 0"),
                         InvalidParams);
    p.C = NAN;
    CHECK_THROWS_AS(fit_with(p), InvalidParams);
    p = {};
    p.max_iter = 0;
    CHECK_THROWS_WITH_AS(fit_with(p), doctest::Contains("max_iter must be >= 1, got 0"),
                         InvalidParams);
    p = {};
    p.tol = -1;
    CHECK_THROWS_WITH_AS(fit_with(p), doctest::Contains("tol must be finite and >= 0"),
                         InvalidParams);
    p = {};
    p.n_threads = -2;
    CHECK_THROWS_WITH_AS(fit_with(p), doctest::Contains("n_threads must be >= 0"), InvalidParams);
    p = {};
    p.class_weight = ClassWeight::explicit_weights(-1, 1);
    CHECK_THROWS_WITH_AS(fit_with(p), doctest::Contains("class weights must be finite and > 0"),
                         InvalidParams);
    p = {};
    p.missing = static_cast<MissingStrategy>(7);
    CHECK_THROWS_WITH_AS(fit_with(p), doctest::Contains("missing is not a MissingStrategy"),
                         InvalidParams);
  }
  SUBCASE("data") {
    LogisticRegression m;
    std::vector<double> y2 = {0, 1};
    CHECK_THROWS_WITH_AS(m.fit(Dataset(X, y2)),
                         doctest::Contains("LogisticRegression::fit: X has 3 rows but y has 2"),
                         InvalidInput);
    std::vector<double> y3 = {0, 0.5, 1};
    CHECK_THROWS_WITH_AS(m.fit(Dataset(X, y3)), doctest::Contains("y[1] is 0.5"), InvalidInput);
    std::vector<double> y1 = {0, 0, 0};
    CHECK_THROWS_WITH_AS(m.fit(Dataset(X, y1)), doctest::Contains("only class 0"), InvalidInput);
    std::vector<double> wn = {1, -1, 1}, wnan = {1, NAN, 1}, wz = {0, 0, 0};
    CHECK_THROWS_WITH_AS(m.fit(Dataset(X, y, wn)), doctest::Contains("sample_weight[1] is -1"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(m.fit(Dataset(X, y, wnan)), doctest::Contains("finite"), InvalidInput);
    CHECK_THROWS_WITH_AS(m.fit(Dataset(X, y, wz)), doctest::Contains("all sample weights are zero"),
                         InvalidInput);
    std::vector<double> xi = x;
    xi[5] = INFINITY;
    CHECK_THROWS_WITH_AS(m.fit(Dataset(MatrixView<const double>::row_major(xi.data(), 3, 2), y)),
                         doctest::Contains("X[2, 1] is +inf"), InvalidInput);
    CHECK_THROWS_WITH_AS(m.fit(Dataset(MatrixView<const double>::row_major(x.data(), 0, 2),
                                       VectorView<const double>())),
                         doctest::Contains("0 rows"), InvalidInput);
    CHECK_THROWS_WITH_AS(m.fit(Dataset(MatrixView<const double>::row_major(x.data(), 3, 0), y)),
                         doctest::Contains("0 columns"), InvalidInput);
    CHECK_FALSE(m.is_fitted());
  }
  SUBCASE("predict") {
    LogisticRegression m;
    CHECK_THROWS_WITH_AS(m.predict_proba(X), doctest::Contains("not fitted"), NotFitted);
    CHECK_THROWS_AS(m.coef(), NotFitted);
    CHECK_THROWS_AS(m.fit_info(), NotFitted);
    m.fit(Dataset(X, y));
    auto X3 = MatrixView<const double>::row_major(x.data(), 2, 3);
    CHECK_THROWS_WITH_AS(m.predict_proba(X3), doctest::Contains("fitted with 2"), InvalidInput);
    std::vector<double> xi = x;
    xi[0] = -INFINITY;
    CHECK_THROWS_WITH_AS(m.predict_proba(MatrixView<const double>::row_major(xi.data(), 3, 2)),
                         doctest::Contains("X[0, 0] is -inf"), InvalidInput);
    Eigen::VectorXd out(2);
    CHECK_THROWS_WITH_AS(m.predict_proba(X, VectorView<double>(out)),
                         doctest::Contains("out has 2 values"), InvalidInput);
    CHECK(m.predict_proba(MatrixView<const double>::row_major(x.data(), 0, 2)).size() == 0);
    CHECK_THROWS_WITH_AS(m.coefficient_table(1.0),
                         doctest::Contains("confidence must be in (0, 1)"), InvalidInput);
    CHECK_THROWS_WITH_AS(m.coefficient_table(0.9, {"a"}), doctest::Contains("got 1 names"),
                         InvalidInput);
  }
}

TEST_CASE("logistic: predict names the first infinite row for any thread count") {
  auto d = make_logistic_data(400000, 3, 23);  // > 1M elements: predict uses threads
  LogisticRegression m(tight());
  m.fit(Dataset(d.view().middle_rows(0, 10000), VectorView<const double>(d.y.data(), 10000)));
  std::vector<double> X = d.X;
  X[390000 * 3 + 1] = INFINITY;
  X[250000 * 3 + 2] = -INFINITY;
  for (int nt : {1, 2, 4}) {
    auto p = tight();
    p.n_threads = nt;
    auto r = LogisticRegression::from_state(m.state(), p);
    CHECK_THROWS_WITH_AS(r.predict_proba(MatrixView<const double>::row_major(X.data(), 400000, 3)),
                         doctest::Contains("X[250000, 2] is -inf"), InvalidInput);
  }
}

TEST_CASE("logistic: a margin that overflows is an error naming the row and feature, never NaN") {
  // Issue 11, section 4: finite inputs so large that the linear predictor overflows used to give
  // an empty risk (NaN) and "not flagged". Now predict throws, naming the row and the feature.
  auto d = make_logistic_data(2000, 3, 23);
  LogisticRegression m(tight());
  m.fit(Dataset(d.view(), d.y));
  REQUIRE(std::abs(m.coef()[0]) > 1.0);  // the generating coefficient is 2
  // Rows 1 and 2 hold the largest finite double in feature 0: its term coef * x overflows.
  const double huge = std::numeric_limits<double>::max();
  std::vector<double> X = {0.1,  0.2, 0.3,  //
                           huge, 0.5, 0.0,  //
                           huge, 0.1, 0.3};
  const auto Xv = MatrixView<const double>::row_major(X.data(), 3, 3);
  CHECK_THROWS_WITH_AS(m.predict_proba(Xv), doctest::Contains("X[1, 0] = "), InvalidInput);
  CHECK_THROWS_WITH_AS(m.decision_function(Xv), doctest::Contains("overflow"), InvalidInput);
  // Large inputs whose margin stays finite are fine: probability 0 or 1, never NaN.
  std::vector<double> big = {1e300, 0.0, 0.0};
  const Eigen::VectorXd pr = m.predict_proba(MatrixView<const double>::row_major(big.data(), 1, 3));
  CHECK((pr[0] == 0.0 || pr[0] == 1.0));
}

TEST_CASE("logistic: wide data use L-BFGS and reach the Newton optimum; SEs noted as skipped") {
  // Issue 11, section 6: 300 x 10,000 did not finish (exact d x d Hessian). Above
  // newton_max_columns the solver is L-BFGS; the oracle here is the Newton solution of the same
  // objective on the same data (forced to L-BFGS by lowering newton_max_columns).
  auto d = make_logistic_data(300, 40, 31);
  for (double C : {0.1, 10.0}) {
    CAPTURE(C);
    auto pn = tight(C);
    LogisticRegression newton(pn);
    newton.fit(Dataset(d.view(), d.y));
    REQUIRE(newton.fit_info().converged);
    auto pl = tight(C);
    pl.tol = 1e-8;  // L-BFGS's line search reaches the precision of f near 1e-9 on this data
    pl.newton_max_columns = 10;
    LogisticRegression lbfgs(pl);
    lbfgs.fit(Dataset(d.view(), d.y));
    CHECK(lbfgs.fit_info().converged);
    CHECK(lbfgs.gradient_max() <= 1e-8);
    CHECK(independent_grad_max(lbfgs, d.view(), d.y, {}, C) < 1e-8);
    // max |gradient| <= 1e-8 (Newton: 1e-10) bounds the distance to the optimum.
    CHECK(std::abs(lbfgs.intercept() - newton.intercept()) < 1e-5);
    for (std::size_t j = 0; j < newton.coef().size(); ++j) {
      CHECK(std::abs(lbfgs.coef()[j] - newton.coef()[j]) < 1e-5);
    }
    const Eigen::VectorXd p_newton = newton.predict_proba(d.view());
    const Eigen::VectorXd p_lbfgs = lbfgs.predict_proba(d.view());
    CHECK((p_newton - p_lbfgs).cwiseAbs().maxCoeff() < 1e-6);
    CHECK(std::isnan(lbfgs.state().coef_std_error[0]));
    bool noted = false;
    for (const auto& note : lbfgs.fit_info().notes)
      noted |= note.find("standard errors are not computed") != std::string::npos;
    CHECK(noted);
  }
  LogisticRegressionParams bad;
  bad.newton_max_columns = 0;
  CHECK_THROWS_WITH_AS(LogisticRegression(bad).fit(Dataset(d.view(), d.y)),
                       doctest::Contains("newton_max_columns"), InvalidParams);
}
