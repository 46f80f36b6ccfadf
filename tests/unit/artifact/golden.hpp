// SPDX-License-Identifier: Apache-2.0
// The golden model files of earlier releases (tests/golden/<release>/) and their stored rows and
// scores, shared by the artifact and serve tests.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace calibrisk::test {

inline const std::filesystem::path kGolden = CALIBRISK_GOLDEN_DIR;

// Rows of a CSV with a header line; an empty field is NaN (missing).
inline std::vector<std::vector<double>> read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream fields(line);
    std::string f;
    while (std::getline(fields, f, ','))
      row.push_back(f.empty() ? NAN : std::strtod(f.c_str(), nullptr));
    if (!line.empty() && line.back() == ',') row.push_back(NAN);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace calibrisk::test
