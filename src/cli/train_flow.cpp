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

#include <algorithm>
#include <filesystem>
#include <optional>

namespace calibrisk::cli {

TrainConfig train_config(const TrainOptions& o, const CommonOptions& c) {
  TrainConfig cfg;
  cfg.roles.label = o.label;
  cfg.roles.group = o.group_column;
  cfg.roles.time = o.time_column;
  cfg.roles.categorical = o.categorical;
  cfg.roles.infer_categorical = o.text_columns != "error";
  cfg.roles.positive_label = o.positive;
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

// --param key=value with --model auto: each goes to the candidates whose Params declare it
// (n_threads, random_state, ...: both); a user's min_samples_leaf also drops the leaf-20
// candidate. Parsing and messages are apply_params' own.
void apply_auto_params(const std::vector<std::string>& assignments, TrainSpec& spec) {
  const std::vector<ParamField> lr_fields = lr_param_fields(spec.lr);
  const std::vector<ParamField> gbdt_fields = gbdt_param_fields(spec.gbdt);
  const auto declares = [](const std::vector<ParamField>& fields, const std::string& key) {
    return std::any_of(fields.begin(), fields.end(),
                       [&](const ParamField& f) { return f.name == key; });
  };
  std::vector<std::string> to_lr, to_gbdt;
  for (const std::string& a : assignments) {
    const auto eq = a.find('=');
    std::string key = eq == std::string::npos ? std::string() : a.substr(0, eq);
    key.erase(0, key.find_first_not_of(" \t"));
    key.erase(key.find_last_not_of(" \t") + 1);
    const bool in_lr = declares(lr_fields, key), in_gbdt = declares(gbdt_fields, key);
    if (eq != std::string::npos && eq > 0 && !in_lr && !in_gbdt) {
      std::string valid;
      for (const auto& f : gbdt_fields) valid += (valid.empty() ? "" : ", ") + f.name;
      valid += " (gbdt); ";
      for (const auto& f : lr_fields) {
        if (!declares(gbdt_fields, f.name)) valid += f.name + ", ";
      }
      throw UsageError("--param: " + quote_for_message(key) +
                       " is not a parameter of lr (LogisticRegressionParams) or gbdt "
                       "(GBDTParams), the candidates of --model auto; valid keys: " +
                       valid.substr(0, valid.size() - 2) + " (lr).");
    }
    if (in_lr) to_lr.push_back(a);
    if (in_gbdt || !in_lr) to_gbdt.push_back(a);  // a malformed one gets apply_params' message
    user_parameter_given(spec, key);
  }
  apply_params(to_lr, lr_fields, "lr (LogisticRegressionParams)");
  apply_params(to_gbdt, gbdt_fields, "gbdt (GBDTParams)");
}

namespace {

// The key of a `--param key=value` assignment (spaces around it dropped).
std::string param_key(const std::string& a) {
  std::string key = a.substr(0, a.find('='));
  key.erase(0, key.find_first_not_of(" \t"));
  key.erase(key.find_last_not_of(" \t") + 1);
  return key;
}

// Splits the --param assignments into the workflow switches (set_workflow_parameter: checked on
// a scratch spec here, set after the model's parameters) and the model's parameters.
std::vector<std::string> model_assignments(const std::vector<std::string>& params,
                                           std::vector<std::pair<std::string, std::string>>& wf) {
  std::vector<std::string> model;
  for (const std::string& a : params) {
    const auto eq = a.find('=');
    TrainSpec scratch;
    try {
      if (eq != std::string::npos &&
          set_workflow_parameter(scratch, param_key(a), a.substr(eq + 1))) {
        wf.emplace_back(param_key(a), a.substr(eq + 1));
        continue;
      }
    } catch (const InvalidInput& e) {
      throw UsageError(std::string("--param: ") + e.what());
    }
    model.push_back(a);
  }
  return model;
}

}  // namespace

TrainSpec train_spec(const TrainConfig& cfg) {
  TrainSpec spec;
  std::vector<std::pair<std::string, std::string>> workflow;
  const std::vector<std::string> params = model_assignments(cfg.params, workflow);
  const auto model = model_kind_from_name(cfg.model);
  if (!model) {
    throw UsageError("--model must be auto, lr or gbdt, got " + quote_for_message(cfg.model) + ".");
  }
  spec.model = *model;
  const bool lr = spec.model == ModelKind::kLogisticRegression;
  if (spec.model == ModelKind::kAuto) {
    apply_auto_params(params, spec);
  } else {
    apply_params(params, lr ? lr_param_fields(spec.lr) : gbdt_param_fields(spec.gbdt),
                 lr ? "lr (LogisticRegressionParams)" : "gbdt (GBDTParams)");
    for (const std::string& a : params) user_parameter_given(spec, param_key(a));
  }
  for (const auto& [key, text] : workflow) set_workflow_parameter(spec, key, text);
  if (!param_given(cfg.params, "n_threads")) {
    spec.lr.n_threads = cfg.threads;
    spec.gbdt.n_threads = cfg.threads;
  }
  if (!param_given(cfg.params, "random_state")) spec.gbdt.random_state = cfg.seed;
  if (spec.model != ModelKind::kGradientBoostedTrees) spec.lr.validate();
  if (spec.model != ModelKind::kLogisticRegression) spec.gbdt.validate();
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
  spec.selection.calibration = !cfg.calibration_given;  // model auto chooses it unless named
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
