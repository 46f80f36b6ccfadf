// SPDX-License-Identifier: Apache-2.0
// --param tables of every Params struct, built by one visitor over the struct's declared fields
// (see model_params.hpp and include/calibrisk/core/params.hpp).
#include "cli/model_params.hpp"

#include "cli/errors.hpp"

#include <calibrisk/io/text.hpp>

#include <iostream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace calibrisk::cli {
namespace {

ParamField class_weight_field(ClassWeight& cw) {
  return {"class_weight", "none|balanced|W0:W1",
          [&cw](const std::string& v) {
            if (v == "none" || v == "None" || v.empty()) {
              cw = ClassWeight::none();
            } else if (v == "balanced") {
              cw = ClassWeight::balanced();
            } else {
              const auto colon = v.find(':');
              if (colon == std::string::npos) {
                throw UsageError(
                    "--param class_weight must be none, balanced or W0:W1 (the "
                    "weights of class 0 and class 1, e.g. 1:5), got " +
                    quote_for_message(v) + ".");
              }
              cw = ClassWeight::explicit_weights(
                  parse_double(v.substr(0, colon), "--param class_weight (class 0 weight)"),
                  parse_double(v.substr(colon + 1), "--param class_weight (class 1 weight)"));
            }
          },
          [&cw]() -> std::string {
            if (cw.kind == ClassWeight::Kind::kExplicit) {
              return format_double(cw.w0) + ":" + format_double(cw.w1);
            }
            return enum_to_text(cw.kind);
          }};
}

// An enum field: its canonical spellings; an old alias is accepted with a warning on stderr.
template <class E>
ParamField enum_field(const std::string& name, E& field) {
  std::string type;
  const auto& table = enum_table(E{});
  for (std::size_t i = 0; i < table.size; ++i) {
    if (enum_to_text(table.entries[i].value) != std::string(table.entries[i].text)) continue;
    type += (type.empty() ? "" : "|") + std::string(table.entries[i].text);
  }
  return {name, type,
          [&field, name](const std::string& v) {
            std::string canonical;
            if (!enum_from_text(v, field, canonical)) {
              throw UsageError("--param " + name + " must be " + enum_choices<E>() + ", got " +
                               quote_for_message(v) + ".");
            }
            if (!canonical.empty()) {
              std::cerr << "calibrisk: warning: --param " << name << "=" << v
                        << " is a deprecated spelling; use " << name << "=" << canonical << ".\n";
            }
          },
          [&field] { return std::string(enum_to_text(field)); }};
}

ParamField int_list_field(const std::string& name, std::vector<int>& field, const ParamSpec& s) {
  // An open-ended range (at_least) is bounded by int's range.
  constexpr double kMin = std::numeric_limits<int>::min(), kMax = std::numeric_limits<int>::max();
  const auto lo = static_cast<long long>(s.lo > kMin ? s.lo : kMin);
  const auto hi = static_cast<long long>(s.hi < kMax ? s.hi : kMax);
  return {name, "list of int",
          [&field, name, lo, hi](const std::string& v) {
            field.clear();
            std::istringstream is(v);
            std::string item;
            while (std::getline(is, item, ',')) {
              field.push_back(
                  static_cast<int>(parse_integer(item, "--param " + name + " entry", lo, hi)));
            }
          },
          [&field]() {
            std::string out;
            for (int c : field) out += (out.empty() ? "" : ",") + std::to_string(c);
            return out;
          }};
}

template <class T>
ParamField make_field(const char* name, T& f, const ParamSpec& s) {
  if constexpr (std::is_same_v<T, bool>) {
    return bool_field(name, f);
  } else if constexpr (std::is_same_v<T, int>) {
    return int_field(name, f);
  } else if constexpr (std::is_same_v<T, double>) {
    return double_field(name, f);
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    return uint64_field(name, f);
  } else if constexpr (std::is_same_v<T, std::ptrdiff_t>) {
    return index_field(name, f);
  } else if constexpr (std::is_same_v<T, ClassWeight>) {
    return class_weight_field(f);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    return int_list_field(name, f, s);
  } else {
    static_assert(std::is_enum_v<T>, "no --param parser for this field type");
    return enum_field(name, f);
  }
}

template <class P>
struct FieldCollector {
  P& p;
  std::vector<ParamField>& out;

  template <class T>
  void operator()(const char* name, T P::*m, const ParamSpec& s, const char* /*doc*/) {
    ParamField field = make_field(name, p.*m, s);
    if (s.since_minor > 0) {
      // A field added after format 1.0 is recorded in provenance only when it was changed, so
      // the files of models that keep its default stay byte-identical to earlier releases.
      T def = P{}.*m;
      const std::string def_text = make_field(name, def, s).get();
      field.omit_from_provenance = [get = field.get, def_text] { return get() == def_text; };
    }
    out.push_back(std::move(field));
  }
};

}  // namespace

template <class P>
std::vector<ParamField> param_fields(P& p) {
  std::vector<ParamField> out;
  FieldCollector<P> c{p, out};
  P::fields(c);
  return out;
}

std::vector<ParamField> lr_param_fields(LogisticRegressionParams& p) { return param_fields(p); }
std::vector<ParamField> gbdt_param_fields(GBDTParams& p) { return param_fields(p); }

bool param_given(const std::vector<std::string>& assignments, const std::string& key) {
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    std::string k = a.substr(0, eq);
    while (!k.empty() && k.back() == ' ') k.pop_back();
    while (!k.empty() && k.front() == ' ') k.erase(k.begin());
    if (k == key) return true;
  }
  return false;
}

}  // namespace calibrisk::cli
