// SPDX-License-Identifier: Apache-2.0
// Internal helpers of train_pipeline shared between train.cpp and provenance.cpp.
#pragma once

#include <calibrisk/workflow/train.hpp>

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

}  // namespace calibrisk::detail
