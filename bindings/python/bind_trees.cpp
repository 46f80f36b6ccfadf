// SPDX-License-Identifier: Apache-2.0
// Python bindings of the trees module: GBDTParams, GradientBoostedTrees (fit / predict with the GIL
// released, zero-copy inputs), the flat-array trees as numpy arrays (state for pickling) and the
// explanations (importances, TreeSHAP contributions).
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/trees/explain.hpp>
#include <calibrisk/trees/predict.hpp>
#include <calibrisk/trees/tree.hpp>

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>

#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bind_params.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

namespace {

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// Reads field `name` of a state dict as a vector of T (any numeric sequence), naming the path in
// errors so a damaged pickle says what was wrong.
template <class T>
std::vector<T> from_numpy(const py::dict& d, const char* name, const std::string& where) {
  if (!d.contains(name)) {
    throw ModelFormatError(where + "/" + name + " is missing; the state is incomplete.");
  }
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(d[name]);
  if (!a || a.ndim() != 1) {
    throw ModelFormatError(where + "/" + name + " is not a 1-D numeric array.");
  }
  return std::vector<T>(a.data(), a.data() + a.shape(0));
}

py::dict tree_to_dict(const Tree& t) {
  py::dict d;
  d["left"] = to_numpy(t.left);
  d["right"] = to_numpy(t.right);
  d["feature"] = to_numpy(t.feature);
  d["threshold"] = to_numpy(t.threshold);
  d["missing_left"] = to_numpy(t.missing_left);
  d["value"] = to_numpy(t.value);
  d["gain"] = to_numpy(t.gain);
  d["cover"] = to_numpy(t.cover);
  return d;
}

Tree tree_from_dict(const py::dict& d, const std::string& where) {
  Tree t;
  t.left = from_numpy<std::int32_t>(d, "left", where);
  t.right = from_numpy<std::int32_t>(d, "right", where);
  t.feature = from_numpy<std::int32_t>(d, "feature", where);
  t.threshold = from_numpy<double>(d, "threshold", where);
  t.missing_left = from_numpy<std::uint8_t>(d, "missing_left", where);
  t.value = from_numpy<double>(d, "value", where);
  t.gain = from_numpy<double>(d, "gain", where);
  t.cover = from_numpy<double>(d, "cover", where);
  return t;
}

py::dict ensemble_to_dict(const TreeEnsemble& e) {
  py::dict d;
  d["base_score"] = e.base_score;
  d["n_features"] = e.n_features;
  py::list trees;
  for (const Tree& t : e.trees) trees.append(tree_to_dict(t));
  d["trees"] = trees;
  return d;
}

TreeEnsemble ensemble_from_dict(const py::dict& d) {
  const std::string where = "state";
  TreeEnsemble e;
  for (const char* key : {"base_score", "n_features", "trees"}) {
    if (!d.contains(key)) {
      throw ModelFormatError(where + "/" + key + " is missing; the state is incomplete.");
    }
  }
  e.base_score = d["base_score"].cast<double>();
  e.n_features = d["n_features"].cast<Index>();
  const py::list trees = d["trees"].cast<py::list>();
  for (std::size_t k = 0; k < trees.size(); ++k) {
    e.trees.push_back(
        tree_from_dict(trees[k].cast<py::dict>(), where + "/trees/" + std::to_string(k)));
  }
  return e;
}

// The arrays of a fitted model's training call, kept alive while the GIL is released.
struct DataArgs {
  FeatureArg X;
  VectorArg y, w;
};

DataArgs data_args(const py::object& X, const py::object& y, const py::object& w,
                   const std::string& where, const char* xname, const char* yname,
                   const char* wname) {
  return DataArgs{as_features(X, where, xname), as_vector(y, where, yname),
                  as_vector(w, where, wname, true)};
}

py::array_t<double> proba_impl(const GradientBoostedTrees& m, const py::object& X) {
  FeatureArg xa = as_features(X, "GradientBoostedTrees.predict_proba");
  py::array_t<double> out(static_cast<py::ssize_t>(xa.view.rows()));
  VectorView<double> ov(out.mutable_data(), xa.view.rows());
  {
    py::gil_scoped_release release;
    m.predict_proba(xa.view, ov);
  }
  return out;
}

}  // namespace

