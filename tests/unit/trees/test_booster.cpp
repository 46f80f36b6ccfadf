// SPDX-License-Identifier: Apache-2.0
// GradientBoostedTrees: parameter and input validation, init score, learning, weights (class
// weights, scale_pos_weight, duplicated rows), determinism across threads and input types,
// early stopping, monotonic constraints, missing values, state round trip.
#include <doctest/doctest.h>

#include <calibrisk/trees/booster.hpp>

#include "support/train_data.hpp"

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

void check_same_trees(const TreeEnsemble& a, const TreeEnsemble& b) {
  CHECK(a.base_score == b.base_score);
  REQUIRE(a.trees.size() == b.trees.size());
  for (std::size_t t = 0; t < a.trees.size(); ++t) {
    CAPTURE(t);
    CHECK(a.trees[t].left == b.trees[t].left);
    CHECK(a.trees[t].feature == b.trees[t].feature);
    CHECK(a.trees[t].threshold == b.trees[t].threshold);
    CHECK(a.trees[t].missing_left == b.trees[t].missing_left);
    CHECK(a.trees[t].value == b.trees[t].value);
    CHECK(a.trees[t].gain == b.trees[t].gain);
    CHECK(a.trees[t].cover == b.trees[t].cover);
  }
}

GBDTParams small_params() {
  GBDTParams p;
  p.n_estimators = 30;
  p.l2_regularization = 1.0;
  return p;
}

double auc(const std::vector<double>& y, const Eigen::VectorXd& s) {
  // Mann-Whitney with ties counted half; O(n0 * n1) is fine for test sizes.
  double pos = 0, neg = 0, acc = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 1.0) continue;
    pos += 1;
    for (std::size_t j = 0; j < y.size(); ++j) {
      if (y[j] != 0.0) continue;
      acc += s[static_cast<Index>(i)] > s[static_cast<Index>(j)]
                 ? 1.0
                 : (s[static_cast<Index>(i)] == s[static_cast<Index>(j)] ? 0.5 : 0.0);
    }
  }
  for (const double v : y) neg += v == 0.0;
  return acc / (pos * neg);
}

}  // namespace

TEST_CASE("booster: every out-of-range parameter is rejected with its name and range") {
  struct Case {
    void (*set)(GBDTParams&);
    const char* fragment;
  };
  const Case cases[] = {
      {[](GBDTParams& p) { p.n_estimators = 0; }, "GBDTParams.n_estimators must be >= 1, got 0"},
      {[](GBDTParams& p) { p.learning_rate = 0.0; }, "GBDTParams.learning_rate must be in (0, 1]"},
      {[](GBDTParams& p) { p.learning_rate = 1.5; }, "learning_rate"},
      {[](GBDTParams& p) { p.max_leaf_nodes = 1; }, "GBDTParams.max_leaf_nodes must be >= 2"},
      {[](GBDTParams& p) { p.max_bins = 1; }, "GBDTParams.max_bins must be in [2, 65535], got 1"},
      {[](GBDTParams& p) { p.max_bins = 70000; }, "max_bins"},
      {[](GBDTParams& p) { p.min_samples_leaf = 0; }, "GBDTParams.min_samples_leaf"},
      {[](GBDTParams& p) { p.min_child_weight = -1; }, "GBDTParams.min_child_weight"},
      {[](GBDTParams& p) { p.l2_regularization = -0.1; }, "GBDTParams.l2_regularization"},
      {[](GBDTParams& p) { p.l2_regularization = std::nan(""); }, "l2_regularization"},
      {[](GBDTParams& p) { p.min_gain_to_split = -1; }, "GBDTParams.min_gain_to_split"},
      {[](GBDTParams& p) { p.subsample = 0; }, "GBDTParams.subsample must be in (0, 1]"},
      {[](GBDTParams& p) { p.colsample_bytree = 1.1; }, "GBDTParams.colsample_bytree"},
      {[](GBDTParams& p) { p.scale_pos_weight = 0; }, "GBDTParams.scale_pos_weight"},
      {[](GBDTParams& p) {
         p.monotonic_cst = {0, 2};
       },
       "GBDTParams.monotonic_cst[1] must be -1, 0 or +1, got 2"},
      {[](GBDTParams& p) { p.validation_fraction = 1.0; }, "GBDTParams.validation_fraction"},
      {[](GBDTParams& p) { p.n_iter_no_change = 0; }, "GBDTParams.n_iter_no_change"},
      {[](GBDTParams& p) { p.tol = -1; }, "GBDTParams.tol"},
      {[](GBDTParams& p) { p.bin_subsample = -5; }, "GBDTParams.bin_subsample"},
      {[](GBDTParams& p) { p.n_threads = -1; }, "GBDTParams.n_threads"},
      {[](GBDTParams& p) { p.class_weight = ClassWeight::explicit_weights(1, -1); },
       "class weights must be finite and > 0"},
  };
  const testing::TrainData d = testing::make_dense(200, 3, 1);
  for (const Case& c : cases) {
    GBDTParams p;
    c.set(p);
    CAPTURE(c.fragment);
    CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains(c.fragment), InvalidParams);
    CHECK_THROWS_AS(GradientBoostedTrees(p).fit(d.dataset()), InvalidParams);
  }
  CHECK_NOTHROW(GBDTParams{}.validate());
}

