// SPDX-License-Identifier: Apache-2.0
// The generate, train, predict and evaluate commands (demo is in demo.cpp).
#include "cli/commands.hpp"

#include "cli/data.hpp"
#include "cli/errors.hpp"
#include "cli/multiclass.hpp"
#include "cli/output_file.hpp"
#include "cli/reports.hpp"
#include "cli/train_flow.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/datasets/claims.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/report/evaluate.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <set>

namespace calibrisk::cli {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string join(const std::vector<std::string>& v) { return list_for_message(v); }

std::string fixed(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Pipeline load_model(const std::string& path, Progress& progress) {
  auto step = progress.step("loading model " + printable(path));
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::not_found) {
    throw ModelFileError("model file " + quote_for_message(path) +
                         " does not exist; pass the file written by "
                         "`calibrisk train --out`.");
  }
  if (type == std::filesystem::file_type::directory) {
    throw ModelFileError("model file " + quote_for_message(path) +
                         " is a directory; pass the file written by `calibrisk train --out`.");
  }
  if (ec || type != std::filesystem::file_type::regular) {
    throw ModelFileError("model file " + quote_for_message(path) +
                         " is not a regular file (a device, pipe or socket); pass the file "
                         "written by `calibrisk train --out`.");
  }
  Pipeline pipe = as_model_file_error(path, [&] { return load(path); });
  step.done(std::string(pipe.model_type()) + ", " + std::to_string(pipe.n_features()) +
            " features, calibration " + pipe.calibrator_type());
  return pipe;
}

std::vector<std::string> schema_names(const Pipeline& pipe) {
  std::vector<std::string> names;
  for (const auto& f : pipe.schema().features) names.push_back(f.name);
  return names;
}

/// Read options for a file scored by a saved model: feature columns encoded as at training time,
/// every other column read as text labels (carried through or used as subgroups), the label
/// numeric, the time column (when given) parsed as time.
CsvReadOptions scoring_read_options(const Pipeline& pipe, const std::string& path,
                                    const std::string& label, const std::string& time_column) {
  const std::vector<std::string> header = read_csv_header(path);
  const std::vector<std::string> features = schema_names(pipe);
  std::vector<std::string> missing;
  for (const auto& f : features) {
    if (!contains(header, f)) missing.push_back(f);
  }
  if (!missing.empty()) {
    throw InvalidInput(quote_for_message(path) + " lacks the column(s) " + join(missing) +
                       " that the model was trained on; the file must have every feature column "
                       "(by name, any order): " +
                       join(features) + ".");
  }
  if (!label.empty() && !contains(header, label)) {
    throw InvalidInput("--label " + printable(label) + ": " + quote_for_message(path) +
                       " has no column " + quote_for_message(label) +
                       "; its columns are: " + join(header) + ".");
  }
  CsvReadOptions o;
  // Format 1.4: labels (and hierarchies) in the schema, encoded by the model's own levels;
  // earlier files: the labels recorded in the provenance.
  for (Index j = 0; j < pipe.n_features(); ++j) {
    if (const CategoryLevels* l = pipe.category_levels(j)) o.category_levels[l->column()] = *l;
  }
  const auto cats = recorded_categories(pipe);
  for (const auto& [col, labels] : cats) {
    if (o.category_levels.count(col) == 0) o.category_mappings[col] = labels;
  }
  if (!label.empty()) o.required_columns.push_back(label);
  o.time_column = time_column;
  for (const auto& h : header) {
    if (contains(features, h) || h == label || h == time_column || h.empty()) continue;
    o.categorical.push_back(h);
  }
  return o;
}

void warn_drift(const Pipeline& pipe, const RowMatrixXd& X, Progress& progress,
                const Table& table) {
  const InputReport r = pipe.check_inputs(FeatureMatrix(view(X)));
  for (const auto& e : r.errors) progress.warn(e);
  // Labels that are not levels of a 1.4 model (encoded as their ancestor or as missing, so the
  // matrix check cannot see them).
  for (Index j = 0; j < pipe.n_features(); ++j) {
    const CategoryLevels* l = pipe.category_levels(j);
    if (l == nullptr) continue;
    const Column& c = table.column(l->column());
    if (c.n_unseen_labels == 0) continue;
    progress.warn("feature " + quote_for_message(l->column()) + " differs from training: " +
                  format_count(c.n_unseen_labels) + " labels not seen in training (scored as " +
                  (l->hierarchy().declared ? "their nearest seen ancestor code, or " : "") +
                  "missing);");
  }
  for (const auto& f : r.features) {
    std::string s = "feature " + quote_for_message(f.name) + " differs from training:";
    if (f.n_below_min)
      s += " " + format_count(f.n_below_min) + " values below the training minimum;";
    if (f.n_above_max)
      s += " " + format_count(f.n_above_max) + " values above the training maximum;";
    if (f.n_unseen_category) {
      s += " " + format_count(f.n_unseen_category) + " categories not seen in training;";
    }
    if (f.missing_rate_drift) {
      s += " missing in " + fixed(100.0 * f.missing_rate, 1) + "% of rows vs " +
           fixed(100.0 * f.train_missing_rate, 1) + "% in training;";
    }
    if (f.any()) progress.warn(s);
  }
}

Eigen::VectorXd model_probability(const Pipeline& pipe, const RowMatrixXd& X) {
  return std::visit(
      [&](const auto& m) { return Eigen::VectorXd(m.predict_proba(FeatureMatrix(view(X)))); },
      pipe.model());
}

/// `predict --explain K`: per row the K largest contributions (name and value, largest |value|
/// first) on `scale`, then the scale, the baseline and the row's log-odds on that scale (baseline
/// + every contribution): columns appended to `result`.
void add_explanations(const Pipeline& pipe, const RowMatrixXd& X, Index k, ExplainScale scale,
                      const std::vector<std::string>& features, Table& result) {
  const Index n = X.rows(), p = X.cols();
  RowMatrixXd phi(n, p);
  const double baseline = pipe.explain(FeatureMatrix(view(X)), view_mut(phi), scale);
  k = std::min<Index>(k, p);
  std::vector<std::vector<double>> names(static_cast<std::size_t>(k)),
      values(static_cast<std::size_t>(k));
  for (auto& v : names) v.resize(static_cast<std::size_t>(n));
  for (auto& v : values) v.resize(static_cast<std::size_t>(n));
  std::vector<double> log_odds(static_cast<std::size_t>(n));
  std::vector<std::ptrdiff_t> top(static_cast<std::size_t>(k));
  for (Index i = 0; i < n; ++i) {
    top_contributions(&phi(i, 0), p, k, top.data());
    for (Index r = 0; r < k; ++r) {
      const auto ur = static_cast<std::size_t>(r);
      names[ur][static_cast<std::size_t>(i)] = static_cast<double>(top[ur]);
      values[ur][static_cast<std::size_t>(i)] = phi(i, top[ur]);
    }
    log_odds[static_cast<std::size_t>(i)] = baseline + phi.row(i).sum();
  }
  for (Index r = 0; r < k; ++r) {
    const std::string base = "top" + std::to_string(r + 1);
    const auto ur = static_cast<std::size_t>(r);
    result.add_column(Column::categorical(base + "_feature", names[ur], features));
    result.add_column(Column::numeric(base + "_contribution", values[ur]));
  }
  result.add_column(Column::categorical("explain_scale",
                                        std::vector<double>(static_cast<std::size_t>(n), 0.0),
                                        {explain_scale_label(scale)}));
  result.add_column(Column::numeric("explain_baseline",
                                    std::vector<double>(static_cast<std::size_t>(n), baseline)));
  result.add_column(Column::numeric("explain_log_odds", log_odds));
}

/// The calibration method the pipeline applies, as its provenance records it: chosen by
/// `--model auto` when `--calibration` is not given, a multiclass method for a multiclass label.
std::string calibration_used(const Pipeline& pipe, const std::string& given) {
  const std::string used = provenance_value(pipe, "calibration");
  return used.empty() ? given : used;
}

/// `train`'s HTML / JSON evaluation of the test part (either stream may be null).
void write_test_reports(const TrainOptions& o, const std::string& source, const Table& table,
                        const TrainOutcome& r, std::ostream* html, std::ostream* json,
                        Progress& progress) {
  const Pipeline& pipe = *r.pipeline;
  EvaluationData ev;
  ev.title = o.model + " + " + calibration_used(pipe, o.calibration) +
             " calibration: test part of " + source;
  ev.source = printable(o.data);
  ev.y = r.test.y;
  ev.p_model = r.test.p_model;
  ev.p = r.test.p;
  ev.pipeline = &pipe;
  ev.X = r.test.X;
  ev.features = r.features;
  std::vector<std::string> sub = o.subgroups;
  for (const auto& f : r.features) {
    const Column& col = table.column(f);
    if (col.kind == ColumnKind::kCategorical && col.categories.size() <= 20 && !contains(sub, f)) {
      sub.push_back(f);
    }
  }
  for (const auto& s : sub) ev.subgroups.push_back(subgroup_data(table, s, r.test.rows));
  if (!o.time_column.empty()) {
    const Column& t = table.column(o.time_column);
    ev.time = take(t.values, r.test.rows);
    ev.time_is_days = t.time_encoding == TimeEncoding::kDays;
  }
  if (!o.group_column.empty()) ev.group = take(table.column(o.group_column).values, r.test.rows);
  ev.seed = o.seed;
  write_reports(ev, html, json, progress);
}

/// `predict` of a K-class pipeline: row ids, p_<class> columns, label, route (and explanations).
int predict_multiclass(const Pipeline& pipe, const PredictOptions& o, const RowMatrixXd& X,
                       const std::vector<std::string>& features, const Table& table,
                       OutputFile& file, OutputSet& outputs, Progress& progress,
                       std::ostream& out) {
  Table result;
  for (const std::string key : {"data.group_column", "data.time_column"}) {
    const std::string col = provenance_value(pipe, key);
    if (!col.empty() && table.has_column(col)) result.add_column(table.column(col));
  }
  std::vector<double> row_no(static_cast<std::size_t>(X.rows()));
  std::iota(row_no.begin(), row_no.end(), 1.0);
  if (result.cols() == 0) result.add_column(Column::numeric("row", row_no));
  Index n_review = 0;
  {
    auto step = progress.step("scoring " + format_count(X.rows()) + " rows (" +
                              std::to_string(pipe.n_classes()) + " classes)");
    n_review = add_class_predictions(pipe, X, o.explain, features, result);
    step.done();
  }
  write_csv(result, file.stream());
  outputs.commit();
  out << "scored " << format_count(X.rows()) << " rows: " << format_count(n_review)
      << " sent to review ("
      << fixed(100.0 * static_cast<double>(n_review) /
                   std::max<double>(1.0, static_cast<double>(X.rows())),
               1)
      << "%); wrote " << o.out << "\n";
  return kExitOk;
}

/// `train`'s result lines on stdout.
void print_train_summary(const TrainOptions& o, const std::string& policy, const TrainOutcome& r,
                         std::ostream& out) {
  const Figures before = compute_figures(r.test.y, r.test.p_model);
  const Figures after = compute_figures(r.test.y, r.test.p);
  // --model auto: which candidate it kept (selection.chosen in the model file).
  const std::string model =
      r.selection.used ? o.model + " (chose " + r.selection.chosen + ")" : o.model;
  out << "model " << model << " + " << calibration_used(*r.pipeline, o.calibration)
      << " calibration, policy " << policy << "\n";
  out << "split: train " << format_count(r.split.summary[0].rows) << " / calibration "
      << format_count(r.split.summary[1].rows) << " / test "
      << format_count(r.split.summary[2].rows) << " rows\n";
  out << "test: AUC " << fixed(after.auc) << ", AP " << fixed(after.average_precision)
      << ", log loss " << fixed(before.log_loss) << " -> " << fixed(after.log_loss) << ", Brier "
      << fixed(before.brier) << " -> " << fixed(after.brier) << ", ECE " << fixed(before.ece)
      << " -> " << fixed(after.ece) << " (before -> after calibration)\n";
  out << "threshold " << fixed(r.op_calibration.threshold) << ": calibration part recall "
      << fixed(r.op_calibration.recall, 3) << ", precision " << fixed(r.op_calibration.precision, 3)
      << ", alert rate " << fixed(r.op_calibration.alert_rate, 3) << "; test part recall "
      << fixed(r.op_test.recall, 3) << ", precision " << fixed(r.op_test.precision, 3)
      << ", alert rate " << fixed(r.op_test.alert_rate, 3) << "\n";
  out << "wrote " << o.out;
  if (!o.report.empty()) out << ", " << o.report;
  if (!o.json.empty()) out << ", " << o.json;
  out << "\n";
}

// `calibrisk generate --dataset claims`: the claims table of ClaimsParams{n_claims = rows}.
int generate_claims(const GenerateOptions& o, Progress& progress, std::ostream& out) {
  if (o.with_codes) {
    throw UsageError(
        "--with-codes applies to --dataset readmission only; the claims table always has its "
        "procedure and diagnosis codes.");
  }
  OutputSet outputs;
  OutputFile& file = outputs.add(o.out);
  auto step = progress.step("generating the claims table (" + format_count(o.rows) + " rows)");
  ClaimsParams p;
  p.n_claims = static_cast<Index>(o.rows);
  p.seed = o.seed;
  const ClaimsTable claims = make_claims(p);
  write_csv(claims.to_table(), file.stream());
  outputs.commit();
  double paid = 0.0;
  for (int k : claims.outcome) paid += (k == 0);
  step.done();
  out << "wrote " << o.out << ": " << format_count(claims.rows()) << " claims of "
      << format_count(claims.n_members()) << " members, denied "
      << fixed(1.0 - paid / static_cast<double>(claims.rows()), 3) << "\n";
  return kExitOk;
}

}  // namespace

