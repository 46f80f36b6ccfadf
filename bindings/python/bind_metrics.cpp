// SPDX-License-Identifier: Apache-2.0
// Python bindings of the metrics module: thin functions over the C++ API; labels, scores and
// weights are viewed without copying when they are float64, and the GIL is released for the work.
#include <calibrisk/metrics/metrics.hpp>

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bind_params.hpp"
#include "bindings.hpp"

#include <string>
#include <vector>

namespace calibrisk::pyb {

namespace {

using namespace calibrisk::metrics;

/// y, p and sample_weight as views (kept alive by the VectorArgs).
struct Inputs {
  VectorArg y, p, w;
};

Inputs inputs(const py::object& y, const py::object& p, const py::object& w,
              const std::string& where, const char* score_name = "y_score") {
  return Inputs{as_vector(y, where, "y_true"), as_vector(p, where, score_name),
                as_vector(w, where, "sample_weight", true)};
}

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

BinStrategy parse_strategy(const std::string& s, const std::string& where) {
  BinStrategy out{};
  std::string alias;
  if (enum_from_text(s, out, alias)) return out;
  throw InvalidParams(where + ": strategy must be " + enum_choices<BinStrategy>("\"") + ", got \"" +
                      s + "\".");
}

CalibrationBinning binning(int n_bins, const std::string& strategy, const std::string& where) {
  CalibrationBinning b;
  b.n_bins = n_bins;
  b.strategy = parse_strategy(strategy, where);
  b.validate();
  return b;
}

py::dict level_dict(const HierarchyLevel& l) {
  py::dict d;
  d["assessed"] = l.assessed;
  d["met"] = l.met;
  d["evidence"] = l.evidence;
  return d;
}

py::dict interval_dict(const BootstrapResult& r) {
  py::dict d;
  d["point"] = r.point;
  d["lower"] = r.lower;
  d["upper"] = r.upper;
  d["std_error"] = r.std_error;
  d["n_invalid"] = r.n_invalid;
  return d;
}

// A reliability curve as a dict of per-bin arrays (what calibrisk.metrics.ReliabilityCurve reads).
py::dict reliability_dict(const ReliabilityCurve& rc) {
  const std::size_t k = rc.bins.size();
  std::vector<double> lo(k), up(k), cnt(k), wt(k), mp(k), obs(k), cl(k), cu(k), ne(k);
  for (std::size_t j = 0; j < k; ++j) {
    const ReliabilityBin& r = rc.bins[j];
    lo[j] = r.lower;
    up[j] = r.upper;
    cnt[j] = static_cast<double>(r.count);
    wt[j] = r.weight;
    mp[j] = r.mean_predicted;
    obs[j] = r.observed_rate;
    cl[j] = r.ci_lower;
    cu[j] = r.ci_upper;
    ne[j] = r.effective_n;
  }
  py::dict d;
  d["bin_lower"] = to_array(lo);
  d["bin_upper"] = to_array(up);
  d["count"] = to_array(cnt).attr("astype")("int64");
  d["weight"] = to_array(wt);
  d["mean_predicted"] = to_array(mp);
  d["observed_rate"] = to_array(obs);
  d["ci_lower"] = to_array(cl);
  d["ci_upper"] = to_array(cu);
  d["effective_n"] = to_array(ne);
  d["edges"] = to_array(rc.edges);
  d["confidence"] = rc.confidence;
  return d;
}

// smoothed_calibration: the lowess per row and on the grid, ICI / E50 / E90 / Emax, the
// hierarchy; with n_bootstrap > 0 also the intervals and the band.
void bind_smoothed_calibration(py::module_& m) {
  m.def(
      "metrics_smoothed_calibration",
      [](const py::object& y, const py::object& p, const py::object& w,
         const SmoothCalibrationParams& prm, int n_bootstrap, double confidence,
         const py::object& groups, std::uint64_t random_state, int n_threads) {
        Inputs in = inputs(y, p, w, "smoothed_calibration", "y_prob");
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> g;
        VectorView<const std::int64_t> gv;
        if (!groups.is_none()) {
          g = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(groups);
          if (!g || g.ndim() != 1)
            throw InvalidInput("smoothed_calibration: groups must be a 1-D array of codes.");
          gv = VectorView<const std::int64_t>(g.data(), g.shape(0));
        }
        SmoothCalibrationResult r;
        std::vector<double> fitted;
        {
          py::gil_scoped_release release;
          const SortedScores s(in.y.view, in.p.view, in.w.view, "smoothed_calibration");
          if (n_bootstrap > 0) {
            BootstrapParams bp;
            bp.n_replicates = n_bootstrap;
            bp.confidence = confidence;
            bp.random_state = random_state;
            bp.n_threads = n_threads;
            r = smoothed_calibration_bootstrap(s, prm, bp, gv);
          } else {
            r.point = smoothed_calibration(s, prm);
            r.confidence = confidence;
            r.hierarchy = calibration_hierarchy(r.point, {}, {}, confidence, prm.min_events);
          }
          const std::vector<double> f = smoothed_observed(s, prm);
          fitted.resize(f.size());
          for (std::size_t k = 0; k < f.size(); ++k) fitted[s.order()[k]] = f[k];
        }
        const SmoothCalibration& pt = r.point;
        py::dict d;
        d["fitted"] = to_array(fitted);
        d["grid"] = to_array(pt.curve.grid);
        d["curve"] = to_array(pt.curve.observed);
        d["band_lower"] = to_array(r.band_lower);
        d["band_upper"] = to_array(r.band_upper);
        d["simultaneous_lower"] = to_array(r.simultaneous_lower);
        d["simultaneous_upper"] = to_array(r.simultaneous_upper);
        d["ici"] = pt.ici;
        d["e50"] = pt.e50;
        d["e90"] = pt.e90;
        d["emax"] = pt.emax;
        d["calibration_in_the_large"] = pt.calibration_in_the_large;
        d["calibration_intercept"] = pt.fit.intercept;
        d["calibration_intercept_se"] = pt.fit.intercept_se;
        d["calibration_slope"] = pt.fit.slope;
        d["calibration_slope_se"] = pt.fit.slope_se;
        d["mean_observed"] = pt.mean_observed;
        d["mean_predicted"] = pt.mean_predicted;
        d["n_events"] = pt.n_events;
        d["n_nonevents"] = pt.n_nonevents;
        d["binned"] = pt.binned;
        d["n_fit_points"] = pt.n_fit_points;
        d["warnings"] = pt.warnings;
        py::dict iv;
        for (const auto& b : r.intervals) iv[b.metric.c_str()] = interval_dict(b);
        d["intervals"] = iv;
        d["confidence"] = r.confidence;
        d["verdict"] = r.hierarchy.verdict;
        d["mean"] = level_dict(r.hierarchy.mean);
        d["weak"] = level_dict(r.hierarchy.weak);
        d["moderate"] = level_dict(r.hierarchy.moderate);
        return d;
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight"), py::arg("params"),
      py::arg("n_bootstrap"), py::arg("confidence"), py::arg("groups"), py::arg("random_state"),
      py::arg("n_threads"));
}

// Multiclass metrics: (y, P (n, K), w) -> numbers, curves, tables.
void bind_multiclass_metrics(py::module_& m) {
  m.def(
      "metrics_multiclass",
      [](const std::string& what, const py::object& y, const py::object& P, const py::object& w,
         int n_bins, const std::string& strategy) {
        const std::string where = what;
        VectorArg ya = as_vector(y, where, "y_true");
        MatrixArg pa = as_matrix(P, where, "y_proba");
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        const CalibrationBinning b = binning(n_bins, strategy, where);
        py::gil_scoped_release release;
        if (what == "log_loss") return multiclass_log_loss(ya.view, pa.view, wa.view);
        if (what == "brier_score_loss") return multiclass_brier_score(ya.view, pa.view, wa.view);
        if (what == "top_label_ece") return top_label_ece(ya.view, pa.view, wa.view, b);
        if (what == "classwise_ece") return classwise_ece(ya.view, pa.view, wa.view, b);
        throw InvalidParams("metrics_multiclass: unknown metric \"" + what + "\".");
      },
      py::arg("metric"), py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight"),
      py::arg("n_bins") = 10, py::arg("strategy") = "uniform");
  m.def(
      "metrics_classwise_reliability",
      [](const py::object& y, const py::object& P, const py::object& w, int n_bins,
         const std::string& strategy, double confidence) {
        const char* where = "classwise_reliability_curves";
        VectorArg ya = as_vector(y, where, "y_true");
        MatrixArg pa = as_matrix(P, where, "y_proba");
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        const CalibrationBinning b = binning(n_bins, strategy, where);
        std::vector<ReliabilityCurve> rcs;
        {
          py::gil_scoped_release release;
          rcs = classwise_reliability_curves(ya.view, pa.view, wa.view, b, confidence);
        }
        py::list out;
        for (const ReliabilityCurve& rc : rcs) out.append(reliability_dict(rc));
        return out;
      },
      py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight"), py::arg("n_bins"),
      py::arg("strategy"), py::arg("confidence"));
  m.def(
      "metrics_confusion_matrix",
      [](const py::object& yt, const py::object& yp, int k, const py::object& w) {
        VectorArg ta = as_vector(yt, "confusion_matrix", "y_true");
        VectorArg pa = as_vector(yp, "confusion_matrix", "y_pred");
        VectorArg wa = as_vector(w, "confusion_matrix", "sample_weight", true);
        py::gil_scoped_release release;
        return Eigen::MatrixXd(confusion_matrix(ta.view, pa.view, k, wa.view));
      },
      py::arg("y_true"), py::arg("y_pred"), py::arg("n_classes"), py::arg("sample_weight"));
  m.def(
      "metrics_per_class_scores",
      [](const py::object& yt, const py::object& yp, int k, const py::object& w,
         double confidence) {
        VectorArg ta = as_vector(yt, "per_class_scores", "y_true");
        VectorArg pa = as_vector(yp, "per_class_scores", "y_pred");
        VectorArg wa = as_vector(w, "per_class_scores", "sample_weight", true);
        std::vector<ClassScores> r;
        {
          py::gil_scoped_release release;
          r = per_class_scores(ta.view, pa.view, k, wa.view, confidence);
        }
        std::vector<double> cols[9];
        for (const ClassScores& c : r) {
          const double v[9] = {c.precision,
                               c.recall,
                               c.f1,
                               c.support,
                               c.precision_ci.lower,
                               c.precision_ci.upper,
                               c.recall_ci.lower,
                               c.recall_ci.upper,
                               0.0};
          for (int j = 0; j < 9; ++j) cols[j].push_back(v[j]);
        }
        py::dict d;
        const char* names[8] = {"precision",    "recall",          "f1",
                                "support",      "precision_lower", "precision_upper",
                                "recall_lower", "recall_upper"};
        for (int j = 0; j < 8; ++j) d[names[j]] = to_array(cols[j]);
        return d;
      },
      py::arg("y_true"), py::arg("y_pred"), py::arg("n_classes"), py::arg("sample_weight"),
      py::arg("confidence"));
  m.def(
      "metrics_multiclass_bootstrap",
      [](const py::object& y, const py::object& P, const py::object& w,
         const std::vector<std::string>& names, int n_replicates, double confidence,
         bool stratified, std::uint64_t random_state, int n_threads, int n_bins,
         const std::string& strategy, const py::object& groups, const py::object& routed) {
        const char* where = "multiclass_bootstrap";
        VectorArg ya = as_vector(y, where, "y_true");
        MatrixArg pa = as_matrix(P, where, "y_proba");
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        VectorArg ra = as_vector(routed, where, "routed", true);
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> g;
        VectorView<const std::int64_t> gv;
        if (!groups.is_none()) {
          g = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(groups);
          if (!g || g.ndim() != 1) {
            throw InvalidInput(
                "multiclass_bootstrap: groups must be a 1-D array of integer codes.");
          }
          gv = VectorView<const std::int64_t>(g.data(), static_cast<Index>(g.shape(0)));
        }
        BootstrapParams bp;
        bp.n_replicates = n_replicates;
        bp.confidence = confidence;
        bp.stratified = stratified;
        bp.random_state = random_state;
        bp.n_threads = n_threads;
        bp.binning = binning(n_bins, strategy, where);
        std::vector<BootstrapResult> res;
        {
          py::gil_scoped_release release;
          res = multiclass_bootstrap(ya.view, pa.view, names, bp, wa.view, gv, ra.view);
        }
        py::list out;
        for (const auto& r : res) {
          py::dict d = interval_dict(r);
          d["metric"] = r.metric;
          d["replicates"] = to_array(r.replicates);
          out.append(d);
        }
        return out;
      },
      py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight"), py::arg("metrics"),
      py::arg("n_replicates"), py::arg("confidence"), py::arg("stratified"),
      py::arg("random_state"), py::arg("n_threads"), py::arg("n_bins"), py::arg("strategy"),
      py::arg("groups"), py::arg("routed"));
}

}  // namespace

void bind_metrics(py::module_& m) {
  bind_params<SmoothCalibrationParams>(m, "SmoothCalibrationParams",
                                       "Lowess span, binning and minimum events of the smoothed "
                                       "calibration curve.");
  bind_params<CalibrationBinning>(m, "CalibrationBinning",
                                  "Bins of ECE, MCE and the reliability curve.");
  bind_params<CalibrationFitParams>(m, "CalibrationFitParams",
                                    "Newton fit of the calibration intercept and slope.");
  bind_params<BootstrapParams>(m, "BootstrapParams", "Percentile bootstrap of a metric.");
  m.def(
      "metrics_roc_auc",
      [](const py::object& y, const py::object& p, const py::object& w) {
        Inputs in = inputs(y, p, w, "roc_auc_score");
        py::gil_scoped_release release;
        return roc_auc_score(in.y.view, in.p.view, in.w.view);
      },
      py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none());
  m.def(
      "metrics_average_precision",
      [](const py::object& y, const py::object& p, const py::object& w) {
        Inputs in = inputs(y, p, w, "average_precision_score");
        py::gil_scoped_release release;
        return average_precision_score(in.y.view, in.p.view, in.w.view);
      },
      py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none());
  m.def(
      "metrics_log_loss",
      [](const py::object& y, const py::object& p, const py::object& w) {
        Inputs in = inputs(y, p, w, "log_loss", "y_proba");
        py::gil_scoped_release release;
        return log_loss(in.y.view, in.p.view, in.w.view);
      },
      py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight") = py::none());
  m.def(
      "metrics_brier",
      [](const py::object& y, const py::object& p, const py::object& w) {
        Inputs in = inputs(y, p, w, "brier_score_loss", "y_proba");
        py::gil_scoped_release release;
        return brier_score_loss(in.y.view, in.p.view, in.w.view);
      },
      py::arg("y_true"), py::arg("y_proba"), py::arg("sample_weight") = py::none());
  m.def(
      "metrics_roc_curve",
      [](const py::object& y, const py::object& p, const py::object& w, bool drop) {
        Inputs in = inputs(y, p, w, "roc_curve");
        RocCurve r;
        {
          py::gil_scoped_release release;
          r = roc_curve(in.y.view, in.p.view, in.w.view, drop);
        }
        return py::make_tuple(to_array(r.fpr), to_array(r.tpr), to_array(r.thresholds));
      },
      py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none(),
      py::arg("drop_intermediate") = true);
  m.def(
      "metrics_pr_curve",
      [](const py::object& y, const py::object& p, const py::object& w, bool drop) {
        Inputs in = inputs(y, p, w, "precision_recall_curve");
        PrCurve r;
        {
          py::gil_scoped_release release;
          r = precision_recall_curve(in.y.view, in.p.view, in.w.view, drop);
        }
        return py::make_tuple(to_array(r.precision), to_array(r.recall), to_array(r.thresholds));
      },
      py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none(),
      py::arg("drop_intermediate") = false);
  m.def(
      "metrics_ranking_bundle",
      [](const py::object& y, const py::object& p, const py::object& w) {
        // AUC, AP and the PR curve from one sort (what a report needs at once).
        Inputs in = inputs(y, p, w, "ranking_bundle");
        double auc = 0, ap = 0;
        PrCurve pr;
        {
          py::gil_scoped_release release;
          SortedScores s(in.y.view, in.p.view, in.w.view, "ranking_bundle");
          auc = roc_auc_score(s);
          ap = average_precision_score(s);
          pr = precision_recall_curve(s);
        }
        return py::make_tuple(auc, ap, to_array(pr.precision), to_array(pr.recall),
                              to_array(pr.thresholds));
      },
      py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none());
  m.def(
      "metrics_calibration_error",
      [](const py::object& y, const py::object& p, const py::object& w, int n_bins,
         const std::string& strategy, bool maximum) {
        const char* where = maximum ? "max_calibration_error" : "expected_calibration_error";
        Inputs in = inputs(y, p, w, where, "y_prob");
        const CalibrationBinning b = binning(n_bins, strategy, where);
        py::gil_scoped_release release;
        return maximum ? max_calibration_error(in.y.view, in.p.view, in.w.view, b)
                       : expected_calibration_error(in.y.view, in.p.view, in.w.view, b);
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight"), py::arg("n_bins"),
      py::arg("strategy"), py::arg("maximum"));
  m.def(
      "metrics_reliability_curve",
      [](const py::object& y, const py::object& p, const py::object& w, int n_bins,
         const std::string& strategy, double confidence) {
        Inputs in = inputs(y, p, w, "reliability_curve", "y_prob");
        const CalibrationBinning b = binning(n_bins, strategy, "reliability_curve");
        ReliabilityCurve rc;
        {
          py::gil_scoped_release release;
          rc = reliability_curve(in.y.view, in.p.view, in.w.view, b, confidence);
        }
        return reliability_dict(rc);
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight"), py::arg("n_bins"),
      py::arg("strategy"), py::arg("confidence"));
  m.def(
      "metrics_intercept_slope",
      [](const py::object& y, const py::object& p, const py::object& w, int max_iter, double tol) {
        Inputs in = inputs(y, p, w, "calibration_intercept_slope", "y_prob");
        CalibrationFitParams prm;
        prm.max_iter = max_iter;
        prm.tol = tol;
        CalibrationFit f;
        {
          py::gil_scoped_release release;
          f = calibration_intercept_slope(in.y.view, in.p.view, in.w.view, prm);
        }
        py::dict d;
        d["intercept"] = f.intercept;
        d["intercept_se"] = f.intercept_se;
        d["slope"] = f.slope;
        d["slope_se"] = f.slope_se;
        d["slope_intercept"] = f.slope_intercept;
        d["n_iter"] = f.n_iter;
        d["converged"] = f.converged;
        d["intercept_converged"] = f.intercept_converged;
        d["slope_converged"] = f.slope_converged;
        d["slope_identifiable"] = f.slope_identifiable;
        return d;
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight"), py::arg("max_iter"),
      py::arg("tol"));
  m.def(
      "metrics_spiegelhalter",
      [](const py::object& y, const py::object& p, const py::object& w) {
        Inputs in = inputs(y, p, w, "spiegelhalter_test", "y_prob");
        py::gil_scoped_release release;
        const SpiegelhalterResult r = spiegelhalter_test(in.y.view, in.p.view, in.w.view);
        return std::make_pair(r.z, r.p_value);
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("sample_weight") = py::none());
  m.def(
      "metrics_net_benefit",
      [](const py::object& y, const py::object& p, const py::object& grid, const py::object& w) {
        Inputs in = inputs(y, p, w, "net_benefit", "y_prob");
        VectorArg g = as_vector(grid, "net_benefit", "thresholds");
        std::vector<double> gv(g.view.size());
        for (Index i = 0; i < g.view.size(); ++i) gv[i] = g.view[i];
        DecisionCurve dc;
        {
          py::gil_scoped_release release;
          dc = net_benefit(in.y.view, in.p.view, gv, in.w.view);
        }
        py::dict d;
        d["thresholds"] = to_array(dc.thresholds);
        d["net_benefit"] = to_array(dc.net_benefit);
        d["treat_all"] = to_array(dc.treat_all);
        d["treat_none"] = to_array(dc.treat_none);
        d["alert_rate"] = to_array(dc.alert_rate);
        return d;
      },
      py::arg("y_true"), py::arg("y_prob"), py::arg("thresholds"),
      py::arg("sample_weight") = py::none());
  m.def(
      "metrics_bootstrap",
      [](const py::object& y, const py::object& p, const py::object& w,
         const std::vector<std::string>& names, int n_replicates, double confidence,
         bool stratified, const py::object& groups, std::uint64_t random_state, int n_threads,
         int n_bins, const std::string& strategy) {
        Inputs in = inputs(y, p, w, "bootstrap");
        BootstrapParams bp;
        bp.n_replicates = n_replicates;
        bp.confidence = confidence;
        bp.stratified = stratified;
        bp.random_state = random_state;
        bp.n_threads = n_threads;
        bp.binning = binning(n_bins, strategy, "bootstrap");
        bp.validate();
        std::vector<Metric> ms;
        for (const auto& n : names) ms.push_back(metric_from_name(n));
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> g;
        VectorView<const std::int64_t> gv;
        if (!groups.is_none()) {
          g = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(groups);
          if (!g || g.ndim() != 1) {
            throw InvalidInput("bootstrap: groups must be a 1-D array of integer codes.");
          }
          gv = VectorView<const std::int64_t>(g.data(), g.shape(0));
        }
        std::vector<BootstrapResult> res;
        {
          py::gil_scoped_release release;
          SortedScores s(in.y.view, in.p.view, in.w.view, "bootstrap");
          res = bootstrap(s, ms, bp, gv);
        }
        py::list out;
        for (const auto& r : res) {
          py::dict d;
          d["metric"] = r.metric;
          d["point"] = r.point;
          d["lower"] = r.lower;
          d["upper"] = r.upper;
          d["std_error"] = r.std_error;
          d["replicates"] = to_array(r.replicates);
          d["n_invalid"] = r.n_invalid;
          out.append(d);
        }
        return out;
      },
      py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight"), py::arg("metrics"),
      py::arg("n_replicates"), py::arg("confidence"), py::arg("stratified"), py::arg("groups"),
      py::arg("random_state"), py::arg("n_threads"), py::arg("n_bins"), py::arg("strategy"));
  m.def(
      "wilson_interval",
      [](double x, double n, double confidence) {
        const ProportionInterval r = wilson_interval(x, n, confidence);
        return std::make_pair(r.lower, r.upper);
      },
      py::arg("successes"), py::arg("n"), py::arg("confidence") = 0.95);
  m.def(
      "clopper_pearson_interval",
      [](double x, double n, double confidence) {
        const ProportionInterval r = clopper_pearson_interval(x, n, confidence);
        return std::make_pair(r.lower, r.upper);
      },
      py::arg("successes"), py::arg("n"), py::arg("confidence") = 0.95);
  bind_smoothed_calibration(m);
  bind_multiclass_metrics(m);
  py::list names;
  for (const auto& kv : metric_names()) names.append(kv.second);
  m.attr("BOOTSTRAP_METRICS") = names;
}

}  // namespace calibrisk::pyb
