// SPDX-License-Identifier: Apache-2.0
// `calibrisk train` and `calibrisk demo` on top of the library's workflow (train_pipeline in
// <calibrisk/workflow/train.hpp>): the parsed flags become a TrainSpec, the stages are printed as
// progress lines. Also the helpers that read what `train` recorded in a model file.
#pragma once

#include "cli/commands.hpp"
#include "cli/data.hpp"
#include "cli/options.hpp"
#include "cli/progress.hpp"

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/workflow/train.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// The workflow's stages as progress lines (one timed step at a time); used by train and validate.
class ProgressObserver : public TrainObserver {
 public:
  explicit ProgressObserver(Progress& p) : p_(p) {}
  void begin(const std::string& stage) override { step_.emplace(p_.step(stage)); }
  void end(const std::string& detail) override {
    if (step_) step_->done(detail);
    step_.reset();
  }
  void note(const std::string& message) override { p_.note(message); }
  void warn(const std::string& message) override { p_.warn(message); }

 private:
  Progress& p_;
  std::optional<Progress::Step> step_;
};

/// What to train (the parsed flags of `train`).
struct TrainConfig {
  ColumnRoles roles;
  std::string model = "auto";            ///< auto | lr | gbdt
  std::string calibration = "isotonic";  ///< platt | isotonic | beta | none
  ThresholdPolicy policy = policy::min_recall(0.8);
  std::vector<std::string> params;  ///< --param key=value
  // Multiclass (cli/multiclass.hpp): the task and the flags as given, checked once the label is
  // read (apply_task_flags).
  std::string task = "auto";  ///< auto | binary | multiclass
  std::string policy_text;    ///< --policy as given (a binary or a review-queue policy)
  bool calibration_given = false;
  bool policy_given = false;
  SplitFractions split;
  SplitRule split_rule = SplitRule::kEntry;
  CalendarSpec calendar;  ///< when split_rule == kCalendar
  std::uint64_t seed = 0;
  int threads = 0;
  std::string source;  ///< the data file's name, for provenance
};

/// The parsed flags of `train` (shared by `validate`): usage errors before any data is read.
TrainConfig train_config(const TrainOptions& o, const CommonOptions& c);

/// The flags as a TrainSpec: --param applied to the model's Params, --threads and --seed as
/// n_threads and random_state unless --param sets them. Throws UsageError (bad --model,
/// --calibration or --param) and InvalidParams (a parameter out of range).
TrainSpec train_spec(const TrainConfig& cfg);

/// One part of the split with its rows, data and scores; everything a training run produced.
using PartData = TrainPart;
using TrainOutcome = TrainResult;

/// train_pipeline(table, train_spec(cfg)) with its stages printed through `progress`.
TrainOutcome train_on_table(const Table& table, const TrainConfig& cfg, Progress& progress);

/// The category labels recorded in a pipeline's provenance, keyed by column.
std::map<std::string, std::vector<std::string>> recorded_categories(const Pipeline& pipe);
/// A provenance parameter of the pipeline, or "" when absent.
std::string provenance_value(const Pipeline& pipe, const std::string& key);

/// Discrimination and calibration figures of probabilities p against labels y.
struct Figures {
  double auc = 0.0, average_precision = 0.0, log_loss = 0.0, brier = 0.0, ece = 0.0;
};
Figures compute_figures(const std::vector<double>& y, const Eigen::VectorXd& p);

}  // namespace calibrisk::cli
