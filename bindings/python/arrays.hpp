// SPDX-License-Identifier: Apache-2.0
// Conversion of Python objects to calibrisk views at the binding boundary: float32/float64 arrays
// in any order are viewed without copying; anything else is converted once, here.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace calibrisk::pyb {

namespace py = pybind11;

/// A feature matrix view plus the Python array that owns its memory (kept alive with the view).
struct FeatureArg {
  py::array keep;
  FeatureMatrix view;
};

/// A float64 vector view plus the array that owns its memory.
struct VectorArg {
  py::array keep;
  VectorView<const double> view;
};

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (d) s += ", ";
    s += std::to_string(a.shape(d));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

template <class T>
bool strides_are_whole(const py::array& a) {
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.strides(d) % static_cast<py::ssize_t>(sizeof(T)) != 0) return false;
  }
  return true;
}

template <class T>
FeatureArg make_feature_arg(py::array a) {
  const auto* data = static_cast<const T*>(a.data());
  constexpr auto item = static_cast<py::ssize_t>(sizeof(T));
  MatrixView<const T> v(data, a.shape(0), a.shape(1), a.strides(0) / item, a.strides(1) / item);
  return FeatureArg{std::move(a), FeatureMatrix(v)};
}

/// Views a 2-D array `(n_samples, n_features)`. float32 and float64 arrays of any memory order
/// (C, Fortran, or strided slices) are used in place; other dtypes (ints, bools, object arrays,
/// lists) are converted to a C-ordered float64 copy once. Throws InvalidInput when the input is not
/// 2-D. `name` and `where` go into messages ("X", "LogisticRegression.fit").
inline FeatureArg as_features(const py::handle& obj, const std::string& where,
                              const std::string& name = "X") {
  py::array a;
  if (py::isinstance<py::array>(obj)) {
    a = py::reinterpret_borrow<py::array>(obj);
  } else {
    a = py::array::ensure(obj);
    if (!a) {
      throw InvalidInput(where + ": " + name + " could not be converted to a numeric array.");
    }
  }
  if (a.ndim() != 2) {
    throw InvalidInput(where + ": " + name + " must be 2-D (n_samples, n_features), got shape " +
                       shape_str(a) + "; reshape a single sample with X.reshape(1, -1).");
  }
  if (a.dtype().is(py::dtype::of<double>()) && strides_are_whole<double>(a)) {
    return make_feature_arg<double>(std::move(a));
  }
  if (a.dtype().is(py::dtype::of<float>()) && strides_are_whole<float>(a)) {
    return make_feature_arg<float>(std::move(a));
  }
  if (a.dtype().kind() == 'O' || a.dtype().kind() == 'U' || a.dtype().kind() == 'S') {
    throw InvalidInput(where + ": " + name + " has dtype " + std::string(py::str(a.dtype())) +
                       "; pass numeric features (encode categories as numbers first).");
  }
  auto converted = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!converted) {
    throw InvalidInput(where + ": " + name + " could not be converted to float64.");
  }
  return make_feature_arg<double>(std::move(converted));
}

/// Views a 1-D array as float64 (converted once when it is another dtype). An empty/None object
/// gives an empty view when `allow_none` is true.
inline VectorArg as_vector(const py::handle& obj, const std::string& where, const std::string& name,
                           bool allow_none = false) {
  if (obj.is_none()) {
    if (allow_none) return VectorArg{py::array(), VectorView<const double>()};
    throw InvalidInput(where + ": " + name + " is None; pass a 1-D array.");
  }
  py::array a = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                               : py::array::ensure(obj);
  if (!a) throw InvalidInput(where + ": " + name + " could not be converted to a numeric array.");
  if (a.ndim() != 1) {
    throw InvalidInput(where + ": " + name + " must be 1-D, got shape " + shape_str(a) + ".");
  }
  if (a.dtype().kind() == 'O' || a.dtype().kind() == 'U' || a.dtype().kind() == 'S') {
    throw InvalidInput(where + ": " + name + " has dtype " + std::string(py::str(a.dtype())) +
                       "; pass numbers.");
  }
  if (!(a.dtype().is(py::dtype::of<double>()) && strides_are_whole<double>(a))) {
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!a) throw InvalidInput(where + ": " + name + " could not be converted to float64.");
  }
  const auto* data = static_cast<const double*>(a.data());
  VectorView<const double> v(data, a.shape(0), a.strides(0) / 8);
  return VectorArg{std::move(a), v};
}

/// A float64 matrix view plus the array that owns its memory.
struct MatrixArg {
  py::array keep;
  MatrixView<const double> view;
};

/// Views a 2-D array as float64 (any memory order in place; other dtypes converted once to a
/// C-ordered float64 copy), e.g. the (n, K) scores of a multiclass calibrator or metric.
inline MatrixArg as_matrix(const py::handle& obj, const std::string& where,
                           const std::string& name) {
  py::array a = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                               : py::array::ensure(obj);
  if (!a) throw InvalidInput(where + ": " + name + " could not be converted to a numeric array.");
  if (a.ndim() != 2) {
    throw InvalidInput(where + ": " + name + " must be 2-D (n_samples, n_classes), got shape " +
                       shape_str(a) + ".");
  }
  if (a.dtype().kind() == 'O' || a.dtype().kind() == 'U' || a.dtype().kind() == 'S') {
    throw InvalidInput(where + ": " + name + " has dtype " + std::string(py::str(a.dtype())) +
                       "; pass numbers.");
  }
  if (!(a.dtype().is(py::dtype::of<double>()) && strides_are_whole<double>(a))) {
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!a) throw InvalidInput(where + ": " + name + " could not be converted to float64.");
  }
  const auto* data = static_cast<const double*>(a.data());
  MatrixView<const double> v(data, a.shape(0), a.shape(1), a.strides(0) / 8, a.strides(1) / 8);
  return MatrixArg{std::move(a), v};
}

}  // namespace calibrisk::pyb
