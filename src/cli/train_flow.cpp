// SPDX-License-Identifier: Apache-2.0
// The training flow of `calibrisk train` and `calibrisk demo` (see train_flow.hpp).
#include "cli/train_flow.hpp"

#include "cli/errors.hpp"
#include "cli/model_params.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/schema.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/ranking.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace calibrisk::cli {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

std::string part_window(const PartSummary& s, const Column* time) {
  if (time == nullptr) {
    return "rows " + std::to_string(static_cast<long long>(s.first_time) + 1) + "-" +
           std::to_string(static_cast<long long>(s.last_time) + 1) + " of the file";
  }
  if (time->time_encoding == TimeEncoding::kDays) {
    return format_iso_datetime(s.first_time) + " to " + format_iso_datetime(s.last_time);
  }
  return format_double(s.first_time) + " to " + format_double(s.last_time);
}

std::string time_text(double t, const Column* time) {
  if (time == nullptr) return std::to_string(static_cast<long long>(t) + 1);
  if (time->time_encoding == TimeEncoding::kDays) return format_iso_datetime(t);
  return format_double(t);
}

void require_both_classes(const PartData& d, Part p, const Split& s, const Column* time) {
  Index n1 = 0;
  for (double v : d.y) n1 += v == 1.0;
  const Index n = static_cast<Index>(d.y.size());
  if (n1 == 0 || n1 == n) {
    throw InvalidInput(std::string("the ") + part_name(p) + " part (" + std::to_string(n) +
                       " rows, " + part_window(s.summary[static_cast<int>(p)], time) +
                       ") holds only class " + (n1 == 0 ? "0" : "1") +
                       "; every part needs both classes: use more data or change --split so this "
                       "part is larger.");
  }
}

// The fewest rows a part of the split may have: a calibrator, a threshold and test figures fitted
// on fewer rows are noise.
constexpr Index kMinPartRows = 20;

std::string split_text(const SplitFractions& f) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "train=%g,calibration=%g,test=%g", f.train, f.calibration, f.test);
  return buf;
}

// The fewest rows for which every part of `f` gets kMinPartRows rows.
Index min_rows_for(const SplitFractions& f) {
  const double smallest = std::min({f.train, f.calibration, f.test});
  return static_cast<Index>(std::ceil(static_cast<double>(kMinPartRows) / smallest - 1e-9));
}

// Before splitting: enough rows for the fractions at all.
void require_enough_rows(Index n, const SplitFractions& f) {
  const Index need = min_rows_for(f);
  if (n >= need) return;
  throw InvalidInput("the file has " + std::to_string(n) + " data rows, too few for --split " +
                     split_text(f) + ": every part needs at least " + std::to_string(kMinPartRows) +
                     " rows, so the minimum is " + std::to_string(need) +
                     " rows; use more data or larger fractions for the small parts.");
}

// After splitting (whole patients move between parts): every part still has enough rows.
void require_part_rows(const Split& s, Index n, const SplitFractions& f) {
  for (int p = 0; p < 3; ++p) {
    const Index rows = s.summary[p].rows;
    if (rows >= kMinPartRows) continue;
    throw InvalidInput(std::string("the ") + part_name(static_cast<Part>(p)) + " part has " +
                       std::to_string(rows) + " of the " + std::to_string(n) +
                       " rows (whole patients stay in one part); every part needs at least " +
                       std::to_string(kMinPartRows) + " rows (at least " +
                       std::to_string(min_rows_for(f)) + " rows in all for --split " +
                       split_text(f) +
                       "): use more data, more patients, or a larger fraction for this part.");
  }
}

PartData make_part(const RowMatrixXd& X, const std::vector<double>& y, const Split& s, Part p) {
  PartData d;
  d.rows = s.rows_of(p);
  d.X = take_rows(X, d.rows);
  d.y = take(y, d.rows);
  return d;
}

