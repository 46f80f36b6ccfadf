// SPDX-License-Identifier: Apache-2.0
// Python bindings of the trees module: GBDTParams, GradientBoostedTrees (fit / predict with the GIL
// released, zero-copy inputs), saving through the artifact codec (to_bytes / from_bytes / pickle)
// and the explanations (importances, TreeSHAP contributions).
#include <calibrisk/artifact/io.hpp>
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
#include "codec_pickle.hpp"

namespace calibrisk::pyb {

namespace {

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

// The model's codec section ("/model", type gradient_boosted_trees).
struct TreesCodec {
  static std::string encode(const GradientBoostedTrees& m) { return encode_model(m); }
  static GradientBoostedTrees decode(const std::string& text) {
    return take_alternative<GradientBoostedTrees>(decode_model(text), "/model/type",
                                                  "gradient_boosted_trees");
  }
  static int n_threads(const GradientBoostedTrees& m) { return m.params().n_threads; }
  static GradientBoostedTrees with_n_threads(const GradientBoostedTrees& m, int n) {
    GBDTParams p = m.params();
    p.n_threads = n;
    return GradientBoostedTrees::from_state(m.state(), std::move(p));
  }
};

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
          py::arg("kind"), py::arg("w0") = 1.0, py::arg("w1") = 1.0)
      .def(
          "set_class_weight_per_class",
          [](GBDTParams& p, const std::vector<double>& w) {
            p.class_weight = ClassWeight::per_class_weights(w);
          },
          py::arg("weights"), "Explicit weight of each class index 0..K-1 (multiclass).");

  m.def(
      "code_ancestor_levels",
      [](const std::vector<std::string>& labels, const py::object& hierarchy, int max_levels) {
        CodeHierarchy h;
        if (!hierarchy.is_none()) {
          const auto lengths = hierarchy.cast<std::vector<int>>();
          h = lengths.empty() ? CodeHierarchy::dotted() : CodeHierarchy::by_prefix(lengths);
        }
        return code_ancestor_levels(labels, h, max_levels);
      },
      py::arg("labels"), py::arg("hierarchy"), py::arg("max_levels") = 3,
      "Per hierarchy level (coarsest first), the group id of each code (code k = labels[k]) "
      "under the hierarchy (None = none, [] = dotted, else prefix lengths).");

  m.def(
      "inferred_code_hierarchy",
      [](const std::vector<std::string>& labels) -> py::object {
        const CodeHierarchy h = inferred_code_hierarchy(labels);
        if (!h.declared) return py::none();
        return py::cast(h.prefix_lengths);
      },
      py::arg("labels"),
      "[] (dotted) when the labels are mostly dotted codes whose prefixes pool some of them, "
      "else None.");

