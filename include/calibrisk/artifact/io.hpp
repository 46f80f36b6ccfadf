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
#include <calibrisk/core/matrix.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace calibrisk {

/// Format version written by this library, "MAJOR.MINOR".
///
/// Compatibility note (the rules readers and writers follow):
/// - MAJOR changes when a reader of the previous major could misread a file (a field's meaning,
///   encoding or the scoring rule changes). A reader rejects files of a newer MAJOR.
/// - MINOR changes when fields are only added. A reader accepts files of an older or equal MINOR
///   strictly (every field known and required, no extra field) and files of a newer MINOR of its
///   MAJOR leniently: fields it does not know are ignored (they are still covered by the checksum).
/// - History: 1.0 — first format (schema, LR / GBDT model, none / Platt / isotonic / beta
///   calibrator, threshold, provenance, SHA-256 checksum).
inline constexpr int kFormatVersionMajor = 1;
inline constexpr int kFormatVersionMinor = 0;
/// The `format` field every pipeline file carries.
inline constexpr const char* kFormatName = "calibrisk-pipeline";

/// Options of `load`.
struct LoadOptions {
  /// Verify the SHA-256 checksum (disable only to inspect a hand-edited file; the structural and
  /// semantic validation still runs).
  bool verify_checksum = true;
  /// Largest file accepted, in bytes (the loader's memory is bounded by a small multiple of it).
  std::size_t max_bytes = std::size_t(1) << 30;
};

/// The pipeline as a JSON document (UTF-8, indented, arrays of numbers on one line), including
/// the checksum. Deterministic: the same pipeline gives the same bytes.
/// Throws InvalidInput when a string (feature name, parameter) is not valid UTF-8.
std::string to_string(const Pipeline& pipeline);

/// Writes `to_string(pipeline)` to `path` (through a temporary file renamed into place, so a
/// reader never sees a half-written file). Throws Error when the file cannot be written.
void save(const Pipeline& pipeline, const std::string& path);

/// Parses and fully validates a pipeline document. Throws ModelFormatError naming the JSON path
/// (e.g. "/model/state/trees/3/left/5") or byte offset of the first problem: syntax errors and
/// truncation, a wrong checksum, missing / extra fields, wrong types, a newer major format
/// version, inconsistent sizes, invalid trees (children out of range, cycles), NaN thresholds.
/// Never crashes, hangs or allocates more than a small multiple of the text length.
/// Complexity O(text length).
Pipeline load_from_string(std::string_view text, const LoadOptions& options = {});

/// Reads `path` and calls load_from_string. Throws ModelFormatError when the file cannot be read
/// or is larger than options.max_bytes.
Pipeline load(const std::string& path, const LoadOptions& options = {});

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
