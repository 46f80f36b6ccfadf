// SPDX-License-Identifier: Apache-2.0
// Text forms of model parameters and policies for provenance and by-name setting (see
// params_text.hpp). The fields are those each Params struct declares (its `fields`,
// core/params.hpp); tests/unit/workflow checks they agree with the CLI's --param tables.
#include <calibrisk/workflow/params_text.hpp>

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/workflow/train.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>

namespace calibrisk {
namespace {

// The text of a policy number: 15 significant digits (the CLI's --policy echo).
std::string fmt15(double v) {
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

[[noreturn]] void bad_text(const std::string& name, const std::string& text,
                           const std::string& form) {
  throw InvalidParams("parameter " + name + " must be " + form + ", got " +
                      quote_for_message(text) + ".");
}

double to_double(const std::string& name, const std::string& t) {
  if (t == "inf" || t == "+inf" || t == "infinity") return std::numeric_limits<double>::infinity();
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v)) {
    bad_text(name, t, "a number");
  }
  return v;
}

template <class Int>
Int to_integer(const std::string& name, const std::string& t) {
  Int v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) {
    bad_text(name, t, "a whole number in range");
  }
  return v;
}

bool to_bool(const std::string& name, const std::string& t) {
  if (t == "true" || t == "1") return true;
  if (t == "false" || t == "0") return false;
  bad_text(name, t, "true or false");
}

// One field: its name, its text, and how to set it from text.
struct Field {
  std::string name;
  std::function<std::string()> get;
  std::function<void(const std::string&)> set;
  std::function<bool()> omit_if =
      nullptr;  ///< provenance leaves the field out when this returns true
};

Field int_f(const char* n, int& f) {
  return {n, [&f] { return std::to_string(f); },
          [&f, n](const std::string& t) { f = to_integer<int>(n, t); }};
}
Field index_f(const char* n, std::ptrdiff_t& f) {
  return {n, [&f] { return std::to_string(f); },
          [&f, n](const std::string& t) { f = to_integer<std::ptrdiff_t>(n, t); }};
}
Field u64_f(const char* n, std::uint64_t& f) {
  return {n, [&f] { return std::to_string(f); },
          [&f, n](const std::string& t) { f = to_integer<std::uint64_t>(n, t); }};
}
Field double_f(const char* n, double& f) {
  return {n, [&f] { return format_double(f); },
          [&f, n](const std::string& t) { f = to_double(n, t); }};
}
Field bool_f(const char* n, bool& f) {
  return {n, [&f] { return std::string(f ? "true" : "false"); },
          [&f, n](const std::string& t) { f = to_bool(n, t); }};
}

Field class_weight_f(const char* n, ClassWeight& cw) {
  return {n,
          [&cw]() -> std::string {
            if (cw.kind == ClassWeight::Kind::kExplicit) {
              return format_double(cw.w0) + ":" + format_double(cw.w1);
            }
            return enum_to_text(cw.kind);
          },
          [&cw, n](const std::string& t) {
            if (t == "none" || t.empty()) {
              cw = ClassWeight::none();
            } else if (t == "balanced") {
              cw = ClassWeight::balanced();
            } else {
              const auto colon = t.find(':');
              if (colon == std::string::npos) bad_text(n, t, "none, balanced or W0:W1");
              cw = ClassWeight::explicit_weights(to_double(n, t.substr(0, colon)),
                                                 to_double(n, t.substr(colon + 1)));
            }
          }};
}

Field int_list_f(const char* n, std::vector<int>& f) {
  return {n,
          [&f] {
            std::string s;
            for (int c : f) s += (s.empty() ? "" : ",") + std::to_string(c);
            return s;
          },
          [&f, n](const std::string& t) {
            f.clear();
            std::istringstream is(t);
            std::string item;
            while (std::getline(is, item, ',')) f.push_back(to_integer<int>(n, item));
          }};
}

template <class E>
Field enum_f(const char* n, E& f) {
  return {n, [&f] { return std::string(enum_to_text(f)); },
          [&f, n](const std::string& t) {
            std::string canonical;  // an old alias is accepted (the CLI warns about it)
            if (!enum_from_text(t, f, canonical)) bad_text(n, t, enum_choices<E>());
          }};
}

template <class T>
Field make_field(const char* n, T& f) {
  if constexpr (std::is_same_v<T, bool>) {
    return bool_f(n, f);
  } else if constexpr (std::is_same_v<T, int>) {
    return int_f(n, f);
  } else if constexpr (std::is_same_v<T, double>) {
    return double_f(n, f);
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    return u64_f(n, f);
  } else if constexpr (std::is_same_v<T, std::ptrdiff_t>) {
    return index_f(n, f);
  } else if constexpr (std::is_same_v<T, ClassWeight>) {
    return class_weight_f(n, f);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    return int_list_f(n, f);
  } else {
    static_assert(std::is_enum_v<T>, "no text form for this field type");
    return enum_f(n, f);
  }
}

