// SPDX-License-Identifier: Apache-2.0
/// @file train.hpp
/// The whole road from a table to a deployable Pipeline as one function: split (by time and
/// patient) -> fit the model on the training part -> fit the calibrator on the calibration part
/// -> choose the threshold on the calibration part -> score the test part -> assemble the
/// Pipeline with its provenance. `calibrisk train` and Python's `calibrisk.train` both call
/// `train_pipeline`, so the same table and spec give the same model file, byte for byte.
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/split/split.hpp>
#include <calibrisk/threshold/review.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/workflow/data.hpp>
#include <calibrisk/workflow/params_text.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// The model family. Text forms (CLI --model, Python model=, provenance): "lr", "gbdt", "auto".
/// kAuto (binary labels) picks one of the candidates of `select_model` by held-out log loss on
/// the training part, then trains the pick as an explicit --model would; the provenance's
/// `model` entry names the pick ("lr" or "gbdt"), the `selection.*` entries record the choice.
enum class ModelKind { kLogisticRegression, kGradientBoostedTrees, kAuto };

/// The calibrator fitted on the calibration part. Text forms: "none", "platt", "isotonic",
/// "beta". Platt is fitted on the model's probability (ScoreKind::kProbability).
enum class CalibrationMethod { kNone, kPlatt, kIsotonic, kBeta };

/// The one text table of ModelKind ("lr", "gbdt", "auto"): CLI, Python and provenance spellings.
inline const EnumTable<ModelKind>& enum_table(ModelKind) {
  static const EnumText<ModelKind> e[] = {{ModelKind::kLogisticRegression, "lr"},
                                          {ModelKind::kGradientBoostedTrees, "gbdt"},
                                          {ModelKind::kAuto, "auto"}};
  static const EnumTable<ModelKind> t{e, 3, "ModelKind"};
  return t;
}

/// The one text table of CalibrationMethod, as stored in provenance ("platt"; the CLI and
/// Python also accept scikit-learn's "sigmoid" and map it to "platt" before calling the library).
inline const EnumTable<CalibrationMethod>& enum_table(CalibrationMethod) {
  static const EnumText<CalibrationMethod> e[] = {{CalibrationMethod::kNone, "none"},
                                                  {CalibrationMethod::kPlatt, "platt"},
                                                  {CalibrationMethod::kIsotonic, "isotonic"},
                                                  {CalibrationMethod::kBeta, "beta"}};
  static const EnumTable<CalibrationMethod> t{e, 4, "CalibrationMethod"};
  return t;
}

/// Binary (0/1 label) or multiclass (K >= 3 labels). Text forms: "auto", "binary", "multiclass".
/// kAuto: multiclass when the label column holds more than two distinct text labels, or 3 to 20
/// distinct whole numbers each on at least 10 rows; binary otherwise (a numeric label of
/// fractions, of many values or with a stray value is then rejected as not 0/1; kMulticlass
/// takes it).
enum class TaskKind { kAuto, kBinary, kMulticlass };

inline const EnumTable<TaskKind>& enum_table(TaskKind) {
  static const EnumText<TaskKind> e[] = {{TaskKind::kAuto, "auto"},
                                         {TaskKind::kBinary, "binary"},
                                         {TaskKind::kMulticlass, "multiclass"}};
  static const EnumTable<TaskKind> t{e, 3, "TaskKind"};
  return t;
}

/// The calibrator of a multiclass task, fitted on the calibration part. Text forms (CLI
/// --calibration, provenance): "none", "temperature" (TemperatureScaling on the K logits, the
/// default), "ovr-sigmoid" / "ovr-isotonic" (OneVsRestCalibrator on the K logits; Python's
/// CalibratedClassifier calls them "sigmoid" / "isotonic" for a multiclass estimator, accepted
/// here as aliases) and "dirichlet" (DirichletCalibrator on the K probabilities).
enum class MulticlassCalibration { kNone, kTemperature, kOvrSigmoid, kOvrIsotonic, kDirichlet };

