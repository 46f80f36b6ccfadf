// SPDX-License-Identifier: Apache-2.0
// The reference coding of categorical columns before a K-class logistic regression (declared in
// artifact/expansion.hpp).
#include <calibrisk/artifact/expansion.hpp>
#include <calibrisk/core/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace calibrisk {
namespace {

bool whole_code(double v) noexcept { return v >= 0.0 && v <= 9.0e15 && v == std::floor(v); }

bool has(const std::vector<std::int64_t>& sorted, std::int64_t c) noexcept {
  return std::binary_search(sorted.begin(), sorted.end(), c);
}

}  // namespace

Index CategoricalExpansion::width() const noexcept {
  if (n_inputs == 0) return 0;
  Index w = n_inputs - static_cast<Index>(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    w += static_cast<Index>(levels[c].size()) + (pooled[c].empty() ? 0 : 1) + (missing[c] ? 1 : 0);
  }
  return w;
}

CategoricalExpansion CategoricalExpansion::fit(const MatrixView<const double>& X,
                                               const std::vector<int>& columns, int min_count) {
  const std::string where = "CategoricalExpansion::fit";
  if (min_count < 1) {
    throw InvalidParams(where + ": min_count must be >= 1, got " + std::to_string(min_count) + ".");
  }
  CategoricalExpansion e;
  e.n_inputs = X.cols();
  for (const int j : columns) {
    if (j < 0 || j >= X.cols() || (!e.columns.empty() && j <= e.columns.back())) {
      throw InvalidParams(where + ": categorical column " + std::to_string(j) +
                          " is outside the matrix or out of order; list columns of X ascending, "
                          "each once.");
    }
    e.columns.push_back(j);
  }
  if (e.columns.empty()) return CategoricalExpansion{};
  for (const Index j : e.columns) {
    std::map<std::int64_t, Index> count;
    bool nan = false;
    for (Index i = 0; i < X.rows(); ++i) {
      const double v = X(i, j);
      if (std::isnan(v)) {
        nan = true;
        continue;
      }
      if (!whole_code(v)) {
        throw InvalidInput(where + ": categorical column " + std::to_string(j) + " has X[" +
                           std::to_string(i) + "] = " + detail::fmt_value(v) +
                           "; category codes are whole numbers >= 0 (NaN = missing).");
      }
      ++count[static_cast<std::int64_t>(v)];
    }
    std::int64_t ref = -1;
    Index best = 0;
    for (const auto& [code, n] : count) {
      if (n > best) best = n, ref = code;  // ascending codes: ties keep the smallest
    }
    std::vector<std::int64_t> kept, pool;
    for (const auto& [code, n] : count) {
      if (code == ref) continue;
      (n >= min_count ? kept : pool).push_back(code);
    }
    e.levels.push_back(std::move(kept));
    e.pooled.push_back(std::move(pool));
    e.reference.push_back(ref);
    e.missing.push_back(nan ? 1 : 0);
  }
  return e;
}

template <class T>
void CategoricalExpansion::expand_impl(const T* row, double* out) const noexcept {
  Index o = 0;
  std::size_t c = 0;
  for (Index j = 0; j < n_inputs; ++j) {
    if (c < columns.size() && columns[c] == j) {
      ++c;
      continue;
    }
    out[o++] = static_cast<double>(row[j]);
  }
  for (c = 0; c < columns.size(); ++c) {
    const double v = static_cast<double>(row[columns[c]]);
    const auto& kept = levels[c];
    const Index n_ind =
        static_cast<Index>(kept.size()) + (pooled[c].empty() ? 0 : 1) + (missing[c] ? 1 : 0);
    std::fill(out + o, out + o + n_ind, 0.0);
    if (std::isnan(v)) {
      if (missing[c]) out[o + n_ind - 1] = 1.0;
    } else if (whole_code(v)) {
      const auto code = static_cast<std::int64_t>(v);
      const auto it = std::lower_bound(kept.begin(), kept.end(), code);
      if (it != kept.end() && *it == code) {
        out[o + (it - kept.begin())] = 1.0;
      } else if (has(pooled[c], code)) {
        out[o + static_cast<Index>(kept.size())] = 1.0;
      }
    }
    o += n_ind;
  }
}

