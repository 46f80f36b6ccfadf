// SPDX-License-Identifier: Apache-2.0
// Native categorical splits (issue 12): binning of codes, the sorted-partition and one-vs-rest
// split search, category bitsets in the trees, routing of unseen codes, TreeSHAP, determinism and
// the parameter checks. Oracles: hand-computed gradient sums, the equivalent one-hot numeric
// model, relabeling invariance, additivity of SHAP values.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/trees/explain.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

using namespace calibrisk;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Four levels of ten rows each; positives per level {8, 2, 7, 3} (20 of 40: base score 0, so every
// row has p = 1/2, g = p - y = -/+1/2, h = 1/4). Per level: G = {-3, +3, -2, +2}, H = 2.5.
// Sort statistic G / H (cat_smooth = 0): code 0 (-1.2) < code 2 (-0.8) < code 3 (0.8) < code 1
// (1.2). Prefix {0}: gain 9 / 2.5 + 9 / 7.5 = 4.8; prefix {0, 2}: 25 / 5 + 25 / 5 = 10 (the best);
// from the other end {1} = 4.8 and {1, 3} = 10 (the same partition, found second). Leaves:
// -G / H = -(-5) / 5 = +1 (codes 0, 2) and -1 (codes 1, 3), times learning_rate 0.5.
struct FourLevels {
  std::vector<double> X, y;
  FourLevels() {
    const int pos[4] = {8, 2, 7, 3};
    for (int c = 0; c < 4; ++c) {
      for (int k = 0; k < 10; ++k) {
        X.push_back(c);
        y.push_back(k < pos[c] ? 1.0 : 0.0);
      }
    }
  }
  Dataset data() const {
    return Dataset(MatrixView<const double>::row_major(X.data(), 40, 1),
                   VectorView<const double>(y.data(), 40));
  }
};

GBDTParams stump_params() {
  GBDTParams p;
  p.n_estimators = 1;
  p.learning_rate = 0.5;
  p.max_leaf_nodes = 2;
  p.min_samples_leaf = 1;
  p.min_child_weight = 0.0;
  p.categorical_features = {0};
  p.min_data_per_category = 1;
  p.cat_smooth = 0.0;
  p.cat_l2 = 0.0;
  p.max_cat_to_onehot = 0;
  p.n_threads = 1;
  return p;
}

double margin1(const GradientBoostedTrees& m, double x) {
  return m.decision_function(MatrixView<const double>::row_major(&x, 1, 1))[0];
}

// A table with one Zipf-like categorical column (n_levels codes, level c's log-odds effect from a
// seeded draw), two numeric columns and some missing codes.
struct CatData {
  std::vector<double> X, y;
  Index n = 0, p = 3;
  Dataset data() const {
    return Dataset(MatrixView<const double>::row_major(X.data(), n, p),
                   VectorView<const double>(y.data(), n));
  }
  MatrixView<const double> view() const {
    return MatrixView<const double>::row_major(X.data(), n, p);
  }
};

CatData make_cat_data(Index n, int n_levels, std::uint64_t seed, double missing_rate = 0.05) {
  CatData d;
  d.n = n;
  Rng rng(seed);
  std::vector<double> effect(static_cast<std::size_t>(n_levels)), cum;
  for (auto& e : effect) e = rng.normal();
  double s = 0.0;
  for (int c = 0; c < n_levels; ++c) cum.push_back(s += 1.0 / (c + 1.0));  // Zipf(1)
  for (Index i = 0; i < n; ++i) {
    const double u = rng.uniform() * s;
    const int c = static_cast<int>(std::lower_bound(cum.begin(), cum.end(), u) - cum.begin());
    const double a = rng.normal(), b = rng.normal();
    const bool miss = rng.uniform() < missing_rate;
    d.X.push_back(miss ? kNaN : static_cast<double>(std::min(c, n_levels - 1)));
    d.X.push_back(a);
    d.X.push_back(b);
    const double z =
        (miss ? 0.7 : 1.5 * effect[static_cast<std::size_t>(std::min(c, n_levels - 1))]) + 0.8 * a -
        0.3;
    d.y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0);
  }
  return d;
}

