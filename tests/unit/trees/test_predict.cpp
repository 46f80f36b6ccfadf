// SPDX-License-Identifier: Apache-2.0
// Tests of TreePredictor: known outputs of hand-built trees, NaN routing, float vs double rows,
// every memory layout and thread count against a literal reference traversal, bit for bit.
#include <doctest/doctest.h>
#include <calibrisk/trees/predict.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "support/random_trees.hpp"

using namespace calibrisk;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Node 0: x1 <= 0.25 (NaN right) -> node 1 else node 2
// Node 1: x0 <= -1 (NaN left)    -> leaf 0.5 / leaf -0.25
// Node 2: leaf 2.0
Tree depth_two() {
  Tree t;
  for (int i = 0; i < 5; ++i) t.add_node();
  t.left[0] = 1;
  t.right[0] = 2;
  t.feature[0] = 1;
  t.threshold[0] = 0.25;
  t.missing_left[0] = 0;
  t.left[1] = 3;
  t.right[1] = 4;
  t.feature[1] = 0;
  t.threshold[1] = -1.0;
  t.missing_left[1] = 1;
  t.value[2] = 2.0;
  t.value[3] = 0.5;
  t.value[4] = -0.25;
  t.cover = {4, 3, 1, 2, 1};
  return t;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("predict: hand-built tree gives the known leaf for each route, NaN included") {
  TreeEnsemble e;
  e.n_features = 2;
  e.base_score = 0.125;
  e.trees = {depth_two()};
  const TreePredictor p(e);
  struct Case {
    double x0, x1, expected;
  };
  const Case cases[] = {
      {-2.0, 0.0, 0.125 + 0.5},   // left, left
      {-1.0, 0.25, 0.125 + 0.5},  // equal to both thresholds: left, left
      {0.0, -5.0, 0.125 - 0.25},  // left, right
      {kNaN, 0.0, 0.125 + 0.5},   // NaN at node 1 goes left
      {-3.0, 0.3, 0.125 + 2.0},   // right
      {-3.0, kNaN, 0.125 + 2.0},  // NaN at node 0 goes right
  };
  for (const Case& c : cases) {
    const double row[2] = {c.x0, c.x1};
    const float rowf[2] = {static_cast<float>(c.x0), static_cast<float>(c.x1)};
    CHECK(p.predict_margin_row(row) == c.expected);
    CHECK(p.predict_margin_row(rowf) == c.expected);
    CHECK(p.predict_proba_row(row) == doctest::Approx(1.0 / (1.0 + std::exp(-c.expected))));
  }
  // Batch over the same rows, C order.
  std::vector<double> X;
  for (const Case& c : cases) X.insert(X.end(), {c.x0, c.x1});
  std::vector<double> out(6);
  p.predict_margin(MatrixView<const double>::row_major(X.data(), 6, 2), out, 1);
  for (std::size_t i = 0; i < 6; ++i) CHECK(out[i] == cases[i].expected);
}

TEST_CASE("predict: thresholds that are not floats route float rows exactly") {
  // threshold 0.1 (double) is not a float; the float nearest 0.1 is above it, so a float row
  // holding 0.1f must go right, and the largest float below 0.1 must go left.
  Tree t;
  for (int i = 0; i < 3; ++i) t.add_node();
  t.left[0] = 1;
  t.right[0] = 2;
  t.feature[0] = 0;
  t.threshold[0] = 0.1;
  t.value[1] = -1.0;
  t.value[2] = 1.0;
  t.cover = {2, 1, 1};
  TreeEnsemble e;
  e.n_features = 1;
  e.trees = {t};
  const TreePredictor p(e);
  CHECK_FALSE(p.thresholds_are_float());
  const float above = 0.1f;
  REQUIRE(static_cast<double>(above) > 0.1);
  const float below = std::nextafter(above, 0.0f);
  CHECK(p.predict_margin_row(&above) == 1.0);
  CHECK(p.predict_margin_row(&below) == -1.0);
  const double d_eq = 0.1, d_up = std::nextafter(0.1, 1.0);
  CHECK(p.predict_margin_row(&d_eq) == -1.0);
  CHECK(p.predict_margin_row(&d_up) == 1.0);
  const double wide_above = static_cast<double>(above);
  CHECK(p.predict_margin_row(&wide_above) == 1.0);
}

TEST_CASE("predict: ensembles without trees and single-leaf trees") {
  TreeEnsemble e;
  e.n_features = 3;
  e.base_score = -0.5;
  {
    const TreePredictor p(e);
    const double row[3] = {1, 2, 3};
    CHECK(p.predict_margin_row(row) == -0.5);
    std::vector<double> out(2);
    std::vector<float> X(6, 0.0f);
    p.predict_margin(MatrixView<const float>::row_major(X.data(), 2, 3), out);
    CHECK(out[0] == -0.5);
    CHECK(out[1] == -0.5);
  }
  Tree leaf;
  leaf.add_node();
  leaf.value[0] = 0.75;
  e.trees = {leaf, leaf, leaf, leaf, leaf};
  const TreePredictor p(e);
  const double row[3] = {kNaN, kNaN, kNaN};
  CHECK(p.predict_margin_row(row) == -0.5 + 0.75 * 5);
}

TEST_CASE("predict: matches the reference traversal bit for bit in every layout and thread count") {
  for (const bool float_thr : {true, false}) {
    for (const bool shuffled : {false, true}) {
      CAPTURE(float_thr);
      CAPTURE(shuffled);
      testing::RandomTreeOptions o;
      o.n_features = 7;
      o.float_thresholds = float_thr;
      o.shuffle_ids = shuffled;
      TreeEnsemble e = testing::random_ensemble(11, 23, o);  // 23 trees: a partial group of 4
      const TreePredictor p(e);
      CHECK(p.thresholds_are_float() == float_thr);
      const Index n = 1000 + 37;  // several tasks and a partial block and lane group
      std::vector<double> X = testing::random_rows<double>(5, n, o.n_features, 0.1);
      // Put some values exactly on thresholds (boundary rows must go left).
      for (Index i = 0; i < n; i += 3) {
        const Tree& t = e.trees[static_cast<std::size_t>(i) % e.trees.size()];
        const std::size_t node = static_cast<std::size_t>(i) % t.left.size();
        if (t.left[node] >= 0)
          X[static_cast<std::size_t>(i * o.n_features + t.feature[node])] = t.threshold[node];
      }
      std::vector<double> ref(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i)
        ref[static_cast<std::size_t>(i)] =
            testing::reference_margin(e, &X[static_cast<std::size_t>(i * o.n_features)]);

      // Single rows.
      for (Index i = 0; i < n; ++i) {
        REQUIRE(same_bits(p.predict_margin_row(&X[static_cast<std::size_t>(i * o.n_features)]),
                          ref[static_cast<std::size_t>(i)]));
      }
      // C order, Fortran order, strided slice, 1/2/4 threads, strided output.
      std::vector<double> F(X.size());
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < o.n_features; ++j)
          F[static_cast<std::size_t>(j * n + i)] =
              X[static_cast<std::size_t>(i * o.n_features + j)];
      std::vector<double> wide(static_cast<std::size_t>(n * o.n_features * 2));
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < o.n_features; ++j)
          wide[static_cast<std::size_t>(i * o.n_features * 2 + 2 * j)] =
              X[static_cast<std::size_t>(i * o.n_features + j)];
      const MatrixView<const double> views[] = {
          MatrixView<const double>::row_major(X.data(), n, o.n_features),
          MatrixView<const double>::col_major(F.data(), n, o.n_features),
          MatrixView<const double>(wide.data(), n, o.n_features, 2 * o.n_features, 2)};
      for (const auto& v : views) {
        for (const int threads : {1, 2, 4}) {
          std::vector<double> out(static_cast<std::size_t>(2 * n), -7.0);
          p.predict_margin(v, VectorView<double>(out.data(), n, 2), threads);
          for (Index i = 0; i < n; ++i)
            REQUIRE(
                same_bits(out[static_cast<std::size_t>(2 * i)], ref[static_cast<std::size_t>(i)]));
          p.predict_proba(v, VectorView<double>(out.data(), n, 2), threads);
          for (Index i = 0; i < n; ++i)
            REQUIRE(same_bits(out[static_cast<std::size_t>(2 * i)],
                              sigmoid(ref[static_cast<std::size_t>(i)])));
        }
      }

      // Float rows route as their values widened to double (reference on the widened values).
      std::vector<float> Xf(X.size());
      for (std::size_t k = 0; k < X.size(); ++k) Xf[k] = static_cast<float>(X[k]);
      std::vector<double> out(static_cast<std::size_t>(n));
      for (const int threads : {1, 2}) {
        p.predict_margin(MatrixView<const float>::row_major(Xf.data(), n, o.n_features), out,
                         threads);
        for (Index i = 0; i < n; ++i) {
          const double r =
              testing::reference_margin(e, &Xf[static_cast<std::size_t>(i * o.n_features)]);
          REQUIRE(same_bits(out[static_cast<std::size_t>(i)], r));
          REQUIRE(
              same_bits(p.predict_margin_row(&Xf[static_cast<std::size_t>(i * o.n_features)]), r));
        }
      }
      // Fortran-ordered float.
      std::vector<float> Ff(F.size());
      for (std::size_t k = 0; k < F.size(); ++k) Ff[k] = static_cast<float>(F[k]);
      std::vector<double> out2(static_cast<std::size_t>(n));
      p.predict_margin(MatrixView<const float>::col_major(Ff.data(), n, o.n_features), out2, 2);
      CHECK(out2 == out);
    }
  }
}

