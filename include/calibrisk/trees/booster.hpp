// SPDX-License-Identifier: Apache-2.0
/// @file booster.hpp
/// Histogram gradient-boosted trees for the binary log-loss and the K-class softmax loss:
/// `GBDTParams` and `GradientBoostedTrees`.
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
#include <calibrisk/core/params.hpp>
#include <calibrisk/core/weights.hpp>
#include <calibrisk/trees/predict.hpp>
#include <calibrisk/trees/target_stats.hpp>
#include <calibrisk/trees/tree.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace calibrisk {

namespace detail {
/// Softmax of the K raw scores in `z` in place, given their maximum `mx` (subtracted first so no
/// exp overflows): z_k <- exp(z_k - mx) / sum_j exp(z_j - mx). Summed in class order, so a row's
/// probabilities do not depend on how rows are batched.
inline void softmax_in_place(double* z, std::size_t K, double mx) noexcept {
  double s = 0.0;
  for (std::size_t k = 0; k < K; ++k) {
    z[k] = std::exp(z[k] - mx);
    s += z[k];
  }
  const double inv = 1.0 / s;
  for (std::size_t k = 0; k < K; ++k) z[k] *= inv;
}
}  // namespace detail

/// How the booster splits a feature listed in `GBDTParams::categorical_features`.
enum class CategoricalEncoding {
  /// Target statistics for a feature with more than `cat_ts_min_levels` training levels, native
  /// partitions for the others.
  kAuto,
  kPartition,    ///< native partitions (category sets sorted by a gradient statistic)
  kTargetStats,  ///< grown on derived target-statistic columns, stored as category sets
};

/// Spellings of CategoricalEncoding (CLI `--param cat_encoding=...`, Python, model file).
inline const EnumTable<CategoricalEncoding>& enum_table(CategoricalEncoding) {
  static const EnumText<CategoricalEncoding> e[] = {
      {CategoricalEncoding::kAuto, "auto"},
      {CategoricalEncoding::kPartition, "partition"},
      {CategoricalEncoding::kTargetStats, "target_stats"}};
  static const EnumTable<CategoricalEncoding> t{e, 3, "CategoricalEncoding"};
  return t;
}

/// Hyper-parameters of `GradientBoostedTrees`. Names follow scikit-learn's
/// HistGradientBoostingClassifier / LightGBM / XGBoost. Each field is declared once, in `fields`
/// (name, range, one-line doc); the default is the member initialiser.
struct GBDTParams {
  static constexpr const char* kName = "GBDTParams";
  int n_estimators = 100;
  int n_iter_no_change = 10;  // members are ordered to pack; `fields` gives the logical order
  double learning_rate = 0.1;
  int max_leaf_nodes = 31;
  int max_depth = -1;
  int max_bins = 255;
  int min_samples_leaf = 20;
  double min_child_weight = 1e-3;
  double l2_regularization = 0.0;
  double min_gain_to_split = 0.0;
  double max_delta_step = 0.0;
  double subsample = 1.0;
  double colsample_bytree = 1.0;
  ClassWeight class_weight;
  double scale_pos_weight = 1.0;
  std::vector<int> monotonic_cst;
  std::vector<int> categorical_features;
  int min_data_per_category = 10;
  double cat_smooth = 10.0;
  double cat_l2 = 10.0;
  int max_cat_threshold = 32;
  int max_cat_to_onehot = 4;
  CategoricalEncoding cat_encoding = CategoricalEncoding::kAuto;
  int cat_ts_min_levels = 32;
  int cat_ts_folds = 5;
  double cat_ts_smoothing = 1.0;
  bool cat_ts_ordinal = true;
  bool cat_ts_infer_hierarchy = true;
  bool early_stopping = false;
  double validation_fraction = 0.1;
  double tol = 1e-7;
  Index bin_subsample = 200000;
  std::uint64_t random_state = 0;
  /// A node takes about 80 bytes in memory; the default (4,000,000 nodes, about 0.3 GB) admits
  /// e.g. 5,000 trees of 255 leaves.
  Index max_model_nodes = 4000000;
  int n_threads = 0;

