// SPDX-License-Identifier: Apache-2.0
// Internal: what the binary and the multiclass report JSON share. Writing: numbers (NaN and
// infinities become null), estimates, undefined reasons, reliability bins, histograms and the
// file writer. Reading: `JsonReader<Who>`, accessors that name the JSON path they failed on and
// the function reading (Who::name), with the same rules for both documents.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/report/report.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::detail::report_json {

using json = nlohmann::ordered_json;  // keeps keys (provenance) in insertion order

// ---- writing -------------------------------------------------------------------------------

inline json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

inline json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

inline json est(const Estimate& e) {
  return json{{"value", num(e.value)}, {"lower", num(e.lower)}, {"upper", num(e.upper)}};
}

inline json reasons(const UndefinedReasons& u) {
  json o = json::object();
  for (const auto& [k, v] : u) o[k] = v;
  return o;
}

inline json bins(const std::vector<ReliabilityPoint>& bs) {
  json a = json::array();
  for (const auto& b : bs) {
    a.push_back({{"count", b.count},
                 {"mean_predicted", num(b.mean_predicted)},
                 {"observed", num(b.observed)},
                 {"lower", num(b.lower)},
                 {"upper", num(b.upper)}});
  }
  return a;
}

inline json histogram(const RiskHistogram& h) {
  return json{{"edges", nums(h.edges)}, {"counts", h.counts}};
}

inline json provenance(const std::vector<std::pair<std::string, std::string>>& p) {
  json prov = json::object();
  for (const auto& [k, v] : p) prov[k] = v;
  return prov;
}

// Writes `text` and a newline to `path` (replaced); `who` names the caller in errors.
inline void write_text_file(const std::string& text, const std::string& path, const char* who) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw InvalidInput(std::string(who) + ": cannot open '" + path +
                       "' for writing; check that the folder exists and is writable.");
  }
  out << text << '\n';
  out.close();
  if (!out) throw Error(std::string(who) + ": writing '" + path + "' failed (disk full?).");
}

// ---- reading -------------------------------------------------------------------------------