inline const EnumTable<MulticlassCalibration>& enum_table(MulticlassCalibration) {
  static const EnumText<MulticlassCalibration> e[] = {
      {MulticlassCalibration::kNone, "none"},
      {MulticlassCalibration::kTemperature, "temperature"},
      {MulticlassCalibration::kOvrSigmoid, "ovr-sigmoid"},
      {MulticlassCalibration::kOvrIsotonic, "ovr-isotonic"},
      {MulticlassCalibration::kDirichlet, "dirichlet"}};
  static const EnumTable<MulticlassCalibration> t{e, 5, "MulticlassCalibration"};
  return t;
}

/// The spelling of a MulticlassCalibration / the value named `text` ("sigmoid", "platt" and
/// "isotonic" accepted as the one-vs-rest forms), or nullopt.
const char* multiclass_calibration_name(MulticlassCalibration m) noexcept;
std::optional<MulticlassCalibration> multiclass_calibration_from_name(const std::string& text);
/// The review policy of a multiclass task when none is given: min_accuracy = 0.95.
ReviewOptions default_review_options();

/// The spellings of enum_table (kept as named functions for callers).
const char* model_kind_name(ModelKind k) noexcept;
const char* calibration_method_name(CalibrationMethod m) noexcept;
/// The kind named `text`, or nullopt (the caller reports the error in its own words).
std::optional<ModelKind> model_kind_from_name(const std::string& text);
std::optional<CalibrationMethod> calibration_method_from_name(const std::string& text);

/// The boosted-trees settings `calibrisk train` and `calibrisk.train` start from, chosen by
/// benchmarks/defaults.py over several datasets (docs/defaults.md). GBDTParams{} keeps
/// scikit-learn's HistGradientBoostingClassifier defaults for the estimator; the workflow's differ
/// in min_samples_leaf = 100 (20), early_stopping = true (applied only when the training part
/// has at least TrainSpec::early_stopping_min_rows rows; capped by
/// TrainSpec::early_stopping_max_rounds, patience TrainSpec::early_stopping_patience).
GBDTParams workflow_gbdt_defaults();

/// The logistic-regression settings `calibrisk train` and `calibrisk.train` start from:
/// LogisticRegressionParams{} (scikit-learn's objective for the estimator) except penalty_scale =
/// standardized, so that C = 1 penalises every column on the same scale whatever its units (on
/// the benchmark it met the AUC target on more datasets; docs/defaults.md, "Penalty scale of the
/// workflow's logistic regression"). `--param penalty_scale=raw` restores the raw penalty.
LogisticRegressionParams workflow_lr_defaults();

/// What the fit stage does once early stopping has chosen the number of rounds on its validation
/// part (docs/defaults.md, "Early stopping in the workflow"). Text forms (provenance fit.refit):
/// "none" (keep the early-stopped trees, fitted without the validation rows), "same" (refit on
/// every training row with the rounds kept), "scaled" (refit on every training row with the rounds
/// kept times all training rows / fitting rows, rounded, at most n_estimators).
enum class EarlyStoppingRefit { kNone, kSame, kScaled };

inline const EnumTable<EarlyStoppingRefit>& enum_table(EarlyStoppingRefit) {
  static const EnumText<EarlyStoppingRefit> e[] = {{EarlyStoppingRefit::kNone, "none"},
                                                   {EarlyStoppingRefit::kSame, "same"},
                                                   {EarlyStoppingRefit::kScaled, "scaled"}};
  static const EnumTable<EarlyStoppingRefit> t{e, 3, "EarlyStoppingRefit"};
  return t;
}

/// The training-part size from which the workflow stops boosting early by default.
inline constexpr Index kEarlyStoppingMinRows = 10000;

/// The tree cap of an early-stopped workflow fit (TrainSpec::early_stopping_max_rounds): early
/// stopping picks the count below it, so it can sit above gbdt.n_estimators, the tree count of
/// fits without early stopping (docs/defaults.md, "Early stopping in the workflow").
inline constexpr int kEarlyStoppingMaxRounds = 300;