int run_generate(const GenerateOptions& o, const CommonOptions& c, Progress& progress,
                 std::ostream& out) {
  (void)c;
  if (o.rows < 1) throw UsageError("--rows must be >= 1, got " + std::to_string(o.rows) + ".");
  if (o.dataset == "claims") return generate_claims(o, progress, out);
  if (o.dataset != "readmission") {
    throw UsageError("--dataset must be readmission or claims, got " +
                     quote_for_message(o.dataset) + ".");
  }
  OutputSet outputs;
  OutputFile& file = outputs.add(o.out);
  auto step =
      progress.step("generating the readmission cohort (" + format_count(o.rows) + " rows)");
  ReadmissionCohortParams p;
  p.n_encounters = static_cast<Index>(o.rows);
  p.seed = o.seed;
  p.with_codes = o.with_codes;
  const ReadmissionCohort cohort = make_readmission_cohort(p);
  write_csv(cohort.to_table(), file.stream());
  outputs.commit();
  double prevalence = 0.0;
  for (int v : cohort.readmitted) prevalence += v;
  prevalence /= static_cast<double>(cohort.rows());
  step.done();
  out << "wrote " << o.out << ": " << format_count(cohort.rows()) << " encounters of "
      << format_count(cohort.n_patients()) << " patients, prevalence " << fixed(prevalence, 3)
      << "\n";
  return kExitOk;
}

