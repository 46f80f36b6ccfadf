// SPDX-License-Identifier: Apache-2.0
/// @file math.hpp
/// The numerically stable logistic helpers every scoring and fitting path shares.
#pragma once

#include <cmath>

namespace calibrisk {

/// Logistic function 1 / (1 + exp(-z)), evaluated without overflow for every finite or infinite
/// z (sigmoid(+inf) = 1, sigmoid(-inf) = 0); NaN stays NaN, so callers can detect it.
inline double sigmoid(double z) noexcept {
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

/// log(1 + exp(z)) without overflow (= -log(sigmoid(-z))).
inline double softplus(double z) noexcept {
  return z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

/// log(sigmoid(z)) without overflow or underflow to -inf for moderate z.
inline double log_sigmoid(double z) noexcept { return -softplus(-z); }

}  // namespace calibrisk
