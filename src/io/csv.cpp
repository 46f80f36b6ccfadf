// SPDX-License-Identifier: Apache-2.0
// CSV reading (libcsv's RFC 4180 parser, fields converted as they arrive) and writing.
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/table.hpp>

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <unordered_map>

namespace calibrisk {

void CsvReadOptions::validate() const {
  if (delimiter == '"' || delimiter == '\n' || delimiter == '\r' || delimiter == '\0') {
    throw InvalidParams(
        "CsvReadOptions.delimiter must not be a quote, a line break or NUL; use ',' (the default), "
        "';' or a tab.");
  }
  for (const auto& c : categorical) {
    if (c.empty()) throw InvalidParams("CsvReadOptions.categorical contains an empty column name.");
    if (c == time_column) {
      throw InvalidParams("CsvReadOptions: column '" + c +
                          "' is both categorical and the time column; choose one.");
    }
  }
  for (const auto& [name, labels] : category_mappings) {
    if (name == time_column) {
      throw InvalidParams("CsvReadOptions: column '" + name +
                          "' has a category mapping and is the time column; choose one.");
    }
    std::set<std::string> seen;
    for (const auto& l : labels) {
      if (!seen.insert(l).second) {
        throw InvalidParams("CsvReadOptions.category_mappings['" + name + "'] lists '" + l +
                            "' twice; each label must have one code.");
      }
    }
  }
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Strict decimal number: the whole field, finite; a leading '+' is accepted.
bool parse_number(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

std::string quoted(std::string_view s) {
  std::string q = "\"";
  for (char c : s.substr(0, 60)) q += c;
  if (s.size() > 60) q += "...";
  return q + "\"";
}

enum class Role { kNumeric, kCategorical, kTime };

// Receives libcsv's callbacks: fields are converted as they arrive, so only the time column and
// categorical labels are ever held as text.
struct Reader {
  Reader(const CsvReadOptions& o, std::string w) : opt(o), where(std::move(w)) {}
  const CsvReadOptions& opt;
  std::string where;  // "read_csv: <source>"

  std::vector<std::string> header;
  bool in_header = true;
  std::vector<Role> roles;
  std::vector<std::vector<double>> values;
  // Categorical columns: label -> provisional code; with a known mapping the final code directly.
  std::vector<std::unordered_map<std::string, double>> label_codes;
  std::vector<bool> has_mapping;
  std::vector<std::string> time_text;
  Index time_col = -1;

  std::size_t field = 0;  // index of the next field in the current row
  Index data_rows = 0;    // completed data rows
  bool row_blank = true;  // only one empty field so far
  std::string error;

  bool is_na(std::string_view s) const {
    return std::find(opt.na_values.begin(), opt.na_values.end(), s) != opt.na_values.end();
  }

  void fail(std::string msg) {
    if (error.empty()) error = std::move(msg);
  }

  void start_columns() {
    const std::size_t m = header.size();
    std::set<std::string> seen;
    for (std::size_t j = 0; j < m; ++j) {
      header[j] = std::string(trim(header[j]));
      if (header[j].empty()) {
        fail(where + ": the header's column " + std::to_string(j + 1) +
             " has no name; give every column a name in the first line.");
        return;
      }
      if (!seen.insert(header[j]).second) {
        fail(where + ": the header names column '" + header[j] +
             "' twice; column names must be unique.");
        return;
      }
    }
    auto require = [&](const std::string& name, const char* why) {
      if (!seen.count(name)) {
        std::string avail;
        for (const auto& h : header) avail += (avail.empty() ? "" : ", ") + h;
        fail(where + ": the " + why + " column '" + name +
             "' is not in the header; the columns are: " + avail + ".");
      }
    };
    for (const auto& r : opt.required_columns) require(r, "required");
    for (const auto& c : opt.categorical) require(c, "categorical");
    if (!opt.time_column.empty()) require(opt.time_column, "time");
    roles.assign(m, Role::kNumeric);
    values.assign(m, {});
    label_codes.assign(m, {});
    has_mapping.assign(m, false);
    for (std::size_t j = 0; j < m; ++j) {
      const auto& name = header[j];
      const auto mapping = opt.category_mappings.find(name);
      if (mapping != opt.category_mappings.end()) {
        roles[j] = Role::kCategorical;
        has_mapping[j] = true;
        for (std::size_t k = 0; k < mapping->second.size(); ++k) {
          label_codes[j][mapping->second[k]] = static_cast<double>(k);
        }
      } else if (std::find(opt.categorical.begin(), opt.categorical.end(), name) !=
                 opt.categorical.end()) {
        roles[j] = Role::kCategorical;
      } else if (name == opt.time_column) {
        roles[j] = Role::kTime;
        time_col = static_cast<Index>(j);
      }
    }
  }

  void on_field(std::string_view raw) {
    if (!error.empty()) return;
    if (in_header) {
      header.emplace_back(raw);
      return;
    }
    const std::size_t j = field++;
    if (j == 0)
      row_blank = trim(raw).empty();
    else
      row_blank = false;
    if (j >= header.size()) return;  // reported as ragged at the end of the row
    const std::string_view s = trim(raw);
    auto& col = values[j];
    switch (roles[j]) {
      case Role::kNumeric: {
        double v = kNaN;
        if (!is_na(s) && !parse_number(s, v)) {
          fail(where + ": column '" + header[j] + "' has the non-numeric value " + quoted(s) +
               " in data row " + std::to_string(data_rows + 1) +
               "; fix the value, mark it missing (empty, NA or ?), or declare the column "
               "categorical.");
          return;
        }
        col.push_back(v);
        break;
      }
      case Role::kCategorical: {
        if (is_na(s)) {
          col.push_back(kNaN);
          break;
        }
        auto& codes = label_codes[j];
        auto it = codes.find(std::string(s));
        if (it != codes.end()) {
          col.push_back(it->second);
        } else if (has_mapping[j]) {
          col.push_back(kUnseenCategory);
        } else {
          const auto code = static_cast<double>(codes.size());
          codes.emplace(std::string(s), code);
          col.push_back(code);
        }
        break;
      }
      case Role::kTime:
        time_text.emplace_back(s);
        col.push_back(kNaN);  // converted after the whole column is known
        break;
    }
  }

  void on_row_end() {
    if (!error.empty()) return;
    if (in_header) {
      in_header = false;
      start_columns();
      field = 0;
      return;
    }
    const std::size_t got = field;
    field = 0;
    if (got == 1 && row_blank && header.size() > 1) {
      // A line holding only spaces: not a record. Undo the value taken from it.
      values[0].pop_back();
      if (roles[0] == Role::kTime) time_text.pop_back();
      return;
    }
    if (got != header.size()) {
      fail(where + ": data row " + std::to_string(data_rows + 1) + " has " + std::to_string(got) +
           " fields but the header has " + std::to_string(header.size()) +
           "; every row needs one field per column (check for an unquoted delimiter or a "
           "missing field).");
      return;
    }
    ++data_rows;
  }

  static void cb_field(void* s, std::size_t len, void* self) {
    static_cast<Reader*>(self)->on_field(
        std::string_view(s ? static_cast<const char*>(s) : "", s ? len : 0));
  }
  static void cb_row(int, void* self) { static_cast<Reader*>(self)->on_row_end(); }

  // Numbers first (an order key); otherwise every value must be ISO 8601.
  Column finish_time(std::size_t j) {
    std::vector<double> v(time_text.size(), kNaN);
    bool all_numbers = true;
    for (std::size_t i = 0; i < time_text.size(); ++i) {
      if (is_na(time_text[i])) {
        throw InvalidInput(where + ": the time column '" + header[j] + "' is missing in data row " +
                           std::to_string(i + 1) +
                           "; every row needs a date, date-time or number to be ordered.");
      }
      if (!parse_number(time_text[i], v[i])) all_numbers = false;
    }
    if (all_numbers) return Column::time_number(header[j], std::move(v));
    for (std::size_t i = 0; i < time_text.size(); ++i) {
      if (!parse_iso8601(time_text[i], v[i])) {
        throw InvalidInput(where + ": the time column '" + header[j] + "' has " +
                           quoted(time_text[i]) + " in data row " + std::to_string(i + 1) +
                           ", which is neither an ISO 8601 date/date-time (YYYY-MM-DD or "
                           "YYYY-MM-DDTHH:MM:SS) nor a number; the whole column must use one "
                           "of the two.");
      }
    }
    return Column::time_days(header[j], std::move(v));
  }

  Column finish_categorical(std::size_t j) {
    if (has_mapping[j]) {
      return Column::categorical(header[j], std::move(values[j]),
                                 opt.category_mappings.at(header[j]));
    }
    // Provisional codes are in order of first appearance; renumber by sorted label so the
    // encoding depends only on the set of labels, not on row order.
    std::vector<std::pair<std::string, double>> labels(label_codes[j].begin(),
                                                       label_codes[j].end());
    std::sort(labels.begin(), labels.end());
    std::vector<double> remap(labels.size());
    std::vector<std::string> names(labels.size());
    for (std::size_t k = 0; k < labels.size(); ++k) {
      remap[static_cast<std::size_t>(labels[k].second)] = static_cast<double>(k);
      names[k] = labels[k].first;
    }
    for (double& c : values[j]) {
      if (!std::isnan(c)) c = remap[static_cast<std::size_t>(c)];
    }
    return Column::categorical(header[j], std::move(values[j]), std::move(names));
  }
};

Index line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<Index>(std::count(
                 text.begin(),
                 text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n'));
}

}  // namespace

Table parse_csv(std::string_view text, const CsvReadOptions& options, const std::string& source) {
  options.validate();
  const std::string where = "read_csv: " + source;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw InvalidInput(where +
                       " is empty; expected a header line with column names and data rows.");
  }
  Reader r(options, where);
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    throw Error("internal error: csv_init failed (out of memory).");
  }
  std::unique_ptr<csv_parser, void (*)(csv_parser*)> guard(&parser, csv_free);
  csv_set_delim(&parser, static_cast<unsigned char>(options.delimiter));
  const std::size_t used =
      csv_parse(&parser, text.data(), text.size(), Reader::cb_field, Reader::cb_row, &r);
  if (used != text.size() && r.error.empty()) {
    throw InvalidInput(where + ": malformed CSV near line " + std::to_string(line_of(text, used)) +
                       " (" + csv_strerror(csv_error(&parser)) +
                       "); a quote inside a field must be doubled and the field quoted.");
  }
  if (csv_fini(&parser, Reader::cb_field, Reader::cb_row, &r) != 0 && r.error.empty()) {
    throw InvalidInput(where + ": the file ends inside a quoted field (" +
                       csv_strerror(csv_error(&parser)) + "); close the last quote.");
  }
  if (!r.error.empty()) throw InvalidInput(r.error);
  if (r.in_header || r.data_rows == 0) {
    throw InvalidInput(where +
                       " has a header but no data rows; the file needs at least one row "
                       "of values after the header.");
  }
  Table t;
  for (std::size_t j = 0; j < r.header.size(); ++j) {
    switch (r.roles[j]) {
      case Role::kNumeric:
        t.add_column(Column::numeric(r.header[j], std::move(r.values[j])));
        break;
      case Role::kCategorical:
        t.add_column(r.finish_categorical(j));
        break;
      case Role::kTime:
        t.add_column(r.finish_time(j));
        break;
    }
  }
  return t;
}

Table read_csv(const std::string& path, const CsvReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InvalidInput("read_csv: cannot open '" + path +
                       "' for reading; check the path and its permissions.");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_csv(buf.str(), options, path);
}

namespace {

void write_field(std::ostream& out, const std::string& s, char delim) {
  if (s.find_first_of(std::string{delim, '"', '\n', '\r'}) == std::string::npos) {
    out << s;
    return;
  }
  out << '"';
  for (char c : s) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

}  // namespace

void write_csv(const Table& table, std::ostream& out, char delimiter) {
  const auto& cols = table.columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (j) out << delimiter;
    write_field(out, cols[j].name, delimiter);
  }
  out << '\n';
  for (Index i = 0; i < table.rows(); ++i) {
    for (std::size_t j = 0; j < cols.size(); ++j) {
      if (j) out << delimiter;
      write_field(out, cols[j].text(i), delimiter);
    }
    out << '\n';
  }
  if (!out) throw Error("write_csv: the output stream failed (disk full or closed?).");
}

void write_csv(const Table& table, const std::string& path, char delimiter) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw InvalidInput("write_csv: cannot open '" + path +
                       "' for writing; check that the folder exists and is writable.");
  }
  write_csv(table, out, delimiter);
  out.close();
  if (!out) throw Error("write_csv: writing '" + path + "' failed (disk full?).");
}

}  // namespace calibrisk