void CategoricalExpansion::expand_row(const double* row, double* out) const noexcept {
  expand_impl(row, out);
}
void CategoricalExpansion::expand_row(const float* row, double* out) const noexcept {
  expand_impl(row, out);
}

RowMatrixXd CategoricalExpansion::expand(const FeatureMatrix& X) const {
  RowMatrixXd out(X.rows(), width());
  std::vector<double> row(static_cast<std::size_t>(n_inputs));
  X.visit([&](const auto& v) {
    for (Index i = 0; i < X.rows(); ++i) {
      for (Index j = 0; j < n_inputs; ++j) row[static_cast<std::size_t>(j)] = v(i, j);
      expand_impl(row.data(), out.row(i).data());
    }
  });
  return out;
}

Index CategoricalExpansion::source(Index e) const noexcept {
  const Index n_numeric = n_inputs - static_cast<Index>(columns.size());
  if (e < n_numeric) {
    Index seen = -1;
    std::size_t c = 0;
    for (Index j = 0; j < n_inputs; ++j) {
      if (c < columns.size() && columns[c] == j) {
        ++c;
        continue;
      }
      if (++seen == e) return j;
    }
    return -1;
  }
  Index o = n_numeric;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    o += static_cast<Index>(levels[c].size()) + (pooled[c].empty() ? 0 : 1) + (missing[c] ? 1 : 0);
    if (e < o) return columns[c];
  }
  return -1;
}

std::string CategoricalExpansion::column_name(Index e,
                                              const std::vector<std::string>& input_names) const {
  const Index j = source(e);
  const std::string name = j >= 0 && static_cast<std::size_t>(j) < input_names.size()
                               ? input_names[static_cast<std::size_t>(j)]
                               : std::to_string(j);
  Index o = n_inputs - static_cast<Index>(columns.size());
  if (e < o) return name;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const Index k = static_cast<Index>(levels[c].size());
    const Index n_ind = k + (pooled[c].empty() ? 0 : 1) + (missing[c] ? 1 : 0);
    if (e < o + n_ind) {
      const Index at = e - o;
      if (at < k) return name + "=" + std::to_string(levels[c][static_cast<std::size_t>(at)]);
      if (at == k && !pooled[c].empty()) return name + "=other";
      return name + "=missing";
    }
    o += n_ind;
  }
  return name;
}

void CategoricalExpansion::validate(Index expected_inputs, const std::string& where) const {
  const auto bad = [&](const std::string& what) {
    throw InvalidInput(where + ": categorical expansion " + what + ".");
  };
  if (empty()) {
    if (n_inputs != 0 || !levels.empty() || !reference.empty() || !pooled.empty() ||
        !missing.empty()) {
      bad("without columns must have no other fields");
    }
    return;
  }
  if (n_inputs != expected_inputs) {
    bad("was built for " + std::to_string(n_inputs) + " input columns but the schema has " +
        std::to_string(expected_inputs));
  }
  const std::size_t n = columns.size();
  if (levels.size() != n || reference.size() != n || pooled.size() != n || missing.size() != n) {
    bad("needs levels, reference, pooled and missing for each of its " + std::to_string(n) +
        " columns");
  }
  for (std::size_t c = 0; c < n; ++c) {
    if (columns[c] < 0 || columns[c] >= n_inputs || (c > 0 && columns[c] <= columns[c - 1])) {
      bad("column " + std::to_string(columns[c]) + " is outside the inputs or out of order");
    }
    if (missing[c] != 0 && missing[c] != 1) bad("missing flags must be 0 or 1");
    if (reference[c] < -1) bad("reference codes must be >= 0 (or -1 for none)");
    std::set<std::int64_t> seen;
    for (const auto* list : {&levels[c], &pooled[c]}) {
      for (std::size_t k = 0; k < list->size(); ++k) {
        const std::int64_t code = (*list)[k];
        if (code < 0 || (k > 0 && code <= (*list)[k - 1]) || !seen.insert(code).second ||
            code == reference[c]) {
          bad("codes of column " + std::to_string(columns[c]) +
              " must be >= 0, ascending, unique and differ from the reference");
        }
      }
    }
  }
}

}  // namespace calibrisk