TEST_CASE("booster: bad training data is rejected with where, what and how to fix") {
  testing::TrainData d = testing::make_dense(100, 3, 1);
  GradientBoostedTrees m(small_params());
  SUBCASE("label count") {
    const Dataset bad(FeatureMatrix(d.X()), VectorView<const double>(d.y.data(), 99));
    CHECK_THROWS_WITH_AS(m.fit(bad), doctest::Contains("one label per row"), InvalidInput);
  }
  SUBCASE("label value") {
    d.y[3] = 2.0;
    CHECK_THROWS_WITH_AS(m.fit(d.dataset()), doctest::Contains("y[3] is 2"), InvalidInput);
  }
  SUBCASE("one class") {
    for (auto& v : d.y) v = 0.0;
    CHECK_THROWS_WITH_AS(m.fit(d.dataset()), doctest::Contains("only class 0"), InvalidInput);
  }
  SUBCASE("infinite feature") {
    d.x[7] = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH_AS(m.fit(d.dataset()), doctest::Contains("X[2, 1] is +inf"), InvalidInput);
  }
  SUBCASE("negative weight") {
    d.w.assign(100, 1.0);
    d.w[5] = -1.0;
    CHECK_THROWS_WITH_AS(m.fit(d.dataset()), doctest::Contains("sample_weight[5]"), InvalidInput);
  }
  SUBCASE("monotonic_cst length") {
    GBDTParams p = small_params();
    p.monotonic_cst = {1, 0};
    CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.dataset()),
                         doctest::Contains("monotonic_cst has 2 entries but X has 3 features"),
                         InvalidParams);
  }
  SUBCASE("validation set columns") {
    const testing::TrainData v = testing::make_dense(50, 4, 2);
    CHECK_THROWS_WITH_AS(m.fit(d.dataset(), v.dataset()),
                         doctest::Contains("validation set): X has 4 features but the model was "
                                           "fitted with 3"),
                         InvalidInput);
  }
  SUBCASE("validation set labels") {
    testing::TrainData v = testing::make_dense(50, 3, 2);
    v.y[0] = 0.5;
    CHECK_THROWS_WITH_AS(m.fit(d.dataset(), v.dataset()), doctest::Contains("y[0] is 0.5"),
                         InvalidInput);
  }
  SUBCASE("not fitted") {
    CHECK_THROWS_WITH_AS(m.predict_proba(FeatureMatrix(d.X())), doctest::Contains("call fit()"),
                         NotFitted);
    CHECK_THROWS_AS(m.ensemble(), NotFitted);
    CHECK_THROWS_AS(m.state(), NotFitted);
    CHECK_THROWS_AS(m.n_iter(), NotFitted);
    CHECK_FALSE(m.is_fitted());
  }
  SUBCASE("predict with the wrong columns") {
    m.fit(d.dataset());
    const testing::TrainData v = testing::make_dense(10, 5, 2);
    CHECK_THROWS_WITH_AS(m.predict_proba(FeatureMatrix(v.X())),
                         doctest::Contains("X has 5 features but the model was fitted with 3"),
                         InvalidInput);
  }
}

