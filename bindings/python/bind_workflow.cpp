// SPDX-License-Identifier: Apache-2.0
// Python bindings of the workflow module: calibrisk.train (calibrisk/workflow.py) calls
// _train_pipeline, which reads the table exactly as `calibrisk train` does (the same CSV reader
// and read options) and runs the same train_pipeline, so both give the same model file.
#include <calibrisk/core/error.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/workflow/train.hpp>
#include <calibrisk/workflow/validate.hpp>

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"

#include <exception>
#include <filesystem>
#include <map>
#include <optional>
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
  std::string split_rule = "entry", calendar_patients = "exclude";
  CalendarSpec calendar;
  std::uint64_t seed = 0;
  int n_threads = 0;
  std::string source;
  // Multiclass (docs/workflow.md "Multiclass"): task and the review-queue policy.
  std::string task = "auto";
  std::optional<double> min_accuracy, max_review_rate;
  // The split-conformal review queue (--policy conformal=COVERAGE,method=lac|aps).
  std::optional<double> conformal;
  std::string conformal_method = "lac";
  bool review_given() const { return min_accuracy || max_review_rate || conformal; }
};

// A spelling of an enum with a text table, or InvalidParams listing the choices.
template <class E>
E enum_arg(const std::string& text, const std::string& what) {
  E e{};
  std::string alias;
  if (!enum_from_text(text, e, alias)) {
    throw InvalidParams(what + " must be " + enum_choices<E>("'") + ", got " +
                        quote_for_message(text) + ".");
  }
  return e;
}

ThresholdPolicy to_policy(const PySpec& s) {
  if (s.policy_kind == "min_recall") return policy::min_recall(s.policy_value);
  if (s.policy_kind == "min_precision") return policy::min_precision(s.policy_value);
  if (s.policy_kind == "max_alert_rate") return policy::max_alert_rate(s.policy_value);
  if (s.policy_kind == "fbeta") return policy::max_fbeta(s.policy_value);
  if (s.policy_kind == "cost") return policy::min_cost(s.cost_fp, s.cost_fn);
  throw InvalidParams("train: unknown policy " + quote_for_message(s.policy_kind) + ".");
}

// The conformal review policy of calibrisk.train(conformal=, conformal_method=), checked as
// parse_conformal_policy checks `--policy conformal=COVERAGE,method=lac|aps`.
TrainSpec::ConformalReview conformal_review(const PySpec& s) {
  if (s.min_accuracy || s.max_review_rate) {
    throw InvalidParams(
        "train: conformal does not go with min_accuracy / max_review_rate; the conformal review "
        "queue takes conformal=COVERAGE and optionally conformal_method='lac' or 'aps'.");
  }
  TrainSpec::ConformalReview c;
  c.coverage = *s.conformal;
  if (!(c.coverage > 0.0 && c.coverage < 1.0)) {
    throw InvalidParams("train: conformal is the coverage of the prediction sets, in (0, 1), got " +
                        format_double(c.coverage) + "; e.g. conformal=0.9.");
  }
  if (s.conformal_method == "lac") {
    c.method = ConformalMethod::kLac;
  } else if (s.conformal_method == "aps") {
    c.method = ConformalMethod::kAps;
  } else {
    throw InvalidParams("train: conformal_method must be 'lac' or 'aps', got " +
                        quote_for_message(s.conformal_method) + ".");
  }
  return c;
}

// A review-queue keyword on a binary label is a mistake, as `--policy min-accuracy=...` is.
void check_review_task(const PySpec& s, const Table& table, const TrainSpec& spec,
                       const char* what) {
  if (!s.review_given() || multiclass_task(table, spec)) return;
  throw InvalidParams(std::string(what) + ": " +
                      std::string(s.conformal ? "conformal" : "min_accuracy / max_review_rate") +
                      " chooses a review queue for multiclass labels, but label column " +
                      quote_for_message(spec.columns.label) +
                      " is binary; use min_recall, min_precision, max_alert_rate, fbeta or "
                      "cost_fp + cost_fn.");
}

