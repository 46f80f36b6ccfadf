// SPDX-License-Identifier: Apache-2.0
/// @file multiclass.hpp
/// Metrics of K-class probabilities and labels: multiclass log loss and Brier score
/// (scikit-learn's definitions), top-label and classwise expected calibration error (Guo et al.
/// 2017; Kull et al. 2019, "Beyond temperature scaling", eq. for classwise-ECE), classwise
/// reliability curves, the confusion matrix, per-class precision / recall / F1 with Wilson
/// intervals, and stratified percentile-bootstrap intervals of any of them.
///
/// Conventions (the issue-13 multiclass contract): `y` holds class indices 0..K-1 as doubles; `P`
/// is an (n, K) matrix of probabilities (any strides) whose rows sum to 1; weights are empty or
/// one finite non-negative value per row. A class may be absent from `y` (evaluation data).
/// Binning of the ECE variants and curves is the binary `CalibrationBinning` (uniform or quantile
/// bins, numpy's searchsorted rule), so with K = 2 the classwise ECE of class 1 equals the binary
/// `expected_calibration_error`.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/metrics/bootstrap.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/intervals.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::metrics {

/// Mean (weighted) negative log-likelihood -ln clip(P[i, y_i], eps, 1 - eps) with
/// eps = kLogLossEps, exactly scikit-learn's `log_loss(y, P)` (>= 1.5). Throws InvalidInput on bad
/// shapes, labels outside 0..K-1, probabilities outside [0, 1] or rows not summing to 1
/// (tolerance 1e-5; scikit-learn only warns). O(n K).
double multiclass_log_loss(VectorView<const double> y, MatrixView<const double> P,
                           VectorView<const double> sample_weight = {});

/// Mean (weighted) of sum_k (P[i, k] - [y_i = k])^2, scikit-learn's multiclass
/// `brier_score_loss(y, P)` (>= 1.7): in [0, 2] for K >= 3. For K = 2 scikit-learn (and this
/// function) halve it, which gives the binary Brier score of class 1. O(n K).
double multiclass_brier_score(VectorView<const double> y, MatrixView<const double> P,
                              VectorView<const double> sample_weight = {});

/// Top-label (confidence) ECE (Guo et al. 2017): the binary ECE of the confidence max_k P[i, k]
/// against the indicator "the arg max (first maximum, as numpy's argmax) is y_i".
double top_label_ece(VectorView<const double> y, MatrixView<const double> P,
                     VectorView<const double> sample_weight = {},
                     const CalibrationBinning& binning = {});

/// Classwise ECE (Kull et al. 2019): the mean over the K classes of the binary ECE of P[:, k]
/// against [y = k], each with `binning`.
double classwise_ece(VectorView<const double> y, MatrixView<const double> P,
                     VectorView<const double> sample_weight = {},
                     const CalibrationBinning& binning = {});

/// One reliability curve per class: `reliability_curve([y = k], P[:, k])` with Wilson intervals.
std::vector<ReliabilityCurve> classwise_reliability_curves(
    VectorView<const double> y, MatrixView<const double> P,
    VectorView<const double> sample_weight = {}, const CalibrationBinning& binning = {},
    double confidence = 0.95);

/// The predicted class of each row: the first maximum of P's row (numpy's argmax).
Eigen::VectorXd predicted_classes(MatrixView<const double> P);

/// Confusion matrix C (K x K): C(i, j) = (weighted) count of rows with true class i predicted as
/// j, scikit-learn's `confusion_matrix` convention (rows true, columns predicted). Labels are
/// class indices 0..n_classes-1.
Eigen::MatrixXd confusion_matrix(VectorView<const double> y_true, VectorView<const double> y_pred,
                                 int n_classes, VectorView<const double> sample_weight = {});

/// Precision, recall and F1 of one class with Wilson intervals.
struct ClassScores {
  double precision = 0.0;           ///< tp / (tp + fp); 0 when nothing is predicted as the class
  double recall = 0.0;              ///< tp / (tp + fn); 0 when the class is absent
  double f1 = 0.0;                  ///< 2 tp / (2 tp + fp + fn); 0 when the denominator is 0
  double support = 0.0;             ///< (weighted) number of rows of the class, tp + fn
  ProportionInterval precision_ci;  ///< Wilson, on Kish's effective n with weights
  ProportionInterval recall_ci;
};

/// Per-class scores from labels and predictions, equal to scikit-learn's
/// `precision_recall_fscore_support(y_true, y_pred, labels=range(K), zero_division=0)`; the
/// intervals are Wilson's at `confidence` (see `wilson_interval`). F1 has no closed-form
/// interval: use `multiclass_bootstrap` with "f1_<k>".
std::vector<ClassScores> per_class_scores(VectorView<const double> y_true,
                                          VectorView<const double> y_pred, int n_classes,
                                          VectorView<const double> sample_weight = {},
                                          double confidence = 0.95);

/// Names `multiclass_bootstrap` knows: "log_loss", "brier_score", "top_label_ece",
/// "classwise_ece", "accuracy", "macro_f1", "f1_<k>", "precision_<k>", "recall_<k>" for a
/// class index k, and, given `routed`, the review queue's "auto_accuracy" (accuracy of the
/// auto-routed rows, NaN when none) and "review_rate" (weight share of the other rows).
const std::vector<std::string>& multiclass_bootstrap_metrics();

/// Stratified percentile bootstrap of multiclass metrics: each replicate redraws, within each
/// class, as many rows as the class has (with replacement; `params.stratified = false` draws
/// from all rows), from `Rng(params.random_state, r)` only, so results are bit-identical for any
/// n_threads. With `groups` (one integer key per row: patients) whole groups are redrawn instead,
/// within strata of the groups' most frequent class (ties: the lowest class index), each stratum
/// in ascending key order; singleton groups keyed in row order draw exactly as rows. `routed`
/// (empty, or 1 = auto-routed / 0 = review per row, the queue fixed beforehand) is needed by
/// "auto_accuracy" and "review_rate". The ECE variants use `params.binning`. A replicate where a
/// metric is undefined (NaN) is excluded and counted; "f1_<k>" and "macro_f1" are undefined on a
/// replicate that lacks a class the data has (positive weight), so their intervals are
/// conditional on the class occurring rather than pulled to 0 (only unstratified or grouped
/// replicates can lack a class). Unstratified is what the K-class report and validate use:
/// fixing the class mix makes accuracy / Brier / log loss / ECE intervals far too narrow. Throws
/// InvalidParams for an unknown name (listing the known ones), InvalidInput on bad data.
/// O(replicates x n K).
std::vector<BootstrapResult> multiclass_bootstrap(
    VectorView<const double> y, MatrixView<const double> P, const std::vector<std::string>& names,
    const BootstrapParams& params = {}, VectorView<const double> sample_weight = {},
    VectorView<const std::int64_t> groups = {}, VectorView<const double> routed = {});

}  // namespace calibrisk::metrics
