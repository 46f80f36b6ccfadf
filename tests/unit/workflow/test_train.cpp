// SPDX-License-Identifier: Apache-2.0
// The workflow: train_pipeline against the pieces it assembles (split, select_threshold, the
// pipeline's own scores), the CLI's training flow (same bytes), and the text forms it records.
#include <doctest/doctest.h>

#include "cli/model_params.hpp"
#include "cli/progress.hpp"
#include "cli/train_flow.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/workflow/train.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// 400 rows, 100 patients of 4 visits, dates over a year, two numeric features and a category.
std::string cohort_csv() {
  Rng rng(11, 0);
  std::string s = "pid,date,age,lab,site,y\n";
  const char* sites[] = {"A", "B", "C"};
  for (int i = 0; i < 400; ++i) {
    const int pid = i / 4;
    const int day = 1 + (pid * 3 + (i % 4) * 20) % 360;
    const double age = 20 + 60 * rng.uniform();
    const double lab = rng.uniform();
    const double risk = 1.0 / (1.0 + std::exp(-(0.05 * (age - 50) + 2.0 * (lab - 0.5))));
    const int y = rng.uniform() < risk ? 1 : 0;
    char date[16];
    std::snprintf(date, sizeof date, "2024-%02d-%02d", 1 + (day - 1) / 30, 1 + (day - 1) % 28);
    s += std::to_string(pid) + "," + date + "," + std::to_string(age) + "," +
         (i % 17 == 0 ? std::string() : std::to_string(lab)) + "," + sites[i % 3] + "," +
         std::to_string(y) + "\n";
  }
  return s;
}

ColumnRoles cohort_roles() {
  ColumnRoles r;
  r.label = "y";
  r.group = "pid";
  r.time = "date";
  r.categorical = {"site"};
  return r;
}

Table cohort_table() {
  const std::string text = cohort_csv();
  return parse_csv(
      text, training_read_options(cohort_roles(), {"pid", "date", "age", "lab", "site", "y"}));
}

}  // namespace

TEST_CASE("workflow: train_pipeline agrees with the split, the threshold and its own pipeline") {
  const Table table = cohort_table();
  TrainSpec spec;
  spec.columns = cohort_roles();
  spec.model = ModelKind::kLogisticRegression;
  spec.calibration = CalibrationMethod::kIsotonic;
  spec.policy = policy::min_recall(0.7);
  spec.source = "cohort.csv";
  const TrainResult r = train_pipeline(table, spec);
  REQUIRE(r.pipeline.has_value());
  CHECK(r.features == std::vector<std::string>{"age", "lab", "site"});
  // The parts are the split module's, whole patients in one part.
  const TimeGroupSplit s = split_by_time_and_group(
      table.column("date").values, table.column("pid").values, table.rows(), spec.split);
  CHECK(r.train.rows == s.rows_of(SplitPart::kTrain));
  CHECK(r.calibration.rows == s.rows_of(SplitPart::kCalibration));
  CHECK(r.test.rows == s.rows_of(SplitPart::kTest));
  // The pipeline scores the test part as evaluated.
  const Eigen::VectorXd p = r.pipeline->predict_proba(FeatureMatrix(view(r.test.X)));
  for (Index i = 0; i < p.size(); ++i) CHECK(p[i] == r.test.p[i]);
  // The threshold is select_threshold's on the calibration part.
  const OperatingPoint op = select_threshold(
      VectorView<const double>(r.calibration.y),
      VectorView<const double>(r.calibration.p.data(), r.calibration.p.size()), spec.policy);
  CHECK(op.threshold == r.pipeline->threshold());
  CHECK(op.recall >= 0.7);
  CHECK(cli::provenance_value(*r.pipeline, "policy") == "min-recall=0.7");
  CHECK(cli::provenance_value(*r.pipeline, "calibration") == "isotonic");
  CHECK(cli::provenance_value(*r.pipeline, "model.C") == "1");
  CHECK(cli::provenance_value(*r.pipeline, "split.train.rows") ==
        std::to_string(s.summary[0].rows));
}

TEST_CASE("workflow: the CLI's training flow is train_pipeline (same bytes)") {
  const Table table = cohort_table();
  for (const char* model : {"lr", "gbdt"}) {
    cli::TrainConfig cfg;
    cfg.roles = cohort_roles();
    cfg.model = model;
    cfg.calibration = "beta";
    cfg.policy = policy::min_cost(1.0, 5.0);
    cfg.params = {std::string(model) == "lr" ? "C=0.5" : "n_estimators=20"};
    cfg.seed = 3;
    cfg.source = "cohort.csv";
    cli::Progress quiet(true);
    const cli::TrainOutcome via_cli = cli::train_on_table(table, cfg, quiet);

    TrainSpec spec;
    spec.columns = cohort_roles();
    spec.model = *model_kind_from_name(model);
    set_parameter(spec.lr, "C", "0.5");
    set_parameter(spec.gbdt, "n_estimators", "20");
    spec.gbdt.random_state = 3;
    spec.calibration = CalibrationMethod::kBeta;
    spec.policy = policy::min_cost(1.0, 5.0);
    spec.seed = 3;
    spec.source = "cohort.csv";
    const TrainResult direct = train_pipeline(table, spec);
    CHECK(to_string(*direct.pipeline) == to_string(*via_cli.pipeline));
  }
}

