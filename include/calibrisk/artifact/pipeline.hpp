// SPDX-License-Identifier: Apache-2.0
/// @file pipeline.hpp
/// The deployable `Pipeline`: feature schema + model + calibrator + operating point + provenance,
/// scored with one const, thread-safe call. Saved and loaded by `artifact/io.hpp`.
///
/// Example (C++ backend):
/// @code
///   calibrisk::Pipeline pipe = calibrisk::load("readmission.calibrisk.json");
///   double risk = pipe.predict_proba_row(row);      // row: pipe.n_features() doubles, NaN =
///   missing bool flag   = pipe.predict_row(row);            // risk >= pipe.threshold()
///   calibrisk::InputReport r = pipe.check_inputs(batch);   // drift signals for monitoring
/// @endcode
#pragma once

#include <calibrisk/artifact/expansion.hpp>
#include <calibrisk/artifact/explanation.hpp>
#include <calibrisk/artifact/schema.hpp>
#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/multiclass.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/io/categories.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/threshold/review.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/version.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace calibrisk {

class TreeExplainer;  // trees/explain.hpp: TreeSHAP of a tree ensemble

/// The model of a pipeline: a fitted logistic regression or gradient-boosted trees.
using PipelineModel = std::variant<LogisticRegression, GradientBoostedTrees>;
/// The calibrator of a pipeline: none (`std::monostate`), Platt, isotonic or beta.
using PipelineCalibrator =
    std::variant<std::monostate, PlattCalibrator, IsotonicCalibrator, BetaCalibrator>;

/// The operating point a pipeline flags at: `predict` returns p >= threshold.
struct OperatingPointRecord {
  double threshold = 0.5;  ///< In [0, 1], finite (NaN rejected).
  /// The policy that chose it, e.g. "min_recall=0.8", "max_fbeta=1", "cost_fp=1,cost_fn=5";
  /// "default" when no policy was run.
  std::string policy = "default";
  /// Validation figures at the threshold (e.g. precision, recall, alert_rate, tp, fp, ...), unique
  /// names; values may be NaN (undefined), they are stored exactly.
  std::vector<std::pair<std::string, double>> figures;

  /// The record of an operating point chosen by `select_threshold`: its threshold, policy
  /// description and every figure (confusion counts, precision, recall, specificity, NPV, alert
  /// rate, F-beta, expected cost, Wilson and Clopper-Pearson bounds, Bayes-threshold figures).
  static OperatingPointRecord from(const OperatingPoint& op) {
    OperatingPointRecord r;
    r.threshold = op.threshold;
    r.policy = op.policy.empty() ? "unspecified" : op.policy;
    r.figures = {{"tp", op.tp},
                 {"fp", op.fp},
                 {"tn", op.tn},
                 {"fn", op.fn},
                 {"precision", op.precision},
                 {"recall", op.recall},
                 {"specificity", op.specificity},
                 {"npv", op.npv},
                 {"alert_rate", op.alert_rate},
                 {"beta", op.beta},
                 {"fbeta", op.fbeta},
                 {"expected_cost", op.expected_cost},
                 {"confidence", op.confidence},
                 {"precision_ci_lower", op.precision_wilson.lower},
                 {"precision_ci_upper", op.precision_wilson.upper},
                 {"recall_ci_lower", op.recall_wilson.lower},
                 {"recall_ci_upper", op.recall_wilson.upper},
                 {"precision_ci_clopper_pearson_lower", op.precision_cp.lower},
                 {"precision_ci_clopper_pearson_upper", op.precision_cp.upper},
                 {"recall_ci_clopper_pearson_lower", op.recall_cp.lower},
                 {"recall_ci_clopper_pearson_upper", op.recall_cp.upper},
                 {"bayes_threshold", op.bayes_threshold},
                 {"bayes_expected_cost", op.bayes_expected_cost},
                 {"bayes_recall", op.bayes_recall},
                 {"bayes_alert_rate", op.bayes_alert_rate}};
    return r;
  }

  /// The figure called `name`, or NaN when absent.
  double figure(const std::string& name) const noexcept {
    for (const auto& f : figures)
      if (f.first == name) return f.second;
    return std::numeric_limits<double>::quiet_NaN();
  }
  /// Throws InvalidInput on a non-finite or out-of-range threshold, an empty policy or duplicate
  /// figure names.
  void validate(const std::string& where = "OperatingPointRecord::validate") const {
    if (!(threshold >= 0.0 && threshold <= 1.0)) {
      throw InvalidInput(where + ": threshold is " + std::to_string(threshold) +
                         "; it must be a probability in [0, 1] (NaN is not allowed).");
    }
    if (policy.empty()) throw InvalidInput(where + ": policy is empty; name the policy.");
    std::set<std::string> seen;
    for (const auto& f : figures) {
      if (f.first.empty() || !seen.insert(f.first).second) {
        throw InvalidInput(where + ": figure name \"" + f.first +
                           "\" is empty or repeated; figure names must be unique.");
      }
    }
  }
};

/// What the training data looked like, without the data: enough to tell whether two models were
/// trained on the same table. `sha256` hashes rows, columns, every value (as float64, NaN
/// canonical, row-major) and the labels; see `fingerprint_data` in io.hpp.
struct DataFingerprint {
  Index rows = 0;  ///< 0 = unknown.
  Index cols = 0;
  double prevalence = std::numeric_limits<double>::quiet_NaN();  ///< Share of label 1, or NaN.
  std::string sha256;  ///< 64 lower-case hex digits, or empty when unknown.
};

