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
inline ThresholdCounts threshold_counts(const SortedScores& s) {
  ThresholdCounts c;
  const double* sc = s.score().data();
  const Index n = s.size();
  Index blocks = 0;
  for (Index i = 0; i < n; ++i) blocks += (i + 1 == n || sc[i + 1] != sc[i]);
  c.thresholds.reserve(blocks);
  c.tps.reserve(blocks);
  c.fps.reserve(blocks);
  s.visit_weights(nullptr, [&](auto w) {
    double tp = 0.0, fp = 0.0;
    detail::for_each_tie_block(s, w, [&](double bp, double bn, Index last) {
      if (!(bp + bn > 0.0)) return;
      tp += bp;
      fp += bn;
      c.thresholds.push_back(sc[last]);
      c.tps.push_back(tp);
      c.fps.push_back(fp);
    });
  });
  return c;
}

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
inline RocCurve roc_curve(const SortedScores& s, bool drop_intermediate = true) {
  s.require_both_classes("roc_curve");
  ThresholdCounts c = threshold_counts(s);
  const std::size_t m = c.tps.size();
  std::vector<std::size_t> keep;
  keep.reserve(m);
  for (std::size_t k = 0; k < m; ++k) {
    bool kept = true;
    if (drop_intermediate && m > 2 && k > 0 && k + 1 < m) {
      // numpy's diff(x, 2)[k-1] = (x[k+1] - x[k]) - (x[k] - x[k-1]), evaluated the same way.
      const double d2f = (c.fps[k + 1] - c.fps[k]) - (c.fps[k] - c.fps[k - 1]);
      const double d2t = (c.tps[k + 1] - c.tps[k]) - (c.tps[k] - c.tps[k - 1]);
      kept = d2f != 0.0 || d2t != 0.0;
    }
    if (kept) keep.push_back(k);
  }
  RocCurve r;
  r.fpr.reserve(keep.size() + 1);
  r.tpr.reserve(keep.size() + 1);
  r.thresholds.reserve(keep.size() + 1);
  r.fpr.push_back(0.0);
  r.tpr.push_back(0.0);
  r.thresholds.push_back(std::numeric_limits<double>::infinity());
  const double fp_total = c.fps.back(), tp_total = c.tps.back();
  for (std::size_t k : keep) {
    r.fpr.push_back(c.fps[k] / fp_total);
    r.tpr.push_back(c.tps[k] / tp_total);
    r.thresholds.push_back(c.thresholds[k]);
  }
  return r;
}

/// ROC curve from unsorted inputs (see the SortedScores overload).
inline RocCurve roc_curve(VectorView<const double> y, VectorView<const double> scores,
                          VectorView<const double> sample_weight = {},
                          bool drop_intermediate = true) {
  return roc_curve(SortedScores(y, scores, sample_weight, "roc_curve"), drop_intermediate);
}

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
inline PrCurve precision_recall_curve(const SortedScores& s, bool drop_intermediate = false) {
  if (!(s.positive_weight() > 0.0)) {
    throw InvalidInput(
        "precision_recall_curve: y contains no positive (class 1) with positive weight; recall is "
        "undefined without positives.");
  }
  if (!drop_intermediate) {
    // Fast path (no intermediate arrays): count the thresholds, then fill the outputs from the
    // back, since they run in increasing threshold order.
    const double* sc = s.score().data();
    const Index n = s.size();
    PrCurve r;
    s.visit_weights(nullptr, [&](auto w) {
      std::size_t m = 0;
      double bw = 0.0;
      for (Index i = 0; i < n; ++i) {
        bw += w(i);
        if (i + 1 == n || sc[i + 1] != sc[i]) {
          m += bw > 0.0;
          bw = 0.0;
        }
      }
      r.precision.resize(m + 1);
      r.recall.resize(m + 1);
      r.thresholds.resize(m);
      double tp = 0.0, fp = 0.0;
      std::size_t j = m;
      detail::for_each_tie_block(s, w, [&](double bp, double bn, Index last) {
        if (!(bp + bn > 0.0)) return;
        tp += bp;
        fp += bn;
        --j;
        const double ps = tp + fp;
        r.precision[j] = ps != 0.0 ? tp / ps : 0.0;
        r.recall[j] = tp;  // divided by the final tp below (recall ends exactly at 1)
        r.thresholds[j] = sc[last];
      });
      for (std::size_t k = 0; k < m; ++k) r.recall[k] /= tp;
      r.precision[m] = 1.0;
      r.recall[m] = 0.0;
    });
    return r;
  }
  ThresholdCounts c = threshold_counts(s);
  const std::size_t m = c.tps.size();
  std::vector<std::size_t> keep;
  keep.reserve(m);
  for (std::size_t k = 0; k < m; ++k) {
    bool kept = true;
    if (drop_intermediate && m > 2 && k > 0 && k + 1 < m) {
      kept = c.tps[k] != c.tps[k - 1] || c.tps[k + 1] != c.tps[k];
    }
    if (kept) keep.push_back(k);
  }
  PrCurve r;
  const std::size_t q = keep.size();
  r.precision.resize(q + 1);
  r.recall.resize(q + 1);
  r.thresholds.resize(q);
  const double tp_total = c.tps.back();
  for (std::size_t j = 0; j < q; ++j) {
    const std::size_t k = keep[q - 1 - j];  // reversed: increasing thresholds
    const double ps = c.tps[k] + c.fps[k];
    r.precision[j] = ps != 0.0 ? c.tps[k] / ps : 0.0;
    r.recall[j] = c.tps[k] / tp_total;
    r.thresholds[j] = c.thresholds[k];
  }
  r.precision[q] = 1.0;
  r.recall[q] = 0.0;
  return r;
}

/// Precision-recall curve from unsorted inputs (see the SortedScores overload).
inline PrCurve precision_recall_curve(VectorView<const double> y, VectorView<const double> scores,
                                      VectorView<const double> sample_weight = {},
                                      bool drop_intermediate = false) {
  return precision_recall_curve(SortedScores(y, scores, sample_weight, "precision_recall_curve"),
                                drop_intermediate);
}

}  // namespace calibrisk::metrics
