// SPDX-License-Identifier: Apache-2.0
// Per-feature contributions of a pipeline's model to the log-odds: the one implementation behind
// `calibrisk predict --explain` and `ScoringPipeline::explain`.
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/trees/explain.hpp>

namespace calibrisk::detail {

/// Contributions of every row of X (n, p) into phi (n, p), p = pipe.n_features().
/// Trees: exact path-dependent TreeSHAP (Lundberg et al. 2018), bias left out; `explainer` is the
/// pipeline's TreeExplainer when the caller keeps one (built here when null). Logistic regression:
/// coef_j * (x_j - training mean_j) with missing values imputed as the model does, the missing
/// indicator's term added to its feature. Throws InvalidInput on a shape mismatch.
void log_odds_contributions(const Pipeline& pipe, const TreeExplainer* explainer,
                            const FeatureMatrix& X, MatrixView<double> phi);

}  // namespace calibrisk::detail
