// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the CSV reader, the way training and scoring files enter the command-line
// tool: any input must either give a table or throw InvalidInput (any other exception, a crash,
// a leak, UB or a hang is a finding). The input is read with four option sets: the defaults, the
// training reading (text columns inferred as categorical, the first column numeric), a declared
// categorical first column with a ';' delimiter, and the second column as the time column. A
// table read without a time column must be well formed (every column has one value per row,
// codes index the labels, only categorical columns are inferred) and must read back from its
// own CSV text (write_csv) to the same values, labels and kinds.
#include <calibrisk/io/table.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using calibrisk::Column;
using calibrisk::ColumnKind;
using calibrisk::CsvReadOptions;
using calibrisk::Table;

void check_well_formed(const Table& t) {
  if (t.rows() <= 0) __builtin_trap();
  for (const Column& c : t.columns()) {
    if (static_cast<calibrisk::Index>(c.values.size()) != t.rows()) __builtin_trap();
    if (c.inferred && c.kind != ColumnKind::kCategorical) __builtin_trap();
    if (c.kind != ColumnKind::kCategorical) continue;
    for (const double v : c.values) {
      if (std::isnan(v) || v == calibrisk::kUnseenCategory) continue;
      if (v < 0 || v != std::floor(v) || v >= static_cast<double>(c.categories.size())) {
        __builtin_trap();
      }
    }
  }
}

bool same_bits(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// write_csv then parse_csv with the categorical columns declared: the same table.
void check_round_trip(const Table& t, char delimiter) {
  std::ostringstream out;
  calibrisk::write_csv(t, out, delimiter);
  CsvReadOptions o;
  o.delimiter = delimiter;
  for (const Column& c : t.columns()) {
    if (c.kind == ColumnKind::kCategorical) o.categorical.push_back(c.name);
  }
  Table back;
  try {
    back = calibrisk::parse_csv(out.str(), o, "round trip");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the written table does not read back: %s\n", e.what());
    __builtin_trap();
  }
  if (back.rows() != t.rows() || back.cols() != t.cols()) __builtin_trap();
  for (std::size_t j = 0; j < t.columns().size(); ++j) {
    const Column& a = t.columns()[j];
    const Column& b = back.columns()[j];
    if (a.name != b.name || a.kind != b.kind) __builtin_trap();
    for (calibrisk::Index i = 0; i < t.rows(); ++i) {
      if (a.kind == ColumnKind::kCategorical) {
        if (a.text(i) != b.text(i)) __builtin_trap();
      } else if (!same_bits(a.values[static_cast<std::size_t>(i)],
                            b.values[static_cast<std::size_t>(i)])) {
        __builtin_trap();
      }
    }
  }
}

void read_with(std::string_view text, const CsvReadOptions& o, bool round_trip) {
  Table t;
  try {
    t = calibrisk::parse_csv(text, o, "fuzz");
  } catch (const calibrisk::InvalidInput&) {
    return;
  }
  check_well_formed(t);
  if (round_trip) check_round_trip(t, o.delimiter);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The header's first two names, when there is a header line (for the declared roles).
  std::vector<std::string> names;
  {
    const std::size_t eol = text.find('\n');
    const std::string_view head = text.substr(0, eol);
    std::size_t at = 0;
    while (names.size() < 2 && at <= head.size()) {
      const std::size_t comma = head.find(',', at);
      const std::size_t end = comma == std::string_view::npos ? head.size() : comma;
      std::string name(head.substr(at, end - at));
      while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
      while (!name.empty() && name.front() == ' ') name.erase(name.begin());
      if (name.empty() || name.find('"') != std::string::npos) break;
      names.push_back(name);
      if (comma == std::string_view::npos) break;
      at = comma + 1;
    }
  }
  read_with(text, CsvReadOptions{}, true);
  CsvReadOptions training;
  training.infer_categorical = true;
  if (!names.empty()) training.numeric_columns.push_back(names[0]);
  read_with(text, training, true);
  if (!names.empty()) {
    CsvReadOptions declared;
    declared.delimiter = ';';
    declared.categorical.push_back(names[0]);
    read_with(text, declared, false);
  }
  if (names.size() == 2) {
    CsvReadOptions timed;
    timed.time_column = names[1];
    timed.infer_categorical = true;
    read_with(text, timed, false);
  }
  return 0;
}
