// SPDX-License-Identifier: Apache-2.0
// CSR / CSC arrays of a dense row-major matrix for the sparse-input tests (explicit zeros dropped).
#pragma once

#include <calibrisk/linear/logistic.hpp>

#include <cstdint>
#include <vector>

namespace calibrisk::test {

struct Csr {
  std::vector<std::int64_t> indptr{0}, indices;
  std::vector<double> values;
  SparseMatrixView view(Index rows, Index cols, bool csr = true) const {
    return SparseMatrixView{indptr.data(), indices.data(), values.data(), rows, cols, csr};
  }
};

// X is n x p row-major; by_row gives CSR, otherwise CSC.
inline Csr compressed(const std::vector<double>& X, Index n, Index p, bool by_row) {
  Csr c;
  const Index outer = by_row ? n : p, inner = by_row ? p : n;
  for (Index a = 0; a < outer; ++a) {
    for (Index b = 0; b < inner; ++b) {
      const double v = by_row ? X[a * p + b] : X[b * p + a];
      if (v != 0.0) c.indices.push_back(b), c.values.push_back(v);
    }
    c.indptr.push_back(static_cast<std::int64_t>(c.indices.size()));
  }
  return c;
}

inline Csr to_csr(const std::vector<double>& X, Index n, Index p) {
  return compressed(X, n, p, true);
}
inline Csr to_csc(const std::vector<double>& X, Index n, Index p) {
  return compressed(X, n, p, false);
}

}  // namespace calibrisk::test
