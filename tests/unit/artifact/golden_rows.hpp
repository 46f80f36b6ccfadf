// SPDX-License-Identifier: Apache-2.0
// A golden directory's rows.csv (tests/golden/<release>/rows.csv) encoded by a loaded pipeline, as
// `calibrisk predict` reads it: every feature column as text, in the schema's feature order.
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/table.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace calibrisk::test {

inline RowMatrixXd encode_golden_rows(const Pipeline& pipe, const std::filesystem::path& csv) {
  CsvReadOptions o;
  std::vector<std::string> names;
  for (const FeatureInfo& f : pipe.schema().features) names.push_back(f.name);
  o.categorical = names;
  const Table t = read_csv(csv.string(), o);
  std::vector<std::vector<std::string>> rows(static_cast<std::size_t>(t.rows()));
  for (Index i = 0; i < t.rows(); ++i) {
    for (const std::string& c : names)
      rows[static_cast<std::size_t>(i)].push_back(t.column(c).text(i));
  }
  return pipe.encode_rows(rows);
}

}  // namespace calibrisk::test
