// SPDX-License-Identifier: Apache-2.0
/// @file params.hpp
/// Hyper-parameter fields declared once (STYLE.md §3, DESIGN.md §5 "Declared once").
///
/// Every `*Params` struct names each field exactly once, in a static `fields` function that calls
/// a visitor with the field's name, member pointer, `ParamSpec` (valid range, flags, the format
/// version that added it) and one-line doc. The default is the member initialiser. Everything
/// else is a visitor over that list, written once for every struct: `validate_params` (here),
/// the CLI's `--param key=value` (src/cli/model_params.cpp), the model-file codec
/// (src/artifact/params_codec.hpp, also Python's pickles), the Python class and field table
/// (bindings/python/bind_params.hpp),
/// the Python estimators' defaults and the docs tables (checked by tests/python/test_params.py).
/// @code
///   struct MyParams {
///     static constexpr const char* kName = "MyParams";
///     int n = 10;
///     template <class V> static void fields(V& v) {
///       v("n", &MyParams::n, at_least(1), "Rounds.");
///     }
///     void validate() const { validate_params(*this); }
///   };
/// @endcode
/// Enumerations get one text table each (`enum_table(E)`, found by argument-dependent lookup);
/// `enum_to_text` / `enum_from_text` are the only mappings between an enum and its spelling.
///
/// Standard library only.
#pragma once

#include <calibrisk/core/error.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace calibrisk {

// ---- field specification ------------------------------------------------------------------------

/// Flags of a field.
enum ParamFlag : unsigned {
  /// An execution setting (threads) or a resource limit (size limits, solver switch): not stored
  /// in model files, so a file does not depend on the machine that trained it. Loading gives the
  /// field its default.
  kParamExecution = 1u << 0,
};

/// Valid range and metadata of one field. Numeric fields are checked against [lo, hi] (ends open
/// or closed; NaN always fails a checked double); `std::vector` fields check each entry; enum
/// fields must hold a value of their text table; a field type with a `validate(const char*)`
/// member (ClassWeight) validates itself.
struct ParamSpec {
  bool checked = false;  ///< false: any value of the type is valid.
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;
  bool finite = false;         ///< Also reject +-infinity (stated as "finite and ...").
  const char* text = nullptr;  ///< Range as stated in messages; derived from lo/hi when null.
  const char* note = nullptr;  ///< Appended to the range text, e.g. "(0 = all rows)".
  const char* fix_ = nullptr;  ///< How to fix a bad value; "<default> is the default." if null.
  unsigned flags = 0;          ///< ParamFlag bits.
  int since_minor = 0;         ///< Model-file format 1.<since_minor> added the field (0: from 1.0).

  ParamSpec& range_text(const char* t) { return text = t, *this; }
  ParamSpec& with_note(const char* n) { return note = n, *this; }
  ParamSpec& fix(const char* f) { return fix_ = f, *this; }
  ParamSpec& execution() { return flags |= kParamExecution, *this; }
  ParamSpec& since(int minor) { return since_minor = minor, *this; }
  bool is_execution() const noexcept { return (flags & kParamExecution) != 0; }

  bool accepts(double v) const noexcept {
    if (!checked) return true;
    if (std::isnan(v)) return false;
    if (finite && !std::isfinite(v)) return false;
    if (lo_open ? !(v > lo) : !(v >= lo)) return false;
    return hi_open ? v < hi : v <= hi;
  }
};

/// Any value of the field's type.
inline ParamSpec any_value() { return ParamSpec{}; }
/// [lo, +inf), stated ">= lo".
inline ParamSpec at_least(double lo) {
  ParamSpec s;
  s.checked = true;
  s.lo = lo;
  return s;
}
/// (lo, +inf), stated "> lo".
inline ParamSpec above(double lo) {
  ParamSpec s = at_least(lo);
  s.lo_open = true;
  return s;
}
/// Finite and >= lo.
inline ParamSpec finite_at_least(double lo) {
  ParamSpec s = at_least(lo);
  s.finite = true;
  return s;
}
/// Finite and > lo.
inline ParamSpec finite_above(double lo) {
  ParamSpec s = above(lo);
  s.finite = true;
  return s;
}
/// [lo, hi].
inline ParamSpec in_range(double lo, double hi) {
  ParamSpec s = at_least(lo);
  s.hi = hi;
  return s;
}
/// (lo, hi].
inline ParamSpec open_closed(double lo, double hi) {
  ParamSpec s = in_range(lo, hi);
  s.lo_open = true;
  return s;
}
/// [lo, hi).
inline ParamSpec closed_open(double lo, double hi) {
  ParamSpec s = in_range(lo, hi);
  s.hi_open = true;
  return s;
}
/// (lo, hi).
inline ParamSpec open_open(double lo, double hi) {
  ParamSpec s = open_closed(lo, hi);
  s.hi_open = true;
  return s;
}

namespace detail {

/// A number as messages and docs print it: integers without a fraction, others in the shortest
/// form that reads back exactly, "inf" / "-inf" for infinities.
inline std::string param_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::ostringstream os;
    os.precision(prec);
    os << v;
    if (std::stod(os.str()) == v) return os.str();
  }
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace detail

/// The range of a spec as text: ">= 1", "finite and > 0", "in (0, 1]" (plus its note).
inline std::string range_text(const ParamSpec& s) {
  std::string t;
  if (s.text != nullptr) {
    t = s.text;
  } else if (!s.checked) {
    t = "any value";
  } else {
    if (s.finite) t = "finite and ";
    if (std::isinf(s.hi)) {
      t += (s.lo_open ? "> " : ">= ") + detail::param_number(s.lo);
    } else {
      t += std::string("in ") + (s.lo_open ? "(" : "[") + detail::param_number(s.lo) + ", " +
           detail::param_number(s.hi) + (s.hi_open ? ")" : "]");
    }
  }
  if (s.note != nullptr) t += std::string(" ") + s.note;
  return t;
}