int run_train(const TrainOptions& o, const CommonOptions& c, Progress& progress,
              std::ostream& out) {
  // Everything that can be a usage error first, before reading data.
  const TrainConfig cfg = train_config(o, c);
  check_input_file(o.data, "--data");
  check_distinct_paths({{"--data", o.data}},
                       {{"--out", o.out}, {"--report", o.report}, {"--json", o.json}});
  // Every output is opened now (a bad path fails before the work) and committed together at the
  // end: a failure anywhere leaves every old file untouched.
  OutputSet outputs;
  OutputFile& model_file = outputs.add(o.out);
  OutputFile* html = o.report.empty() ? nullptr : &outputs.add(o.report);
  OutputFile* json = o.json.empty() ? nullptr : &outputs.add(o.json);

  const std::vector<std::string> header = read_csv_header(o.data);
  const Table table = read_training_table(o.data, cfg, header, progress);
  TrainOutcome r = train_on_table(table, cfg, progress);
  for (const auto& n : r.notes) progress.warn(n);
  const Pipeline& pipe = *r.pipeline;
  if (r.n_classes > 2) {
    write_multiclass_reports(pipe, r.test.y, r.test.X, r.test.P,
                             o.model + " + " + calibration_used(pipe, o.calibration) +
                                 " calibration: test part of " + cfg.source,
                             o.seed, html ? &html->stream() : nullptr,
                             json ? &json->stream() : nullptr, progress);
    auto step = progress.step("writing " + printable(o.out));
    model_file.stream() << to_string(pipe);
    outputs.commit();
    step.done();
    print_multiclass_summary(o, r, out);
    return kExitOk;
  }

  // Evaluate on the test part.
  if (html != nullptr || json != nullptr) {
    write_test_reports(o, cfg.source, table, r, html ? &html->stream() : nullptr,
                       json ? &json->stream() : nullptr, progress);
  }

  {
    auto step = progress.step("writing " + printable(o.out));
    model_file.stream() << to_string(pipe);
    outputs.commit();
    step.done();
  }

  print_train_summary(o, policy_text(cfg.policy), r, out);
  return kExitOk;
}

