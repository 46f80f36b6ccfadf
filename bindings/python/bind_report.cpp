// SPDX-License-Identifier: Apache-2.0
// Python bindings of the report module: evaluate() to a JSON document, and JSON back to HTML.
// The Python class calibrisk.report.Report wraps the JSON (dict-like access) and renders HTML
// through the C++ writer, so both languages produce the same page.
#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/report/multiclass.hpp>
#include <calibrisk/report/report.hpp>

#include <pybind11/stl.h>

#include <deque>

#include "arrays.hpp"
#include "bind_params.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

namespace {

TimeGranularity granularity_from(const std::string& g) {
  TimeGranularity out{};
  std::string alias;
  if (enum_from_text(g, out, alias)) return out;
  throw InvalidParams("evaluate: time_granularity must be " + enum_choices<TimeGranularity>("'") +
                      ", got '" + g + "'.");
}

metrics::BinStrategy strategy_from(const std::string& s) {
  metrics::BinStrategy out{};
  std::string alias;
  if (enum_from_text(s, out, alias)) return out;
  throw InvalidParams("evaluate: strategy must be " + enum_choices<metrics::BinStrategy>("'") +
                      ", got '" + s + "'.");
}

Multiplicity multiplicity_from(const std::string& m) {
  Multiplicity out{};
  std::string alias;
  if (enum_from_text(m, out, alias)) return out;
  throw InvalidParams("evaluate: multiplicity must be " + enum_choices<Multiplicity>("'") +
                      ", got '" + m + "'.");
}

// The settings both reports share (bootstrap, interval level, binning, seed, threads).
template <class Params>
void common_settings(Params& ep, const py::dict& settings) {
  ep.n_bootstrap = settings["n_bootstrap"].cast<int>();
  ep.confidence = settings["confidence"].cast<double>();
  ep.binning.n_bins = settings["n_bins"].cast<int>();
  ep.binning.strategy = strategy_from(settings["strategy"].cast<std::string>());
  ep.random_state = settings["random_state"].cast<std::uint64_t>();
  ep.n_threads = settings["n_threads"].cast<int>();
}

// The multiclass report: (JSON text, HTML page) computed in one call (see
// calibrisk.report.evaluate_multiclass). `review` is "" (none), "options" (choose thresholds on
// this data) or "thresholds" (re-measure the given ones).
py::tuple evaluate_multiclass_py(const py::object& y, const py::object& P,
                                 const py::object& P_uncal,
                                 const std::vector<std::string>& class_names,
                                 const std::string& review, const std::vector<double>& thresholds,
                                 bool per_class, const std::string& policy,
                                 std::optional<double> min_accuracy,
                                 std::optional<double> max_review_rate,
                                 std::optional<double> review_confidence,
                                 const std::vector<std::pair<std::string, std::string>>& provenance,
                                 const std::string& title, const py::dict& settings) {
  const std::string where = "evaluate_multiclass";
  VectorArg ya = as_vector(y, where, "y");
  MatrixArg pa = as_matrix(P, where, "P");
  MatrixArg ua;
  MulticlassEvaluationInput in;
  in.y = ya.view;
  in.P = pa.view;
  if (!P_uncal.is_none()) {
    ua = as_matrix(P_uncal, where, "P_uncalibrated");
    in.P_uncalibrated = ua.view;
  }
  in.class_names = class_names;
  if (review == "options") {
    ReviewOptions o;
    o.min_accuracy = min_accuracy;
    o.max_review_rate = max_review_rate;
    o.confidence = review_confidence;
    o.per_class = per_class;
    in.review_options = o;
  } else if (review == "thresholds") {
    ReviewPolicyRecord rec;
    rec.policy = policy;
    rec.per_class = per_class;
    rec.thresholds = thresholds;
    in.review_policy = rec;
  }
  in.provenance = provenance;
  in.title = title;
  MulticlassEvaluationParams ep;
  common_settings(ep, settings);
  ep.max_classes_shown = settings["max_classes_shown"].cast<int>();
  std::string json, html;
  {
    py::gil_scoped_release release;
    const MulticlassEvaluation r = evaluate_multiclass(in, ep);
    json = multiclass_report_to_json(r);
    html = multiclass_report_to_html(r);
  }
  return py::make_tuple(json, html);
}

// `<prefix>_html(json)`: the page of a report JSON document; `<prefix>_normalize(json)`: the
// document validated (InvalidInput naming the JSON path) and rewritten in canonical form.
template <class Doc, Doc (*Read)(const std::string&), std::string (*Write)(const Doc&, int),
          std::string (*Html)(const Doc&)>
void bind_document(py::module_& m, const std::string& prefix) {
  m.def((prefix + "_html").c_str(),
        [](const std::string& json) {
          py::gil_scoped_release release;
          return Html(Read(json));
        },
        py::arg("json"), "Renders a report JSON document as one self-contained HTML page.");
  m.def((prefix + "_normalize").c_str(),
        [](const std::string& json) { return Write(Read(json), 2); }, py::arg("json"),
        "Validates a report JSON document and rewrites it in canonical form.");
}

}  // namespace

