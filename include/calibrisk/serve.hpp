// SPDX-License-Identifier: Apache-2.0
/// @file serve.hpp
/// Scoring-only interface: load a saved pipeline file and score, flag, explain and check rows.
///
/// This header includes nothing but the C++ standard library (no Eigen, Boost or nlohmann/json),
/// so a service that only scores a saved model pays a fraction of a second per translation unit
/// to include it (benchmarks/parse_time.sh measures it; docs/serving.md reports the figures).
/// The implementation is compiled in the library on top of `calibrisk::Pipeline`: every score is
/// bit-identical to `Pipeline::predict_proba` / `predict_proba_row` of the same file.
///
/// Example:
/// @code
///   #include <calibrisk/serve.hpp>
///
///   calibrisk::ScoringOptions opt;
///   opt.public_key_file = "hospital.pub";  // refuse unsigned or tampered files
///   const auto model = calibrisk::ScoringPipeline::load("readmission.calibrisk.json", opt);
///   std::vector<double> row(model.n_features());   // fill in schema order, NaN = missing
///   double risk = model.predict_proba_row(row.data());
///   bool flag = risk >= model.threshold();
/// @endcode
#pragma once

#include <calibrisk/artifact/explanation.hpp>  // ExplainScale (standard library only)
#include <calibrisk/core/error.hpp>            // the exception types (standard library only)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace calibrisk {

class Pipeline;  // artifact/pipeline.hpp: the full (training-side) pipeline type

/// Options of `ScoringPipeline::load` (the same checks and limits as `LoadOptions` in
/// artifact/io.hpp).
struct ScoringOptions {
  /// Verify the SHA-256 checksum (disable only to inspect a hand-edited file).
  bool verify_checksum = true;
  /// Refuse files that are unsigned or whose Ed25519 signature does not verify with
  /// `public_key_file`. Setting `public_key_file` turns this on.
  bool require_signature = false;
  /// Path of a public key file written by `calibrisk keygen` / `generate_key_pair` (empty = none).
  std::string public_key_file;
  /// Largest file accepted, in bytes.
  std::size_t max_bytes = std::size_t(1) << 30;
  /// Deepest JSON nesting accepted.
  int max_json_depth = 64;
  /// Deepest tree accepted (root = depth 0).
  int max_tree_depth = 1024;
  /// Most nodes accepted in one tree.
  std::int64_t max_tree_nodes = std::int64_t(1) << 20;
};

/// A batch of rows: `data[i * row_stride + j * col_stride]` is feature j of row i (strides in
/// elements). `RowBlock<T>::row_major(data, rows, cols)` is the usual contiguous row-major layout.
template <class T>
struct RowBlock {
  const T* data = nullptr;
  std::ptrdiff_t rows = 0;
  std::ptrdiff_t cols = 0;
  std::ptrdiff_t row_stride = 0;  ///< Elements between row i and row i + 1.
  std::ptrdiff_t col_stride = 1;  ///< Elements between feature j and feature j + 1.

  /// Contiguous row-major rows (row_stride = cols, col_stride = 1).
  static RowBlock row_major(const T* data, std::ptrdiff_t rows, std::ptrdiff_t cols) noexcept {
    return RowBlock{data, rows, cols, cols, 1};
  }
  /// Contiguous column-major rows (row_stride = 1, col_stride = rows).
  static RowBlock col_major(const T* data, std::ptrdiff_t rows, std::ptrdiff_t cols) noexcept {
    return RowBlock{data, rows, cols, 1, rows};
  }
};

/// Options of `ScoringPipeline::check_inputs` (as `InputCheckOptions` in artifact/schema.hpp).
struct ScoringCheckOptions {
  /// A feature's missing rate is flagged when it departs from training by more than this absolute
  /// amount AND the departure is significant (two-proportion z-test, |z| > `missing_z`).
  double missing_rate_tolerance = 0.05;
  double missing_z = 3.0;           ///< Critical |z|; 3.0 is a two-sided p of about 0.0027.
  std::ptrdiff_t max_examples = 5;  ///< Example row indices kept per signal.
};

/// Drift signals of one feature over a checked batch (as `FeatureDrift` in artifact/schema.hpp).
struct ScoringFeatureDrift {
  std::ptrdiff_t feature = 0;  ///< Column index.
  std::string name;
  std::ptrdiff_t n_below_min = 0;            ///< Non-missing values < training min.
  std::ptrdiff_t n_above_max = 0;            ///< Non-missing values > training max.
  std::ptrdiff_t n_unseen_category = 0;      ///< Categorical codes not seen in training.
  std::ptrdiff_t n_missing = 0;              ///< NaN values.
  std::ptrdiff_t n_non_finite = 0;           ///< +-inf values (an error: they cannot be scored).
  double missing_rate = 0.0;                 ///< n_missing / rows checked.
  double train_missing_rate = 0.0;           ///< From the schema (NaN when unknown).
  bool missing_rate_drift = false;           ///< See ScoringCheckOptions.
  std::vector<std::ptrdiff_t> example_rows;  ///< A few rows showing a signal.
};

