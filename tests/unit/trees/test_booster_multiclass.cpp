// SPDX-License-Identifier: Apache-2.0
// GradientBoostedTrees with K >= 3 classes (softmax boosting): the first round against a hand
// computation, probabilities, K = 2 against the binary fit, thread-count determinism, class
// weights, early stopping, categorical features, TreeSHAP per class, the state round trip and
// the errors of bad input.
#include <doctest/doctest.h>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/trees/explain.hpp>

#include "unit/artifact/golden.hpp"

#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// n rows, 4 numeric features and one categorical code column (5 levels); the class is drawn
// from softmax(scores) with class-specific scores of the features (known truth).
struct McData {
  Eigen::MatrixXd X;
  std::vector<double> y;
};

McData make_mc(Index n, int K, std::uint64_t seed, bool with_cat = false) {
  McData d;
  const Index nf = with_cat ? 5 : 4;
  d.X.resize(n, nf);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed, 7);
  std::vector<double> s(static_cast<std::size_t>(K));
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < 4; ++j) d.X(i, j) = rng.uniform() * 2.0 - 1.0;
    if (with_cat) d.X(i, 4) = static_cast<double>(rng.below(5));
    double mx = -1e300;
    for (int k = 0; k < K; ++k) {
      double v = 2.0 * d.X(i, k % 4) - 1.0 * d.X(i, (k + 1) % 4);
      if (with_cat) v += static_cast<int>(d.X(i, 4)) % K == k ? 2.0 : 0.0;
      s[static_cast<std::size_t>(k)] = v;
      mx = std::max(mx, v);
    }
    double tot = 0.0;
    for (double& v : s) tot += (v = std::exp(v - mx));
    double u = rng.uniform() * tot;
    int c = 0;
    while (c < K - 1 && u >= s[static_cast<std::size_t>(c)]) u -= s[static_cast<std::size_t>(c++)];
    d.y[static_cast<std::size_t>(i)] = c;
  }
  return d;
}

Dataset dataset(const McData& d) { return Dataset(view(d.X), VectorView<const double>(d.y)); }

Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> proba(
    const GradientBoostedTrees& m, const Eigen::MatrixXd& X) {
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> P(X.rows(), m.n_classes());
  m.predict_proba_matrix(view(X), MatrixView<double>::row_major(P.data(), P.rows(), P.cols()));
  return P;
}

Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> raw(
    const GradientBoostedTrees& m, const Eigen::MatrixXd& X) {
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Z(X.rows(), m.n_classes());
  m.decision_matrix(view(X), MatrixView<double>::row_major(Z.data(), Z.rows(), Z.cols()));
  return Z;
}

double weighted_log_loss(
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& P,
    const std::vector<double>& y) {
  double s = 0.0;
  for (Index i = 0; i < P.rows(); ++i) s -= std::log(P(i, static_cast<Index>(y[i])));
  return s / static_cast<double>(P.rows());
}

}  // namespace

TEST_CASE("multiclass trees: the first round matches a hand computation") {
  // One feature, 3 classes; x < 0.5 holds classes {0: 3, 1: 1, 2: 0}, x > 0.5 holds
  // {0: 0, 1: 2, 2: 2}. Priors 3/8, 3/8, 2/8 -> base_k = log p_k - mean_j log p_j.
  Eigen::MatrixXd X(8, 1);
  X << 0, 0, 0, 0, 1, 1, 1, 1;
  const std::vector<double> y{0, 0, 0, 1, 1, 1, 2, 2};
  GBDTParams p;
  p.n_estimators = 1;
  p.max_leaf_nodes = 2;
  p.min_samples_leaf = 1;
  p.min_child_weight = 0.0;
  p.l2_regularization = 0.5;
  p.learning_rate = 0.3;
  GradientBoostedTrees m(p);
  m.fit(Dataset(view(X), VectorView<const double>(y)), 3);
  REQUIRE(m.n_classes() == 3);
  const double prior[3] = {3.0 / 8, 3.0 / 8, 2.0 / 8};
  const double mean_log = (std::log(prior[0]) + std::log(prior[1]) + std::log(prior[2])) / 3.0;
  // Softmax of the centred log priors is the priors themselves; each class's tree splits x and
  // its leaf is -lr * sum(p_k - y_k) / (sum p_k (1 - p_k) + l2) over the leaf's rows.
  const int left_counts[3] = {3, 1, 0}, right_counts[3] = {0, 2, 2};
  const auto Z = raw(m, X);
  for (int k = 0; k < 3; ++k) {
    CAPTURE(k);
    const double base = std::log(prior[k]) - mean_log;
    CHECK(m.class_ensemble(k).base_score == doctest::Approx(base).epsilon(1e-15));
    const double h = prior[k] * (1.0 - prior[k]);
    const double leaf_l = -0.3 * (4 * prior[k] - left_counts[k]) / (4 * h + 0.5);
    const double leaf_r = -0.3 * (4 * prior[k] - right_counts[k]) / (4 * h + 0.5);
    // Gradients are single precision in the histograms: agreement to ~1e-7 relative.
    CHECK(Z(0, k) == doctest::Approx(base + leaf_l).epsilon(1e-6));
    CHECK(Z(7, k) == doctest::Approx(base + leaf_r).epsilon(1e-6));
  }
}

