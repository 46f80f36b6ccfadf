// SPDX-License-Identifier: Apache-2.0
// ROC AUC and average precision, with their weight-accessor kernels (declared in
// metrics/ranking.hpp).
#include <calibrisk/metrics/ranking.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

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

double roc_auc_score(const SortedScores& s, const double* replicate_weight) {
  if (replicate_weight == nullptr) s.require_both_classes("roc_auc_score");
  return s.visit_weights(replicate_weight, [&](auto w) { return detail::auc_kernel(s, w); });
}

double roc_auc_score(VectorView<const double> y, VectorView<const double> scores,
                     VectorView<const double> sample_weight) {
  return roc_auc_score(SortedScores(y, scores, sample_weight, "roc_auc_score"));
}

double average_precision_score(const SortedScores& s, const double* replicate_weight) {
  if (replicate_weight == nullptr && !(s.positive_weight() > 0.0)) {
    throw InvalidInput(
        "average_precision_score: y contains no positive (class 1) with positive weight; average "
        "precision is undefined without positives.");
  }
  return s.visit_weights(replicate_weight, [&](auto w) { return detail::ap_kernel(s, w); });
}

double average_precision_score(VectorView<const double> y, VectorView<const double> scores,
                               VectorView<const double> sample_weight) {
  return average_precision_score(SortedScores(y, scores, sample_weight, "average_precision_score"));
}

}  // namespace calibrisk::metrics
