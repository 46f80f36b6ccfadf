// SPDX-License-Identifier: Apache-2.0
/// @file io.hpp
/// The versioned pipeline file format (one JSON document; see docs/artifact.md for every field):
/// save, load and the training-data fingerprint. nlohmann-json is used only inside src/artifact/.
///
/// Example:
/// @code
///   calibrisk::save(pipe, "readmission.calibrisk.json");
///   calibrisk::Pipeline loaded = calibrisk::load("readmission.calibrisk.json");  //
///   ModelFormatError
/// @endcode
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/calibration/multiclass.hpp>
#include <calibrisk/core/matrix.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace calibrisk {

class VennAbersCalibrator;
struct ReviewPolicyRecord;

/// Format version written by this library, "MAJOR.MINOR".
///
/// Compatibility note (the rules readers and writers follow):
/// - MAJOR changes when a reader of the previous major could misread a file (a field's meaning,
///   encoding or the scoring rule changes). A reader rejects files of a newer MAJOR.
/// - MINOR changes when fields are only added. A reader accepts files of an older or equal MINOR
///   strictly (every field known and required, no extra field) and files of a newer MINOR of its
///   MAJOR leniently: fields it does not know are ignored (they are still covered by the checksum).
/// - History: 1.0 — first format (schema, LR / GBDT model, none / Platt / isotonic / beta
///   calibrator, threshold, provenance, SHA-256 checksum). 1.1 — optional Ed25519 `signature`;
///   `n_threads` (an execution setting) is no longer written and is ignored when present.
///   1.2 — optional GBDT `max_delta_step` (written only when not 0). 1.3 — optional top-level
///   `reference` (training distributions for `monitor`; written only when the pipeline has one).
///   1.4 — logistic regression's optional `categorical_features` / `min_category_count` params
///   and the categorical expansion in its state (written only when the model has categorical
///   features).
///   Also 1.4 — GBDT categorical splits: params `categorical_features`, `min_data_per_category`,
///   `cat_smooth`, `cat_l2`, `max_cat_threshold`, `max_cat_to_onehot` (each only when not its
///   default), per-tree `cat_begin` / `cat_end` / `cat_bits` (only in trees with a category-set
///   split) and the ensemble's `cardinality` (only when some feature is categorical).
///   Also 1.4 — optional schema feature members `labels` and `code_hierarchy` (the level table of a
///   labelled categorical feature; written only for features that have labels).
///   1.5 — GBDT target-statistic params `cat_encoding`, `cat_ts_min_levels`, `cat_ts_folds`,
///   `cat_ts_smoothing`, `cat_ts_ordinal`, `cat_ts_infer_hierarchy` (each only when not its
///   default; the trees they grow are plain category-set nodes of 1.4).
///   1.5 — multiclass calibrator sections, type "temperature" (inverse temperature `beta`),
///   "one_vs_rest" (`method`, one binary calibrator state per class) and "dirichlet" (K x K `coef`,
///   K `intercept`), each with `params`, `input`, `eps` and `n_classes`; binary files unchanged.
///   1.5 — logistic regression's multinomial state `class_coef` / `class_intercept` (K >= 3
///   classes) and ClassWeight's `per_class` weights (each written only when present).
///   1.6 — K-class pipelines: top-level `classes` (the K labels) and optional `review` (the
///   review policy), and a multiclass calibrator section as `calibrator`; written only for a
///   model with K >= 3 classes (binary files unchanged).
///   1.6 (also) — multiclass gradient-boosted trees (K >= 3): the model state holds `n_classes`,
///   `base_scores` (K) and `class_trees` (K arrays of trees, grouped by class) instead of
///   `base_score` / `trees` (docs/trees.md "Multiclass"); binary GBDT files unchanged.
///   1.7 — K-class pipelines: optional top-level `encoding` (the reference coding of categorical
///   features before a multinomial logistic regression: `n_inputs`, `columns`, `levels`,
///   `reference`, `pooled`, `missing`; artifact/expansion.hpp), written only when present; and
///   the monitoring `reference` of K-class pipelines (its score is the top-label confidence on
///   the calibration part and its `alert_rate` the review policy's review rate there).
///   1.8 — logistic regression's optional `penalty_scale` param ("standardized"; written only when
///   not its default "raw", which files without it mean). `calibrisk train` writes it by default.
/// - A file is stamped with the lowest minor that can read it: "1.2" only when it carries a
///   field added in 1.2, otherwise "1.1", so a model that keeps every default serialises to the
///   bytes of earlier releases.
inline constexpr int kFormatVersionMajor = 1;
/// The minor written for a file that uses no field added after 1.1.
inline constexpr int kFormatVersionMinor = 1;
/// The newest minor this library reads strictly and writes (when a file needs it).
inline constexpr int kFormatVersionMinorNewest = 8;
/// The minor that added the optional `reference` section (MonitoringReference).
inline constexpr int kFormatVersionMinorReference = 3;
/// The minor that added category labels (and code hierarchies) to the schema's features.
inline constexpr int kFormatVersionMinorLabels = 4;
/// The minor that added K-class pipelines (`classes`, `review`, a multiclass `calibrator`).
inline constexpr int kFormatVersionMinorMulticlass = 6;
/// The minor that added the categorical expansion of K-class logistic regressions (`encoding`)
/// and the monitoring reference of K-class pipelines.
inline constexpr int kFormatVersionMinorExpansion = 7;
/// The `format` field every pipeline file carries.
inline constexpr const char* kFormatName = "calibrisk-pipeline";

