// SPDX-License-Identifier: Apache-2.0
/// @file booster.hpp
/// Histogram gradient-boosted trees for binary log-loss: `GBDTParams` and `GradientBoostedTrees`.
///
/// The algorithm is second-order gradient boosting (Friedman 2001; Chen & Guestrin 2016, XGBoost)
/// on quantile-binned features with leaf-wise growth and histogram subtraction (Ke et al. 2017,
/// LightGBM). Training runs binning -> histograms -> split finding -> growth -> boosting, one stage
/// per file pair in src/trees/. Example:
/// @code
///   calibrisk::GBDTParams p;
///   p.n_estimators = 300;
///   p.class_weight = calibrisk::ClassWeight::balanced();
///   calibrisk::GradientBoostedTrees model(p);
///   model.fit(train);                          // train: calibrisk::Dataset
///   Eigen::VectorXd risk = model.predict_proba(X_new);
/// @endcode
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/weights.hpp>
#include <calibrisk/trees/predict.hpp>
#include <calibrisk/trees/tree.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <vector>

namespace calibrisk {

/// Hyper-parameters of `GradientBoostedTrees`. Names follow scikit-learn's
/// HistGradientBoostingClassifier / LightGBM; each field lists its default and range.
struct GBDTParams {
  int n_estimators = 100;      ///< Boosting rounds (trees), >= 1.
  double learning_rate = 0.1;  ///< Shrinkage applied to every leaf output, in (0, 1].
  int max_leaf_nodes = 31;     ///< Leaves per tree, >= 2.
  int max_depth = -1;          ///< Depth limit of each tree; <= 0 (default -1) = unlimited.
  int max_bins = 255;          ///< Value bins per feature, in [2, 65535] (uint8 codes up to 255,
                               ///< uint16 above); one more bin holds missing values.
  int min_samples_leaf = 20;   ///< Minimum training rows in a leaf, >= 1.
  double min_child_weight = 1e-3;    ///< Minimum hessian sum in a leaf, >= 0.
  double l2_regularization = 0.0;    ///< L2 penalty on leaf outputs (lambda), >= 0.
  double min_gain_to_split = 0.0;    ///< A split needs gain > this, >= 0.
  double subsample = 1.0;            ///< Fraction of rows (Bernoulli, seeded) per tree, in (0, 1].
  double colsample_bytree = 1.0;     ///< Fraction of features drawn per tree, in (0, 1].
  ClassWeight class_weight;          ///< none (default), balanced (n / (2 n_c)) or explicit.
  double scale_pos_weight = 1.0;     ///< Extra multiplier of class-1 weights, finite and > 0.
  std::vector<int> monotonic_cst;    ///< Empty, or one of {-1, 0, +1} per feature: output is
                                     ///< non-increasing / free / non-decreasing in that feature.
  bool early_stopping = false;       ///< Stop when the validation loss stops improving.
  double validation_fraction = 0.1;  ///< Stratified share held out when early stopping without an
                                     ///< explicit validation set, in (0, 1).
  int n_iter_no_change = 10;         ///< Rounds without improvement > tol before stopping, >= 1.
  double tol = 1e-7;                 ///< Minimum improvement of the validation log-loss, >= 0.
  Index bin_subsample = 200000;      ///< Rows sampled to compute bin edges, >= 0 (0 = all rows).
  std::uint64_t random_state = 0;    ///< Seed of every random choice (subsamples, splits).
  /// Limit on the model size, >= 1: fit refuses (InvalidParams, before any work) when
  /// n_estimators * (2 L - 1) exceeds it, L = min(max_leaf_nodes, 2^max_depth,
  /// rows / min_samples_leaf) the most leaves a tree can have. A node takes about 80 bytes in
  /// memory; the default (4,000,000 nodes, about 0.3 GB) admits e.g. 5,000 trees of 255 leaves.
  Index max_model_nodes = 4000000;
  int n_threads = 0;  ///< 0 = all threads OpenMP allows; >= 0. Never changes the model.

