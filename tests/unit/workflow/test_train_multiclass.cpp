// SPDX-License-Identifier: Apache-2.0
// The multiclass road of train_pipeline: detection of the task, the split into consecutive parts,
// the review threshold met on the calibration part (recounted here), and the documented handling
// of a class absent from the calibration part, one class and a bad spec.
#include <doctest/doctest.h>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/workflow/train.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// n rows of two features and a label drawn from a known softmax; `labels` names the classes
// ("" = numeric codes 0..2). Rows of class 2 only after row `first_c` when it is set.
Table mc_table(Index n, const std::vector<std::string>& labels, Index first_c = 0) {
  Rng rng(3);
  std::vector<double> a(static_cast<std::size_t>(n)), b(a.size()), y(a.size());
  for (Index i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    a[u] = rng.normal();
    b[u] = rng.normal();
    const double z[3] = {0.0, 2.0 * a[u], 2.0 * b[u] - 0.5};
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double r = rng.uniform() * s;
    y[u] = r < e[0] ? 0.0 : (r < e[0] + e[1] ? 1.0 : 2.0);
    if (i < first_c && y[u] == 2.0) y[u] = 1.0;
  }
  Table t;
  t.add_column(Column::numeric("a", a));
  t.add_column(Column::numeric("b", b));
  t.add_column(labels.empty() ? Column::numeric("y", y) : Column::categorical("y", y, labels));
  return t;
}

TrainSpec mc_spec() {
  TrainSpec s;
  s.columns.label = "y";
  s.model = ModelKind::kLogisticRegression;
  s.review.min_accuracy = 0.9;
  return s;
}

}  // namespace

TEST_CASE("multiclass workflow: text and numeric labels are detected; the review floor holds") {
  for (const bool text : {true, false}) {
    const Table t =
        mc_table(600, text ? std::vector<std::string>{"x", "b", "a"} : std::vector<std::string>{});
    const TrainResult r = train_pipeline(t, mc_spec());
    REQUIRE(r.n_classes == 3);
    // Classes sorted: text by bytes (code 2 "a" first), numbers numerically.
    CHECK(r.classes == (text ? std::vector<std::string>{"a", "b", "x"}
                             : std::vector<std::string>{"0", "1", "2"}));
    CHECK(r.pipeline->n_classes() == 3);
    CHECK(r.train.rows.size() == 360);  // no group / time column: consecutive 60/20/20 blocks
    CHECK(r.calibration.rows.front() == 360);
    // Recount the calibration part's auto-routed accuracy at the chosen threshold.
    const double t_review = r.pipeline->review_policy()->thresholds[0];
    double n_auto = 0, n_right = 0;
    for (Index i = 0; i < r.calibration.P.rows(); ++i) {
      Index best = 0;
      for (Index k = 1; k < 3; ++k)
        if (r.calibration.P(i, k) > r.calibration.P(i, best)) best = k;
      if (r.calibration.P(i, best) < t_review) continue;
      n_auto += 1;
      n_right += static_cast<double>(best) == r.calibration.y[static_cast<std::size_t>(i)];
    }
    CHECK(r.review_calibration.feasible);
    CHECK(n_right / n_auto >= 0.9);
    CHECK(n_auto == r.review_calibration.overall.n_auto);
  }
}