/// Options of `load`.
struct LoadOptions {
  /// Verify the SHA-256 checksum (disable only to inspect a hand-edited file; the structural and
  /// semantic validation still runs). The checksum detects accidents (truncation, bit rot, a
  /// careless edit); anyone can recompute it, so it proves nothing about who wrote the file.
  bool verify_checksum = true;
  /// Refuse files that are unsigned or whose Ed25519 signature does not verify with
  /// `public_key_file` (see `sign`). Setting `public_key_file` turns this on.
  bool require_signature = false;
  /// Path of a public key file written by `generate_key_pair` (empty = none).
  std::string public_key_file;
  /// Largest file accepted, in bytes (the loader's memory is bounded by a small multiple of it).
  std::size_t max_bytes = std::size_t(1) << 30;
  /// Deepest JSON nesting accepted (a valid file nests 6 levels; the limit stops `[[[[...`
  /// amplification before any memory is spent on it).
  int max_json_depth = 64;
  /// Deepest tree accepted (root = depth 0). Trained trees are far shallower; TreeSHAP and
  /// prediction cost grow with depth.
  int max_tree_depth = 1024;
  /// Most nodes accepted in one tree.
  std::int64_t max_tree_nodes = std::int64_t(1) << 20;
};

/// Options of `to_string` / `save`.
struct SaveOptions {
  /// Path of a secret key file written by `generate_key_pair`: when non-empty the document gets
  /// an Ed25519 `signature` over its canonical content (see docs/artifact.md).
  std::string signing_key_file;
};

/// The pipeline as a JSON document (UTF-8, indented, arrays of numbers on one line), including
/// the checksum. Deterministic: the same pipeline gives the same bytes.
/// Throws InvalidInput when a string (feature name, parameter) is not valid UTF-8.
/// Throws FileError / InvalidInput when `options.signing_key_file` cannot be read or is not a
/// secret key file.
std::string to_string(const Pipeline& pipeline, const SaveOptions& options = {});

/// Writes `to_string(pipeline, options)` to `path` (through a temporary file renamed into place,
/// so a reader never sees a half-written file). Throws FileError when the file cannot be written
/// (the message names the path and the operating system's reason).
void save(const Pipeline& pipeline, const std::string& path, const SaveOptions& options = {});

/// Writes a new Ed25519 key pair (libsodium): the secret key to `secret_key_file` (created with
/// permissions 0600, never overwriting an existing file) and the public key to
/// `public_key_file` (0644). Keys are text files; keep the secret one private. Throws FileError.
void generate_key_pair(const std::string& secret_key_file, const std::string& public_key_file);

/// Result of `verify_signature`.
struct SignatureCheck {
  bool signed_file = false;  ///< The document has a `signature`.
  bool valid = false;        ///< It verifies with the given public key.
  std::string key_id;        ///< Key id stored in the document (16 hex digits), if signed.
  std::string message;       ///< One line saying which.
};

/// Checks the signature of a pipeline document against a public key file without building the
/// pipeline (the document must still load: every check of `load_from_string` runs). Throws
/// ModelFormatError for a document that does not load and FileError / InvalidInput for an
/// unreadable or malformed key file.
SignatureCheck verify_signature(std::string_view text, const std::string& public_key_file);