  template <class V>
  static void fields(V& v) {
    using P = GBDTParams;
    v("n_estimators", &P::n_estimators, at_least(1).fix("use at least one tree."),
      "Boosting rounds (trees).");
    v("learning_rate", &P::learning_rate, open_closed(0, 1), "Shrinkage of every leaf output.");
    v("max_leaf_nodes", &P::max_leaf_nodes, at_least(2), "Leaves per tree.");
    v("max_depth", &P::max_depth, any_value(), "Depth limit of each tree; <= 0 = unlimited.");
    v("max_bins", &P::max_bins, in_range(2, 65535).fix("lower max_bins (255 is the default)."),
      "Value bins per feature (uint8 codes up to 255, uint16 above), plus one missing bin.");
    v("min_samples_leaf", &P::min_samples_leaf, at_least(1), "Minimum training rows in a leaf.");
    v("min_child_weight", &P::min_child_weight, finite_at_least(0),
      "Minimum hessian sum in a leaf.");
    v("l2_regularization", &P::l2_regularization, finite_at_least(0),
      "L2 penalty on leaf outputs (lambda).");
    v("min_gain_to_split", &P::min_gain_to_split, finite_at_least(0),
      "A split needs a gain above this.");
    v("max_delta_step", &P::max_delta_step, finite_at_least(0).with_note("(0 = no clamp)").since(2),
      "Clamp of each leaf's Newton step to [-max_delta_step, +max_delta_step] before shrinkage, "
      "as XGBoost; helps extremely imbalanced classes. 0 = no clamp.");
    v("subsample", &P::subsample, open_closed(0, 1).fix("1 uses every row."),
      "Fraction of rows (Bernoulli, seeded) per tree.");
    v("colsample_bytree", &P::colsample_bytree, open_closed(0, 1).fix("1 uses every feature."),
      "Fraction of features drawn per tree.");
    v("class_weight", &P::class_weight, any_value(),
      "none, balanced (n / (2 n_c)) or explicit {w0, w1}.");
    v("scale_pos_weight", &P::scale_pos_weight, finite_above(0),
      "Extra multiplier of class-1 weights.");
    v("monotonic_cst", &P::monotonic_cst,
      in_range(-1, 1)
          .range_text("-1, 0 or +1")
          .fix("use +1 for increasing, -1 for decreasing, 0 for unconstrained."),
      "Empty, or one of -1/0/+1 per feature: output non-increasing / free / non-decreasing.");
    v("categorical_features", &P::categorical_features,
      in_range(0, 2147483647)
          .range_text(">= 0")
          .fix("list column indices (0-based) of X.")
          .since(4),
      "Columns split by category sets; their values are integer codes 0..K-1 (NaN = missing).");
    v("min_data_per_category", &P::min_data_per_category, at_least(1).since(4),
      "Training rows a level needs for its own bin; rarer levels share one pooled bin.");
    v("cat_smooth", &P::cat_smooth, finite_at_least(0).since(4),
      "Added to the hessian sum in the sort statistic G / (H + cat_smooth) of categorical splits.");
    v("cat_l2", &P::cat_l2, finite_at_least(0).since(4),
      "Extra L2 penalty in the gain of sorted-partition categorical splits.");
    v("max_cat_threshold", &P::max_cat_threshold, at_least(1).since(4),
      "Most categories (bins) on the smaller side of a sorted-partition split.");
    v("max_cat_to_onehot", &P::max_cat_to_onehot, at_least(0).since(4),
      "Categorical features with at most this many bins get one-vs-rest splits.");
    v("cat_encoding", &P::cat_encoding, any_value().since(5),
      "Categorical features: auto (target statistics above cat_ts_min_levels training levels, "
      "native partitions below), partition or target_stats (docs/trees.md).");
    v("cat_ts_min_levels", &P::cat_ts_min_levels, at_least(0).since(5),
      "With cat_encoding=auto, a categorical feature with more training levels than this uses "
      "target statistics.");
    v("cat_ts_folds", &P::cat_ts_folds, in_range(2, 1000).since(5),
      "Folds of the out-of-fold target statistics (grouped by patient when groups are given).");
    v("cat_ts_smoothing", &P::cat_ts_smoothing, finite_at_least(0).since(5),
      "Weight of the prior in each target statistic (TS = (sum w y + a prior) / (sum w + a)).");
    v("cat_ts_ordinal", &P::cat_ts_ordinal, any_value().since(5),
      "Target-statistic features are also split by ranges of their codes (ordinal column).");
    v("cat_ts_infer_hierarchy", &P::cat_ts_infer_hierarchy, any_value().since(5),
      "Label columns without a declared code hierarchy whose labels are mostly dotted codes "
      "(250.01, E11.65) get the dotted prefixes as ancestor levels of their target statistics "
      "(workflow and Python estimators, which know the labels).");
    v("early_stopping", &P::early_stopping, any_value(),
      "Stop when the validation loss stops improving.");
    v("validation_fraction", &P::validation_fraction, open_open(0, 1),
      "Stratified share held out when early stopping without a validation set.");
    v("n_iter_no_change", &P::n_iter_no_change, at_least(1),
      "Rounds without improvement > tol before stopping.");
    v("tol", &P::tol, finite_at_least(0), "Minimum improvement of the validation log-loss.");
    v("bin_subsample", &P::bin_subsample, at_least(0).with_note("(0 = all rows)"),
      "Rows sampled to compute bin edges; 0 = all rows.");
    v("random_state", &P::random_state, any_value(),
      "Seed of every random choice (subsamples, splits).");
    v("max_model_nodes", &P::max_model_nodes, at_least(1).execution(),
      "Limit: fit refuses (before any work) when n_estimators * (2 L - 1) exceeds it, L the most "
      "leaves a tree can have.");
    v("n_threads", &P::n_threads, at_least(0).with_note("(0 = all available)").execution(),
      "Threads; 0 = all OpenMP allows. Never changes the model.");
  }