TEST_CASE("multiclass workflow: a class absent from the calibration part") {
  // Class 2 appears only in the test part (rows >= 480 of 600).
  const Table t = mc_table(600, {"p", "q", "r"}, 480);
  TrainSpec s = mc_spec();
  s.task = TaskKind::kMulticlass;
  CHECK_THROWS_WITH_AS(train_pipeline(t, s), doctest::Contains("no rows in the training part"),
                       InvalidInput);
  // Class 2 in training and test rows only (not 360..479): temperature scaling fits one
  // parameter and accepts it; one-vs-rest names the class.
  Table t2 = mc_table(600, {"p", "q", "r"});
  std::vector<double> y = t2.column("y").values;
  for (std::size_t i = 360; i < 480; ++i)
    if (y[i] == 2.0) y[i] = 1.0;
  Table t3;
  t3.add_column(t2.column("a"));
  t3.add_column(t2.column("b"));
  t3.add_column(Column::categorical("y", y, {"p", "q", "r"}));
  CHECK_NOTHROW(train_pipeline(t3, s));
  s.multiclass_calibration = MulticlassCalibration::kOvrSigmoid;
  CHECK_THROWS_WITH_AS(train_pipeline(t3, s),
                       doctest::Contains("class 'r' has no rows in the calibration part"),
                       InvalidInput);
}

TEST_CASE("multiclass workflow: bad specs and labels") {
  TrainSpec s = mc_spec();
  s.model = ModelKind::kGradientBoostedTrees;
  s.gbdt.monotonic_cst = {1, 0};  // refused by the softmax booster (K > 2)
  CHECK_THROWS_AS(train_pipeline(mc_table(600, {"a", "b", "c"}), s), InvalidParams);
  s = mc_spec();
  s.task = TaskKind::kMulticlass;
  std::vector<double> one(100, 0.0);
  Table t;
  t.add_column(Column::numeric("a", one));
  t.add_column(Column::categorical("y", one, {"only"}));
  CHECK_THROWS_WITH_AS(train_pipeline(t, s), doctest::Contains("holds 1 class"), InvalidInput);
  s.review = ReviewOptions{};  // no policy at all
  CHECK_THROWS_AS(train_pipeline(mc_table(600, {"a", "b", "c"}), s), InvalidParams);
}

TEST_CASE("multiclass workflow: softmax trees in a K-class pipeline") {
  // The pipeline's raw scores are those of a softmax booster fitted by hand on exactly the
  // training part with the workflow's tree parameters; the file keeps them bit for bit; the
  // per-class TreeSHAP of explain_class sums to the class's raw score.
  TrainSpec s = mc_spec();
  s.model = ModelKind::kGradientBoostedTrees;
  s.gbdt.n_estimators = 20;
  const TrainResult r = train_pipeline(mc_table(900, {"x", "b", "a"}), s);
  REQUIRE(r.n_classes == 3);
  const Pipeline& pipe = *r.pipeline;
  REQUIRE(pipe.n_classes() == 3);
  REQUIRE(std::holds_alternative<GradientBoostedTrees>(pipe.parts().model));
  GBDTParams hp = s.gbdt;
  hp.early_stopping = false;  // the workflow's rule below 10,000 training rows
  GradientBoostedTrees hand(hp);
  hand.fit(Dataset(FeatureMatrix(view(r.train.X)), VectorView<const double>(r.train.y)), 3);
  const Index n = r.test.X.rows();
  RowMatrixXd z_hand(n, 3), z_pipe(n, 3), z_loaded(n, 3);
  hand.decision_matrix(FeatureMatrix(view(r.test.X)), view_mut(z_hand));
  pipe.decision_matrix(FeatureMatrix(view(r.test.X)), view_mut(z_pipe));
  CHECK(z_hand == z_pipe);
  const Pipeline loaded = load_from_string(to_string(pipe));
  loaded.decision_matrix(FeatureMatrix(view(r.test.X)), view_mut(z_loaded));
  CHECK(z_loaded == z_pipe);
  CHECK(loaded.predict_proba_matrix(FeatureMatrix(view(r.test.X))) == r.test.P);
  std::vector<double> phi(2);
  for (Index i = 0; i < 5; ++i) {
    const RowMatrixXd row = r.test.X.row(i);
    for (int k = 0; k < 3; ++k) {
      const double base = pipe.explain_class(row.data(), k, phi.data());
      CHECK(base + phi[0] + phi[1] == doctest::Approx(z_pipe(i, k)).epsilon(1e-12));
    }
  }
}
