// SPDX-License-Identifier: Apache-2.0
// --model auto (select_model, docs/defaults.md): the choice follows the known truth of synthetic
// data (a linear logit -> logistic regression, a pure interaction -> boosted trees, a sum of steps
// in single features -> trees of one split), its held-out
// loss and the calibration choice's (on the calibration part) are recomputed here from folds built
// by hand, the model choice never reads the calibration or test rows, and an explicit model trains
// exactly as before.
#include <doctest/doctest.h>

#include "cli/progress.hpp"
#include "cli/train_flow.hpp"
#include "workflow/stages.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/workflow/data.hpp>
#include <calibrisk/workflow/train.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

enum class Truth { kLinear, kInteraction, kAdditiveSteps };

// n rows in file order (no group or time column), features x1..x4 standard normal.
// kLinear: logit = 1.2 x1 - 0.8 x2 + 0.5 x3 (x4 noise): the logistic model is the truth.
// kInteraction: logit = 3 sign(x1 x2): no linear function of the features carries any signal.
// kAdditiveSteps: logit = 2.5 [x1 > 0.5] - 2.5 [x2 > -0.5] + 2 [|x3| > 1]: a sum of step functions
// of single features, i.e. exactly what trees of one split can represent; no interaction, and
// not linear (the |x3| term has no linear part at all).
std::string csv(Truth truth, int n, std::uint64_t seed, const std::vector<int>& flip = {}) {
  Rng rng(seed, 0);
  std::vector<int> y(static_cast<std::size_t>(n));
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    double x[4];
    for (double& v : x) v = rng.normal();
    double logit = 0.0;
    if (truth == Truth::kLinear) {
      logit = 1.2 * x[0] - 0.8 * x[1] + 0.5 * x[2];
    } else if (truth == Truth::kInteraction) {
      logit = 3.0 * (x[0] * x[1] > 0 ? 1.0 : -1.0);
    } else {
      logit = 2.5 * (x[0] > 0.5) - 2.5 * (x[1] > -0.5) + 2.0 * (std::abs(x[2]) > 1.0);
    }
    y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-logit)) ? 1 : 0;
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.6f,%.6f,%.6f,%.6f,", x[0], x[1], x[2], x[3]);
    lines.emplace_back(buf);
  }
  for (int i : flip) y[static_cast<std::size_t>(i)] = 1 - y[static_cast<std::size_t>(i)];
  std::string s = "x1,x2,x3,x4,y\n";
  for (int i = 0; i < n; ++i) s += lines[static_cast<std::size_t>(i)] + std::to_string(y[i]) + "\n";
  return s;
}

Table table_of(const std::string& text) {
  ColumnRoles r;
  r.label = "y";
  return parse_csv(text, training_read_options(r, {"x1", "x2", "x3", "x4", "y"}));
}

TrainSpec auto_spec() {
  TrainSpec spec;
  spec.columns.label = "y";
  spec.model = ModelKind::kAuto;
  spec.lr.n_threads = spec.gbdt.n_threads = 1;
  return spec;
}

std::string prov(const TrainResult& r, const std::string& key) {
  return cli::provenance_value(*r.pipeline, key);
}

// The "model" section of the saved file: what the model is, byte for byte.
std::string model_bytes(const TrainResult& r) {
  return nlohmann::json::parse(to_string(*r.pipeline))["model"].dump();
}

}  // namespace

