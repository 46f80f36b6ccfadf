// SPDX-License-Identifier: Apache-2.0
// Fits a logistic regression with missing values on synthetic data, prints the Wald coefficient
// table (odds ratios with 95% intervals) and scores two new rows.
#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

int main() {
  using namespace calibrisk;
  // Three predictors of a readmission-like outcome: age (decades), a lab value with 10% missing,
  // and a binary flag. True model: logit = -2 + 0.4 age + 0.8 lab + 1.0 flag.
  const Index n = 5000, p = 3;
  std::vector<double> X(n * p), y(n);
  Rng rng(7);
  for (Index i = 0; i < n; ++i) {
    const double age = 5.0 + 1.5 * rng.normal();
    const double lab = rng.normal();
    const double flag = rng.bernoulli(0.3) ? 1.0 : 0.0;
    const double z = -2.0 + 0.4 * (age - 5.0) + 0.8 * lab + 1.0 * flag;
    y[i] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
    X[i * p] = age;
    X[i * p + 1] = rng.bernoulli(0.1) ? std::numeric_limits<double>::quiet_NaN() : lab;
    X[i * p + 2] = flag;
  }

  LogisticRegressionParams params;
  params.C = std::numeric_limits<double>::infinity();  // unpenalized: exact Wald statistics
  params.missing = MissingStrategy::kMeanWithIndicator;
  LogisticRegression model(params);
  model.fit(Dataset(MatrixView<const double>::row_major(X.data(), n, p), y));

  const FitInfo& info = model.fit_info();
  std::printf("converged: %s after %d Newton iterations\n", info.converged ? "yes" : "no",
              info.n_iter);
  const CoefficientTable table = model.coefficient_table(0.95, {"age", "lab", "flag"});
  std::printf("%-14s %9s %9s %9s %20s\n", "term", "estimate", "std.err", "OR", "95% CI of OR");
  for (const CoefficientRow& r : table.rows) {
    std::printf("%-14s %9.3f %9.3f %9.3f   [%7.3f, %7.3f]\n", r.term.c_str(), r.estimate,
                r.std_error, r.odds_ratio, r.odds_ratio_lower, r.odds_ratio_upper);
  }

  const double patient_a[3] = {7.0, 1.2, 1.0};
  const double patient_b[3] = {4.0, std::numeric_limits<double>::quiet_NaN(), 0.0};  // lab missing
  std::printf("risk A = %.3f, risk B = %.3f\n", model.predict_proba_row(patient_a),
              model.predict_proba_row(patient_b));
  return info.converged ? 0 : 1;
}