/// Parses and fully validates a pipeline document. Throws ModelFormatError naming the JSON path
/// (e.g. "/model/state/trees/3/left/5") or byte offset of the first problem: syntax errors and
/// truncation, a wrong checksum, missing / extra fields, wrong types, a newer major format
/// version, inconsistent sizes, invalid trees (children out of range, cycles), NaN thresholds.
/// With a public key (options.require_signature), also an unsigned file or a signature that
/// does not verify. Duplicate keys, nesting deeper than options.max_json_depth and trees deeper
/// or larger than the options' limits are rejected.
/// Never crashes, hangs or allocates more than a small multiple of the text length.
/// Complexity O(text length).
Pipeline load_from_string(std::string_view text, const LoadOptions& options = {});

/// Reads `path` and calls load_from_string. Throws ModelFormatError when the file cannot be read,
/// is a directory or is larger than options.max_bytes.
Pipeline load(const std::string& path, const LoadOptions& options = {});

// ---- the codec: one piece of saved state <-> the JSON text of its section
// ------------------------
//
// The single encoder/decoder of every piece of saved state (docs/artifact.md, "One codec"). Each
// `encode_*` returns the compact JSON text (keys sorted, shortest round-trip numbers, NaN and
// infinities as strings) of exactly the section a pipeline file holds for that part: the bytes
// equal the canonical serialisation of that section of `to_string`'s document. Each `decode_*`
// runs the checks `load_from_string` runs on that section (types, exact field sets, sizes,
// LoadOptions limits, duplicate keys, each part's from_state) and throws ModelFormatError naming
// the JSON path as it appears in a pipeline file (e.g. "/model/state/trees/3/left/5"); hostile
// bytes never crash. `options.verify_checksum` and the signature options do not apply (a section
// has neither). The pipeline itself is encoded by `to_string` and decoded by `load_from_string`.
// Python pickles every estimator through these functions.

/// The "/model" section of a fitted model. Throws NotFitted for an unfitted model.
std::string encode_model(const LogisticRegression& model);
std::string encode_model(const GradientBoostedTrees& model);
std::string encode_model(const PipelineModel& model);
/// Decodes a "/model" section (either model type).
PipelineModel decode_model(std::string_view text, const LoadOptions& options = {});

/// The "/calibrator" section: `input` is what the pipeline feeds the calibrator (the file's
/// `input` field; the "none" calibrator has none). Throws NotFitted for an unfitted calibrator.
std::string encode_calibrator(const PipelineCalibrator& calibrator,
                              CalibratorInput input = CalibratorInput::kProbability);
/// Decodes a "/calibrator" section; stores its `input` in `*input` when given.
PipelineCalibrator decode_calibrator(std::string_view text, CalibratorInput* input = nullptr,
                                     const LoadOptions& options = {});

/// The "/threshold" section (the operating point). Throws InvalidInput when the policy or a
/// figure name is not valid UTF-8.
std::string encode_operating_point(const OperatingPointRecord& operating_point);
OperatingPointRecord decode_operating_point(std::string_view text, const LoadOptions& options = {});

/// A fitted Venn-ABERS calibrator (not part of the pipeline format: its section, type
/// "venn_abers", exists only in pickles; paths are named "/calibrator/...").
std::string encode_venn_abers(const VennAbersCalibrator& calibrator);
VennAbersCalibrator decode_venn_abers(std::string_view text, const LoadOptions& options = {});

/// A review policy (threshold(s), conformal sets or triage band; threshold/review.hpp), the
/// section a model file will carry from format 1.5; paths are named "/review/...".
std::string encode_review_policy(const ReviewPolicyRecord& policy);
ReviewPolicyRecord decode_review_policy(std::string_view text, const LoadOptions& options = {});
/// A fitted multiclass calibrator (format 1.5; types "temperature", "one_vs_rest", "dirichlet",
/// paths named "/calibrator/..."). Pickles use it today; a K-class pipeline's calibrator section
/// is the same object.
std::string encode_multiclass_calibrator(const MulticlassCalibrator& calibrator);
MulticlassCalibrator decode_multiclass_calibrator(std::string_view text,
                                                  const LoadOptions& options = {});

/// Fingerprint of a training table: rows, columns, prevalence of y == 1 and the SHA-256 of
/// (rows, cols as little-endian uint64; every X value as float64 little-endian in row-major order,
/// with every NaN written as the canonical quiet NaN; then every label as float64). The hash
/// does not depend on storage order or float32/float64 storage of the same values.
/// `y` may be empty (prevalence NaN, labels not hashed). Throws InvalidInput when y has a length
/// other than 0 or X.rows().
DataFingerprint fingerprint_data(const FeatureMatrix& X, VectorView<const double> y = {});

/// SHA-256 (FIPS 180-4) of bytes as 64 lower-case hex digits (the checksum algorithm).
std::string sha256_hex(std::string_view bytes);

}  // namespace calibrisk