TEST_CASE("model auto: a linear logit picks logistic regression, an interaction boosted trees") {
  SUBCASE("linear") {
    const TrainResult r = train_pipeline(table_of(csv(Truth::kLinear, 3000, 1)), auto_spec());
    REQUIRE(r.selection.used);
    CHECK(r.selection.chosen == "lr");
    CHECK(prov(r, "model") == "lr");
    CHECK(std::holds_alternative<LogisticRegression>(r.pipeline->model()));
  }
  SUBCASE("interaction") {
    const TrainResult r = train_pipeline(table_of(csv(Truth::kInteraction, 3000, 2)), auto_spec());
    CHECK(r.selection.chosen == "gbdt");
    CHECK(prov(r, "model") == "gbdt");
    // The logistic model is no better than the base rate here, and neither is a sum of functions
    // of single features (trees of one split); the trees are far better.
    REQUIRE(r.selection.candidates.size() == 3);
    CHECK(r.selection.candidates[0].auc < 0.6);
    CHECK(r.selection.candidates[1].auc > 0.8);
    CHECK(r.selection.candidates[2].name == "gbdt_additive");
    CHECK(r.selection.candidates[2].auc < 0.6);
  }
  SUBCASE("additive steps") {
    const TrainResult r =
        train_pipeline(table_of(csv(Truth::kAdditiveSteps, 3000, 3)), auto_spec());
    CHECK(r.selection.chosen == "gbdt_additive");
    CHECK(prov(r, "model") == "gbdt");
    CHECK(prov(r, "model.max_depth") == "1");
    // Without early stopping it fits 3 x n_estimators trees of one split each.
    const TreeEnsemble& e = std::get<GradientBoostedTrees>(r.pipeline->model()).state().ensemble;
    CHECK(e.trees.size() ==
          static_cast<std::size_t>(kSelectionAdditiveRoundsFactor * auto_spec().gbdt.n_estimators));
    for (const Tree& tree : e.trees) CHECK(tree.max_depth() <= 1);
    // The known truth: the sum of steps beats the linear model and the trees with interactions.
    REQUIRE(r.selection.candidates.size() == 3);
    CHECK(r.selection.candidates[2].log_loss < r.selection.candidates[0].log_loss);
    CHECK(r.selection.candidates[2].log_loss < r.selection.candidates[1].log_loss);
  }
}

TEST_CASE("model auto: the lr candidate's held-out loss equals hand-built entry-order folds") {
  // Oracle: without group and time columns every row is its own group in file order, so fold f of
  // 5 is the contiguous block of training positions i with floor((i + 0.5) * 5 / n) == f; a
  // LogisticRegression fitted by hand on the other folds scores it, and the pooled log loss is
  // computed here from its definition.
  const Table t = table_of(csv(Truth::kLinear, 1000, 3));
  const TrainResult r = train_pipeline(t, auto_spec());
  const Index n = static_cast<Index>(r.train.y.size());
  REQUIRE(r.selection.held_out_rows == n);
  CHECK(r.selection.method.find("5 folds") == 0);
  std::vector<double> p(static_cast<std::size_t>(n));
  for (int f = 0; f < 5; ++f) {
    std::vector<Index> fit, out;
    for (Index i = 0; i < n; ++i) {
      const int fold =
          static_cast<int>((static_cast<double>(i) + 0.5) * 5 / static_cast<double>(n));
      (fold == f ? out : fit).push_back(i);
    }
    const RowMatrixXd Xf = take_rows(r.train.X, fit), Xo = take_rows(r.train.X, out);
    const std::vector<double> yf = take(r.train.y, fit);
    LogisticRegression m(auto_spec().lr);
    m.fit(Dataset(FeatureMatrix(view(Xf)), VectorView<const double>(yf)));
    const Eigen::VectorXd q = m.predict_proba(FeatureMatrix(view(Xo)));
    for (std::size_t j = 0; j < out.size(); ++j) p[static_cast<std::size_t>(out[j])] = q[j];
  }
  double loss = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double pi = p[static_cast<std::size_t>(i)];
    loss -= r.train.y[static_cast<std::size_t>(i)] == 1.0 ? std::log(pi) : std::log1p(-pi);
  }
  loss /= static_cast<double>(n);
  REQUIRE(r.selection.candidates[0].name == "lr");
  CHECK(r.selection.candidates[0].log_loss == doctest::Approx(loss).epsilon(1e-12));

  // The calibration choice, on the calibration part: 5 interleaved folds (position mod 5); each
  // method is fitted on four and scores the fifth; "none" scores the model's own probabilities.
  // Recomputed here for none and platt.
  REQUIRE(r.selection.chosen == "lr");
  REQUIRE(r.selection.calibration_log_loss.size() == 4);
  const Index nc = static_cast<Index>(r.calibration.y.size());
  const std::vector<double> pc(r.calibration.p_model.data(), r.calibration.p_model.data() + nc);
  const std::vector<double>& yc = r.calibration.y;
  double none = 0.0, platt = 0.0;
  for (int f = 0; f < 5; ++f) {
    std::vector<double> sf, yf;
    for (Index i = 0; i < nc; ++i) {
      if (i % 5 == f) continue;
      sf.push_back(pc[static_cast<std::size_t>(i)]);
      yf.push_back(yc[static_cast<std::size_t>(i)]);
    }
    PlattParams pp;
    pp.input = ScoreKind::kProbability;
    PlattCalibrator c(pp);
    c.fit(VectorView<const double>(sf), VectorView<const double>(yf));
    for (Index i = f; i < nc; i += 5) {
      const double yi = yc[static_cast<std::size_t>(i)], pi = pc[static_cast<std::size_t>(i)];
      const double qi = c.predict(VectorView<const double>(&pi, 1))[0];
      none -= (yi == 1.0 ? std::log(pi) : std::log1p(-pi)) / static_cast<double>(nc);
      platt -= (yi == 1.0 ? std::log(qi) : std::log1p(-qi)) / static_cast<double>(nc);
    }
  }
  CHECK(r.selection.calibration_log_loss[0].first == "none");
  CHECK(r.selection.calibration_log_loss[0].second == doctest::Approx(none).epsilon(1e-12));
  CHECK(r.selection.calibration_log_loss[1].first == "platt");
  CHECK(r.selection.calibration_log_loss[1].second == doctest::Approx(platt).epsilon(1e-9));
  // The logistic model is the truth here: its own probabilities are calibrated, and the simplest
  // method within noise is kept.
  CHECK(r.selection.calibration_chosen == "none");
  CHECK(prov(r, "calibration") == "none");
  CHECK(prov(r, "selection.calibration.chosen") == "none");
}

