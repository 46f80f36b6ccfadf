// SPDX-License-Identifier: Apache-2.0
// Synthetic data with one high-cardinality code column for the categorical-split benchmarks: a
// Zipf(1.1) code over n_levels levels (column 0) whose log-odds effect is a seeded draw per level,
// plus n_numeric standard-normal columns, 2 % missing codes.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace calibrisk::bench {

struct CodeData {
  std::vector<float> X;  // row-major, n x (1 + n_numeric)
  std::vector<double> y;
  Index n = 0, d = 0;
  Dataset dataset() const {
    return Dataset(MatrixView<const float>::row_major(X.data(), n, d),
                   VectorView<const double>(y.data(), n));
  }
};

inline CodeData make_code_data(Index n, int n_levels, int n_numeric, std::uint64_t seed) {
  CodeData c;
  c.n = n;
  c.d = 1 + n_numeric;
  Rng rng(seed);
  std::vector<double> effect(static_cast<std::size_t>(n_levels)), cum;
  for (auto& e : effect) e = 0.8 * rng.normal();
  double s = 0.0;
  for (int k = 0; k < n_levels; ++k) cum.push_back(s += std::pow(k + 1.0, -1.1));
  c.X.reserve(static_cast<std::size_t>(n * c.d));
  for (Index i = 0; i < n; ++i) {
    const double u = rng.uniform() * s;
    const int code = std::min<int>(
        n_levels - 1, static_cast<int>(std::lower_bound(cum.begin(), cum.end(), u) - cum.begin()));
    const bool miss = rng.uniform() < 0.02;
    c.X.push_back(miss ? NAN : static_cast<float>(code));
    double z = miss ? 0.3 : effect[static_cast<std::size_t>(code)];
    for (int j = 0; j < n_numeric; ++j) {
      const double x = rng.normal();
      c.X.push_back(static_cast<float>(x));
      if (j < 3) z += (0.6 - 0.2 * j) * x;
    }
    c.y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-(z - 1.5))) ? 1.0 : 0.0);
  }
  return c;
}

}  // namespace calibrisk::bench
