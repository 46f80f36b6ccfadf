// SPDX-License-Identifier: Apache-2.0
// CSV reading (libcsv's RFC 4180 parser, fields converted as they arrive) and writing.
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
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
  for (const auto& [name, h] : code_hierarchies) {
    if (std::find(categorical.begin(), categorical.end(), name) == categorical.end()) {
      throw InvalidParams("CsvReadOptions: column '" + name +
                          "' has a code hierarchy but is not categorical; list it in "
                          "categorical.");
    }
    h.validate(name);
  }
  CategoryOptions co;
  co.min_count = hierarchy_min_count;
  co.max_levels = max_category_levels;
  co.validate("(all)");
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

std::string quote_data(std::string_view s) { return quote_for_message(s); }

// Offset of the first byte that may not appear in a CSV file: an ill-formed UTF-8 sequence or a
// NUL byte; npos when there is none.
std::size_t first_bad_byte(std::string_view s) noexcept {
  const std::size_t u = first_invalid_utf8(s);
  const std::size_t z = s.substr(0, u).find('\0');
  return z != std::string_view::npos ? z : u;
}

// What the bad byte at `offset` of `text` is and how to fix the file.
std::string bad_byte_message(std::string_view text, std::size_t offset, std::size_t bom) {
  const std::string at = " at byte offset " + std::to_string(offset + bom) + " of the file";
  if (offset < text.size() && text[offset] == '\0') {
    return "holds a NUL byte" + at +
           "; a CSV file is text without NUL bytes (is it a binary or a UTF-16 file? save it as "
           "UTF-8)";
  }
  char hex[8] = "?";
  if (offset < text.size()) {
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[offset]));
  }
  std::string hint = "e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv` for a Latin-1 file";
  if (offset == 0 && text.size() >= 2 &&
      ((text[0] == '\xFF' && text[1] == '\xFE') || (text[0] == '\xFE' && text[1] == '\xFF'))) {
    hint = "it starts with a UTF-16 byte-order mark: save it as UTF-8";
  }
  return std::string("holds the byte ") + hex + at +
         ", which is not valid UTF-8; CSV files must be UTF-8 encoded: convert it (" + hint + ")";
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
  // Per column: the level table to encode with (scoring a 1.4 model), or null; rows per
  // provisional code (training).
  std::vector<const CategoryLevels*> levels;
  std::vector<Index> n_unseen;
  std::vector<std::vector<Index>> label_rows;
  std::vector<std::string> time_text;
  Index time_col = -1;
  // CsvReadOptions::infer_categorical: per column whether it may be inferred, whether it was, and
  // its first number and first text value (1-based data rows, 0 = none): both set is ambiguous.
  std::vector<bool> may_infer, inferred;
  std::vector<Index> number_row, text_row;
  std::vector<std::string> number_text, text_value;

  std::size_t field = 0;  // index of the next field in the current row
  Index data_rows = 0;    // completed data rows
  bool row_blank = true;  // only one empty field so far
  std::string error;
  // The text parsed so far (for the byte offset of an encoding error) and the length of the
  // byte-order mark removed before it.
  std::string_view text;
  std::size_t bom = 0;
  bool pending_cr = false;   // the last line ended with CR: the next byte must be LF
  bool header_only = false;  // stop after the header (read_csv_header)
  bool stop = false;         // header_only and the header is complete

  std::string row_name() const {
    return in_header ? std::string("the header line") : "data row " + std::to_string(data_rows + 1);
  }
  std::string field_name(std::size_t j) const {
    if (in_header) return "the header's column " + std::to_string(j + 1);
    if (j < header.size())
      return "data row " + std::to_string(data_rows + 1) + ", column " + quote_data(header[j]);
    return "data row " + std::to_string(data_rows + 1) + ", field " + std::to_string(j + 1);
  }
  void bare_cr() {
    fail(where + ": the line before " + row_name() +
         " ends with a bare carriage return (CR, the classic Mac OS line end), an unsupported "
         "line ending; lines must end with LF or CRLF: convert the file (e.g. "
         "`tr '\\r' '\\n' < in.csv > out.csv`).");
  }
  // Encoding and line-end checks of a field, before any conversion.
  bool check_field(std::string_view raw) {
    if (pending_cr && field == 0) {
      bare_cr();
      return false;
    }
    if (first_bad_byte(raw) == std::string_view::npos) return true;
    const std::size_t offset = first_bad_byte(text);
    fail(where + ": " + field_name(field) + " " + bad_byte_message(text, offset, bom) +
         ". The value is " + quote_data(raw) + ".");
    return false;
  }

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
        fail(where + ": the header names column " + quote_data(header[j]) +
             " twice; column names must be unique.");
        return;
      }
    }
    auto require = [&](const std::string& name, const char* why) {
      if (!seen.count(name)) {
        fail(where + ": the " + why + " column " + quote_data(name) +
             " is not in the header; the columns are: " + list_for_message(header) + ".");
      }
    };
    for (const auto& r : opt.required_columns) require(r, "required");
    for (const auto& c : opt.categorical) require(c, "categorical");
    if (!opt.time_column.empty()) require(opt.time_column, "time");
    roles.assign(m, Role::kNumeric);
    values.assign(m, {});
    label_codes.assign(m, {});
    has_mapping.assign(m, false);
    levels.assign(m, nullptr);
    n_unseen.assign(m, 0);
    label_rows.assign(m, {});
    may_infer.assign(m, false);
    inferred.assign(m, false);
    number_row.assign(m, 0);
    text_row.assign(m, 0);
    number_text.assign(m, {});
    text_value.assign(m, {});
    for (std::size_t j = 0; j < m; ++j) {
      const auto& name = header[j];
      const auto mapping = opt.category_mappings.find(name);
      const auto lev = opt.category_levels.find(name);
      if (lev != opt.category_levels.end()) {
        roles[j] = Role::kCategorical;
        levels[j] = &lev->second;
      } else if (mapping != opt.category_mappings.end()) {
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
      } else {
        may_infer[j] = opt.infer_categorical &&
                       std::find(opt.numeric_columns.begin(), opt.numeric_columns.end(), name) ==
                           opt.numeric_columns.end();
      }
    }
  }

  // First number or first text value of a column that may be inferred.
  void remember(std::vector<Index>& row, std::vector<std::string>& text, std::size_t j,
                std::string_view s) {
    if (row[j] != 0) return;
    row[j] = data_rows + 1;
    text[j] = std::string(s.substr(0, 4 * kMessageQuoteChars));  // >= the chars quoted
  }

  // The columns that hold both numbers and text (infer_categorical), as one InvalidInput.
  void check_mixed() const {
    std::string list;
    std::size_t n = 0;
    constexpr std::size_t kShown = 10;
    for (std::size_t j = 0; j < header.size(); ++j) {
      if (!may_infer[j] || number_row[j] == 0 || text_row[j] == 0) continue;
      if (++n > kShown) continue;
      if (!list.empty()) list += "; ";
      list += "column " + quote_data(header[j]) + " (the number " + quote_data(number_text[j]) +
              " in data row " + std::to_string(number_row[j]) + ", the text " +
              quote_data(text_value[j]) + " in data row " + std::to_string(text_row[j]) + ")";
    }
    if (n == 0) return;
    if (n > kShown) list += "; and " + std::to_string(n - kShown) + " more columns";
    throw InvalidInput(where + ": " + (n == 1 ? "a column holds" : "columns hold") +
                       " both numbers and text, so it is not clear whether they are "
                       "measurements or labels: " +
                       list +
                       ". Declare such a column categorical if its values are codes or labels, "
                       "or fix its text values if it is a measurement (an empty field, NA or ? "
                       "marks a missing value).");
  }

  // A label of categorical column j (provisional code, or the mapping's or the levels' code).
  void add_label(std::size_t j, std::string_view s) {
    auto& col = values[j];
    if (levels[j] != nullptr) {
      const auto [code, how] = levels[j]->lookup(s);
      const bool unseen = how == CategoryMatch::kAncestor || how == CategoryMatch::kUnseen;
      col.push_back(unseen && opt.mark_unseen_labels ? kUnseenCategory : code);
      n_unseen[j] += unseen;
      return;
    }
    auto& codes = label_codes[j];
    auto it = codes.find(std::string(s));
    if (it != codes.end()) {
      col.push_back(it->second);
      if (!has_mapping[j]) ++label_rows[j][static_cast<std::size_t>(it->second)];
    } else if (has_mapping[j]) {
      col.push_back(kUnseenCategory);
    } else {
      const auto code = static_cast<double>(codes.size());
      codes.emplace(std::string(s), code);
      label_rows[j].push_back(1);
      col.push_back(code);
      if (static_cast<Index>(codes.size()) > opt.max_category_levels &&
          opt.code_hierarchies.count(header[j]) == 0) {
        fail(where + ": column " + quote_data(header[j]) + " has more than " +
             std::to_string(opt.max_category_levels) +
             " distinct labels, above the limit of a categorical column; is it an "
             "identifier? Drop it (--drop), or declare a code hierarchy to pool rare codes.");
      }
    }
  }

  void on_field(std::string_view raw) {
    if (!error.empty() || stop) return;
    if (!check_field(raw)) return;
    if (in_header) {
      header.emplace_back(raw);
      ++field;
      return;
    }
    if (header_only) {
      stop = true;
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
          if (may_infer[j]) {
            remember(text_row, text_value, j, s);
            if (number_row[j] == 0) {
              // Text before any number: a column of labels (its values so far are missing,
              // NaN either way).
              roles[j] = Role::kCategorical;
              inferred[j] = true;
              add_label(j, s);
            } else {
              col.push_back(kNaN);  // ambiguous: reported by check_mixed
            }
            return;
          }
          fail(where + ": column " + quote_data(header[j]) + " has the non-numeric value " +
               quote_data(s) + " in data row " + std::to_string(data_rows + 1) +
               "; fix the value, mark it missing (empty, NA or ?), or declare the column "
               "categorical.");
          return;
        }
        if (may_infer[j] && !std::isnan(v)) remember(number_row, number_text, j, s);
        col.push_back(v);
        break;
      }
      case Role::kCategorical: {
        if (is_na(s)) {
          col.push_back(kNaN);
          break;
        }
        if (inferred[j] && number_row[j] == 0) {
          double v = 0.0;
          if (parse_number(s, v)) remember(number_row, number_text, j, s);
        }
        add_label(j, s);
        break;
      }
      case Role::kTime:
        time_text.emplace_back(s);
        col.push_back(kNaN);  // converted after the whole column is known
        break;
    }
  }

  void on_row_end(int c) {
    if (!error.empty() || stop) return;
    if (pending_cr && c != '\n') {
      bare_cr();
      return;
    }
    pending_cr = c == '\r';
    if (header_only && !in_header && !pending_cr) stop = true;
    const std::size_t got = field;
    field = 0;
    if (got == 0) return;  // a line end outside a record (CSV_REPALL_NL): LF of CRLF, blank line
    if (in_header) {
      in_header = false;
      start_columns();
      if (header_only && !pending_cr) stop = true;
      return;
    }
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
  static void cb_row(int c, void* self) { static_cast<Reader*>(self)->on_row_end(c); }

  // Numbers first (an order key); otherwise every value must be ISO 8601.
  Column finish_time(std::size_t j) {
    std::vector<double> v(time_text.size(), kNaN);
    bool all_numbers = true;
    for (std::size_t i = 0; i < time_text.size(); ++i) {
      if (is_na(time_text[i])) {
        throw InvalidInput(where + ": the time column " + quote_data(header[j]) +
                           " is missing in data row " + std::to_string(i + 1) +
                           "; every row needs a date, date-time or number to be ordered.");
      }
      if (!parse_number(time_text[i], v[i])) all_numbers = false;
    }
    if (all_numbers) return Column::time_number(header[j], std::move(v));
    for (std::size_t i = 0; i < time_text.size(); ++i) {
      if (!parse_iso8601(time_text[i], v[i])) {
        throw InvalidInput(where + ": the time column " + quote_data(header[j]) + " has " +
                           quote_data(time_text[i]) + " in data row " + std::to_string(i + 1) +
                           ", which is " + iso8601_problem(time_text[i]) +
                           "; the whole column must hold ISO 8601 dates/date-times or numbers "
                           "(not a mix of the two).");
      }
    }
    return Column::time_days(header[j], std::move(v));
  }

  Column finish_categorical(std::size_t j) {
    if (levels[j] != nullptr) {
      Column c = Column::categorical(header[j], std::move(values[j]), levels[j]->labels());
      c.n_unseen_labels = n_unseen[j];
      c.hierarchy = levels[j]->hierarchy();
      c.pooled_labels = levels[j]->pooled();
      return c;
    }
    if (has_mapping[j]) {
      return Column::categorical(header[j], std::move(values[j]),
                                 opt.category_mappings.at(header[j]));
    }
    // Provisional codes are in order of first appearance; the levels come from the one encoder
    // (CategoryLevels: byte-sorted labels, rare codes pooled under a hierarchy), so the encoding
    // depends only on the labels and their counts, not on row order, and equals Python's.
    std::vector<std::pair<std::string, Index>> counts(label_codes[j].size());
    for (const auto& [label, code] : label_codes[j]) {
      const auto k = static_cast<std::size_t>(code);
      counts[k] = {label, label_rows[j][k]};
    }
    CategoryOptions co;
    co.min_count = opt.hierarchy_min_count;
    co.max_levels = opt.max_category_levels;
    const auto h = opt.code_hierarchies.find(header[j]);
    if (h != opt.code_hierarchies.end()) co.hierarchy = h->second;
    const CategoryLevels lev = CategoryLevels::fit_counts(header[j], counts, co);
    std::vector<double> remap(counts.size());
    for (std::size_t k = 0; k < counts.size(); ++k) remap[k] = lev.encode(counts[k].first);
    for (double& c : values[j]) {
      if (!std::isnan(c)) c = remap[static_cast<std::size_t>(c)];
    }
    Column c = Column::categorical(header[j], std::move(values[j]), lev.labels());
    c.hierarchy = lev.hierarchy();
    c.pooled_labels = lev.pooled();
    c.category_counts = lev.counts();
    return c;
  }
};