TEST_CASE("model auto: the calibration choice fixes probabilities that are known to be off") {
  // A rare event (logit -3 + 1.5 x1) fitted with class_weight=balanced: both candidates then
  // over-predict by design (the weights move the intercept by about log(prevalence odds)), so
  // keeping the model's probabilities ("none") must lose to a recalibration.
  std::string text = "x1,x2,x3,x4,y\n";
  Rng rng(9, 0);
  for (int i = 0; i < 3000; ++i) {
    const double x1 = rng.normal(), x2 = rng.normal();
    const bool y = rng.uniform() < 1.0 / (1.0 + std::exp(3.0 - 1.5 * x1));
    text += std::to_string(x1) + "," + std::to_string(x2) + ",0,0," + (y ? "1" : "0") + "\n";
  }
  TrainSpec spec = auto_spec();
  set_auto_parameter(spec, "class_weight", "balanced");
  const TrainResult r = train_pipeline(table_of(text), spec);
  REQUIRE(r.selection.calibration_log_loss.size() == 4);
  CHECK(r.selection.calibration_chosen != "none");
  CHECK(r.selection.calibration_log_loss[0].second > r.selection.calibration_log_loss[1].second);
  CHECK(prov(r, "calibration") == r.selection.calibration_chosen);
  // Not chosen when the user names a calibration (the CLI and Python clear the flag).
  spec.selection.calibration = false;
  const TrainResult k = train_pipeline(table_of(text), spec);
  CHECK(k.selection.calibration_log_loss.empty());
  CHECK(prov(k, "calibration") == "beta");
  CHECK(prov(k, "selection.calibration.chosen").empty());
  cli::TrainConfig cfg;
  cfg.roles.label = "y";
  CHECK(cli::train_spec(cfg).selection.calibration);
  cfg.calibration = "platt";
  cfg.calibration_given = true;
  CHECK_FALSE(cli::train_spec(cfg).selection.calibration);
  CHECK(cli::train_spec(cfg).calibration == CalibrationMethod::kPlatt);
}