/// Result of `ScoringPipeline::check_inputs` (as `InputReport` in artifact/schema.hpp).
struct ScoringInputReport {
  std::ptrdiff_t n_rows = 0;                  ///< Rows examined.
  std::ptrdiff_t n_features_expected = 0;     ///< From the schema.
  std::vector<std::string> errors;            ///< Wrong column count, +-inf values: not scorable.
  std::vector<ScoringFeatureDrift> features;  ///< Only features with at least one signal.
  bool ok = true;                             ///< No errors: every row can be scored.
  bool has_drift = false;                     ///< Some range, category or missing-rate signal.
  std::string summary;                        ///< One line per error and per drifting feature.
};

/// A loaded, validated pipeline that can only score: calibrated risk, flag, per-feature
/// explanation and input checks, with its schema and operating point.
///
/// Scoring: s = model score of the row, p = calibrator(s), flag = p >= threshold(). Missing
/// values are NaN; a categorical code unseen in training is scored as missing.
///
/// Thread-safety: every method is const and may be called from many threads at once. Copies are
/// cheap and share the immutable model. A moved-from object may only be assigned or destroyed
/// (its methods throw NotFitted). Errors are calibrisk's exceptions: ModelFormatError for a file
/// that does not load, InvalidInput for bad arguments; a key file the operating system cannot read
/// throws `FileError` (core/error.hpp), derived from `calibrisk::Error`.
class ScoringPipeline {
 public:
  /// Reads, verifies and validates the pipeline file at `path` (see `load` in artifact/io.hpp
  /// for every check). Throws ModelFormatError naming the first problem.
  static ScoringPipeline load(const std::string& path, const ScoringOptions& options = {});
  /// The same from the text of a pipeline document.
  static ScoringPipeline from_string(std::string_view text, const ScoringOptions& options = {});
  /// Wraps an already-built Pipeline (copied), e.g. one trained in this process.
  explicit ScoringPipeline(const Pipeline& pipeline);

  /// Calibrated P(y = 1) of one contiguous row of n_features() values. Unchecked, as
  /// `Pipeline::predict_proba_row`: the caller guarantees the length and no +-inf (use
  /// check_inputs or the batch method for validated input). Allocation-free, thread-safe.
  double predict_proba_row(const double* row) const;
  double predict_proba_row(const float* row) const;
  /// The flag of one row: predict_proba_row(row) >= threshold().
  bool predict_row(const double* row) const;

  /// What `encode_row` met in one row (see Pipeline::RowEncoding).
  struct TextRowEncoding {
    std::ptrdiff_t unseen_labels = 0;  ///< labels that are not levels (unseen policy applied)
    std::ptrdiff_t bad_numbers = 0;    ///< numeric fields that are not numbers (set to NaN)
    std::ptrdiff_t first_bad_feature = -1;
  };
  /// Encodes one row given as text into `out` (n_features() doubles) for predict_proba_row:
  /// `fields` holds n_features() views in schema order; a categorical feature with labels (model
  /// files from format 1.4) takes its label (an unseen label becomes its nearest seen ancestor
  /// when the column declares a code hierarchy, otherwise missing), any other feature a decimal
  /// number ("", "NA", "?" = missing). Check `bad_numbers`. Allocation-free, thread-safe
  /// (docs/categorical.md).
  TextRowEncoding encode_row(const std::string_view* fields, double* out) const;

  /// Calibrated P(y = 1) of every row of `X` into `out` (X.rows values); parallel over rows.
  /// Throws InvalidInput when X.cols != n_features(), a stride or size is negative, a pointer is
  /// null with rows > 0, or a value is +-inf.
  void predict_proba(RowBlock<double> X, double* out) const;
  void predict_proba(RowBlock<float> X, double* out) const;
  /// Convenience form for contiguous row-major rows: `rows * n_features()` values.
  std::vector<double> predict_proba(const std::vector<double>& row_major_values) const;

  // ---- K classes (model files of format 1.6; docs/serving.md "K-class models") ---------------

