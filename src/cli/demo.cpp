// SPDX-License-Identifier: Apache-2.0
// `calibrisk demo`: the synthetic readmission cohort through the whole flow with both models, and
// a comparison table (the README's first command).
#include "cli/commands.hpp"
#include "cli/data.hpp"
#include "cli/errors.hpp"
#include "cli/output_file.hpp"
#include "cli/reports.hpp"
#include "cli/train_flow.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/workflow/data.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace calibrisk::cli {
namespace {

struct ModelRun {
  std::string key;   // "lr", "gbdt"
  std::string name;  // "logistic regression"
  Figures before, after;
  double mae_before = 0.0, mae_after = 0.0;  // mean |p - true risk| on the test part
  OperatingPoint op_cal, op_test;
  std::vector<std::string> flagged;
  std::vector<std::string> site_flags;
  double seconds = 0.0;
  Index test_rows = 0;
};

std::string cell(double v, int digits = 3) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pair(double a, double b, int digits = 4) {
  return cell(a, digits) + " -> " + cell(b, digits);
}

// Creates the output directory; returns it with the paths of every file the demo writes checked
// to be distinct.
std::filesystem::path output_dir(const DemoOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec || !fs::is_directory(o.out)) {
    throw UsageError("--out " + quote_for_message(o.out) + ": cannot create the directory (" +
                     ec.message() + "); pass a writable directory.");
  }
  const fs::path dir(o.out);
  std::vector<PathArg> paths;
  for (const char* name :
       {"cohort.csv", "lr.model.json", "lr.report.html", "lr.report.json", "gbdt.model.json",
        "gbdt.report.html", "gbdt.report.json", "summary.json"}) {
    paths.push_back({std::string("--out ") + name, (dir / name).string()});
  }
  check_distinct_paths({}, paths);
  return dir;
}

// Generates the cohort and writes it to `cohort_file` (finished, so that it can be read back).
ReadmissionCohort generate_cohort(long long rows, std::uint64_t seed, OutputFile& cohort_file,
                                  Progress& progress) {
  auto step = progress.step("generating the readmission cohort (" + format_count(rows) + " rows)");
  ReadmissionCohortParams p;
  p.n_encounters = static_cast<Index>(rows);
  p.seed = seed;
  p.with_codes = true;  // the raw diagnosis codes, as a clinical extract has them
  ReadmissionCohort cohort = make_readmission_cohort(p);
  write_csv(cohort.to_table(), cohort_file.stream());
  cohort_file.finish();  // read back below from its temporary file
  step.done(format_count(cohort.n_patients()) + " patients");
  return cohort;
}

// The same reading as `calibrisk train --data cohort.csv --label readmitted
// --group-column patient_id --time-column encounter_date --drop encounter_id --drop true_risk
// --drop site --drop age_band --subgroup site --subgroup age_band
// --categorical primary_dx --categorical secondary_dx --categorical admission_source
// --categorical discharge_disposition --code-hierarchy primary_dx --code-hierarchy secondary_dx`:
// site and time
// are left out on purpose (what a model cannot learn), age_band is a reporting subgroup (age is a
// feature), and the raw codes are categorical features (discharge_disposition's integers become
// labels).
ColumnRoles demo_roles() {
  ColumnRoles roles;
  roles.categorical = {"primary_dx", "secondary_dx", "admission_source", "discharge_disposition"};
  // ICD-10-like codes back off along their dotted prefixes ("E11.65" -> "E11.6" -> "E11"): a rare
  // code is pooled into its parent, and the coding update's new codes score as their parent.
  for (const char* c : {"primary_dx", "secondary_dx"}) {
    roles.code_hierarchy.insert(parse_code_hierarchy(c));
  }
  roles.label = "readmitted";
  roles.group = "patient_id";
  roles.time = "encounter_date";
  roles.drop = {"encounter_id", "true_risk", "site", "age_band"};
  roles.subgroups = {"site", "age_band"};
  return roles;
}

// What one model's run shares with the others.
struct DemoContext {
  const DemoOptions& options;
  const CommonOptions& common;
  const Table& table;
  const ColumnRoles& roles;
  const std::vector<double>& true_risk;  // of the table's rows
  const std::filesystem::path& dir;
  std::string cohort_path;
};

