// SPDX-License-Identifier: Apache-2.0
/// @file sparse.hpp
/// Validation of a SparseMatrixView (core/matrix.hpp) coming from outside: the structural checks
/// every sparse kernel relies on, with messages naming the offending entry.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <cmath>
#include <string>

namespace calibrisk {

/// Checks a CSR/CSC view: shape >= 1 x 1 (`allow_empty_rows` permits 0 rows, for prediction),
/// non-null arrays, indptr[0] == 0 and non-decreasing, indices in [0, inner) and strictly
/// increasing within each row (column) — scipy's canonical format, call `sort_indices()` /
/// `sum_duplicates()` on a matrix that is not — and every stored value finite (an explicit NaN or
/// ±inf is rejected naming its row and column: a sparse matrix has no "missing"). O(nnz).
/// Throws InvalidInput prefixed by `where`.
inline void validate_sparse(const SparseMatrixView& X, const std::string& where,
                            bool allow_empty_rows = false) {
  const std::string kind = X.csr ? "CSR" : "CSC";
  if (X.rows < 0 || X.cols < 0 || (X.rows == 0 && !allow_empty_rows)) {
    throw InvalidInput(where + ": the sparse X has shape (" + std::to_string(X.rows) + ", " +
                       std::to_string(X.cols) + "); pass at least one row.");
  }
  if (X.cols == 0) {
    throw InvalidInput(where + ": the sparse X has 0 columns; pass at least one feature.");
  }
  if (X.indptr == nullptr) throw InvalidInput(where + ": the " + kind + " indptr is missing.");
  const Index outer = X.outer(), inner = X.inner();
  if (X.indptr[0] != 0) {
    throw InvalidInput(where + ": the " + kind + " indptr starts at " +
                       std::to_string(X.indptr[0]) + "; it must start at 0.");
  }
  const std::string outer_name = X.csr ? "row" : "column";
  for (Index o = 0; o < outer; ++o) {
    if (X.indptr[o + 1] < X.indptr[o]) {
      throw InvalidInput(where + ": the " + kind + " indptr decreases at " + outer_name + " " +
                         std::to_string(o) + "; the matrix is malformed.");
    }
  }
  if (X.nnz() > 0 && (X.indices == nullptr || X.values == nullptr)) {
    throw InvalidInput(where + ": the " + kind + " indices or values are missing.");
  }
  for (Index o = 0; o < outer; ++o) {
    for (std::int64_t k = X.indptr[o]; k < X.indptr[o + 1]; ++k) {
      const std::int64_t in = X.indices[k];
      const Index r = X.csr ? o : static_cast<Index>(in);
      const Index c = X.csr ? static_cast<Index>(in) : o;
      if (in < 0 || in >= inner) {
        throw InvalidInput(where + ": the " + kind + " entry " + std::to_string(k) + " of " +
                           outer_name + " " + std::to_string(o) + " has index " +
                           std::to_string(in) + ", outside [0, " + std::to_string(inner) +
                           "); the matrix is malformed.");
      }
      if (k > X.indptr[o] && in <= X.indices[k - 1]) {
        throw InvalidInput(where + ": the " + kind + " indices of " + outer_name + " " +
                           std::to_string(o) +
                           " are not strictly increasing (unsorted or duplicate entries); call "
                           "X.sum_duplicates() and X.sort_indices() first.");
      }
      const double v = X.values[k];
      if (!std::isfinite(v)) {
        throw InvalidInput(where + ": X[" + std::to_string(r) + ", " + std::to_string(c) + "] is " +
                           detail::fmt_value(v) +
                           " (an explicitly stored value); sparse input has no missing values — "
                           "replace NaN/inf, or pass a dense array where NaN means missing.");
      }
    }
  }
}

}  // namespace calibrisk
