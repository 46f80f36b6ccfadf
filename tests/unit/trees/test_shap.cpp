// SPDX-License-Identifier: Apache-2.0
// Tests of the explanations: importances on a hand-built tree, TreeSHAP against hand-computed
// values, a brute-force Shapley computation over all subsets, and additivity on large ensembles.
#include <doctest/doctest.h>
#include <calibrisk/trees/explain.hpp>
#include <calibrisk/trees/predict.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/random_trees.hpp"

using namespace calibrisk;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// v(S) for one tree: features in S follow the row, the others average their children by cover
// share (the path-dependent conditional expectation TreeSHAP explains).
double conditional_expectation(const Tree& t, std::int32_t node, const double* row,
                               unsigned subset) {
  const auto u = static_cast<std::size_t>(node);
  if (t.left[u] < 0) return t.value[u];
  const auto l = static_cast<std::size_t>(t.left[u]), r = static_cast<std::size_t>(t.right[u]);
  if (subset & (1u << t.feature[u])) {
    const double x = row[t.feature[u]];
    const bool go_left = std::isnan(x) ? t.missing_left[u] == 1 : x <= t.threshold[u];
    return conditional_expectation(t, go_left ? t.left[u] : t.right[u], row, subset);
  }
  const double s = t.cover[l] + t.cover[r];
  const double fl = s > 0 ? t.cover[l] / s : 0.5;
  const double fr = s > 0 ? t.cover[r] / s : 0.5;
  return fl * conditional_expectation(t, t.left[u], row, subset) +
         fr * conditional_expectation(t, t.right[u], row, subset);
}

double value_of(const TreeEnsemble& e, const double* row, unsigned subset) {
  double v = e.base_score;
  for (const Tree& t : e.trees) v += conditional_expectation(t, 0, row, subset);
  return v;
}

// Shapley values by enumerating all 2^M subsets.
std::vector<double> brute_force_shapley(const TreeEnsemble& e, const double* row) {
  const int m = static_cast<int>(e.n_features);
  std::vector<double> fact(static_cast<std::size_t>(m + 1), 1.0);
  for (int k = 1; k <= m; ++k)
    fact[static_cast<std::size_t>(k)] = fact[static_cast<std::size_t>(k - 1)] * k;
  std::vector<double> phi(static_cast<std::size_t>(m), 0.0);
  for (int i = 0; i < m; ++i) {
    for (unsigned s = 0; s < (1u << m); ++s) {
      if (s & (1u << i)) continue;
      const int size = __builtin_popcount(s);
      const double w = fact[static_cast<std::size_t>(size)] *
                       fact[static_cast<std::size_t>(m - size - 1)] /
                       fact[static_cast<std::size_t>(m)];
      phi[static_cast<std::size_t>(i)] +=
          w * (value_of(e, row, s | (1u << i)) - value_of(e, row, s));
    }
  }
  return phi;
}

}  // namespace

TEST_CASE("importance: split counts and total gain per feature on a hand-built tree") {
  Tree t;
  for (int i = 0; i < 5; ++i) t.add_node();
  t.left[0] = 1;
  t.right[0] = 2;
  t.feature[0] = 2;
  t.threshold[0] = 0.0;
  t.gain[0] = 5.0;
  t.left[1] = 3;
  t.right[1] = 4;
  t.feature[1] = 0;
  t.threshold[1] = 1.0;
  t.gain[1] = 1.5;
  t.cover = {4, 3, 1, 2, 1};
  TreeEnsemble e;
  e.n_features = 4;
  e.trees = {t, t};
  e.trees[1].feature[1] = 2;
  const auto split = feature_importance(e, ImportanceType::kSplit);
  const auto gain = feature_importance(e, ImportanceType::kGain);
  CHECK(split == std::vector<double>{1, 0, 3, 0});
  CHECK(gain == std::vector<double>{1.5, 0, 11.5, 0});
}

TEST_CASE("shap: a stump has the hand-computed contribution and bias") {
  // x0 <= 0.5 ? -1 (cover 1) : +1 (cover 3). E[f] = (-1 + 3) / 4 = 0.5.
  Tree t;
  for (int i = 0; i < 3; ++i) t.add_node();
  t.left[0] = 1;
  t.right[0] = 2;
  t.feature[0] = 0;
  t.threshold[0] = 0.5;
  t.missing_left[0] = 1;
  t.value = {0.5, -1.0, 1.0};
  t.cover = {4, 1, 3};
  TreeEnsemble e;
  e.n_features = 2;
  e.base_score = 0.25;
  e.trees = {t};
  const TreeExplainer ex(e);
  CHECK(ex.bias() == doctest::Approx(0.75).epsilon(1e-15));
  double phi[3];
  const double left_row[2] = {0.0, 9.0};
  ex.contributions_row(left_row, phi);
  CHECK(phi[0] == doctest::Approx(-1.5).epsilon(1e-15));  // -1 - 0.5
  CHECK(phi[1] == 0.0);                                   // unused feature: exactly zero
  CHECK(phi[2] == doctest::Approx(0.75).epsilon(1e-15));
  const double nan_row[2] = {kNaN, 0.0};  // NaN goes left here
  ex.contributions_row(nan_row, phi);
  CHECK(phi[0] == doctest::Approx(-1.5).epsilon(1e-15));
  const double right_row[2] = {3.0, 0.0};
  ex.contributions_row(right_row, phi);
  CHECK(phi[0] == doctest::Approx(0.5).epsilon(1e-15));  // 1 - 0.5
}

