// SPDX-License-Identifier: Apache-2.0
// From CSV files to what the models need: column roles (label, group, time, features), the
// feature matrix, labels, and the category labels recorded in a model file.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/workflow/data.hpp>

#include <map>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// Reads a CSV with `read_csv`, adding to a data error the command-line fix (--categorical /
/// --drop) when a column holds text.
Table read_table(const std::string& path, const CsvReadOptions& options);

// ColumnRoles, training_read_options, feature_columns, label_values, take_rows, take,
// feature_category_labels and identifier_like_columns are the library's
// (calibrisk/workflow/data.hpp).

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
