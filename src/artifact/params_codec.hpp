// SPDX-License-Identifier: Apache-2.0
// The one encoder and decoder of every Params struct, driven by its `fields` declaration
// (include/calibrisk/core/params.hpp): the "params" objects of the model file
// (src/artifact/codec.cpp) and the exact copies Python pickles (bindings/python/bind_params.hpp).
// Internal to calibrisk.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/core/weights.hpp>

#include "artifact/json_read.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace calibrisk::detail::artifact {

/// What encode_params writes and decode_params expects.
enum class ParamsScope {
  kModelFile,  ///< A model file's params: no execution settings; newer fields only when set.
  kAll,        ///< Every declared field, each required when read.
};

inline constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
inline constexpr std::int64_t kIntMin = std::numeric_limits<int>::min();

// ---- enums as strings (the tables declared next to each enum) ---------------------------------

// An enum written in a file: its canonical spelling only (files never hold the old aliases).
template <class E>
E decode_enum(const Node& n) {
  const std::string s = n.as_string(32);
  E v{};
  std::string alias;
  if (!enum_from_text(s, v, alias) || !alias.empty()) {
    n.fail_here("is \"" + s + "\" but must be " + enum_choices<E>("\"") + ".");
  }
  return v;
}

inline json encode_class_weight(const ClassWeight& w) {
  json j = {
      {"kind", enum_to_text(w.kind)}, {"w0", encode_double(w.w0)}, {"w1", encode_double(w.w1)}};
  // Format 1.5: explicit multiclass weights, written only when set (binary files keep their bytes).
  if (!w.per_class.empty()) j["per_class"] = encode_doubles(w.per_class);
  return j;
}
inline ClassWeight decode_class_weight(const Node& n) {
  n.expect_object({"kind", "w0", "w1"}, {"per_class"});
  ClassWeight w;
  w.kind = decode_enum<ClassWeight::Kind>(n["kind"]);
  w.w0 = n["w0"].as_double();
  w.w1 = n["w1"].as_double();
  if (n.raw().find("per_class") != n.raw().end()) w.per_class = n["per_class"].as_doubles(true);
  return w;
}

// `n_threads` is an execution setting, not a model parameter: files of format 1.0 carry it (an
// integer, checked and ignored); 1.1 files do not, so a model file does not depend on the thread
// count it was trained with. The loaded Params keep their default (all cores).
inline void skip_n_threads(const Node& params) {
  if (params.raw().find("n_threads") != params.raw().end()) {
    (void)params["n_threads"].as_int(kIntMin, kIntMax);
  }
}

// Runs a Params::validate() and reports a failure at the params path.
template <class P>
void check_params(const P& p, const Node& n) {
  try {
    p.validate();
  } catch (const InvalidInput& e) {
    n.fail_here(std::string("holds an invalid parameter: ") + e.what());
  }
}

// ---- params objects: one encoder and one decoder for every Params struct -----------------------
//
// Driven by the struct's `fields` declaration. Execution settings and limits (kParamExecution:
// threads, size limits) are not written. A field added in format 1.k (k >= 1, `since`) is written
// only when it differs from its default and is optional when read (absent = its default), so
// models that keep the default give files byte-identical to, and loadable by, earlier releases.

template <class T>
json encode_value(const T& v) {
  if constexpr (std::is_same_v<T, double>) {
    return encode_double(v);
  } else if constexpr (std::is_same_v<T, ClassWeight>) {
    return encode_class_weight(v);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    return encode_ints(v);
  } else if constexpr (std::is_enum_v<T>) {
    return enum_to_text(v);
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint64_t>) {
    return v;
  } else {
    static_assert(std::is_integral_v<T>, "no file encoding for this field type");
    return static_cast<std::int64_t>(v);
  }
}

template <class T>
void decode_value(const Node& n, const ParamSpec& s, T& out) {
  if constexpr (std::is_same_v<T, double>) {
    out = n.as_double();
  } else if constexpr (std::is_same_v<T, bool>) {
    out = n.as_bool();
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    out = n.as_uint64();
  } else if constexpr (std::is_same_v<T, ClassWeight>) {
    out = decode_class_weight(n);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    // An open-ended range (at_least) is bounded by int's range.
    out = s.checked
              ? n.as_ints<int>(s.lo > double(kIntMin) ? static_cast<std::int64_t>(s.lo) : kIntMin,
                               s.hi < double(kIntMax) ? static_cast<std::int64_t>(s.hi) : kIntMax)
              : n.as_ints<int>(kIntMin, kIntMax);
  } else if constexpr (std::is_enum_v<T>) {
    out = decode_enum<T>(n);
  } else {
    static_assert(std::is_integral_v<T>, "no file decoding for this field type");
    constexpr auto lo = static_cast<std::int64_t>(std::numeric_limits<T>::min());
    constexpr auto hi = static_cast<std::int64_t>(std::numeric_limits<T>::max());
    out = static_cast<T>(n.as_int(lo, hi));
  }
}