/// The patience of an early-stopped workflow fit (TrainSpec::early_stopping_patience; the
/// estimator's n_iter_no_change is 10): a 10% holdout of a few thousand rows gives a noisy
/// validation loss, and 10 rounds stopped randhie's trees too early (docs/defaults.md).
inline constexpr int kEarlyStoppingPatience = 20;

/// The calibration-part size from which ModelKind::kAuto chooses the calibrator by ECE.
inline constexpr Index kCalibrationEceMinRows = 1000;

/// How ModelKind::kAuto chooses (docs/defaults.md, "Automatic model choice").
///
/// Candidates, in this order (the first wins a tie): "lr" (TrainSpec::lr), "gbdt"
/// (TrainSpec::gbdt) and, when the final fit stops early (gbdt.early_stopping and a training part
/// of at least early_stopping_min_rows rows) and `leaf_variant` is set, "gbdt_leaf20"
/// (TrainSpec::gbdt with min_samples_leaf = kSelectionVariantLeaf: more capacity, kept in check by
/// early stopping), then "gbdt_wide" (`wide_variant`, under early stopping too) and
/// "gbdt_additive" (`additive_variant`, at any size: trees of one split). Each is scored by the log
/// loss of its (uncalibrated) probability on rows of the training part that its fit did not see;
/// the calibration and test parts are never read:
///  - early stopping applies: one holdout, the latest-entering groups (patients) holding
///    gbdt.validation_fraction of the training rows (the rows the final fit's early stopping holds
///    out); the candidates are fitted on the other training rows, the trees with early stopping on
///    their own latest groups;
///  - otherwise: `folds` folds of whole groups, each a contiguous block of groups in order of entry
///    (by the time column, else file order), pooled over the folds; every fit sees the other folds.
///
/// With `calibration` set, the calibration method is chosen too, after the fit, on the
/// calibration part: none, platt, beta and isotonic (in that order of simplicity) are each scored
/// by the log loss of 5-fold cross-fitted probabilities there ("none": the model's own), and the
/// simplest method within one standard error of the best is fitted (docs/defaults.md).
struct ModelSelectionSpec {
  int folds = 5;             ///< in [2, 20]; folds of the small-data cross-validation
  bool leaf_variant = true;  ///< offer "gbdt_leaf20" (off when the user sets min_samples_leaf)
  /// Offer "gbdt_wide" too (min_samples_leaf = kSelectionWideLeaf, max_leaf_nodes =
  /// kSelectionWideLeaves; under early stopping only, like gbdt_leaf20); off when the user sets
  /// min_samples_leaf or max_leaf_nodes.
  bool wide_variant = true;
  /// Offer "gbdt_additive" too: trees of one split each (max_depth = 1), so the model is a sum
  /// of one step function per feature (a generalised additive model, no interactions), with
  /// kSelectionAdditiveRoundsFactor times gbdt.n_estimators trees when the fit does not stop
  /// early; off when the user sets max_depth or max_leaf_nodes.
  bool additive_variant = true;
  /// Choose TrainSpec::calibration too (the CLI and Python clear it when the user names one).
  bool calibration = true;
  /// From this many calibration rows the method is the one of none, platt and beta (the monotone
  /// maps, which keep the AUC) with the lowest cross-fitted ECE (10 equal-width bins, about 100
  /// rows a bin) instead of the one-standard-error rule on log loss; a larger value than any
  /// calibration part keeps log loss at every size.
  Index calibration_ece_min_rows = kCalibrationEceMinRows;
  /// The one-standard-error rule for the model too: the earliest (simplest) candidate whose
  /// held-out log loss exceeds the lowest by at most one standard error of the per-row
  /// difference. Off by default (false: the lowest wins, ties to the earlier): on the benchmark it
  /// changed few choices and did not improve test AUC or ECE (docs/defaults.md).
  bool one_standard_error = false;