TEST_CASE("multiclass trees: probabilities sum to 1 and the row path equals the batch") {
  const McData d = make_mc(3000, 4, 11);
  GBDTParams p;
  p.n_estimators = 20;
  GradientBoostedTrees m(p);
  m.fit(dataset(d), 4);
  CHECK(m.n_iter() == 20);
  const auto P = proba(m, d.X);
  std::vector<double> out(4);
  std::vector<float> rowf(4);
  int correct = 0;
  for (Index i = 0; i < P.rows(); ++i) {
    CHECK(P.row(i).sum() == doctest::Approx(1.0).epsilon(1e-12));
    const Eigen::VectorXd row = d.X.row(i).transpose();
    m.predict_proba_row(row.data(), out.data());
    for (int k = 0; k < 4; ++k) CHECK(out[static_cast<std::size_t>(k)] == P(i, k));  // same bits
    Index arg = 0;
    P.row(i).maxCoeff(&arg);
    correct += static_cast<double>(arg) == d.y[static_cast<std::size_t>(i)];
  }
  // The Bayes rule of the generator gets ~60%; a constant model 25-35%.
  CHECK(correct > 0.5 * static_cast<double>(P.rows()));
  // Binary-only accessors refuse a multiclass model.
  CHECK_THROWS_WITH_AS(m.predict_proba(view(d.X)), doctest::Contains("4 classes"), InvalidInput);
  CHECK_THROWS_AS(m.ensemble(), InvalidInput);
}

TEST_CASE("multiclass trees: n_classes = 2 is the binary model, byte for byte") {
  const McData d = make_mc(2000, 2, 5);
  GBDTParams p;
  p.n_estimators = 15;
  p.subsample = 0.8;
  GradientBoostedTrees a(p), b(p);
  a.fit(dataset(d));
  b.fit(dataset(d), 2);
  CHECK(encode_model(a) == encode_model(b));
  CHECK(b.n_classes() == 2);
  const auto P = proba(b, d.X);
  const Eigen::VectorXd p1 = a.predict_proba(view(d.X));
  for (Index i = 0; i < 50; ++i) CHECK(P(i, 1) == p1[i]);
  // Refitting a multiclass model as a binary one leaves no class ensembles behind.
  const McData d3 = make_mc(500, 3, 6);
  GradientBoostedTrees c(p);
  c.fit(dataset(d3), 3);
  CHECK(c.n_classes() == 3);
  c.fit(dataset(d));
  CHECK(c.n_classes() == 2);
  CHECK(encode_model(c) == encode_model(a));
}

TEST_CASE("multiclass trees: the model bytes do not depend on the thread count") {
  const McData d = make_mc(20000, 3, 3, true);
  GBDTParams p;
  p.n_estimators = 8;
  p.subsample = 0.7;
  p.colsample_bytree = 0.8;
  p.categorical_features = {4};
  p.early_stopping = true;
  std::string bytes[3];
  const int threads[3] = {1, 2, 3};
  for (int r = 0; r < 3; ++r) {
    p.n_threads = threads[r];
    GradientBoostedTrees m(p);
    m.fit(dataset(d), 3);
    bytes[r] = encode_model(m);
  }
  CHECK(bytes[0] == bytes[1]);
  CHECK(bytes[0] == bytes[2]);
}