  /// Throws InvalidParams naming the field, the value and the allowed range.
  void validate() const;
};

/// Everything prediction needs: the ensemble (base score + flat-array trees). Plain data; the
/// artifact module serialises it.
///
/// Multiclass models (K >= 3 classes, model-file format 1.6) keep one ensemble per class in
/// `class_ensembles`, grouped by class: `class_ensembles[k].trees[t]` is the tree that boosting
/// round t grew for class k, `class_ensembles[k].base_score` the class's initial raw score (the
/// centred log prior), and every class ensemble has the same `n_features` and `cardinality` as
/// `ensemble`, which then holds no trees (base_score 0). The raw score of class k is
/// class_ensembles[k].base_score + its trees' leaf values, and P(y = k) the softmax over classes.
/// A binary model leaves `class_ensembles` empty.
struct GBDTState {
  TreeEnsemble ensemble;
  std::vector<TreeEnsemble> class_ensembles;  ///< Empty (binary) or K >= 3 per-class ensembles.

  /// 2 for a binary model, else class_ensembles.size().
  int n_classes() const noexcept {
    return class_ensembles.empty() ? 2 : static_cast<int>(class_ensembles.size());
  }
};

/// Optional side information of one training call: data about the rows and columns, not
/// hyper-parameters; never saved (the model it yields is plain trees).
struct GBDTFitContext {
  /// Empty, or one finite group (patient) id per training row: the target-statistic folds are
  /// grouped, so a patient's other admissions never inform its own rows' statistics.
  VectorView<const double> groups;
  /// Code hierarchies of categorical features (`code_ancestor_levels` of their labels): a
  /// target-statistic feature also grows on the statistics of its ancestor levels.
  std::vector<CodeAncestry> code_ancestry;
};