TEST_CASE("booster: init score is the weighted log-odds and the model learns") {
  const testing::TrainData d = testing::make_dense(6000, 10, 3);
  const testing::TrainData test = testing::make_dense(3000, 10, 4);
  GBDTParams p = small_params();
  p.n_estimators = 60;
  GradientBoostedTrees m(p);
  m.fit(d.dataset());
  double w1 = 0, w0 = 0;
  for (const double y : d.y) (y == 1.0 ? w1 : w0) += 1.0;
  CHECK(m.ensemble().base_score == doctest::Approx(std::log(w1 / w0)).epsilon(1e-14));
  CHECK(m.n_iter() == 60);
  CHECK(m.best_iteration() == 60);
  CHECK(m.ensemble().trees.size() == 60u);
  const Eigen::VectorXd pr = m.predict_proba(FeatureMatrix(test.X()));
  const double prior = w1 / (w0 + w1);
  std::vector<double> constant(test.y.size(), prior);
  const double ll = testing::mean_log_loss(test.y, pr.data());
  const double ll0 = testing::mean_log_loss(test.y, constant.data());
  CHECK(ll < 0.85 * ll0);
  CHECK(auc(test.y, pr) > 0.8);
  // decision_function is the margin of predict_proba.
  const Eigen::VectorXd mg = m.decision_function(FeatureMatrix(test.X()));
  for (Index i = 0; i < 50; ++i) CHECK(pr[i] == doctest::Approx(1.0 / (1.0 + std::exp(-mg[i]))));
  // Row prediction agrees with the batch.
  CHECK(m.predict_proba_row(test.x.data() + 5 * test.f) == pr[5]);
}

TEST_CASE("booster: class_weight balanced equals explicit n / (2 n_c); scale_pos_weight too") {
  const testing::TrainData d = testing::make_dense(3000, 6, 5);
  double n1 = 0;
  for (const double y : d.y) n1 += y;
  const double n = static_cast<double>(d.y.size());
  GBDTParams a = small_params(), b = small_params(), c = small_params(), e = small_params();
  a.class_weight = ClassWeight::balanced();
  b.class_weight = ClassWeight::explicit_weights(n / (2.0 * (n - n1)), n / (2.0 * n1));
  GradientBoostedTrees ma(a), mb(b);
  ma.fit(d.dataset());
  mb.fit(d.dataset());
  check_same_trees(ma.ensemble(), mb.ensemble());
  c.scale_pos_weight = 4.0;
  e.class_weight = ClassWeight::explicit_weights(1.0, 4.0);
  GradientBoostedTrees mc(c), me(e);
  mc.fit(d.dataset());
  me.fit(d.dataset());
  check_same_trees(mc.ensemble(), me.ensemble());
  // Balanced weighting raises the mean predicted risk towards 1/2.
  GradientBoostedTrees plain(small_params());
  plain.fit(d.dataset());
  CHECK(ma.predict_proba(FeatureMatrix(d.X())).mean() >
        plain.predict_proba(FeatureMatrix(d.X())).mean() + 0.1);
}

