// SPDX-License-Identifier: Apache-2.0
/// @file table.hpp
/// A column-oriented table of doubles (NaN = missing) with categorical and time columns, and its
/// CSV reader/writer (Debian's libcsv underneath). This is how files enter the command-line tool.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/categories.hpp>

#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace calibrisk {

/// What the values of a column mean.
enum class ColumnKind {
  kNumeric,      ///< plain numbers; NaN = missing
  kCategorical,  ///< integer codes into `Column::categories`; NaN = missing
  kTime,         ///< an order key: see `TimeEncoding`
};

/// How a time column's values were written in the file.
enum class TimeEncoding {
  kDays,    ///< ISO 8601 dates/date-times, stored as fractional days since 1970-01-01 UTC
  kNumber,  ///< plain numbers, used as they are (an order key)
};

/// The code given to a category that is not in a column's known mapping (see
/// `CsvReadOptions::category_mappings`): distinct from every real code (0, 1, ...) and from
/// missing (NaN), so a model sees "a value it never saw in training" rather than "missing".
inline constexpr double kUnseenCategory = -1.0;

/// One named column. `values` holds one double per row; NaN marks a missing value.
struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<double> values;
  /// kCategorical only: code k stands for `categories[k]`; codes are 0..size-1, NaN (missing)
  /// or `kUnseenCategory`.
  std::vector<std::string> categories;
  /// kTime only.
  TimeEncoding time_encoding = TimeEncoding::kNumber;
  /// kCategorical read with a level table (`CsvReadOptions::category_levels`): how many labels
  /// were not levels and were encoded by the unseen policy (an ancestor's code or NaN).
  Index n_unseen_labels = 0;
  /// kCategorical only: the code hierarchy declared for the column at training
  /// (`CsvReadOptions::code_hierarchies`), recorded in the schema with the labels.
  CodeHierarchy hierarchy;
  /// kCategorical fitted with a hierarchy: the labels pooled into an ancestor level.
  std::vector<std::string> pooled_labels;
  /// kCategorical fitted from the file: training rows per level (parallel to `categories`).
  std::vector<Index> category_counts;
  /// kCategorical read because it holds text, without being declared
  /// (`CsvReadOptions::infer_categorical`).
  bool inferred = false;

  /// A numeric column.
  static Column numeric(std::string name, std::vector<double> values);
  /// A categorical column from codes and the labels they stand for.
  static Column categorical(std::string name, std::vector<double> codes,
                            std::vector<std::string> categories);
  /// A time column of fractional days since 1970-01-01 (written back as ISO 8601).
  static Column time_days(std::string name, std::vector<double> days);
  /// A time column of plain numbers (an order key).
  static Column time_number(std::string name, std::vector<double> keys);

  /// The text of row i as the CSV writer prints it ("" when missing).
  std::string text(Index i) const;
};

/// A column-oriented table: every column has `rows()` values.
///
/// Columns keep their insertion order; names are unique. Copyable and movable; const methods are
/// thread-safe.
class Table {
 public:
  Table() = default;

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return static_cast<Index>(columns_.size()); }
  const std::vector<Column>& columns() const noexcept { return columns_; }
  /// Column names in order.
  std::vector<std::string> names() const;

  /// Appends a column. Throws InvalidInput when the name is empty or already used, when its
  /// length differs from the other columns', or when a categorical code is not an integer in
  /// [0, categories.size()) (NaN and `kUnseenCategory` are allowed).
  void add_column(Column column);

  /// True when a column of that name exists.
  bool has_column(std::string_view name) const noexcept { return index_of(name) >= 0; }
  /// Position of the column, or -1.
  Index index_of(std::string_view name) const noexcept;
  /// The column of that name; throws InvalidInput listing the available names when absent.
  const Column& column(std::string_view name) const;

  /// A `(rows, names.size())` row-major matrix of the named columns (codes for categorical
  /// columns, NaN for missing). Throws InvalidInput naming an absent column.
  RowMatrixXd to_matrix(const std::vector<std::string>& names) const;

  /// Every categorical column's labels (code k -> labels[k]), keyed by column name: pass it as
  /// `CsvReadOptions::category_mappings` so a new file is encoded the same way.
  std::map<std::string, std::vector<std::string>> category_mappings() const;

 private:
  std::vector<Column> columns_;
  Index rows_ = 0;
};

