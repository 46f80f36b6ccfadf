// SPDX-License-Identifier: Apache-2.0
// Outside consumer of an installed calibrisk: fits and scores a logistic regression on generated
// data and checks the result; exits non-zero on any failure.
#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/version.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  using namespace calibrisk;
  // y ~ Bernoulli(sigmoid(-0.5 + 1.5 x0 - 1.0 x1)), 4000 rows.
  const Index n = 4000, p = 2;
  std::vector<double> X(n * p), y(n);
  Rng rng(2024);
  for (Index i = 0; i < n; ++i) {
    X[i * p] = rng.normal();
    X[i * p + 1] = rng.normal();
    const double z = -0.5 + 1.5 * X[i * p] - 1.0 * X[i * p + 1];
    y[i] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
  }
  LogisticRegressionParams params;
  params.C = 1e6;
  LogisticRegression model(params);
  model.fit(Dataset(MatrixView<const double>::row_major(X.data(), n, p), y));

  const double row[2] = {1.0, 0.0};
  const double risk = model.predict_proba_row(row);
  std::printf("calibrisk %s: coef = [%.3f, %.3f], intercept = %.3f, P(y=1 | x=(1, 0)) = %.3f\n",
              library_version(), model.coef()[0], model.coef()[1], model.intercept(), risk);
  // The estimates must be near the generating values (standard errors are about 0.05).
  const bool ok = model.fit_info().converged && std::abs(model.coef()[0] - 1.5) < 0.25 &&
                  std::abs(model.coef()[1] + 1.0) < 0.25 &&
                  std::abs(model.intercept() + 0.5) < 0.25 &&
                  std::abs(risk - 1.0 / (1.0 + std::exp(-1.0))) < 0.1;
  if (!ok) {
    std::fprintf(stderr, "consumer: fitted model is not close to the generating one\n");
    return 1;
  }
  return 0;
}