// Figures of the run on the test part: before/after calibration, against the true risk, at the
// operating point, and the flagged subgroups of its report.
void record_figures(const TrainOutcome& r, const EvaluationSummary& es,
                    const std::vector<double>& true_risk, ModelRun& run) {
  run.before = compute_figures(r.test.y, r.test.p_model);
  run.after = compute_figures(r.test.y, r.test.p);
  const std::vector<double> truth = take(true_risk, r.test.rows);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    run.mae_before += std::abs(r.test.p_model[static_cast<Index>(i)] - truth[i]);
    run.mae_after += std::abs(r.test.p[static_cast<Index>(i)] - truth[i]);
  }
  run.mae_before /= static_cast<double>(truth.size());
  run.mae_after /= static_cast<double>(truth.size());
  run.op_cal = r.op_calibration;
  run.op_test = r.op_test;
  run.flagged = es.flagged_subgroups;
  for (const auto& f : es.flagged_subgroups) {
    if (f.rfind("site=", 0) == 0) run.site_flags.push_back(f.substr(5, f.find(':') - 5));
  }
  run.test_rows = static_cast<Index>(r.test.y.size());
}

// Trains, calibrates and evaluates model `key` ("lr" or "gbdt"); adds its model file and reports
// to `outputs`.
ModelRun run_model(const std::string& key, const DemoContext& ctx, OutputSet& outputs,
                   Progress& progress) {
  ModelRun run;
  run.key = key;
  run.name = key == "lr" ? "logistic regression" : "boosted trees";
  const auto start = std::chrono::steady_clock::now();
  progress.note("--- " + run.name + " ---");
  TrainConfig cfg;
  cfg.roles = ctx.roles;
  cfg.model = key;
  cfg.calibration = "beta";
  cfg.policy = parse_policy("min-recall=0.8");
  cfg.split = SplitFractions{};
  cfg.seed = ctx.options.seed;
  cfg.threads = ctx.common.threads;
  cfg.source = "cohort.csv";
  TrainOutcome r = train_on_table(ctx.table, cfg, progress);
  for (const auto& n : r.notes) progress.warn(n);
  const Pipeline& pipe = *r.pipeline;

  EvaluationData ev;
  ev.title = run.name + " + beta calibration: test part of the demo cohort";
  ev.source = ctx.cohort_path;
  ev.y = r.test.y;
  ev.p_model = r.test.p_model;
  ev.p = r.test.p;
  ev.pipeline = &pipe;
  ev.X = r.test.X;
  ev.features = r.features;
  for (const auto& s : ctx.roles.subgroups)
    ev.subgroups.emplace_back(s, column_labels(ctx.table, s, r.test.rows));
  ev.time = take(ctx.table.column("encounter_date").values, r.test.rows);
  ev.time_is_days = true;
  ev.group = take(ctx.table.column("patient_id").values, r.test.rows);
  ev.seed = ctx.options.seed;
  OutputFile& model_file = outputs.add((ctx.dir / (key + ".model.json")).string());
  OutputFile& html = outputs.add((ctx.dir / (key + ".report.html")).string());
  OutputFile& json = outputs.add((ctx.dir / (key + ".report.json")).string());
  const EvaluationSummary es = write_reports(ev, &html.stream(), &json.stream(), progress);
  model_file.stream() << to_string(pipe);

  record_figures(r, es, ctx.true_risk, run);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

// The run's entry of summary.json.
nlohmann::json run_summary(const ModelRun& run) {
  nlohmann::json j;
  j["test_rows"] = run.test_rows;
  for (const auto& [name, f] : {std::pair<const char*, const Figures*>{"before", &run.before},
                                std::pair<const char*, const Figures*>{"after", &run.after}}) {
    j[name] = {{"auc", f->auc},
               {"average_precision", f->average_precision},
               {"log_loss", f->log_loss},
               {"brier", f->brier},
               {"ece", f->ece}};
  }
  j["mae_true_risk"] = {{"before", run.mae_before}, {"after", run.mae_after}};
  j["threshold"] = run.op_cal.threshold;
  j["calibration_part"] = {{"recall", run.op_cal.recall},
                           {"precision", run.op_cal.precision},
                           {"alert_rate", run.op_cal.alert_rate}};
  j["test_part"] = {{"recall", run.op_test.recall},
                    {"precision", run.op_test.precision},
                    {"alert_rate", run.op_test.alert_rate}};
  j["flagged_subgroups"] = run.flagged;
  j["flagged_sites"] = run.site_flags;
  j["seconds"] = run.seconds;
  j["files"] = {{"model", run.key + ".model.json"},
                {"report_html", run.key + ".report.html"},
                {"report_json", run.key + ".report.json"}};
  return j;
}

// The comparison table of the two runs (stdout).
void print_comparison(std::ostream& out, Index table_rows, const ModelRun& a, const ModelRun& b) {
  char line[256];
  auto row = [&](const std::string& label, const std::string& x, const std::string& y) {
    std::snprintf(line, sizeof line, "%-44s %-22s %-22s\n", label.c_str(), x.c_str(), y.c_str());
    out << line;
  };
  out << "\ncalibrisk demo: " << format_count(table_rows) << " encounters; test part "
      << format_count(a.test_rows) << " rows (latest patients); beta calibration, threshold "
      << "chosen for recall >= 0.8 on the calibration part\n\n";
  row("", a.name, b.name);
  row("ROC AUC (test)", cell(a.after.auc), cell(b.after.auc));
  row("average precision (test)", cell(a.after.average_precision), cell(b.after.average_precision));
  row("log loss, before -> after calibration", pair(a.before.log_loss, a.after.log_loss),
      pair(b.before.log_loss, b.after.log_loss));
  row("Brier score, before -> after", pair(a.before.brier, a.after.brier),
      pair(b.before.brier, b.after.brier));
  row("ECE, before -> after", pair(a.before.ece, a.after.ece), pair(b.before.ece, b.after.ece));
  row("mean |risk - true risk|, before -> after", pair(a.mae_before, a.mae_after),
      pair(b.mae_before, b.mae_after));
  row("threshold", cell(a.op_cal.threshold, 4), cell(b.op_cal.threshold, 4));
  row("recall on calibration part (floor 0.8)", cell(a.op_cal.recall), cell(b.op_cal.recall));
  row("precision / recall at threshold (test)",
      cell(a.op_test.precision) + " / " + cell(a.op_test.recall),
      cell(b.op_test.precision) + " / " + cell(b.op_test.recall));
  row("alert rate (test)", cell(a.op_test.alert_rate), cell(b.op_test.alert_rate));
  auto sites = [](const ModelRun& r) {
    std::string s;
    for (const auto& x : r.site_flags) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("none") : s;
  };
  row("site flagged in the report", sites(a), sites(b));
  row("time (train + calibrate + report)", format_seconds(a.seconds), format_seconds(b.seconds));
}

}  // namespace