TEST_CASE("booster: a duplicated row equals the row with weight 2") {
  // Discrete features (few distinct values) so the bin edges are the same for both tables.
  const Index n = 1500, f = 4;
  testing::TrainData base;
  base.n = n;
  base.f = f;
  Rng rng(17);
  for (Index i = 0; i < n; ++i) {
    double m = -1.0;
    for (Index j = 0; j < f; ++j) {
      const float v = static_cast<float>(rng.below(12));
      base.x.push_back(v);
      m += 0.15 * v * (j % 2 ? -1 : 1);
    }
    base.y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-m)) ? 1.0 : 0.0);
  }
  testing::TrainData dup = base, weighted = base;
  weighted.w.assign(static_cast<std::size_t>(n), 1.0);
  for (Index i = 0; i < n; i += 3) {  // every third row twice
    dup.x.insert(dup.x.end(), base.x.begin() + i * f, base.x.begin() + (i + 1) * f);
    dup.y.push_back(base.y[static_cast<std::size_t>(i)]);
    weighted.w[static_cast<std::size_t>(i)] = 2.0;
  }
  dup.n = static_cast<Index>(dup.y.size());
  GBDTParams p = small_params();
  p.min_samples_leaf = 1;  // counts differ (duplicates are rows); hessian rules are the same
  GradientBoostedTrees a(p), b(p);
  a.fit(dup.dataset());
  b.fit(weighted.dataset());
  const Eigen::VectorXd pa = a.decision_function(FeatureMatrix(base.X()));
  const Eigen::VectorXd pb = b.decision_function(FeatureMatrix(base.X()));
  for (Index i = 0; i < n; ++i) CHECK(pa[i] == doctest::Approx(pb[i]).epsilon(1e-6));
}

TEST_CASE("booster: bit-identical models for 1, 2 and 4 threads (with row/column subsampling)") {
  const testing::TrainData d = testing::make_dense(40000, 12, 6);
  GBDTParams p = small_params();
  p.n_estimators = 8;
  p.subsample = 0.7;
  p.colsample_bytree = 0.6;
  p.early_stopping = true;
  p.random_state = 99;
  p.n_threads = 1;
  GradientBoostedTrees ref(p);
  ref.fit(d.dataset());
  for (const int t : {2, 4}) {
    CAPTURE(t);
    p.n_threads = t;
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    check_same_trees(ref.ensemble(), m.ensemble());
    CHECK(ref.validation_loss() == m.validation_loss());
    const Eigen::VectorXd a = ref.predict_proba(FeatureMatrix(d.X()));
    const Eigen::VectorXd b = m.predict_proba(FeatureMatrix(d.X()));
    CHECK((a.array() == b.array()).all());
  }
  // A different seed gives a different model.
  p.random_state = 100;
  GradientBoostedTrees other(p);
  other.fit(d.dataset());
  CHECK(other.ensemble().trees[0].threshold != ref.ensemble().trees[0].threshold);
}

TEST_CASE("booster: float32 and float64, C and Fortran order inputs give the same model") {
  const testing::TrainData d = testing::make_dense(3000, 5, 7);
  const std::vector<double> xd = d.x_double();
  std::vector<double> xc(xd.size());
  for (Index i = 0; i < d.n; ++i) {
    for (Index j = 0; j < d.f; ++j) {
      xc[static_cast<std::size_t>(j * d.n + i)] = xd[static_cast<std::size_t>(i * d.f + j)];
    }
  }
  GradientBoostedTrees a(small_params()), b(small_params()), c(small_params());
  a.fit(d.dataset());
  b.fit(Dataset(FeatureMatrix(MatrixView<const double>::row_major(xd.data(), d.n, d.f)),
                VectorView<const double>(d.y)));
  c.fit(Dataset(FeatureMatrix(MatrixView<const double>::col_major(xc.data(), d.n, d.f)),
                VectorView<const double>(d.y)));
  check_same_trees(a.ensemble(), b.ensemble());
  check_same_trees(a.ensemble(), c.ensemble());
}

