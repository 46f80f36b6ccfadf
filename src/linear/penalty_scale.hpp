// SPDX-License-Identifier: Apache-2.0
// Internal: the per-column penalty multipliers of penalty_scale = standardized (logistic.hpp):
// the sample-weighted variance of each raw column over the training rows, 1 for a column with
// zero variance (StandardScaler's scale 1).
#pragma once

#include <calibrisk/core/matrix.hpp>

#include <Eigen/Core>

#include <vector>

namespace calibrisk::detail {

/// The multiplier of a column of variance `var`: var, or 1 when the column is constant (var not
/// > 0, or `constant`).
inline double variance_penalty_factor(double var, bool constant) noexcept {
  return !constant && var > 0.0 ? var : 1.0;
}

/// Dense X (NaN = missing, imputed by the sample-weighted mean of the observed values): the
/// variance of each imputed column. Defined in logistic.cpp (the binary fit's column statistics).
std::vector<double> dense_penalty_factors(const FeatureMatrix& X, const Eigen::VectorXd& sw,
                                          int n_threads);

/// Sparse X (absent entries are 0): the variance of each column. sw empty = unit weights.
/// Defined in logistic_multiclass.cpp.
std::vector<double> sparse_penalty_factors(const SparseMatrixView& X, VectorView<const double> sw);

}  // namespace calibrisk::detail