  /// The decision of one row: its label and its route.
  struct ClassDecision {
    std::ptrdiff_t label = 0;  ///< Class index into classes(): argmax_k P (ties: lowest index).
    bool review = false;       ///< true: send to a person; false: route automatically.
  };
  /// 2 for a binary pipeline, K for a K-class one.
  int n_classes() const;
  /// Class labels in index order ("0", "1" for a binary pipeline).
  const std::vector<std::string>& classes() const;
  /// The description of the review policy (e.g. "min_accuracy=0.95"), empty when the pipeline
  /// has none (every item is auto-routed).
  const std::string& review_policy() const;
  /// Class probabilities of every row of `X` into `proba` (X.rows * n_classes() values,
  /// row-major, rows summing to 1) and, when `decisions` is not null, each row's label and route
  /// into `decisions` (X.rows values). A K-class pipeline labels by argmax and routes by its
  /// review policy (confidence max_k P >= the threshold of the predicted class, or a conformal set
  /// of exactly one label); a binary pipeline gives P = [1 - p, p], label = (p >= threshold()),
  /// review = false. Bit-identical to Pipeline::predict_proba_matrix. Throws InvalidInput as
  /// predict_proba.
  void predict_classes(RowBlock<double> X, double* proba, ClassDecision* decisions = nullptr) const;
  /// Contributions of one row to the softmax logit of its predicted class (K-class logistic
  /// regression): returns n_features() values phi_j = B[k, j] * (x_j - m_j) (m_j the training
  /// mean imputed for missing values), with `*predicted` = k (the class of predict_classes) and
  /// `*baseline` = b_k + sum_j B[k, j] m_j, so that baseline + sum_j phi_j is class k's logit
  /// (before calibration). Throws InvalidInput for binary or tree pipelines (use explain).
  std::vector<double> explain_class(const double* row, std::ptrdiff_t* predicted = nullptr,
                                    double* baseline = nullptr) const;

  /// Per-feature contributions of one row, n_features() values, on `scale`: by default the
  /// calibrated log-odds, so that explain_baseline() + sum = logit(predict_proba_row(row));
  /// ExplainScale::kMargin gives the model's log-odds before calibration (what explain returned
  /// before the calibrated scale existed). Gradient-boosted trees: exact path-dependent TreeSHAP
  /// (Lundberg et al. 2018); logistic regression: coef_j * (x_j - training mean_j), missing values
  /// imputed as the model does and the missing indicator's term added to its feature; the
  /// calibrated scale maps these exactly for Platt and by one common factor per row for beta /
  /// isotonic (see `Pipeline::explain`, docs/serving.md). The same numbers as `calibrisk predict
  /// --explain`, the scoring service and Python. Allocates its result; thread-safe.
  std::vector<double> explain(const double* row,
                              ExplainScale scale = ExplainScale::kCalibrated) const;
  /// Contributions of every row of `X` into `out` (X.rows * n_features() values, row-major).
  void explain(RowBlock<double> X, double* out,
               ExplainScale scale = ExplainScale::kCalibrated) const;
  /// The baseline the contributions of every row start from on `scale` (the calibrated log-odds
  /// of the reference margin, or the reference margin itself).
  double explain_baseline(ExplainScale scale = ExplainScale::kCalibrated) const;

  /// Drift and consistency report of a batch: wrong column count and +-inf values are errors;
  /// values outside the training range, unseen categories and missing rates departing from
  /// training are drift signals. Never changes scores and never throws on data.
  ScoringInputReport check_inputs(RowBlock<double> X, const ScoringCheckOptions& o = {}) const;
  /// Monitoring checks of a batch with the default thresholds (calibrisk/monitor/monitor.hpp,
  /// docs/monitoring.md): the JSON document `calibrisk monitor --json` writes. `y`: X.rows
  /// outcomes (0/1) or nullptr; `status` (optional) receives "ok", "warn" or "alarm". Throws
  /// InvalidInput for labels other than 0/1.
  std::string monitor_json(RowBlock<double> X, const double* y = nullptr,
                           std::string* status = nullptr) const;

  /// Number of features a row must have, in schema order.
  std::ptrdiff_t n_features() const;
  /// Feature names in column order.
  const std::vector<std::string>& feature_names() const;
  /// Whether feature j is categorical (integer codes; unseen codes are scored as missing).
  bool is_categorical(std::ptrdiff_t j) const;
  /// The operating point: flag when p >= threshold().
  double threshold() const;
  /// The policy that chose the threshold, e.g. "min_recall=0.8" ("default" when none).
  const std::string& policy() const;
  /// A validation figure stored with the operating point (e.g. "precision", "recall"), NaN when
  /// absent.
  double operating_figure(const std::string& name) const;
  /// "logistic_regression" or "gradient_boosted_trees".
  const char* model_type() const;
  /// "none", "platt", "isotonic" or "beta".
  const char* calibrator_type() const;
  /// Version of the library that wrote the file.
  const std::string& library_version() const;

  /// The full pipeline (needs <calibrisk/artifact/pipeline.hpp> to use).
  const Pipeline& pipeline() const;

  struct Impl;  ///< Implementation (src/serve/serve.cpp).

 private:
  explicit ScoringPipeline(std::shared_ptr<const Impl> impl) noexcept : impl_(std::move(impl)) {}
  const Impl& impl(const char* where) const;

  std::shared_ptr<const Impl> impl_;
};

}  // namespace calibrisk
