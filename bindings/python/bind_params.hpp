// SPDX-License-Identifier: Apache-2.0
// bind_params<P>(m, "GBDTParams"): the Python class of a Params struct, driven by its `fields`
// declaration (include/calibrisk/core/params.hpp). Every field becomes an attribute (enums by their
// canonical text, old spellings accepted with a FutureWarning; class_weight as None, "balanced" or
// {0: w0, 1: w1}), and the class attribute `fields` lists (name, default, range, doc, execution,
// since) for the Python estimators (defaults taken from here) and the docs check.
#pragma once

#include <calibrisk/core/params.hpp>
#include <calibrisk/core/weights.hpp>

#include "artifact/params_codec.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <type_traits>
#include <vector>

namespace calibrisk::pyb {

namespace py = pybind11;

/// Text of enum E given from Python; an old alias warns (FutureWarning) and is accepted.
template <class E>
E enum_from_python(const std::string& text, const std::string& where) {
  E v{};
  std::string canonical;
  if (!enum_from_text(text, v, canonical)) {
    throw InvalidParams(where + " must be " + enum_choices<E>("'") + ", got '" +
                        text.substr(0, 100) + "'.");
  }
  if (!canonical.empty()) {
    const std::string msg = where + "='" + text + "' is deprecated and will be removed; use '" +
                            canonical + "' (the same spelling as the CLI and the model file).";
    if (PyErr_WarnEx(PyExc_FutureWarning, msg.c_str(), 2) != 0) throw py::error_already_set();
  }
  return v;
}

/// ClassWeight <-> None / "balanced" / {0: w0, 1: w1}.
inline py::object class_weight_to_python(const ClassWeight& w) {
  if (w.kind == ClassWeight::Kind::kNone) return py::none();
  if (w.kind == ClassWeight::Kind::kBalanced) return py::str("balanced");
  py::dict d;
  d[py::int_(0)] = w.w0;
  d[py::int_(1)] = w.w1;
  return std::move(d);
}
inline ClassWeight class_weight_from_python(const py::object& o, const std::string& where) {
  if (o.is_none()) return ClassWeight::none();
  if (py::isinstance<py::str>(o)) {
    ClassWeight::Kind k = enum_from_python<ClassWeight::Kind>(o.cast<std::string>(), where);
    if (k == ClassWeight::Kind::kNone) return ClassWeight::none();
    if (k == ClassWeight::Kind::kBalanced) return ClassWeight::balanced();
  } else if (py::isinstance<py::dict>(o)) {
    const py::dict d = o.cast<py::dict>();
    const double w0 = d.contains(py::int_(0)) ? d[py::int_(0)].cast<double>() : 1.0;
    const double w1 = d.contains(py::int_(1)) ? d[py::int_(1)].cast<double>() : 1.0;
    return ClassWeight::explicit_weights(w0, w1);
  }
  throw InvalidParams(where + " must be None, 'balanced' or a dict {0: w0, 1: w1}.");
}

namespace detail {

template <class P>
struct ParamBinder {
  py::class_<P>& cls;
  py::list& table;

  template <class T>
  void operator()(const char* name, T P::*m, const ParamSpec& s, const char* doc) {
    const std::string where = std::string(P::kName) + "." + name;
    const P def{};
    py::object def_py;
    std::string range = range_text(s);
    if constexpr (std::is_enum_v<T>) {
      range = enum_choices<T>();
      cls.def_property(
          name, [m](const P& p) { return std::string(enum_to_text(p.*m)); },
          [m, where](P& p, const std::string& v) { p.*m = enum_from_python<T>(v, where); }, doc);
      def_py = py::str(enum_to_text(def.*m));
    } else if constexpr (std::is_same_v<T, ClassWeight>) {
      cls.def_property(
          name, [m](const P& p) { return class_weight_to_python(p.*m); },
          [m, where](P& p, const py::object& v) { p.*m = class_weight_from_python(v, where); },
          doc);
      def_py = class_weight_to_python(def.*m);
      range = "none, balanced or {0: w0, 1: w1}";
    } else {
      if constexpr (std::is_same_v<T, bool>) range = "true or false";
      cls.def_readwrite(name, m, doc);
      def_py = py::cast(def.*m);
    }
    py::dict row;
    row["name"] = name;
    row["default"] = def_py;
    row["range"] = range;
    row["doc"] = doc;
    row["execution"] = s.is_execution();
    row["since"] = "1." + std::to_string(s.since_minor);
    table.append(row);
  }
};

}  // namespace detail

/// Binds Params struct P as `name`: default constructor, one attribute per declared field,
/// validate(), and the class attribute `fields` (a list of dicts, in declaration order).
template <class P>
py::class_<P> bind_params(py::module_& m, const char* name, const char* doc) {
  py::class_<P> cls(m, name, doc);
  cls.def(py::init<>());
  py::list table;
  detail::ParamBinder<P> b{cls, table};
  P::fields(b);
  cls.attr("fields") = table;
  // Picklable (e.g. shipped to the Dask worker that drives a distributed fit): every field's exact
  // value, as the model file's codec writes it (src/artifact/params_codec.hpp), execution settings
  // included.
  cls.def(py::pickle([](const P& p) { return ::calibrisk::detail::artifact::params_to_text(p); },
                     [](const std::string& state) {
                       try {
                         return ::calibrisk::detail::artifact::params_from_text<P>(state);
                       } catch (const ModelFormatError& e) {
                         throw InvalidParams(std::string(P::kName) +
                                             ": not a pickled state of this version (" + e.what() +
                                             ").");
                       }
                     }));
  cls.def("validate", &P::validate,
          "Raises InvalidParamsError naming the field, the value and the allowed range.");
  return cls;
}

}  // namespace calibrisk::pyb
