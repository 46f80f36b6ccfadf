// SPDX-License-Identifier: Apache-2.0
// Synthetic logistic-regression data with known coefficients, shared by tests and benchmarks.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace calibrisk::testing {

/// n x p row-major features, labels drawn from P(y=1) = sigmoid(intercept + x . beta) with
/// beta_j = (-1)^j * 2 / (j + 1) (so effects of decreasing size), features N(0, 1) scaled by
/// (1 + j % 3) and shifted by j % 5 - 2 (so standardisation matters for conditioning).
template <class T = double>
struct LogisticData {
  Index n = 0, p = 0;
  std::vector<T> X;       // row-major n x p
  std::vector<double> y;  // 0/1
  std::vector<double> beta;
  double intercept = -0.5;

  MatrixView<const T> view() const { return MatrixView<const T>::row_major(X.data(), n, p); }
};

template <class T = double>
LogisticData<T> make_logistic_data(Index n, Index p, std::uint64_t seed = 42,
                                   double nan_fraction = 0.0) {
  LogisticData<T> d;
  d.n = n;
  d.p = p;
  d.X.resize(static_cast<std::size_t>(n * p));
  d.y.resize(static_cast<std::size_t>(n));
  d.beta.resize(static_cast<std::size_t>(p));
  for (Index j = 0; j < p; ++j) d.beta[j] = (j % 2 == 0 ? 2.0 : -2.0) / double(j + 1) / (1 + j % 3);
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    double z = d.intercept;
    for (Index j = 0; j < p; ++j) {
      const double v = static_cast<double>(
          static_cast<T>(rng.normal() * double(1 + j % 3) + double(j % 5) - 2.0));
      z += d.beta[j] * v;
      d.X[i * p + j] = static_cast<T>(v);
    }
    d.y[i] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
    for (Index j = 0; j < p; ++j) {
      if (nan_fraction > 0.0 && rng.uniform() < nan_fraction) d.X[i * p + j] = static_cast<T>(NAN);
    }
  }
  return d;
}

}  // namespace calibrisk::testing