  /// The switches settable by name (`--param selection.<name>=...`, Python
  /// `params={"selection.<name>": ...}`; set_workflow_parameter), declared once
  /// (core/params.hpp).
  template <class V>
  static void fields(V& v) {
    v("folds", &ModelSelectionSpec::folds, in_range(2, 20),
      "Folds of the small-data cross-validation.");
    v("calibration_ece_min_rows", &ModelSelectionSpec::calibration_ece_min_rows, at_least(0),
      "Calibration rows from which the calibrator is chosen by ECE.");
    v("one_standard_error", &ModelSelectionSpec::one_standard_error, any_value(),
      "The one-standard-error rule for the model choice.");
    v("wide_variant", &ModelSelectionSpec::wide_variant, any_value(),
      "Offer the gbdt_wide candidate under early stopping.");
    v("additive_variant", &ModelSelectionSpec::additive_variant, any_value(),
      "Offer the gbdt_additive candidate (one split per tree).");
  }
};

/// The min_samples_leaf of the higher-capacity boosted-trees candidate of ModelKind::kAuto.
inline constexpr int kSelectionVariantLeaf = 20;
/// The leaf size and leaf count of the "gbdt_wide" candidate of ModelKind::kAuto: about the
/// capacity of XGBoost's defaults (depth-6 trees, min_child_weight 1), held in check by early
/// stopping (docs/defaults.md).
inline constexpr int kSelectionWideLeaf = 5;
inline constexpr int kSelectionWideLeaves = 63;
/// The "gbdt_additive" candidate of ModelKind::kAuto fits this many times gbdt.n_estimators trees
/// when it does not stop early (a tree of one split moves one feature's function a step; under
/// early stopping the cap is the other candidates').
inline constexpr int kSelectionAdditiveRoundsFactor = 3;

/// Everything `train_pipeline` needs besides the table. Every field has a default; a spec with
/// only `columns.label` set trains boosted trees with beta calibration at recall >= 0.8 on a
/// 60/20/20 split in file order.
struct TrainSpec {
  ColumnRoles columns;  ///< label (required), group, time, dropped and subgroup columns
  ModelKind model = ModelKind::kGradientBoostedTrees;
  /// Used when model == kLogisticRegression (and by kAuto's candidate).
  LogisticRegressionParams lr = workflow_lr_defaults();
  /// Used when model == kGradientBoostedTrees (its random_state too). With gbdt.early_stopping
  /// (the default), the latest-entering groups (patients) holding gbdt.validation_fraction of
  /// the training part's rows are held out as the validation part of early stopping (no group
  /// in both; by the time column, else file order), when the training part has at least
  /// early_stopping_min_rows rows; otherwise every training row fits gbdt.n_estimators trees.
  GBDTParams gbdt = workflow_gbdt_defaults();
  Index early_stopping_min_rows = kEarlyStoppingMinRows;  ///< >= 0; see `gbdt`
  /// After early stopping (binary tasks): refit the trees on every training row with the chosen
  /// number of rounds (EarlyStoppingRefit; the multiclass fit keeps the early-stopped trees).
  EarlyStoppingRefit early_stopping_refit = EarlyStoppingRefit::kSame;
  /// The tree cap of a fit that stops early (0: gbdt.n_estimators); fits without early stopping
  /// grow gbdt.n_estimators trees. The CLI and Python set it to 0 when the user gives
  /// n_estimators (user_parameter_given), so a user's n_estimators caps both.
  int early_stopping_max_rounds = kEarlyStoppingMaxRounds;
  /// Rounds without improvement before an early-stopped fit stops (0: gbdt.n_iter_no_change);
  /// a user's n_iter_no_change sets it to 0 (user_parameter_given).
  int early_stopping_patience = kEarlyStoppingPatience;
  CalibrationMethod calibration = CalibrationMethod::kBeta;
  /// Chosen on the calibration part; the same threshold is then applied to the test part.
  ThresholdPolicy policy = policy::min_recall(0.8);
  SplitFractions split;  ///< train / calibration / test shares of the rows, each > 0, sum 1
  /// kEntry (default): patients in order of entry, by the `split` fractions. kCalendar: rows by
  /// date against `calendar`'s two cuts (needs columns.time; `split` is then unused).
  SplitRule split_rule = SplitRule::kEntry;
  CalendarSpec calendar;   ///< the cuts and the patient rule when split_rule == kCalendar
  std::uint64_t seed = 0;  ///< recorded in the provenance (the CLI also seeds gbdt with it)
  std::string source;      ///< the data's name (e.g. the CSV's file name) for the provenance
  /// How model == kAuto chooses. (The CLI and Python default to kAuto; this struct keeps
  /// kGradientBoostedTrees as its default for existing C++ callers.)
  ModelSelectionSpec selection;

