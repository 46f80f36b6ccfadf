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

/// The onehot-clinical shape of benchmarks/peers/trees.py (`_onehot_clinical`, same recipe, this
/// library's RNG): 173 columns = 15 categorical variables one-hot encoded into 155 indicators
/// (levels 20, 18, 15, 14, 12, 12, 10, 10, 9, 8, 8, 6, 5, 4, 4; level k with probability
/// proportional to (k + 1)^-1.3 in a shuffled order), 10 flags (none 70 %, one 28 %, two 2 %) and 8
/// numeric columns (age, stay, lab procedures, medications, 3 visit counts, a lab with 10 % NaN).
/// eta = -3 + effects of the first six variables (N(0, 0.5) per level) + 0.8 flag0 - 0.6 flag3 +
/// 0.01 (age - 60) + 0.15 log1p(stay) + 0.35 inpatient + 0.2 emergency + 0.3 lab; ~14 % positives.
inline TrainData make_onehot_clinical(Index n, std::uint64_t seed = 3) {
  static constexpr int kLevels[15] = {20, 18, 15, 14, 12, 12, 10, 10, 9, 8, 8, 6, 5, 4, 4};
  constexpr Index kIndicators = 155, kFlags = 10, kNumeric = 8;
  TrainData d;
  d.n = n;
  d.f = kIndicators + kFlags + kNumeric;
  d.x.assign(static_cast<std::size_t>(n * d.f), 0.0f);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed, 11);
  // Per variable: cumulative level probabilities (shuffled Zipf) and the effects of its levels.
  std::vector<std::vector<double>> cum(15), effect(15);
  for (int v = 0; v < 15; ++v) {
    std::vector<double> p(static_cast<std::size_t>(kLevels[v]));
    for (int k = 0; k < kLevels[v]; ++k) p[static_cast<std::size_t>(k)] = std::pow(k + 1.0, -1.3);
    for (std::size_t k = p.size(); k-- > 1;) std::swap(p[k], p[rng.below(k + 1)]);
    double s = 0.0;
    for (double& q : p) q = (s += q);
    for (double& q : p) q /= s;
    cum[static_cast<std::size_t>(v)] = p;
    for (int k = 0; k < kLevels[v]; ++k) {
      effect[static_cast<std::size_t>(v)].push_back(v < 6 ? 0.5 * rng.normal() : 0.0);
    }
  }
  double flag_cum[kFlags], fs = 0.0;
  for (Index k = 0; k < kFlags; ++k) flag_cum[k] = (fs += 1.0 / static_cast<double>(k + 1));
  auto draw_flag = [&] {
    const double u = rng.uniform() * fs;
    Index k = 0;
    while (k + 1 < kFlags && u >= flag_cum[k]) ++k;
    return k;
  };
  auto poisson = [&](double lambda) {  // Knuth's product of uniforms (small lambda)
    const double l = std::exp(-lambda);
    double p = 1.0;
    int k = -1;
    do {
      ++k;
      p *= rng.uniform();
    } while (p > l);
    return static_cast<double>(k);
  };
  for (Index i = 0; i < n; ++i) {
    float* row = d.x.data() + i * d.f;
    double eta = -3.0;
    Index j = 0;
    for (int v = 0; v < 15; ++v) {
      const auto& c = cum[static_cast<std::size_t>(v)];
      const double u = rng.uniform();
      int k = 0;
      while (k + 1 < kLevels[v] && u >= c[static_cast<std::size_t>(k)]) ++k;
      row[j + k] = 1.0f;
      eta += effect[static_cast<std::size_t>(v)][static_cast<std::size_t>(k)];
      j += kLevels[v];
    }
    const double u = rng.uniform();
    if (u < 0.30) row[j + draw_flag()] = 1.0f;
    if (u < 0.02) row[j + draw_flag()] = 1.0f;
    eta += 0.8 * row[j] - 0.6 * row[j + 3];
    j += kFlags;
    const double age = 18.0 + static_cast<double>(rng.below(78));
    const double stay = 1.0 + poisson(3.4);
    const double labs = std::min(130.0, std::max(1.0, std::nearbyint(43.0 + 20.0 * rng.normal())));
    const double meds = 1.0 + poisson(15.0);
    const double outp = poisson(0.4), emerg = poisson(0.2), inp = poisson(0.6);
    const double lab = rng.normal();
    eta += 0.01 * (age - 60.0) + 0.15 * std::log1p(stay) + 0.35 * inp + 0.2 * emerg + 0.3 * lab;
    const double num[kNumeric] = {age, stay, labs, meds, outp, emerg, inp, lab};
    for (Index q = 0; q < kNumeric; ++q) row[j + q] = static_cast<float>(num[q]);
    if (rng.uniform() < 0.10) row[j + kNumeric - 1] = std::numeric_limits<float>::quiet_NaN();
    d.y[static_cast<std::size_t>(i)] = rng.uniform() < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
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