GBDTParams cat_params() {
  GBDTParams p;
  p.n_estimators = 20;
  p.max_leaf_nodes = 15;
  p.min_samples_leaf = 5;
  p.categorical_features = {0};
  p.min_data_per_category = 5;
  p.cat_encoding = CategoricalEncoding::kPartition;  // these tests are about native partitions
  p.n_threads = 1;
  return p;
}

}  // namespace

TEST_CASE("categorical: 4 levels with hand-computed G/H give the known partition and leaves") {
  const FourLevels d;
  GradientBoostedTrees m(stump_params());
  m.fit(d.data());
  const TreeEnsemble& e = m.ensemble();
  REQUIRE(e.trees.size() == 1);
  const Tree& t = e.trees[0];
  REQUIRE(t.n_nodes() == 3);
  CHECK(e.base_score == 0.0);
  REQUIRE(e.cardinality == std::vector<std::int32_t>{4});
  REQUIRE(t.is_categorical(0));
  CHECK(t.gain[0] == 10.0);  // exact: sums of +-1/2 and 1/4
  // Codes 0 and 2 left: bits 0 and 2 of one word.
  CHECK(t.cat_end[0] - t.cat_begin[0] == 1);
  CHECK(t.cat_bits[t.cat_begin[0]] == 0b0101u);
  CHECK(margin1(m, 0) == 0.5);
  CHECK(margin1(m, 2) == 0.5);
  CHECK(margin1(m, 1) == -0.5);
  CHECK(margin1(m, 3) == -0.5);
  // No missing rows in training: missing follows the child with more hessian (a tie: left).
  CHECK(t.missing_left[0] == 1);
  for (const double unseen : {kNaN, 4.0, 100.0, -1.0, 0.5, 2.25}) {
    INFO(unseen);
    CHECK(margin1(m, unseen) == 0.5);
  }
}

TEST_CASE("categorical: cat_l2 and cat_smooth enter the gain and the order as documented") {
  const FourLevels d;
  GBDTParams p = stump_params();
  p.cat_l2 = 5.0;  // gain = 25 / (5 + 5) * 2 = 5 with lambda = 0 + 5
  GradientBoostedTrees m(p);
  m.fit(d.data());
  CHECK(m.ensemble().trees[0].gain[0] == doctest::Approx(5.0).epsilon(1e-15));
  // Leaf outputs use l2_regularization only (cat_l2 regularises the choice of the split).
  CHECK(margin1(m, 0) == 0.5);
}

TEST_CASE("categorical: one-vs-rest (max_cat_to_onehot) picks the best single level") {
  // Level effects {8, 2, 7, 3} / 10: one-vs-rest gains: 4.8 (code 0), 4.8 (1), 2.1333 (2),
  // 2.1333 (3); the tie keeps the lower bin, code 0 alone on the left.
  const FourLevels d;
  GBDTParams p = stump_params();
  p.max_cat_to_onehot = 4;
  GradientBoostedTrees m(p);
  m.fit(d.data());
  const Tree& t = m.ensemble().trees[0];
  CHECK(t.gain[0] == doctest::Approx(4.8).epsilon(1e-14));
  CHECK(t.cat_bits[t.cat_begin[0]] == 0b0001u);
  // Left: G = -3, H = 2.5 -> +1.2 x 0.5; right: G = +3, H = 7.5 -> -0.4 x 0.5.
  CHECK(margin1(m, 0) == doctest::Approx(0.6).epsilon(1e-14));
  CHECK(margin1(m, 2) == doctest::Approx(-0.2).epsilon(1e-14));
}