// The CLI's rules: params by name; n_threads and random_state from the keywords unless given.
TrainSpec to_spec(const PySpec& s) {
  TrainSpec spec;
  const auto model = model_kind_from_name(s.model);
  if (!model) {
    throw InvalidParams("train: model must be 'auto', 'lr' or 'gbdt', got " +
                        quote_for_message(s.model) + ".");
  }
  // "" (Python's None): the default, beta (temperature for multiclass), which model "auto"
  // replaces by the method chosen on the calibration part; a named method is kept.
  const std::string cal_name = s.calibration.empty() ? "beta" : s.calibration;
  spec.selection.calibration = s.calibration.empty();
  auto calibration = calibration_method_from_name(cal_name);
  const auto multiclass = multiclass_calibration_from_name(cal_name);
  if (!calibration && !multiclass) {
    throw InvalidParams(
        "train: calibration must be 'platt', 'isotonic', 'beta' or 'none' (binary labels) or "
        "'temperature', 'ovr-sigmoid', 'ovr-isotonic', 'dirichlet' (multiclass labels), got " +
        quote_for_message(s.calibration) + ".");
  }
  spec.model = *model;
  spec.calibration = calibration ? *calibration : CalibrationMethod::kBeta;
  // A multiclass label: the named multiclass calibrator ("beta", the binary default, leaves
  // temperature scaling); the binary calibrators' names map to one-vs-rest as in the CLI.
  if (multiclass) spec.multiclass_calibration = *multiclass;
  spec.task = enum_arg<TaskKind>(s.task, "train: task");
  if (s.min_accuracy || s.max_review_rate) {
    spec.review = ReviewOptions{};
    spec.review.min_accuracy = s.min_accuracy;
    spec.review.max_review_rate = s.max_review_rate;
  }
  if (s.conformal) spec.conformal_review = conformal_review(s);
  bool threads_given = false, seed_given = false;
  for (const auto& [name, text] : s.params) {
    TrainSpec scratch;  // a workflow switch is set after the model's parameters (below)
    if (set_workflow_parameter(scratch, name, text)) continue;
    if (spec.model == ModelKind::kAuto) {
      set_auto_parameter(spec, name, text);  // on the candidates that declare it
    } else if (spec.model == ModelKind::kLogisticRegression) {
      set_parameter(spec.lr, name, text);
    } else {
      set_parameter(spec.gbdt, name, text);
    }
    user_parameter_given(spec, name);
    threads_given |= name == "n_threads";
    seed_given |= name == "random_state";
  }
  for (const auto& [name, text] : s.params) set_workflow_parameter(spec, name, text);
  if (!threads_given) spec.lr.n_threads = spec.gbdt.n_threads = s.n_threads;
  if (!seed_given) spec.gbdt.random_state = s.seed;
  spec.columns = s.roles;
  spec.policy = to_policy(s);
  spec.split = s.split;
  spec.split_rule = enum_arg<SplitRule>(s.split_rule, "train: split_rule");
  spec.calendar = s.calendar;
  spec.calendar.patients = enum_arg<CalendarPatients>(s.calendar_patients, "calendar_patients");
  if (spec.split_rule == SplitRule::kEntry &&
      (!spec.calendar.cuts.empty() || !spec.calendar.cut_fractions.empty())) {
    throw InvalidParams(
        "train: cuts / cut_fractions apply to split_rule='calendar'; pass "
        "split_rule='calendar' or leave them out.");
  }
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
  d["P"] = p.P;  // multiclass: (n, K) probabilities (empty for a binary task)
  return d;
}

py::dict summary_dict(const TimeGroupSplit& split, int p) {
  const PartSummary& s = split.summary[p];
  const Index overlapping = split.rows_overlapping_earlier_part[p];
  py::dict d;
  d["rows"] = s.rows;
  d["groups"] = s.groups;
  d["first_time"] = s.first_time;
  d["last_time"] = s.last_time;
  d["entry_first"] = s.entry_first;
  d["entry_last"] = s.entry_last;
  d["rows_before_previous_part_end"] = overlapping;
  if (split.rule == SplitRule::kCalendar) {
    d["rows_left_out"] = split.rows_dropped[p];
    d["groups_seen_earlier"] = split.groups_seen_earlier[p];
  }
  return d;
}

