// SPDX-License-Identifier: Apache-2.0
// Python bindings of the linear module: calibrisk._core.LogisticRegressionModel, the C++ model
// behind calibrisk.LogisticRegression (arrays viewed without copying, GIL released for the work).
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bind_params.hpp"
#include "bindings.hpp"
#include "codec_pickle.hpp"

namespace calibrisk::pyb {

namespace {

// A scipy.sparse CSR/CSC matrix passed as its arrays (the Python side makes indptr/indices int64
// and data float64 contiguous; no densification).
struct SparseArg {
  py::array_t<std::int64_t, py::array::c_style> indptr, indices;
  py::array_t<double, py::array::c_style> data;
  SparseMatrixView view;
};

SparseArg as_sparse(const py::tuple& t) {
  SparseArg a;
  a.indptr = t[0].cast<py::array_t<std::int64_t, py::array::c_style>>();
  a.indices = t[1].cast<py::array_t<std::int64_t, py::array::c_style>>();
  a.data = t[2].cast<py::array_t<double, py::array::c_style>>();
  a.view.rows = t[3].cast<Index>();
  a.view.cols = t[4].cast<Index>();
  a.view.csr = t[5].cast<bool>();
  const Index outer = a.view.csr ? a.view.rows : a.view.cols;
  if (a.indptr.size() != outer + 1 || a.indices.size() != a.data.size() ||
      (a.indptr.size() > 0 && a.indptr.at(outer) != a.data.size())) {
    throw InvalidInput("LogisticRegression: the sparse matrix is malformed (indptr has " +
                       std::to_string(a.indptr.size()) + " entries for " + std::to_string(outer) +
                       " rows/columns, " + std::to_string(a.indices.size()) + " indices, " +
                       std::to_string(a.data.size()) + " values).");
  }
  a.view.indptr = a.indptr.data();
  a.view.indices = a.indices.data();
  a.view.values = a.data.data();
  return a;
}

// The Python-facing model: params plus the fitted C++ object.
struct PyLogisticRegression {
  LogisticRegressionParams params;
  LogisticRegression model;

  LogisticRegressionParams fit_params(const std::vector<double>& per_class) const {
    LogisticRegressionParams p = params;
    if (!per_class.empty()) p.class_weight = ClassWeight::per_class_weights(per_class);
    return p;
  }

  void fit(const py::object& X, const py::object& y, const py::object& sample_weight, int n_classes,
           const std::vector<double>& per_class) {
    static const std::string where = "LogisticRegression.fit";
    FeatureArg xa = as_features(X, where);
    VectorArg ya = as_vector(y, where, "y");
    VectorArg wa = as_vector(sample_weight, where, "sample_weight", true);
    LogisticRegression m(fit_params(per_class));
    {
      py::gil_scoped_release release;
      m.fit(Dataset(xa.view, ya.view, wa.view), n_classes);
    }
    model = std::move(m);
  }

  void fit_sparse(const py::tuple& X, const py::object& y, const py::object& sample_weight,
                  int n_classes, const std::vector<double>& per_class) {
    static const std::string where = "LogisticRegression.fit";
    SparseArg xa = as_sparse(X);
    VectorArg ya = as_vector(y, where, "y");
    VectorArg wa = as_vector(sample_weight, where, "sample_weight", true);
    LogisticRegression m(fit_params(per_class));
    {
      py::gil_scoped_release release;
      m.fit(xa.view, ya.view, wa.view, n_classes);
    }
    model = std::move(m);
  }

  // (n, K) probabilities (proba) or (n, K') margins of a dense array or a sparse tuple.
  py::array_t<double> matrix(const py::object& X, bool proba) const {
    static const std::string where = "LogisticRegression.predict_proba";
    const Index K = model.n_classes();
    const Index cols = proba ? K : (K == 2 ? 1 : K);
    if (py::isinstance<py::tuple>(X)) {
      SparseArg xa = as_sparse(X.cast<py::tuple>());
      py::array_t<double> out(
          {static_cast<py::ssize_t>(xa.view.rows), static_cast<py::ssize_t>(cols)});
      auto ov = MatrixView<double>::row_major(out.mutable_data(), xa.view.rows, cols);
      py::gil_scoped_release release;
      proba ? model.predict_proba_matrix(xa.view, ov) : model.decision_matrix(xa.view, ov);
      return out;
    }
    FeatureArg xa = as_features(X, where);
    const Index n = xa.view.rows();
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(cols)});
    auto ov = MatrixView<double>::row_major(out.mutable_data(), n, cols);
    py::gil_scoped_release release;
    proba ? model.predict_proba_matrix(xa.view, ov) : model.decision_matrix(xa.view, ov);
    return out;
  }