  /// The workflow switches settable by name with the model parameters (`--param name=...`,
  /// Python `params={name: ...}`; set_workflow_parameter), declared once (core/params.hpp).
  template <class V>
  static void fields(V& v) {
    v("early_stopping_min_rows", &TrainSpec::early_stopping_min_rows, at_least(0),
      "Training rows from which the workflow stops boosting early.");
    v("early_stopping_max_rounds", &TrainSpec::early_stopping_max_rounds, at_least(0),
      "Tree cap of an early-stopped fit (0 = n_estimators).");
    v("early_stopping_patience", &TrainSpec::early_stopping_patience, at_least(0),
      "Patience of an early-stopped fit (0 = n_iter_no_change).");
    v("early_stopping_refit", &TrainSpec::early_stopping_refit, any_value(),
      "After early stopping: none | same | scaled.");
  }

  // ---- multiclass (docs/workflow.md "Multiclass") ---------------------------------------------
  /// kAuto detects a multiclass label (more than two distinct values); see TaskKind.
  TaskKind task = TaskKind::kAuto;
  /// The calibrator of a multiclass task (`calibration` is the binary one).
  MulticlassCalibration multiclass_calibration = MulticlassCalibration::kTemperature;
  /// The review queue of a multiclass task, chosen on the calibration part (`policy` is the
  /// binary one): min_accuracy and/or max_review_rate (select_review_threshold).
  ReviewOptions review = default_review_options();
  /// A split-conformal review queue instead of the confidence threshold (`review` is then
  /// unused): sets at `coverage` (alpha = 1 - coverage) calibrated on the calibration part with
  /// conformal_calibrate (seeded by `seed`); an item is auto-routed when its set holds exactly
  /// one label. CLI: --policy conformal=0.9[,method=lac|aps].
  struct ConformalReview {
    double coverage = 0.9;  ///< in (0, 1)
    ConformalMethod method = ConformalMethod::kLac;
    /// "conformal=0.9,method=lac" (the policy text of the pipeline and the reports).
    std::string describe() const;
  };
  std::optional<ConformalReview> conformal_review;
};

/// Receives the stages of a run as they happen (the CLI prints them; the default ignores them).
/// The library itself never writes to the terminal.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void begin(const std::string& stage) { (void)stage; }     ///< a timed stage starts
  virtual void end(const std::string& detail) { (void)detail; }     ///< the current stage ends
  virtual void note(const std::string& message) { (void)message; }  ///< information
  virtual void warn(const std::string& message) { (void)message; }  ///< something to check
};

/// One part of the split with its rows, data and scores.
struct TrainPart {
  std::vector<Index> rows;  ///< row indices into the table, input order
  RowMatrixXd X;
  std::vector<double> y;
  Eigen::VectorXd p_model;  ///< the model's (uncalibrated) probability
  Eigen::VectorXd p;        ///< the pipeline's (calibrated) probability
  /// Multiclass: the pipeline's (n, K) class probabilities (p_model and p are then empty and y
  /// holds class indices 0..K-1).
  RowMatrixXd P;
};

