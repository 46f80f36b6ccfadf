// SPDX-License-Identifier: Apache-2.0
/// @file curves.hpp
/// ROC and precision-recall curves with their thresholds, the same arrays as scikit-learn's
/// `roc_curve` and `precision_recall_curve` (including `drop_intermediate`).
#pragma once

#include <calibrisk/metrics/sorted_scores.hpp>

#include <limits>
#include <vector>

namespace calibrisk::metrics {

/// Cumulative weighted confusion counts at every distinct score (decreasing): flagging the rows
/// with score >= thresholds[k] gives tps[k] true and fps[k] false positives. Scores carried only by
/// zero-weight rows are not thresholds (scikit-learn drops zero-weight rows first).
struct ThresholdCounts {
  std::vector<double> thresholds;  ///< distinct scores, decreasing
  std::vector<double> tps;         ///< weighted true positives at each threshold, non-decreasing
  std::vector<double> fps;         ///< weighted false positives at each threshold, non-decreasing
};

/// O(n) pass over the sorted scores (one entry per tie block of positive weight).
ThresholdCounts threshold_counts(const SortedScores& s);

/// The ROC curve, as `sklearn.metrics.roc_curve`.
struct RocCurve {
  std::vector<double> fpr;         ///< false positive rate, non-decreasing from 0 to 1
  std::vector<double> tpr;         ///< true positive rate, non-decreasing from 0 to 1
  std::vector<double> thresholds;  ///< thresholds[0] = +inf (flag nothing), then decreasing scores
};

/// ROC curve of scores against 0/1 labels.
///
/// A row is flagged when score >= threshold. `drop_intermediate` (default true, as scikit-learn)
/// removes points collinear with their neighbours (second differences of both fps and tps exactly
/// zero): they change neither the plotted curve nor the area. A first point (0, 0) with threshold
/// +inf is prepended. Throws InvalidInput unless both classes have positive weight (scikit-learn
/// returns NaN rates with a warning instead). O(n) after the sort.
RocCurve roc_curve(const SortedScores& s, bool drop_intermediate = true);

/// ROC curve from unsorted inputs (see the SortedScores overload).
RocCurve roc_curve(VectorView<const double> y, VectorView<const double> scores,
                   VectorView<const double> sample_weight = {}, bool drop_intermediate = true);

/// The precision-recall curve, as `sklearn.metrics.precision_recall_curve`.
struct PrCurve {
  std::vector<double> precision;   ///< one per threshold (increasing thresholds), then a final 1
  std::vector<double> recall;      ///< one per threshold (non-increasing), then a final 0
  std::vector<double> thresholds;  ///< distinct scores, increasing (one fewer than precision)
};

/// Precision-recall curve of scores against 0/1 labels.
///
/// Same order and conventions as scikit-learn: thresholds increase, precision[k]/recall[k] belong
/// to flagging score >= thresholds[k], and a last point (recall 0, precision 1) without threshold
/// ends the arrays. `drop_intermediate` (default false, as scikit-learn) drops thresholds at which
/// the true positive count changes on neither side (they do not show on a plotted step curve).
/// Throws InvalidInput when no positive has positive weight. O(n) after the sort.
PrCurve precision_recall_curve(const SortedScores& s, bool drop_intermediate = false);

/// Precision-recall curve from unsorted inputs (see the SortedScores overload).
PrCurve precision_recall_curve(VectorView<const double> y, VectorView<const double> scores,
                               VectorView<const double> sample_weight = {},
                               bool drop_intermediate = false);

}  // namespace calibrisk::metrics