/// Binary classifier by histogram gradient boosting of regression trees on the log-loss, and
/// K-class classifier on the softmax (multinomial) loss.
///
/// Training (see docs/trees.md): per-feature quantile binning with a missing bin; gradients and
/// hessians of the weighted log-loss (weights = sample_weight x class weight x scale_pos_weight for
/// positives); init score = weighted log-odds; each tree grown leaf-wise up to max_leaf_nodes
/// with the best split of each leaf found from gradient histograms (smaller child built, larger
/// = parent - smaller); missing values sent to the side learned per split; optional monotonic
/// constraints enforced by bounding leaf outputs; optional early stopping keeping the best
/// iteration. Same data, params and seed give a bit-identical model for any n_threads.
///
/// Multiclass (`fit(train, n_classes)` with n_classes >= 3; docs/trees.md "Multiclass"): every
/// round grows K trees, tree k on the gradient p_k - [y = k] and hessian p_k (1 - p_k) of the
/// weighted softmax loss at the round's starting raw scores (scikit-learn's
/// HistGradientBoostingClassifier and LightGBM's multiclass objective); the initial raw scores are
/// the weighted log class priors centred to sum to 0 (scikit-learn). Class weights: balanced gives
/// n / (K n_c) with row counts, explicit `per_class` weights one multiplier per class. The row
/// subsample is drawn once per round (shared by the K trees), the feature subsample per tree.
/// Early stopping watches the weighted multiclass log-loss. Categorical features use native
/// partition splits (target statistics encode a binary target, so cat_encoding=auto or
/// target_stats fall back to partitions, with a note in fit_info). Monotonic constraints are
/// refused (a constraint on one class's raw score does not constrain its probability).
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
  /// The same with side information (groups, code hierarchies) for target statistics.
  GradientBoostedTrees& fit(const Dataset& train, const GBDTFitContext& context);
  GradientBoostedTrees& fit(const Dataset& train, const Dataset& valid,
                            const GBDTFitContext& context);
  /// Fits `n_classes` classes: y holds class indices 0..n_classes-1 (validate_class_labels), every
  /// class present in the training rows. n_classes == 2 is exactly the binary fit (same model
  /// bytes); n_classes >= 3 boosts the softmax loss (see the class comment). The validation set's
  /// labels are class indices too (a class may be absent there). Throws InvalidParams (n_classes
  /// outside [2, kMaxClasses], a non-zero monotonic_cst with n_classes >= 3), InvalidInput.
  /// Complexity: K times the binary fit's tree growth per round.
  GradientBoostedTrees& fit(const Dataset& train, int n_classes);
  GradientBoostedTrees& fit(const Dataset& train, const Dataset& valid, int n_classes);
  GradientBoostedTrees& fit(const Dataset& train, const GBDTFitContext& context, int n_classes);
  GradientBoostedTrees& fit(const Dataset& train, const Dataset& valid,
                            const GBDTFitContext& context, int n_classes);

  /// Classes of the model: 2 for a binary model, K for a multiclass one. Throws NotFitted.
  int n_classes() const;

  /// Raw margin (log-odds) per row of a binary model; X has n_features columns, float32/float64,
  /// any strides. Throws NotFitted, InvalidInput (column count, inf, a multiclass model: use
  /// decision_matrix). Parallel over rows.
  Eigen::VectorXd decision_function(const FeatureMatrix& X) const;
  /// Class probabilities of any model into `out` (X.rows() x n_classes(), any strides; rows sum
  /// to 1): [1 - p, p] for a binary model, the softmax of the K raw scores for a multiclass one.
  /// Throws NotFitted, InvalidInput (shapes, inf). Parallel over rows; no allocation besides the
  /// predictor's per-task block buffer for non-contiguous X.
  void predict_proba_matrix(const FeatureMatrix& X, MatrixView<double> out) const;
  /// Raw scores into `out`: X.rows() x 1 (log-odds) for a binary model, X.rows() x K for a
  /// multiclass one (class k's base score plus its trees). Throws as predict_proba_matrix.
  void decision_matrix(const FeatureMatrix& X, MatrixView<double> out) const;
  /// All class probabilities of one contiguous row of n_features values into `out`
  /// (n_classes() doubles; [1 - p, p] for a binary model). Const, allocation-free, unchecked
  /// (precondition: fitted); bit-identical to predict_proba_matrix's row.
  void predict_proba_row(const double* row, double* out) const noexcept { proba_row(row, out); }
  void predict_proba_row(const float* row, double* out) const noexcept { proba_row(row, out); }
  /// P(y = 1) per row (binary models; a multiclass model throws InvalidInput).
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const;
  /// P(y = 1) per row into `out` (X.rows() values); no allocation. Binary models only.
  void predict_proba(const FeatureMatrix& X, VectorView<double> out) const;
  /// P(y = 1) of one contiguous row of n_features values; const, allocation-free, unchecked.
  /// Binary models only (precondition); use the two-argument overload for K classes.
  double predict_proba_row(const double* row) const noexcept {
    return predictor_.predict_proba_row(row);
  }
  double predict_proba_row(const float* row) const noexcept {
    return predictor_.predict_proba_row(row);
  }

  bool is_fitted() const noexcept { return fitted_; }
  /// The fitted trees of a binary model. Throws NotFitted, InvalidInput for a multiclass model
  /// (use class_ensemble).
  const TreeEnsemble& ensemble() const;
  /// The prediction engine built from the ensemble (binary models). Throws as ensemble().
  const TreePredictor& predictor() const;
  /// The trees of class k of a multiclass model (the whole ensemble of a binary model for k = 1).
  /// Throws NotFitted, InvalidInput (k out of range).
  const TreeEnsemble& class_ensemble(int k) const;
  /// The prediction engine of class k's trees (as class_ensemble).
  const TreePredictor& class_predictor(int k) const;
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
  /// tree/node/field, or class ensembles that disagree in size, features or cardinality).
  /// Predicts bit-identically to the model the state came from.
  static GradientBoostedTrees from_state(GBDTState s, GBDTParams p = {});

 private:
  GradientBoostedTrees& fit_impl(const Dataset& train, const Dataset* valid,
                                 const GBDTFitContext& context);
  GradientBoostedTrees& fit_multiclass(const Dataset& train, const Dataset* valid,
                                       const GBDTFitContext& context, int n_classes);
  void require_fitted(const char* where) const;
  void require_binary(const char* where) const;
  void build_predictors();

  template <class T>
  void proba_row(const T* row, double* out) const noexcept {
    if (class_predictors_.empty()) {
      const double p = predictor_.predict_proba_row(row);
      out[0] = 1.0 - p;
      out[1] = p;
      return;
    }
    const std::size_t K = class_predictors_.size();
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < K; ++k) {
      out[k] = class_predictors_[k].predict_margin_row(row);
      mx = std::max(mx, out[k]);
    }
    detail::softmax_in_place(out, K, mx);
  }

  GBDTParams params_;
  GBDTState state_;
  TreePredictor predictor_;
  std::vector<TreePredictor> class_predictors_;  ///< Multiclass: one per class; binary: empty.
  FitInfo info_;
  int n_iter_ = 0;
  int best_iteration_ = 0;
  std::vector<double> valid_loss_;
  bool fitted_ = false;
};

}  // namespace calibrisk