TEST_CASE("predict: float and double rows holding the same float values score identically") {
  testing::RandomTreeOptions o;
  o.float_thresholds = false;
  const TreeEnsemble e = testing::random_ensemble(2, 50, o);
  const TreePredictor p(e);
  const std::vector<float> Xf = testing::random_rows<float>(9, 300, o.n_features, 0.05);
  std::vector<double> Xd(Xf.begin(), Xf.end());
  std::vector<double> a(300), b(300);
  p.predict_margin(MatrixView<const float>::row_major(Xf.data(), 300, o.n_features), a, 2);
  p.predict_margin(MatrixView<const double>::row_major(Xd.data(), 300, o.n_features), b, 2);
  CHECK(a == b);
}

TEST_CASE("predict: wrong shapes and invalid ensembles are rejected with clear messages") {
  testing::RandomTreeOptions o;
  o.n_features = 4;
  TreeEnsemble e = testing::random_ensemble(1, 3, o);
  const TreePredictor p(e);
  std::vector<double> X(12, 0.0), out(3);
  CHECK_THROWS_WITH_AS(p.predict_margin(MatrixView<const double>::row_major(X.data(), 4, 3), out),
                       doctest::Contains("X has 3 features but the model was fitted with 4"),
                       InvalidInput);
  std::vector<double> out4(4);
  CHECK_THROWS_WITH_AS(p.predict_margin(MatrixView<const double>::row_major(X.data(), 3, 4), out4),
                       doctest::Contains("out has 4 entries but X has 3 rows"), InvalidInput);
  CHECK_THROWS_AS(p.predict_margin(MatrixView<const double>::row_major(X.data(), 3, 4), out, -1),
                  InvalidParams);
  // Zero rows: nothing to do.
  std::vector<double> none;
  CHECK_NOTHROW(p.predict_margin(MatrixView<const double>::row_major(X.data(), 0, 4), none));
  e.trees[2].left[0] = 1000;
  CHECK_THROWS_WITH_AS(TreePredictor{e}, doctest::Contains("trees[2]: node 0 has a child index"),
                       InvalidInput);
}

