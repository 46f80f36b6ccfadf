// SPDX-License-Identifier: Apache-2.0
// Writes a small demo pipeline (logistic regression + isotonic calibration + a min-recall operating
// point, on generated data) to argv[1], and prints to stdout a JSON object with a few rows and the
// risks the in-memory pipeline gives them (and their explanations: every contribution of each row
// on the calibrated and margin log-odds scales, with the baselines), so a test can check the
// service scores and explains identically.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  using namespace calibrisk;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
    return 2;
  }
  const Index n = 3000, p = 3;
  RowMatrixXd X(n, p);
  std::vector<double> y(static_cast<std::size_t>(n));
  Rng rng(11);
  for (Index i = 0; i < n; ++i) {
    X(i, 0) = 40.0 + 15.0 * rng.normal();                         // age
    X(i, 1) = rng.uniform() < 0.1 ? std::nan("") : rng.normal();  // a lab value, 10% missing
    X(i, 2) = static_cast<double>(rng.below(3));                  // admission source code
    const double z = -2.0 + 0.04 * (X(i, 0) - 40.0) + 0.8 * (std::isnan(X(i, 1)) ? 0.0 : X(i, 1)) +
                     0.5 * X(i, 2);
    y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
  }
  const Index n_fit = 2000;
  const auto Xv = view(X);
  LogisticRegression lr;
  lr.fit(Dataset(Xv.middle_rows(0, n_fit), VectorView<const double>(y.data(), n_fit)));
  const VectorView<const double> y_cal(y.data() + n_fit, n - n_fit);
  const Eigen::VectorXd s_cal = lr.predict_proba(Xv.middle_rows(n_fit, n - n_fit));
  IsotonicCalibrator iso;
  iso.fit(VectorView<const double>(s_cal), y_cal);
  const Eigen::VectorXd p_cal = iso.predict(VectorView<const double>(s_cal));
  const OperatingPoint op =
      select_threshold(y_cal, VectorView<const double>(p_cal), policy::min_recall(0.8));
  Pipeline pipe(FeatureSchema::from_data(Xv.middle_rows(0, n_fit), {"age", "lab", "source"}),
                std::move(lr), std::move(iso), op);
  save(pipe, argv[1]);

  nlohmann::json out = {{"rows", nlohmann::json::array()}, {"risks", nlohmann::json::array()}};
  for (Index i = n_fit; i < n_fit + 5; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Index j = 0; j < p; ++j) {
      if (std::isnan(X(i, j)))
        row.push_back(nullptr);
      else
        row.push_back(X(i, j));
    }
    out["rows"].push_back(row);
    out["risks"].push_back(pipe.predict_proba_row(&X(i, 0)));
  }
  out["threshold"] = pipe.threshold();
  for (const ExplainScale scale : {ExplainScale::kCalibrated, ExplainScale::kMargin}) {
    RowMatrixXd phi(5, p);
    const double base =
        pipe.explain(FeatureMatrix(view(X).middle_rows(n_fit, 5)), view_mut(phi), scale);
    nlohmann::json rows = nlohmann::json::array();
    for (Index i = 0; i < 5; ++i) {
      rows.push_back(std::vector<double>(phi.row(i).data(), phi.row(i).data() + p));
    }
    out[std::string("explain_") + explain_scale_name(scale)] = {{"baseline", base},
                                                                {"contributions", rows}};
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