// Every declared field of P (P::fields, core/params.hpp): the one list of names.
template <class P>
struct FieldCollector {
  P& p;
  std::vector<Field>& out;
  template <class T>
  void operator()(const char* name, T P::*m, const ParamSpec& s, const char* /*doc*/) {
    Field f = make_field(name, p.*m);
    if (s.since_minor > 0) {
      // A field added after format 1.0 is recorded only when it was changed, so the files of
      // models that keep its default stay byte-identical to those of earlier releases.
      T def = P{}.*m;
      f.omit_if = [get = f.get, def_text = make_field(name, def).get()] {
        return get() == def_text;
      };
    }
    out.push_back(std::move(f));
  }
};

template <class P>
std::vector<Field> fields_of(P& p) {
  std::vector<Field> out;
  FieldCollector<P> c{p, out};
  P::fields(c);
  return out;
}

template <class P>
std::vector<std::pair<std::string, std::string>> texts(const P& params) {
  P copy = params;  // the table binds references; read through a copy of a const struct
  std::vector<std::pair<std::string, std::string>> out;
  for (const Field& f : fields_of(copy)) {
    // The thread count is an execution setting: it stays out of the model file.
    if (f.name == "n_threads" || (f.omit_if && f.omit_if())) continue;
    out.emplace_back(f.name, f.get());
  }
  return out;
}

template <class P>
void set_by_name(P& params, const std::string& name, const std::string& text,
                 const char* struct_name) {
  std::string valid;
  for (const Field& f : fields_of(params)) {
    if (f.name == name) return f.set(text);
    valid += (valid.empty() ? "" : ", ") + f.name;
  }
  throw InvalidParams(quote_for_message(name) + " is not a parameter of " + struct_name +
                      "; valid keys: " + valid + ".");
}

}  // namespace

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os.precision(17);
  os << v;
  // Prefer the shortest form that reads back exactly.
  for (int prec = 1; prec <= 17; ++prec) {
    std::ostringstream t;
    t.precision(prec);
    t << v;
    if (std::strtod(t.str().c_str(), nullptr) == v) return t.str();
  }
  return os.str();
}

std::string policy_text(const ThresholdPolicy& p) {
  if (p.kind == PolicyKind::kMinCost) {
    return "cost-fp=" + fmt15(p.cost_fp) + ",cost-fn=" + fmt15(p.cost_fn);
  }
  return std::string(enum_to_text(p.kind)) + "=" + fmt15(p.value);
}

std::vector<std::pair<std::string, std::string>> parameter_text(const GBDTParams& p) {
  return texts(p);
}
std::vector<std::pair<std::string, std::string>> parameter_text(const LogisticRegressionParams& p) {
  return texts(p);
}

void set_parameter(GBDTParams& p, const std::string& name, const std::string& text) {
  set_by_name(p, name, text, "gbdt (GBDTParams)");
}
void set_parameter(LogisticRegressionParams& p, const std::string& name, const std::string& text) {
  set_by_name(p, name, text, "lr (LogisticRegressionParams)");
}

// Sets the field of P named `name` from `text` (P::fields); `valid` collects the names. Unlike
// fields_of it never builds a default P (a TrainSpec is large; only the named field is touched).
template <class P>
struct FieldSetter {
  P& p;
  const std::string& name;
  const std::string& text;
  std::string valid;
  bool found = false;
  template <class T>
  void operator()(const char* n, T P::*m, const ParamSpec& /*spec*/, const char* /*doc*/) {
    valid += (valid.empty() ? "" : ", ") + std::string(n);
    if (found || name != n) return;
    make_field(n, p.*m).set(text);
    found = true;
  }
};

bool set_workflow_parameter(TrainSpec& spec, const std::string& name, const std::string& text) {
  static const std::string kSelection = "selection.";
  if (name.compare(0, kSelection.size(), kSelection) == 0) {
    const std::string field = name.substr(kSelection.size());
    FieldSetter<ModelSelectionSpec> set{spec.selection, field, text, {}, false};
    ModelSelectionSpec::fields(set);
    if (!set.found) {
      throw InvalidParams(quote_for_message(field) +
                          " is not a parameter of the model choice (ModelSelectionSpec, set as "
                          "selection.<name>); valid keys: " +
                          set.valid + ".");
    }
    return true;
  }
  FieldSetter<TrainSpec> set{spec, name, text, {}, false};
  TrainSpec::fields(set);
  return set.found;
}

}  // namespace calibrisk