Index line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<Index>(std::count(
                 text.begin(),
                 text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n'));
}

}  // namespace

namespace {

// A libcsv parser in strict mode that reports every line end (CSV_REPALL_NL) so the Reader can
// tell CRLF from a bare CR.
using Parser = std::unique_ptr<csv_parser, void (*)(csv_parser*)>;

Parser make_parser(csv_parser& parser, char delimiter) {
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
    throw Error("internal error: csv_init failed (out of memory).");
  }
  csv_set_delim(&parser, static_cast<unsigned char>(delimiter));
  return Parser(&parser, csv_free);
}

// Feeds `chunk` (which ends at offset `end` of the text seen so far) to the parser; throws the
// Reader's error or libcsv's.
void feed(csv_parser& parser, Reader& r, std::string_view chunk, std::string_view seen) {
  const std::size_t used =
      csv_parse(&parser, chunk.data(), chunk.size(), Reader::cb_field, Reader::cb_row, &r);
  if (!r.error.empty()) throw InvalidInput(r.error);
  if (used != chunk.size() && !r.stop) {
    const std::size_t at = seen.size() - chunk.size() + used;
    throw InvalidInput(r.where + ": malformed CSV near line " + std::to_string(line_of(seen, at)) +
                       " (" + csv_strerror(csv_error(&parser)) +
                       "); a quote inside a field must be doubled and the field quoted.");
  }
}

