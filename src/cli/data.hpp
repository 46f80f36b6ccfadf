// SPDX-License-Identifier: Apache-2.0
// From CSV files to what the models need: column roles (label, group, time, features), the
// feature matrix, labels, and the category labels recorded in a model file.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/table.hpp>

#include <map>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// Reads a CSV with `read_csv`, adding to a data error the command-line fix (--categorical /
/// --drop) when a column holds text.
Table read_table(const std::string& path, const CsvReadOptions& options);

/// Which columns play which role in `train`.
struct ColumnRoles {
  std::string label;
  std::string group;                     ///< "" = none
  std::string time;                      ///< "" = none
  std::vector<std::string> categorical;  ///< user-declared categorical columns
  std::vector<std::string> drop;         ///< not features
  std::vector<std::string> subgroups;    ///< reported per subgroup (may also be features)
};

/// Read options for a training file: the label, group and time columns are required; the group
/// column, the dropped columns and subgroup columns that are not features are read as
/// categorical labels (so they may hold text). Throws UsageError when a column is given two
/// incompatible roles (e.g. the label is also dropped) or does not exist in `header` (the message
/// lists the file's columns).
CsvReadOptions training_read_options(const ColumnRoles& roles,
                                     const std::vector<std::string>& header);

/// The features of a training table: every column except label, group, time and dropped ones,
/// in file order. Throws InvalidInput when none is left.
std::vector<std::string> feature_columns(const Table& table, const ColumnRoles& roles);

/// The label column as 0/1 doubles. Throws InvalidInput naming the column and the 1-based data
/// row of a missing value or a value other than 0 and 1 (and, when `require_both`, when only one
/// class occurs).
std::vector<double> label_values(const Table& table, const std::string& label, bool require_both);

/// Rows `rows` of `X` (all columns) as a new row-major matrix.
RowMatrixXd take_rows(const RowMatrixXd& X, const std::vector<Index>& rows);
/// Elements `rows` of `v`.
std::vector<double> take(const std::vector<double>& v, const std::vector<Index>& rows);

/// Category labels (code k -> labels[k]) of the categorical feature columns, to be stored in the
/// model file and reused by predict / evaluate (`CsvReadOptions::category_mappings`).
std::map<std::string, std::vector<std::string>> feature_category_labels(
    const Table& table, const std::vector<std::string>& features);

/// Columns that look like row identifiers (a distinct whole number or label on every row, more
/// than 100 rows): candidates for --drop, reported as a warning.
std::vector<std::string> identifier_like_columns(const Table& table,
                                                 const std::vector<std::string>& features);

/// Per-row text labels of a column for subgroup reporting: category labels for categorical
/// columns, ISO dates for time columns, the number's text otherwise; "" when missing.
std::vector<std::string> column_labels(const Table& table, const std::string& column,
                                       const std::vector<Index>& rows);

/// Per-row subgroup labels of a column for the report: categorical and time columns and numeric
/// columns with at most `max_levels` distinct values as `column_labels` gives them; other numeric
/// columns (age, a lab) cut into 5 bands of about equal row counts, labelled "lo-hi" with the
/// band's smallest and largest value. "" = missing.
std::vector<std::string> subgroup_labels(const Table& table, const std::string& column,
                                         const std::vector<Index>& rows, int max_levels = 20);

}  // namespace calibrisk::cli