/// How `read_csv` interprets a file.
struct CsvReadOptions {
  /// Columns whose values are labels, encoded to integer codes. Without a known mapping the
  /// levels are fitted by CategoryLevels::fit (codes follow the byte-wise sorted order of the
  /// distinct labels; rare codes pooled when a hierarchy is declared).
  std::vector<std::string> categorical;
  /// Known label lists (code k -> labels[k]) from a training file: those columns are categorical
  /// and encoded with exactly these codes; a label not in the list gets `kUnseenCategory`. This is
  /// how models saved before format 1.4 (labels in the provenance) are scored.
  std::map<std::string, std::vector<std::string>> category_mappings;
  /// Level tables (a model file's schema labels, format 1.4): those columns are categorical and
  /// each label is encoded by CategoryLevels::encode (a label that is not a level becomes its
  /// nearest level ancestor under a declared hierarchy, otherwise NaN);
  /// `Column::n_unseen_labels` counts those labels. Takes precedence over `category_mappings`.
  std::map<std::string, CategoryLevels> category_levels;
  /// With `category_levels`: encode a label that is not a level as `kUnseenCategory` instead of
  /// by the unseen policy, so that a drift check (`calibrisk monitor`) counts it as an unseen
  /// category rather than as missing or as its ancestor. Scoring keeps the policy (false).
  bool mark_unseen_labels = false;
  /// Training: code hierarchies of categorical columns (each must also be in `categorical`); a
  /// label with fewer than `hierarchy_min_count` rows is pooled into an ancestor (see
  /// CategoryLevels::fit; docs/categorical.md).
  std::map<std::string, CodeHierarchy> code_hierarchies;
  Index hierarchy_min_count = kDefaultHierarchyMinCount;  ///< >= 1
  /// Most distinct levels of a categorical column read without a mapping; more is an
  /// InvalidInput naming the column. In [1, kMaxCategoryLevels].
  Index max_category_levels = kMaxCategoryLevels;
  /// Reads a column that holds text as categorical without it being declared: a column with no
  /// declared role (not categorical, mapped, with levels, the time column or in
  /// `numeric_columns`) whose non-missing values are all text (none parses as a number) becomes a
  /// categorical column with `Column::inferred` set. A column holding both numbers and text is
  /// ambiguous (codes such as `250.8` and `V57`, or a lab value with a stray note): InvalidInput
  /// naming every such column with its first number and first text value and their rows. Off
  /// (the default): every undeclared column must hold numbers.
  bool infer_categorical = false;
  /// With `infer_categorical`: columns that are always read as numbers (e.g. a 0/1 label).
  std::vector<std::string> numeric_columns;
  /// The time column ("" = none): every value must be an ISO 8601 date/date-time (stored as days
  /// since 1970-01-01) or every value a number (an order key); missing values are an error.
  std::string time_column;
  /// Columns the file must have (e.g. the label); an absent one is an InvalidInput.
  std::vector<std::string> required_columns;
  /// Field texts (after trimming spaces) that mean "missing".
  std::vector<std::string> na_values{"", "NA", "?"};
  /// Field separator; must not be the quote character `"` or a line break.
  char delimiter = ',';

  /// Throws InvalidParams naming the field: a bad delimiter, a column both in `categorical` and
  /// `time_column`, an empty name, or a duplicate label within a mapping.
  void validate() const;
};

/// Reads a CSV file with a header line of column names.
///
/// The file must be UTF-8 (a byte-order mark at the start is skipped) with LF or CRLF line ends.
/// Quoted fields (RFC 4180, quotes doubled inside) and blank lines are handled by libcsv. Spaces
/// around unquoted fields are trimmed. Values in `na_values` are missing (NaN). Every column that
/// is neither categorical nor the time column is parsed strictly as a finite decimal number,
/// unless `infer_categorical` reads a text column as categorical.
///
/// Throws InvalidInput, naming the file and the 1-based data row (the first line after the
/// header is data row 1): when the path is a directory or not a regular file, cannot be opened,
/// is empty or has no data rows; on a byte that is not well-formed UTF-8 or a NUL byte (naming the
/// row, the column and the byte offset in the file); on a bare CR line end; on a malformed quote;
/// a row with a different number of fields than the header; a duplicate or empty column name; a
/// missing required/categorical/time column; a non-numeric value in a numeric column (naming the
/// column, row and value, and suggesting `categorical`), or with `infer_categorical` a column
/// holding both numbers and text (naming every such column); a time value that is neither ISO 8601
/// nor a number (or an impossible date such as 2023-02-30), or missing. Messages quote at most
/// `kMessageQuoteChars` characters of data, escaped (`printable`). Complexity O(file size);
/// reentrant.
Table read_csv(const std::string& path, const CsvReadOptions& options = {});

/// The column names of a CSV file's header line, read and checked as `read_csv` does (UTF-8,
/// line ends, quoting, empty or repeated names) without reading the rest of the file. Throws
/// InvalidInput as `read_csv` does, and when the file is empty.
std::vector<std::string> read_csv_header(const std::string& path, char delimiter = ',');

/// `read_csv` on text in memory; `source` names it in messages.
Table parse_csv(std::string_view text, const CsvReadOptions& options = {},
                const std::string& source = "<memory>");

/// Writes a header and one line per row: numbers in the shortest form that reads back to the
/// same double, categorical labels, time columns as ISO 8601 (kDays) or numbers, missing (and
/// `kUnseenCategory`) as an empty field; fields containing the delimiter, a quote or a line
/// break are quoted. Throws Error when the stream fails.
void write_csv(const Table& table, std::ostream& out, char delimiter = ',');
/// Writes to a file (replaced); throws InvalidInput when it cannot be opened.
void write_csv(const Table& table, const std::string& path, char delimiter = ',');

}  // namespace calibrisk