TEST_CASE("booster: early stopping keeps the best iteration") {
  // Noisy labels, an aggressive learning rate and tiny leaves: validation loss turns up early.
  const testing::TrainData d = testing::make_dense(1500, 10, 8);
  const testing::TrainData v = testing::make_dense(1500, 10, 9);
  GBDTParams p;
  p.n_estimators = 300;
  p.learning_rate = 0.5;
  p.min_samples_leaf = 2;
  p.early_stopping = true;
  p.n_iter_no_change = 5;
  GradientBoostedTrees m(p);
  m.fit(d.dataset(), v.dataset());
  const auto& loss = m.validation_loss();
  REQUIRE(static_cast<int>(loss.size()) == m.n_iter());
  CHECK(m.n_iter() < 300);
  CHECK(m.n_iter() == m.best_iteration() + p.n_iter_no_change);
  const int best = m.best_iteration();
  CHECK(static_cast<int>(m.ensemble().trees.size()) == best);
  for (std::size_t k = 0; k < loss.size(); ++k)
    CHECK(loss[k] >= loss[static_cast<std::size_t>(best - 1)]);
  // The kept model's validation loss is the recorded best.
  const Eigen::VectorXd pv = m.predict_proba(FeatureMatrix(v.X()));
  CHECK(testing::mean_log_loss(v.y, pv.data()) ==
        doctest::Approx(loss[static_cast<std::size_t>(best - 1)]).epsilon(1e-9));
  CHECK_FALSE(m.fit_info().notes.empty());

  SUBCASE("validation_fraction: a stratified seeded split, reproducible") {
    GBDTParams q = p;
    q.validation_fraction = 0.2;
    GradientBoostedTrees a(q), b(q);
    a.fit(d.dataset());
    b.fit(d.dataset());
    CHECK(a.n_iter() < 300);
    CHECK(a.best_iteration() <= a.n_iter());
    check_same_trees(a.ensemble(), b.ensemble());
  }
  SUBCASE("without early stopping every round is kept") {
    GBDTParams q = p;
    q.early_stopping = false;
    q.n_estimators = 40;
    GradientBoostedTrees a(q);
    a.fit(d.dataset(), v.dataset());
    CHECK(a.ensemble().trees.size() == 40u);
    CHECK(a.validation_loss().size() == 40u);
    CHECK(a.best_iteration() == 40);
  }
}

TEST_CASE("booster: monotonic constraints hold when sweeping the feature") {
  // Truth non-monotone in x0 (a bump) and in x2; constrain x0 up and x2 down.
  const Index n = 6000;
  testing::TrainData d = testing::make_dense(n, 4, 10, 0.05);
  Rng rng(2);
  for (Index i = 0; i < n; ++i) {
    const float* r = d.x.data() + i * 4;
    const double m = -1.0 + 2.0 * std::sin(2.0 * r[0]) + 1.5 * std::cos(1.5 * r[2]) + r[3];
    d.y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-m)) ? 1.0 : 0.0;
  }
  GBDTParams p;
  p.n_estimators = 60;
  p.monotonic_cst = {1, 0, -1, 0};
  p.min_samples_leaf = 5;
  GradientBoostedTrees m(p);
  m.fit(d.dataset());
  std::vector<double> row(4);
  const TreePredictor& pr = m.predictor();
  for (Index i = 0; i < 200; ++i) {
    for (const int feat : {0, 2}) {
      for (Index j = 0; j < 4; ++j)
        row[static_cast<std::size_t>(j)] = d.x[static_cast<std::size_t>(i * 4 + j)];
      double prev = feat == 0 ? -1e300 : 1e300;
      for (double x = -4.0; x <= 4.0; x += 0.01) {
        row[static_cast<std::size_t>(feat)] = x;
        const double s = pr.predict_margin_row(row.data());
        if (feat == 0 ? s < prev : s > prev)
          FAIL("not monotone in feature " << feat << " at x = " << x << ", row " << i);
        prev = s;
      }
    }
  }
  // Unconstrained, the same data gives a visibly non-monotone model in x0.
  GBDTParams q = p;
  q.monotonic_cst.clear();
  GradientBoostedTrees u(q);
  u.fit(d.dataset());
  int decreases = 0;
  for (Index i = 0; i < 20; ++i) {
    for (Index j = 0; j < 4; ++j)
      row[static_cast<std::size_t>(j)] = d.x[static_cast<std::size_t>(i * 4 + j)];
    row[0] = 0.8;
    const double a = u.predictor().predict_margin_row(row.data());
    row[0] = 2.5;
    decreases += u.predictor().predict_margin_row(row.data()) < a;
  }
  CHECK(decreases > 10);
}