void add_op_figures(std::vector<std::pair<std::string, double>>& f, const OperatingPoint& op,
                    const std::string& prefix) {
  f.emplace_back(prefix + "precision", op.precision);
  f.emplace_back(prefix + "recall", op.recall);
  f.emplace_back(prefix + "specificity", op.specificity);
  f.emplace_back(prefix + "npv", op.npv);
  f.emplace_back(prefix + "alert_rate", op.alert_rate);
  f.emplace_back(prefix + "fbeta", op.fbeta);
  f.emplace_back(prefix + "expected_cost", op.expected_cost);
  f.emplace_back(prefix + "tp", op.tp);
  f.emplace_back(prefix + "fp", op.fp);
  f.emplace_back(prefix + "tn", op.tn);
  f.emplace_back(prefix + "fn", op.fn);
  f.emplace_back(prefix + "precision_ci_lower", op.precision_wilson.lower);
  f.emplace_back(prefix + "precision_ci_upper", op.precision_wilson.upper);
  f.emplace_back(prefix + "recall_ci_lower", op.recall_wilson.lower);
  f.emplace_back(prefix + "recall_ci_upper", op.recall_wilson.upper);
}

}  // namespace

ThresholdPolicy to_threshold_policy(const PolicySpec& spec) {
  switch (spec.kind) {
    case PolicySpec::Kind::kMinRecall:
      return policy::min_recall(spec.value);
    case PolicySpec::Kind::kMinPrecision:
      return policy::min_precision(spec.value);
    case PolicySpec::Kind::kMaxAlertRate:
      return policy::max_alert_rate(spec.value);
    case PolicySpec::Kind::kCost:
      return policy::min_cost(spec.cost_fp, spec.cost_fn);
    case PolicySpec::Kind::kMaxF:
      return policy::max_fbeta(spec.value);
  }
  return policy::max_fbeta(1.0);
}

std::string categories_key(const std::string& column) { return "data.categories." + column; }

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

