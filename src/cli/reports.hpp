// SPDX-License-Identifier: Apache-2.0
// The evaluation report of a scored, labelled part (test part of `train`, the file of `evaluate`,
// each model of `demo`): what the command line hands to the report module.
#pragma once

#include "cli/progress.hpp"

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/table.hpp>

#include <Eigen/Core>

#include <string>
#include <utility>
#include <vector>

namespace calibrisk::cli {

/// A subgroup variable of the report: one column, or the intersection of several (`parts`, each
/// a column name with one label per row, "" = missing).
struct SubgroupData {
  std::string name;  ///< "site", or "age_band*sex" for an intersection
  std::vector<std::pair<std::string, std::vector<std::string>>> parts;
  SubgroupData(std::string column, std::vector<std::string> labels)
      : name(column), parts{{std::move(column), std::move(labels)}} {}
  SubgroupData(std::string n, std::vector<std::pair<std::string, std::vector<std::string>>> p)
      : name(std::move(n)), parts(std::move(p)) {}
};

/// The subgroup variable of a `--subgroup` spec over `rows` of `table`: a column (labels as
/// `subgroup_labels` gives them), or "a*b" for the intersection of columns a and b (an exact
/// column name wins). Throws InvalidInput naming the flag and an unknown column.
SubgroupData subgroup_data(const Table& table, const std::string& spec,
                           const std::vector<Index>& rows);

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
  /// Subgroup variables: columns and intersections, one label per row ("" = missing).
  std::vector<SubgroupData> subgroups;
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