int run_demo(const DemoOptions& o, const CommonOptions& c, Progress& progress, std::ostream& out) {
  const auto t0 = std::chrono::steady_clock::now();
  const long long rows = o.rows > 0 ? o.rows : kDemoDefaultRows;
  const std::filesystem::path dir = output_dir(o);
  const std::string cohort_path = (dir / "cohort.csv").string();
  // Every file of the demo is committed together at the end (see OutputSet).
  OutputSet outputs;
  OutputFile& cohort_file = outputs.add(cohort_path);
  const ReadmissionCohort cohort = generate_cohort(rows, o.seed, cohort_file, progress);

  const ColumnRoles roles = demo_roles();
  Table table;
  {
    auto step = progress.step("reading " + cohort_path);
    const std::string& written = cohort_file.temp_path();
    table = read_table(written, training_read_options(roles, read_csv_header(written)));
    step.done();
  }
  // The CSV rows are the cohort's rows in order, so the generator's true risk lines up with them.
  const std::vector<double>& true_risk = cohort.true_risk;
  if (static_cast<Index>(true_risk.size()) != table.rows()) {
    throw Error("internal error: the cohort has " + std::to_string(true_risk.size()) +
                " rows but cohort.csv read back " + std::to_string(table.rows()) + ".");
  }

  const DemoContext ctx{o, c, table, roles, true_risk, dir, cohort_path};
  std::vector<ModelRun> runs;
  nlohmann::json summary;
  summary["rows"] = table.rows();
  summary["cohort"] = cohort_path;
  summary["policy"] = "min-recall=0.8";
  summary["calibration"] = "beta";
  for (const std::string key : {"lr", "gbdt"}) {
    runs.push_back(run_model(key, ctx, outputs, progress));
    summary["models"][key] = run_summary(runs.back());
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary["seconds"] = total;
  outputs.add((dir / "summary.json").string()).stream() << summary.dump(2) << "\n";
  outputs.commit();

  print_comparison(out, table.rows(), runs[0], runs[1]);
  out << "\nwrote " << (dir / "cohort.csv").string() << ", {lr,gbdt}.model.json, "
      << "{lr,gbdt}.report.html, {lr,gbdt}.report.json and summary.json in " << dir.string() << " ("
      << format_seconds(total) << " in all)\n";
  return kExitOk;
}

}  // namespace calibrisk::cli