/// What the model-fit stage did about early stopping (recorded in the provenance as fit.*).
struct EarlyStoppingRecord {
  bool used = false;
  std::string reason;           ///< why it was used or not, one sentence
  Index fit_rows = 0;           ///< training rows the final trees were fitted on
  Index validation_rows = 0;    ///< rows of the held-out validation part (0 when not used)
  Index validation_groups = 0;  ///< its groups (patients; rows without a group column)
  int rounds_run = 0;           ///< boosting rounds run
  int rounds_kept = 0;          ///< trees kept (the best validation round when used)
  int max_rounds = 0;           ///< the early-stopped fit's tree cap (0 when not used)
  int patience = 0;             ///< the early-stopped fit's n_iter_no_change (0 when not used)
  /// TrainSpec::early_stopping_refit as applied (kNone when early stopping was not used).
  EarlyStoppingRefit refit = EarlyStoppingRefit::kNone;
  int refit_rounds = 0;  ///< the refit's n_estimators (0 without a refit)
};

/// One candidate of ModelKind::kAuto and its held-out figures.
struct SelectionCandidate {
  std::string name;  ///< "lr", "gbdt", "gbdt_leaf20", "gbdt_wide", "gbdt_additive"
  ModelKind kind = ModelKind::kGradientBoostedTrees;
  double log_loss = 0.0;  ///< held-out log loss of the model's probability (the criterion)
  /// Standard error of the mean per-row difference of this candidate's log loss to the lowest
  /// candidate's (0 for the lowest itself).
  double log_loss_se = 0.0;
  double auc = 0.0;  ///< held-out ROC AUC (recorded, not used to choose)
};

/// What ModelKind::kAuto did (recorded in the provenance as selection.*).
struct ModelSelectionRecord {
  bool used = false;        ///< false for an explicit model
  std::string method;       ///< how the held-out rows were formed, one sentence
  Index held_out_rows = 0;  ///< training rows scored (each once)
  std::vector<SelectionCandidate> candidates;
  std::string chosen;               ///< the winning candidate's name
  std::string lowest;               ///< the candidate with the lowest held-out log loss
  bool one_standard_error = false;  ///< ModelSelectionSpec::one_standard_error as applied
  double seconds = 0.0;             ///< time spent on the candidate fits (not in the model file)
  /// ModelSelectionSpec::calibration: the cross-fitted log loss of each calibration method on
  /// the calibration part (empty when not chosen), and the choice.
  std::vector<std::pair<std::string, double>> calibration_log_loss;
  /// The ECE (10 equal-width bins) of each method's cross-fitted probabilities there.
  std::vector<std::pair<std::string, double>> calibration_ece;
  /// Whether the part had ModelSelectionSpec::calibration_ece_min_rows rows (recorded too), so
  /// the lowest ECE of none, platt and beta chose.
  bool calibration_by_ece = false;
  Index calibration_ece_min_rows = 0;
  std::string calibration_chosen;
};

/// Everything a run produced: the pipeline, and the inputs of an evaluation report of its test
/// part.
struct TrainResult {
  std::vector<std::string> features;  ///< feature columns, in the pipeline's order
  /// Positions in `features` of the declared categorical features (labelled columns; not the
  /// automatically detected small-integer ones), ascending: see declared_categorical_features.
  std::vector<int> categorical_features;
  TimeGroupSplit split;
  TrainPart train, calibration, test;
  OperatingPoint op_calibration;  ///< chosen on the calibration part
  OperatingPoint op_test;         ///< the same threshold applied to the test part
  std::map<std::string, std::vector<std::string>> categories;  ///< feature category labels
  std::optional<Pipeline> pipeline;                            ///< always set on return
  std::vector<std::string> notes;      ///< non-fatal remarks of the fits (show them as warnings)
  double seconds_fit = 0.0;            ///< model fit time
  EarlyStoppingRecord early_stopping;  ///< boosted trees only
  ModelSelectionRecord selection;      ///< model == kAuto only

  // ---- multiclass ----------------------------------------------------------------------------
  int n_classes = 2;                 ///< K (2 for a binary task)
  std::vector<std::string> classes;  ///< multiclass: the K labels, index order (sorted)
  /// Multiclass: the review thresholds chosen on the calibration part, and the same thresholds
  /// applied to the test part (its `per_class` is empty; `overall` counts every test row).
  ReviewThresholds review_calibration, review_test;
};