// ---- enum <-> text ------------------------------------------------------------------------------

/// One spelling of an enum value. The first entry of a value is its canonical spelling (used by
/// every writer); later entries of the same value are deprecated aliases still accepted.
template <class E>
struct EnumText {
  E value;
  const char* text;
};

/// The text table of enum E: `enum_table(E{})` is declared next to E and found by ADL.
template <class E>
struct EnumTable {
  const EnumText<E>* entries;
  std::size_t size;
  const char* type_name;  ///< The C++ name of E, for messages ("MissingStrategy").
};

template <class E>
using has_enum_table = decltype(enum_table(E{}));

/// The canonical spelling of `v` ("?" for a value outside the table).
template <class E>
const char* enum_to_text(E v) {
  const auto& t = enum_table(E{});
  for (std::size_t i = 0; i < t.size; ++i) {
    if (t.entries[i].value == v) return t.entries[i].text;
  }
  return "?";
}

/// True when `v` is a value of E's table.
template <class E>
bool enum_is_valid(E v) {
  const auto& t = enum_table(E{});
  for (std::size_t i = 0; i < t.size; ++i) {
    if (t.entries[i].value == v) return true;
  }
  return false;
}

/// The canonical spellings, "a, b or c".
template <class E>
std::string enum_choices(const char* quote = "") {
  const auto& t = enum_table(E{});
  std::vector<std::string> names;
  for (std::size_t i = 0; i < t.size; ++i) {
    if (enum_to_text(t.entries[i].value) == std::string(t.entries[i].text)) {
      names.push_back(std::string(quote) + t.entries[i].text + quote);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out;
}

/// Parses a spelling. Returns false when `text` is not in the table; sets `deprecated` to the
/// canonical spelling when `text` is an old alias (the caller warns), else to "".
template <class E>
bool enum_from_text(const std::string& text, E& out, std::string& deprecated) {
  const auto& t = enum_table(E{});
  deprecated.clear();
  for (std::size_t i = 0; i < t.size; ++i) {
    if (text == t.entries[i].text) {
      out = t.entries[i].value;
      const char* canonical = enum_to_text(out);
      if (text != canonical) deprecated = canonical;
      return true;
    }
  }
  return false;
}

// ---- generic validation -------------------------------------------------------------------------

namespace detail {

template <class T, class = void>
struct self_validating : std::false_type {};
template <class T>
struct self_validating<T, std::void_t<decltype(std::declval<const T&>().validate(""))>>
    : std::true_type {};

template <class T, class = void>
struct is_enum_with_table : std::false_type {};
template <class T>
struct is_enum_with_table<T, std::void_t<has_enum_table<T>>> : std::is_enum<T> {};

template <class T>
std::string value_text(const T& v) {
  if constexpr (std::is_same_v<T, double>) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
  } else {
    return std::to_string(v);
  }
}

[[noreturn]] inline void bad_param(const std::string& where, const std::string& value,
                                   const ParamSpec& s, const std::string& default_text) {
  throw InvalidParams(
      where + " must be " + range_text(s) + ", got " + value + "; " +
      (s.fix_ != nullptr ? std::string(s.fix_) : default_text + " is the default."));
}

template <class T>
void check_value(const std::string& where, const T& v, const T& def, const ParamSpec& s) {
  if constexpr (std::is_same_v<T, bool>) {
    (void)where, (void)v, (void)def, (void)s;
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (!s.accepts(static_cast<double>(v))) {
      bad_param(where, value_text(v), s, param_number(static_cast<double>(def)));
    }
  } else if constexpr (is_enum_with_table<T>::value) {
    if (!enum_is_valid(v)) {
      throw InvalidParams(where + " is not a " + enum_table(T{}).type_name + " value (" +
                          std::to_string(static_cast<long long>(v)) + "); use " +
                          enum_choices<T>() + ".");
    }
  } else if constexpr (self_validating<T>::value) {
    v.validate(where.c_str());
  } else {
    static_assert(std::is_arithmetic_v<T>, "no validation for this field type");
  }
}

template <class T>
void check_value(const std::string& where, const std::vector<T>& v, const std::vector<T>&,
                 const ParamSpec& s) {
  for (std::size_t j = 0; j < v.size(); ++j) {
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!s.accepts(static_cast<double>(v[j]))) {
      bad_param(at, value_text(v[j]), s, "");
    }
  }
}

template <class P>
struct Validator {
  const P& p;
  const P def{};
  template <class T>
  void operator()(const char* name, T P::*m, const ParamSpec& s, const char* /*doc*/) const {
    check_value(std::string(P::kName) + "." + name, p.*m, def.*m, s);
  }
};

}  // namespace detail

/// Checks every field of `p` against its ParamSpec; throws InvalidParams
/// "<Struct>.<field> must be <range>, got <value>; <fix>" for the first bad field. Cross-field
/// checks stay in the struct's validate() after this call.
template <class P>
void validate_params(const P& p) {
  detail::Validator<P> v{p};
  P::fields(v);
}

namespace detail {
template <class P, class Fn>
struct InfoLister {
  Fn& fn;
  template <class T>
  void operator()(const char* name, T P::*, const ParamSpec& s, const char* doc) const {
    fn(name, s, doc);
  }
};
}  // namespace detail

/// Calls `fn(name, spec, doc)` for each field of P (for tables: docs, CLI help).
template <class P, class Fn>
void for_each_field_info(Fn&& fn) {
  detail::InfoLister<P, std::remove_reference_t<Fn>> l{fn};
  P::fields(l);
}

}  // namespace calibrisk
