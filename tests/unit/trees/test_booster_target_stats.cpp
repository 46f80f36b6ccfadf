// SPDX-License-Identifier: Apache-2.0
// Target statistics inside the booster (GBDTParams::cat_encoding, issue 12 item 3). Oracles: a
// hand-computed stump on three levels with known event rates; the booster against the explicit
// composition of its public pieces (derive_categorical_columns, a plain booster on the derived
// matrix, to_categorical_tree); the converted trees against the derived trees on the scoring
// encoding of arbitrary codes (an invariant); a row's own label never entering its own derived
// values; the held-out log loss of a pure-noise high-cardinality column against native
// partitions; the same bits for 1 and 2 threads; the validation loss recomputed from the saved
// model's predictions; the hierarchy levels of hand-written ICD-like labels.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/trees/target_stats.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double log_loss_of(const std::vector<double>& y, const Eigen::VectorXd& p) {
  double s = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double q = std::clamp(p[static_cast<Index>(i)], 1e-15, 1.0 - 1e-15);
    s -= y[i] * std::log(q) + (1.0 - y[i]) * std::log(1.0 - q);
  }
  return s / static_cast<double>(y.size());
}

bool same_trees(const TreeEnsemble& a, const TreeEnsemble& b) {
  if (a.trees.size() != b.trees.size() || a.cardinality != b.cardinality ||
      std::memcmp(&a.base_score, &b.base_score, sizeof(double)) != 0) {
    return false;
  }
  for (std::size_t t = 0; t < a.trees.size(); ++t) {
    const Tree &x = a.trees[t], &y = b.trees[t];
    if (x.left != y.left || x.right != y.right || x.feature != y.feature ||
        x.missing_left != y.missing_left || x.cat_begin != y.cat_begin || x.cat_end != y.cat_end ||
        x.cat_bits != y.cat_bits) {
      return false;
    }
    for (std::size_t u = 0; u < x.value.size(); ++u) {
      if (std::memcmp(&x.value[u], &y.value[u], sizeof(double)) != 0 ||
          std::memcmp(&x.threshold[u], &y.threshold[u], sizeof(double)) != 0) {
        return false;
      }
    }
  }
  return true;
}

// ICD-like codes: 60 codes in 12 categories of 5 codes, Zipf-ish frequencies; the risk depends on
// the category (a few categories high) and on one specific code; one numeric column; column 0 is
// the code, column 1 the number, column 2 a 4-level low-cardinality categorical.
struct Codes {
  Index n;
  std::vector<double> X, y;              // row-major (n, 3)
  std::vector<std::vector<int>> levels;  // code -> category (one ancestor level)
  explicit Codes(Index n_rows, std::uint64_t seed = 7) : n(n_rows) {
    Rng rng(seed);
    levels.assign(1, std::vector<int>(60));
    for (int k = 0; k < 60; ++k) levels[0][static_cast<std::size_t>(k)] = k / 5;
    for (Index i = 0; i < n; ++i) {
      // Zipf-ish: code = floor(60 * u^2).
      const double u = rng.uniform();
      const int code = std::min(59, static_cast<int>(60.0 * u * u));
      const double num = rng.uniform();
      const int low = static_cast<int>(rng.below(4));
      const int cat = code / 5;
      double logit = -1.0 + (cat % 3 == 0 ? 1.2 : 0.0) + (code == 17 ? 1.5 : 0.0) + num + 0.3 * low;
      const bool missing = rng.uniform() < 0.05;
      X.push_back(missing ? kNaN : code);
      X.push_back(num);
      X.push_back(low);
      y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-logit)) ? 1.0 : 0.0);
    }
  }
  Dataset data() const {
    return Dataset(MatrixView<const double>::row_major(X.data(), n, 3),
                   VectorView<const double>(y.data(), n));
  }
  GBDTFitContext context() const {
    GBDTFitContext c;
    c.code_ancestry.push_back({0, levels});
    return c;
  }
};

GBDTParams ts_params() {
  GBDTParams p;
  p.n_estimators = 15;
  p.max_leaf_nodes = 8;
  p.categorical_features = {0, 2};
  p.cat_encoding = CategoricalEncoding::kAuto;
  p.cat_ts_min_levels = 10;  // column 0 (60 levels) by target statistics, column 2 natively
  p.n_threads = 1;
  return p;
}

