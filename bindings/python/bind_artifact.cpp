// SPDX-License-Identifier: Apache-2.0
// Python bindings of the artifact module: the C++ Pipeline (_Pipeline), its assembly from the codec
// bytes of fitted calibrisk estimators, save/load and the training-data fingerprint.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

namespace calibrisk::pyb {

namespace {

// Runs fn; a FileError (the operating system refused a file operation) becomes OSError with
// its errno, as Python's own file functions raise.
template <class Fn>
auto as_os_error(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const FileError& e) {
    py::gil_scoped_acquire gil;
    PyErr_SetObject(PyExc_OSError, py::make_tuple(e.error_code(), std::string(e.what())).ptr());
    throw py::error_already_set();
  }
}

SaveOptions save_options(const std::string& signing_key) {
  SaveOptions o;
  o.signing_key_file = signing_key;
  return o;
}

py::dict report_to_dict(const InputReport& r) {
  py::list features;
  for (const FeatureDrift& f : r.features) {
    py::dict d;
    d["feature"] = f.feature;
    d["name"] = f.name;
    d["n_below_min"] = f.n_below_min;
    d["n_above_max"] = f.n_above_max;
    d["n_unseen_category"] = f.n_unseen_category;
    d["n_missing"] = f.n_missing;
    d["n_non_finite"] = f.n_non_finite;
    d["missing_rate"] = f.missing_rate;
    d["train_missing_rate"] = f.train_missing_rate;
    d["missing_rate_z"] = f.missing_rate_z;
    d["missing_rate_drift"] = f.missing_rate_drift;
    d["example_rows"] = f.example_rows;
    features.append(d);
  }
  py::dict d;
  d["n_rows"] = r.n_rows;
  d["n_features_expected"] = r.n_features_expected;
  d["n_wrong_length"] = r.n_wrong_length;
  d["wrong_length_examples"] = r.wrong_length_examples;
  d["errors"] = r.errors;
  d["features"] = features;
  d["ok"] = r.ok();
  d["has_drift"] = r.has_drift();
  d["summary"] = r.summary();
  return d;
}

py::list schema_to_list(const FeatureSchema& s) {
  py::list out;
  for (const FeatureInfo& f : s.features) {
    py::dict d;
    d["name"] = f.name;
    d["min"] = f.min;
    d["max"] = f.max;
    d["missing_rate"] = f.missing_rate;
    d["categorical"] = f.categorical;
    d["categories"] = f.categories;
    out.append(d);
  }
  return out;
}

// The parts arrive as their codec bytes (each estimator's to_bytes()), decoded with the loader's
// own checks: one encoder and decoder for every piece of saved state.
PipelineModel model_from_python(const py::bytes& model) { return decode_model(std::string(model)); }

PipelineCalibrator calibrator_from_python(const py::object& c) {
  if (c.is_none()) return {};
  return decode_calibrator(c.cast<std::string>());
}

Pipeline build(const py::bytes& model, const py::object& calibrator,
               const std::string& calibrator_input, const std::vector<std::string>& names,
               const py::object& X_train, const py::object& y_train,
               const std::vector<Index>& categorical, bool auto_categorical, double threshold,
               const std::string& policy,
               const std::vector<std::pair<std::string, double>>& figures,
               const std::vector<std::pair<std::string, std::string>>& parameters,
               std::uint64_t seed, const std::string& created_at) {
  PipelineParts parts;
  parts.model = model_from_python(model);
  parts.calibrator = calibrator_from_python(calibrator);
  if (calibrator_input == "margin") {
    parts.calibrator_input = CalibratorInput::kMargin;
  } else if (calibrator_input == "probability") {
    parts.calibrator_input = CalibratorInput::kProbability;
  } else {
    throw InvalidInput(
        "Pipeline.from_estimators: calibrator_input must be \"margin\" or "
        "\"probability\", got \"" +
        calibrator_input + "\".");
  }
  const Index p = std::visit(
      [](const auto& m) -> Index {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, LogisticRegression>) {
          return m.n_features();
        } else {
          return m.state().ensemble.n_features;
        }
      },
      parts.model);
  if (!X_train.is_none()) {
    FeatureArg xa = as_features(X_train, "Pipeline.from_estimators");
    if (xa.view.cols() != p) {
      throw InvalidInput("Pipeline.from_estimators: X_train has " + std::to_string(xa.view.cols()) +
                         " columns but the model has " + std::to_string(p) + " features.");
    }
    SchemaOptions o;
    o.categorical = categorical;
    o.auto_categorical = auto_categorical;
    parts.schema = FeatureSchema::from_data(xa.view, names, o);
    if (!y_train.is_none()) {
      VectorArg ya = as_vector(y_train, "Pipeline.from_estimators", "y_train");
      parts.provenance.training_data = fingerprint_data(xa.view, ya.view);
    } else {
      parts.provenance.training_data = fingerprint_data(xa.view);
    }
  } else {
    parts.schema = FeatureSchema::from_names(names, p);
  }
  parts.operating_point.threshold = threshold;
  parts.operating_point.policy = policy;
  parts.operating_point.figures = figures;
  parts.provenance.parameters = parameters;
  parts.provenance.seed = seed;
  parts.provenance.created_at = created_at;
  Pipeline pipe(std::move(parts));
  // K-class pipelines have no monitoring reference yet (monitor is binary).
  if (X_train.is_none() || pipe.n_classes() > 2) return pipe;
  // The monitoring reference (format 1.3): feature distributions of X_train and, with no
  // calibration part at hand, the risk distribution of the same rows.
  FeatureArg xa = as_features(X_train, "Pipeline.from_estimators");
  const Eigen::VectorXd risk = pipe.predict_proba(xa.view);
  return pipe.with_reference(MonitoringReference::from_data(
      pipe.schema(), xa.view, std::vector<double>(risk.data(), risk.data() + risk.size()),
      pipe.threshold()));
}

