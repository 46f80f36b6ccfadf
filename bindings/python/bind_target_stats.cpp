// SPDX-License-Identifier: Apache-2.0
// Python bindings of the target statistics of categorical codes (calibrisk/trees/target_stats.hpp):
// the leakage-free training encoding, the scoring tables and the split -> category-set conversion.
// Used by calibrisk.preprocessing.target_statistics (an advanced, experimental tool).
#include <calibrisk/trees/target_stats.hpp>

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bind_params.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

namespace {

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// codes as a float64 view of any memory order (converted once when another dtype).
struct CodesArg {
  py::array keep;
  MatrixView<const double> view;
};

CodesArg as_codes(const py::object& obj, const std::string& where) {
  auto a = py::array::ensure(obj);
  if (!a) throw InvalidInput(where + ": codes could not be converted to a numeric array.");
  if (a.ndim() != 2) {
    throw InvalidInput(where + ": codes must be 2-D (n_samples, n_columns), got shape " +
                       shape_str(a) + ".");
  }
  const char kind = a.dtype().kind();
  if (kind == 'O' || kind == 'U' || kind == 'S') {
    throw InvalidInput(where + ": codes have dtype " + std::string(py::str(a.dtype())) +
                       "; pass integer codes (NaN = missing), e.g. pandas Categorical.codes.");
  }
  if (!(a.dtype().is(py::dtype::of<double>()) && strides_are_whole<double>(a))) {
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  }
  const auto* data = static_cast<const double*>(a.data());
  MatrixView<const double> v(data, a.shape(0), a.shape(1), a.strides(0) / 8, a.strides(1) / 8);
  return CodesArg{std::move(a), v};
}

}  // namespace

void bind_target_stats(py::module_& m) {
  py::class_<TargetStatTable>(m, "TargetStatTable",
                              "Full-data target statistic per code of one categorical column.")
      .def(py::init<>())
      .def_readonly("prior", &TargetStatTable::prior)
      .def_readonly("smoothing", &TargetStatTable::smoothing)
      .def_property_readonly("weight", [](const TargetStatTable& t) { return to_array(t.weight); })
      .def_property_readonly("weighted_y",
                             [](const TargetStatTable& t) { return to_array(t.weighted_y); })
      .def_property_readonly("value", [](const TargetStatTable& t) { return to_array(t.value); })
      .def_property_readonly("n_levels", &TargetStatTable::n_levels)
      .def("lookup", &TargetStatTable::lookup, py::arg("code"))
      .def("threshold_to_codes", &ts_threshold_to_codes, py::arg("t"), py::arg("missing_left"),
           "Codes sent left by the split 'TS <= t' (sorted).")
      .def("threshold_to_bitset", &ts_threshold_to_bitset, py::arg("t"), py::arg("missing_left"),
           "The same set as 32-bit words (bit k % 32 of word k // 32).");

  m.def(
      "target_stats_encode",
      [](const py::object& codes, const py::object& y, const py::object& sample_weight,
         const py::object& groups, const std::string& scheme, int n_folds, double smoothing,
         std::uint64_t seed, const py::object& class_weight, int n_threads) {
        const std::string where = "target_statistics";
        CodesArg c = as_codes(codes, where);
        VectorArg yv = as_vector(y, where, "y");
        VectorArg wv = as_vector(sample_weight, where, "sample_weight", true);
        VectorArg gv = as_vector(groups, where, "groups", true);
        TargetStatParams p;
        p.scheme = enum_from_python<TargetStatScheme>(scheme, where + ".scheme");
        p.n_folds = n_folds;
        p.smoothing = smoothing;
        p.seed = seed;
        p.class_weight = class_weight_from_python(class_weight, where + ".class_weight");
        p.n_threads = n_threads;
        TargetStatEncoding enc;
        {
          py::gil_scoped_release release;
          enc = encode_target_stats(c.view, yv.view, wv.view, gv.view, p);
        }
        return py::make_tuple(std::move(enc.train), std::move(enc.tables));
      },
      py::arg("codes"), py::arg("y"), py::arg("sample_weight"), py::arg("groups"),
      py::arg("scheme"), py::arg("n_folds"), py::arg("smoothing"), py::arg("seed"),
      py::arg("class_weight"), py::arg("n_threads"));

  m.def(
      "target_stats_apply",
      [](const std::vector<TargetStatTable>& tables, const py::object& codes, int n_threads) {
        CodesArg c = as_codes(codes, "target_statistics.transform");
        py::gil_scoped_release release;
        return apply_target_stats(tables, c.view, n_threads);
      },
      py::arg("tables"), py::arg("codes"), py::arg("n_threads") = 0);

  m.def(
      "target_stats_folds",
      [](Index n_rows, const py::object& groups, int n_folds, std::uint64_t seed) {
        VectorArg gv = as_vector(groups, "target_stats_folds", "groups", true);
        return target_stat_folds(n_rows, gv.view, n_folds, seed);
      },
      py::arg("n_rows"), py::arg("groups"), py::arg("n_folds"), py::arg("seed"));

  m.def(
      "target_stats_order",
      [](Index n_rows, const py::object& groups, std::uint64_t seed) {
        VectorArg gv = as_vector(groups, "target_stats_order", "groups", true);
        TargetStatOrder o = target_stat_order(n_rows, gv.view, seed);
        return py::make_tuple(o.rows, o.block_start);
      },
      py::arg("n_rows"), py::arg("groups"), py::arg("seed"),
      "(rows, block_start) of the ordered scheme: the rows in processing order, grouped.");
}

}  // namespace calibrisk::pyb