int run_predict(const PredictOptions& o, const CommonOptions& c, Progress& progress,
                std::ostream& out) {
  (void)c;
  if (o.explain < 0)
    throw UsageError("--explain must be >= 0, got " + std::to_string(o.explain) + ".");
  ExplainScale scale = ExplainScale::kCalibrated;
  try {
    scale = parse_explain_scale(o.explain_scale, "--explain-scale");
  } catch (const InvalidInput& e) {
    throw UsageError(e.what());
  }
  check_input_file(o.data, "--data");
  check_distinct_paths({{"--model", o.model}, {"--data", o.data}}, {{"--out", o.out}});
  OutputSet outputs;
  OutputFile& file = outputs.add(o.out);
  const Pipeline pipe = load_model(o.model, progress);
  const CsvReadOptions ro = scoring_read_options(pipe, o.data, "", "");
  Table table;
  {
    auto step = progress.step("reading " + printable(o.data));
    table = read_table(o.data, ro);
    step.done(format_count(table.rows()) + " rows");
  }
  const std::vector<std::string> features = schema_names(pipe);
  const RowMatrixXd X = table.to_matrix(features);
  warn_drift(pipe, X, progress, table);
  if (pipe.n_classes() > 2)
    return predict_multiclass(pipe, o, X, features, table, file, outputs, progress, out);
  Eigen::VectorXd risk;
  {
    auto step = progress.step("scoring " + format_count(X.rows()) + " rows");
    risk = pipe.predict_proba(FeatureMatrix(view(X)));
    step.done();
  }

  Table result;
  // Identify rows: the group and time columns recorded at training time, when present.
  for (const std::string key : {"data.group_column", "data.time_column"}) {
    const std::string col = provenance_value(pipe, key);
    if (!col.empty() && table.has_column(col)) result.add_column(table.column(col));
  }
  std::vector<double> row_no(static_cast<std::size_t>(X.rows()));
  std::iota(row_no.begin(), row_no.end(), 1.0);
  if (result.cols() == 0) result.add_column(Column::numeric("row", row_no));
  std::vector<double> flag(static_cast<std::size_t>(X.rows()));
  Index n_flagged = 0;
  for (Index i = 0; i < X.rows(); ++i) {
    flag[static_cast<std::size_t>(i)] = risk[i] >= pipe.threshold() ? 1.0 : 0.0;
    n_flagged += risk[i] >= pipe.threshold();
  }
  result.add_column(
      Column::numeric("risk", std::vector<double>(risk.data(), risk.data() + risk.size())));
  result.add_column(Column::numeric("flag", flag));

  if (o.explain > 0) {
    auto step = progress.step(std::string("explaining (") +
                              (pipe.model().index() == 1 ? "TreeSHAP" : "coefficient x value") +
                              ", " + explain_scale_label(scale) + ")");
    add_explanations(pipe, X, o.explain, scale, features, result);
    step.done();
  }
  write_csv(result, file.stream());
  outputs.commit();
  out << "scored " << format_count(X.rows()) << " rows: " << format_count(n_flagged)
      << " flagged at threshold " << fixed(pipe.threshold()) << " ("
      << fixed(100.0 * static_cast<double>(n_flagged) /
                   std::max<double>(1.0, static_cast<double>(X.rows())),
               1)
      << "%); wrote " << o.out << "\n";
  return kExitOk;
}