TEST_CASE("categorical: one-vs-rest equals the best split of the one-hot encoded columns") {
  const CatData d = make_cat_data(3000, 6, 11, 0.0);
  std::vector<double> codes, onehot;
  for (Index i = 0; i < d.n; ++i) {
    const double c = d.X[static_cast<std::size_t>(i * d.p)];
    codes.push_back(c);
    for (int k = 0; k < 6; ++k) onehot.push_back(c == k ? 1.0 : 0.0);
  }
  const VectorView<const double> y(d.y.data(), d.n);
  GBDTParams p = cat_params();
  p.n_estimators = 1;
  p.max_leaf_nodes = 2;
  p.max_cat_to_onehot = 8;
  GradientBoostedTrees cat(p);
  cat.fit(Dataset(MatrixView<const double>::row_major(codes.data(), d.n, 1), y));
  p.categorical_features.clear();
  GradientBoostedTrees hot(p);
  hot.fit(Dataset(MatrixView<const double>::row_major(onehot.data(), d.n, 6), y));
  const Tree& tc = cat.ensemble().trees[0];
  const Tree& th = hot.ensemble().trees[0];
  REQUIRE(tc.n_nodes() == 3);
  REQUIRE(th.n_nodes() == 3);
  // Same partition: the one-hot split "indicator k <= 0.5" sends level k right; the categorical
  // split sends exactly one level to one side.
  const int k = th.feature[0];
  const std::uint32_t bits = tc.cat_bits[tc.cat_begin[0]];
  CHECK(__builtin_popcount(bits) == 1);
  CHECK(bits == (1u << k));
  CHECK(tc.gain[0] == doctest::Approx(th.gain[0]).epsilon(1e-9));  // same sums, other order
  for (int c = 0; c < 6; ++c) {
    std::vector<double> row(6, 0.0);
    row[static_cast<std::size_t>(c)] = 1.0;
    const double mh =
        hot.decision_function(MatrixView<const double>::row_major(row.data(), 1, 6))[0];
    CHECK(margin1(cat, c) == doctest::Approx(mh).epsilon(1e-9));
  }
}

TEST_CASE("categorical: relabeling the codes gives the same predictions") {
  const CatData d = make_cat_data(4000, 40, 5);
  std::vector<int> perm(40);
  std::iota(perm.begin(), perm.end(), 0);
  Rng rng(99);
  for (int i = 39; i > 0; --i)
    std::swap(perm[static_cast<std::size_t>(i)],
              perm[rng.below(static_cast<std::uint64_t>(i + 1))]);
  CatData r = d;
  for (Index i = 0; i < d.n; ++i) {
    double& c = r.X[static_cast<std::size_t>(i * d.p)];
    if (!std::isnan(c)) c = perm[static_cast<std::size_t>(c)];
  }
  GBDTParams p = cat_params();
  p.max_cat_threshold = 64;
  GradientBoostedTrees a(p), b(p);
  a.fit(d.data());
  b.fit(r.data());
  const Eigen::VectorXd pa = a.decision_function(d.view());
  const Eigen::VectorXd pb = b.decision_function(r.view());
  for (Index i = 0; i < d.n; ++i) CHECK(pa[i] == pb[i]);
}

TEST_CASE("categorical: rare levels are pooled and codes never seen route like missing") {
  // Codes 0..3 frequent, code 5 seen once (rare: pooled with the never-seen code 4), NaN present.
  CatData d = make_cat_data(2000, 4, 3, 0.1);
  d.X[0] = 5.0;
  GBDTParams p = cat_params();
  p.min_data_per_category = 10;
  GradientBoostedTrees m(p);
  m.fit(d.data());
  const TreeEnsemble& e = m.ensemble();
  REQUIRE(e.cardinality[0] == 6);
  CHECK(e.cardinality[1] == 0);
  CHECK(e.cardinality[2] == 0);
  int n_cat = 0;
  for (const Tree& t : e.trees) {
    for (Index i = 0; i < t.n_nodes(); ++i) {
      if (!t.is_categorical(i)) continue;
      ++n_cat;
      // The pooled codes 4 and 5 are never in a left set.
      const auto u = static_cast<std::size_t>(i);
      CHECK((t.cat_bits[t.cat_begin[u]] & 0b110000u) == 0u);
    }
  }
  CHECK(n_cat > 0);
  // Every value that is not a training code follows the missing side, exactly like NaN.
  std::vector<double> rows;
  for (const double c : {kNaN, 6.0, 1e6, -1.0, -0.0 - 3.0, 1.5, 2.0000001}) {
    rows.insert(rows.end(), {c, 0.3, -0.2});
  }
  const Eigen::VectorXd mm =
      m.decision_function(MatrixView<const double>::row_major(rows.data(), 7, 3));
  for (Index i = 1; i < 7; ++i) CHECK(mm[i] == mm[0]);
  // The never-seen code 4 (< cardinality) goes with the pooled rare code 5.
  const double r4[3] = {4.0, 0.3, -0.2}, r5[3] = {5.0, 0.3, -0.2};
  CHECK(m.predict_proba_row(r4) == m.predict_proba_row(r5));
  const float f4[3] = {4.0f, 0.3f, -0.2f}, f5[3] = {5.0f, 0.3f, -0.2f};
  CHECK(m.predict_proba_row(f4) == m.predict_proba_row(f5));
}