// The scoring encoding of raw rows (codes in column feature) for the derived matrix's columns.
Eigen::MatrixXd scoring_encoding(const DerivedCategoricalMatrix& d, const std::vector<double>& X,
                                 Index n, Index nf) {
  Eigen::MatrixXd out(n, static_cast<Index>(d.columns.size()));
  for (Index i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d.columns.size(); ++j) {
      const DerivedColumn& c = d.columns[j];
      const double x = X[static_cast<std::size_t>(i * nf + c.feature)];
      out(i, static_cast<Index>(j)) = c.kind == DerivedKind::kOriginal ? x : c.table.lookup(x);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("target statistics: three levels with known rates give the hand-checked stump") {
  // 300 rows, code i % 3; positives per level: code 0 80 of 100, code 1 20, code 2 70. Sorted by
  // rate: code 1 (0.2) < code 2 (0.7) < code 0 (0.8). The best stump separates {1} from {0, 2}:
  // its gain (100 * 200 / 300) * 0.55^2 beats {1, 2} | {0}: (200 * 100 / 300) * 0.35^2.
  std::vector<double> X, y;
  const int pos[3] = {80, 20, 70};
  int seen[3] = {0, 0, 0};
  for (int i = 0; i < 300; ++i) {
    const int c = i % 3;
    X.push_back(c);
    y.push_back(seen[c]++ < pos[c] ? 1.0 : 0.0);
  }
  GBDTParams p;
  p.n_estimators = 1;
  p.learning_rate = 0.5;
  p.max_leaf_nodes = 2;
  p.min_samples_leaf = 1;
  p.min_child_weight = 0.0;
  p.categorical_features = {0};
  p.cat_encoding = CategoricalEncoding::kTargetStats;
  p.cat_ts_ordinal = false;
  p.n_threads = 1;
  GradientBoostedTrees m(p);
  m.fit(Dataset(MatrixView<const double>::row_major(X.data(), 300, 1),
                VectorView<const double>(y.data(), 300)));
  const TreeEnsemble& e = m.ensemble();
  REQUIRE(e.trees.size() == 1);
  const Tree& t = e.trees[0];
  REQUIRE(t.n_nodes() == 3);
  CHECK(e.cardinality == std::vector<std::int32_t>{3});
  CHECK(t.feature[0] == 0);
  CHECK(t.is_categorical(0));
  REQUIRE(t.cat_end[0] - t.cat_begin[0] == 1);
  CHECK(t.cat_bits[t.cat_begin[0]] == 0b010u);  // {code 1} left
  // Leaf values by hand: base p0 = 170 / 300, g = p0 - y, h = p0 (1 - p0); left = code 1 rows.
  const double p0 = 170.0 / 300.0, h = p0 * (1.0 - p0);
  const double g_left = 100 * p0 - 20, g_right = 200 * p0 - 150;
  const double base = std::log(170.0 / 130.0);
  CHECK(e.base_score == doctest::Approx(base).epsilon(1e-12));
  const double row1 = 1.0, row0 = 0.0, row2 = 2.0;
  CHECK(m.decision_function(MatrixView<const double>::row_major(&row1, 1, 1))[0] ==
        doctest::Approx(base - 0.5 * g_left / (100 * h)).epsilon(1e-6));
  CHECK(m.decision_function(MatrixView<const double>::row_major(&row0, 1, 1))[0] ==
        doctest::Approx(base - 0.5 * g_right / (200 * h)).epsilon(1e-6));
  CHECK(m.predict_proba_row(&row2) == m.predict_proba_row(&row0));
}

TEST_CASE("target statistics: the booster is the composition of its public pieces") {
  const Codes c(4000);
  const GBDTParams p = ts_params();
  GradientBoostedTrees m(p);
  m.fit(c.data(), c.context());

  // The explicit pipeline: derived columns, a plain booster on them, every tree converted.
  DerivedCategoricalSpec spec;
  spec.features = {0};
  spec.ancestry = c.context().code_ancestry;
  spec.seed = p.random_state;
  const DerivedCategoricalMatrix d =
      derive_categorical_columns(c.data().X, {}, c.data().y, {}, {}, spec, 1);
  REQUIRE(d.columns.size() == 5);  // code TS, number, low, ordinal, category TS
  CHECK(d.columns[3].kind == DerivedKind::kOrdinal);
  CHECK(d.columns[4].kind == DerivedKind::kAncestorStat);
  GBDTParams pd = p;
  pd.categorical_features = {2};
  pd.cat_encoding = CategoricalEncoding::kPartition;
  GradientBoostedTrees plain(pd);
  plain.fit(Dataset(MatrixView<const double>::col_major(d.X.data(), c.n, d.X.cols()), c.data().y));
  TreeEnsemble expected;
  expected.n_features = 3;
  expected.base_score = plain.ensemble().base_score;
  expected.cardinality = {60, 0, 4};
  for (const Tree& t : plain.ensemble().trees) expected.trees.push_back(to_categorical_tree(t, d));
  CHECK(same_trees(m.ensemble(), expected));
  // Some split of the model is on a derived column (else the check above is vacuous).
  bool derived_split = false;
  for (const Tree& t : plain.ensemble().trees) {
    for (const auto f : t.feature) derived_split = derived_split || f == 0 || f >= 3;
  }
  CHECK(derived_split);

  // Invariant: the converted model on raw codes predicts exactly what the derived trees predict
  // on the scoring encoding, for training codes, codes never seen, missing and out-of-range ones.
  std::vector<double> rows;
  const double probes[] = {0, 1, 5, 17, 33, 59, 60, 75, -1, 2.5, kNaN};
  for (const double code : probes) {
    for (const double num : {0.1, 0.6}) {
      for (const double low : {0.0, 3.0, kNaN}) {
        rows.insert(rows.end(), {code, num, low});
      }
    }
  }
  const auto nr = static_cast<Index>(rows.size() / 3);
  const Eigen::MatrixXd enc = scoring_encoding(d, rows, nr, 3);
  const Eigen::VectorXd a =
      m.decision_function(MatrixView<const double>::row_major(rows.data(), nr, 3));
  const Eigen::VectorXd b =
      plain.decision_function(MatrixView<const double>::col_major(enc.data(), nr, enc.cols()));
  for (Index i = 0; i < nr; ++i) CHECK(a[i] == b[i]);
  // Codes past the training cardinality route like missing codes.
  CHECK(a[6 * 6] == a[10 * 6]);  // code 60 vs NaN, same other columns
  CHECK(a[7 * 6] == a[10 * 6]);  // code 75
  CHECK(a[8 * 6] == a[10 * 6]);  // code -1
}

TEST_CASE("target statistics: a row's own label never enters its own derived values") {
  const Codes c(3000, 11);
  DerivedCategoricalSpec spec;
  spec.features = {0};
  spec.ancestry = c.context().code_ancestry;
  std::vector<double> groups(static_cast<std::size_t>(c.n));
  for (Index i = 0; i < c.n; ++i) groups[static_cast<std::size_t>(i)] = static_cast<double>(i / 3);
  const VectorView<const double> g(groups.data(), c.n);
  const DerivedCategoricalMatrix d =
      derive_categorical_columns(c.data().X, {}, c.data().y, {}, g, spec, 1);
  const std::vector<int> folds = target_stat_folds(c.n, g, spec.n_folds, spec.seed);
  for (const Index i : {Index{0}, Index{5}, Index{1234}, Index{2999}}) {
    std::vector<double> y2 = c.y;
    y2[static_cast<std::size_t>(i)] = 1.0 - y2[static_cast<std::size_t>(i)];
    const DerivedCategoricalMatrix d2 = derive_categorical_columns(
        c.data().X, {}, VectorView<const double>(y2.data(), c.n), {}, g, spec, 1);
    // Every row of the flipped row's fold (its own patient's rows included) keeps its values.
    Index same_fold = 0;
    for (Index r = 0; r < c.n; ++r) {
      if (folds[static_cast<std::size_t>(r)] != folds[static_cast<std::size_t>(i)]) continue;
      ++same_fold;
      for (Index j = 0; j < d.X.cols(); ++j) {
        const double u = d.X(r, j), v = d2.X(r, j);
        CHECK((u == v || (std::isnan(u) && std::isnan(v))));
      }
    }
    CHECK(same_fold > 300);
    // ... while the other folds do see it (the check above is not vacuous).
    CHECK((d.X.col(0).array() != d2.X.col(0).array()).count() > 0);
  }
}

TEST_CASE("target statistics: a pure-noise high-cardinality column overfits less than partitions") {
  // 2000 levels of pure noise (y independent of them) plus one informative number: native
  // partitions fit the noise; target statistics are out-of-fold, so the trees find little in it.
  const Index n = 12000, n_test = 12000;
  Rng rng(3);
  std::vector<double> X, y, Xt, yt;
  for (Index i = 0; i < n + n_test; ++i) {
    const double code = static_cast<double>(rng.below(2000));
    const double num = rng.uniform();
    const double yy = rng.uniform() < 1.0 / (1.0 + std::exp(-(2.0 * num - 1.5))) ? 1.0 : 0.0;
    auto& xs = i < n ? X : Xt;
    auto& ys = i < n ? y : yt;
    xs.insert(xs.end(), {code, num});
    ys.push_back(yy);
  }
  GBDTParams p;
  p.n_estimators = 50;
  p.categorical_features = {0};
  p.min_data_per_category = 1;
  p.n_threads = 1;
  const Dataset train(MatrixView<const double>::row_major(X.data(), n, 2),
                      VectorView<const double>(y.data(), n));
  const FeatureMatrix test(MatrixView<const double>::row_major(Xt.data(), n_test, 2));
  p.cat_encoding = CategoricalEncoding::kPartition;
  const double loss_partition =
      log_loss_of(yt, GradientBoostedTrees(p).fit(train).predict_proba(test));
  p.cat_encoding = CategoricalEncoding::kAuto;  // 2000 levels > cat_ts_min_levels
  const double loss_ts = log_loss_of(yt, GradientBoostedTrees(p).fit(train).predict_proba(test));
  // Only the number, the best the data allows.
  std::vector<double> X1, Xt1;
  for (Index i = 0; i < n; ++i) X1.push_back(X[static_cast<std::size_t>(2 * i + 1)]);
  for (Index i = 0; i < n_test; ++i) Xt1.push_back(Xt[static_cast<std::size_t>(2 * i + 1)]);
  GBDTParams p1 = p;
  p1.categorical_features.clear();
  const double loss_num = log_loss_of(
      yt, GradientBoostedTrees(p1)
              .fit(Dataset(MatrixView<const double>::row_major(X1.data(), n, 1),
                           VectorView<const double>(y.data(), n)))
              .predict_proba(MatrixView<const double>::row_major(Xt1.data(), n_test, 1)));
  MESSAGE("held-out log loss: partitions " << loss_partition << ", target statistics " << loss_ts
                                           << ", number only " << loss_num);
  CHECK(loss_ts < loss_partition);
  CHECK(loss_ts - loss_num < 0.5 * (loss_partition - loss_num));
}

TEST_CASE("target statistics: the same model for 1 and 2 threads, with groups and subsampling") {
  const Codes c(5000, 5);
  std::vector<double> groups(static_cast<std::size_t>(c.n));
  for (Index i = 0; i < c.n; ++i)
    groups[static_cast<std::size_t>(i)] = static_cast<double>(i % 997);
  GBDTFitContext ctx = c.context();
  ctx.groups = VectorView<const double>(groups.data(), c.n);
  GBDTParams p = ts_params();
  p.subsample = 0.8;
  p.colsample_bytree = 0.8;
  p.early_stopping = true;
  p.n_threads = 1;
  GradientBoostedTrees a(p);
  a.fit(c.data(), ctx);
  p.n_threads = 2;
  GradientBoostedTrees b(p);
  b.fit(c.data(), ctx);
  CHECK(same_trees(a.ensemble(), b.ensemble()));
  CHECK(a.validation_loss() == b.validation_loss());
  // Groups change the folds, hence the model.
  GradientBoostedTrees nog(p);
  nog.fit(c.data(), c.context());
  CHECK_FALSE(same_trees(a.ensemble(), nog.ensemble()));
}

TEST_CASE("target statistics: unseen codes go the missing direction") {
  const Codes c(3000, 9);
  // Without a hierarchy: code 58 removed from training is unseen (weight 0) but inside [0, K).
  std::vector<double> X = c.X;
  for (Index i = 0; i < c.n; ++i) {
    if (X[static_cast<std::size_t>(3 * i)] == 58.0) X[static_cast<std::size_t>(3 * i)] = 59.0;
  }
  GBDTParams p = ts_params();
  GradientBoostedTrees m(p);
  m.fit(Dataset(MatrixView<const double>::row_major(X.data(), c.n, 3), c.data().y));
  REQUIRE(m.ensemble().cardinality[0] == 60);
  for (const double num : {0.2, 0.9}) {
    const double missing[3] = {kNaN, num, 1}, unseen[3] = {58, num, 1}, beyond[3] = {400, num, 1},
                 fraction[3] = {3.5, num, 1};
    CHECK(m.predict_proba_row(unseen) == m.predict_proba_row(missing));
    CHECK(m.predict_proba_row(beyond) == m.predict_proba_row(missing));
    CHECK(m.predict_proba_row(fraction) == m.predict_proba_row(missing));
  }
}

TEST_CASE("target statistics: validation rows are scored by the converted trees") {
  const Codes c(4000, 13), v(1500, 14);
  GBDTParams p = ts_params();
  p.n_estimators = 12;
  GradientBoostedTrees m(p);
  m.fit(c.data(), v.data(), c.context());
  REQUIRE(m.validation_loss().size() == 12);
  const double loss = log_loss_of(v.y, m.predict_proba(v.data().X));
  CHECK(m.validation_loss().back() == doctest::Approx(loss).epsilon(1e-9));
  // Early stopping on an internal holdout keeps working (and the holdout's labels stay out of
  // the statistics: the tables are fitted on the training rows only).
  p.early_stopping = true;
  p.n_estimators = 200;
  p.learning_rate = 0.5;
  GradientBoostedTrees es(p);
  es.fit(c.data(), c.context());
  CHECK(es.best_iteration() < 200);
}

TEST_CASE("target statistics: auto picks by the number of training levels") {
  const Codes c(3000, 21);
  GBDTParams p = ts_params();
  p.categorical_features = {2};  // 4 levels: partitions under auto
  GBDTParams q = p;
  q.cat_encoding = CategoricalEncoding::kPartition;
  CHECK(same_trees(GradientBoostedTrees(p).fit(c.data()).ensemble(),
                   GradientBoostedTrees(q).fit(c.data()).ensemble()));
  p.categorical_features = {0, 2};
  q.categorical_features = {0, 2};
  q.cat_encoding = CategoricalEncoding::kTargetStats;
  q.cat_ts_min_levels = 1000;  // ignored with target_stats: both features by statistics
  GBDTParams r = q;
  r.cat_encoding = CategoricalEncoding::kAuto;
  r.cat_ts_min_levels = 3;  // 60 and 4 levels > 3
  CHECK(same_trees(GradientBoostedTrees(q).fit(c.data()).ensemble(),
                   GradientBoostedTrees(r).fit(c.data()).ensemble()));
  CHECK_FALSE(same_trees(GradientBoostedTrees(p).fit(c.data()).ensemble(),
                         GradientBoostedTrees(q).fit(c.data()).ensemble()));
}

TEST_CASE("target statistics: bad settings and codes are refused by name") {
  const Codes c(500, 2);
  GBDTParams p = ts_params();
  p.cat_ts_folds = 1;
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(c.data()), doctest::Contains("cat_ts_folds"),
                       InvalidParams);
  p = ts_params();
  p.cat_ts_smoothing = -1;
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(c.data()), doctest::Contains("cat_ts_smoothing"),
                       InvalidParams);
  p = ts_params();
  p.monotonic_cst = {1, 0, 0};
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(c.data()), doctest::Contains("monotonic"),
                       InvalidParams);
  std::vector<double> X = c.X;
  X[3 * 17] = 4.5;
  p = ts_params();
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(Dataset(
                           MatrixView<const double>::row_major(X.data(), c.n, 3), c.data().y)),
                       doctest::Contains("categorical feature 0 has value 4.5 at row 17"),
                       InvalidInput);
  std::vector<double> g(10, 0.0);
  GBDTFitContext ctx;
  ctx.groups = VectorView<const double>(g.data(), 10);
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(ts_params()).fit(c.data(), ctx),
                       doctest::Contains("groups has 10 entries"), InvalidInput);
}

