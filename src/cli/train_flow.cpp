// SPDX-License-Identifier: Apache-2.0
// `calibrisk train` / `demo` on top of train_pipeline (see train_flow.hpp).
#include "cli/train_flow.hpp"

#include "cli/errors.hpp"
#include "cli/model_params.hpp"
#include "cli/multiclass.hpp"

#include <calibrisk/io/text.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/ranking.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

namespace calibrisk::cli {

TrainConfig train_config(const TrainOptions& o, const CommonOptions& c) {
  TrainConfig cfg;
  cfg.roles.label = o.label;
  cfg.roles.group = o.group_column;
  cfg.roles.time = o.time_column;
  cfg.roles.categorical = o.categorical;
  for (const auto& h : o.code_hierarchy) {
    try {
      auto [column, hierarchy] = parse_code_hierarchy(h);
      cfg.roles.code_hierarchy[column] = std::move(hierarchy);
    } catch (const InvalidInput& e) {
      throw UsageError(e.what());
    }
  }
  cfg.roles.hierarchy_min_count = static_cast<Index>(o.hierarchy_min_count);
  cfg.roles.drop = o.drop;
  cfg.roles.subgroups = o.subgroups;
  cfg.model = o.model;
  cfg.calibration = o.calibration;
  // A review-queue policy (min-accuracy=..., multiclass labels) is checked against the task
  // once the label is read (apply_task_flags); the binary policy keeps its default then.
  if (!is_review_policy(o.policy)) cfg.policy = parse_policy(o.policy);
  cfg.policy_text = o.policy;
  cfg.task = o.task;
  cfg.calibration_given = o.calibration_given;
  cfg.policy_given = o.policy_given;
  cfg.params = o.params;
  cfg.split = parse_split(o.split);
  cfg.split_rule =
      parse_split_rule(o.split_rule, o.cut, o.cut_fractions, o.calendar_patients, cfg.calendar);
  cfg.seed = o.seed;
  cfg.threads = c.threads;
  cfg.source = printable(std::filesystem::path(o.data).filename().string());
  return cfg;
}

TrainSpec train_spec(const TrainConfig& cfg) {
  TrainSpec spec;
  const auto model = model_kind_from_name(cfg.model);
  if (!model) {
    throw UsageError("--model must be lr or gbdt, got " + quote_for_message(cfg.model) + ".");
  }
  spec.model = *model;
  const bool lr = spec.model == ModelKind::kLogisticRegression;
  apply_params(cfg.params, lr ? lr_param_fields(spec.lr) : gbdt_param_fields(spec.gbdt),
               lr ? "lr (LogisticRegressionParams)" : "gbdt (GBDTParams)");
  if (!param_given(cfg.params, "n_threads")) {
    spec.lr.n_threads = cfg.threads;
    spec.gbdt.n_threads = cfg.threads;
  }
  if (!param_given(cfg.params, "random_state")) spec.gbdt.random_state = cfg.seed;
  if (lr) {
    spec.lr.validate();
  } else {
    spec.gbdt.validate();
  }
  auto calibration = calibration_method_from_name(cfg.calibration);
  // A multiclass calibrator name leaves the binary default (apply_task_flags checks the task).
  if (!calibration && multiclass_calibration_from_name(cfg.calibration)) {
    calibration = CalibrationMethod::kBeta;
  }
  if (!calibration) {
    throw UsageError("--calibration must be platt, isotonic, beta or none, got " +
                     quote_for_message(cfg.calibration) + ".");
  }
  spec.calibration = *calibration;
  spec.columns = cfg.roles;
  spec.policy = cfg.policy;
  spec.split = cfg.split;
  spec.split_rule = cfg.split_rule;
  spec.calendar = cfg.calendar;
  spec.seed = cfg.seed;
  spec.source = cfg.source;
  return spec;
}

TrainOutcome train_on_table(const Table& table, const TrainConfig& cfg, Progress& progress) {
  TrainSpec spec = train_spec(cfg);
  apply_task_flags(table, cfg, spec);
  ProgressObserver observer(progress);
  return train_pipeline(table, spec, &observer);
}

std::string provenance_value(const Pipeline& pipe, const std::string& key) {
  for (const auto& kv : pipe.provenance().parameters) {
    if (kv.first == key) return kv.second;
  }
  return {};
}

std::map<std::string, std::vector<std::string>> recorded_categories(const Pipeline& pipe) {
  std::map<std::string, std::vector<std::string>> m;
  const std::string prefix = "data.categories.";
  for (const auto& kv : pipe.provenance().parameters) {
    if (kv.first.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string column = kv.first.substr(prefix.size());
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(kv.second);
    } catch (const nlohmann::json::exception&) {
      throw ModelFileError("provenance parameter " + quote_for_message(kv.first) +
                           " is not a JSON array of category labels; the model file was edited "
                           "or was not written by `calibrisk train`.");
    }
    if (!j.is_array()) {
      throw ModelFileError("provenance parameter " + quote_for_message(kv.first) +
                           " is not a JSON array.");
    }
    std::vector<std::string> labels;
    for (const auto& e : j) {
      if (!e.is_string()) {
        throw ModelFileError("provenance parameter " + quote_for_message(kv.first) +
                             " holds a non-string label.");
      }
      labels.push_back(e.get<std::string>());
    }
    m[column] = std::move(labels);
  }
  return m;
}

Figures compute_figures(const std::vector<double>& y, const Eigen::VectorXd& p) {
  const VectorView<const double> yv(y);
  const VectorView<const double> pv(p.data(), p.size());
  Figures f;
  const metrics::SortedScores s(yv, pv, {}, "evaluate");
  f.auc = metrics::roc_auc_score(s);
  f.average_precision = metrics::average_precision_score(s);
  f.log_loss = metrics::log_loss(s);
  f.brier = metrics::brier_score_loss(s);
  f.ece = metrics::expected_calibration_error(s);
  return f;
}

}  // namespace calibrisk::cli
