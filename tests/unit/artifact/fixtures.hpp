// SPDX-License-Identifier: Apache-2.0
// Small fitted pipelines (LR / GBDT x none / Platt / isotonic / beta) for the artifact tests.
#pragma once

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace calibrisk::test {

/// Synthetic clinical-like table: numeric columns with NaNs, an integer-coded category and a
/// 0/1 flag; labels from a known logistic model.
struct ArtifactData {
  RowMatrixXd X;
  std::vector<double> y;
};

inline ArtifactData make_artifact_data(Index n, std::uint64_t seed) {
  ArtifactData d;
  const Index p = 5;
  d.X.resize(n, p);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    const double a = rng.normal(), b = rng.normal(), c = rng.normal();
    const double code = static_cast<double>(rng.below(4));  // category 0..3
    const double flag = rng.uniform() < 0.3 ? 1.0 : 0.0;
    d.X(i, 0) = a;
    d.X(i, 1) = rng.uniform() < 0.1 ? std::numeric_limits<double>::quiet_NaN() : b;
    d.X(i, 2) = c * 10.0 + 50.0;
    d.X(i, 3) = code;
    d.X(i, 4) = flag;
    const double z = 1.2 * a - 0.8 * b + 0.05 * (d.X(i, 2) - 50.0) + 0.4 * code - 0.7 * flag - 0.5;
    d.y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
  }
  return d;
}

enum class ModelKind { kLR, kGBDT };
enum class CalKind { kNone, kPlattMargin, kPlattProba, kIsotonic, kBeta };

inline const char* cal_name(CalKind k) {
  switch (k) {
    case CalKind::kNone:
      return "none";
    case CalKind::kPlattMargin:
      return "platt-margin";
    case CalKind::kPlattProba:
      return "platt-probability";
    case CalKind::kIsotonic:
      return "isotonic";
    default:
      return "beta";
  }
}

/// Fits a model on the first 70% of `d`, the calibrator on the rest, and assembles a pipeline
/// with schema statistics, an operating point and provenance.
inline Pipeline make_pipeline(const ArtifactData& d, ModelKind mk, CalKind ck, int n_trees = 20) {
  const Index n = d.X.rows(), n_fit = n * 7 / 10, n_cal = n - n_fit;
  const auto Xv = view(d.X);
  const auto X_fit = Xv.middle_rows(0, n_fit), X_cal = Xv.middle_rows(n_fit, n_cal);
  const VectorView<const double> y_fit(d.y.data(), n_fit), y_cal(d.y.data() + n_fit, n_cal);
  PipelineModel model;
  Eigen::VectorXd margin, proba;
  if (mk == ModelKind::kLR) {
    LogisticRegressionParams p;
    p.C = 0.5;
    p.missing = MissingStrategy::kMeanWithIndicator;
    p.n_threads = 1;  // tests run beside other jobs; the thread count never changes the model
    LogisticRegression lr(p);
    lr.fit(Dataset(X_fit, y_fit));
    margin = lr.decision_function(X_cal);
    proba = lr.predict_proba(X_cal);
    model = std::move(lr);
  } else {
    GBDTParams p;
    p.n_estimators = n_trees;
    p.max_leaf_nodes = 15;
    p.min_samples_leaf = 5;
    p.random_state = 7;
    p.n_threads = 1;
    GradientBoostedTrees gb(p);
    gb.fit(Dataset(X_fit, y_fit));
    margin = gb.decision_function(X_cal);
    proba = gb.predict_proba(X_cal);
    model = std::move(gb);
  }
  PipelineCalibrator cal;
  switch (ck) {
    case CalKind::kNone:
      break;
    case CalKind::kPlattMargin: {
      PlattCalibrator c;
      c.fit(VectorView<const double>(margin), y_cal);
      cal = std::move(c);
      break;
    }
    case CalKind::kPlattProba: {
      PlattParams pp;
      pp.input = ScoreKind::kProbability;
      PlattCalibrator c(pp);
      c.fit(VectorView<const double>(proba), y_cal);
      cal = std::move(c);
      break;
    }
    case CalKind::kIsotonic: {
      IsotonicCalibrator c;
      c.fit(VectorView<const double>(proba), y_cal);
      cal = std::move(c);
      break;
    }
    case CalKind::kBeta: {
      BetaCalibrator c;
      c.fit(VectorView<const double>(proba), y_cal);
      cal = std::move(c);
      break;
    }
  }
  SchemaOptions so;
  so.categorical = {3};  // admission_source: declared, so unseen codes are scored as missing
  FeatureSchema schema =
      FeatureSchema::from_data(X_fit, {"age_z", "lab_b", "bp", "admission_source", "flag"}, so);
  OperatingPointRecord op;
  op.threshold = 0.4;
  op.policy = "min_recall=0.8";
  op.figures = {{"precision", 0.61},
                {"recall", 0.8125},
                {"alert_rate", 0.37},
                {"npv", std::numeric_limits<double>::quiet_NaN()}};
  Provenance prov;
  prov.parameters = {{"model", mk == ModelKind::kLR ? "LogisticRegression(C=0.5)" : "GBDT"},
                     {"calibrator", cal_name(ck)}};
  prov.seed = 7;
  prov.training_data = fingerprint_data(X_fit, y_fit);
  return Pipeline(std::move(schema), std::move(model), std::move(cal), std::move(op),
                  std::move(prov));
}

}  // namespace calibrisk::test