void bind_trees(py::module_& m) {
  bind_params<GBDTParams>(m, "GBDTParams", "Hyper-parameters of GradientBoostedTrees (C++ names).")
      .def(
          "set_class_weight",
          [](GBDTParams& p, const std::string& kind, double w0, double w1) {
            if (kind == "none") {
              p.class_weight = ClassWeight::none();
            } else if (kind == "balanced") {
              p.class_weight = ClassWeight::balanced();
            } else if (kind == "explicit") {
              p.class_weight = ClassWeight::explicit_weights(w0, w1);
            } else {
              throw InvalidParams(
                  "GBDTParams.class_weight kind must be 'none', 'balanced' or "
                  "'explicit', got '" +
                  kind + "'.");
            }
          },
          py::arg("kind"), py::arg("w0") = 1.0, py::arg("w1") = 1.0);

  py::class_<GradientBoostedTrees>(m, "GradientBoostedTrees",
                                   "Histogram gradient-boosted trees (binary log-loss).")
      .def(py::init<GBDTParams>(), py::arg("params") = GBDTParams{})
      .def(
          "fit",
          [](GradientBoostedTrees& self, const py::object& X, const py::object& y,
             const py::object& sample_weight, const py::object& X_valid, const py::object& y_valid,
             const py::object& sample_weight_valid) -> GradientBoostedTrees& {
            const std::string where = "GradientBoostedTrees.fit";
            DataArgs train = data_args(X, y, sample_weight, where, "X", "y", "sample_weight");
            Dataset dtrain(train.X.view, train.y.view, train.w.view);
            if (X_valid.is_none()) {
              py::gil_scoped_release release;
              self.fit(dtrain);
            } else {
              DataArgs valid = data_args(X_valid, y_valid, sample_weight_valid, where, "X_valid",
                                         "y_valid", "sample_weight_valid");
              Dataset dvalid(valid.X.view, valid.y.view, valid.w.view);
              py::gil_scoped_release release;
              self.fit(dtrain, dvalid);
            }
            return self;
          },
          py::arg("X"), py::arg("y"), py::arg("sample_weight") = py::none(),
          py::arg("X_valid") = py::none(), py::arg("y_valid") = py::none(),
          py::arg("sample_weight_valid") = py::none(), py::return_value_policy::reference,
          "Fits on float32/float64 X viewed in place; the GIL is released while training.")
      .def("predict_proba", &proba_impl, py::arg("X"), "P(y = 1) per row (1-D).")
      .def(
          "decision_function",
          [](const GradientBoostedTrees& self, const py::object& X) {
            FeatureArg xa = as_features(X, "GradientBoostedTrees.decision_function");
            py::gil_scoped_release release;
            return self.decision_function(xa.view);
          },
          py::arg("X"), "Raw margin (log-odds) per row.")
      .def_property_readonly("is_fitted", &GradientBoostedTrees::is_fitted)
      .def_property_readonly("n_iter", &GradientBoostedTrees::n_iter)
      .def_property_readonly("best_iteration", &GradientBoostedTrees::best_iteration)
      .def_property_readonly("fit_notes",
                             [](const GradientBoostedTrees& self) { return self.fit_info().notes; })
      .def_property_readonly("validation_loss", &GradientBoostedTrees::validation_loss)
      .def_property_readonly(
          "n_features", [](const GradientBoostedTrees& self) { return self.ensemble().n_features; })
      .def(
          "state_dict",
          [](const GradientBoostedTrees& self) { return ensemble_to_dict(self.state().ensemble); },
          "The prediction-time state (base score, flat-array trees) as plain numpy arrays.")
      .def_static(
          "from_state_dict",
          [](const py::dict& d, const GBDTParams& p) {
            GBDTState s;
            s.ensemble = ensemble_from_dict(d);
            return GradientBoostedTrees::from_state(std::move(s), p);
          },
          py::arg("state"), py::arg("params") = GBDTParams{},
          "Rebuilds a fitted model from state_dict() (validated fully).")
      .def(
          "feature_importance",
          [](const GradientBoostedTrees& self, const std::string& kind) {
            if (kind != "gain" && kind != "split") {
              throw InvalidInput(
                  "feature_importance: importance_type must be 'gain' or 'split', "
                  "got '" +
                  kind + "'.");
            }
            return feature_importance(
                self.ensemble(), kind == "gain" ? ImportanceType::kGain : ImportanceType::kSplit);
          },
          py::arg("importance_type") = "gain", "Unnormalised importance per feature.");

  py::class_<TreeExplainer>(m, "TreeExplainer", "Exact path-dependent TreeSHAP contributions.")
      .def(py::init(
               [](const GradientBoostedTrees& model) { return TreeExplainer(model.ensemble()); }),
           py::arg("model"))
      .def_property_readonly("bias", &TreeExplainer::bias)
      .def(
          "contributions",
          [](const TreeExplainer& self, const py::object& X, int n_threads) {
            const std::string where = "contributions";
            FeatureArg xa = as_features(X, where);
            const Index n = xa.view.rows(), nf = self.n_features();
            if (xa.view.cols() != nf) {
              throw InvalidInput(where + ": X has " + std::to_string(xa.view.cols()) +
                                 " features but the model was fitted with " + std::to_string(nf) +
                                 "; pass the same columns, in the same order, as at fit time.");
            }
            py::array_t<double> out(
                {static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(nf + 1)});
            MatrixView<double> ov = MatrixView<double>::row_major(out.mutable_data(), n, nf + 1);
            {
              py::gil_scoped_release release;
              if (n > 0) validate_features(xa.view, nf, where);
              self.contributions(xa.view, ov, n_threads, where);
            }
            return out;
          },
          py::arg("X"), py::arg("n_threads") = 0,
          "(n_samples, n_features + 1): per-feature contributions, bias last; rows sum to the "
          "raw margin.");

  m.def("_reference_margin", [](const GradientBoostedTrees& self, const py::object& X) {
    // Reference traversal of the flat arrays, used by the Python tests to check the fast
    // predictor through the bindings.
    FeatureArg xa = as_features(X, "_reference_margin");
    const TreeEnsemble& e = self.ensemble();
    py::array_t<double> out(static_cast<py::ssize_t>(xa.view.rows()));
    double* o = out.mutable_data();
    xa.view.visit([&](const auto& v) {
      for (Index i = 0; i < v.rows(); ++i) {
        double acc = e.base_score;
        for (const Tree& t : e.trees) {
          std::int32_t k = 0;
          while (t.left[static_cast<std::size_t>(k)] >= 0) {
            const auto u = static_cast<std::size_t>(k);
            const double x = static_cast<double>(v(i, t.feature[u]));
            const bool left = std::isnan(x) ? t.missing_left[u] == 1 : x <= t.threshold[u];
            k = left ? t.left[u] : t.right[u];
          }
          acc += t.value[static_cast<std::size_t>(k)];
        }
        o[i] = acc;
      }
    });
    return out;
  });
}

}  // namespace calibrisk::pyb