// A K-class pipeline: `core` (a multinomial model, built by _pipeline_build) with its multiclass
// calibrator (codec bytes or None), class labels and review thresholds (None, or the policy text,
// per_class and the thresholds of select_review_threshold).
Pipeline with_multiclass(const Pipeline& core, const py::object& calibrator,
                         const std::vector<std::string>& classes, const py::object& review) {
  PipelineParts parts = core.parts();
  if (!calibrator.is_none()) {
    parts.multiclass_calibrator = decode_multiclass_calibrator(calibrator.cast<std::string>());
  }
  parts.classes = classes;
  if (!review.is_none()) {
    const auto t = review.cast<std::tuple<std::string, bool, std::vector<double>>>();
    ReviewPolicyRecord r;
    r.kind = "threshold";
    r.policy = std::get<0>(t);
    r.per_class = std::get<1>(t);
    r.thresholds = std::get<2>(t);
    parts.review = r;
  }
  return Pipeline(std::move(parts));
}

py::array_t<double> to_numpy(const Eigen::VectorXd& v) {
  py::array_t<double> out(v.size());
  std::copy(v.data(), v.data() + v.size(), out.mutable_data());
  return out;
}

}  // namespace

void bind_artifact(py::module_& m) {
  m.attr("_ARTIFACT_FORMAT_VERSION") =
      std::to_string(kFormatVersionMajor) + "." + std::to_string(kFormatVersionMinor);

  py::class_<Pipeline>(m, "_Pipeline", "The C++ deployable pipeline (use calibrisk.Pipeline).")
      .def(
          "predict_proba",
          [](const Pipeline& p, const py::object& X) {
            FeatureArg xa = as_features(X, "Pipeline.predict_proba");
            py::array_t<double> out(xa.view.rows());
            VectorView<double> ov(out.mutable_data(), xa.view.rows());
            {
              py::gil_scoped_release release;
              p.predict_proba(xa.view, ov);
            }
            return out;
          },
          py::arg("X"), "Calibrated P(y = 1) per row (1-D float64).")
      .def_property_readonly("n_classes", &Pipeline::n_classes)
      .def("class_labels", &Pipeline::class_labels)
      .def(
          "predict_proba_matrix",
          [](const Pipeline& p, const py::object& X) {
            FeatureArg xa = as_features(X, "Pipeline.predict_proba");
            py::array_t<double> out({xa.view.rows(), static_cast<Index>(p.n_classes())});
            {
              py::gil_scoped_release release;
              p.predict_proba_matrix(
                  xa.view,
                  MatrixView<double>::row_major(out.mutable_data(), xa.view.rows(), p.n_classes()));
            }
            return out;
          },
          py::arg("X"), "Class probabilities (n, K), rows summing to 1.")
      .def(
          "route",
          [](const Pipeline& p, const py::array_t<double, py::array::c_style>& P) {
            if (P.ndim() != 2) throw InvalidInput("Pipeline.route: P must be 2-D (n, K).");
            const auto v = MatrixView<const double>::row_major(P.data(), P.shape(0), P.shape(1));
            const std::vector<std::uint8_t> r = p.route(v);
            const std::vector<std::int32_t> l = p.predict_label(v);
            py::array_t<bool> routed(static_cast<py::ssize_t>(r.size()));
            py::array_t<std::int64_t> label(static_cast<py::ssize_t>(l.size()));
            for (std::size_t i = 0; i < r.size(); ++i) {
              routed.mutable_data()[i] = r[i] != 0;
              label.mutable_data()[i] = l[i];
            }
            return py::make_tuple(label, routed);
          },
          py::arg("P"), "(label indices, auto-routed mask) of a probability matrix.")
      .def_property_readonly("review_policy",
                             [](const Pipeline& p) -> py::object {
                               const ReviewPolicyRecord* r = p.review_policy();
                               if (r == nullptr) return py::none();
                               py::dict d;
                               d["kind"] = r->kind;
                               d["policy"] = r->policy;
                               d["per_class"] = r->per_class;
                               d["thresholds"] = r->thresholds;
                               return d;
                             })
      .def(
          "decision_function",
          [](const Pipeline& p, const py::object& X) {
            FeatureArg xa = as_features(X, "Pipeline.decision_function");
            Eigen::VectorXd v;
            {
              py::gil_scoped_release release;
              v = p.decision_function(xa.view);
            }
            return to_numpy(v);
          },
          py::arg("X"), "The model's raw margin (log-odds before calibration) per row.")
      .def(
          "predict_proba_row",
          [](const Pipeline& p, const py::object& row) {
            VectorArg ra = as_vector(row, "Pipeline.predict_proba_row", "row");
            if (ra.view.size() != p.n_features()) {
              throw InvalidInput("Pipeline.predict_proba_row: the row has " +
                                 std::to_string(ra.view.size()) +
                                 " values but the pipeline "
                                 "expects " +
                                 std::to_string(p.n_features()) + ".");
            }
            std::vector<double> buf(static_cast<std::size_t>(ra.view.size()));
            for (Index j = 0; j < ra.view.size(); ++j) {
              if (std::isinf(ra.view[j])) {
                throw InvalidInput("Pipeline.predict_proba_row: row[" + std::to_string(j) +
                                   "] is infinite; use NaN for a missing value.");
              }
              buf[static_cast<std::size_t>(j)] = ra.view[j];
            }
            return p.predict_proba_row(buf.data());
          },
          py::arg("row"), "Calibrated P(y = 1) of one row (the single-row C++ path).")
      .def(
          "explain",
          [](const Pipeline& p, const py::object& X, const std::string& scale) {
            const ExplainScale s = parse_explain_scale(scale, "Pipeline.explain: scale");
            FeatureArg xa = as_features(X, "Pipeline.explain");
            py::array_t<double> out({xa.view.rows(), p.n_features()});
            double baseline = 0.0;
            {
              py::gil_scoped_release release;
              baseline = p.explain(
                  xa.view,
                  MatrixView<double>::row_major(out.mutable_data(), xa.view.rows(), p.n_features()),
                  s);
            }
            return py::make_tuple(out, baseline);
          },
          py::arg("X"), py::arg("scale") = "calibrated",
          "(contributions (n, n_features), baseline) on the calibrated or margin log-odds.")
      .def(
          "mean_abs_contributions",
          [](const Pipeline& p, const py::object& X, const std::string& scale) {
            const ExplainScale s = parse_explain_scale(scale, "Pipeline.explain_importance: scale");
            FeatureArg xa = as_features(X, "Pipeline.explain_importance");
            std::vector<double> v;
            {
              py::gil_scoped_release release;
              v = p.mean_abs_contributions(xa.view, s);
            }
            return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
          },
          py::arg("X"), py::arg("scale") = "calibrated",
          "Mean |contribution| per feature over the rows of X.")
      .def(
          "check_inputs",
          [](const Pipeline& p, const py::object& X, double tolerance, double z,
             Index max_examples) {
            InputCheckOptions o;
            o.missing_rate_tolerance = tolerance;
            o.missing_z = z;
            o.max_examples = max_examples;
            FeatureArg xa = as_features(X, "Pipeline.check_inputs");
            InputReport r;
            {
              py::gil_scoped_release release;
              r = p.check_inputs(xa.view, o);
            }
            return report_to_dict(r);
          },
          py::arg("X"), py::arg("missing_rate_tolerance") = 0.05, py::arg("missing_z") = 3.0,
          py::arg("max_examples") = 5, "Drift / consistency report of a batch (a dict).")
      .def(
          "to_string",
          [](const Pipeline& p, const std::string& signing_key) {
            return as_os_error([&] { return to_string(p, save_options(signing_key)); });
          },
          py::arg("signing_key") = "")
      .def(
          "save",
          [](const Pipeline& p, const std::string& path, const std::string& signing_key) {
            as_os_error([&] { save(p, path, save_options(signing_key)); });
          },
          py::arg("path"), py::arg("signing_key") = "")
      .def_property_readonly("n_features", &Pipeline::n_features)
      .def_property_readonly("threshold", &Pipeline::threshold)
      .def_property_readonly("model_type",
                             [](const Pipeline& p) { return std::string(p.model_type()); })
      .def_property_readonly("calibrator_type",
                             [](const Pipeline& p) { return std::string(p.calibrator_type()); })
      .def_property_readonly("calibrator_input",
                             [](const Pipeline& p) {
                               return std::string(p.calibrator_input() == CalibratorInput::kMargin
                                                      ? "margin"
                                                      : "probability");
                             })
      .def_property_readonly("feature_names",
                             [](const Pipeline& p) {
                               std::vector<std::string> names;
                               for (const auto& f : p.schema().features) names.push_back(f.name);
                               return names;
                             })
      .def_property_readonly("schema", [](const Pipeline& p) { return schema_to_list(p.schema()); })
      .def_property_readonly("operating_point",
                             [](const Pipeline& p) {
                               py::dict d;
                               d["threshold"] = p.operating_point().threshold;
                               d["policy"] = p.operating_point().policy;
                               py::dict figs;
                               for (const auto& f : p.operating_point().figures)
                                 figs[py::str(f.first)] = f.second;
                               d["figures"] = figs;
                               return d;
                             })
      .def_property_readonly("provenance",
                             [](const Pipeline& p) {
                               const Provenance& pv = p.provenance();
                               py::dict d;
                               d["library_version"] = pv.library_version;
                               py::dict params;
                               for (const auto& kv : pv.parameters)
                                 params[py::str(kv.first)] = kv.second;
                               d["parameters"] = params;
                               d["seed"] = pv.seed;
                               d["created_at"] = pv.created_at;
                               py::dict td;
                               td["rows"] = pv.training_data.rows;
                               td["cols"] = pv.training_data.cols;
                               td["prevalence"] = pv.training_data.prevalence;
                               td["sha256"] = pv.training_data.sha256;
                               d["training_data"] = td;
                               return d;
                             })
      .def(py::pickle([](const Pipeline& p) { return py::bytes(to_string(p)); },
                      [](const py::bytes& b) { return load_from_string(std::string(b)); }));

  m.def("_pipeline_build", &build, py::arg("model"), py::arg("calibrator"),
        py::arg("calibrator_input"), py::arg("feature_names"), py::arg("X_train"),
        py::arg("y_train"), py::arg("categorical"), py::arg("auto_categorical"),
        py::arg("threshold"), py::arg("policy"), py::arg("figures"), py::arg("parameters"),
        py::arg("seed"), py::arg("created_at"),
        "Assembles a _Pipeline from fitted C++ parts (see calibrisk.Pipeline.from_estimators).");
  m.def("_pipeline_with_multiclass", &with_multiclass, py::arg("core"), py::arg("calibrator"),
        py::arg("classes"), py::arg("review"),
        "A K-class _Pipeline: the multinomial core with its calibrator, labels and review.");
  m.def(
      "_pipeline_load",
      [](const std::string& path, bool verify_checksum, const std::string& public_key) {
        LoadOptions o;
        o.verify_checksum = verify_checksum;
        o.public_key_file = public_key;
        return as_os_error([&] {
          py::gil_scoped_release release;
          return load(path, o);
        });
      },
      py::arg("path"), py::arg("verify_checksum") = true, py::arg("public_key") = "");
  m.def(
      "_pipeline_loads",
      [](const std::string& text, bool verify_checksum, const std::string& public_key) {
        LoadOptions o;
        o.verify_checksum = verify_checksum;
        o.public_key_file = public_key;
        return as_os_error([&] {
          py::gil_scoped_release release;
          return load_from_string(text, o);
        });
      },
      py::arg("text"), py::arg("verify_checksum") = true, py::arg("public_key") = "");
  m.def(
      "_generate_key_pair",
      [](const std::string& secret, const std::string& pub) {
        as_os_error([&] { generate_key_pair(secret, pub); });
      },
      py::arg("secret_key"), py::arg("public_key"));
  m.def(
      "_fingerprint_data",
      [](const py::object& X, const py::object& y) {
        FeatureArg xa = as_features(X, "fingerprint_data");
        VectorArg ya = as_vector(y, "fingerprint_data", "y", true);
        const DataFingerprint fp = fingerprint_data(xa.view, ya.view);
        py::dict d;
        d["rows"] = fp.rows;
        d["cols"] = fp.cols;
        d["prevalence"] = fp.prevalence;
        d["sha256"] = fp.sha256;
        return d;
      },
      py::arg("X"), py::arg("y") = py::none());
}

}  // namespace calibrisk::pyb