void finish(csv_parser& parser, Reader& r) {
  if (csv_fini(&parser, Reader::cb_field, Reader::cb_row, &r) != 0 && r.error.empty()) {
    throw InvalidInput(r.where + ": the file ends inside a quoted field (" +
                       csv_strerror(csv_error(&parser)) + "); close the last quote.");
  }
  if (!r.error.empty()) throw InvalidInput(r.error);
}

std::size_t bom_length(std::string_view text) {
  return text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
}

// Opens `path` for reading; a directory or a device is an InvalidInput naming the path.
std::ifstream open_input(const std::string& path, const std::string& who) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::directory) {
    throw InvalidInput(who + ": " + quote_data(path) + " is a directory; pass a CSV file.");
  }
  if (!ec && st.type() != std::filesystem::file_type::regular &&
      st.type() != std::filesystem::file_type::not_found) {
    throw InvalidInput(who + ": " + quote_data(path) +
                       " is not a regular file (a device, pipe or socket); pass a CSV file.");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InvalidInput(who + ": cannot open " + quote_data(path) +
                       " for reading; check the path and its permissions.");
  }
  return in;
}

}  // namespace

Table parse_csv(std::string_view text, const CsvReadOptions& options, const std::string& source) {
  options.validate();
  const std::string where = "read_csv: " + printable(source);
  const std::size_t bom = bom_length(text);
  text.remove_prefix(bom);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw InvalidInput(where +
                       " is empty; expected a header line with column names and data rows.");
  }
  Reader r(options, where);
  r.text = text;
  r.bom = bom;
  csv_parser parser;
  const Parser guard = make_parser(parser, options.delimiter);
  feed(parser, r, text, text);
  finish(parser, r);
  if (r.in_header || r.data_rows == 0) {
    throw InvalidInput(where +
                       " has a header but no data rows; the file needs at least one row "
                       "of values after the header.");
  }
  r.check_mixed();
  Table t;
  for (std::size_t j = 0; j < r.header.size(); ++j) {
    switch (r.roles[j]) {
      case Role::kNumeric:
        t.add_column(Column::numeric(r.header[j], std::move(r.values[j])));
        break;
      case Role::kCategorical: {
        Column c = r.finish_categorical(j);
        c.inferred = r.inferred[j];
        t.add_column(std::move(c));
        break;
      }
      case Role::kTime:
        t.add_column(r.finish_time(j));
        break;
    }
  }
  return t;
}

