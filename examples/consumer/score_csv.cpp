// SPDX-License-Identifier: Apache-2.0
// Scores CSV rows from stdin with a calibrisk pipeline file: `score_csv MODEL.json < rows.csv`.
// Prints "risk,flag" per data row (risk with 17 significant digits, flag = risk >= threshold).
// An optional header line (a first line that is not numeric) names the columns; they are matched
// to the model's features by name, in any order. Empty fields, NA and NaN are missing values.
// Bad lines are reported on stderr with their line number and skipped (exit status 1); a drift
// summary (values outside the training range, unseen codes, missing-rate shifts) goes to stderr.
// Scoring needs only <calibrisk/serve.hpp>, which includes nothing but the standard library.
#include <calibrisk/serve.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Parses one field; false when it is not a number. Empty / NA / NaN give NaN.
bool parse_field(const std::string& raw, double& out) {
  const std::string s = trim(raw);
  if (s.empty() || s == "NA" || s == "NaN" || s == "nan") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno == 0 && std::isfinite(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.json < rows.csv\n", argv[0]);
    return 2;
  }
  const calibrisk::ScoringPipeline pipe = [&] {
    try {
      return calibrisk::ScoringPipeline::load(argv[1]);
    } catch (const calibrisk::Error& e) {
      std::fprintf(stderr, "score_csv: %s\n", e.what());
      std::exit(1);
    }
  }();
  const auto p = static_cast<std::size_t>(pipe.n_features());
  std::vector<std::size_t> column_of(p);  // feature j is CSV column column_of[j]
  for (std::size_t j = 0; j < p; ++j) column_of[j] = j;
  std::vector<double> good_rows;  // row-major, the rows that were scored
  std::vector<double> row(p);
  std::string line;
  long line_no = 0;
  int bad = 0;
  bool first = true;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const std::vector<std::string> fields = split(line);
    double probe;
    if (first && !parse_field(fields[0], probe)) {  // a header: map names to columns
      first = false;
      if (fields.size() != p) {
        std::fprintf(stderr,
                     "score_csv: the header has %zu columns but the model has %zu "
                     "features\n",
                     fields.size(), p);
        return 1;
      }
      for (std::size_t j = 0; j < p; ++j) {
        const std::string& name = pipe.feature_names()[j];
        std::size_t k = 0;
        while (k < fields.size() && trim(fields[k]) != name) ++k;
        if (k == fields.size()) {
          std::fprintf(stderr, "score_csv: the header has no column \"%s\"\n", name.c_str());
          return 1;
        }
        column_of[j] = k;
      }
      continue;
    }
    first = false;
    if (fields.size() != p) {
      std::fprintf(stderr, "score_csv: line %ld has %zu fields but the model expects %zu\n",
                   line_no, fields.size(), p);
      ++bad;
      continue;
    }
    bool ok = true;
    for (std::size_t j = 0; j < p && ok; ++j) {
      if (!parse_field(fields[column_of[j]], row[j])) {
        std::fprintf(stderr, "score_csv: line %ld, column %zu: \"%s\" is not a number\n", line_no,
                     column_of[j] + 1, fields[column_of[j]].c_str());
        ok = false;
      }
    }
    if (!ok) {
      ++bad;
      continue;
    }
    const double risk = pipe.predict_proba_row(row.data());
    std::printf("%.17g,%d\n", risk, pipe.predict_row(row.data()) ? 1 : 0);
    good_rows.insert(good_rows.end(), row.begin(), row.end());
  }
  const auto n_good = static_cast<std::ptrdiff_t>(p == 0 ? 0 : good_rows.size() / p);
  const calibrisk::ScoringInputReport report =
      pipe.check_inputs(calibrisk::RowBlock<double>::row_major(good_rows.data(), n_good,
                                                               static_cast<std::ptrdiff_t>(p)));
  if (report.has_drift) std::fprintf(stderr, "%s", report.summary.c_str());
  return bad == 0 ? 0 : 1;
}
