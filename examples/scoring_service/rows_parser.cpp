// SPDX-License-Identifier: Apache-2.0
#include "rows_parser.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace scoring {
namespace {

using json = nlohmann::json;
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
const char* const kShape = "send {\"rows\": [[...], ...]}.";

enum class Kind { Null, Boolean, Number, String, Binary, Array, Object };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Null:
      return "null";
    case Kind::Boolean:
      return "a boolean";
    case Kind::Number:
      return "a number";
    case Kind::String:
      return "a string";
    case Kind::Binary:
      return "binary";
    case Kind::Array:
      return "an array";
    case Kind::Object:
      return "an object";
  }
  return "?";
}

// One open array or object of the body.
enum class Level { Top, Rows, ArrayRow, ObjectRow, Skipped };

// nlohmann-json SAX handler. With out == nullptr it only validates and counts the rows; with a
// buffer of n_rows * p doubles it also stores the values.
class RowsSax {
 public:
  RowsSax(const std::vector<std::string>& names,
          const std::unordered_map<std::string, std::size_t>& index, std::size_t max_rows,
          double* out)
      : names_(names), index_(index), p_(names.size()), max_rows_(max_rows), out_(out) {
    seen_.resize(p_);
  }

  bool null() { return value(Kind::Null, kMissing); }
  bool boolean(bool) { return value(Kind::Boolean, 0.0); }
  bool number_integer(json::number_integer_t v) {
    return value(Kind::Number, static_cast<double>(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return value(Kind::Number, static_cast<double>(v));
  }
  bool number_float(json::number_float_t v, const std::string&) { return value(Kind::Number, v); }
  bool string(std::string&) { return value(Kind::String, 0.0); }
  bool binary(json::binary_t&) { return value(Kind::Binary, 0.0); }
  bool start_object(std::size_t) { return value(Kind::Object, 0.0); }
  bool start_array(std::size_t) { return value(Kind::Array, 0.0); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k);
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    const auto cut = what.find("] ");
    if (cut != std::string::npos) what.erase(0, cut + 2);
    return fail("the body is not valid JSON (byte " + std::to_string(position) + ": " +
                quote(what) + "); " + kShape);
  }

  std::size_t n_rows() const { return n_rows_; }
  const std::string& error() const { return error_; }

 private:
  bool value(Kind kind, double x);
  bool row(Kind kind);
  bool cell(Kind kind, double x);
  bool open(Level level);
  bool close();
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  std::string row_name() const { return "rows[" + std::to_string(n_rows_) + "]"; }

  const std::vector<std::string>& names_;
  const std::unordered_map<std::string, std::size_t>& index_;
  std::size_t p_, max_rows_;
  double* out_;
  std::vector<Level> levels_;
  bool rows_next_ = false, rows_seen_ = false;
  std::size_t n_rows_ = 0, col_ = 0;  // the row being read and its column
  std::vector<char> seen_;            // object rows: the features given so far
  std::string error_;
};

// Every value of the body (scalars and the start of arrays / objects) comes through here.
bool RowsSax::value(Kind kind, double x) {
  const bool container = kind == Kind::Array || kind == Kind::Object;
  if (levels_.empty()) {
    if (kind != Kind::Object) {
      return fail(std::string("the body is ") + kind_name(kind) + ", not an object; " + kShape);
    }
    return open(Level::Top);
  }
  switch (levels_.back()) {
    case Level::Top:
      if (!std::exchange(rows_next_, false)) return container ? open(Level::Skipped) : true;
      if (kind != Kind::Array) {
        return fail(std::string("\"rows\" is ") + kind_name(kind) + ", not an array; " + kShape);
      }
      return open(Level::Rows);
    case Level::Rows:
      return row(kind);
    case Level::ArrayRow:
    case Level::ObjectRow:
      return cell(kind, x);
    case Level::Skipped:
      return container ? open(Level::Skipped) : true;
  }
  return fail("internal parser state error");
}

bool RowsSax::row(Kind kind) {
  if (kind != Kind::Array && kind != Kind::Object) {
    return fail(row_name() + " is " + kind_name(kind) +
                "; each row is an array of values in schema order or an object keyed by feature "
                "name.");
  }
  if (n_rows_ == max_rows_) {
    return fail("\"rows\" has more than " + std::to_string(max_rows_) +
                " rows (the service's --max-rows limit); split the request.");
  }
  if (out_ != nullptr) std::fill_n(out_ + n_rows_ * p_, p_, kMissing);
  std::fill(seen_.begin(), seen_.end(), 0);
  col_ = 0;
  return open(kind == Kind::Array ? Level::ArrayRow : Level::ObjectRow);
}

bool RowsSax::cell(Kind kind, double x) {
  const bool by_name = levels_.back() == Level::ObjectRow;
  if (!by_name && col_ >= p_) {
    return fail(row_name() + " has more than " + std::to_string(p_) +
                " values; the model expects " + std::to_string(p_) +
                " features (GET /health lists them).");
  }
  const std::string where =
      row_name() + "[" + (by_name ? names_[col_] : std::to_string(col_)) + "]";
  if (kind != Kind::Null && kind != Kind::Number) {
    return fail(where + " is " + kind_name(kind) + "; values must be numbers or null (missing).");
  }
  if (!std::isnan(x) && !std::isfinite(x)) return fail(where + " is not finite.");
  if (out_ != nullptr) out_[n_rows_ * p_ + col_] = x;
  if (!by_name) ++col_;
  return true;
}

bool RowsSax::key(std::string& k) {
  switch (levels_.back()) {
    case Level::Top:
      rows_next_ = k == "rows";
      if (rows_next_ && std::exchange(rows_seen_, true)) {
        return fail("the key \"rows\" appears twice; send it once.");
      }
      return true;
    case Level::ObjectRow: {
      const auto it = index_.find(k);
      if (it == index_.end()) {
        return fail(row_name() + " has the key " + quote(k) +
                    ", which is not a feature of the model; GET /health lists the feature names.");
      }
      if (seen_[it->second] != 0) return fail(row_name() + " has the key " + quote(k) + " twice.");
      seen_[it->second] = 1;
      col_ = it->second;
      return true;
    }
    default:
      return true;
  }
}

bool RowsSax::open(Level level) {
  if (levels_.size() >= kMaxJsonDepth) {
    return fail("the body is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels; " +
                kShape);
  }
  levels_.push_back(level);
  return true;
}

bool RowsSax::close() {
  const Level level = levels_.back();
  levels_.pop_back();
  switch (level) {
    case Level::ArrayRow:
      if (col_ != p_) {
        return fail(row_name() + " has " + std::to_string(col_) + " values but the model expects " +
                    std::to_string(p_) + " features.");
      }
      ++n_rows_;
      return true;
    case Level::ObjectRow:
      ++n_rows_;
      return true;
    case Level::Rows:
      return n_rows_ > 0 || fail("\"rows\" is empty; send at least one row.");
    case Level::Top:
      return rows_seen_ || fail(std::string("the body has no \"rows\"; ") + kShape);
    case Level::Skipped:
      return true;
  }
  return fail("internal parser state error");
}

}  // namespace