// Accessors over a parsed document; a value of the wrong type throws InvalidInput naming the
// reading function (Who::name) and the JSON path. Absent keys (and null) give the fallback.
template <class Who>
struct JsonReader {
  static std::string path_of(const std::string& base, const std::string& key) {
    return base + "/" + key;
  }
  [[noreturn]] static void bad(const std::string& path, const std::string& what) {
    throw InvalidInput(std::string(Who::name) + ": " + path + " " + what +
                       "; the file is not a calibrisk report or was edited by hand.");
  }
  static const json* opt(const json& j, const std::string& key) {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }
  static double number(const json& j, const std::string& key, const std::string& base,
                       double fallback = std::numeric_limits<double>::quiet_NaN()) {
    const json* v = opt(j, key);
    if (!v) return fallback;
    if (v->is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v->is_number()) bad(path_of(base, key), "must be a number or null");
    return v->template get<double>();
  }
  static Index integer(const json& j, const std::string& key, const std::string& base,
                       Index fallback = 0) {
    const json* v = opt(j, key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_number_integer()) bad(path_of(base, key), "must be an integer");
    return v->template get<Index>();
  }
  static std::string text(const json& j, const std::string& key, const std::string& base) {
    const json* v = opt(j, key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) bad(path_of(base, key), "must be a string");
    return v->template get<std::string>();
  }
  static bool flag(const json& j, const std::string& key, const std::string& base) {
    const json* v = opt(j, key);
    if (!v || v->is_null()) return false;
    if (!v->is_boolean()) bad(path_of(base, key), "must be true or false");
    return v->template get<bool>();
  }
  static std::vector<double> numbers(const json& j, const std::string& key,
                                     const std::string& base) {
    std::vector<double> out;
    const json* v = opt(j, key);
    if (!v || v->is_null()) return out;
    if (!v->is_array()) bad(path_of(base, key), "must be an array of numbers");
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& x = (*v)[i];
      if (x.is_null())
        out.push_back(std::numeric_limits<double>::quiet_NaN());
      else if (x.is_number())
        out.push_back(x.template get<double>());
      else
        bad(path_of(base, key) + "/" + std::to_string(i), "must be a number or null");
    }
    return out;
  }
  static std::vector<std::string> texts(const json& j, const std::string& key,
                                        const std::string& base) {
    std::vector<std::string> out;
    const json& a = array(j, key, base);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) bad(path_of(base, key) + "/" + std::to_string(i), "must be a string");
      out.push_back(a[i].template get<std::string>());
    }
    return out;
  }
  static const json& array(const json& j, const std::string& key, const std::string& base) {
    static const json empty = json::array();
    const json* v = opt(j, key);
    if (!v || v->is_null()) return empty;
    if (!v->is_array()) bad(path_of(base, key), "must be an array");
    return *v;
  }
  static const json& object(const json& j, const std::string& key, const std::string& base) {
    static const json empty = json::object();
    const json* v = opt(j, key);
    if (!v || v->is_null()) return empty;
    if (!v->is_object()) bad(path_of(base, key), "must be an object");
    return *v;
  }
  static UndefinedReasons undefined(const json& j, const std::string& base) {
    UndefinedReasons u;
    const json& o = object(j, "undefined", base);
    for (const auto& [k, v] : o.items()) {
      if (!v.is_string()) bad(path_of(base, "undefined") + "/" + k, "must be a string");
      u[k] = v.template get<std::string>();
    }
    return u;
  }
  static Estimate estimate(const json& j, const std::string& key, const std::string& base) {
    const json& e = object(j, key, base);
    const std::string p = path_of(base, key);
    return Estimate{number(e, "value", p), number(e, "lower", p), number(e, "upper", p)};
  }
  // The reliability bins at j[key] (path base/key/i).
  static std::vector<ReliabilityPoint> reliability(const json& j, const std::string& key,
                                                   const std::string& base) {
    std::vector<ReliabilityPoint> out;
    const json& bs = array(j, key, base);
    for (std::size_t i = 0; i < bs.size(); ++i) {
      const std::string bp = path_of(base, key) + "/" + std::to_string(i);
      ReliabilityPoint b;
      b.count = integer(bs[i], "count", bp);
      b.mean_predicted = number(bs[i], "mean_predicted", bp);
      b.observed = number(bs[i], "observed", bp);
      b.lower = number(bs[i], "lower", bp);
      b.upper = number(bs[i], "upper", bp);
      out.push_back(b);
    }
    return out;
  }
  // The histogram {edges, counts} at j[key].
  static RiskHistogram histogram(const json& j, const std::string& key, const std::string& base) {
    RiskHistogram out;
    const json& h = object(j, key, base);
    const std::string p = path_of(base, key);
    out.edges = numbers(h, "edges", p);
    for (const double v : numbers(h, "counts", p)) {
      if (!(v >= 0) || v != std::floor(v)) bad(p + "/counts", "must hold counts");
      out.counts.push_back(static_cast<Index>(v));
    }
    if (!out.counts.empty() && out.edges.size() != out.counts.size() + 1)
      bad(p, "needs one more edge than counts");
    return out;
  }
  static std::vector<std::pair<std::string, std::string>> provenance(const json& j) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : object(j, "provenance", "").items()) {
      out.emplace_back(k, v.is_string() ? v.template get<std::string>() : v.dump());
    }
    return out;
  }
  // The parsed text, checked to hold /format = Who::format and a /format_version this build
  // reads (1).
  static json parse_document(const std::string& document_text) {
    json j;
    try {
      j = json::parse(document_text);
    } catch (const json::parse_error& e) {
      throw InvalidInput(std::string(Who::name) + ": the text is not valid JSON (" + e.what() +
                         "); pass the output of " + Who::writer + ".");
    }
    if (!j.is_object() || text(j, "format", "") != Who::format) {
      throw InvalidInput(std::string(Who::name) + ": /format is not \"" + Who::format +
                         "\"; this JSON is not a " + Who::document + ".");
    }
    const Index version = integer(j, "format_version", "", 0);
    if (version < 1 || version > 1) {
      throw InvalidInput(std::string(Who::name) + ": /format_version is " +
                         std::to_string(version) +
                         " but this calibrisk reads version 1; upgrade calibrisk to read it.");
    }
    return j;
  }
};

}  // namespace calibrisk::detail::report_json
