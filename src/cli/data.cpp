// SPDX-License-Identifier: Apache-2.0
// CSV -> column roles, features and labels for the command-line tool (see data.hpp).
#include "cli/data.hpp"

#include "cli/errors.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/text.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_set>

namespace calibrisk::cli {
Table read_table(const std::string& path, const CsvReadOptions& options) {
  try {
    return read_csv(path, options);
  } catch (const InvalidParams&) {
    throw;
  } catch (const InvalidInput& e) {
    const std::string msg = e.what();
    if (msg.find("categorical") != std::string::npos &&
        (msg.find("non-numeric") != std::string::npos ||
         msg.find("not a number") != std::string::npos ||
         msg.find("both numbers and text") != std::string::npos)) {
      throw InvalidInput(msg +
                         " (command line: --categorical COLUMN encodes a text column, "
                         "--drop COLUMN ignores it)");
    }
    throw;
  }
}

std::vector<std::string> column_labels(const Table& table, const std::string& column,
                                       const std::vector<Index>& rows) {
  const Column& c = table.column(column);
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (Index i : rows) out.push_back(c.text(i));
  return out;
}

std::vector<std::string> subgroup_labels(const Table& table, const std::string& column,
                                         const std::vector<Index>& rows, int max_levels) {
  const Column& c = table.column(column);
  if (c.kind != ColumnKind::kNumeric) return column_labels(table, column, rows);
  std::vector<double> v;
  v.reserve(rows.size());
  for (Index i : rows) {
    const double x = c.values[static_cast<std::size_t>(i)];
    if (!std::isnan(x)) v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  const std::size_t distinct =
      static_cast<std::size_t>(std::unique(v.begin(), v.end()) - v.begin());
  if (distinct <= static_cast<std::size_t>(max_levels)) return column_labels(table, column, rows);
  // Recompute the sorted values (unique() reordered them) and cut at the quintiles.
  v.clear();
  for (Index i : rows) {
    const double x = c.values[static_cast<std::size_t>(i)];
    if (!std::isnan(x)) v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  constexpr int kBands = 5;
  std::vector<double> upper;  // inclusive upper edge of each band
  for (int b = 1; b < kBands; ++b) {
    upper.push_back(v[v.size() * static_cast<std::size_t>(b) / kBands - 1]);
  }
  upper.push_back(v.back());
  upper.erase(std::unique(upper.begin(), upper.end()), upper.end());
  std::vector<double> lo(upper.size(), std::numeric_limits<double>::infinity());
  std::vector<double> hi(upper.size(), -std::numeric_limits<double>::infinity());
  std::vector<int> band(rows.size(), -1);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const double x = c.values[static_cast<std::size_t>(rows[k])];
    if (std::isnan(x)) continue;
    const int b = static_cast<int>(std::lower_bound(upper.begin(), upper.end(), x) - upper.begin());
    band[k] = b;
    lo[static_cast<std::size_t>(b)] = std::min(lo[static_cast<std::size_t>(b)], x);
    hi[static_cast<std::size_t>(b)] = std::max(hi[static_cast<std::size_t>(b)], x);
  }
  auto text = [](double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", x);
    return std::string(buf);
  };
  std::vector<std::string> labels(upper.size());
  for (std::size_t b = 0; b < upper.size(); ++b) {
    // The band number first, so that the report's sorted levels follow the value order.
    labels[b] = std::to_string(b + 1) + ": " + text(lo[b]) + "-" + text(hi[b]);
  }
  std::vector<std::string> out(rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (band[k] >= 0) out[k] = labels[static_cast<std::size_t>(band[k])];
  }
  return out;
}

}  // namespace calibrisk::cli
