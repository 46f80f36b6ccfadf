// SPDX-License-Identifier: Apache-2.0
// Trains a small pipeline (logistic regression + Platt scaling + a min-recall threshold) on
// generated data and writes: argv[1] the model file, argv[2] a CSV of new rows (with a header,
// empty fields = missing), argv[3] the "risk,flag" lines the in-memory pipeline gives those rows,
// so that the test can check score_csv (which only loads the file) reproduces them exactly.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

int main(int argc, char** argv) {
  using namespace calibrisk;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL.json ROWS.csv EXPECTED.csv\n", argv[0]);
    return 2;
  }
  const Index n = 3000, n_fit = 2000, n_new = 40, p = 3;
  RowMatrixXd X(n + n_new, p);
  std::vector<double> y(static_cast<std::size_t>(n));
  Rng rng(5);
  for (Index i = 0; i < n + n_new; ++i) {
    X(i, 0) = std::round(10.0 * (50.0 + 12.0 * rng.normal())) / 10.0;  // age, one decimal
    X(i, 1) = rng.uniform() < 0.15 ? std::nan("") : rng.normal();      // lab, 15% missing
    X(i, 2) = static_cast<double>(rng.below(4));                       // admission source
    if (i < n) {
      const double lab = std::isnan(X(i, 1)) ? 0.3 : X(i, 1);
      const double z = -1.5 + 0.05 * (X(i, 0) - 50.0) + 0.9 * lab + 0.3 * X(i, 2);
      y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
    }
  }
  const auto Xv = view(X);
  LogisticRegressionParams lp;
  lp.missing = MissingStrategy::kMeanWithIndicator;
  LogisticRegression lr(lp);
  lr.fit(Dataset(Xv.middle_rows(0, n_fit), VectorView<const double>(y.data(), n_fit)));
  const auto X_cal = Xv.middle_rows(n_fit, n - n_fit);
  const VectorView<const double> y_cal(y.data() + n_fit, n - n_fit);
  const Eigen::VectorXd margin = lr.decision_function(X_cal);
  PlattCalibrator platt;
  platt.fit(VectorView<const double>(margin), y_cal);
  const Eigen::VectorXd p_cal = platt.predict(VectorView<const double>(margin));
  const OperatingPoint op =
      select_threshold(y_cal, VectorView<const double>(p_cal), policy::min_recall(0.7));
  Provenance prov;
  prov.training_data =
      fingerprint_data(Xv.middle_rows(0, n_fit), VectorView<const double>(y.data(), n_fit));
  prov.parameters = {{"model", "LogisticRegression(missing=mean_with_indicator)"},
                     {"calibrator", "Platt(margin)"}};
  const Pipeline pipe(FeatureSchema::from_data(Xv.middle_rows(0, n_fit), {"age", "lab", "source"}),
                      std::move(lr), std::move(platt), op, prov);
  save(pipe, argv[1]);

  std::ofstream rows(argv[2]), expected(argv[3]);
  rows << "age,lab,source\n";
  char buf[64];
  for (Index i = n; i < n + n_new; ++i) {
    for (Index j = 0; j < p; ++j) {
      if (j) rows << ',';
      if (!std::isnan(X(i, j))) {
        std::snprintf(buf, sizeof buf, "%.17g", X(i, j));
        rows << buf;
      }
    }
    rows << '\n';
    const double risk = pipe.predict_proba_row(&X(i, 0));
    std::snprintf(buf, sizeof buf, "%.17g,%d\n", risk, risk >= pipe.threshold() ? 1 : 0);
    expected << buf;
  }
  std::printf("make_model: wrote %s (threshold %.4f, %s)\n", argv[1], pipe.threshold(),
              pipe.operating_point().policy.c_str());
  return rows && expected ? 0 : 1;
}
