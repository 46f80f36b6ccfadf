// SPDX-License-Identifier: Apache-2.0
// Python bindings of the threshold module: select_threshold and operating_point_at return plain
// dicts that calibrisk.threshold.OperatingPoint wraps.
#include <calibrisk/threshold/select.hpp>

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"

#include <string>

namespace calibrisk::pyb {

namespace {

py::dict to_dict(const OperatingPoint& op) {
  py::dict d;
  d["threshold"] = op.threshold;
  d["policy"] = op.policy;
  d["tp"] = op.tp;
  d["fp"] = op.fp;
  d["tn"] = op.tn;
  d["fn"] = op.fn;
  d["precision"] = op.precision;
  d["recall"] = op.recall;
  d["specificity"] = op.specificity;
  d["npv"] = op.npv;
  d["alert_rate"] = op.alert_rate;
  d["beta"] = op.beta;
  d["fbeta"] = op.fbeta;
  d["expected_cost"] = op.expected_cost;
  d["confidence"] = op.confidence;
  d["precision_ci"] = py::make_tuple(op.precision_wilson.lower, op.precision_wilson.upper);
  d["recall_ci"] = py::make_tuple(op.recall_wilson.lower, op.recall_wilson.upper);
  d["precision_ci_clopper_pearson"] = py::make_tuple(op.precision_cp.lower, op.precision_cp.upper);
  d["recall_ci_clopper_pearson"] = py::make_tuple(op.recall_cp.lower, op.recall_cp.upper);
  d["bayes_threshold"] = op.bayes_threshold;
  d["bayes_expected_cost"] = op.bayes_expected_cost;
  d["bayes_recall"] = op.bayes_recall;
  d["bayes_alert_rate"] = op.bayes_alert_rate;
  return d;
}

ThresholdOptions options(double confidence, bool conservative, const std::string& interval,
                         double beta, double cost_fp, double cost_fn) {
  ThresholdOptions o;
  o.confidence = confidence;
  o.conservative = conservative;
  if (interval == "wilson") {
    o.conservative_interval = IntervalMethod::kWilson;
  } else if (interval == "clopper-pearson" || interval == "beta") {
    o.conservative_interval = IntervalMethod::kClopperPearson;
  } else {
    throw InvalidParams(
        "select_threshold: interval must be \"wilson\" or \"clopper-pearson\", got \"" + interval +
        "\".");
  }
  o.beta = beta;
  o.cost_fp = cost_fp;
  o.cost_fn = cost_fn;
  return o;
}

}  // namespace

void bind_threshold(py::module_& m) {
  m.def(
      "select_threshold",
      [](const py::object& y, const py::object& p, const py::object& w, const std::string& kind,
         double value, double cost_fp, double cost_fn, double confidence, bool conservative,
         const std::string& interval, double beta) {
        VectorArg ya = as_vector(y, "select_threshold", "y_true");
        VectorArg pa = as_vector(p, "select_threshold", "y_prob");
        VectorArg wa = as_vector(w, "select_threshold", "sample_weight", true);
        ThresholdPolicy pol;
        std::string alias;  // Python passes its keyword names, aliases of PolicyKind's table
        if (!enum_from_text(kind, pol.kind, alias)) {
          throw InvalidParams("select_threshold: unknown policy \"" + kind + "\"; use " +
                              enum_choices<PolicyKind>("\"") + ".");
        }
        pol = pol.kind == PolicyKind::kMinCost ? policy::min_cost(cost_fp, cost_fn)
                                               : ThresholdPolicy{pol.kind, value, 1, 1};
        const ThresholdOptions o = options(confidence, conservative, interval, beta, 1.0, 1.0);
        OperatingPoint op;
        {
          py::gil_scoped_release release;
          op = select_threshold(ya.view, pa.view, pol, o, wa.view);
        }
        return to_dict(op);
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight"), py::arg("kind"),
      py::arg("value"), py::arg("cost_fp"), py::arg("cost_fn"), py::arg("confidence"),
      py::arg("conservative"), py::arg("interval"), py::arg("beta"));
  m.def(
      "operating_point_at",
      [](const py::object& y, const py::object& p, const py::object& w, double threshold,
         double confidence, double beta, double cost_fp, double cost_fn) {
        VectorArg ya = as_vector(y, "operating_point_at", "y_true");
        VectorArg pa = as_vector(p, "operating_point_at", "y_prob");
        VectorArg wa = as_vector(w, "operating_point_at", "sample_weight", true);
        const ThresholdOptions o = options(confidence, false, "wilson", beta, cost_fp, cost_fn);
        OperatingPoint op;
        {
          py::gil_scoped_release release;
          op = operating_point_at(
              metrics::SortedScores(ya.view, pa.view, wa.view, "operating_point_at"), threshold, o);
        }
        return to_dict(op);
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight"), py::arg("threshold"),
      py::arg("confidence") = 0.95, py::arg("beta") = 1.0, py::arg("cost_fp") = 1.0,
      py::arg("cost_fn") = 1.0);
}

}  // namespace calibrisk::pyb
