// SPDX-License-Identifier: Apache-2.0
// ROC and precision-recall curves (declared in metrics/curves.hpp).
#include <calibrisk/metrics/curves.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace calibrisk::metrics {

ThresholdCounts threshold_counts(const SortedScores& s) {
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

RocCurve roc_curve(const SortedScores& s, bool drop_intermediate) {
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

RocCurve roc_curve(VectorView<const double> y, VectorView<const double> scores,
                   VectorView<const double> sample_weight, bool drop_intermediate) {
  return roc_curve(SortedScores(y, scores, sample_weight, "roc_curve"), drop_intermediate);
}

PrCurve precision_recall_curve(const SortedScores& s, bool drop_intermediate) {
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

PrCurve precision_recall_curve(VectorView<const double> y, VectorView<const double> scores,
                               VectorView<const double> sample_weight, bool drop_intermediate) {
  return precision_recall_curve(SortedScores(y, scores, sample_weight, "precision_recall_curve"),
                                drop_intermediate);
}

}  // namespace calibrisk::metrics
