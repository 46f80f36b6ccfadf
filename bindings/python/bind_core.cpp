// SPDX-License-Identifier: Apache-2.0
// Core bindings: version, exception translation, and introspection of the zero-copy array views.
#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/version.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

namespace {

// Raises the Python class calibrisk.exceptions.<name> with the C++ message.
void raise_python(const char* name, const char* message) {
  py::object cls = py::module_::import("calibrisk.exceptions").attr(name);
  PyErr_SetString(cls.ptr(), message);
}

}  // namespace

void bind_core(py::module_& m) {
  m.attr("__version__") = kVersion;
  m.def("library_version", &library_version, "Version the compiled library was built as.");

  // Most specific first: InvalidParams derives from InvalidInput.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidParams& e) {
      raise_python("InvalidParamsError", e.what());
    } catch (const InvalidInput& e) {
      raise_python("InvalidInputError", e.what());
    } catch (const NotFitted& e) {
      raise_python("NotFittedError", e.what());
    } catch (const ModelFormatError& e) {
      raise_python("ModelFormatError", e.what());
    } catch (const Error& e) {
      raise_python("CalibriskInternalError", e.what());
    }
  });

  m.def(
      "_view_info",
      [](const py::object& X) {
        FeatureArg a = as_features(X, "_view_info");
        const FeatureMatrix& f = a.view;
        const void* ptr = f.is_float() ? static_cast<const void*>(f.as_float().data())
                                       : static_cast<const void*>(f.as_double().data());
        const Index rs = f.is_float() ? f.as_float().row_stride() : f.as_double().row_stride();
        const Index cs = f.is_float() ? f.as_float().col_stride() : f.as_double().col_stride();
        return py::make_tuple(reinterpret_cast<std::uintptr_t>(ptr),
                              f.is_float() ? "float32" : "float64", rs, cs);
      },
      "Address, dtype and element strides of the view calibrisk takes of X (tests zero-copy).");

  m.def(
      "_validate_dataset",
      [](const py::object& X, const py::object& y, const py::object& sample_weight) {
        FeatureArg xa = as_features(X, "validate");
        VectorArg ya = as_vector(y, "validate", "y");
        VectorArg wa = as_vector(sample_weight, "validate", "sample_weight", true);
        Dataset d(xa.view, ya.view, wa.view);
        py::gil_scoped_release release;
        validate_dataset(d, "validate");
      },
      py::arg("X"), py::arg("y"), py::arg("sample_weight") = py::none(),
      "Runs the C++ training-set validation (raises InvalidInputError on bad input).");
}

}  // namespace calibrisk::pyb