TEST_CASE("categorical: row, batch, float and double predictions agree with the tree walk") {
  const CatData d = make_cat_data(3000, 300, 21);
  GBDTParams p = cat_params();
  p.n_estimators = 30;
  GradientBoostedTrees m(p);
  m.fit(d.data());
  const TreeEnsemble& e = m.ensemble();
  const Eigen::VectorXd batch = m.decision_function(d.view());
  std::vector<float> xf(d.X.begin(), d.X.end());
  const Eigen::VectorXd batch_f =
      m.decision_function(MatrixView<const float>::row_major(xf.data(), d.n, d.p));
  for (Index i = 0; i < d.n; i += 7) {
    const double* row = d.X.data() + i * d.p;
    double ref = e.base_score;  // the reference walk: Tree::goes_left, one node at a time
    for (const Tree& t : e.trees) {
      std::int32_t k = 0;
      while (!t.is_leaf(k)) {
        const auto u = static_cast<std::size_t>(k);
        k = t.goes_left(k, row[t.feature[u]], e.cardinality_of(t.feature[u])) ? t.left[u]
                                                                              : t.right[u];
      }
      ref += t.value[static_cast<std::size_t>(k)];
    }
    CHECK(batch[i] == ref);
    CHECK(batch_f[i] == ref);
    CHECK(m.predictor().predict_margin_row(row) == ref);
    CHECK(m.predictor().predict_margin_row(xf.data() + i * d.p) == ref);
  }
}

TEST_CASE("categorical: the model is bit-identical for 1 and 2 threads") {
  const CatData d = make_cat_data(60000, 500, 8);
  GBDTParams p = cat_params();
  p.n_estimators = 8;
  p.subsample = 0.8;
  p.colsample_bytree = 0.67;
  p.early_stopping = true;
  GradientBoostedTrees a(p);
  a.fit(d.data());
  p.n_threads = 2;
  GradientBoostedTrees b(p);
  b.fit(d.data());
  const TreeEnsemble &ea = a.ensemble(), &eb = b.ensemble();
  REQUIRE(ea.trees.size() == eb.trees.size());
  CHECK(ea.cardinality == eb.cardinality);
  for (std::size_t t = 0; t < ea.trees.size(); ++t) {
    const Tree &x = ea.trees[t], &y = eb.trees[t];
    CHECK(x.feature == y.feature);
    CHECK(x.threshold == y.threshold);
    CHECK(x.value == y.value);
    CHECK(x.cat_begin == y.cat_begin);
    CHECK(x.cat_end == y.cat_end);
    CHECK(x.cat_bits == y.cat_bits);
    CHECK(x.missing_left == y.missing_left);
  }
}

TEST_CASE("categorical: early stopping and subsampling use the categorical routing") {
  const CatData d = make_cat_data(5000, 200, 13);
  GBDTParams p = cat_params();
  p.n_estimators = 30;
  p.subsample = 0.7;
  const CatData v = make_cat_data(2000, 200, 14);
  GradientBoostedTrees m(p);
  m.fit(d.data(), v.data());
  // The validation loss recorded by the binned walk equals the loss of the final model's
  // predictions (raw-value routing) after the last round.
  const Eigen::VectorXd mv = m.decision_function(v.view());
  double loss = 0.0;
  for (Index i = 0; i < v.n; ++i) {
    const double z = mv[i], yy = v.y[static_cast<std::size_t>(i)];
    loss += std::log1p(std::exp(-std::abs(z))) + std::max(z, 0.0) - yy * z;
  }
  CHECK(m.validation_loss().back() ==
        doctest::Approx(loss / static_cast<double>(v.n)).epsilon(1e-12));
}