TEST_CASE("workflow: bad specs and data fail before any work, naming the fix") {
  const Table table = cohort_table();
  TrainSpec spec;
  spec.columns = cohort_roles();
  spec.gbdt.n_estimators = 0;
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec), doctest::Contains("n_estimators must be >= 1"),
                       InvalidParams);
  spec.gbdt.n_estimators = 10;
  spec.policy = policy::min_recall(1.5);
  CHECK_THROWS_AS(train_pipeline(table, spec), InvalidParams);
  spec.policy = policy::min_recall(0.8);
  spec.split = SplitFractions{0.92, 0.04, 0.04};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("the file has 400 data rows, too few for --split "
                                         "train=0.92,calibration=0.04,test=0.04"),
                       InvalidInput);
  spec.split = SplitFractions{0.5, 0.5, 0.5};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("TrainSpec.split fractions sum to 1.5"), InvalidParams);
  spec.split = SplitFractions{0.0, 0.5, 0.5};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("TrainSpec.split.train must be in (0, 1), got 0"),
                       InvalidParams);
  spec.split = {};
  spec.columns.label = "age";
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec), doctest::Contains("labels must be 0 or 1"),
                       InvalidInput);
}

TEST_CASE("workflow: parameter texts match the CLI's --param tables, field by field") {
  GBDTParams g;
  LogisticRegressionParams l;
  auto check_same = [&] {
    GBDTParams gc = g;
    LogisticRegressionParams lc = l;
    std::vector<std::pair<std::string, std::string>> cli_g, cli_l;
    auto recorded = [](const cli::ParamField& f) {
      return f.name != "n_threads" && !(f.omit_from_provenance && f.omit_from_provenance());
    };
    for (const auto& f : cli::gbdt_param_fields(gc)) {
      if (recorded(f)) cli_g.emplace_back(f.name, f.get());
    }
    for (const auto& f : cli::lr_param_fields(lc)) {
      if (recorded(f)) cli_l.emplace_back(f.name, f.get());
    }
    CHECK(parameter_text(g) == cli_g);
    CHECK(parameter_text(l) == cli_l);
  };
  check_same();
  set_parameter(g, "class_weight", "1:5");
  set_parameter(g, "monotonic_cst", "1,0,-1");
  set_parameter(g, "learning_rate", "0.05");
  set_parameter(g, "early_stopping", "true");
  set_parameter(g, "random_state", "18446744073709551615");
  // A field added after format 1.0 (max_delta_step, 1.2) is recorded only once it is changed.
  auto has = [](const std::vector<std::pair<std::string, std::string>>& v, const char* k) {
    for (const auto& kv : v) {
      if (kv.first == k) return true;
    }
    return false;
  };
  CHECK_FALSE(has(parameter_text(g), "max_delta_step"));
  set_parameter(g, "max_delta_step", "0.5");
  CHECK(has(parameter_text(g), "max_delta_step"));
  set_parameter(l, "C", "inf");
  set_parameter(l, "missing", "mean_with_indicator");
  set_parameter(l, "class_weight", "balanced");
  set_parameter(l, "newton_max_columns", "-1");
  check_same();
  CHECK(g.monotonic_cst == std::vector<int>{1, 0, -1});
  CHECK(std::isinf(l.C));
  CHECK_THROWS_WITH_AS(set_parameter(g, "max_leaves", "3"),
                       doctest::Contains("'max_leaves' is not a parameter of gbdt (GBDTParams); "
                                         "valid keys: n_estimators"),
                       InvalidParams);
  CHECK_THROWS_WITH_AS(set_parameter(l, "C", "abc"),
                       doctest::Contains("parameter C must be a number, got 'abc'"), InvalidParams);
  CHECK_THROWS_AS(set_parameter(l, "fit_intercept", "maybe"), InvalidParams);
}

TEST_CASE("workflow: policy and number texts") {
  CHECK(policy_text(policy::min_recall(0.8)) == "min-recall=0.8");
  CHECK(policy_text(policy::min_precision(0.3)) == "min-precision=0.3");
  CHECK(policy_text(policy::max_alert_rate(0.1)) == "max-alert-rate=0.1");
  CHECK(policy_text(policy::min_cost(1, 10)) == "cost-fp=1,cost-fn=10");
  CHECK(policy_text(policy::max_fbeta(2)) == "max-f=2");
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(1e-7) == "1e-07");
  CHECK(format_double(100000) == "1e+05");
  CHECK(format_double(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(model_kind_from_name("xgb") == std::nullopt);
  CHECK(calibration_method_from_name("sigmoid") == std::nullopt);
  CHECK(calibration_method_from_name("platt") == CalibrationMethod::kPlatt);
  // One text table per enum: every value reads back from its spelling.
  for (ModelKind k : {ModelKind::kLogisticRegression, ModelKind::kGradientBoostedTrees}) {
    CHECK(model_kind_from_name(model_kind_name(k)) == k);
  }
  for (CalibrationMethod m : {CalibrationMethod::kNone, CalibrationMethod::kPlatt,
                              CalibrationMethod::kIsotonic, CalibrationMethod::kBeta}) {
    CHECK(calibration_method_from_name(calibration_method_name(m)) == m);
  }
  CHECK(std::string(model_kind_name(ModelKind::kGradientBoostedTrees)) == "gbdt");
  CHECK(enum_choices<CalibrationMethod>() == "none, platt, isotonic or beta");
}