TEST_CASE("model auto: the calibration and test rows' labels do not change the choice or model") {
  for (const bool large : {false, true}) {
    INFO((large ? "holdout (early stopping)" : "folds"));
    TrainSpec spec = auto_spec();
    if (large) spec.early_stopping_min_rows = 100;  // make the 1,200-row training part "large"
    const TrainResult a = train_pipeline(table_of(csv(Truth::kInteraction, 2000, 4)), spec);
    // Flip every label of the calibration and test parts (the split does not read labels).
    std::vector<int> flip;
    for (const auto* part : {&a.calibration, &a.test}) {
      for (const Index i : part->rows) flip.push_back(static_cast<int>(i));
    }
    const TrainResult b = train_pipeline(table_of(csv(Truth::kInteraction, 2000, 4, flip)), spec);
    CHECK(b.calibration.y != a.calibration.y);  // the perturbation reached the table
    CHECK(b.selection.chosen == a.selection.chosen);
    REQUIRE(b.selection.candidates.size() == a.selection.candidates.size());
    for (std::size_t c = 0; c < a.selection.candidates.size(); ++c) {
      CHECK(b.selection.candidates[c].log_loss == a.selection.candidates[c].log_loss);
      CHECK(b.selection.candidates[c].auc == a.selection.candidates[c].auc);
    }
    CHECK(model_bytes(b) == model_bytes(a));
    if (large) {
      CHECK(a.selection.method.find("holdout") == 0);
      CHECK(a.selection.candidates.size() == 5);  // lr, gbdt, gbdt_leaf20, gbdt_wide, additive
      // The holdout is the final fit's early-stopping validation part.
      CHECK(a.selection.held_out_rows == a.early_stopping.validation_rows);
    }
  }
}

TEST_CASE(
    "model auto: the pick trains exactly as the explicit model; explicit runs record no choice") {
  const Table t = table_of(csv(Truth::kInteraction, 2000, 5));
  TrainSpec spec = auto_spec();
  spec.early_stopping_min_rows = 100;
  const TrainResult a = train_pipeline(t, spec);
  REQUIRE(a.selection.used);
  TrainSpec explicit_spec = spec;
  explicit_spec.model = *model_kind_from_name(prov(a, "model"));
  if (a.selection.chosen == "gbdt_leaf20") explicit_spec.gbdt.min_samples_leaf = 20;
  if (a.selection.chosen == "gbdt_wide") {
    explicit_spec.gbdt.min_samples_leaf = kSelectionWideLeaf;
    explicit_spec.gbdt.max_leaf_nodes = kSelectionWideLeaves;
  }
  if (a.selection.chosen == "gbdt_additive") explicit_spec.gbdt.max_depth = 1;
  const TrainResult e = train_pipeline(t, explicit_spec);
  CHECK_FALSE(e.selection.used);
  CHECK(model_bytes(e) == model_bytes(a));
  CHECK(prov(e, "selection").empty());
  CHECK(prov(e, "selection.chosen").empty());
  // Provenance of the choice: every candidate's held-out figures and the pick.
  CHECK(prov(a, "selection.chosen") == a.selection.chosen);
  CHECK(prov(a, "selection.candidates") == "lr,gbdt,gbdt_leaf20,gbdt_wide,gbdt_additive");
  CHECK(prov(a, "selection.method").find("early-stopping validation part") != std::string::npos);
  CHECK(prov(a, "selection.held_out_rows") == std::to_string(a.selection.held_out_rows));
  for (const auto& c : a.selection.candidates) {
    CHECK(std::stod(prov(a, "selection." + c.name + ".log_loss")) == c.log_loss);
    CHECK(std::stod(prov(a, "selection." + c.name + ".auc")) == c.auc);
  }
  // The file's bytes do not depend on the thread count.
  TrainSpec two = spec;
  two.lr.n_threads = two.gbdt.n_threads = 2;
  CHECK(to_string(*train_pipeline(t, two).pipeline) == to_string(*a.pipeline));
}

TEST_CASE("model auto: parameters go to the candidates that declare them") {
  TrainSpec spec = auto_spec();
  set_auto_parameter(spec, "C", "0.5");
  CHECK(spec.lr.C == 0.5);
  set_auto_parameter(spec, "n_threads", "3");
  CHECK(spec.lr.n_threads == 3);
  CHECK(spec.gbdt.n_threads == 3);
  CHECK(spec.selection.leaf_variant);
  set_auto_parameter(spec, "min_samples_leaf", "50");
  CHECK(spec.gbdt.min_samples_leaf == 50);
  CHECK_FALSE(spec.selection.leaf_variant);  // the user's leaf size is kept
  CHECK_THROWS_WITH_AS(set_auto_parameter(spec, "tree_depth", "3"),
                       doctest::Contains("'tree_depth' is not a parameter of lr"), InvalidParams);
  // A user's min_samples_leaf: no leaf-20 candidate even when early stopping applies.
  spec.lr.n_threads = spec.gbdt.n_threads = 1;
  spec.early_stopping_min_rows = 100;
  const TrainResult r = train_pipeline(table_of(csv(Truth::kLinear, 1000, 6)), spec);
  CHECK(r.selection.candidates.size() == 3);  // lr, gbdt, gbdt_additive (the user's leaf size)
  CHECK(r.selection.candidates[2].name == "gbdt_additive");
  // A user's max_depth (or max_leaf_nodes): no additive candidate either.
  set_auto_parameter(spec, "max_depth", "4");
  CHECK_FALSE(spec.selection.additive_variant);
  CHECK(train_pipeline(table_of(csv(Truth::kLinear, 1000, 6)), spec).selection.candidates.size() ==
        2);
}