TEST_CASE("categorical: TreeSHAP contributions sum to the margin with categorical nodes") {
  const CatData d = make_cat_data(2000, 50, 17);
  GBDTParams p = cat_params();
  GradientBoostedTrees m(p);
  m.fit(d.data());
  const TreeExplainer ex(m.ensemble());
  const Index n = 200;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> out(n, d.p + 1);
  std::vector<double> rows(d.X.begin(), d.X.begin() + n * d.p);
  rows[0] = 1e6;  // unseen code
  rows[3] = -2.0;
  const auto X = MatrixView<const double>::row_major(rows.data(), n, d.p);
  ex.contributions(X, MatrixView<double>::row_major(out.data(), n, d.p + 1), 1);
  const Eigen::VectorXd margin = m.decision_function(X);
  for (Index i = 0; i < n; ++i)
    CHECK(out.row(i).sum() == doctest::Approx(margin[i]).epsilon(1e-10));
}

TEST_CASE("categorical: bad parameters and bad codes are refused with a clear message") {
  const CatData d = make_cat_data(500, 5, 2);
  SUBCASE("index out of range") {
    GBDTParams p = cat_params();
    p.categorical_features = {3};
    CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.data()),
                         doctest::Contains("categorical_features lists column 3 but X has 3"),
                         InvalidParams);
    p.categorical_features = {-1};
    CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.data()),
                         doctest::Contains("categorical_features[0] must be >= 0"), InvalidParams);
  }
  SUBCASE("duplicates") {
    GBDTParams p = cat_params();
    p.categorical_features = {0, 2, 0};
    CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("lists column 0 twice"), InvalidParams);
  }
  SUBCASE("monotone constraint on a categorical feature") {
    GBDTParams p = cat_params();
    p.monotonic_cst = {1, 0, 0};
    CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.data()),
                         doctest::Contains("monotonic_cst[0] is 1 but column 0 is in "
                                           "categorical_features"),
                         InvalidParams);
  }
  SUBCASE("negative, fractional and too large codes") {
    for (const double bad : {-1.0, 2.5, 1e6}) {
      CatData b = d;
      b.X[static_cast<std::size_t>(7 * b.p)] = bad;
      CHECK_THROWS_WITH_AS(GradientBoostedTrees(cat_params()).fit(b.data()),
                           doctest::Contains("categorical column 0 has the"), InvalidInput);
      CHECK_THROWS_WITH_AS(GradientBoostedTrees(cat_params()).fit(b.data()),
                           doctest::Contains("at row 7"), InvalidInput);
    }
  }
}

TEST_CASE("categorical: Tree::validate rejects inconsistent category fields") {
  Tree t;
  t.add_node();
  t.add_node();
  t.add_node();
  t.left[0] = 1;
  t.right[0] = 2;
  t.feature[0] = 0;
  t.set_categories(0, {0b101u});
  const std::vector<std::int32_t> card{3};
  CHECK_NOTHROW(t.validate(1, "t", card));
  CHECK_THROWS_WITH_AS(t.validate(1, "t"),
                       doctest::Contains("by a category set but the feature is numeric"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(t.validate(1, "t", {2}), doctest::Contains("sends category 2 left"),
                       InvalidInput);
  Tree u = t;
  u.cat_end[0] = 5;
  CHECK_THROWS_WITH_AS(u.validate(1, "t", card), doctest::Contains("must lie inside it"),
                       InvalidInput);
  u = t;
  u.cat_begin.pop_back();
  CHECK_THROWS_WITH_AS(u.validate(1, "t", card), doctest::Contains("one entry per node"),
                       InvalidInput);
  u = t;
  u.cat_bits.push_back(0);
  u.cat_end[1] = 2;
  u.cat_begin[1] = 1;
  CHECK_THROWS_WITH_AS(u.validate(1, "t", card), doctest::Contains("is a leaf but has a category"),
                       InvalidInput);
  u = t;
  u.cat_bits = {0b101u, 0u};
  u.cat_end[0] = 2;
  CHECK_THROWS_WITH_AS(u.validate(1, "t", card), doctest::Contains("bitset words"), InvalidInput);
  Tree numeric = t;
  numeric.cat_begin.clear();
  numeric.cat_end.clear();
  numeric.cat_bits.clear();
  CHECK_THROWS_WITH_AS(numeric.validate(1, "t", card),
                       doctest::Contains("by a threshold but the feature is categorical"),
                       InvalidInput);
  TreeEnsemble e;
  e.n_features = 1;
  e.trees = {t};
  e.cardinality = {kMaxCategories + 1};
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("cardinality[0] is 1000001"), InvalidInput);
  e.cardinality = {3, 0};
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("cardinality has 2 entries"), InvalidInput);
}