/// Where a pipeline came from. `parameters` records every hyper-parameter as text (model,
/// calibrator, calibration scheme, threshold policy), sorted by key.
struct Provenance {
  std::string library_version = CALIBRISK_VERSION_STRING;  ///< Library that built the pipeline.
  std::vector<std::pair<std::string, std::string>> parameters;  ///< Unique keys.
  std::uint64_t seed = 0;         ///< random_state of the training run.
  DataFingerprint training_data;  ///< Fingerprint of the training table.
  /// Optional creation time (ISO 8601, UTC). Empty by default so that saving the same pipeline
  /// twice gives identical bytes; when set it is stored (and checksummed) like any other field.
  std::string created_at;
};

/// What feeds the calibrator: the model's raw margin (log-odds) or its probability.
enum class CalibratorInput { kMargin, kProbability };

/// Every part of a pipeline, by name (the spelled-out alternative to the positional constructor).
struct PipelineParts {
  FeatureSchema schema;
  PipelineModel model;
  PipelineCalibrator calibrator;  ///< std::monostate = uncalibrated.
  /// What the calibrator consumes. Beta requires kProbability; for Platt it defaults to what
  /// its state says (margin or probability); isotonic takes either.
  CalibratorInput calibrator_input = CalibratorInput::kProbability;
  OperatingPointRecord operating_point;
  Provenance provenance;
  /// Training distributions for `monitor` (format 1.3); empty = none (older files).
  MonitoringReference reference;

  // ---- K-class pipelines (format 1.6; docs/workflow.md "Multiclass") -------------------------
  // A model with K >= 3 classes (today a multinomial LogisticRegression) makes a K-class pipeline:
  // `calibrator` must then be std::monostate and the calibration, if any, is
  // `multiclass_calibrator`; `classes` names the K classes; `review` routes items. A binary
  // pipeline keeps all three empty (and writes the bytes of earlier releases).

  /// The K-class calibrator, fed the model's K logits or K probabilities as its state's `input`
  /// says; std::nullopt = uncalibrated (the model's softmax). Its K must equal the model's.
  std::optional<MulticlassCalibrator> multiclass_calibrator;
  /// The K class labels in class-index order (index k = `classes[k]`), non-empty and unique
  /// strings (at most 4096 bytes each). Empty for a binary pipeline. For a K-class pipeline
  /// an empty list means "0".."K-1".
  std::vector<std::string> classes;
  /// The review queue (K-class only): kind "threshold" (one threshold, or K when per_class) or
  /// "conformal" (n_classes = K). std::nullopt = every item is auto-routed.
  std::optional<ReviewPolicyRecord> review;
  /// The reference coding of the declared categorical features applied before a K-class
  /// logistic regression (format 1.7; artifact/expansion.hpp); empty = none (the model takes the
  /// schema's columns as they are). When set, the model's feature count is its width().
  CategoricalExpansion expansion;
};

/// A fitted, calibrated, thresholded model with the schema it expects.
///
/// Scoring: s = model score of the row (margin or probability, as `calibrator_input` says),
/// p = calibrator(s) (or the model probability when uncalibrated), flag = p >= threshold.
/// Unseen categories: a value of a categorical schema feature that is not one of its training
/// codes (a new code, the CSV reader's -1, a non-integer) is scored exactly as a missing value
/// (NaN): trees send it the learned missing direction, logistic regression applies its missing
/// strategy. check_inputs reports such values as "unseen category codes".
/// Every scoring method is const and may be called from many threads at once; the row methods
/// never allocate. A Pipeline is a regular value (copyable, movable).
class Pipeline {
 public:
  /// Validates and assembles the parts (see `validate`). Throws InvalidInput / NotFitted.
  explicit Pipeline(PipelineParts parts) : p_(std::move(parts)) {
    validate();
    n_classes_ = model_classes();
    init_class_explainers();
    for (Index j = 0; j < p_.schema.n_features(); ++j) {
      const FeatureInfo& f = p_.schema.features[static_cast<std::size_t>(j)];
      if (f.categorical && f.unseen_as_missing) categorical_.push_back(j);
      if (!f.labels.empty()) {
        if (levels_.empty()) levels_.resize(static_cast<std::size_t>(p_.schema.n_features()));
        levels_[static_cast<std::size_t>(j)] = f.levels();
      }
    }
  }

  /// Positional form: calibrator input defaults to the model margin for a Platt calibrator fitted
  /// on margins and to the model probability otherwise.
  Pipeline(FeatureSchema schema, PipelineModel model, PipelineCalibrator calibrator = {},
           OperatingPointRecord operating_point = {}, Provenance provenance = {})
      : Pipeline(make_parts(std::move(schema), std::move(model), std::move(calibrator),
                            std::move(operating_point), std::move(provenance))) {}
  /// As above with the OperatingPoint returned by `select_threshold`.
  Pipeline(FeatureSchema schema, PipelineModel model, PipelineCalibrator calibrator,
           const OperatingPoint& operating_point, Provenance provenance = {})
      : Pipeline(std::move(schema), std::move(model), std::move(calibrator),
                 OperatingPointRecord::from(operating_point), std::move(provenance)) {}