TEST_CASE("model auto: bad settings are clear errors") {
  TrainSpec spec = auto_spec();
  spec.selection.folds = 1;
  CHECK_THROWS_WITH_AS(train_pipeline(table_of(csv(Truth::kLinear, 200, 7)), spec),
                       doctest::Contains("selection.folds must be in [2, 20], got 1"),
                       InvalidParams);
  CHECK(*model_kind_from_name("auto") == ModelKind::kAuto);
  CHECK(std::string(model_kind_name(ModelKind::kAuto)) == "auto");
  // The CLI defaults to auto and keeps explicit models; unknown keys under auto are usage errors.
  cli::TrainConfig cfg;
  cfg.roles.label = "y";
  CHECK(cli::train_spec(cfg).model == ModelKind::kAuto);
  cfg.params = {"tree_depth=3"};
  CHECK_THROWS_WITH(cli::train_spec(cfg), doctest::Contains("candidates of --model auto"));
  cfg.params = {"C=2", "min_samples_leaf=40"};
  const TrainSpec s = cli::train_spec(cfg);
  CHECK(s.lr.C == 2.0);
  CHECK(s.gbdt.min_samples_leaf == 40);
  CHECK_FALSE(s.selection.leaf_variant);
}

TEST_CASE("workflow switches: set by name with the model parameters (--param, params=)") {
  TrainSpec spec = auto_spec();
  CHECK(set_workflow_parameter(spec, "early_stopping_max_rounds", "80"));
  CHECK(spec.early_stopping_max_rounds == 80);
  CHECK(set_workflow_parameter(spec, "early_stopping_refit", "scaled"));
  CHECK(spec.early_stopping_refit == EarlyStoppingRefit::kScaled);
  CHECK(set_workflow_parameter(spec, "early_stopping_min_rows", "500"));
  CHECK(spec.early_stopping_min_rows == 500);
  CHECK_FALSE(spec.selection.one_standard_error);
  CHECK(set_workflow_parameter(spec, "selection.one_standard_error", "true"));
  CHECK(spec.selection.one_standard_error);
  CHECK(set_workflow_parameter(spec, "selection.wide_variant", "false"));
  CHECK_FALSE(spec.selection.wide_variant);
  CHECK(set_workflow_parameter(spec, "selection.additive_variant", "false"));
  CHECK_FALSE(spec.selection.additive_variant);
  CHECK_FALSE(set_workflow_parameter(spec, "n_estimators", "50"));  // a model parameter
  CHECK(spec.gbdt.n_estimators == 100);
  CHECK_THROWS_WITH_AS(set_workflow_parameter(spec, "early_stopping_refit", "twice"),
                       doctest::Contains("early_stopping_refit"), InvalidParams);
  CHECK_THROWS_WITH_AS(set_workflow_parameter(spec, "selection.rule", "x"),
                       doctest::Contains("'rule' is not a parameter of the model choice"),
                       InvalidParams);
  // A user's n_estimators caps early-stopped fits too; max_leaf_nodes drops gbdt_wide.
  TrainSpec u;
  CHECK(u.early_stopping_max_rounds == kEarlyStoppingMaxRounds);
  user_parameter_given(u, "n_estimators");
  CHECK(u.early_stopping_max_rounds == 0);
  user_parameter_given(u, "n_iter_no_change");
  CHECK(u.early_stopping_patience == 0);
  CHECK(u.selection.wide_variant);
  CHECK(u.selection.additive_variant);
  user_parameter_given(u, "max_leaf_nodes");
  CHECK_FALSE(u.selection.wide_variant);
  CHECK_FALSE(u.selection.additive_variant);
  CHECK(u.selection.leaf_variant);
  TrainSpec depth;
  user_parameter_given(depth, "max_depth");
  CHECK_FALSE(depth.selection.additive_variant);
  CHECK(depth.selection.wide_variant);
  // The CLI: switches set after the model's parameters, under auto and an explicit model.
  for (const char* model : {"auto", "gbdt"}) {
    INFO(model);
    cli::TrainConfig cfg;
    cfg.roles.label = "y";
    cfg.model = model;
    cfg.params = {"n_estimators=50"};
    CHECK(cli::train_spec(cfg).early_stopping_max_rounds == 0);
    cfg.params = {"early_stopping_max_rounds=120", "n_estimators=50", "early_stopping_refit=none",
                  "selection.one_standard_error=true"};
    const TrainSpec s = cli::train_spec(cfg);
    CHECK(s.gbdt.n_estimators == 50);
    CHECK(s.early_stopping_max_rounds == 120);
    CHECK(s.early_stopping_refit == EarlyStoppingRefit::kNone);
    CHECK(s.selection.one_standard_error);
    cfg.params = {"early_stopping_refit=sometimes"};
    CHECK_THROWS_WITH(cli::train_spec(cfg), doctest::Contains("early_stopping_refit"));
  }
}

