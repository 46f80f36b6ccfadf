// SPDX-License-Identifier: Apache-2.0
// The one way a bound C++ model or calibrator is saved from Python: `to_bytes()` /
// `from_bytes(data)` and pickling, all through the artifact codec (calibrisk/artifact/io.hpp).
// Every class gets the same shape: the pickle state is a 1-tuple holding the codec bytes.
#pragma once

#include <calibrisk/artifact/io.hpp>

#include <pybind11/pybind11.h>

#include <string>
#include <utility>
#include <variant>

namespace calibrisk::pyb {

namespace py = pybind11;

/// The alternative `T` of a decoded variant section; any other type is a ModelFormatError at
/// `type_path` (e.g. a logistic-regression section handed to GradientBoostedTrees.from_bytes).
template <class T, class Variant>
T take_alternative(Variant&& v, const char* type_path, const char* expected) {
  if (auto* t = std::get_if<T>(&v)) return std::move(*t);
  throw ModelFormatError(std::string("load: ") + type_path + " is not \"" + expected +
                         "\": the bytes hold another kind of model or calibrator; pass bytes "
                         "produced by this class's to_bytes().");
}

/// Defines `to_bytes`, the static `from_bytes` and pickling on the class `name` of `m` (already
/// bound, for `T`). `Codec` provides `static std::string encode(const T&)` and
/// `static T decode(const std::string&)`.
template <class Codec, class T>
void def_codec(py::module_& m, const char* name) {
  auto cls = py::reinterpret_borrow<py::class_<T>>(m.attr(name));
  cls.def(
      "to_bytes", [](const T& self) { return py::bytes(Codec::encode(self)); },
      "The saved state: the JSON text of this part's section of a pipeline file "
      "(calibrisk::encode_*).");
  cls.def_static(
      "from_bytes",
      [](const py::bytes& data) {
        std::string text = data;
        py::gil_scoped_release release;
        return Codec::decode(text);
      },
      py::arg("data"),
      "Rebuilds from to_bytes() output with the file loader's checks; raises ModelFormatError "
      "naming the JSON path of the first problem.");
  const std::string old_pickle =
      std::string(name) +
      ": this pickle was written by an earlier calibrisk release (its state is not the codec "
      "bytes this release reads); refit the model, or keep models as pipeline files "
      "(Pipeline.save), which later releases load.";
  cls.def(py::pickle([](const T& self) { return py::make_tuple(py::bytes(Codec::encode(self))); },
                     [old_pickle](const py::tuple& t) {
                       if (t.size() != 1 || !py::isinstance<py::bytes>(t[0])) {
                         throw ModelFormatError(old_pickle);
                       }
                       return Codec::decode(t[0].cast<std::string>());
                     }));
}

/// Defines `n_threads` (read-only) and `with_n_threads(n)` on a bound model: the thread count is
/// an execution setting, not saved state, so a model rebuilt from codec bytes runs with all
/// threads until the estimator that owns it restores its own `n_threads` (after unpickling).
/// `Codec` provides `static int n_threads(const T&)` and `static T with_n_threads(const T&, int)`.
template <class Codec, class T>
void def_n_threads(py::module_& m, const char* name) {
  auto cls = py::reinterpret_borrow<py::class_<T>>(m.attr(name));
  cls.def_property_readonly("n_threads", &Codec::n_threads);
  cls.def("with_n_threads", &Codec::with_n_threads, py::arg("n_threads"),
          "A copy running with n_threads threads (0 = all); the model is unchanged.");
}

}  // namespace calibrisk::pyb
