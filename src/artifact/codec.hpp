// SPDX-License-Identifier: Apache-2.0
// Encoders and decoders of the model and calibrator sections (one per State struct). Decoding is
// split in two steps: `decode_*` checks structure and types (JSON paths in messages) and returns
// plain states; `build_*` runs each part's from_state (semantic validation) after the checksum.
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/calibration/multiclass.hpp>
#include <calibrisk/calibration/venn_abers.hpp>
#include <calibrisk/threshold/review.hpp>

#include "artifact/json_read.hpp"

#include <string>
#include <variant>

namespace calibrisk::detail::artifact {

struct DecodedModel {
  std::string path;  ///< "/model", for messages.
  std::variant<std::pair<LogisticRegressionState, LogisticRegressionParams>,
               std::pair<GBDTState, GBDTParams>>
      v;
};

struct DecodedCalibrator {
  std::string path;
  CalibratorInput input = CalibratorInput::kProbability;
  std::variant<std::monostate, std::pair<PlattState, PlattParams>,
               std::pair<IsotonicState, IsotonicParams>, std::pair<BetaState, BetaParams>>
      v;
};

json encode_model(const PipelineModel& m);
json encode_model(const LogisticRegression& m);
json encode_model(const GradientBoostedTrees& m);
json encode_calibrator(const PipelineCalibrator& c, CalibratorInput input);
/// The lowest format minor that can read the encoded model and calibrator: the highest
/// `ParamSpec::since_minor` of a written field (a field added later is written only when it is
/// not its default), and at least `floor_minor`.
int format_minor_needed(const PipelineModel& m, const PipelineCalibrator& c, int floor_minor);
DecodedModel decode_model(const Node& n);
DecodedCalibrator decode_calibrator(const Node& n);
PipelineModel build_model(DecodedModel d);
/// Sets `input` to the decoded calibrator input.
PipelineCalibrator build_calibrator(DecodedCalibrator d, CalibratorInput& input);

/// The Venn-ABERS section (pickles only; not part of the pipeline format): {"type": "venn_abers",
/// "state": {"x", "f0", "f1"}}. Decoding runs from_state (errors at the node's path).
json encode_venn_abers(const VennAbersCalibrator& c);
VennAbersCalibrator decode_venn_abers(const Node& n);

/// A review policy (format 1.5; docs/threshold.md "Saved review policy"): {"kind": "threshold",
/// "policy", "per_class", "thresholds"} | {"kind": "conformal", "policy", "method", "alpha",
/// "quantile", "n_classes", "n_calibration", "random_state"} | {"kind": "triage", "policy",
/// "t_low", "t_high"}. +inf thresholds / quantiles are written as "Infinity".
/// A K-class pipeline's optional top-level "review" (format 1.6) is this section.
json encode_review_policy(const ReviewPolicyRecord& r);
ReviewPolicyRecord decode_review_policy(const Node& n);
/// A multiclass calibrator's section (format 1.5): {"type": "temperature" | "one_vs_rest" |
/// "dirichlet", "params", "state"}. Decoding runs from_state (errors at the node's path).
json encode_multiclass_calibrator(const MulticlassCalibrator& c);
MulticlassCalibrator decode_multiclass_calibrator(const Node& n);

// ---- K-class pipelines (format 1.6; src/artifact/multiclass_codec.cpp) -----------------------

/// Whether a "/calibrator" node holds a multiclass calibrator (type "temperature", "one_vs_rest"
/// or "dirichlet") rather than a binary one.
bool is_multiclass_calibrator(const Node& calibrator);
/// Adds a K-class pipeline's sections to `doc`: "classes" (the K labels), "review" (when the
/// pipeline has a review policy) and, when calibrated, replaces "calibrator" by the multiclass
/// calibrator's section. Does nothing for a binary pipeline (its bytes stay those of 1.5).
void encode_multiclass_sections(const Pipeline& p, json& doc);
/// Reads the optional "classes" and "review" members of the document and a multiclass
/// "/calibrator" into `parts` (the caller has checked that the version allows them). Throws
/// ModelFormatError naming the JSON path.
void decode_multiclass_sections(const Node& root, PipelineParts& parts);

}  // namespace calibrisk::detail::artifact