TEST_CASE("model auto: the additive candidate's trees, its round count saturating") {
  TrainSpec spec = auto_spec();
  auto additive = [](const std::vector<std::pair<std::string, TrainSpec>>& c) {
    REQUIRE(c.back().first == "gbdt_additive");
    return c.back().second;
  };
  // Without early stopping: 3 x n_estimators trees of one split; the rest is the gbdt candidate.
  TrainSpec a = additive(detail::selection_candidates(spec, false));
  CHECK(a.model == ModelKind::kGradientBoostedTrees);
  CHECK(a.gbdt.max_depth == 1);
  CHECK(a.gbdt.n_estimators == 300);
  CHECK(a.gbdt.min_samples_leaf == spec.gbdt.min_samples_leaf);
  CHECK(a.early_stopping_max_rounds == spec.early_stopping_max_rounds);
  // Under early stopping the cap is the other candidates'.
  a = additive(detail::selection_candidates(spec, true));
  CHECK(a.gbdt.n_estimators == spec.gbdt.n_estimators);
  CHECK(a.early_stopping_max_rounds == kEarlyStoppingMaxRounds);
  // A user's count near INT_MAX saturates instead of overflowing.
  spec.gbdt.n_estimators = std::numeric_limits<int>::max() / 2;
  CHECK(additive(detail::selection_candidates(spec, false)).gbdt.n_estimators ==
        std::numeric_limits<int>::max());
  spec.gbdt.n_estimators = 7;
  CHECK(additive(detail::selection_candidates(spec, false)).gbdt.n_estimators == 21);
}

TEST_CASE("model auto: under early stopping gbdt_leaf20 and gbdt_wide are candidates") {
  TrainSpec spec = auto_spec();
  spec.early_stopping_min_rows = 100;
  const Table t = table_of(csv(Truth::kInteraction, 1000, 9));
  const TrainResult r = train_pipeline(t, spec);
  REQUIRE(r.selection.candidates.size() == 5);
  CHECK(r.selection.candidates[2].name == "gbdt_leaf20");
  CHECK(r.selection.candidates[3].name == "gbdt_wide");
  CHECK(r.selection.candidates[4].name == "gbdt_additive");
  CHECK(prov(r, "selection.candidates") == "lr,gbdt,gbdt_leaf20,gbdt_wide,gbdt_additive");
  // The winner is trained as the explicit trees with the candidate's leaf size and count.
  if (r.selection.chosen == "gbdt_wide") {
    CHECK(prov(r, "model.min_samples_leaf") == std::to_string(kSelectionWideLeaf));
    CHECK(prov(r, "model.max_leaf_nodes") == std::to_string(kSelectionWideLeaves));
  }
  spec.selection.wide_variant = false;
  CHECK(train_pipeline(t, spec).selection.candidates.size() == 4);
  spec.selection.additive_variant = false;
  CHECK(train_pipeline(t, spec).selection.candidates.size() == 3);
}