int run_evaluate(const EvaluateOptions& o, const CommonOptions& c, Progress& progress,
                 std::ostream& out) {
  (void)c;
  check_input_file(o.data, "--data");
  check_distinct_paths({{"--model", o.model}, {"--data", o.data}},
                       {{"--report", o.report}, {"--json", o.json}});
  OutputSet outputs;
  OutputFile& html = outputs.add(o.report);
  OutputFile* json = o.json.empty() ? nullptr : &outputs.add(o.json);
  const Pipeline pipe = load_model(o.model, progress);
  if (pipe.n_classes() > 2) {
    return evaluate_multiclass(pipe, o, progress, out, outputs, html.stream(),
                               json ? &json->stream() : nullptr);
  }
  const std::vector<std::string> header = read_csv_header(o.data);
  std::string time_column = o.time_column;
  if (time_column.empty()) {
    const std::string recorded = provenance_value(pipe, "data.time_column");
    if (!recorded.empty() && contains(header, recorded)) time_column = recorded;
  } else if (!contains(header, time_column)) {
    throw InvalidInput("--time-column " + printable(time_column) + ": " +
                       quote_for_message(o.data) + " has no column " +
                       quote_for_message(time_column) + "; its columns are: " + join(header) + ".");
  }
  for (const auto& s : o.subgroups) {
    subgroup_spec_columns(s, header,
                          "--subgroup " + printable(s) + " (in " + quote_for_message(o.data) + ")");
  }
  CsvReadOptions ro = scoring_read_options(pipe, o.data, o.label, time_column);
  // A model trained on a label of two text values maps them as it did (data.positive_label).
  const std::string positive = provenance_value(pipe, "data.positive_label");
  const std::string negative = provenance_value(pipe, "data.negative_label");
  if (!positive.empty()) ro.categorical.push_back(o.label);
  Table table;
  {
    auto step = progress.step("reading " + printable(o.data));
    table = read_table(o.data, ro);
    step.done(format_count(table.rows()) + " rows");
  }
  const std::vector<std::string> features = schema_names(pipe);
  EvaluationData ev;
  ev.y = label_values(table, o.label, true, positive, negative);
  ev.X = table.to_matrix(features);
  warn_drift(pipe, ev.X, progress, table);
  {
    auto step = progress.step("scoring " + format_count(ev.X.rows()) + " rows");
    ev.p = pipe.predict_proba(FeatureMatrix(view(ev.X)));
    ev.p_model = model_probability(pipe, ev.X);
    step.done();
  }
  ev.title = std::string(pipe.model_type()) + " + " + pipe.calibrator_type() +
             " calibration: " + printable(std::filesystem::path(o.data).filename().string());
  ev.source = printable(o.data);
  ev.pipeline = &pipe;
  ev.features = features;
  std::vector<Index> all(static_cast<std::size_t>(table.rows()));
  std::iota(all.begin(), all.end(), Index{0});
  std::vector<std::string> sub = o.subgroups;
  for (const auto& f : features) {
    const Column& col = table.column(f);
    if (col.kind == ColumnKind::kCategorical && col.categories.size() <= 20 && !contains(sub, f)) {
      sub.push_back(f);
    }
  }
  for (const auto& s : sub) ev.subgroups.push_back(subgroup_data(table, s, all));
  if (!time_column.empty()) {
    const Column& t = table.column(time_column);
    ev.time = t.values;
    ev.time_is_days = t.time_encoding == TimeEncoding::kDays;
  }
  const std::string group = provenance_value(pipe, "data.group_column");
  if (!group.empty() && table.has_column(group)) ev.group = table.column(group).values;
  ev.seed = pipe.provenance().seed;
  const EvaluationSummary summary =
      write_reports(ev, &html.stream(), json ? &json->stream() : nullptr, progress);
  outputs.commit();

  const Figures before = compute_figures(ev.y, ev.p_model);
  const Figures after = compute_figures(ev.y, ev.p);
  Index tp = 0, fp = 0, pos = 0;
  for (Index i = 0; i < ev.p.size(); ++i) {
    const bool f = ev.p[i] >= pipe.threshold();
    const bool y = ev.y[static_cast<std::size_t>(i)] == 1.0;
    tp += f && y;
    fp += f && !y;
    pos += y;
  }
  out << "evaluated " << format_count(ev.X.rows()) << " rows: AUC " << fixed(after.auc) << ", AP "
      << fixed(after.average_precision) << ", log loss " << fixed(before.log_loss) << " -> "
      << fixed(after.log_loss) << ", Brier " << fixed(before.brier) << " -> " << fixed(after.brier)
      << ", ECE " << fixed(before.ece) << " -> " << fixed(after.ece)
      << " (before -> after calibration)\n";
  out << "threshold " << fixed(pipe.threshold()) << ": recall "
      << fixed(pos ? static_cast<double>(tp) / static_cast<double>(pos) : NAN, 3) << ", precision "
      << fixed(tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : NAN, 3)
      << ", alert rate "
      << fixed(static_cast<double>(tp + fp) / static_cast<double>(ev.p.size()), 3) << "\n";
  for (const auto& f : summary.flagged_subgroups) out << "flagged: " << f << "\n";
  out << "wrote " << o.report;
  if (!o.json.empty()) out << ", " << o.json;
  out << "\n";
  return kExitOk;
}

// Shared with `calibrisk monitor` (src/cli/monitor.cpp, declared in cli/monitor.hpp).
Pipeline load_model_file(const std::string& path, Progress& progress) {
  return load_model(path, progress);
}
CsvReadOptions model_read_options(const Pipeline& pipe, const std::string& path,
                                  const std::string& label) {
  return scoring_read_options(pipe, path, label, "");
}

}  // namespace calibrisk::cli