/// Runs split -> fit -> calibrate -> threshold -> test scores -> Pipeline on `table` (read with
/// `training_read_options(spec.columns, header)`, or built to match). Deterministic: the same
/// table and spec give a bit-identical pipeline whatever the thread count.
/// Throws InvalidParams (a parameter out of range) and InvalidInput (a missing or non-0/1 label,
/// too few rows for the split, a part with one class only, ...), each naming what to change.
TrainResult train_pipeline(const Table& table, const TrainSpec& spec,
                           TrainObserver* observer = nullptr);

/// The model choice of ModelKind::kAuto on the training part `train` of `table` (its rows,
/// features and labels; `features` and `categorical` as in TrainResult): fits every candidate
/// of ModelSelectionSpec on parts of `train` only and returns `spec` with `model` and the
/// model's params set to the winner's (so the final fit is exactly that of an explicit --model),
/// filling `record`. Deterministic (same data and spec give the same choice for any thread
/// count). Costs about `folds` (small data) or 1 (early stopping) extra fits per candidate.
/// `spec.model` must be kAuto (else InvalidParams). When the training rows outside some
/// held-out part hold one class only (too few events), no candidate is fitted: the result is the
/// gbdt spec, `record.candidates` stays empty and `record.method` says why.
TrainSpec select_model(const Table& table, const TrainSpec& spec, const TrainPart& train,
                       const std::vector<std::string>& features,
                       const std::vector<int>& categorical, ModelSelectionRecord& record);

/// Sets parameter `name` for ModelKind::kAuto: on TrainSpec::lr and / or TrainSpec::gbdt,
/// whichever declares it (n_threads: both); clears selection.leaf_variant when it is
/// min_samples_leaf (the user's leaf size is kept). Throws InvalidParams when neither declares it.
void set_auto_parameter(TrainSpec& spec, const std::string& name, const std::string& text);

/// Sets a workflow switch by name when `name` is one: a field of TrainSpec::fields
/// (early_stopping_min_rows, early_stopping_max_rounds, early_stopping_refit) or
/// "selection.<field>" of ModelSelectionSpec::fields (e.g. selection.one_standard_error). Returns
/// false for any other name (a model parameter); throws InvalidParams for a bad value or an
/// unknown selection.* field. The CLI's --param and Python's params= call it first.
bool set_workflow_parameter(TrainSpec& spec, const std::string& name, const std::string& text);

/// What a user's model parameter implies beyond its own field: min_samples_leaf drops the
/// leaf-20 candidate of kAuto (selection.leaf_variant) and, like max_leaf_nodes, gbdt_wide;
/// max_depth and max_leaf_nodes drop gbdt_additive (selection.additive_variant);
/// n_estimators caps early-stopped fits too (early_stopping_max_rounds = 0) and n_iter_no_change
/// is their patience (early_stopping_patience = 0). The CLI and Python call it for every model
/// parameter given, before the workflow switches are set.
void user_parameter_given(TrainSpec& spec, const std::string& name);
/// The class labels of a multiclass label column, sorted (numbers numerically, text
/// lexicographically, as scikit-learn's `classes_`), and each row's class index. Throws
/// InvalidInput naming the column and the 1-based data row of a missing label.
struct ClassLabels {
  std::vector<std::string> classes;
  std::vector<double> y;  ///< class index per row
};
ClassLabels multiclass_labels(const Table& table, const std::string& label);

/// Whether `spec` trains a multiclass model on `table`: TaskKind::kMulticlass, or kAuto and the
/// label column holds more than two distinct values.
bool multiclass_task(const Table& table, const TrainSpec& spec);

/// The provenance key under which the category labels of feature `column` are stored
/// ("data.categories.<column>", a JSON array of strings).
std::string categories_key(const std::string& column);

/// The fewest rows a part of the split may have: a calibrator, a threshold and test figures
/// fitted on fewer rows are noise.
inline constexpr Index kMinPartRows = 20;

}  // namespace calibrisk