TEST_CASE("model auto: too few events to fit every fold trains the trees and says why") {
  // 200 rows in file order: the training part (rows 0-119) has its only event in row 5, i.e. in
  // the first of the 5 folds, so the other folds' fit rows hold class 0 only.
  std::string text = "x1,x2,x3,x4,y\n";
  Rng rng(8, 0);
  for (int i = 0; i < 200; ++i) {
    const bool event = i == 5 || i == 130 || i == 135 || i == 170 || i == 175;
    text += std::to_string(rng.normal()) + ",0,0,0," + (event ? "1" : "0") + "\n";
  }
  const TrainResult r = train_pipeline(table_of(text), auto_spec());
  CHECK(r.selection.used);
  CHECK(r.selection.candidates.empty());
  CHECK(r.selection.chosen == "gbdt");
  CHECK(r.selection.method.find("not run") == 0);
  CHECK(prov(r, "model") == "gbdt");
  CHECK(prov(r, "selection.chosen") == "gbdt");
  bool noted = false;
  for (const auto& n : r.notes) noted |= n.find("automatic model choice not run") == 0;
  CHECK(noted);
}

TEST_CASE("model auto: the one-standard-error rule on hand-computed losses") {
  // Two candidates on 4 rows: means 0.6 and 0.55; per-row differences 0.4, -0.2, 0.1, -0.1 have
  // mean 0.05 and sample sd sqrt(0.07), so the standard error is sqrt(0.07 / 4) = 0.1323 > 0.05:
  // the simpler (first) candidate is kept although the second has the lower mean.
  const detail::OneSe a = detail::one_standard_error({{1.0, 0.2, 0.8, 0.4}, {0.6, 0.4, 0.7, 0.5}});
  CHECK(a.mean[0] == doctest::Approx(0.6));
  CHECK(a.mean[1] == doctest::Approx(0.55));
  CHECK(a.best == 1);
  CHECK(a.se[0] == doctest::Approx(std::sqrt(0.0175)).epsilon(1e-12));
  CHECK(a.se[1] == 0.0);
  CHECK(a.chosen == 0);
  // A clear gain (every row 0.29..0.31 lower, standard error 0.004): the better candidate wins.
  const detail::OneSe b =
      detail::one_standard_error({{1.0, 0.9, 0.8, 0.7}, {0.7, 0.59, 0.51, 0.4}});
  CHECK(b.best == 1);
  CHECK(b.chosen == 1);
  // Three candidates: the first is clearly worse, the second within noise of the third.
  const detail::OneSe c = detail::one_standard_error(
      {{2.0, 2.0, 2.0, 2.0}, {1.0, 0.2, 0.8, 0.4}, {0.6, 0.4, 0.7, 0.5}});
  CHECK(c.best == 2);
  CHECK(c.chosen == 1);
}

TEST_CASE("model auto: the simplest candidate within one standard error is chosen and recorded") {
  for (const bool large : {false, true}) {
    INFO((large ? "holdout (early stopping)" : "folds"));
    TrainSpec spec = auto_spec();
    if (large) spec.early_stopping_min_rows = 100;
    CHECK_FALSE(spec.selection.one_standard_error);  // off by default (docs/defaults.md)
    spec.selection.one_standard_error = true;
    const Table t = table_of(csv(Truth::kInteraction, 2000, 8));
    const TrainResult r = train_pipeline(t, spec);
    const auto& cs = r.selection.candidates;
    REQUIRE(cs.size() >= 2);
    std::size_t lowest = 0, chosen = 0;
    for (std::size_t k = 0; k < cs.size(); ++k) {
      if (cs[k].log_loss < cs[lowest].log_loss) lowest = k;
      if (cs[k].name == r.selection.chosen) chosen = k;
    }
    CHECK(r.selection.lowest == cs[lowest].name);
    CHECK(prov(r, "selection.lowest") == cs[lowest].name);
    CHECK(prov(r, "selection").find("one standard error") != std::string::npos);
    // The chosen one is within one standard error of the lowest; every simpler one is not.
    CHECK(cs[chosen].log_loss - cs[lowest].log_loss <= cs[chosen].log_loss_se + 1e-12);
    for (std::size_t k = 0; k < chosen; ++k) {
      CHECK(cs[k].log_loss - cs[lowest].log_loss > cs[k].log_loss_se);
    }
    for (const auto& c : cs) {
      CHECK(std::stod(prov(r, "selection." + c.name + ".log_loss_se")) == c.log_loss_se);
    }
    // Without the rule the lowest wins.
    spec.selection.one_standard_error = false;
    const TrainResult w = train_pipeline(t, spec);
    CHECK(w.selection.chosen == cs[lowest].name);
    CHECK(prov(w, "selection.lowest").empty());
  }
}

