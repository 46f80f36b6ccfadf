// SPDX-License-Identifier: Apache-2.0
// The DESIGN.md §4 flow through the umbrella header: train trees with balanced class weights,
// calibrate isotonically on a separate part, choose a threshold under a recall floor, evaluate.
#include <doctest/doctest.h>
#include <calibrisk/calibrisk.hpp>

#include <cmath>
#include <vector>

namespace {

// Rows with a known logistic risk in two features (plus a noise feature), prevalence ~15%.
struct Part {
  calibrisk::RowMatrixXd X;
  std::vector<double> y;
  std::vector<double> truth;
};

Part make_part(calibrisk::Index n, std::uint64_t seed) {
  calibrisk::Rng rng(seed);
  Part part{calibrisk::RowMatrixXd(n, 3), std::vector<double>(n), std::vector<double>(n)};
  for (calibrisk::Index i = 0; i < n; ++i) {
    const double a = rng.normal(), b = rng.normal();
    part.X(i, 0) = a;
    part.X(i, 1) = b;
    part.X(i, 2) = rng.normal();
    const double logit = -2.2 + 1.2 * a + 0.8 * b * b - 0.5;
    part.truth[i] = 1.0 / (1.0 + std::exp(-logit));
    part.y[i] = rng.bernoulli(part.truth[i]) ? 1.0 : 0.0;
  }
  return part;
}

}  // namespace

TEST_CASE("design flow: balanced trees + isotonic + min-recall threshold keep their promises") {
  using namespace calibrisk;
  const Part train = make_part(6000, 1), calib = make_part(4000, 2), valid = make_part(4000, 3);

  GBDTParams p;
  p.n_estimators = 60;
  p.class_weight = ClassWeight::balanced();
  GradientBoostedTrees model(p);
  model.fit(Dataset(view(train.X), train.y));

  const Eigen::VectorXd raw_calib = model.predict_proba(view(calib.X));
  IsotonicCalibrator cal;
  cal.fit(raw_calib, calib.y);

  const Eigen::VectorXd raw_valid = model.predict_proba(view(valid.X));
  const Eigen::VectorXd p_valid = cal.predict(raw_valid);

  // Balanced weights inflate the raw risk far above the ~15% prevalence; isotonic calibration on a
  // separate part brings the mean back to the observed rate (within sampling error).
  const double prevalence = Eigen::Map<const Eigen::VectorXd>(valid.y.data(), 4000).mean();
  CHECK(raw_valid.mean() > prevalence + 0.15);
  CHECK(std::abs(p_valid.mean() - prevalence) < 0.03);

  // Calibrated risks are closer to the true risk than the raw ones.
  double mae_raw = 0, mae_cal = 0;
  for (Index i = 0; i < 4000; ++i) {
    mae_raw += std::abs(raw_valid[i] - valid.truth[i]);
    mae_cal += std::abs(p_valid[i] - valid.truth[i]);
  }
  CHECK(mae_cal < 0.5 * mae_raw);

  // The operating point meets the recall floor on the data it was chosen on, and its counts agree
  // with a direct count at its threshold.
  const OperatingPoint op = select_threshold(valid.y, p_valid, policy::min_recall(0.80));
  CHECK(op.recall >= 0.80);
  double tp = 0, fn = 0;
  for (Index i = 0; i < 4000; ++i) {
    if (valid.y[i] == 1.0) (p_valid[i] >= op.threshold ? tp : fn) += 1;
  }
  CHECK(op.tp == tp);
  CHECK(op.fn == fn);
  CHECK(metrics::roc_auc_score(valid.y, p_valid) > 0.7);
}
