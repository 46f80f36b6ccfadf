// SPDX-License-Identifier: Apache-2.0
// The training flow shared by `calibrisk train` and `calibrisk demo`: split, fit the model on the
// training part, the calibrator and the threshold on the calibration part, score the test part,
// and assemble the Pipeline with its provenance.
#pragma once

#include "cli/data.hpp"
#include "cli/options.hpp"
#include "cli/progress.hpp"
#include "cli/split.hpp"

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/threshold/select.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// What to train (the parsed flags of `train`).
struct TrainConfig {
  ColumnRoles roles;
  std::string model = "gbdt";            ///< lr | gbdt
  std::string calibration = "isotonic";  ///< platt | isotonic | beta | none
  PolicySpec policy;
  std::vector<std::string> params;  ///< --param key=value
  SplitFractions split;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string source;  ///< the data file's name, for provenance
};

/// One part of the split with its rows, data and scores.
struct PartData {
  std::vector<Index> rows;  ///< row indices into the table, input order
  RowMatrixXd X;
  std::vector<double> y;
  Eigen::VectorXd p_model;  ///< the model's (uncalibrated) probability
  Eigen::VectorXd p;        ///< the pipeline's (calibrated) probability
};

/// Everything a training run produced.
struct TrainOutcome {
  std::vector<std::string> features;
  Split split;
  PartData train, calibration, test;
  OperatingPoint op_calibration;  ///< chosen on the calibration part
  OperatingPoint op_test;         ///< the same threshold applied to the test part
  std::map<std::string, std::vector<std::string>> categories;  ///< feature category labels
  std::optional<Pipeline> pipeline;
  std::vector<std::string> notes;  ///< non-fatal remarks of the fits (printed as warnings)
  double seconds_fit = 0.0;        ///< model fit time
};

/// Runs the flow on a table that `training_read_options` produced. Throws UsageError (bad
/// --param / policy), InvalidParams (a parameter out of range), InvalidInput (data).
TrainOutcome train_on_table(const Table& table, const TrainConfig& cfg, Progress& progress);

/// The ThresholdPolicy of a parsed --policy.
ThresholdPolicy to_threshold_policy(const PolicySpec& spec);

/// The provenance key under which the category labels of feature `column` are stored
/// ("data.categories.<column>", a JSON array of strings).
std::string categories_key(const std::string& column);
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