namespace {

// ECE with 10 equal-width bins ([0, 0.1), ..., [0.9, 1]) from its definition.
double hand_ece(const std::vector<double>& y, const std::vector<double>& p) {
  double sy[10] = {}, sp[10] = {}, n[10] = {};
  for (std::size_t i = 0; i < y.size(); ++i) {
    const int b = std::min(9, static_cast<int>(p[i] * 10.0));
    sy[b] += y[i];
    sp[b] += p[i];
    n[b] += 1.0;
  }
  double e = 0.0;
  for (int b = 0; b < 10; ++b) e += std::abs(sy[b] - sp[b]) / static_cast<double>(y.size());
  return e;
}

}  // namespace

TEST_CASE("model auto: a large calibration part chooses none, platt or beta by cross-fitted ECE") {
  // 6,000 rows: a calibration part of 1,200 >= kCalibrationEceMinRows. Oracle for "none": the ECE
  // of the model's own probabilities on the calibration part (no fit involved); for platt: the
  // same interleaved folds fitted by hand. The choice is the lowest of none, platt and beta.
  const Table t = table_of(csv(Truth::kLinear, 6000, 11));
  const TrainSpec spec = auto_spec();
  CHECK(spec.selection.calibration_ece_min_rows == 1000);
  const TrainResult r = train_pipeline(t, spec);
  const Index nc = static_cast<Index>(r.calibration.y.size());
  REQUIRE(nc >= 1000);
  REQUIRE(r.selection.calibration_ece.size() == 4);
  CHECK(r.selection.calibration_by_ece);
  const std::vector<double>& yc = r.calibration.y;
  const std::vector<double> pc(r.calibration.p_model.data(), r.calibration.p_model.data() + nc);
  std::vector<double> platt(static_cast<std::size_t>(nc));
  for (int f = 0; f < 5; ++f) {
    std::vector<double> sf, yf;
    for (Index i = 0; i < nc; ++i) {
      if (i % 5 == f) continue;
      sf.push_back(pc[static_cast<std::size_t>(i)]);
      yf.push_back(yc[static_cast<std::size_t>(i)]);
    }
    PlattParams pp;
    pp.input = ScoreKind::kProbability;
    PlattCalibrator c(pp);
    c.fit(VectorView<const double>(sf), VectorView<const double>(yf));
    for (Index i = f; i < nc; i += 5) {
      const double pi = pc[static_cast<std::size_t>(i)];
      platt[static_cast<std::size_t>(i)] = c.predict(VectorView<const double>(&pi, 1))[0];
    }
  }
  const auto& ece = r.selection.calibration_ece;
  CHECK(ece[0].first == "none");
  CHECK(ece[0].second == doctest::Approx(hand_ece(yc, pc)).epsilon(1e-12));
  CHECK(ece[1].first == "platt");
  CHECK(ece[1].second == doctest::Approx(hand_ece(yc, platt)).epsilon(1e-9));
  std::size_t lowest = 0;
  for (std::size_t m = 1; m < 3; ++m) {
    if (ece[m].second < ece[lowest].second) lowest = m;
  }
  CHECK(r.selection.calibration_chosen == ece[lowest].first);
  CHECK(prov(r, "calibration") == ece[lowest].first);
  CHECK(prov(r, "selection.calibration").find("lowest ECE") != std::string::npos);
  CHECK(std::stod(prov(r, "selection.calibration.none.ece")) == ece[0].second);
  // Below the threshold the one-standard-error rule on log loss decides, as before.
  TrainSpec loss_rule = spec;
  loss_rule.selection.calibration_ece_min_rows = nc + 1;
  const TrainResult k = train_pipeline(t, loss_rule);
  CHECK_FALSE(k.selection.calibration_by_ece);
  CHECK(prov(k, "selection.calibration").find("one standard error") != std::string::npos);
  CHECK(k.selection.calibration_ece == r.selection.calibration_ece);  // recorded either way
  loss_rule.selection.calibration_ece_min_rows = -1;
  CHECK_THROWS_WITH_AS(train_pipeline(t, loss_rule),
                       doctest::Contains("calibration_ece_min_rows must be >= 0, got -1"),
                       InvalidParams);
}