void bind_report(py::module_& m) {
  bind_params<EvaluationParams>(m, "EvaluationParams", "Settings of evaluate (the report).");
  m.def(
      "_evaluate",
      [](const py::object& y, const py::object& p, const py::object& p_uncalibrated,
         double threshold, const std::string& policy,
         // (name, parts): one part is a column, several are crossed (an intersection).
         const std::vector<
             std::pair<std::string,
                       std::vector<std::tuple<std::string, py::object, std::vector<std::string>>>>>&
             subgroups,
         const py::object& time, bool time_in_days, const py::object& groups, const py::object& X,
         const std::vector<std::string>& feature_names,
         const std::vector<std::pair<std::string, double>>& importances,
         const std::string& importance_kind,
         const std::vector<std::pair<std::string, std::string>>& provenance,
         const std::string& title, const py::dict& settings) {
        const std::string where = "evaluate";
        VectorArg ya = as_vector(y, where, "y");
        VectorArg pa = as_vector(p, where, "p");
        VectorArg pu = as_vector(p_uncalibrated, where, "p_uncalibrated", true);
        VectorArg ta = as_vector(time, where, "time", true);
        std::deque<VectorArg> codes;  // the views of `in.subgroups` point into these
        std::deque<std::vector<double>> crossed;
        std::vector<SubgroupColumn> subgroup_columns;
        for (const auto& sg : subgroups) {  // an intersection is named "a*b" after its parts
          std::vector<SubgroupColumn> cols;
          for (const auto& [part, values, labels] : sg.second) {
            codes.push_back(as_vector(values, where, "subgroups['" + part + "']"));
            cols.push_back({part, codes.back().view, labels});
          }
          subgroup_columns.push_back(
              cols.size() == 1 ? cols[0] : cross_subgroups(cols, crossed.emplace_back()));
        }
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> ga;
        if (!groups.is_none())
          ga = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(groups);
        FeatureArg xa;
        if (!X.is_none()) xa = as_features(X, where);

        EvaluationInput in;
        in.y = ya.view;
        in.p = pa.view;
        in.p_uncalibrated = pu.view;
        in.threshold = threshold;
        in.policy = policy;
        in.subgroups = std::move(subgroup_columns);
        in.time = ta.view;
        in.time_in_days = time_in_days;
        if (!groups.is_none()) {
          if (ga.ndim() != 1) throw InvalidInput("evaluate: groups must be 1-D.");
          in.groups = VectorView<const std::int64_t>(ga.data(), ga.shape(0));
        }
        if (!X.is_none()) in.X = xa.view;
        in.feature_names = feature_names;
        for (const auto& [name, value] : importances)
          in.feature_importances.push_back({name, value});
        in.importance_kind = importance_kind;
        in.provenance = provenance;
        in.title = title;

        EvaluationParams ep;
        common_settings(ep, settings);
        ep.intercept_tolerance = settings["intercept_tolerance"].cast<double>();
        ep.recall_tolerance = settings["recall_tolerance"].cast<double>();
        ep.ece_tolerance = settings["ece_tolerance"].cast<double>();
        ep.min_subgroup_size = settings["min_subgroup_size"].cast<Index>();
        ep.max_subgroup_levels = settings["max_subgroup_levels"].cast<int>();
        ep.multiplicity = multiplicity_from(settings["multiplicity"].cast<std::string>());
        ep.time_granularity = granularity_from(settings["time_granularity"].cast<std::string>());
        ep.n_time_bins = settings["n_time_bins"].cast<int>();
        ep.decision_curve_max = settings["decision_curve_max"].cast<double>();
        ep.n_top_features = settings["n_top_features"].cast<int>();
        std::string json;
        {
          py::gil_scoped_release release;
          json = report_to_json(evaluate(in, ep));
        }
        return json;
      },
      "Computes the evaluation report; returns its JSON text (see calibrisk.report.evaluate).");

  m.def(
      "_subgroup_spec_columns",
      [](const std::string& spec, const std::vector<std::string>& columns,
         const std::string& where) { return subgroup_spec_columns(spec, columns, where); },
      py::arg("spec"), py::arg("columns"), py::arg("where"),
      "The columns a subgroup spec names: an exact column name, or names joined by '*'.");
  bind_document<Report, report_from_json, report_to_json, report_to_html>(m, "_report");
  bind_document<MulticlassEvaluation, multiclass_report_from_json, multiclass_report_to_json,
                multiclass_report_to_html>(m, "_multiclass_report");
  m.def("_evaluate_multiclass", &evaluate_multiclass_py,
        "Computes the multiclass report; returns (JSON text, HTML page).");
}

}  // namespace calibrisk::pyb
