// SPDX-License-Identifier: Apache-2.0
// Internal helpers of train_pipeline shared between train.cpp and provenance.cpp.
#pragma once

#include <calibrisk/workflow/train.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::detail {

/// "2024-01-01 to 2024-03-31" / "rows 1-600 of the file" / "3 to 17": the time window of a part.
std::string part_window(const PartSummary& s, const Column* time);

/// fit.* provenance entries of the model-fit stage: whether early stopping ran, why, the rows it
/// fitted on and held out, the rounds run and kept (boosted trees only).
void add_early_stopping(std::vector<std::pair<std::string, std::string>>& P, const TrainSpec& spec,
                        const TrainResult& out);

/// Builds the schema, the operating-point record and the provenance, and sets out.pipeline and
/// out.categories.
void assemble_pipeline(const Table& table, const TrainSpec& spec, PipelineModel model,
                       PipelineCalibrator calibrator, TrainResult& out);

/// train_pipeline on a split computed by the caller (rolling-origin validation): the same
/// stages after the split, with the same checks (both classes in every part).
TrainResult train_on_split(const Table& table, const TrainSpec& spec, const TimeGroupSplit& split,
                           TrainObserver* observer = nullptr);

// ---- multiclass (src/workflow/train_multiclass.cpp) -------------------------------------------

/// Whether `spec` trains a multiclass model on `table` (TaskKind; kAuto: the label column holds
/// more than two distinct values).
bool is_multiclass_task(const Table& table, const TrainSpec& spec);
/// train_pipeline for a multiclass label: labels -> split -> multinomial LR -> multiclass
/// calibrator -> review threshold -> K-class Pipeline.
TrainResult train_multiclass(const Table& table, const TrainSpec& spec, TrainObserver* observer);
/// The K-class Pipeline's schema and provenance (provenance.cpp); sets out.pipeline (without a
/// review policy) and out.categories.
void assemble_multiclass_pipeline(const Table& table, const TrainSpec& spec,
                                  LogisticRegression model,
                                  std::optional<MulticlassCalibrator> calibrator, TrainResult& out);
/// Records the review figures of the calibration and test parts in the operating point of
/// out.pipeline (policy and figures; the thresholds are in its review policy).
void finish_multiclass_record(const TrainSpec& spec, TrainResult& out);

}  // namespace calibrisk::detail
