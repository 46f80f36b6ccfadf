// SPDX-License-Identifier: Apache-2.0
/// @file ranking.hpp
/// Discrimination metrics: ROC AUC and average precision, with scikit-learn's definitions
/// (ties, weights, zero-weight rows), from one sort.
#pragma once

#include <calibrisk/metrics/sorted_scores.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace calibrisk::metrics {

/// ROC AUC of scores against 0/1 labels (ties count one half, as scikit-learn's trapezoid).
///
/// @param s                 sorted labels/scores/weights (any finite scores).
/// @param replicate_weight  null, or `s.size()` non-negative multiplicities aligned with the sorted
///                          order (bootstrap replicates); they multiply the sample weights.
/// @return AUC in [0, 1]. With `replicate_weight` given, NaN when a class has zero weight in the
///         replicate; without, InvalidInput ("needs both classes").
/// O(n), thread-safe.
double roc_auc_score(const SortedScores& s, const double* replicate_weight = nullptr);

/// ROC AUC from unsorted inputs: y (n labels 0/1), scores (n finite), optional sample weights.
/// Equals `sklearn.metrics.roc_auc_score(y, scores, sample_weight=w)` to rounding.
/// Throws InvalidInput on bad input or a single class. O(n) (radix sort) + O(n).
double roc_auc_score(VectorView<const double> y, VectorView<const double> scores,
                     VectorView<const double> sample_weight = {});

/// Average precision (area under the step PR curve, no interpolation), as
/// `sklearn.metrics.average_precision_score`. Needs positive weight on class 1 (InvalidInput
/// otherwise; NaN for a replicate). Rows of zero weight are ignored, as scikit-learn does.
double average_precision_score(const SortedScores& s, const double* replicate_weight = nullptr);

/// Average precision from unsorted inputs (see the SortedScores overload).
double average_precision_score(VectorView<const double> y, VectorView<const double> scores,
                               VectorView<const double> sample_weight = {});

}  // namespace calibrisk::metrics