  py::class_<GradientBoostedTrees>(m, "GradientBoostedTrees",
                                   "Histogram gradient-boosted trees (binary log-loss).")
      .def(py::init<GBDTParams>(), py::arg("params") = GBDTParams{})
      .def(
          "fit",
          [](GradientBoostedTrees& self, const py::object& X, const py::object& y,
             const py::object& sample_weight, const py::object& X_valid, const py::object& y_valid,
             const py::object& sample_weight_valid, const py::object& groups,
             const py::object& code_ancestry, int n_classes) -> GradientBoostedTrees& {
            const std::string where = "GradientBoostedTrees.fit";
            DataArgs train = data_args(X, y, sample_weight, where, "X", "y", "sample_weight");
            Dataset dtrain(train.X.view, train.y.view, train.w.view);
            VectorArg g = as_vector(groups, where, "groups", true);
            GBDTFitContext ctx;
            ctx.groups = g.view;
            if (!code_ancestry.is_none()) {
              for (const auto& item : code_ancestry.cast<py::dict>()) {
                ctx.code_ancestry.push_back(
                    {item.first.cast<int>(), item.second.cast<std::vector<std::vector<int>>>()});
              }
            }
            if (X_valid.is_none()) {
              py::gil_scoped_release release;
              self.fit(dtrain, ctx, n_classes);
            } else {
              DataArgs valid = data_args(X_valid, y_valid, sample_weight_valid, where, "X_valid",
                                         "y_valid", "sample_weight_valid");
              Dataset dvalid(valid.X.view, valid.y.view, valid.w.view);
              py::gil_scoped_release release;
              self.fit(dtrain, dvalid, ctx, n_classes);
            }
            return self;
          },
          py::arg("X"), py::arg("y"), py::arg("sample_weight") = py::none(),
          py::arg("X_valid") = py::none(), py::arg("y_valid") = py::none(),
          py::arg("sample_weight_valid") = py::none(), py::arg("groups") = py::none(),
          py::arg("code_ancestry") = py::none(), py::arg("n_classes") = 2,
          py::return_value_policy::reference,
          "Fits on float32/float64 X viewed in place; the GIL is released while training. "
          "y: class indices 0..n_classes-1 (n_classes >= 3: softmax boosting). "
          "groups: None or one patient id per row (grouped target-statistic folds); "
          "code_ancestry: None or {feature: [level 0 group of each code, level 1, ...]}.")
      .def(
          "predict_proba_matrix",
          [](const GradientBoostedTrees& self, const py::object& X) {
            FeatureArg xa = as_features(X, "GradientBoostedTrees.predict_proba_matrix");
            const Index n = xa.view.rows();
            const Index k = self.n_classes();
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
            MatrixView<double> ov = MatrixView<double>::row_major(out.mutable_data(), n, k);
            {
              py::gil_scoped_release release;
              self.predict_proba_matrix(xa.view, ov);
            }
            return out;
          },
          py::arg("X"), "(n_samples, n_classes) class probabilities, rows summing to 1.")
      .def(
          "decision_matrix",
          [](const GradientBoostedTrees& self, const py::object& X) {
            FeatureArg xa = as_features(X, "GradientBoostedTrees.decision_matrix");
            const Index n = xa.view.rows();
            const Index k = self.n_classes() == 2 ? 1 : self.n_classes();
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
            MatrixView<double> ov = MatrixView<double>::row_major(out.mutable_data(), n, k);
            {
              py::gil_scoped_release release;
              self.decision_matrix(xa.view, ov);
            }
            return out;
          },
          py::arg("X"), "Raw scores: (n_samples, 1) log-odds (binary) or (n_samples, K).")
      .def(
          "predict_proba_row",
          [](const GradientBoostedTrees& self,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& row) {
            if (row.ndim() != 1 || row.shape(0) != self.state().ensemble.n_features) {
              throw InvalidInput("GradientBoostedTrees.predict_proba_row: pass one row of " +
                                 std::to_string(self.state().ensemble.n_features) + " values.");
            }
            py::array_t<double> out(static_cast<py::ssize_t>(self.n_classes()));
            self.predict_proba_row(row.data(), out.mutable_data());
            return out;
          },
          py::arg("row"), "All class probabilities of one row (the allocation-free C++ path).")
      .def_property_readonly("n_classes", &GradientBoostedTrees::n_classes)
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
          "n_features",
          [](const GradientBoostedTrees& self) { return self.state().ensemble.n_features; })
      .def(
          "feature_importance",
          [](const GradientBoostedTrees& self, const std::string& kind) {
            if (kind != "gain" && kind != "split") {
              throw InvalidInput(
                  "feature_importance: importance_type must be 'gain' or 'split', "
                  "got '" +
                  kind + "'.");
            }
            const ImportanceType t =
                kind == "gain" ? ImportanceType::kGain : ImportanceType::kSplit;
            if (self.n_classes() == 2) return feature_importance(self.ensemble(), t);
            // Multiclass: summed over the classes' trees.
            std::vector<double> total;
            for (int k = 0; k < self.n_classes(); ++k) {
              const std::vector<double> part = feature_importance(self.class_ensemble(k), t);
              if (total.empty()) total.assign(part.size(), 0.0);
              for (std::size_t j = 0; j < part.size(); ++j) total[j] += part[j];
            }
            return total;
          },
          py::arg("importance_type") = "gain", "Unnormalised importance per feature.");
  def_codec<TreesCodec, GradientBoostedTrees>(m, "GradientBoostedTrees");
  def_n_threads<TreesCodec, GradientBoostedTrees>(m, "GradientBoostedTrees");

  py::class_<TreeExplainer>(m, "TreeExplainer", "Exact path-dependent TreeSHAP contributions.")
      .def(py::init([](const GradientBoostedTrees& model, int class_index) {
             if (class_index < 0) return TreeExplainer(model.ensemble());
             return TreeExplainer(model.class_ensemble(class_index));
           }),
           py::arg("model"), py::arg("class_index") = -1,
           "Explains a binary model (class_index -1 or 1) or class k's raw score of a "
           "multiclass model (its trees; the bias is the class's expected raw score).")
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

  m.def(
      "_reference_margin",
      [](const GradientBoostedTrees& self, const py::object& X, int class_index) {
        // Reference traversal of the flat arrays, used by the Python tests to check the fast
        // predictor through the bindings.
        FeatureArg xa = as_features(X, "_reference_margin");
        const TreeEnsemble& e =
            class_index < 0 ? self.ensemble() : self.class_ensemble(class_index);
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
                const bool left = t.goes_left(k, x, e.cardinality_of(t.feature[u]));
                k = left ? t.left[u] : t.right[u];
              }
              acc += t.value[static_cast<std::size_t>(k)];
            }
            o[i] = acc;
          }
        });
        return out;
      },
      py::arg("model"), py::arg("X"), py::arg("class_index") = -1);
}

}  // namespace calibrisk::pyb
