// SPDX-License-Identifier: Apache-2.0
/// @file expansion.hpp
/// `CategoricalExpansion`: the reference ("dummy") coding of declared categorical columns that a
/// K-class pipeline applies before its multinomial logistic regression (format 1.7;
/// docs/artifact.md "K-class pipelines"). The binary logistic regression expands categorical
/// codes inside the model (LogisticRegressionParams::categorical_features); the multinomial model
/// takes a numeric design, so the pipeline expands the row first, with the same rules:
/// - the most frequent training code of a column is its reference (no indicator; ties: the
///   smallest code), codes seen in fewer than `min_count` training rows are pooled into one
///   "other" indicator, and NaN gets its own "missing" indicator when the training part had one;
/// - at scoring, a code the training part never had (the pipeline first turns unseen codes of a
///   declared categorical feature into NaN) and NaN without a missing indicator add no term, i.e.
///   score as the reference level.
/// Expanded layout: the numeric input columns in input order, then per categorical column (in
/// increasing column order) one indicator per kept code (ascending), then "other" (when some codes
/// were pooled), then "missing" (when the column had NaN).
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk {

struct CategoricalExpansion {
  Index n_inputs = 0;          ///< Input columns (the schema's features); 0 = no expansion.
  std::vector<Index> columns;  ///< Categorical input columns, strictly increasing.
  /// Per categorical column: the kept codes that get an indicator (ascending, reference excluded).
  std::vector<std::vector<std::int64_t>> levels;
  /// Per categorical column: the reference code (-1 when the column had no observed code).
  std::vector<std::int64_t> reference;
  /// Per categorical column: the codes pooled into "other" (ascending; empty = no "other").
  std::vector<std::vector<std::int64_t>> pooled;
  std::vector<int> missing;  ///< Per categorical column: 1 when NaN has its own indicator.

  bool empty() const noexcept { return columns.empty(); }
  /// Expanded columns: numeric inputs plus every indicator.
  Index width() const noexcept;
  /// The coding of the categorical `columns` of X (integer codes >= 0 or NaN). Throws
  /// InvalidInput on a code that is not a whole number >= 0, InvalidParams on a bad column list
  /// or min_count < 1.
  static CategoricalExpansion fit(const MatrixView<const double>& X,
                                  const std::vector<int>& columns, int min_count);
  /// One row of n_inputs values into `out` (width() values); allocation-free.
  void expand_row(const double* row, double* out) const noexcept;
  void expand_row(const float* row, double* out) const noexcept;
  /// Every row of X (n, n_inputs), row-major (n, width()).
  RowMatrixXd expand(const FeatureMatrix& X) const;
  /// The input column expanded column `e` comes from.
  Index source(Index e) const noexcept;
  /// Name of expanded column `e` given the input names: the name itself for a numeric column,
  /// "name=code", "name=other" or "name=missing" for an indicator.
  std::string column_name(Index e, const std::vector<std::string>& input_names) const;
  /// Throws InvalidInput (naming `where`) when the fields are inconsistent: sizes, order,
  /// columns outside [0, n_inputs), repeated or negative codes, a reference among the kept codes.
  void validate(Index expected_inputs, const std::string& where) const;

 private:
  template <class T>
  void expand_impl(const T* row, double* out) const noexcept;
};

}  // namespace calibrisk
