// SPDX-License-Identifier: Apache-2.0
/// @file data.hpp
/// From a table (a CSV read by calibrisk::read_csv) to what training needs: the role of each
/// column (label, group, time, features), the read options that give the columns those roles,
/// the feature matrix, the labels and the category labels recorded in a model file.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/table.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// Which columns play which role in training (names as in the file's header).
struct ColumnRoles {
  std::string label;                     ///< the 0/1 outcome (required)
  std::string group;                     ///< patient (group) id, "" = none: rows are independent
  std::string time;                      ///< time column (dates or numbers), "" = file order
  std::vector<std::string> categorical;  ///< columns to read as categories
  std::vector<std::string> drop;         ///< columns that are not features
  /// Reported per subgroup (may also be features): a column, or columns joined by '*' for their
  /// intersection ("age_band*sex"; an exact column name wins, see subgroup_spec_columns).
  std::vector<std::string> subgroups;
  /// Code hierarchies of categorical feature columns (`--code-hierarchy COLUMN[:LENGTHS]`): a
  /// column listed here is read as categorical, and its labels with fewer than
  /// `hierarchy_min_count` training rows are pooled into an ancestor (docs/categorical.md).
  std::map<std::string, CodeHierarchy> code_hierarchy;
  Index hierarchy_min_count = kDefaultHierarchyMinCount;  ///< >= 1 (`--hierarchy-min-count`)
  /// Read the label column as text labels (multiclass tasks with labels such as "paid"); the
  /// binary task reads it as the numbers 0 and 1.
  bool label_as_text = false;
  /// A feature column whose values are all text (`race`, `insulin`, `[70-80)`) is read as
  /// categorical without being declared (`--text-columns categorical`, the default; the model's
  /// provenance lists it as `data.inferred_categorical`); a column holding both numbers and text
  /// is an error naming it. False (`--text-columns error`): every undeclared feature must hold
  /// numbers.
  bool infer_categorical = true;
  /// The event of a binary label of two text values (`--positive`): rows with this label are 1,
  /// the others 0. "" (default): a yes/no-like pair (yes/no, y/n, true/false, t/f, any letter
  /// case) needs none, any other pair of text labels is an error asking for it. The model's
  /// provenance records both labels (`data.positive_label`, `data.negative_label`).
  std::string positive_label;
};

/// Parses a `--code-hierarchy` value: "COLUMN" (the dotted default) or "COLUMN:3,4" (prefix
/// lengths). The column is the text before the last ':' when what follows is a list of
/// integers, so a column name may itself contain ':'. Throws InvalidParams naming the flag.
std::pair<std::string, CodeHierarchy> parse_code_hierarchy(const std::string& text);

/// Read options for a training file: the label, group and time columns are required; the group
/// column, the dropped columns and subgroup columns that are not features are read as
/// categorical labels (so they may hold text); with `roles.infer_categorical` a text feature
/// column is read as categorical (`CsvReadOptions::infer_categorical`; the label stays numeric
/// unless `label_as_text`). Throws InvalidInput when a column does not exist
/// in `header` (the message lists the file's columns) and InvalidParams when a column is given
/// two incompatible roles (e.g. the label is also dropped). Messages name the roles by their
/// command-line flags (--label, --group-column, ...), which are also the Python keywords.
CsvReadOptions training_read_options(const ColumnRoles& roles,
                                     const std::vector<std::string>& header);

/// The features of a training table: every column except label, group, time and dropped ones,
/// in file order. Throws InvalidInput when none is left.
std::vector<std::string> feature_columns(const Table& table, const ColumnRoles& roles);

/// The label column as 0/1 doubles. Throws InvalidInput naming the column and the 1-based data
/// row of a missing value or a value other than 0 and 1 (and, when `require_both`, when only one
/// class occurs).
/// A label of two text values (a categorical column with at most two levels: "yes"/"no",
/// "readmitted"/"not readmitted") is read as 1 for `positive` and 0 for the other label; with
/// `positive` empty, a yes/no-like pair (binary_positive_label) says which is 1. With `negative`
/// given (scoring a model trained on text labels), a label that is neither is an InvalidInput.
std::vector<double> label_values(const Table& table, const std::string& label, bool require_both,
                                 const std::string& positive = {},
                                 const std::string& negative = {});

/// The event among the text labels of a binary label column (one or two labels): `positive`
/// when given (it must be one of them), else the yes-like label of a yes/no, y/n, true/false or
/// t/f pair (any letter case). Throws InvalidInput naming the column and its labels, and asking
/// for --positive (Python `positive=`), when neither says which label is the event.
std::string binary_positive_label(const std::vector<std::string>& labels,
                                  const std::string& positive, const std::string& column);

/// Rows `rows` of `X` (all columns) as a new row-major matrix.
RowMatrixXd take_rows(const RowMatrixXd& X, const std::vector<Index>& rows);
/// Elements `rows` of `v`.
std::vector<double> take(const std::vector<double>& v, const std::vector<Index>& rows);

/// Category labels (code k -> labels[k]) of the categorical feature columns, to be stored in the
/// model file and reused when scoring (`CsvReadOptions::category_mappings`).
std::map<std::string, std::vector<std::string>> feature_category_labels(
    const Table& table, const std::vector<std::string>& features);

/// The declared categorical features: positions in `features` of the columns read as labels
/// (`--categorical`, `--code-hierarchy`; kCategorical columns of the table), ascending. The
/// small-integer columns the schema detects automatically are not in it: they stay ordinal.
std::vector<int> declared_categorical_features(const Table& table,
                                               const std::vector<std::string>& features);

/// Columns that look like row identifiers (a distinct whole number on every row, more than 100
/// rows): candidates for dropping, reported as a warning.
std::vector<std::string> identifier_like_columns(const Table& table,
                                                 const std::vector<std::string>& features);

}  // namespace calibrisk