TEST_CASE("shap: matches brute-force Shapley values on small trees with repeated features") {
  for (const int n_features : {2, 3, 5, 7}) {
    for (const int n_leaves : {2, 6, 15}) {
      CAPTURE(n_features);
      CAPTURE(n_leaves);
      testing::RandomTreeOptions o;
      o.n_features = n_features;
      o.n_leaves = n_leaves;
      o.shuffle_ids = true;
      const TreeEnsemble e =
          testing::random_ensemble(static_cast<std::uint64_t>(100 * n_features + n_leaves), 3, o);
      const TreeExplainer ex(e);
      const auto X = testing::random_rows<double>(77, 20, n_features, 0.15);
      std::vector<double> phi(static_cast<std::size_t>(n_features + 1));
      for (Index i = 0; i < 20; ++i) {
        const double* row = &X[static_cast<std::size_t>(i * n_features)];
        ex.contributions_row(row, phi.data());
        const auto bf = brute_force_shapley(e, row);
        for (int j = 0; j < n_features; ++j) {
          CHECK(phi[static_cast<std::size_t>(j)] ==
                doctest::Approx(bf[static_cast<std::size_t>(j)]).epsilon(1e-9).scale(1.0));
        }
        CHECK(phi[static_cast<std::size_t>(n_features)] ==
              doctest::Approx(value_of(e, row, 0)).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("shap: contributions plus bias equal the margin for every row (additivity)") {
  testing::RandomTreeOptions o;
  o.n_features = 20;
  o.n_leaves = 31;
  const TreeEnsemble e = testing::random_ensemble(5, 60, o);
  const TreePredictor pred(e);
  const TreeExplainer ex(e);
  const Index n = 500;
  const auto X = testing::random_rows<double>(6, n, o.n_features, 0.1);
  const auto v = MatrixView<const double>::row_major(X.data(), n, o.n_features);
  std::vector<double> margin(static_cast<std::size_t>(n));
  pred.predict_margin(v, margin, 2);
  std::vector<double> c1(static_cast<std::size_t>(n * (o.n_features + 1)));
  ex.contributions(v, MatrixView<double>::row_major(c1.data(), n, o.n_features + 1), 1);
  for (Index i = 0; i < n; ++i) {
    double s = 0.0;
    for (Index j = 0; j <= o.n_features; ++j)
      s += c1[static_cast<std::size_t>(i * (o.n_features + 1) + j)];
    REQUIRE(s == doctest::Approx(margin[static_cast<std::size_t>(i)]).epsilon(1e-10).scale(1.0));
  }
  SUBCASE("bit-identical for any thread count, layout and float input") {
    for (const int threads : {2, 4}) {
      std::vector<double> c2(c1.size());
      ex.contributions(v, MatrixView<double>::row_major(c2.data(), n, o.n_features + 1), threads);
      CHECK(c2 == c1);
    }
    // Column-major output, Fortran-ordered input.
    std::vector<double> F(X.size());
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < o.n_features; ++j)
        F[static_cast<std::size_t>(j * n + i)] = X[static_cast<std::size_t>(i * o.n_features + j)];
    std::vector<double> c3(c1.size());
    ex.contributions(MatrixView<const double>::col_major(F.data(), n, o.n_features),
                     MatrixView<double>::col_major(c3.data(), n, o.n_features + 1), 2);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j <= o.n_features; ++j)
        REQUIRE(c3[static_cast<std::size_t>(j * n + i)] ==
                c1[static_cast<std::size_t>(i * (o.n_features + 1) + j)]);
    // float rows holding float values explain like the widened double rows.
    std::vector<float> Xf(X.size());
    std::vector<double> Xw(X.size());
    for (std::size_t k = 0; k < X.size(); ++k) {
      Xf[k] = static_cast<float>(X[k]);
      Xw[k] = static_cast<double>(Xf[k]);
    }
    std::vector<double> cf(c1.size()), cw(c1.size());
    ex.contributions(MatrixView<const float>::row_major(Xf.data(), n, o.n_features),
                     MatrixView<double>::row_major(cf.data(), n, o.n_features + 1), 2);
    ex.contributions(MatrixView<const double>::row_major(Xw.data(), n, o.n_features),
                     MatrixView<double>::row_major(cw.data(), n, o.n_features + 1), 2);
    CHECK(cf == cw);
  }
}

TEST_CASE("shap: zero-cover children and shape errors") {
  // A child with zero cover never receives "zero" paths; additivity still holds.
  Tree t;
  for (int i = 0; i < 5; ++i) t.add_node();
  t.left[0] = 1;
  t.right[0] = 2;
  t.feature[0] = 0;
  t.threshold[0] = 0.0;
  t.left[1] = 3;
  t.right[1] = 4;
  t.feature[1] = 1;
  t.threshold[1] = 0.0;
  t.value = {0, 0, 2.0, -1.0, 3.0};
  t.cover = {4, 4, 0, 4, 0};
  TreeEnsemble e;
  e.n_features = 2;
  e.trees = {t};
  const TreeExplainer ex(e);
  const TreePredictor pred(e);
  for (const double x0 : {-1.0, 1.0}) {
    for (const double x1 : {-1.0, 1.0}) {
      const double row[2] = {x0, x1};
      double phi[3];
      ex.contributions_row(row, phi);
      CHECK(std::isfinite(phi[0]));
      CHECK(phi[0] + phi[1] + phi[2] == doctest::Approx(pred.predict_margin_row(row)));
    }
  }
  std::vector<double> X(6, 0.0), out(9);
  CHECK_THROWS_WITH_AS(ex.contributions(MatrixView<const double>::row_major(X.data(), 2, 3),
                                        MatrixView<double>::row_major(out.data(), 3, 3)),
                       doctest::Contains("X has 3 features but the model was fitted with 2"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(ex.contributions(MatrixView<const double>::row_major(X.data(), 3, 2),
                                        MatrixView<double>::row_major(out.data(), 3, 2)),
                       doctest::Contains("n_features + 1 columns"), InvalidInput);
}