TrainOutcome train_on_table(const Table& table, const TrainConfig& cfg, Progress& progress) {
  TrainOutcome out;
  const ColumnRoles& roles = cfg.roles;
  const Index n = table.rows();

  // Parse everything that can be a usage error before any work.
  LogisticRegressionParams lr_params;
  GBDTParams gb_params;
  std::vector<ParamField> fields;
  if (cfg.model == "lr") {
    fields = lr_param_fields(lr_params);
  } else if (cfg.model == "gbdt") {
    fields = gbdt_param_fields(gb_params);
  } else {
    throw UsageError("--model must be lr or gbdt, got " + quote_for_message(cfg.model) + ".");
  }
  apply_params(cfg.params, fields,
               cfg.model == "lr" ? "lr (LogisticRegressionParams)" : "gbdt (GBDTParams)");
  if (!param_given(cfg.params, "n_threads")) {
    lr_params.n_threads = cfg.threads;
    gb_params.n_threads = cfg.threads;
  }
  if (!param_given(cfg.params, "random_state")) gb_params.random_state = cfg.seed;
  if (cfg.model == "lr") {
    lr_params.validate();
  } else {
    gb_params.validate();
  }
  if (cfg.calibration != "platt" && cfg.calibration != "isotonic" && cfg.calibration != "beta" &&
      cfg.calibration != "none") {
    throw UsageError("--calibration must be platt, isotonic, beta or none, got " +
                     quote_for_message(cfg.calibration) + ".");
  }

  out.features = feature_columns(table, roles);
  for (const auto& id : identifier_like_columns(table, out.features)) {
    const std::string shown = printable(id);
    progress.warn("column '" + shown +
                  "' has a different whole number on every row: it looks like "
                  "an identifier, not a feature; pass --drop " +
                  shown + " (or --group-column " + shown + " if it identifies patients).");
  }
  const std::vector<double> y = label_values(table, roles.label, true);
  const Column* time = roles.time.empty() ? nullptr : &table.column(roles.time);
  const std::vector<double> no_values;
  const std::vector<double>& group =
      roles.group.empty() ? no_values : table.column(roles.group).values;

  {
    auto step = progress.step("splitting " + format_count(n) + " rows by " +
                              (time ? "time" : "file order") +
                              (roles.group.empty() ? "" : " and " + roles.group));
    require_enough_rows(n, cfg.split);
    out.split = split_by_time_and_group(time ? time->values : no_values, group, n, cfg.split);
    require_part_rows(out.split, n, cfg.split);
    step.done();
  }
  for (int p = 0; p < 3; ++p) {
    const PartSummary& s = out.split.summary[p];
    progress.note("  " + std::string(part_name(static_cast<Part>(p))) + ": " +
                  format_count(s.rows) + " rows, " + format_count(s.groups) +
                  (roles.group.empty() ? " rows" : " groups") + ", " + part_window(s, time));
  }

  const RowMatrixXd X = table.to_matrix(out.features);
  out.train = make_part(X, y, out.split, Part::kTrain);
  out.calibration = make_part(X, y, out.split, Part::kCalibration);
  out.test = make_part(X, y, out.split, Part::kTest);
  require_both_classes(out.train, Part::kTrain, out.split, time);
  require_both_classes(out.calibration, Part::kCalibration, out.split, time);
  require_both_classes(out.test, Part::kTest, out.split, time);

  // Model on the training part.
  const Dataset train_set(FeatureMatrix(view(out.train.X)), VectorView<const double>(out.train.y));
  PipelineModel model;
  {
    auto step = progress.step(std::string("fitting ") +
                              (cfg.model == "lr" ? "logistic regression" : "boosted trees") +
                              " on " + format_count(out.train.X.rows()) + " rows x " +
                              std::to_string(out.train.X.cols()) + " features");
    if (cfg.model == "lr") {
      LogisticRegression m(lr_params);
      m.fit(train_set);
      for (const auto& note : m.fit_info().notes)
        out.notes.push_back("logistic regression: " + note);
      if (!m.fit_info().converged) {
        out.notes.push_back("logistic regression did not converge in " +
                            std::to_string(lr_params.max_iter) +
                            " iterations; raise --param max_iter or lower --param C.");
      }
      model = std::move(m);
      step.done();
    } else {
      GradientBoostedTrees m(gb_params);
      m.fit(train_set);
      for (const auto& note : m.fit_info().notes) out.notes.push_back("boosted trees: " + note);
      const int trees = m.best_iteration();
      model = std::move(m);
      step.done(std::to_string(trees) + " trees");
    }
    out.seconds_fit = step.seconds();
  }
  auto model_proba = [&](const RowMatrixXd& M) {
    return std::visit(
        [&](const auto& m) { return Eigen::VectorXd(m.predict_proba(FeatureMatrix(view(M)))); },
        model);
  };
  out.train.p_model = model_proba(out.train.X);
  out.calibration.p_model = model_proba(out.calibration.X);
  out.test.p_model = model_proba(out.test.X);

  // Calibrator on the calibration part (on the model's probability).
  PipelineCalibrator calibrator;
  {
    auto step = progress.step("calibrating (" + cfg.calibration + ") on " +
                              format_count(out.calibration.X.rows()) + " rows");
    const VectorView<const double> s(out.calibration.p_model.data(),
                                     out.calibration.p_model.size());
    const VectorView<const double> yc(out.calibration.y);
    if (cfg.calibration == "platt") {
      PlattParams pp;
      pp.input = ScoreKind::kProbability;
      PlattCalibrator c(pp);
      c.fit(s, yc);
      for (const auto& note : c.fit_info().notes) out.notes.push_back("platt: " + note);
      calibrator = std::move(c);
    } else if (cfg.calibration == "isotonic") {
      IsotonicCalibrator c;
      c.fit(s, yc);
      calibrator = std::move(c);
    } else if (cfg.calibration == "beta") {
      BetaCalibrator c;
      c.fit(s, yc);
      for (const auto& note : c.fit_info().notes) out.notes.push_back("beta: " + note);
      calibrator = std::move(c);
    }
    step.done();
  }
  auto calibrate = [&](const Eigen::VectorXd& p) {
    return std::visit(
        [&](const auto& c) -> Eigen::VectorXd {
          using C = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<C, std::monostate>) {
            return p;
          } else {
            return c.predict(VectorView<const double>(p.data(), p.size()));
          }
        },
        calibrator);
  };
  out.train.p = calibrate(out.train.p_model);
  out.calibration.p = calibrate(out.calibration.p_model);
  out.test.p = calibrate(out.test.p_model);

  // Threshold on the calibration part; the same threshold on the test part.
  const ThresholdPolicy pol = to_threshold_policy(cfg.policy);
  {
    auto step = progress.step("choosing the threshold (" + cfg.policy.text() + ")");
    out.op_calibration = select_threshold(
        VectorView<const double>(out.calibration.y),
        VectorView<const double>(out.calibration.p.data(), out.calibration.p.size()), pol);
    out.op_test = operating_point_at(
        metrics::SortedScores(VectorView<const double>(out.test.y),
                              VectorView<const double>(out.test.p.data(), out.test.p.size()), {},
                              "test part"),
        out.op_calibration.threshold);
    char buf[160];
    std::snprintf(buf, sizeof buf, "threshold %.4f, recall %.3f, precision %.3f on calibration",
                  out.op_calibration.threshold, out.op_calibration.recall,
                  out.op_calibration.precision);
    step.done(buf);
  }

  // Assemble the pipeline.
  std::vector<Index> categorical_idx;
  for (std::size_t j = 0; j < out.features.size(); ++j) {
    if (table.column(out.features[j]).kind == ColumnKind::kCategorical) {
      categorical_idx.push_back(static_cast<Index>(j));
    }
  }
  SchemaOptions so;
  so.categorical = categorical_idx;
  FeatureSchema schema =
      FeatureSchema::from_data(FeatureMatrix(view(out.train.X)), out.features, so);
  out.categories = feature_category_labels(table, out.features);

  OperatingPointRecord oprec;
  oprec.threshold = out.op_calibration.threshold;
  oprec.policy = cfg.policy.text();
  add_op_figures(oprec.figures, out.op_calibration, "");
  oprec.figures.emplace_back("n_rows", static_cast<double>(out.calibration.y.size()));
  add_op_figures(oprec.figures, out.op_test, "test.");
  oprec.figures.emplace_back("test.n_rows", static_cast<double>(out.test.y.size()));

  Provenance prov;
  prov.seed = cfg.seed;
  prov.training_data =
      fingerprint_data(FeatureMatrix(view(out.train.X)), VectorView<const double>(out.train.y));
  Params& P = prov.parameters;
  P.emplace_back("model", cfg.model);
  for (const auto& f : fields) {
    // The thread count is an execution setting: keep it out of the model file (issue 11 §8).
    if (f.name == "n_threads" || (f.omit_from_provenance && f.omit_from_provenance())) continue;
    P.emplace_back("model." + f.name, f.get());
  }
  P.emplace_back("calibration", cfg.calibration);
  P.emplace_back("policy", cfg.policy.text());
  P.emplace_back("data.source", cfg.source);
  P.emplace_back("data.label", roles.label);
  P.emplace_back("data.group_column", roles.group);
  P.emplace_back("data.time_column", roles.time);
  if (time) {
    P.emplace_back("data.time_encoding",
                   time->time_encoding == TimeEncoding::kDays ? "iso8601" : "number");
  }
  P.emplace_back("data.rows", std::to_string(n));
  {
    nlohmann::json d = nlohmann::json::array();
    for (const auto& c : roles.drop) d.push_back(c);
    P.emplace_back("data.dropped", d.dump());
  }
  for (const auto& [col, labels] : out.categories) {
    P.emplace_back(categories_key(col), nlohmann::json(labels).dump());
  }
  char frac[128];
  std::snprintf(frac, sizeof frac, "train=%.6g,calibration=%.6g,test=%.6g", cfg.split.train,
                cfg.split.calibration, cfg.split.test);
  P.emplace_back("split.fractions", frac);
  P.emplace_back("split.rule",
                 std::string("groups (") + (roles.group.empty() ? "rows" : roles.group) +
                     ") ordered by their first " + (time ? roles.time : "file position") +
                     ", taken in that order into train, calibration and test by cumulative row "
                     "count; no group in two parts");
  for (int p = 0; p < 3; ++p) {
    const PartSummary& s = out.split.summary[p];
    const PartData& d = p == 0 ? out.train : (p == 1 ? out.calibration : out.test);
    const std::string k = std::string("split.") + part_name(static_cast<Part>(p)) + ".";
    double pos = 0.0;
    for (double v : d.y) pos += v;
    P.emplace_back(k + "rows", std::to_string(s.rows));
    P.emplace_back(k + "groups", std::to_string(s.groups));
    P.emplace_back(k + "first", time_text(s.first_time, time));
    P.emplace_back(k + "last", time_text(s.last_time, time));
    P.emplace_back(k + "first_entry", time_text(s.entry_first, time));
    P.emplace_back(k + "last_entry", time_text(s.entry_last, time));
    P.emplace_back(k + "prevalence", format_double(pos / static_cast<double>(d.y.size())));
    if (p > 0) {
      P.emplace_back(k + "rows_before_previous_part_end",
                     std::to_string(out.split.rows_overlapping_earlier_part[p]));
    }
  }
  std::sort(P.begin(), P.end());

  out.pipeline.emplace(std::move(schema), std::move(model), std::move(calibrator), std::move(oprec),
                       std::move(prov));
  return out;
}

}  // namespace calibrisk::cli