TEST_CASE("booster: missing values carry signal and NaN is scored everywhere") {
  // Missingness of x1 means higher risk.
  testing::TrainData d = testing::make_dense(5000, 4, 13, 0.0);
  Rng rng(4);
  for (Index i = 0; i < d.n; ++i) {
    if (rng.uniform() < 0.2) {
      d.x[static_cast<std::size_t>(i * 4 + 1)] = std::numeric_limits<float>::quiet_NaN();
      d.y[static_cast<std::size_t>(i)] = rng.uniform() < 0.6 ? 1.0 : 0.0;
    }
  }
  GradientBoostedTrees m(small_params());
  m.fit(d.dataset());
  std::vector<float> row = {0.0f, 0.0f, 0.0f, 0.0f};
  const double with_value = m.predict_proba_row(row.data());
  row[1] = std::numeric_limits<float>::quiet_NaN();
  const double missing = m.predict_proba_row(row.data());
  CHECK(missing > with_value + 0.2);
  // NaN in a feature never missing in training still gets a finite score.
  row[1] = 0.0f;
  row[0] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isfinite(m.predict_proba_row(row.data())));
}

TEST_CASE("booster: a lab coded 1 / NaN (one value plus missing) is split missing vs present") {
  // Issue 11, section 4: a lab that is either recorded (1) or absent (NaN), and whether it was
  // recorded carries the risk. It used to be dropped as "fewer than two distinct values" (AUC 0.5).
  const Index n = 2000;
  std::vector<float> x(static_cast<std::size_t>(n));
  std::vector<double> y(static_cast<std::size_t>(n));
  Rng rng(21);
  for (Index i = 0; i < n; ++i) {
    const bool recorded = rng.uniform() < 0.4;
    x[static_cast<std::size_t>(i)] = recorded ? 1.0f : std::numeric_limits<float>::quiet_NaN();
    y[static_cast<std::size_t>(i)] = rng.uniform() < (recorded ? 0.5 : 0.1) ? 1.0 : 0.0;
  }
  const Dataset data(FeatureMatrix(MatrixView<const float>::row_major(x.data(), n, 1)),
                     VectorView<const double>(y));
  GradientBoostedTrees m(small_params());
  m.fit(data);
  REQUIRE(m.ensemble().trees.size() > 0);
  const Tree& t0 = m.ensemble().trees[0];
  REQUIRE(t0.n_nodes() >= 3);  // the root is split
  CHECK(t0.feature[0] == 0);
  CHECK(t0.threshold[0] == static_cast<double>(FLT_MAX));  // every value left
  CHECK(t0.missing_left[0] == 0);                          // missing right
  for (const std::string& note : m.fit_info().notes) {
    CHECK(note.find("fewer than two distinct") == std::string::npos);
  }
  const float one = 1.0f, nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(m.predict_proba_row(&one) > m.predict_proba_row(&nan) + 0.25);
  // A value never seen in training (2) follows the present side, like 1.
  const float two = 2.0f;
  CHECK(m.predict_proba_row(&two) == m.predict_proba_row(&one));
}

TEST_CASE("booster: a model that could outgrow memory is refused before training") {
  // Issue 11, section 6: --param n_estimators=100000000 grew until the kernel killed it.
  testing::TrainData d = testing::make_dense(200, 3, 5);
  GBDTParams p = small_params();
  p.n_estimators = 100000000;
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.dataset()),
                       doctest::Contains("above the limit max_model_nodes = 4000000"),
                       InvalidParams);
  // The message says how to get past it.
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.dataset()),
                       doctest::Contains("raise max_model_nodes"), InvalidParams);
  // The estimate counts the leaves a tree can have: 200 rows / min_samples_leaf 20 = 10 leaves,
  // 19 nodes per tree.
  p.n_estimators = 220000;
  CHECK_THROWS_WITH_AS(GradientBoostedTrees(p).fit(d.dataset()),
                       doctest::Contains("trees of up to 10 leaves"), InvalidParams);
  p.max_model_nodes = 0;
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("max_model_nodes"), InvalidParams);
}