  // ---- serving -------------------------------------------------------------------------------

  /// Calibrated P(y = 1) of one contiguous row of n_features() values (NaN = missing; an unseen
  /// category is scored as missing). Unchecked (the caller guarantees the length and no +-inf;
  /// see check_inputs): a row whose linear predictor overflows gives NaN here, where the batch
  /// methods throw. Allocation-free (a row with an unseen category and more than 256 features
  /// uses one buffer per thread, allocated once), const, thread-safe. Bit-identical to the
  /// batch `predict_proba`.
  /// A K-class pipeline (n_classes() > 2) returns NaN: use predict_proba_matrix_row.
  double predict_proba_row(const double* row) const noexcept { return proba_row(row); }
  double predict_proba_row(const float* row) const noexcept { return proba_row(row); }
  /// The flag of one row: predict_proba_row(row) >= threshold().
  bool predict_row(const double* row) const noexcept { return proba_row(row) >= threshold(); }
  bool predict_row(const float* row) const noexcept { return proba_row(row) >= threshold(); }
  /// The model's raw margin (log-odds, before calibration) of one row.
  /// NaN for a K-class pipeline (use decision_matrix).
  double decision_function_row(const double* row) const noexcept {
    if (n_classes_ > 2) return std::numeric_limits<double>::quiet_NaN();
    return unseen_as_missing(row, [this](const double* r) { return margin_row(r); });
  }
  double decision_function_row(const float* row) const noexcept {
    if (n_classes_ > 2) return std::numeric_limits<double>::quiet_NaN();
    return unseen_as_missing(row, [this](const float* r) { return margin_row(r); });
  }

  /// Calibrated P(y = 1) per row of X (n, n_features()), float32/float64, any strides; parallel
  /// over rows. Throws InvalidInput (wrong column count, +-inf values).
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const {
    Eigen::VectorXd out(X.rows());
    predict_proba(X, VectorView<double>(out));
    return out;
  }
  /// As above, into `out` (X.rows() values). Allocation-free apart from the model's own work.
  void predict_proba(const FeatureMatrix& X, VectorView<double> out) const {
    require_binary("Pipeline::predict_proba");
    check_shape(X, out.size(), "Pipeline::predict_proba");
    model_scores(X, out, needs_margin());
    const int n_threads = 0;
    std::visit(
        [&](const auto& c) {
          using C = std::decay_t<decltype(c)>;
          if constexpr (!std::is_same_v<C, std::monostate>) {
            detail::parallel_blocks(out.size(), 1 << 14, n_threads, [&](Index, Index lo, Index hi) {
              for (Index i = lo; i < hi; ++i) out[i] = c.predict_one(out[i]);
            });
          }
        },
        p_.calibrator);
  }
  /// Flags (1 when the calibrated probability >= threshold, else 0) per row of X.
  Eigen::Matrix<std::int32_t, Eigen::Dynamic, 1> predict(const FeatureMatrix& X) const {
    const Eigen::VectorXd p = predict_proba(X);
    Eigen::Matrix<std::int32_t, Eigen::Dynamic, 1> flags(p.size());
    const double t = threshold();
    for (Index i = 0; i < p.size(); ++i) flags[i] = p[i] >= t ? 1 : 0;
    return flags;
  }
  /// The model's raw margin (log-odds, before calibration) per row of X.
  Eigen::VectorXd decision_function(const FeatureMatrix& X) const {
    require_binary("Pipeline::decision_function");
    Eigen::VectorXd out(X.rows());
    check_shape(X, out.size(), "Pipeline::decision_function");
    model_scores(X, VectorView<double>(out), true);
    return out;
  }

  // ---- K classes (format 1.6; defined in src/artifact/multiclass_pipeline.cpp) ---------------
  //
  // Every method below also serves a binary pipeline (K = 2: P = [1 - p, p], classes "0", "1",
  // every item auto-routed), so a caller can treat both alike. Scoring of a K-class pipeline:
  // z = the model's K raw scores of the row (multinomial logits), P = softmax(z), or the
  // multiclass calibrator's map of z (margin input) or of softmax(z) (probability input);
  // label = argmax_k P (ties to the lowest index); route = auto when the review policy accepts
  // the row's confidence max_k P (or its conformal set holds exactly one label), review otherwise.

