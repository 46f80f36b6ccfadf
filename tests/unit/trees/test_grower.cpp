// SPDX-License-Identifier: Apache-2.0
// Leaf-wise growth: a single split by hand, growth limits, minimum leaf sizes, leaf ranges that
// partition the rows, raw-threshold routing identical to binned routing, determinism.
#include <doctest/doctest.h>

#include "support/train_data.hpp"
#include "trees/grower.hpp"

#include <cmath>
#include <numeric>
#include <vector>

using namespace calibrisk;

namespace {

// Walks a tree on a raw row by the Tree routing rule.
std::int32_t raw_leaf(const Tree& t, const float* row) {
  std::int32_t node = 0;
  while (t.left[static_cast<std::size_t>(node)] >= 0) {
    const auto u = static_cast<std::size_t>(node);
    const double x = static_cast<double>(row[t.feature[u]]);
    const bool left = std::isnan(x) ? t.missing_left[u] != 0 : x <= t.threshold[u];
    node = left ? t.left[u] : t.right[u];
  }
  return node;
}

struct Problem {
  testing::TrainData d;
  BinMapper m;
  BinnedMatrix b;
  std::vector<GradPair> gh;
  std::vector<std::int32_t> features;
  GradScale scale = GradScale::for_max_weight(1.0);
  explicit Problem(Index n, Index f = 8, std::uint64_t seed = 3) {
    d = testing::make_dense(n, f, seed, 0.1);
    m = detail::fit_bin_mapper(FeatureMatrix(d.X()), {}, 255, 0, 0, 1);
    b = detail::bin_matrix(m, FeatureMatrix(d.X()), 1);
    const double p = 0.1;
    for (Index i = 0; i < n; ++i) {
      gh.push_back(scale.quantise(p - d.y[static_cast<std::size_t>(i)], p * (1 - p)));
    }
    for (Index j = 0; j < f; ++j) features.push_back(static_cast<std::int32_t>(j));
  }
  detail::GrownTree grow(const detail::GrowerParams& gp, std::vector<RowIndex>& rows) const {
    detail::GrowerParams q = gp;
    q.rules.g_unit = scale.g_unit;
    q.rules.h_unit = scale.h_unit;
    detail::TreeGrower g(b, m, q);
    return g.grow(rows, false, gh.data(), features);
  }
};

std::vector<RowIndex> all_rows(Index n) {
  std::vector<RowIndex> r(static_cast<std::size_t>(n));
  std::iota(r.begin(), r.end(), RowIndex{0});
  return r;
}

}  // namespace

TEST_CASE("grower: one split on a hand-made dataset, leaf values by hand") {
  // x0 in {0, 1}, y = x0; gradients at p = 0.5: g = 0.5 - y, h = 0.25.
  const Index n = 100;
  std::vector<double> x(static_cast<std::size_t>(n));
  std::vector<GradPair> gh(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const double y = static_cast<double>(i % 2);
    x[static_cast<std::size_t>(i)] = y;
    gh[static_cast<std::size_t>(i)] = GradPair{y == 0.0 ? 2 : -2, 1};  // units of 1/4
  }
  const FeatureMatrix X(MatrixView<const double>::col_major(x.data(), n, 1));
  const BinMapper m = detail::fit_bin_mapper(X, {}, 255, 0, 0, 1);
  const BinnedMatrix b = detail::bin_matrix(m, X, 1);
  detail::GrowerParams gp;
  gp.max_leaf_nodes = 4;
  gp.learning_rate = 0.5;
  gp.rules.l2 = 1.0;
  gp.rules.g_unit = gp.rules.h_unit = 0.25;
  detail::TreeGrower grower(b, m, gp);
  std::vector<RowIndex> rows = all_rows(n);
  const detail::GrownTree g = grower.grow(rows, true, gh.data(), {0});
  const Tree& t = g.tree;
  REQUIRE(t.n_nodes() == 3);  // after the perfect split no further gain exists
  CHECK(t.feature[0] == 0);
  CHECK(t.threshold[0] == 0.5);
  // Left: 50 rows with g = 0.5 -> G = 25, H = 12.5; value = -lr * G / (H + l2).
  CHECK(t.value[1] == doctest::Approx(-0.5 * 25.0 / 13.5).epsilon(1e-12));
  CHECK(t.value[2] == doctest::Approx(0.5 * 25.0 / 13.5).epsilon(1e-12));
  CHECK(t.gain[0] == doctest::Approx(625.0 / 13.5 * 2.0 - 0.0).epsilon(1e-9));
  CHECK(t.cover[0] == doctest::Approx(25.0));
  CHECK(t.cover[1] == doctest::Approx(12.5));
  CHECK(t.value[0] == doctest::Approx(0.0).scale(1.0));  // cover-weighted mean of the leaves
  t.validate(1);
}

