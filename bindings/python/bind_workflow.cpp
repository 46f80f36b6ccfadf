// SPDX-License-Identifier: Apache-2.0
// Python bindings of the workflow module: calibrisk.train (calibrisk/workflow.py) calls
// _train_pipeline, which reads the table exactly as `calibrisk train` does (the same CSV reader
// and read options) and runs the same train_pipeline, so both give the same model file.
#include <calibrisk/core/error.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/workflow/train.hpp>

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace calibrisk::pyb {
namespace {

// Everything calibrisk.train passes besides the data, with the CLI's flag names.
struct PySpec {
  ColumnRoles roles;
  std::string model, calibration, policy_kind;
  double policy_value = 0.8, cost_fp = 1.0, cost_fn = 1.0;
  std::vector<std::pair<std::string, std::string>> params;  // (name, text) as --param
  SplitFractions split;
  std::uint64_t seed = 0;
  int n_threads = 0;
  std::string source;
};

ThresholdPolicy to_policy(const PySpec& s) {
  if (s.policy_kind == "min_recall") return policy::min_recall(s.policy_value);
  if (s.policy_kind == "min_precision") return policy::min_precision(s.policy_value);
  if (s.policy_kind == "max_alert_rate") return policy::max_alert_rate(s.policy_value);
  if (s.policy_kind == "fbeta") return policy::max_fbeta(s.policy_value);
  if (s.policy_kind == "cost") return policy::min_cost(s.cost_fp, s.cost_fn);
  throw InvalidParams("train: unknown policy " + quote_for_message(s.policy_kind) + ".");
}

// The CLI's rules: params by name; n_threads and random_state from the keywords unless given.
TrainSpec to_spec(const PySpec& s) {
  TrainSpec spec;
  const auto model = model_kind_from_name(s.model);
  if (!model) {
    throw InvalidParams("train: model must be 'lr' or 'gbdt', got " + quote_for_message(s.model) +
                        ".");
  }
  const auto calibration = calibration_method_from_name(s.calibration);
  if (!calibration) {
    throw InvalidParams("train: calibration must be 'platt', 'isotonic', 'beta' or 'none', got " +
                        quote_for_message(s.calibration) + ".");
  }
  spec.model = *model;
  spec.calibration = *calibration;
  bool threads_given = false, seed_given = false;
  for (const auto& [name, text] : s.params) {
    if (spec.model == ModelKind::kLogisticRegression) {
      set_parameter(spec.lr, name, text);
    } else {
      set_parameter(spec.gbdt, name, text);
    }
    threads_given |= name == "n_threads";
    seed_given |= name == "random_state";
  }
  if (!threads_given) spec.lr.n_threads = spec.gbdt.n_threads = s.n_threads;
  if (!seed_given) spec.gbdt.random_state = s.seed;
  spec.columns = s.roles;
  spec.policy = to_policy(s);
  spec.split = s.split;
  spec.seed = s.seed;
  spec.source = s.source;
  return spec;
}

py::dict part_dict(const TrainPart& p) {
  py::dict d;
  d["rows"] = py::array_t<Index>(static_cast<py::ssize_t>(p.rows.size()), p.rows.data());
  d["X"] = p.X;
  d["y"] = py::array_t<double>(static_cast<py::ssize_t>(p.y.size()), p.y.data());
  d["p_model"] = p.p_model;
  d["p"] = p.p;
  return d;
}

py::dict summary_dict(const PartSummary& s, Index overlapping) {
  py::dict d;
  d["rows"] = s.rows;
  d["groups"] = s.groups;
  d["first_time"] = s.first_time;
  d["last_time"] = s.last_time;
  d["entry_first"] = s.entry_first;
  d["entry_last"] = s.entry_last;
  d["rows_before_previous_part_end"] = overlapping;
  return d;
}

py::dict result_dict(TrainResult r) {
  py::dict d;
  d["features"] = r.features;
  d["notes"] = r.notes;
  d["train"] = part_dict(r.train);
  d["calibration"] = part_dict(r.calibration);
  d["test"] = part_dict(r.test);
  py::dict split;
  for (int p = 0; p < 3; ++p) {
    split[part_name(static_cast<SplitPart>(p))] =
        summary_dict(r.split.summary[p], r.split.rows_overlapping_earlier_part[p]);
  }
  d["split"] = split;
  d["categories"] = r.categories;
  d["seconds_fit"] = r.seconds_fit;
  d["pipeline"] = py::cast(std::move(*r.pipeline));
  return d;
}

// Reads the CSV (a path, or its text with its header's column names) with the training read
// options of `roles`, as `calibrisk train` does.
Table read_training_table(const std::string& path, const std::string& text,
                          const std::vector<std::string>& header, const ColumnRoles& roles) {
  if (!path.empty()) return read_csv(path, training_read_options(roles, read_csv_header(path)));
  return parse_csv(text, training_read_options(roles, header));
}

}  // namespace

void bind_split(py::module_& m);

void bind_workflow(py::module_& m) {
  bind_split(m);
  m.def(
      "_train_pipeline",
      [](const std::string& path, const std::string& text, const py::dict& kw) {
        PySpec s;
        s.roles.label = kw["label"].cast<std::string>();
        s.roles.group = kw["group_column"].cast<std::string>();
        s.roles.time = kw["time_column"].cast<std::string>();
        s.roles.categorical = kw["categorical"].cast<std::vector<std::string>>();
        s.roles.drop = kw["drop"].cast<std::vector<std::string>>();
        s.roles.subgroups = kw["subgroups"].cast<std::vector<std::string>>();
        s.model = kw["model"].cast<std::string>();
        s.calibration = kw["calibration"].cast<std::string>();
        s.policy_kind = kw["policy_kind"].cast<std::string>();
        s.policy_value = kw["policy_value"].cast<double>();
        s.cost_fp = kw["cost_fp"].cast<double>();
        s.cost_fn = kw["cost_fn"].cast<double>();
        s.params = kw["params"].cast<std::vector<std::pair<std::string, std::string>>>();
        const auto f = kw["split"].cast<std::vector<double>>();
        if (f.size() != 3) throw InvalidParams("train: split must be three fractions.");
        s.split = SplitFractions{f[0], f[1], f[2]};
        s.seed = kw["seed"].cast<std::uint64_t>();
        s.n_threads = kw["n_threads"].cast<int>();
        s.source = kw["source"].cast<std::string>();
        const TrainSpec spec = to_spec(s);
        const auto header = kw["header"].cast<std::vector<std::string>>();
        TrainResult r;
        {
          py::gil_scoped_release release;
          const Table table = read_training_table(path, text, header, spec.columns);
          r = train_pipeline(table, spec);
        }
        return result_dict(std::move(r));
      },
      py::arg("path"), py::arg("text"), py::arg("spec"),
      "calibrisk.train's engine: read the CSV (path, or text with spec['header'] when path is "
      "empty) and run "
      "train_pipeline; returns a dict of the result.");
}

void bind_split(py::module_& m) {
  m.def(
      "_time_cut",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& time,
         double fraction, const std::string& where) {
        if (time.ndim() != 1) throw InvalidInput(where + ": time must be one value per row.");
        TimeCut tc;
        {
          py::gil_scoped_release release;
          tc = time_cut(VectorView<const double>(time.data(), time.shape(0)), fraction, where);
        }
        const auto cut = static_cast<std::size_t>(tc.cut);
        return py::make_tuple(py::array_t<Index>(static_cast<py::ssize_t>(cut), tc.order.data()),
                              py::array_t<Index>(static_cast<py::ssize_t>(tc.order.size() - cut),
                                                 tc.order.data() + cut));
      },
      py::arg("time"), py::arg("fraction"), py::arg("where"),
      "calibrisk::time_cut: (earlier rows, later rows), each in time order.");
}

}  // namespace calibrisk::pyb