  // (n, 2) C-ordered [1 - p, p], filled in place: column 1 through a stride-2 view.
  py::array_t<double> predict_two_columns(const py::object& X) const {
    static const std::string where = "LogisticRegression.predict_proba";
    FeatureArg xa = as_features(X, where);
    const Index n = xa.view.rows();
    py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(2)});
    double* o = out.mutable_data();
    {
      py::gil_scoped_release release;
      model.predict_proba(xa.view, VectorView<double>(o + 1, n, 2));
      for (Index i = 0; i < n; ++i) o[2 * i] = 1.0 - o[2 * i + 1];
    }
    return out;
  }

  py::array_t<double> predict(const py::object& X, bool proba) const {
    static const std::string where = "LogisticRegression.predict";
    FeatureArg xa = as_features(X, where);
    py::array_t<double> out(xa.view.rows());
    VectorView<double> ov(out.mutable_data(), xa.view.rows());
    {
      py::gil_scoped_release release;
      if (proba) {
        model.predict_proba(xa.view, ov);
      } else {
        model.decision_function(xa.view, ov);
      }
    }
    return out;
  }
};

// The model's codec section ("/model", type logistic_regression); the decoded params become the
// Python-facing params.
struct LinearCodec {
  static std::string encode(const PyLogisticRegression& s) { return encode_model(s.model); }
  static PyLogisticRegression decode(const std::string& text) {
    PyLogisticRegression r;
    r.model = take_alternative<LogisticRegression>(decode_model(text), "/model/type",
                                                   "logistic_regression");
    r.params = r.model.params();
    return r;
  }
  static int n_threads(const PyLogisticRegression& s) { return s.model.params().n_threads; }
  static PyLogisticRegression with_n_threads(const PyLogisticRegression& s, int n) {
    PyLogisticRegression r;
    r.params = s.model.params();
    r.params.n_threads = n;
    r.model = LogisticRegression::from_state(s.model.state(), r.params);
    return r;
  }
};

}  // namespace

