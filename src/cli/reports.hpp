// SPDX-License-Identifier: Apache-2.0
// The evaluation report of a scored, labelled part (test part of `train`, the file of `evaluate`,
// each model of `demo`): what the command line hands to the report module.
#pragma once

#include "cli/progress.hpp"

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/matrix.hpp>

#include <Eigen/Core>

#include <string>
#include <utility>
#include <vector>

namespace calibrisk::cli {

/// A labelled, scored table.
struct EvaluationData {
  std::string title;        ///< e.g. "gbdt + isotonic: test part of cohort.csv"
  std::string source;       ///< file the rows came from
  std::vector<double> y;    ///< labels 0/1
  Eigen::VectorXd p_model;  ///< the model's probability (before calibration)
  Eigen::VectorXd p;        ///< the pipeline's probability (after calibration)
  const Pipeline* pipeline = nullptr;
  RowMatrixXd X;  ///< the features (schema order), for the data summary
  std::vector<std::string> features;
  /// Subgroup columns: name -> one label per row ("" = missing).
  std::vector<std::pair<std::string, std::vector<std::string>>> subgroups;
  std::vector<double> time;   ///< per row, or empty
  bool time_is_days = true;   ///< ISO dates (days since 1970) or plain numbers
  std::vector<double> group;  ///< patient per row, or empty
  std::uint64_t seed = 0;     ///< bootstrap seed
};

/// What the command line prints or tests read back from a report.
struct EvaluationSummary {
  std::vector<std::string> flagged_subgroups;  ///< "site=C: calibration ..." lines
};

/// Builds the evaluation and writes the HTML page and/or the JSON document to the given streams
/// (either may be null; the caller's OutputSet commits them with the command's other outputs).
/// Returns the flagged subgroups.
EvaluationSummary write_reports(const EvaluationData& data, std::ostream* html, std::ostream* json,
                                Progress& progress);

}  // namespace calibrisk::cli