TEST_CASE("predict: sigmoid is stable at extreme margins") {
  CHECK(sigmoid(0.0) == 0.5);
  CHECK(sigmoid(800.0) == 1.0);
  CHECK(sigmoid(-800.0) == 0.0);
  CHECK(sigmoid(-800.0) >= 0.0);
  CHECK(sigmoid(-30.0) == doctest::Approx(9.357622968839299e-14).epsilon(1e-12));
}

TEST_CASE("predict: large jobs (parallel path) equal the reference for 1, 2 and 4 threads") {
  // 12000 rows x 100 trees is above the serial cut-off, so 2 and 4 threads really run in parallel.
  testing::RandomTreeOptions o;
  o.n_features = 9;
  const TreeEnsemble e = testing::random_ensemble(21, 100, o);
  const TreePredictor p(e);
  const Index n = 12000;
  const std::vector<float> X = testing::random_rows<float>(22, n, o.n_features, 0.05);
  std::vector<double> ref(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i)
    ref[static_cast<std::size_t>(i)] =
        testing::reference_margin(e, &X[static_cast<std::size_t>(i * o.n_features)]);
  for (const int threads : {1, 2, 4}) {
    std::vector<double> out(static_cast<std::size_t>(n));
    p.predict_margin(MatrixView<const float>::row_major(X.data(), n, o.n_features), out, threads);
    CHECK(out == ref);
  }
}