TEST_CASE("booster: constant features are reported and never split; all-constant data") {
  testing::TrainData d = testing::make_dense(800, 3, 14);
  for (Index i = 0; i < d.n; ++i) d.x[static_cast<std::size_t>(i * 3 + 2)] = 5.0f;
  GradientBoostedTrees m(small_params());
  m.fit(d.dataset());
  for (const Tree& t : m.ensemble().trees) {
    for (const auto f : t.feature) CHECK(f != 2);
  }
  REQUIRE_FALSE(m.fit_info().notes.empty());
  CHECK(m.fit_info().notes[0].find("feature 2") != std::string::npos);
  for (Index i = 0; i < d.n; ++i) {
    for (Index j = 0; j < 3; ++j) d.x[static_cast<std::size_t>(i * 3 + j)] = 1.0f;
  }
  GradientBoostedTrees c(small_params());
  c.fit(d.dataset());
  CHECK(c.n_iter() == 1);
  CHECK(c.ensemble().trees[0].n_nodes() == 1);
  const Eigen::VectorXd pr = c.predict_proba(FeatureMatrix(d.X()));
  double mean_y = 0;
  for (const double y : d.y) mean_y += y / static_cast<double>(d.n);
  CHECK(pr[0] == doctest::Approx(mean_y).epsilon(1e-3));
}

TEST_CASE("booster: state round trip predicts bit-identically; bad states are rejected") {
  const testing::TrainData d = testing::make_dense(2000, 5, 15);
  GradientBoostedTrees m(small_params());
  m.fit(d.dataset());
  const GradientBoostedTrees r = GradientBoostedTrees::from_state(m.state());
  const Eigen::VectorXd a = m.predict_proba(FeatureMatrix(d.X()));
  const Eigen::VectorXd b = r.predict_proba(FeatureMatrix(d.X()));
  CHECK((a.array() == b.array()).all());
  CHECK(r.n_iter() == 30);
  GBDTState bad = m.state();
  bad.ensemble.trees[3].feature[0] = 9;
  CHECK_THROWS_WITH_AS(GradientBoostedTrees::from_state(bad), doctest::Contains("trees[3]"),
                       InvalidInput);
  bad = m.state();
  bad.ensemble.base_score = std::nan("");
  CHECK_THROWS_WITH_AS(GradientBoostedTrees::from_state(bad), doctest::Contains("base_score"),
                       InvalidInput);
}

TEST_CASE("booster: sample weights of zero remove rows") {
  testing::TrainData d = testing::make_dense(3000, 5, 16);
  testing::TrainData half = d;
  d.w.assign(3000, 1.0);
  half.n = 1500;
  half.x.resize(1500 * 5);
  half.y.resize(1500);
  for (Index i = 1500; i < 3000; ++i) d.w[static_cast<std::size_t>(i)] = 0.0;
  GBDTParams p = small_params();
  p.min_samples_leaf = 1;
  p.bin_subsample = 0;
  GradientBoostedTrees a(p), b(p);
  a.fit(d.dataset());
  b.fit(half.dataset());
  CHECK(a.ensemble().base_score == doctest::Approx(b.ensemble().base_score).epsilon(1e-12));
  // Bin edges differ (zero-weight rows still shape the quantiles), so compare quality, not trees.
  const Eigen::VectorXd pa = a.predict_proba(FeatureMatrix(half.X()));
  const Eigen::VectorXd pb = b.predict_proba(FeatureMatrix(half.X()));
  CHECK(testing::mean_log_loss(half.y, pa.data()) ==
        doctest::Approx(testing::mean_log_loss(half.y, pb.data())).epsilon(0.05));
}

TEST_CASE("booster: clinical-sparse data trains deterministically through the CSR kernel") {
  const testing::TrainData d = testing::make_sparse(30000, 60, 21);
  GBDTParams p = small_params();
  p.n_estimators = 10;
  p.n_threads = 1;
  GradientBoostedTrees a(p);
  a.fit(d.dataset());
  p.n_threads = 2;
  p.colsample_bytree = 1.0;
  GradientBoostedTrees b(p);
  b.fit(d.dataset());
  check_same_trees(a.ensemble(), b.ensemble());
  // It learns the planted flags: the first rare flag (+1.5 on the margin) is split on.
  bool uses_flag = false;
  const std::int32_t flag = 4 + 8 * ((60 - 4) / 16);
  for (const Tree& t : a.ensemble().trees) {
    for (const auto f : t.feature) uses_flag = uses_flag || f == flag;
  }
  CHECK(uses_flag);
}