TEST_CASE("code_ancestor_levels: nested groups of dotted ICD-like labels") {
  const std::vector<std::string> labels{"250", "250.0", "250.01", "250.1", "401.9", "V45"};
  // Ancestors: 250.0 -> 250; 250.01 -> 250.0 -> 250; 250.1 -> 250; 401.9 -> 401; others none.
  const auto lv = code_ancestor_levels(labels, CodeHierarchy::dotted());
  REQUIRE(lv.size() == 2);
  CHECK(lv[0] == std::vector<int>{0, 0, 0, 0, 1, 2});  // 250, 250, 250, 250, 401, V45
  CHECK(lv[1] == std::vector<int>{0, 1, 1, 2, 3, 4});  // 250, 250.0, 250.0, 250.1, 401.9, V45
  CHECK(code_ancestor_levels(labels, CodeHierarchy::dotted(), 1).size() == 1);
  CHECK(code_ancestor_levels(labels, CodeHierarchy{}).empty());
  // Inferred: 4 of the 6 labels are dotted and their prefixes pool some labels.
  CHECK(inferred_code_hierarchy(labels) == CodeHierarchy::dotted());
  CHECK_FALSE(inferred_code_hierarchy({"250", "401", "V45.1"}).declared);  // 1 of 3 dotted
  CHECK_FALSE(inferred_code_hierarchy({"a.b", "c.d"}).declared);           // nothing pooled
  CHECK_FALSE(inferred_code_hierarchy({}).declared);
}
