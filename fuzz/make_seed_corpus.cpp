// SPDX-License-Identifier: Apache-2.0
// Writes the fuzzer's seed corpus (valid pipeline files of every model x calibrator kind) into
// the directory argv[1]. Built from states directly (no training), so it is fast and
// deterministic; generated at build time instead of committing binary blobs.
#include <calibrisk/artifact/io.hpp>

#include "fuzz_key.hpp"
#include "support/artifact_forest.hpp"

#include <cstdio>
#include <fstream>
#include <string>

namespace {

using namespace calibrisk;

LogisticRegression small_lr(int indicators) {
  LogisticRegressionState s;
  s.n_features = 3;
  s.coef = {0.5, -1.25, 0.0625};
  for (int k = 0; k < indicators; ++k) {
    s.indicator_features.push_back(k);
    s.coef.push_back(0.3 * (k + 1));
  }
  s.intercept = -0.75;
  s.impute_values = {1.0, 0.0, 12.5};
  s.feature_mean = {};
  s.feature_scale = {};
  s.coef_std_error = {};
  s.penalized = true;
  s.has_intercept = true;
  LogisticRegressionParams p;
  p.missing = indicators > 0 ? MissingStrategy::kMeanWithIndicator : MissingStrategy::kMean;
  return LogisticRegression::from_state(std::move(s), p);
}

// Writes the pipeline unsigned and signed with the fuzzing key (fuzz_key.hpp).
void write(const std::string& dir, const std::string& name, const Pipeline& p) {
  std::ofstream(dir + "/" + name + ".json", std::ios::binary) << to_string(p);
  static const fuzz::KeyPaths keys = fuzz::write_fuzz_keys(dir + "/../seed_key");
  SaveOptions so;
  so.signing_key_file = keys.secret;
  std::ofstream(dir + "/" + name + "_signed.json", std::ios::binary) << to_string(p, so);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  FeatureSchema schema = FeatureSchema::from_names({"age", "lab", "source"});
  schema.features[0].min = 18;
  schema.features[0].max = 99;
  schema.features[0].missing_rate = 0.0;
  schema.features[2].categorical = true;
  schema.features[2].categories = {0, 1, 2};
  schema.n_train_rows = 1000;
  OperatingPointRecord op;
  op.threshold = 0.25;
  op.policy = "min_recall=0.8";
  op.figures = {{"precision", 0.4}, {"npv", std::numeric_limits<double>::quiet_NaN()}};

  PlattState platt{1.5, -0.25, ScoreKind::kMargin, 1e-12};
  IsotonicState iso{{0.1, 0.4, 0.9}, {0.05, 0.3, 0.8}};
  BetaState beta{0.9, 1.1, 0.05, 1e-12};

  write(dir, "lr_none", Pipeline(schema, small_lr(0), {}, op));
  write(dir, "lr_platt_margin",
        Pipeline(schema, small_lr(1), PlattCalibrator::from_state(platt), op));
  PipelineParts iso_margin{
      schema, small_lr(2), IsotonicCalibrator::from_state(iso), CalibratorInput::kMargin, op, {}};
  write(dir, "lr_isotonic_margin", Pipeline(iso_margin));
  write(dir, "lr_beta", Pipeline(schema, small_lr(0), BetaCalibrator::from_state(beta), op));
  write(dir, "gbdt_isotonic", test::random_forest_pipeline(3, 7, 3, 5, 1));
  write(dir, "gbdt_none", test::random_forest_pipeline(2, 4, 3, 0, 2));
  Pipeline g = test::random_forest_pipeline(1, 2, 3, 0, 3);
  PipelineParts gp = g.parts();
  gp.calibrator = PlattCalibrator::from_state(platt);
  gp.calibrator_input = CalibratorInput::kMargin;
  write(dir, "gbdt_platt", Pipeline(gp));
  return 0;
}