Table read_csv(const std::string& path, const CsvReadOptions& options) {
  std::ifstream in = open_input(path, "read_csv");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_csv(buf.str(), options, path);
}

std::vector<std::string> read_csv_header(const std::string& path, char delimiter) {
  CsvReadOptions options;
  options.delimiter = delimiter;
  options.validate();
  std::ifstream in = open_input(path, "read_csv_header");
  const std::string where = "read_csv_header: " + printable(path);
  Reader r(options, where);
  r.header_only = true;
  csv_parser parser;
  const Parser guard = make_parser(parser, delimiter);
  std::string seen;  // the bytes read so far (the header is at the start)
  std::vector<char> chunk(1 << 16);
  while (!r.stop && in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    std::string_view part(chunk.data(), got);
    if (seen.empty()) {
      r.bom = bom_length(part);
      part.remove_prefix(r.bom);
    }
    seen.append(part);
    r.text = seen;
    feed(parser, r, part, seen);
  }
  if (!r.stop) finish(parser, r);
  if (r.header.empty()) {
    throw InvalidInput(where +
                       " is empty; a CSV file needs a header line of column names and at least "
                       "one data row.");
  }
  return r.header;
}

namespace {

void write_field(std::ostream& out, const std::string& s, char delim) {
  // A field starting with a byte-order mark is quoted: unquoted at the start of the file, the
  // reader would take it for the file's own mark and drop it.
  if (s.find_first_of(std::string{delim, '"', '\n', '\r'}) == std::string::npos &&
      s.rfind("\xEF\xBB\xBF", 0) != 0) {
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
      const std::string text = cols[j].text(i);
      // A one-column row that is missing is written "" : an empty line is not a record.
      if (text.empty() && cols.size() == 1) {
        out << "\"\"";
      } else {
        write_field(out, text, delimiter);
      }
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