void bind_linear(py::module_& m) {
  bind_params<LogisticRegressionParams>(m, "LogisticRegressionParams",
                                        "Hyper-parameters of LogisticRegression (C++ names).");
  py::class_<PyLogisticRegression>(
      m, "LogisticRegressionModel",
      "C++ logistic regression (private; use calibrisk.LogisticRegression).")
      .def(py::init([](const LogisticRegressionParams& params) {
             PyLogisticRegression r;
             r.params = params;
             r.params.validate();
             r.model = LogisticRegression(r.params);
             return r;
           }),
           py::arg("params") = LogisticRegressionParams{})
      .def("fit", &PyLogisticRegression::fit, py::arg("X"), py::arg("y"),
           py::arg("sample_weight") = py::none(), py::arg("n_classes") = 2,
           py::arg("class_weight_per_class") = std::vector<double>{},
           "Fits on X (float32/float64 viewed in place), y = class indices, optional weights.")
      .def("fit_sparse", &PyLogisticRegression::fit_sparse, py::arg("X"), py::arg("y"),
           py::arg("sample_weight") = py::none(), py::arg("n_classes") = 2,
           py::arg("class_weight_per_class") = std::vector<double>{},
           "Fits on a sparse matrix given as (indptr, indices, data, rows, cols, is_csr).")
      .def(
          "predict_proba_matrix",
          [](const PyLogisticRegression& s, const py::object& X) { return s.matrix(X, true); },
          py::arg("X"), "(n, K) class probabilities of a dense array or a sparse tuple.")
      .def(
          "decision_matrix",
          [](const PyLogisticRegression& s, const py::object& X) { return s.matrix(X, false); },
          py::arg("X"), "(n, 1) log odds (binary) or (n, K) margins (multinomial).")
      .def_property_readonly("n_classes",
                             [](const PyLogisticRegression& s) { return s.model.n_classes(); })
      .def_property_readonly("class_coef",
                             [](const PyLogisticRegression& s) {
                               return Eigen::MatrixXd(s.model.class_coef_matrix());
                             })
      .def_property_readonly(
          "class_intercept",
          [](const PyLogisticRegression& s) { return s.model.state().class_intercept; })
      .def(
          "predict_proba",
          [](const PyLogisticRegression& s, const py::object& X) { return s.predict(X, true); },
          py::arg("X"), "P(y = 1) per row (1-D float64).")
      .def("predict_proba_2col", &PyLogisticRegression::predict_two_columns, py::arg("X"),
           "[1 - p, p] per row as an (n, 2) float64 array.")
      .def(
          "decision_function",
          [](const PyLogisticRegression& s, const py::object& X) { return s.predict(X, false); },
          py::arg("X"), "Log odds per row (1-D float64).")
      .def_property_readonly("is_fitted",
                             [](const PyLogisticRegression& s) { return s.model.is_fitted(); })
      .def_property_readonly("coef",
                             [](const PyLogisticRegression& s) {
                               const auto& c = s.model.coef();
                               return py::array_t<double>(static_cast<py::ssize_t>(c.size()),
                                                          c.data());
                             })
      .def_property_readonly("design_coef",
                             [](const PyLogisticRegression& s) {
                               const auto& c = s.model.coef();
                               const std::vector<Index> idx = s.model.design_coef_index();
                               py::array_t<double> out(static_cast<py::ssize_t>(idx.size()));
                               double* o = out.mutable_data();
                               for (std::size_t k = 0; k < idx.size(); ++k) {
                                 o[k] = c[static_cast<std::size_t>(idx[k])];
                               }
                               return out;
                             })
      .def(
          "design_names",
          [](const PyLogisticRegression& s, const std::vector<std::string>& names,
             const std::vector<std::vector<std::string>>& labels) {
            return s.model.design_names(names, labels);
          },
          py::arg("names") = std::vector<std::string>{},
          py::arg("category_labels") = std::vector<std::vector<std::string>>{},
          "Names of the expanded design's terms (aligned with design_coef).")
      .def_property_readonly("intercept",
                             [](const PyLogisticRegression& s) { return s.model.intercept(); })
      .def_property_readonly("n_features",
                             [](const PyLogisticRegression& s) { return s.model.n_features(); })
      .def_property_readonly(
          "n_iter", [](const PyLogisticRegression& s) { return s.model.fit_info().n_iter; })
      .def_property_readonly(
          "converged", [](const PyLogisticRegression& s) { return s.model.fit_info().converged; })
      .def_property_readonly("notes",
                             [](const PyLogisticRegression& s) { return s.model.fit_info().notes; })
      .def_property_readonly("objective",
                             [](const PyLogisticRegression& s) { return s.model.objective(); })
      .def_property_readonly("gradient_max",
                             [](const PyLogisticRegression& s) { return s.model.gradient_max(); })
      .def(
          "coefficient_table",
          [](const PyLogisticRegression& s, double confidence,
             const std::vector<std::string>& names,
             const std::vector<std::vector<std::string>>& labels) {
            const CoefficientTable t = s.model.coefficient_table(confidence, names, labels);
            py::dict d;
            std::vector<std::string> term;
            std::vector<double> est, se, z, pv, lo, hi, orr, orl, oru;
            for (const auto& r : t.rows) {
              term.push_back(r.term);
              est.push_back(r.estimate);
              se.push_back(r.std_error);
              z.push_back(r.z);
              pv.push_back(r.p_value);
              lo.push_back(r.ci_lower);
              hi.push_back(r.ci_upper);
              orr.push_back(r.odds_ratio);
              orl.push_back(r.odds_ratio_lower);
              oru.push_back(r.odds_ratio_upper);
            }
            d["term"] = term;
            d["estimate"] = est;
            d["std_error"] = se;
            d["z"] = z;
            d["p_value"] = pv;
            d["ci_lower"] = lo;
            d["ci_upper"] = hi;
            d["odds_ratio"] = orr;
            d["odds_ratio_lower"] = orl;
            d["odds_ratio_upper"] = oru;
            d["confidence"] = t.confidence;
            d["approximate"] = t.approximate;
            return d;
          },
          py::arg("confidence") = 0.95, py::arg("names") = std::vector<std::string>{},
          py::arg("category_labels") = std::vector<std::vector<std::string>>{},
          "Wald table (intercept first) as a dict of equal-length lists plus "
          "confidence/approximate.");
  def_codec<LinearCodec, PyLogisticRegression>(m, "LogisticRegressionModel");
  def_n_threads<LinearCodec, PyLogisticRegression>(m, "LogisticRegressionModel");
}

}  // namespace calibrisk::pyb
