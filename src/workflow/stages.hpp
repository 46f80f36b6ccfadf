// SPDX-License-Identifier: Apache-2.0
// Internal helpers of train_pipeline shared between train.cpp and provenance.cpp.
#pragma once

#include <calibrisk/workflow/train.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::detail {

/// Fewest rows from which a text column with a different value on most rows is taken for an
/// identifier (note_inferred_categorical), as identifier_like_columns does for numbers.
inline constexpr Index kMinRowsForIdentifierCheck = 100;

/// TrainObserver calls that tolerate "no observer" (the stages of train.cpp and
/// train_multiclass.cpp).
struct Stages {
  TrainObserver* o;
  void begin(const std::string& s) const {
    if (o) o->begin(s);
  }
  void end(const std::string& d = {}) const {
    if (o) o->end(d);
  }
  void note(const std::string& s) const {
    if (o) o->note(s);
  }
  void warn(const std::string& s) const {
    if (o) o->warn(s);
  }
};

/// Adds to `notes` (shown as a warning by the CLI and Python) the feature columns read as
/// categorical because they hold text (`Column::inferred`, ColumnRoles::infer_categorical), with
/// their level counts; nothing when there are none. Throws InvalidInput naming an inferred
/// column whose labels are all ISO 8601 dates (a time column), or with more levels than half the
/// rows (from kMinRowsForIdentifierCheck rows: an identifier or free text).
void note_inferred_categorical(const Table& table, const std::vector<std::string>& features,
                               std::vector<std::string>& notes);

/// The calendar split of the rows (spec.split_rule == kCalendar; `time` the time column, or null
/// for the InvalidParams naming --time-column), its patient counts as notes, and every part
/// checked for kMinPartRows rows (InvalidInput naming the part and the cuts).
TimeGroupSplit calendar_split(const TrainSpec& spec, const Column* time,
                              const std::vector<double>& group, const Stages& st);

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

/// Positions (into `train`) of the rows that fit the trees and of the early-stopping validation
/// part, as the fit stage carves them (the latest-entering groups holding `fraction` of the rows;
/// `groups` receives their count), or nullopt when the part cannot give one.
std::optional<std::pair<std::vector<Index>, std::vector<Index>>> early_stopping_rows(
    const Table& table, const ColumnRoles& roles, const TrainPart& train, double fraction,
    Index& groups);

/// The model of `spec` fitted on `train` exactly as the fit stage fits it (the declared
/// categorical features, the trees' early stopping on the latest groups of `train`); `rec` says
/// what early stopping did. `spec.model` is lr or gbdt. Used by the model choice (kAuto).
PipelineModel fit_model(const Table& table, const TrainSpec& spec, const TrainPart& train,
                        const std::vector<std::string>& features,
                        const std::vector<int>& categorical, EarlyStoppingRecord& rec);

/// `spec` itself for an explicit model; for ModelKind::kAuto, select_model on out.train (with
/// its progress lines) and the winner's spec, recorded in out.selection (model_select.cpp).
TrainSpec resolve_model(const Table& table, const TrainSpec& spec, TrainResult& out,
                        TrainObserver* observer);

/// ModelKind::kAuto with ModelSelectionSpec::calibration (and a choice that ran): sets
/// fit_spec.calibration to the method chosen on out.calibration's model probabilities
/// (cross-fitted log loss; model_select.cpp), recorded in out.selection. Else leaves it.
void resolve_calibration(TrainSpec& fit_spec, const TrainSpec& spec, TrainResult& out);

/// The one-standard-error rule on the per-row losses `loss[c][i]` of candidates c (simplest first)
/// on the same rows: `mean[c]` their means, `best` the lowest (the first of equal means), `se[c]`
/// the standard error of the mean per-row difference of c to `best` (0 for `best`), `chosen` the
/// first candidate whose mean exceeds the lowest by at most its standard error (else `best`).
/// Used by the model and the calibration choice (model_select.cpp).
struct OneSe {
  std::vector<double> mean, se;
  std::size_t best = 0, chosen = 0;
};
OneSe one_standard_error(const std::vector<std::vector<double>>& loss);

/// The candidates of ModelKind::kAuto in their tie-breaking order, each an explicit spec: "lr",
/// "gbdt", under early stopping (`stops_early`) "gbdt_leaf20" and "gbdt_wide", then
/// "gbdt_additive", as spec.selection allows (model_select.cpp; docs/defaults.md).
std::vector<std::pair<std::string, TrainSpec>> selection_candidates(const TrainSpec& spec,
                                                                    bool stops_early);

/// Throws InvalidParams when a field of ModelSelectionSpec is out of range.
void validate_selection(const ModelSelectionSpec& s);

/// selection.* provenance entries of ModelKind::kAuto (none for an explicit model).
void add_model_selection(std::vector<std::pair<std::string, std::string>>& P,
                         const TrainResult& out);
// ---- multiclass (src/workflow/train_multiclass.cpp) -------------------------------------------

/// Whether `spec` trains a multiclass model on `table` (TaskKind; kAuto: the label column holds
/// more than two distinct values).
bool is_multiclass_task(const Table& table, const TrainSpec& spec);
/// train_pipeline for a multiclass label: labels -> split -> multinomial LR -> multiclass
/// calibrator -> review threshold -> K-class Pipeline.
TrainResult train_multiclass(const Table& table, const TrainSpec& spec, TrainObserver* observer);
/// train_multiclass on a split computed by the caller (`split`; null: the spec's split), as
/// train_on_split is for a binary label (rolling-origin validation).
TrainResult train_multiclass_on_split(const Table& table, const TrainSpec& spec,
                                      const TimeGroupSplit* split, TrainObserver* observer);
/// The K-class Pipeline's schema and provenance (provenance.cpp); sets out.pipeline (without a
/// review policy) and out.categories.
void assemble_multiclass_pipeline(const Table& table, const TrainSpec& spec, PipelineModel model,
                                  std::optional<MulticlassCalibrator> calibrator, TrainResult& out,
                                  CategoricalExpansion expansion = {});
/// The softmax trees (K = n_classes) fitted on `train` as the binary fit stage fits trees
/// (declared categorical features, early stopping on the latest groups of `train`; train.cpp).
GradientBoostedTrees fit_class_trees(const Table& table, const TrainSpec& spec,
                                     const TrainPart& train, EarlyStoppingRecord& rec,
                                     const std::vector<std::string>& features, int n_classes);
/// Records the review figures of the calibration and test parts in the operating point of
/// out.pipeline (policy and figures; the thresholds are in its review policy).
void finish_multiclass_record(const TrainSpec& spec, TrainResult& out);

}  // namespace calibrisk::detail