RowsParser::RowsParser(std::vector<std::string> feature_names, std::size_t max_rows)
    : names_(std::move(feature_names)), max_rows_(max_rows) {
  for (std::size_t j = 0; j < names_.size(); ++j) index_.emplace(names_[j], j);
}

ParsedRows RowsParser::parse(std::string_view body) const {
  const char* first = body.data();
  const char* last = body.data() + body.size();
  ParsedRows out;
  {
    RowsSax check(names_, index_, max_rows_, nullptr);
    if (!json::sax_parse(first, last, &check)) {
      throw HttpError{400, check.error().empty() ? "the body is not valid JSON." : check.error()};
    }
    out.n_rows = check.n_rows();
  }
  out.values.resize(out.n_rows * names_.size());
  RowsSax fill(names_, index_, max_rows_, out.values.data());
  if (!json::sax_parse(first, last, &fill)) throw HttpError{500, "internal error: " + fill.error()};
  return out;
}

std::string quote(std::string_view s) {
  constexpr std::size_t kMax = 100;
  std::size_t n = std::min(s.size(), kMax);
  // Never cut a UTF-8 sequence in two (continuation bytes are 10xxxxxx).
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) --n;
  std::string q = "\"";
  q.append(s.substr(0, n));
  q += n < s.size() ? "...\"" : "\"";
  return q;
}

}  // namespace scoring
