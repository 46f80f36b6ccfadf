// SPDX-License-Identifier: Apache-2.0
// The column-oriented Table: construction checks, lookups and conversion to a feature matrix.
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>

#include <charconv>
#include <cmath>

namespace calibrisk {

namespace {

std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

Column Column::numeric(std::string name, std::vector<double> values) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kNumeric;
  c.values = std::move(values);
  return c;
}

Column Column::categorical(std::string name, std::vector<double> codes,
                           std::vector<std::string> categories) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kCategorical;
  c.values = std::move(codes);
  c.categories = std::move(categories);
  return c;
}

Column Column::time_days(std::string name, std::vector<double> days) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kTime;
  c.values = std::move(days);
  c.time_encoding = TimeEncoding::kDays;
  return c;
}

Column Column::time_number(std::string name, std::vector<double> keys) {
  Column c = time_days(std::move(name), std::move(keys));
  c.time_encoding = TimeEncoding::kNumber;
  return c;
}

std::string Column::text(Index i) const {
  const double v = values[static_cast<std::size_t>(i)];
  if (std::isnan(v)) return {};
  switch (kind) {
    case ColumnKind::kCategorical:
      if (v < 0) return {};  // kUnseenCategory has no label
      return categories[static_cast<std::size_t>(v)];
    case ColumnKind::kTime:
      if (time_encoding == TimeEncoding::kDays) return format_iso_datetime(v);
      return shortest(v);
    case ColumnKind::kNumeric:
      break;
  }
  return shortest(v);
}

std::vector<std::string> Table::names() const {
  std::vector<std::string> out;
  out.reserve(columns_.size());
  for (const auto& c : columns_) out.push_back(c.name);
  return out;
}

void Table::add_column(Column column) {
  if (column.name.empty()) {
    throw InvalidInput("Table::add_column: the column name is empty; give every column a name.");
  }
  if (has_column(column.name)) {
    throw InvalidInput("Table::add_column: a column named " + quote_for_message(column.name) +
                       " already exists; column names must be unique.");
  }
  const auto n = static_cast<Index>(column.values.size());
  if (!columns_.empty() && n != rows_) {
    throw InvalidInput("Table::add_column: column " + quote_for_message(column.name) + " has " +
                       std::to_string(n) + " values but the table has " + std::to_string(rows_) +
                       " rows; pass one value per row.");
  }
  if (column.kind == ColumnKind::kCategorical) {
    const auto k = static_cast<double>(column.categories.size());
    for (Index i = 0; i < n; ++i) {
      const double v = column.values[static_cast<std::size_t>(i)];
      if (std::isnan(v) || v == kUnseenCategory) continue;
      if (!(v >= 0 && v < k && v == std::floor(v))) {
        throw InvalidInput("Table::add_column: categorical column " +
                           quote_for_message(column.name) + " has code " + shortest(v) +
                           " at row " + std::to_string(i) + ", which is not an integer in [0, " +
                           std::to_string(column.categories.size()) +
                           "); codes index the column's categories.");
      }
    }
  }
  rows_ = n;
  columns_.push_back(std::move(column));
}

Index Table::index_of(std::string_view name) const noexcept {
  for (std::size_t j = 0; j < columns_.size(); ++j) {
    if (columns_[j].name == name) return static_cast<Index>(j);
  }
  return -1;
}

const Column& Table::column(std::string_view name) const {
  const Index j = index_of(name);
  if (j < 0) {
    const std::string avail = list_for_message(names());
    throw InvalidInput("Table: no column named " + quote_for_message(name) +
                       "; the columns are: " + (avail.empty() ? "(none)" : avail) + ".");
  }
  return columns_[static_cast<std::size_t>(j)];
}

RowMatrixXd Table::to_matrix(const std::vector<std::string>& names) const {
  std::vector<const Column*> cols;
  cols.reserve(names.size());
  for (const auto& n : names) cols.push_back(&column(n));
  RowMatrixXd X(rows_, static_cast<Index>(names.size()));
  for (std::size_t j = 0; j < cols.size(); ++j) {
    const auto& v = cols[j]->values;
    for (Index i = 0; i < rows_; ++i) X(i, static_cast<Index>(j)) = v[static_cast<std::size_t>(i)];
  }
  return X;
}

std::map<std::string, std::vector<std::string>> Table::category_mappings() const {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& c : columns_) {
    if (c.kind == ColumnKind::kCategorical) out[c.name] = c.categories;
  }
  return out;
}

}  // namespace calibrisk