  /// 2 for a binary pipeline, K for a K-class one.
  int n_classes() const noexcept { return n_classes_; }
  /// The class labels in index order: `parts().classes`, or "0".."K-1" when none were given.
  std::vector<std::string> class_labels() const;
  /// The review policy, or nullptr (every item auto-routed).
  const ReviewPolicyRecord* review_policy() const noexcept {
    return p_.review ? &*p_.review : nullptr;
  }
  /// The model's K raw scores per row of X into `out` (X.rows() x K; a binary model's single
  /// margin m gives [0, m]). Throws InvalidInput (shapes, +-inf values).
  void decision_matrix(const FeatureMatrix& X, MatrixView<double> out) const;
  /// Calibrated class probabilities per row of X into `out` (X.rows() x n_classes(), rows summing
  /// to 1); parallel over rows. Throws InvalidInput (shapes, +-inf values).
  void predict_proba_matrix(const FeatureMatrix& X, MatrixView<double> out) const;
  RowMatrixXd predict_proba_matrix(const FeatureMatrix& X) const;
  /// One contiguous row (n_features() values) into `out` (n_classes() values); bit-identical to
  /// the batch form. Thread-safe and allocation-free, like the binary row methods (K > 64 classes
  /// or a row with an unseen category and more than 256 features use buffers allocated once per
  /// thread); throws InvalidInput on a null pointer or a +-inf value.
  void predict_proba_matrix_row(const double* row, double* out) const;
  /// What `decide_row` returns for one row.
  struct RowDecision {
    int label = 0;            ///< argmax_k P (ties to the lowest index)
    bool auto_routed = true;  ///< the review policy's route (true without a policy)
    double confidence = 0.0;  ///< P[label]
  };
  /// One row's K probabilities (into `out`, n_classes() values, as predict_proba_matrix_row), its
  /// label and its route, exactly as predict_proba_matrix + predict_label + route give them for
  /// a batch of this one row (the randomised APS conformal route draws the u of row 0).
  /// Allocation-free and thread-safe; throws as predict_proba_matrix_row.
  RowDecision decide_row(const double* row, double* out) const;
  /// Class index (argmax, ties to the lowest index) per row of a probability matrix P (n, K).
  std::vector<std::int32_t> predict_label(MatrixView<const double> P) const;
  /// Route per row of a probability matrix P (n, K) from predict_proba_matrix: 1 = auto-routed,
  /// 0 = review. Without a review policy every row is 1. Throws InvalidInput on a P of the wrong
  /// width.
  std::vector<std::uint8_t> route(MatrixView<const double> P) const;
  /// Per-feature contributions of one row to the logit of class `k` of a K-class logistic
  /// regression (docs/serving.md "Explaining a K-class model"): out[j] = B[k, j] * (x_j - m_j),
  /// m_j the training mean the model imputes missing values with (so a missing value contributes
  /// 0); returns the baseline b_k + sum_j B[k, j] m_j, so that baseline + sum_j out[j] = z_k, the
  /// model's (uncalibrated) softmax logit of class k. For K-class trees out[j] is the TreeSHAP
  /// value of feature j in class k's ensemble and the baseline its expected raw score, so again
  /// baseline + sum_j out[j] = z_k. Throws InvalidInput (k out of range, a binary pipeline, +-inf
  /// values).
  double explain_class(const double* row, int k, double* out) const;

  // ---- rows given as text: category labels (format 1.4; docs/categorical.md) ----------------

  /// The label encoder of feature j (its schema labels and code hierarchy), or nullptr when the
  /// feature has no labels (numeric, detected integer codes, or a model saved before format 1.4,
  /// whose labels are in the provenance) or j is out of range.
  const CategoryLevels* category_levels(Index j) const noexcept {
    if (j < 0 || static_cast<std::size_t>(j) >= levels_.size()) return nullptr;
    const CategoryLevels& l = levels_[static_cast<std::size_t>(j)];
    return l.size() > 0 ? &l : nullptr;
  }

  /// What `encode_row` met in one row.
  struct RowEncoding {
    Index unseen_labels = 0;  ///< labels that are not levels (encoded by the unseen policy)
    Index bad_numbers = 0;    ///< numeric fields that are not numbers (encoded as NaN)
    /// The first feature with a bad number, or -1.
    Index first_bad_feature = -1;
  };

  /// Encodes one row given as text into `out` (n_features() doubles), ready for
  /// `predict_proba_row`: `fields[j]` (n_features() views, schema order) is a label for a feature
  /// with labels (code by CategoryLevels::encode: a label that is not a level becomes its nearest
  /// level ancestor under a declared hierarchy, otherwise NaN, i.e. missing), and a decimal number
  /// otherwise, read as the CSV reader reads it (spaces trimmed, a leading '+' allowed; "", "NA"
  /// and "?" are missing). A field that is not a number gives NaN and is counted in
  /// `bad_numbers`: check it, a silent NaN would score the row as if the value were missing.
  /// Allocation-free, noexcept, const, thread-safe; O(n_features() + labels * log(levels)).
  RowEncoding encode_row(const std::string_view* fields, double* out) const noexcept {
    RowEncoding r;
    for (Index j = 0; j < n_features(); ++j) {
      if (const CategoryLevels* l = category_levels(j)) {
        const auto [code, how] = l->lookup(fields[j]);
        out[j] = code;
        r.unseen_labels += how == CategoryMatch::kAncestor || how == CategoryMatch::kUnseen;
      } else if (!parse_number_field(fields[j], out[j])) {
        if (r.bad_numbers++ == 0) r.first_bad_feature = j;
      }
    }
    return r;
  }