TEST_CASE("multiclass trees: balanced class weights equal explicit n / (K n_c) weights") {
  McData d = make_mc(1500, 3, 8);
  std::vector<double> counts(3, 0.0);
  for (const double v : d.y) counts[static_cast<std::size_t>(v)] += 1.0;
  GBDTParams p;
  p.n_estimators = 5;
  p.class_weight = ClassWeight::balanced();
  GradientBoostedTrees a(p);
  a.fit(dataset(d), 3);
  std::vector<double> w;
  for (const double c : counts) w.push_back(1500.0 / (3.0 * c));
  p.class_weight = ClassWeight::per_class_weights(w);
  GradientBoostedTrees b(p);
  b.fit(dataset(d), 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(a.class_ensemble(k).base_score == doctest::Approx(b.class_ensemble(k).base_score));
    CHECK(a.class_ensemble(k).trees[0].value == b.class_ensemble(k).trees[0].value);
  }
  // Balanced weights make the weighted priors equal: base scores 0.
  for (int k = 0; k < 3; ++k) CHECK(std::abs(a.class_ensemble(k).base_score) < 1e-12);
  // Sample weights of 2 on every row are the same as no weights (a scale of the loss) except
  // for min_child_weight; with it 0 the trees are identical.
  GBDTParams q;
  q.n_estimators = 5;
  q.min_child_weight = 0.0;
  GradientBoostedTrees u(q), v(q);
  u.fit(dataset(d), 3);
  const std::vector<double> two(d.y.size(), 2.0);
  v.fit(Dataset(view(d.X), VectorView<const double>(d.y), VectorView<const double>(two)), 3);
  const auto Pu = proba(u, d.X), Pv = proba(v, d.X);
  CHECK((Pu - Pv).cwiseAbs().maxCoeff() < 1e-6);  // float gradients: 2 g rounds like g
}

TEST_CASE("multiclass trees: early stopping on the validation log-loss keeps the best round") {
  const McData d = make_mc(4000, 3, 21), v = make_mc(1000, 3, 22);
  GBDTParams p;
  p.n_estimators = 300;
  p.learning_rate = 0.5;
  p.early_stopping = true;
  p.n_iter_no_change = 5;
  GradientBoostedTrees m(p);
  m.fit(dataset(d), dataset(v), 3);
  CHECK(m.n_iter() < 300);
  CHECK(m.best_iteration() == m.n_iter() - 5);
  REQUIRE(static_cast<int>(m.validation_loss().size()) == m.n_iter());
  // The recorded loss of the best round equals the log-loss of the kept model on v.
  const double loss = weighted_log_loss(proba(m, v.X), v.y);
  CHECK(m.validation_loss()[static_cast<std::size_t>(m.best_iteration() - 1)] ==
        doctest::Approx(loss).epsilon(1e-12));
  CHECK(m.class_ensemble(2).trees.size() == static_cast<std::size_t>(m.best_iteration()));
}

TEST_CASE("multiclass trees: categorical features split by category sets") {
  const McData d = make_mc(6000, 3, 4, true);
  GBDTParams p;
  p.n_estimators = 30;
  p.categorical_features = {4};
  GradientBoostedTrees m(p);
  m.fit(dataset(d), 3);
  bool has_cat = false;
  for (int k = 0; k < 3; ++k) {
    for (const Tree& t : m.class_ensemble(k).trees) has_cat = has_cat || !t.cat_begin.empty();
  }
  CHECK(has_cat);
  // Forcing target statistics falls back to partitions, with a note.
  p.cat_encoding = CategoricalEncoding::kTargetStats;
  GradientBoostedTrees ts(p);
  ts.fit(dataset(d), 3);
  bool noted = false;
  for (const auto& note : ts.fit_info().notes)
    noted = noted || note.find("partition") != std::string::npos;
  CHECK(noted);
  CHECK(encode_model(ts).find("class_trees") != std::string::npos);
}

TEST_CASE("multiclass trees: TreeSHAP per class sums to the class raw score") {
  const McData d = make_mc(2000, 3, 9, true);
  GBDTParams p;
  p.n_estimators = 10;
  p.categorical_features = {4};
  GradientBoostedTrees m(p);
  m.fit(dataset(d), 3);
  const auto Z = raw(m, d.X);
  const Index n = 100, nf = d.X.cols();
  const Eigen::MatrixXd Xs = d.X.topRows(n);
  for (int k = 0; k < 3; ++k) {
    TreeExplainer ex(m.class_ensemble(k));
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> C(n, nf + 1);
    ex.contributions(view(Xs), MatrixView<double>::row_major(C.data(), n, nf + 1));
    for (Index i = 0; i < n; ++i) CHECK(C.row(i).sum() == doctest::Approx(Z(i, k)).epsilon(1e-9));
  }
}