// model="auto": the candidates' held-out figures and the choice; None for an explicit model.
py::object selection_dict(const ModelSelectionRecord& r) {
  if (!r.used) return py::none();
  py::dict d;
  d["method"] = r.method;
  d["held_out_rows"] = r.held_out_rows;
  py::list candidates;
  for (const auto& c : r.candidates) {
    py::dict e;
    e["name"] = c.name;
    e["model"] = model_kind_name(c.kind);
    e["log_loss"] = c.log_loss;
    e["auc"] = c.auc;
    candidates.append(e);
  }
  d["candidates"] = candidates;
  d["chosen"] = r.chosen;
  d["seconds"] = r.seconds;
  return std::move(d);
}

py::dict result_dict(TrainResult r) {
  py::dict d;
  d["features"] = r.features;
  d["notes"] = r.notes;
  d["n_classes"] = r.n_classes;
  d["classes"] = r.classes;
  d["train"] = part_dict(r.train);
  d["calibration"] = part_dict(r.calibration);
  d["test"] = part_dict(r.test);
  py::dict split;
  for (int p = 0; p < 3; ++p) {
    split[part_name(static_cast<SplitPart>(p))] = summary_dict(r.split, p);
  }
  d["split"] = split;
  d["categories"] = r.categories;
  d["categorical_features"] = r.categorical_features;
  d["seconds_fit"] = r.seconds_fit;
  d["selection"] = selection_dict(r.selection);
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

// The training table with the label as `calibrisk train` reads it: a text label (multiclass)
// fails the numeric read and is read as labels, keeping the first error unless that gives a
// multiclass label.
Table read_task_table(const std::string& path, const std::string& text,
                      const std::vector<std::string>& header, const TrainSpec& spec) {
  try {
    return read_training_table(path, text, header, spec.columns);
  } catch (const InvalidInput&) {
    // As calibrisk train: two text labels are binary (positive= says which is the event), more
    // are multiclass.
    const std::exception_ptr first = std::current_exception();
    ColumnRoles roles = spec.columns;
    roles.label_as_text = true;
    Table table;
    try {
      table = read_training_table(path, text, header, roles);
    } catch (const InvalidInput&) {
      std::rethrow_exception(first);
    }
    if (spec.task == TaskKind::kBinary && table.column(roles.label).categories.size() > 2) {
      std::rethrow_exception(first);
    }
    return table;
  }
}

PySpec py_spec(const py::dict& kw) {
  PySpec s;
  s.roles.label = kw["label"].cast<std::string>();
  s.roles.group = kw["group_column"].cast<std::string>();
  s.roles.time = kw["time_column"].cast<std::string>();
  s.roles.categorical = kw["categorical"].cast<std::vector<std::string>>();
  s.roles.drop = kw["drop"].cast<std::vector<std::string>>();
  s.roles.subgroups = kw["subgroups"].cast<std::vector<std::string>>();
  if (kw.contains("positive") && !kw["positive"].is_none()) {
    s.roles.positive_label = kw["positive"].cast<std::string>();
  }
  if (kw.contains("text_columns")) {
    const auto t = kw["text_columns"].cast<std::string>();
    if (t != "categorical" && t != "error") {
      throw InvalidParams(
          "text_columns must be 'categorical' (a feature column of text is read "
          "as categorical) or 'error' (it must be declared), got " +
          quote_for_message(t) + ".");
    }
    s.roles.infer_categorical = t == "categorical";
  }
  // Code hierarchies (docs/categorical.md): {column: [prefix lengths] (empty = dotted)}.
  if (kw.contains("code_hierarchy")) {
    for (const auto& [col, lengths] :
         kw["code_hierarchy"].cast<std::map<std::string, std::vector<int>>>()) {
      s.roles.code_hierarchy[col] =
          lengths.empty() ? CodeHierarchy::dotted() : CodeHierarchy::by_prefix(lengths);
    }
  }
  if (kw.contains("hierarchy_min_count")) {
    s.roles.hierarchy_min_count = kw["hierarchy_min_count"].cast<Index>();
  }
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
  if (kw.contains("task")) s.task = kw["task"].cast<std::string>();
  if (kw.contains("min_accuracy") && !kw["min_accuracy"].is_none()) {
    s.min_accuracy = kw["min_accuracy"].cast<double>();
  }
  if (kw.contains("max_review_rate") && !kw["max_review_rate"].is_none()) {
    s.max_review_rate = kw["max_review_rate"].cast<double>();
  }
  if (kw.contains("conformal") && !kw["conformal"].is_none()) {
    s.conformal = kw["conformal"].cast<double>();
  }
  if (kw.contains("conformal_method")) {
    s.conformal_method = kw["conformal_method"].cast<std::string>();
  }
  s.split_rule = kw["split_rule"].cast<std::string>();
  s.calendar.cuts = kw["cuts"].cast<std::vector<std::string>>();
  s.calendar.cut_fractions = kw["cut_fractions"].cast<std::vector<double>>();
  s.calendar_patients = kw["calendar_patients"].cast<std::string>();
  return s;
}

py::dict period_dict(const PeriodResult& p) {
  py::dict d;
  d["period"] = p.period;
  d["start"] = p.start;
  d["fit_periods"] = p.fit_first + ".." + p.fit_last;
  d["calibration_period"] = p.calibration;
  d["n_fit"] = p.n_fit;
  d["n_calibration"] = p.n_calibration;
  d["n_test"] = p.n_test;
  d["events_test"] = p.events_test;
  d["test_rows_left_out"] = p.test_rows_left_out;
  d["test_groups_seen_earlier"] = p.test_groups_seen_earlier;
  d["auc"] = p.auc;
  d["auc_lower"] = p.auc_lower;
  d["auc_upper"] = p.auc_upper;
  d["calibration_intercept"] = p.calibration_intercept;
  d["calibration_slope"] = p.calibration_slope;
  d["ici"] = p.ici;
  d["threshold"] = p.threshold;
  d["alert_rate"] = p.alert_rate;
  d["expected_alert_rate"] = p.expected_alert_rate;
  d["recall"] = p.recall;
  d["precision"] = p.precision;
  d["prevalence"] = p.prevalence;
  d["mean_risk"] = p.mean_risk;
  d["skipped"] = p.skipped;
  d["test_rows"] =
      py::array_t<Index>(static_cast<py::ssize_t>(p.test_rows.size()), p.test_rows.data());
  d["test_p"] = py::array_t<double>(static_cast<py::ssize_t>(p.test_p.size()), p.test_p.data());
  // K-class labels (NaN / empty for a binary one).
  d["log_loss"] = p.log_loss;
  d["log_loss_lower"] = p.log_loss_lower;
  d["log_loss_upper"] = p.log_loss_upper;
  d["brier"] = p.brier;
  d["brier_lower"] = p.brier_lower;
  d["brier_upper"] = p.brier_upper;
  d["top_label_ece"] = p.top_label_ece;
  d["top_label_ece_lower"] = p.top_label_ece_lower;
  d["top_label_ece_upper"] = p.top_label_ece_upper;
  d["accuracy"] = p.accuracy;
  d["accuracy_lower"] = p.accuracy_lower;
  d["accuracy_upper"] = p.accuracy_upper;
  d["review_threshold"] = p.review_threshold;
  d["n_auto"] = p.n_auto;
  d["auto_accuracy"] = p.auto_accuracy;
  d["auto_accuracy_lower"] = p.auto_accuracy_lower;
  d["auto_accuracy_upper"] = p.auto_accuracy_upper;
  d["review_rate"] = p.review_rate;
  d["review_rate_lower"] = p.review_rate_lower;
  d["review_rate_upper"] = p.review_rate_upper;
  d["expected_auto_accuracy"] = p.expected_auto_accuracy;
  d["expected_review_rate"] = p.expected_review_rate;
  d["class_counts_test"] = p.class_counts_test;
  d["test_y"] = py::array_t<double>(static_cast<py::ssize_t>(p.test_y.size()), p.test_y.data());
  d["test_P"] = p.test_P;
  return d;
}

py::array_t<Index> index_array(const std::vector<Index>& v) {
  return py::array_t<Index>(static_cast<py::ssize_t>(v.size()), v.data());
}

}  // namespace

