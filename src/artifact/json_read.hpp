// SPDX-License-Identifier: Apache-2.0
// Strict, path-reporting readers over a parsed nlohmann::json document: every accessor checks the
// type, range and (for objects) the exact set of fields, and throws ModelFormatError naming the
// JSON path of the offending value. Internal to src/artifact/.
#pragma once

#include <calibrisk/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::detail::artifact {

using json = nlohmann::json;

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  throw ModelFormatError("load: " + (path.empty() ? std::string("/") : path) + " " + what);
}

inline const char* type_name(const json& j) noexcept {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

/// Encodes a double: finite values as JSON numbers (nlohmann writes the shortest text that reads
/// back to the same bits), NaN and infinities as the strings "NaN", "Infinity", "-Infinity".
inline json encode_double(double d) {
  if (std::isfinite(d)) return json(d);
  if (std::isnan(d)) return json("NaN");
  return json(d > 0 ? "Infinity" : "-Infinity");
}

inline json encode_doubles(const std::vector<double>& v) {
  json a = json::array();
  a.get_ref<json::array_t&>().reserve(v.size());
  for (double d : v) a.push_back(encode_double(d));
  return a;
}

template <class I>
json encode_ints(const std::vector<I>& v) {
  json a = json::array();
  a.get_ref<json::array_t&>().reserve(v.size());
  for (I x : v) a.push_back(static_cast<std::int64_t>(x));
  return a;
}

/// Reading state shared by the whole document.
struct ReadContext {
  std::size_t text_size = 0;  ///< Bound for declared sizes (nothing larger can be genuine).
  bool strict = true;         ///< Reject unknown fields (false for a newer minor version).
  int minor = 0;              ///< Minor format version of the document being read.
  int max_tree_depth = 1024;  ///< LoadOptions limits.
  std::int64_t max_tree_nodes = std::int64_t(1) << 20;
};

/// A JSON value and its path ("/model/state/trees/3").
class Node {
 public:
  Node(const json& j, std::string path, const ReadContext& ctx)
      : j_(&j), path_(std::move(path)), ctx_(&ctx) {}

  const json& raw() const noexcept { return *j_; }
  const std::string& path() const noexcept { return path_; }
  const ReadContext& ctx() const noexcept { return *ctx_; }

  [[noreturn]] void fail_here(const std::string& what) const { fail(path_, what); }
  [[noreturn]] void wrong_type(const char* expected) const {
    fail(path_, std::string("is ") + type_name(*j_) + " but must be " + expected +
                    "; the file was edited or is corrupt.");
  }

  /// Requires an object with exactly `keys` (each present) and possibly `optional` keys; other
  /// keys are rejected when strict.
  void expect_object(std::initializer_list<const char*> keys,
                     std::initializer_list<const char*> optional = {}) const {
    expect_object(std::vector<const char*>(keys), std::vector<const char*>(optional));
  }
  void expect_object(const std::vector<const char*>& keys,
                     const std::vector<const char*>& optional) const {
    if (!j_->is_object()) wrong_type("an object");
    std::size_t present = keys.size();
    for (const char* k : keys) {
      if (j_->find(k) == j_->end()) {
        fail(path_ + "/" + k, "is missing; the file is truncated or was edited by hand.");
      }
    }
    for (const char* k : optional) present += j_->find(k) != j_->end() ? 1 : 0;
    if (ctx_->strict && j_->size() != present) {
      for (auto it = j_->begin(); it != j_->end(); ++it) {
        bool known = false;
        for (const char* k : keys) known = known || it.key() == k;
        for (const char* k : optional) known = known || it.key() == k;
        if (!known) {
          fail(path_ + "/" + it.key(),
               "is not a field of this format version; remove it (or "
               "load the file with the calibrisk version that wrote it).");
        }
      }
    }
  }

  Node operator[](const char* key) const {
    auto it = j_->find(key);
    if (it == j_->end()) {
      fail(path_ + "/" + key, "is missing; the file is truncated or was edited by hand.");
    }
    return Node(*it, path_ + "/" + key, *ctx_);
  }

  Node at(std::size_t i) const { return Node((*j_)[i], path_ + "/" + std::to_string(i), *ctx_); }

  std::size_t array_size() const {
    if (!j_->is_array()) wrong_type("an array");
    return j_->size();
  }

  std::string as_string(std::size_t max_len = 1 << 20) const {
    if (!j_->is_string()) wrong_type("a string");
    const auto& s = j_->get_ref<const std::string&>();
    if (s.size() > max_len)
      fail_here("is a string longer than " + std::to_string(max_len) + " bytes.");
    return s;
  }

  bool as_bool() const {
    if (!j_->is_boolean()) wrong_type("true or false");
    return j_->get<bool>();
  }

  std::int64_t as_int(std::int64_t lo, std::int64_t hi) const {
    std::int64_t v = 0;
    if (j_->is_number_integer() && !j_->is_number_unsigned()) {
      v = j_->get<std::int64_t>();
    } else if (j_->is_number_unsigned()) {
      const std::uint64_t u = j_->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi)) out_of_range(std::to_string(u), lo, hi);
      v = static_cast<std::int64_t>(u);
    } else {
      wrong_type("an integer");
    }
    if (v < lo || v > hi) out_of_range(std::to_string(v), lo, hi);
    return v;
  }

  std::uint64_t as_uint64() const {
    if (j_->is_number_unsigned()) return j_->get<std::uint64_t>();
    if (j_->is_number_integer()) fail_here("is negative but must be an unsigned integer.");
    wrong_type("an unsigned integer");
  }

  /// A double: a JSON number or one of "NaN", "Infinity", "-Infinity".
  double as_double() const {
    double d = 0.0;
    if (read_double(*j_, d)) return d;
    wrong_type("a number (or \"NaN\", \"Infinity\", \"-Infinity\")");
  }
  /// A finite double.
  double as_finite() const {
    const double d = as_double();
    if (!std::isfinite(d)) fail_here("is " + describe(d) + " but must be a finite number.");
    return d;
  }

  std::vector<double> as_doubles(bool finite_only = false) const {
    const std::size_t n = array_size();
    std::vector<double> out(n);
    const auto& a = j_->get_ref<const json::array_t&>();
    for (std::size_t i = 0; i < n; ++i) {
      const json& e = a[i];
      double d;
      if (e.is_number_float()) {
        d = e.get_ref<const json::number_float_t&>();
        if (!std::isfinite(d)) {
          at(i).fail_here("overflows a double; write \"Infinity\" or \"-Infinity\" explicitly.");
        }
      } else if (!read_double(e, d)) {
        at(i).wrong_type("a number (or \"NaN\", \"Infinity\", \"-Infinity\")");
      }
      if (finite_only && !std::isfinite(d)) {
        fail(path_ + "/" + std::to_string(i), "is " + describe(d) + " but must be finite.");
      }
      out[i] = d;
    }
    return out;
  }

  template <class I>
  std::vector<I> as_ints(std::int64_t lo, std::int64_t hi) const {
    const std::size_t n = array_size();
    std::vector<I> out(n);
    const auto& a = j_->get_ref<const json::array_t&>();
    for (std::size_t i = 0; i < n; ++i) {
      const json& e = a[i];
      std::int64_t v;
      if (e.is_number_unsigned()) {
        const std::uint64_t u = e.get<std::uint64_t>();
        v = u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                ? std::numeric_limits<std::int64_t>::max()
                : static_cast<std::int64_t>(u);
      } else if (e.is_number_integer()) {
        v = e.get<std::int64_t>();
      } else {
        at(i).wrong_type("an integer");
      }
      if (v < lo || v > hi) at(i).out_of_range(std::to_string(v), lo, hi);
      out[i] = static_cast<I>(v);
    }
    return out;
  }

  [[noreturn]] void out_of_range(const std::string& v, std::int64_t lo, std::int64_t hi) const {
    fail_here("is " + v + " but must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
              "].");
  }

  static std::string describe(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return json(d).dump();
  }

 private:
  static bool read_double(const json& e, double& d) {
    if (e.is_number_float()) {
      d = e.get<double>();
      // "1e999" parses to infinity; only the explicit strings may encode non-finite values.
      return std::isfinite(d);
    }
    if (e.is_number_integer()) {
      d = e.is_number_unsigned() ? static_cast<double>(e.get<std::uint64_t>())
                                 : static_cast<double>(e.get<std::int64_t>());
      return true;
    }
    if (e.is_string()) {
      const auto& s = e.get_ref<const std::string&>();
      if (s == "NaN") {
        d = std::numeric_limits<double>::quiet_NaN();
        return true;
      }
      if (s == "Infinity") {
        d = std::numeric_limits<double>::infinity();
        return true;
      }
      if (s == "-Infinity") {
        d = -std::numeric_limits<double>::infinity();
        return true;
      }
    }
    return false;
  }

  const json* j_;
  std::string path_;
  const ReadContext* ctx_;
};

}  // namespace calibrisk::detail::artifact
