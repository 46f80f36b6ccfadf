// SPDX-License-Identifier: Apache-2.0
// The multiclass side of `calibrisk train`, `predict` and `evaluate` (docs/cli.md "Multiclass
// labels"): the review-queue --policy forms, reading a text label, the task checks of the flags,
// and the K-class output columns.
#pragma once

#include "cli/commands.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "cli/train_flow.hpp"

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/threshold/review.hpp>
#include <calibrisk/workflow/train.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// Whether --policy names a review-queue policy: keys min-accuracy, max-review-rate, confidence,
/// per-class (underscores accepted), or conformal (with method).
bool is_review_policy(const std::string& text);
/// The conformal review policy "conformal=COVERAGE[,method=lac|aps]" (coverage in (0, 1)), or
/// nullopt when --policy has no conformal key. Throws UsageError on a bad value or another key.
std::optional<TrainSpec::ConformalReview> parse_conformal_policy(const std::string& text);
/// Parses a review-queue --policy: "min-accuracy=A" and/or "max-review-rate=R" (each in [0, 1]),
/// optionally "confidence=C" (in (0, 1): the accuracy floor holds on the Clopper-Pearson lower
/// bound) and "per-class=true" (one threshold per predicted class), joined by ','. Throws
/// UsageError.
ReviewOptions parse_review_policy(const std::string& text);

/// Reads the training CSV. The label is read as numbers first (the binary path, unchanged); for
/// --task auto or multiclass, a label that is not numeric is read again as text labels (a
/// multiclass task when it holds more than two of them; otherwise the first error stands).
Table read_training_table(const std::string& path, const TrainConfig& cfg,
                          const std::vector<std::string>& header, Progress& progress);

/// Fills the multiclass fields of `spec` from the flags once the table is known, and checks that
/// --calibration and --policy fit the task (UsageError naming the flag and the accepted forms).
void apply_task_flags(const Table& table, const TrainConfig& cfg, TrainSpec& spec);

/// `train`'s result lines for a multiclass model.
void print_multiclass_summary(const TrainOptions& o, const TrainOutcome& r, std::ostream& out);

/// `predict` on a K-class pipeline: adds p_<label> (one column per class, in class order), label
/// and route ("auto" / "review") to `result`, and with explain > 0 the top features of the
/// predicted class (contributions to its softmax logit; docs/serving.md). Returns the rows sent to
/// review.
Index add_class_predictions(const Pipeline& pipe, const RowMatrixXd& X, Index explain,
                            const std::vector<std::string>& features, Table& result);

/// `evaluate` on a K-class pipeline: checks the label column against the model's classes (a label
/// not seen in training is an error naming it and the row), scores, prints accuracy, log loss and
/// the review queue's figures.
/// the review queue's figures, and writes the K-class report (include/calibrisk/report/
/// multiclass.hpp) to `html` and, when given, `json`, then commits `outputs`.
/// The class index of every row's label (column `label`, read as text) among the pipeline's
/// classes. Throws InvalidInput naming the row of a missing label or of a class the model never
/// saw.
std::vector<double> class_indices(const Table& table, const std::string& label,
                                  const Pipeline& pipe);

int evaluate_multiclass(const Pipeline& pipe, const EvaluateOptions& o, Progress& progress,
                        std::ostream& out, OutputSet& outputs, std::ostream& html,
                        std::ostream* json);

/// Writes the K-class evaluation report of `pipe` on rows X with class indices y and calibrated
/// probabilities P (the uncalibrated ones are the softmax of the model's raw scores when the
/// pipeline has a calibrator): the pipeline's saved review policy is re-measured on these rows.
/// Either stream may be null.
void write_multiclass_reports(const Pipeline& pipe, const std::vector<double>& y,
                              const RowMatrixXd& X, const RowMatrixXd& P, const std::string& title,
                              std::uint64_t seed, std::ostream* html, std::ostream* json,
                              Progress& progress);

}  // namespace calibrisk::cli