template <class P>
struct ParamsEncoder {
  const P& p;
  json& j;
  ParamsScope scope;
  const P def{};
  template <class T>
  void operator()(const char* name, T P::*m, const ParamSpec& s, const char* /*doc*/) {
    if (scope == ParamsScope::kAll) {
      j[name] = encode_value(p.*m);
      return;
    }
    if (s.is_execution()) return;
    json v = encode_value(p.*m);
    if (s.since_minor > 0 && v == encode_value(def.*m)) return;
    j[name] = std::move(v);
  }
};

/// The params object of `p`: as a model file holds it (kModelFile), or every field (kAll).
template <class P>
json encode_params(const P& p, ParamsScope scope = ParamsScope::kModelFile) {
  json j = json::object();
  ParamsEncoder<P> e{p, j, scope};
  P::fields(e);
  return j;
}

// The highest since_minor of a field encode_params writes (1 when none is newer).
template <class P>
struct MinorNeeded {
  const P& p;
  int minor;
  const P def{};
  template <class T>
  void operator()(const char* /*name*/, T P::*m, const ParamSpec& s, const char* /*doc*/) {
    if (s.is_execution() || s.since_minor <= minor) return;
    if (encode_value(p.*m) != encode_value(def.*m)) minor = s.since_minor;
  }
};

template <class P>
int minor_needed(const P& p, int minor) {
  MinorNeeded<P> v{p, minor};
  P::fields(v);
  return v.minor;
}

template <class P>
struct ParamsKeys {
  ParamsScope scope;
  std::vector<const char*> required, optional;
  template <class T>
  void operator()(const char* name, T P::*, const ParamSpec& s, const char* /*doc*/) {
    if (scope == ParamsScope::kAll) {
      required.push_back(name);
    } else if (s.is_execution()) {
      // 1.0 files carry n_threads (checked and ignored, see skip_n_threads).
      if (std::string(name) == "n_threads") optional.push_back(name);
    } else {
      (s.since_minor > 0 ? optional : required).push_back(name);
    }
  }
};

template <class P>
struct ParamsDecoder {
  const Node& n;
  P& p;
  ParamsScope scope;
  template <class T>
  void operator()(const char* name, T P::*m, const ParamSpec& s, const char* /*doc*/) {
    if (scope == ParamsScope::kAll) {
      decode_value(n[name], s, p.*m);
      return;
    }
    if (s.is_execution()) return;
    if (s.since_minor > 0 && n.raw().find(name) == n.raw().end()) return;  // its default
    decode_value(n[name], s, p.*m);
  }
};

/// Decodes and validates the params object `n` of a P written by encode_params with `scope`.
template <class P>
P decode_params(const Node& n, ParamsScope scope = ParamsScope::kModelFile) {
  ParamsKeys<P> keys{scope, {}, {}};
  P::fields(keys);
  n.expect_object(keys.required, keys.optional);
  P p;
  ParamsDecoder<P> d{n, p, scope};
  P::fields(d);
  if (scope == ParamsScope::kModelFile) skip_n_threads(n);
  check_params(p, n);
  return p;
}

/// Every field of `p` as JSON text (encode_params, kAll): the exact values, execution settings
/// included; for copies of a Params object outside model files (Python's pickle).
template <class P>
std::string params_to_text(const P& p) {
  return encode_params(p, ParamsScope::kAll).dump();
}

/// The P that params_to_text wrote; ModelFormatError naming the field when `text` is not one.
template <class P>
P params_from_text(const std::string& text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail("", std::string("is not the JSON text of a ") + P::kName + ".");
  ReadContext ctx;
  ctx.text_size = text.size();
  return decode_params<P>(Node(j, "", ctx), ParamsScope::kAll);
}

}  // namespace calibrisk::detail::artifact