void bind_split(py::module_& m);

void bind_workflow(py::module_& m) {
  bind_split(m);
  m.def(
      "_train_pipeline",
      [](const std::string& path, const std::string& text, const py::dict& kw) {
        const PySpec ps = py_spec(kw);
        const TrainSpec spec = to_spec(ps);
        const auto header = kw["header"].cast<std::vector<std::string>>();
        TrainResult r;
        {
          py::gil_scoped_release release;
          const Table table = read_task_table(path, text, header, spec);
          check_review_task(ps, table, spec, "train");
          r = train_pipeline(table, spec);
        }
        return result_dict(std::move(r));
      },
      py::arg("path"), py::arg("text"), py::arg("spec"),
      "calibrisk.train's engine: read the CSV (path, or text with spec['header'] when path is "
      "empty) and run "
      "train_pipeline; returns a dict of the result.");
  m.def(
      "_validate_rolling",
      [](const std::string& path, const std::string& text, const py::dict& kw) {
        ValidateSpec v;
        const PySpec ps = py_spec(kw);
        v.train = to_spec(ps);
        v.period = enum_arg<TimeGranularity>(kw["period"].cast<std::string>(), "validate: period");
        v.n_bins = kw["n_bins"].cast<int>();
        v.min_train_periods = kw["min_train_periods"].cast<int>();
        v.n_bootstrap = kw["n_bootstrap"].cast<int>();
        const auto header = kw["header"].cast<std::vector<std::string>>();
        ValidationResult r;
        {
          py::gil_scoped_release release;
          const Table table = read_task_table(path, text, header, v.train);
          check_review_task(ps, table, v.train, "validate");
          r = validate_rolling(table, v);
        }
        py::list rows;
        for (const PeriodResult& p : r.periods) rows.append(period_dict(p));
        py::dict task;
        task["n_classes"] = r.n_classes;
        task["classes"] = r.classes;
        task["review_policy"] = r.review_policy;
        return py::make_tuple(r.granularity, r.time_in_days, rows, task);
      },
      py::arg("path"), py::arg("text"), py::arg("spec"),
      "calibrisk.validate's engine: read the CSV as _train_pipeline does and run "
      "validate_rolling; returns (granularity, time_in_days, [per-period dict], {n_classes, "
      "classes, review_policy}).");
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
  m.def(
      "_rolling_origins",
      [](std::vector<double> time, std::vector<double> groups, bool in_days,
         const std::string& period, int n_bins, int min_train_periods,
         const std::string& patients) {
        const auto g = enum_arg<TimeGranularity>(period, "RollingOriginSplit: period");
        const auto pr =
            enum_arg<CalendarPatients>(patients, "RollingOriginSplit: calendar_patients");
        std::vector<RollingOrigin> origins;
        {
          py::gil_scoped_release release;
          origins = rolling_origins(time, groups, in_days, g, n_bins, min_train_periods, pr);
        }
        py::list out;
        for (const RollingOrigin& o : origins) {
          py::dict d;
          // Every row before the test period (the fit and calibration parts leave out rows of
          // patients seen in an earlier part; a scikit-learn training set keeps them).
          std::vector<Index> before;
          for (std::size_t i = 0; i < time.size(); ++i) {
            if (time[i] < o.test_start) before.push_back(static_cast<Index>(i));
          }
          d["train"] = index_array(before);
          d["fit"] = index_array(o.split.rows_of(SplitPart::kTrain));
          d["calibration"] = index_array(o.split.rows_of(SplitPart::kCalibration));
          d["test"] = index_array(o.split.rows_of(SplitPart::kTest));
          d["fit_periods"] = o.fit_first + ".." + o.fit_last;
          d["calibration_period"] = o.calibration;
          d["test_period"] = o.test;
          d["test_rows_left_out"] = o.split.rows_dropped[2];
          out.append(d);
        }
        return out;
      },
      py::arg("time"), py::arg("groups"), py::arg("in_days"), py::arg("period"), py::arg("n_bins"),
      py::arg("min_train_periods"), py::arg("calendar_patients"),
      "calibrisk::rolling_origins: per origin, the fit / calibration / test row indices.");
}

}  // namespace calibrisk::pyb
