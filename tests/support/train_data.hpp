// SPDX-License-Identifier: Apache-2.0
// Seeded synthetic binary-classification data for the tree-training tests and benchmarks: dense
// (Gaussian features, a non-linear logistic truth, ~10% positives, NaN in some columns) and
// clinical-sparse (one-hot groups and rare binary flags next to a few numeric columns).
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace calibrisk::testing {

/// Owns a row-major float32 table, its labels and weights; `dataset()` views them.
struct TrainData {
  Index n = 0, f = 0;
  std::vector<float> x;   ///< row-major (n, f)
  std::vector<double> y;  ///< 0/1
  std::vector<double> w;  ///< empty = unweighted
  MatrixView<const float> X() const { return MatrixView<const float>::row_major(x.data(), n, f); }
  Dataset dataset() const {
    return Dataset(FeatureMatrix(X()), VectorView<const double>(y),
                   w.empty() ? VectorView<const double>() : VectorView<const double>(w));
  }
  /// The same values as float64, row-major.
  std::vector<double> x_double() const { return std::vector<double>(x.begin(), x.end()); }
};

/// Dense data: x ~ N(0, 1); margin = sum_j b_j x_j over the first 10 features + 0.8 x0 x1
/// - 0.5 (x2^2 - 1) + c with c giving ~10% positives; y ~ Bernoulli(sigmoid(margin)). After
/// drawing y, every 5th feature (1, 6, 11, ...) loses `nan_rate` of its values to NaN.
inline TrainData make_dense(Index n, Index f, std::uint64_t seed = 1, double nan_rate = 0.05) {
  TrainData d;
  d.n = n;
  d.f = f;
  d.x.resize(static_cast<std::size_t>(n * f));
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed, 7);
  const double b[10] = {1.0, -0.8, 0.6, 0.5, -0.4, 0.3, 0.3, -0.2, 0.2, 0.1};
  for (Index i = 0; i < n; ++i) {
    float* row = d.x.data() + i * f;
    for (Index j = 0; j < f; ++j) row[j] = static_cast<float>(rng.normal());
    double m = -2.9;
    for (Index j = 0; j < std::min<Index>(10, f); ++j) m += b[j] * row[j];
    if (f >= 3) m += 0.8 * row[0] * row[1] - 0.5 * (row[2] * row[2] - 1.0);
    const double p = 1.0 / (1.0 + std::exp(-m));
    d.y[static_cast<std::size_t>(i)] = rng.uniform() < p ? 1.0 : 0.0;
    for (Index j = 1; j < f; j += 5) {
      if (rng.uniform() < nan_rate) row[j] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  return d;
}

/// Clinical-shaped sparse data with `f` columns: 4 numeric (labs, age) and the rest 0/1 flags
/// (one-hot groups of 8 where exactly one is set, and rare flags with density 3%). The truth uses
/// two numeric columns, a few flags and one group; ~10% positives.
inline TrainData make_sparse(Index n, Index f, std::uint64_t seed = 2) {
  TrainData d;
  d.n = n;
  d.f = f;
  d.x.assign(static_cast<std::size_t>(n * f), 0.0f);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed, 9);
  const Index n_num = std::min<Index>(4, f);
  const Index n_groups = (f - n_num) / 16;  // half the flag columns in one-hot groups of 8
  for (Index i = 0; i < n; ++i) {
    float* row = d.x.data() + i * f;
    for (Index j = 0; j < n_num; ++j) row[j] = static_cast<float>(rng.normal());
    Index j = n_num;
    int group0 = 0;
    for (Index g = 0; g < n_groups; ++g, j += 8) {
      const auto k = static_cast<Index>(rng.below(8));
      if (g == 0) group0 = static_cast<int>(k);
      row[j + k] = 1.0f;
    }
    for (; j < f; ++j) row[j] = rng.uniform() < 0.03 ? 1.0f : 0.0f;
    double m = -2.6 + 0.9 * row[0] - 0.6 * (n_num > 1 ? row[1] : 0.0f);
    if (group0 >= 6) m += 1.0;
    if (f > n_num + 8 * n_groups) m += 1.5 * row[n_num + 8 * n_groups];
    if (f > n_num + 8 * n_groups + 1) m -= 1.0 * row[n_num + 8 * n_groups + 1];
    d.y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-m)) ? 1.0 : 0.0;
  }
  return d;
}

/// Mean log-loss of probabilities p against labels y.
inline double mean_log_loss(const std::vector<double>& y, const double* p) {
  double s = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double q = std::min(std::max(p[i], 1e-15), 1.0 - 1e-15);
    s -= y[i] == 1.0 ? std::log(q) : std::log(1.0 - q);
  }
  return s / static_cast<double>(y.size());
}

}  // namespace calibrisk::testing
