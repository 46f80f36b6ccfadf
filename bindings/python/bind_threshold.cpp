// SPDX-License-Identifier: Apache-2.0
// Python bindings of the threshold module: select_threshold and operating_point_at return plain
// dicts that calibrisk.threshold.OperatingPoint wraps.
#include <calibrisk/threshold/review.hpp>
#include <calibrisk/threshold/select.hpp>

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"

#include <optional>
#include <string>
#include <vector>

namespace calibrisk::pyb {

namespace {

// ---- review queue ------------------------------------------------------------------------------

/// A float64 (n, K) probability matrix view plus its owner (float32 / ints converted once).
struct ProbaArg {
  py::array keep;
  MatrixView<const double> view;
};

ProbaArg as_proba(const py::handle& obj, const std::string& where) {
  auto a = py::array_t<double, py::array::forcecast>::ensure(obj);
  if (!a) throw InvalidInput(where + ": P could not be converted to a float64 array.");
  if (a.ndim() != 2) {
    throw InvalidInput(where + ": P must be 2-D (n_samples, n_classes), got shape " + shape_str(a) +
                       "; a binary model's p gives np.column_stack([1 - p, p]).");
  }
  if (!strides_are_whole<double>(a)) {
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  }
  MatrixView<const double> v(a.data(), a.shape(0), a.shape(1), a.strides(0) / 8, a.strides(1) / 8);
  return ProbaArg{std::move(a), v};
}

py::tuple pair(const metrics::ProportionInterval& i) { return py::make_tuple(i.lower, i.upper); }

py::dict to_dict(const ReviewPoint& p) {
  py::dict d;
  d["threshold"] = p.threshold;
  d["n_total"] = p.n_total;
  d["n_auto"] = p.n_auto;
  d["n_correct"] = p.n_correct;
  d["accuracy"] = p.accuracy;
  d["review_rate"] = p.review_rate;
  d["coverage"] = p.coverage;
  d["confidence"] = p.confidence;
  d["accuracy_ci"] = pair(p.accuracy_cp);
  d["accuracy_ci_wilson"] = pair(p.accuracy_wilson);
  d["review_rate_ci"] = pair(p.review_rate_cp);
  d["review_rate_ci_wilson"] = pair(p.review_rate_wilson);
  d["feasible"] = p.feasible;
  d["message"] = p.message;
  return d;
}

py::dict to_dict(const TriageBand& t) {
  py::dict d;
  d["policy"] = t.policy;
  d["t_low"] = t.t_low;
  d["t_high"] = t.t_high;
  d["n_total"] = t.n_total;
  d["n_review"] = t.n_review;
  d["tp"] = t.tp;
  d["fp"] = t.fp;
  d["tn"] = t.tn;
  d["fn"] = t.fn;
  d["positives_in_review"] = t.positives_in_review;
  d["recall"] = t.recall;
  d["review_rate"] = t.review_rate;
  d["auto_error_rate"] = t.auto_error_rate;
  d["auto_accuracy"] = t.auto_accuracy;
  d["confidence"] = t.confidence;
  d["recall_ci"] = pair(t.recall_cp);
  d["recall_ci_wilson"] = pair(t.recall_wilson);
  d["review_rate_ci"] = pair(t.review_rate_cp);
  d["review_rate_ci_wilson"] = pair(t.review_rate_wilson);
  d["auto_accuracy_ci"] = pair(t.auto_accuracy_cp);
  d["auto_accuracy_ci_wilson"] = pair(t.auto_accuracy_wilson);
  d["feasible"] = t.feasible;
  d["message"] = t.message;
  return d;
}

py::array_t<bool> to_mask(const std::vector<std::uint8_t>& m, py::ssize_t rows, py::ssize_t cols) {
  py::array_t<bool> out({rows, cols});
  auto* o = out.mutable_data();
  for (std::size_t i = 0; i < m.size(); ++i) o[i] = m[i] != 0;
  return out;
}

void bind_review(py::module_& m) {
  m.def(
      "select_review_threshold",
      [](const py::object& y, const py::object& P, const py::object& w,
         std::optional<double> min_accuracy, std::optional<double> max_review_rate,
         std::optional<double> confidence, bool per_class, double interval_confidence) {
        const std::string where = "select_review_threshold";
        VectorArg ya = as_vector(y, where, "y");
        ProbaArg pa = as_proba(P, where);
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        ReviewOptions o;
        o.min_accuracy = min_accuracy;
        o.max_review_rate = max_review_rate;
        o.confidence = confidence;
        o.per_class = per_class;
        o.interval_confidence = interval_confidence;
        ReviewThresholds r;
        {
          py::gil_scoped_release release;
          r = select_review_threshold(ya.view, pa.view, o, wa.view);
        }
        py::dict d;
        d["policy"] = r.policy;
        d["overall"] = to_dict(r.overall);
        py::list pc;
        for (const ReviewPoint& p : r.per_class) pc.append(to_dict(p));
        d["per_class"] = pc;
        d["feasible"] = r.feasible;
        d["message"] = r.message;
        return d;
      },
      py::arg("y"), py::arg("P"), py::arg("sample_weight"), py::arg("min_accuracy"),
      py::arg("max_review_rate"), py::arg("confidence"), py::arg("per_class"),
      py::arg("interval_confidence"));
  m.def(
      "risk_coverage_curve",
      [](const py::object& y, const py::object& P, const py::object& w) {
        const std::string where = "risk_coverage_curve";
        VectorArg ya = as_vector(y, where, "y");
        ProbaArg pa = as_proba(P, where);
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        RiskCoverageCurve c;
        {
          py::gil_scoped_release release;
          c = risk_coverage_curve(ya.view, pa.view, wa.view);
        }
        py::dict d;
        d["threshold"] =
            py::array_t<double>(static_cast<py::ssize_t>(c.threshold.size()), c.threshold.data());
        d["coverage"] =
            py::array_t<double>(static_cast<py::ssize_t>(c.coverage.size()), c.coverage.data());
        d["risk"] = py::array_t<double>(static_cast<py::ssize_t>(c.risk.size()), c.risk.data());
        d["aurc"] = c.aurc;
        return d;
      },
      py::arg("y"), py::arg("P"), py::arg("sample_weight"));
  py::class_<ConformalSets>(m, "_ConformalSets", "Calibrated split-conformal prediction sets.")
      .def(py::init([](const std::string& method, double alpha, double quantile, int n_classes,
                       Index n_calibration, std::uint64_t random_state) {
             return ConformalSets(conformal_method_from_name(method), alpha, quantile, n_classes,
                                  n_calibration, random_state);
           }),
           py::arg("method"), py::arg("alpha"), py::arg("quantile"), py::arg("n_classes"),
           py::arg("n_calibration"), py::arg("random_state"))
      .def(
          "predict_sets",
          [](const ConformalSets& c, const py::object& P) {
            ProbaArg pa = as_proba(P, "ConformalSets.predict_sets");
            std::vector<std::uint8_t> mask;
            {
              py::gil_scoped_release release;
              mask = c.predict_sets(pa.view);
            }
            return to_mask(mask, pa.view.rows(), pa.view.cols());
          },
          py::arg("P"))
      .def_property_readonly(
          "method", [](const ConformalSets& c) { return conformal_method_name(c.method()); })
      .def_property_readonly("alpha", &ConformalSets::alpha)
      .def_property_readonly("quantile", &ConformalSets::quantile)
      .def_property_readonly("n_classes", &ConformalSets::n_classes)
      .def_property_readonly("n_calibration", &ConformalSets::n_calibration)
      .def_property_readonly("random_state", &ConformalSets::random_state);
  m.def(
      "conformal_calibrate",
      [](const py::object& y, const py::object& P, double alpha, const std::string& method,
         std::uint64_t random_state) {
        const std::string where = "conformal_calibrate";
        VectorArg ya = as_vector(y, where, "y");
        ProbaArg pa = as_proba(P, where);
        const ConformalMethod mth = conformal_method_from_name(method);
        py::gil_scoped_release release;
        return conformal_calibrate(ya.view, pa.view, alpha, mth, random_state);
      },
      py::arg("y"), py::arg("P"), py::arg("alpha"), py::arg("method"), py::arg("random_state"));
  m.def(
      "conformal_scores",
      [](const py::object& y, const py::object& P, const std::string& method,
         std::uint64_t random_state) {
        VectorArg ya = as_vector(y, "conformal_scores", "y");
        ProbaArg pa = as_proba(P, "conformal_scores");
        const std::vector<double> s =
            conformal_scores(ya.view, pa.view, conformal_method_from_name(method), random_state);
        return py::array_t<double>(static_cast<py::ssize_t>(s.size()), s.data());
      },
      py::arg("y"), py::arg("P"), py::arg("method"), py::arg("random_state"));
  m.def(
      "select_triage_band",
      [](const py::object& y, const py::object& p, const py::object& w, double min_recall,
         double max_review_rate, std::optional<double> confidence, double interval_confidence) {
        const std::string where = "select_triage_band";
        VectorArg ya = as_vector(y, where, "y");
        VectorArg pa = as_vector(p, where, "p");
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        TriageOptions o;
        o.min_recall = min_recall;
        o.max_review_rate = max_review_rate;
        o.confidence = confidence;
        o.interval_confidence = interval_confidence;
        TriageBand t;
        {
          py::gil_scoped_release release;
          t = select_triage_band(ya.view, pa.view, o, wa.view);
        }
        return to_dict(t);
      },
      py::arg("y"), py::arg("p"), py::arg("sample_weight"), py::arg("min_recall"),
      py::arg("max_review_rate"), py::arg("confidence"), py::arg("interval_confidence"));
}

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
  bind_review(m);
}

}  // namespace calibrisk::pyb
