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

namespace detail {

/// Area under the ROC curve by the trapezoidal rule over tie blocks, i.e. the Mann-Whitney
/// statistic with ties counted one half: each block with positive weight P_b and negative weight
/// N_b adds N_b * (TP_before + P_b / 2). Equal (up to rounding) to scikit-learn's
/// auc(roc_curve(...)), since dropping collinear points does not change a trapezoid sum.
/// NaN when a class has zero total weight.
template <class W>
double auc_kernel(const SortedScores& s, W w) {
  double tp = 0.0, fp = 0.0, area = 0.0;
  for_each_tie_block(s, w, [&](double bp, double bn, Index) {
    area += bn * (tp + 0.5 * bp);
    tp += bp;
    fp += bn;
  });
  if (!(tp > 0.0) || !(fp > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return area / (tp * fp);
}

/// Average precision as scikit-learn defines it: sum over distinct thresholds k (decreasing) of
/// (R_k - R_{k-1}) * P_k, with P_k = TP_k / (TP_k + FP_k) and R_k = TP_k / TP_total (no
/// interpolation). NaN when there is no positive weight.
template <class W>
double ap_kernel(const SortedScores& s, W w) {
  double tp = 0.0, fp = 0.0, sum = 0.0;
  for_each_tie_block(s, w, [&](double bp, double bn, Index) {
    tp += bp;
    fp += bn;
    if (bp > 0.0) sum += bp * (tp / (tp + fp));
  });
  if (!(tp > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return std::max(0.0, sum / tp);
}

}  // namespace detail

/// ROC AUC of scores against 0/1 labels (ties count one half, as scikit-learn's trapezoid).
///
/// @param s                 sorted labels/scores/weights (any finite scores).
/// @param replicate_weight  null, or `s.size()` non-negative multiplicities aligned with the sorted
///                          order (bootstrap replicates); they multiply the sample weights.
/// @return AUC in [0, 1]. With `replicate_weight` given, NaN when a class has zero weight in the
///         replicate; without, InvalidInput ("needs both classes").
/// O(n), thread-safe.
inline double roc_auc_score(const SortedScores& s, const double* replicate_weight = nullptr) {
  if (replicate_weight == nullptr) s.require_both_classes("roc_auc_score");
  return s.visit_weights(replicate_weight, [&](auto w) { return detail::auc_kernel(s, w); });
}

/// ROC AUC from unsorted inputs: y (n labels 0/1), scores (n finite), optional sample weights.
/// Equals `sklearn.metrics.roc_auc_score(y, scores, sample_weight=w)` to rounding.
/// Throws InvalidInput on bad input or a single class. O(n) (radix sort) + O(n).
inline double roc_auc_score(VectorView<const double> y, VectorView<const double> scores,
                            VectorView<const double> sample_weight = {}) {
  return roc_auc_score(SortedScores(y, scores, sample_weight, "roc_auc_score"));
}

/// Average precision (area under the step PR curve, no interpolation), as
/// `sklearn.metrics.average_precision_score`. Needs positive weight on class 1 (InvalidInput
/// otherwise; NaN for a replicate). Rows of zero weight are ignored, as scikit-learn does.
inline double average_precision_score(const SortedScores& s,
                                      const double* replicate_weight = nullptr) {
  if (replicate_weight == nullptr && !(s.positive_weight() > 0.0)) {
    throw InvalidInput(
        "average_precision_score: y contains no positive (class 1) with positive weight; average "
        "precision is undefined without positives.");
  }
  return s.visit_weights(replicate_weight, [&](auto w) { return detail::ap_kernel(s, w); });
}

/// Average precision from unsorted inputs (see the SortedScores overload).
inline double average_precision_score(VectorView<const double> y, VectorView<const double> scores,
                                      VectorView<const double> sample_weight = {}) {
  return average_precision_score(SortedScores(y, scores, sample_weight, "average_precision_score"));
}

}  // namespace calibrisk::metrics