  /// Rows given as text (each n_features() fields in schema order) as a matrix of codes and
  /// numbers (see encode_row). Throws InvalidInput naming the row and the feature on a row of the
  /// wrong length or a field of a numeric feature that is not a number.
  RowMatrixXd encode_rows(const std::vector<std::vector<std::string>>& rows) const {
    RowMatrixXd X(static_cast<Index>(rows.size()), n_features());
    std::vector<std::string_view> f(static_cast<std::size_t>(n_features()));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      check_text_row(rows[i], i);
      for (std::size_t j = 0; j < f.size(); ++j) f[j] = rows[i][j];
      const RowEncoding r = encode_row(f.data(), X.row(static_cast<Index>(i)).data());
      if (r.bad_numbers > 0) {
        const auto j = static_cast<std::size_t>(r.first_bad_feature);
        throw InvalidInput("Pipeline::encode_rows: row " + std::to_string(i) + ", feature " +
                           quote_for_message(p_.schema.features[j].name) + " holds " +
                           quote_for_message(rows[i][j]) +
                           ", which is not a number; numeric features take decimal numbers "
                           "(empty, NA or ? for missing).");
      }
    }
    return X;
  }

  /// check_inputs of rows given as text: the checks of the matrix `encode_rows(rows)`, except
  /// that a label that is not a level (whether it backs off to an ancestor or becomes missing)
  /// is counted as an unseen category (FeatureDrift::n_unseen_category), not as missing; rows of
  /// the wrong length are errors (not checked), and a non-number in a numeric feature is an
  /// error (the row is checked with that value missing). Never throws on data.
  InputReport check_inputs(const std::vector<std::vector<std::string>>& rows,
                           const InputCheckOptions& o = {}) const {
    std::vector<std::vector<double>> enc(rows.size());
    std::vector<std::string_view> f(static_cast<std::size_t>(n_features()));
    Index bad_rows = 0, first_bad = -1;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (static_cast<Index>(rows[i].size()) != n_features()) {
        enc[i].assign(rows[i].size(), 0.0);  // reported as wrong length by the schema check
        continue;
      }
      for (std::size_t j = 0; j < f.size(); ++j) f[j] = rows[i][j];
      enc[i].resize(f.size());
      const RowEncoding r = encode_row(f.data(), enc[i].data());
      if (r.bad_numbers > 0 && bad_rows++ == 0) first_bad = static_cast<Index>(i);
      if (r.unseen_labels == 0) continue;
      for (std::size_t j = 0; j < f.size(); ++j) {
        const CategoryLevels* l = category_levels(static_cast<Index>(j));
        if (l == nullptr) continue;
        const CategoryMatch how = l->lookup(f[j]).second;
        // The schema check counts a code outside the training codes as an unseen category.
        if (how == CategoryMatch::kAncestor || how == CategoryMatch::kUnseen) {
          enc[i][j] = kUnseenCategory;
        }
      }
    }
    InputReport rep = p_.schema.check(enc, o);
    if (bad_rows > 0) {
      rep.errors.push_back(std::to_string(bad_rows) +
                           " row(s) hold text that is not a number in a numeric feature (first: "
                           "row " +
                           std::to_string(first_bad) +
                           "); encode_row reads it as missing: fix the value or mark it missing "
                           "(empty, NA or ?).");
    }
    return rep;
  }

  // ---- explaining (defined in src/serve/explain.cpp; docs/serving.md "Explanations") --------

  /// Per-feature contributions of every row of X (n, n_features()) into `out` (n, n_features()),
  /// on `scale`; returns the baseline, the same for every row, so that for each row
  /// baseline + sum_j out(i, j) = logit(predict_proba(row)) (kCalibrated) or the margin
  /// decision_function(row) (kMargin), up to rounding (tested to 1e-9).
  /// Margin contributions phi_j: exact path-dependent TreeSHAP for trees (baseline phi_0 = the
  /// cover-weighted mean margin); for logistic regression coef_j * (x_j - reference_j) with NaN
  /// imputed as the model does and the missing indicator's term (coef * (isnan - training missing
  /// rate)) added to its feature; reference_j = the training mean the model imputes with, and
  /// phi_0 = the margin of that reference row. Calibrated: Platt on the margin maps exactly
  /// (a * phi_j, baseline a * phi_0 + b); no calibrator leaves phi_j; beta, isotonic and Platt
  /// on probabilities scale every phi_j of a row by r = (L(x) - L(phi_0)) / sum_j phi_j, L the
  /// calibrated log-odds at a margin (calibrated_log_odds), falling back to shares of |phi_j|
  /// when sum_j phi_j is ~0 (docs/serving.md). Unseen categories are explained as missing, as
  /// they are scored. `explainer`: a TreeExplainer of this pipeline's ensemble that the caller
  /// keeps to skip rebuilding it (nullptr: built here; ignored for logistic regression).
  /// Throws InvalidInput (shapes, +-inf values, as predict_proba).
  double explain(const FeatureMatrix& X, MatrixView<double> out,
                 ExplainScale scale = ExplainScale::kCalibrated,
                 const TreeExplainer* explainer = nullptr) const;
  /// The baseline `explain` returns, without data.
  double explain_baseline(ExplainScale scale = ExplainScale::kCalibrated,
                          const TreeExplainer* explainer = nullptr) const;
  /// Global importance: mean over the rows of X of |contribution| per feature (n_features()
  /// values; zeros for an empty X), on `scale`. Rows are explained in blocks (memory
  /// O(block * n_features())).
  std::vector<double> mean_abs_contributions(const FeatureMatrix& X,
                                             ExplainScale scale = ExplainScale::kCalibrated) const;
  /// The calibrated log-odds at model margin m: a * m + b for Platt on the margin, the linear
  /// predictor of Platt on probabilities and of beta at sigmoid(m), the logit of isotonic's
  /// probability clipped to [1e-12, 1 - 1e-12] (+-27.6), m itself when uncalibrated.
  /// sigmoid(calibrated_log_odds(margin of x)) is the pipeline's risk of x (to rounding).
  double calibrated_log_odds(double margin) const noexcept;

  /// Drift and consistency report of a batch (wrong column count is an error; values outside the
  /// training range, unseen category codes, missing rates departing from training are warnings).
  /// Never changes scores and never throws on data.
  InputReport check_inputs(const FeatureMatrix& X, const InputCheckOptions& o = {}) const {
    return p_.schema.check(X, o);
  }
  /// The same for ragged rows (rows of the wrong length are reported, not scored).
  InputReport check_inputs(const std::vector<std::vector<double>>& rows,
                           const InputCheckOptions& o = {}) const {
    return p_.schema.check(rows, o);
  }

  /// The training / calibration distributions `monitor` compares batches with (empty for models
  /// saved before format 1.3). See calibrisk/monitor/monitor.hpp.
  const MonitoringReference& reference() const noexcept { return p_.reference; }
  /// This pipeline with `reference` attached (validated against the schema).
  Pipeline with_reference(MonitoringReference reference) const {
    PipelineParts parts = p_;
    parts.reference = std::move(reference);
    return Pipeline(std::move(parts));
  }

  // ---- parts ---------------------------------------------------------------------------------

  Index n_features() const noexcept { return p_.schema.n_features(); }
  double threshold() const noexcept { return p_.operating_point.threshold; }
  const FeatureSchema& schema() const noexcept { return p_.schema; }
  const PipelineModel& model() const noexcept { return p_.model; }
  const PipelineCalibrator& calibrator() const noexcept { return p_.calibrator; }
  CalibratorInput calibrator_input() const noexcept { return p_.calibrator_input; }
  bool is_calibrated() const noexcept { return p_.calibrator.index() != 0; }
  const OperatingPointRecord& operating_point() const noexcept { return p_.operating_point; }
  const Provenance& provenance() const noexcept { return p_.provenance; }
  const PipelineParts& parts() const noexcept { return p_; }
  /// "logistic_regression" or "gradient_boosted_trees".
  const char* model_type() const noexcept {
    return p_.model.index() == 0 ? "logistic_regression" : "gradient_boosted_trees";
  }
  /// "none", "platt", "isotonic" or "beta"; for a K-class pipeline "temperature",
  /// "one_vs_rest" or "dirichlet" (or "none").
  const char* calibrator_type() const noexcept {
    if (p_.multiclass_calibrator) {
      static const char* mc[] = {"temperature", "one_vs_rest", "dirichlet"};
      return mc[p_.multiclass_calibrator->index()];
    }
    static const char* names[] = {"none", "platt", "isotonic", "beta"};
    return names[p_.calibrator.index()];
  }

  /// Checks that the parts fit together: schema valid; model and calibrator fitted; the model's
  /// feature count equals the schema's; beta calibration fed probabilities; operating point valid;
  /// provenance parameter keys unique. Throws InvalidInput (NotFitted for unfitted parts).
  void validate() const {
    const std::string where = "Pipeline";
    p_.schema.validate(where + ": schema");
    const Index p = std::visit(
        [&](const auto& m) -> Index {
          if (!m.is_fitted()) {
            throw NotFitted(where +
                            ": the model is not fitted; fit it before building a "
                            "pipeline.");
          }
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, LogisticRegression>) {
            // A multinomial model makes a K-class pipeline (validate_multiclass); the binary
            // row paths (margin()) are guarded by n_classes_ and never see it.
            return m.n_features();
          } else {
            // A softmax ensemble makes a K-class pipeline, as a multinomial model does.
            if (m.n_classes() > 2) return m.class_ensemble(0).n_features;
            return m.state().ensemble.n_features;
          }
        },
        p_.model);
    if (!p_.expansion.empty() && p != p_.expansion.width()) {
      throw InvalidInput(where + ": the model expects " + std::to_string(p) +
                         " features but the categorical expansion gives " +
                         std::to_string(p_.expansion.width()) +
                         "; fit the model on the expanded training columns.");
    }
    if (p_.expansion.empty() && p != p_.schema.n_features()) {
      throw InvalidInput(where + ": the model expects " + std::to_string(p) +
                         " features but the schema lists " +
                         std::to_string(p_.schema.n_features()) +
                         "; build the schema from the model's training columns.");
    }
    std::visit(
        [&](const auto& c) {
          using C = std::decay_t<decltype(c)>;
          if constexpr (!std::is_same_v<C, std::monostate>) {
            if (!c.is_fitted()) {
              throw NotFitted(where +
                              ": the calibrator is not fitted; fit it on held-out "
                              "scores first.");
            }
          }
          if constexpr (std::is_same_v<C, PlattCalibrator>) {
            if (c.state().input == ScoreKind::kProbability &&
                p_.calibrator_input != CalibratorInput::kProbability) {
              throw InvalidInput(where +
                                 ": the Platt calibrator was fitted on probabilities "
                                 "but calibrator_input is the margin; use kProbability.");
            }
          }
          if constexpr (std::is_same_v<C, IsotonicCalibrator>) {
            const auto& y = c.state().y;
            for (std::size_t k = 0; k < y.size(); ++k) {
              if (!(y[k] >= 0.0 && y[k] <= 1.0)) {
                throw InvalidInput(where + ": isotonic knot value y[" + std::to_string(k) +
                                   "] = " + std::to_string(y[k]) +
                                   " is not a probability; a pipeline's calibrator must map "
                                   "scores into [0, 1].");
              }
            }
          }
          if constexpr (std::is_same_v<C, BetaCalibrator>) {
            if (p_.calibrator_input != CalibratorInput::kProbability) {
              throw InvalidInput(where +
                                 ": beta calibration maps probabilities, but "
                                 "calibrator_input is the margin; use kProbability.");
            }
          }
        },
        p_.calibrator);
    if (p_.calibrator_input != CalibratorInput::kMargin &&
        p_.calibrator_input != CalibratorInput::kProbability) {
      throw InvalidInput(where + ": calibrator_input is not a CalibratorInput value.");
    }
    validate_multiclass();
    p_.operating_point.validate(where + ": operating_point");
    p_.reference.validate(p_.schema, where + ": reference");
    std::set<std::string> keys;
    for (const auto& kv : p_.provenance.parameters) {
      if (kv.first.empty() || !keys.insert(kv.first).second) {
        throw InvalidInput(where + ": provenance parameter \"" + kv.first +
                           "\" is empty or repeated; keys must be unique.");
      }
    }
    const DataFingerprint& fp = p_.provenance.training_data;
    if (fp.rows < 0 || fp.cols < 0 ||
        !(std::isnan(fp.prevalence) || (fp.prevalence >= 0.0 && fp.prevalence <= 1.0))) {
      throw InvalidInput(where +
                         ": provenance.training_data has rows/cols < 0 or a prevalence "
                         "outside [0, 1].");
    }
  }

 private:
  // K-class checks (src/artifact/multiclass_pipeline.cpp): parts that belong to K-class pipelines
  // (multiclass calibrator, classes, review) are absent from binary ones and consistent with the
  // model's K otherwise. Throws InvalidInput.
  void validate_multiclass() const;
  // The model's class count: 2, or K of a multinomial logistic regression / softmax ensemble.
  int model_classes() const {
    if (const auto* lr = std::get_if<LogisticRegression>(&p_.model)) return lr->n_classes();
    if (const auto* gb = std::get_if<GradientBoostedTrees>(&p_.model)) return gb->n_classes();
    return 2;
  }
  // K-class trees: one TreeExplainer per class ensemble for explain_class (built once).
  void init_class_explainers();
  double explain_class_trees(const double* row, int k, double* out) const;
  double explain_class_expanded(const double* row, int k, double* out) const;
  void require_binary(const char* where) const {
    if (n_classes_ > 2) {
      throw InvalidInput(std::string(where) + ": this pipeline has " + std::to_string(n_classes_) +
                         " classes; use predict_proba_matrix / decision_matrix (K columns).");
    }
  }
  // K-class scoring of a validated block (rows already checked for shape).
  void proba_matrix_raw(const FeatureMatrix& X, MatrixView<double> out) const;
  // K-class scoring of one finite row (unseen categories already NaN) into out, using `z` (K
  // values) as scratch; bit-identical to proba_matrix_raw's row.
  void proba_row_classes(const double* row, double* z, double* out) const noexcept;
  // The expanded row of a K-class LR with a categorical expansion (into `out`, width() values).
  // Returns `row` itself without an expansion, else `buf` (width() <= 256) or a per-thread buffer.
  const double* expanded_row(const double* row, double* buf) const noexcept;
  // The route of one row's probabilities P (K values) under the review policy.
  bool route_row(const double* P, int label) const noexcept;

  static PipelineParts make_parts(FeatureSchema schema, PipelineModel model,
                                  PipelineCalibrator calibrator, OperatingPointRecord op,
                                  Provenance prov) {
    PipelineParts parts;
    parts.calibrator_input = CalibratorInput::kProbability;
    if (const auto* platt = std::get_if<PlattCalibrator>(&calibrator)) {
      if (platt->is_fitted() && platt->state().input == ScoreKind::kMargin) {
        parts.calibrator_input = CalibratorInput::kMargin;
      }
    }
    parts.schema = std::move(schema);
    parts.model = std::move(model);
    parts.calibrator = std::move(calibrator);
    parts.operating_point = std::move(op);
    parts.provenance = std::move(prov);
    return parts;
  }

  bool needs_margin() const noexcept {
    return is_calibrated() && p_.calibrator_input == CalibratorInput::kMargin;
  }

  void check_shape(const FeatureMatrix& X, Index out_size, const char* where) const {
    if (X.cols() != n_features()) {
      throw InvalidInput(std::string(where) + ": X has " + std::to_string(X.cols()) +
                         " columns but the pipeline expects " + std::to_string(n_features()) +
                         " features; pass the columns in schema order (check_inputs reports "
                         "details).");
    }
    if (out_size != X.rows()) {
      throw InvalidInput(std::string(where) + ": out has " + std::to_string(out_size) +
                         " entries for " + std::to_string(X.rows()) + " rows.");
    }
  }

  // Calls score(r) on the row, or on a copy where every unseen category is NaN.
  template <class T, class Score>
  double unseen_as_missing(const T* row, const Score& score) const noexcept {
    const auto unseen = [&](Index j) {
      return p_.schema.features[static_cast<std::size_t>(j)].is_unseen_category(
          static_cast<double>(row[j]));
    };
    if (std::none_of(categorical_.begin(), categorical_.end(), unseen)) return score(row);
    constexpr Index kStackFeatures = 256;
    const Index n = n_features();
    T stack[kStackFeatures];
    T* buf = stack;
    if (n > kStackFeatures) {
      thread_local std::vector<T> wide;  // grows once per thread, never per row
      if (static_cast<Index>(wide.size()) < n) wide.resize(static_cast<std::size_t>(n));
      buf = wide.data();
    }
    std::copy(row, row + n, buf);
    for (const Index j : categorical_) {
      if (unseen(j)) buf[j] = std::numeric_limits<T>::quiet_NaN();
    }
    return score(static_cast<const T*>(buf));
  }

  // X itself, or (when some categorical value is unseen) a row-major copy of it in `copy` where
  // those values are NaN.
  template <class T>
  FeatureMatrix unseen_as_missing(const MatrixView<const T>& X, std::vector<T>& copy) const {
    const auto& f = p_.schema.features;
    bool any = false;
    for (const Index j : categorical_) {
      for (Index i = 0; i < X.rows() && !any; ++i) {
        any = f[static_cast<std::size_t>(j)].is_unseen_category(static_cast<double>(X(i, j)));
      }
    }
    if (!any) return FeatureMatrix(X);
    const Index n = X.rows(), p = X.cols();
    copy.resize(static_cast<std::size_t>(n * p));
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j < p; ++j) copy[static_cast<std::size_t>(i * p + j)] = X(i, j);
    }
    for (const Index j : categorical_) {
      for (Index i = 0; i < n; ++i) {
        T& x = copy[static_cast<std::size_t>(i * p + j)];
        if (f[static_cast<std::size_t>(j)].is_unseen_category(static_cast<double>(x))) {
          x = std::numeric_limits<T>::quiet_NaN();
        }
      }
    }
    return FeatureMatrix(MatrixView<const T>::row_major(copy.data(), n, p));
  }

  // Model scores into out: margins when `margin`, else probabilities (unseen categories scored as
  // missing). The models' batch paths validate the values (+-inf, overflow) and run in parallel.
  void model_scores(const FeatureMatrix& X, VectorView<double> out, bool margin) const {
    if (categorical_.empty()) return model_scores_raw(X, out, margin);
    X.visit([&](const auto& v) {
      std::vector<typename std::decay_t<decltype(v)>::value_type> copy;
      model_scores_raw(unseen_as_missing(v, copy), out, margin);
    });
  }

  void model_scores_raw(const FeatureMatrix& X, VectorView<double> out, bool margin) const {
    std::visit(
        [&](const auto& m) {
          if (!margin) {
            m.predict_proba(X, out);
            return;
          }
          const Eigen::VectorXd z = m.decision_function(X);
          for (Index i = 0; i < z.size(); ++i) out[i] = z[i];
        },
        p_.model);
  }

  template <class T>
  double margin_row(const T* row) const noexcept {
    if (p_.model.index() == 0) {
      return std::get<0>(p_.model).decision_function_row(row);
    }
    return std::get<1>(p_.model).predictor().predict_margin_row(row);
  }

  template <class T>
  double model_proba_row(const T* row) const noexcept {
    if (p_.model.index() == 0) return std::get<0>(p_.model).predict_proba_row(row);
    return std::get<1>(p_.model).predict_proba_row(row);
  }

  template <class T>
  double proba_row(const T* row) const noexcept {
    if (n_classes_ > 2) return std::numeric_limits<double>::quiet_NaN();
    return unseen_as_missing(row, [this](const T* r) { return proba_row_raw(r); });
  }

  template <class T>
  double proba_row_raw(const T* row) const noexcept {
    switch (p_.calibrator.index()) {
      case 0:
        return model_proba_row(row);
      case 1:
        return std::get<1>(p_.calibrator).predict_one(score_row(row));
      case 2:
        return std::get<2>(p_.calibrator).predict_one(score_row(row));
      default:
        return std::get<3>(p_.calibrator).predict_one(score_row(row));
    }
  }

  template <class T>
  double score_row(const T* row) const noexcept {
    return p_.calibrator_input == CalibratorInput::kMargin ? margin_row(row) : model_proba_row(row);
  }

  void check_text_row(const std::vector<std::string>& row, std::size_t i) const {
    if (static_cast<Index>(row.size()) != n_features()) {
      throw InvalidInput("Pipeline::encode_rows: row " + std::to_string(i) + " has " +
                         std::to_string(row.size()) + " fields but the pipeline expects " +
                         std::to_string(n_features()) + " (one per feature, in schema order).");
    }
  }

  // A numeric field as the CSV reader reads it: trimmed; "", "NA", "?" missing; '+' allowed.
  static bool parse_number_field(std::string_view s, double& out) noexcept {
    s = CategoryLevels::trim(s);
    out = std::numeric_limits<double>::quiet_NaN();
    if (s.empty() || s == "NA" || s == "?") return true;
    if (s.front() == '+') s.remove_prefix(1);
    double v = 0.0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
      return false;
    }
    out = v;
    return true;
  }

  PipelineParts p_;
  /// Per feature (empty when no feature has labels): the label encoders of labelled features.
  std::vector<CategoryLevels> levels_;
  /// Declared categorical features (unseen codes scored as missing), ascending.
  std::vector<Index> categorical_;
  /// 2, or K of a K-class pipeline.
  int n_classes_ = 2;
  /// K-class trees: the TreeSHAP explainer of each class's ensemble (shared by copies); null
  /// otherwise.
  std::shared_ptr<const std::vector<TreeExplainer>> class_explainers_;
};

}  // namespace calibrisk