TEST_CASE("multiclass trees: the state round-trips through the codec bit-identically") {
  const McData d = make_mc(1500, 3, 2, true);
  GBDTParams p;
  p.n_estimators = 6;
  p.categorical_features = {4};
  GradientBoostedTrees m(p);
  m.fit(dataset(d), 3);
  const std::string text = encode_model(m);
  const auto back = std::get<GradientBoostedTrees>(decode_model(text));
  CHECK(encode_model(back) == text);
  const auto P = proba(m, d.X), Q = proba(back, d.X);
  CHECK(P == Q);
  // A class without its trees is rejected, naming the path.
  std::string bad = text;
  const auto at = bad.find("\"n_classes\":3");
  REQUIRE(at != std::string::npos);
  bad.replace(at, 13, "\"n_classes\":4");
  CHECK_THROWS_WITH_AS(decode_model(bad), doctest::Contains("n_classes is 4"), ModelFormatError);
}

TEST_CASE("multiclass trees: bad input gets a clear error") {
  McData d = make_mc(300, 3, 1);
  GBDTParams p;
  p.n_estimators = 2;
  SUBCASE("one class only") {
    std::vector<double> y0(d.y.size(), 0.0);
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(Dataset(view(d.X), VectorView<const double>(y0)), 3),
                         doctest::Contains("class 1 of 3 has no rows"), InvalidInput);
  }
  SUBCASE("a class absent from the training data") {
    for (double& v : d.y) v = v == 2.0 ? 1.0 : v;
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), 3), doctest::Contains("class 2 of 3 has no rows"),
                         InvalidInput);
  }
  SUBCASE("a label that is not a class index") {
    d.y[7] = 3.0;
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), 3), doctest::Contains("y[7] is 3"), InvalidInput);
  }
  SUBCASE("more classes than kMaxClasses") {
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), kMaxClasses + 1), doctest::Contains("between 2 and"),
                         InvalidParams);
  }
  SUBCASE("monotonic constraints") {
    p.monotonic_cst = {1, 0, 0, 0};
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), 3), doctest::Contains("binary models only"),
                         InvalidParams);
  }
  SUBCASE("scale_pos_weight") {
    p.scale_pos_weight = 2.0;
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), 3), doctest::Contains("class_weight"), InvalidParams);
  }
  SUBCASE("per-class weights of another class count") {
    p.class_weight = ClassWeight::per_class_weights({1.0, 2.0});
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), 3), doctest::Contains("one weight per class"),
                         InvalidParams);
  }
  SUBCASE("a validation label outside the classes") {
    McData v = make_mc(50, 3, 2);
    v.y[3] = 5.0;
    GradientBoostedTrees m(p);
    CHECK_THROWS_WITH_AS(m.fit(dataset(d), dataset(v), 3), doctest::Contains("validation set"),
                         InvalidInput);
  }
  SUBCASE("a wrong output shape") {
    GradientBoostedTrees m(p);
    m.fit(dataset(d), 3);
    std::vector<double> out(static_cast<std::size_t>(d.X.rows()) * 2);
    const auto ov = MatrixView<double>::row_major(out.data(), d.X.rows(), 2);
    CHECK_THROWS_WITH_AS(m.predict_proba_matrix(view(d.X), ov),
                         doctest::Contains("one column per class"), InvalidInput);
  }
}

TEST_CASE("multiclass trees: the golden 1.6 model scores bit-identically") {
  // tests/golden/format-1.6/README.md: written by make_multiclass.py when format 1.6 added
  // multiclass trees; the probabilities were stored with 17 significant digits.
  const auto dir = calibrisk::test::kGolden / "format-1.6";
  std::ifstream in(dir / "gbdt_multiclass.model");
  REQUIRE(in);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto m = std::get<GradientBoostedTrees>(decode_model(text));
  REQUIRE(m.n_classes() == 4);
  CHECK(encode_model(m) == text);  // the bytes are kept
  const auto rows = calibrisk::test::read_csv(dir / "rows_multiclass.csv");
  const auto expected = calibrisk::test::read_csv(dir / "gbdt_multiclass.proba.csv");
  REQUIRE(rows.size() == expected.size());
  std::vector<double> out(4);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    m.predict_proba_row(rows[i].data(), out.data());
    for (std::size_t k = 0; k < 4; ++k) CHECK_MESSAGE(out[k] == expected[i][k], "row " << i);
  }
}