  /// Throws InvalidParams naming the field, the value and the allowed range.
  void validate() const;
};

/// Everything prediction needs: the ensemble (base score + flat-array trees). Plain data; the
/// artifact module serialises it.
struct GBDTState {
  TreeEnsemble ensemble;
};

/// Binary classifier by histogram gradient boosting of regression trees on the log-loss.
///
/// Training (see docs/trees.md): per-feature quantile binning with a missing bin; gradients and
/// hessians of the weighted log-loss (weights = sample_weight x class weight x scale_pos_weight for
/// positives); init score = weighted log-odds; each tree grown leaf-wise up to max_leaf_nodes
/// with the best split of each leaf found from gradient histograms (smaller child built, larger
/// = parent - smaller); missing values sent to the side learned per split; optional monotonic
/// constraints enforced by bounding leaf outputs; optional early stopping keeping the best
/// iteration. Same data, params and seed give a bit-identical model for any n_threads.
///
/// Thread-safety: const methods may be called concurrently; `fit` may not.
class GradientBoostedTrees {
 public:
  explicit GradientBoostedTrees(GBDTParams params = {});

  /// Fits on `train` (validated once: shapes, labels 0/1 with both classes, finite non-negative
  /// weights, no inf in X; NaN = missing). With `params.early_stopping`, a stratified
  /// `validation_fraction` of train is held out. Throws InvalidParams / InvalidInput.
  /// Complexity O(n_estimators * (n * F + leaves * F * bins)) with n rows and F features.
  GradientBoostedTrees& fit(const Dataset& train);
  /// Fits on `train`, evaluating the log-loss on `valid` after every round; with
  /// `params.early_stopping` training stops after n_iter_no_change rounds without improvement
  /// larger than tol and keeps the best round's trees. `valid` must have the same columns.
  GradientBoostedTrees& fit(const Dataset& train, const Dataset& valid);

  /// Raw margin (log-odds) per row; X has n_features columns, float32/float64, any strides.
  /// Throws NotFitted, InvalidInput (column count, inf). Parallel over rows.
  Eigen::VectorXd decision_function(const FeatureMatrix& X) const;
  /// P(y = 1) per row.
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const;
  /// P(y = 1) per row into `out` (X.rows() values); no allocation.
  void predict_proba(const FeatureMatrix& X, VectorView<double> out) const;
  /// P(y = 1) of one contiguous row of n_features values; const, allocation-free, unchecked.
  double predict_proba_row(const double* row) const noexcept {
    return predictor_.predict_proba_row(row);
  }
  double predict_proba_row(const float* row) const noexcept {
    return predictor_.predict_proba_row(row);
  }

  bool is_fitted() const noexcept { return fitted_; }
  /// The fitted trees. Throws NotFitted.
  const TreeEnsemble& ensemble() const;
  /// The prediction engine built from the ensemble. Throws NotFitted.
  const TreePredictor& predictor() const;
  /// Rounds, notes (constant features, early stop). Throws NotFitted.
  const FitInfo& fit_info() const;
  /// Boosting rounds actually run (<= n_estimators; includes rounds after the best one when early
  /// stopping). Throws NotFitted.
  int n_iter() const;
  /// Number of trees kept: the 1-based round with the lowest validation loss when a validation set
  /// was used, else n_iter(). Throws NotFitted.
  int best_iteration() const;
  /// Weighted mean validation log-loss after each round run (empty without a validation set);
  /// weights = sample_weight x the training class multipliers x scale_pos_weight.
  const std::vector<double>& validation_loss() const noexcept { return valid_loss_; }
  const GBDTParams& params() const noexcept { return params_; }

  /// Prediction-time state. Throws NotFitted.
  const GBDTState& state() const;
  /// Rebuilds a fitted model from a state (validated fully; throws InvalidInput naming the bad
  /// tree/node/field). Predicts bit-identically to the model the state came from.
  static GradientBoostedTrees from_state(GBDTState s, GBDTParams p = {});

 private:
  GradientBoostedTrees& fit_impl(const Dataset& train, const Dataset* valid);
  void require_fitted(const char* where) const;

  GBDTParams params_;
  GBDTState state_;
  TreePredictor predictor_;
  FitInfo info_;
  int n_iter_ = 0;
  int best_iteration_ = 0;
  std::vector<double> valid_loss_;
  bool fitted_ = false;
};

}  // namespace calibrisk