TEST_CASE("grower: max_leaf_nodes, max_depth and min_samples_leaf are respected") {
  const Problem pb(5000);
  for (const int leaves : {2, 7, 31}) {
    for (const int depth : {-1, 1, 3}) {
      detail::GrowerParams gp;
      gp.max_leaf_nodes = leaves;
      gp.max_depth = depth;
      gp.rules.min_samples_leaf = 40;
      std::vector<RowIndex> rows = all_rows(pb.d.n);
      const detail::GrownTree g = pb.grow(gp, rows);
      CAPTURE(leaves);
      CAPTURE(depth);
      g.tree.validate(pb.d.f);
      CHECK(g.tree.n_leaves() <= leaves);
      if (depth > 0) CHECK(g.tree.max_depth() <= depth);
      if (depth < 0 && leaves == 31) CHECK(g.tree.n_leaves() == 31);
      for (Index node = 0; node < g.tree.n_nodes(); ++node) {
        if (!g.tree.is_leaf(node)) continue;
        CHECK(g.end[static_cast<std::size_t>(node)] - g.begin[static_cast<std::size_t>(node)] >=
              40);
      }
    }
  }
}

TEST_CASE("grower: leaf ranges partition the rows; raw thresholds route as the bins do") {
  const Problem pb(6000, 10, 8);
  detail::GrowerParams gp;
  gp.max_leaf_nodes = 31;
  gp.rules.min_samples_leaf = 5;
  std::vector<RowIndex> rows;
  for (Index i = 0; i < pb.d.n; ++i) {
    if (i % 3 != 0) rows.push_back(i);  // a subsample, as with subsample < 1
  }
  const std::vector<RowIndex> before = rows;
  const detail::GrownTree g = pb.grow(gp, rows);
  std::vector<RowIndex> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == before);  // a permutation of the input rows
  Index covered = 0;
  for (Index node = 0; node < g.tree.n_nodes(); ++node) {
    if (!g.tree.is_leaf(node)) continue;
    const auto u = static_cast<std::size_t>(node);
    covered += g.end[u] - g.begin[u];
    for (Index k = g.begin[u]; k < g.end[u]; ++k) {
      const Index i = rows[static_cast<std::size_t>(k)];
      if (detail::binned_leaf(g, pb.b, pb.m, i) != node) FAIL("binned routing differs, row " << i);
      if (raw_leaf(g.tree, pb.d.x.data() + i * pb.d.f) != node) {
        FAIL("raw-threshold routing differs, row " << i);
      }
    }
  }
  CHECK(covered == static_cast<Index>(rows.size()));
  // Rows outside the sample route identically too.
  for (Index i = 0; i < pb.d.n; i += 3) {
    CHECK(detail::binned_leaf(g, pb.b, pb.m, i) == raw_leaf(g.tree, pb.d.x.data() + i * pb.d.f));
  }
}

TEST_CASE("grower: NaN for a split without missing training rows follows the larger cover") {
  const Problem pb(4000, 6, 12);
  detail::GrowerParams gp;
  std::vector<RowIndex> rows = all_rows(pb.d.n);
  const detail::GrownTree g = pb.grow(gp, rows);
  int checked = 0;
  for (Index node = 0; node < g.tree.n_nodes(); ++node) {
    const auto u = static_cast<std::size_t>(node);
    if (g.tree.is_leaf(node) || pb.m.has_missing[static_cast<std::size_t>(g.tree.feature[u])]) {
      continue;
    }
    const double cl = g.tree.cover[static_cast<std::size_t>(g.tree.left[u])];
    const double cr = g.tree.cover[static_cast<std::size_t>(g.tree.right[u])];
    CHECK((g.tree.missing_left[u] != 0) == (cl >= cr));
    ++checked;
  }
  CHECK(checked > 0);
}

TEST_CASE("grower: the same tree for 1, 2 and 4 threads") {
  const Problem pb(70000, 12, 4);  // large enough for the parallel partition and gather paths
  detail::GrowerParams gp;
  gp.rules.l2 = 1.0;
  std::vector<RowIndex> r1 = all_rows(pb.d.n);
  gp.n_threads = 1;
  const detail::GrownTree a = pb.grow(gp, r1);
  for (const int t : {2, 4}) {
    gp.n_threads = t;
    std::vector<RowIndex> rt = all_rows(pb.d.n);
    const detail::GrownTree b = pb.grow(gp, rt);
    CHECK(a.tree.feature == b.tree.feature);
    CHECK(a.tree.threshold == b.tree.threshold);
    CHECK(a.tree.value == b.tree.value);
    CHECK(a.tree.gain == b.tree.gain);
    CHECK(a.tree.cover == b.tree.cover);
    CHECK(r1 == rt);
  }
}
