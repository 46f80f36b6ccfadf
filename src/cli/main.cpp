// SPDX-License-Identifier: Apache-2.0
// Entry point of the calibrisk command-line tool: CLI11 wiring, help text and exit codes.
#include "cli/card.hpp"
#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "cli/monitor.hpp"
#include "cli/options.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"

#include <calibrisk/version.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <utility>
#include <vector>

namespace {

// --calibration: scikit-learn's "sigmoid" (CalibratedClassifierCV's name, also Python's) is the
// spelling; "platt" is the old one, accepted with a warning. Both give the Platt calibrator, kept
// internally (and in provenance and the model file, whose spellings never change) as "platt".
CLI::Validator calibration_method() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        if (s == "sigmoid") {
          s = "platt";
        } else if (s == "platt") {
          std::cerr << "calibrisk: warning: --calibration platt is a deprecated spelling; use "
                       "--calibration sigmoid (the same calibrator, scikit-learn's name).\n";
        } else if (s != "isotonic" && s != "beta" && s != "none" && s != "temperature" &&
                   s != "ovr-sigmoid" && s != "ovr-isotonic" && s != "dirichlet") {
          return "must be sigmoid, isotonic, beta or none (binary labels) or temperature, "
                 "ovr-sigmoid, ovr-isotonic, dirichlet or none (multiclass labels), got '" +
                 s.substr(0, 40) + "'";
        }
        return std::string();
      },
      "sigmoid|isotonic|beta|none|temperature|ovr-sigmoid|ovr-isotonic|dirichlet");
}

}  // namespace

namespace {

const char* kExitCodes =
    "Exit codes:\n"
    "  0  success\n"
    "  1  internal error (a bug or an unexpected system failure; please report it)\n"
    "  2  usage error (unknown flag, bad flag value, unknown --param key, unwritable output path,\n"
    "     an output path that is an input or another output of the same command)\n"
    "  3  data error (unreadable CSV, not UTF-8, ragged rows, text in a numeric column, missing\n"
    "     label column, labels not 0/1, only one class, too few rows or patients for the split)\n"
    "  4  model file error (missing, truncated, edited or newer-version model file)\n"
    "  5  monitor: a check alarmed (or warned, with --fail-on warn); see docs/monitoring.md\n"
    "Output files are written to temporary files and all renamed together on success: a failed\n"
    "or interrupted command never leaves a partial output and never replaces some outputs but\n"
    "not others. Progress lines go to stderr (silence with --quiet).\n"
    "Documentation: docs/cli.md";

// Integer flags are checked on their text, in full, before CLI11 converts them: "-1" for an
// unsigned seed or "2^70" must not wrap or saturate.
CLI::Validator whole_number(long long lo, long long hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) {
        try {
          calibrisk::cli::parse_integer(text, "the value", lo, hi);
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
        return std::string();
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

CLI::Validator seed_number() {
  return CLI::Validator(
      [](std::string& text) {
        try {
          calibrisk::cli::parse_unsigned(text, "the seed");
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
        return std::string();
      },
      "UINT64");
}

CLI::App* add_generate(CLI::App& app, calibrisk::cli::GenerateOptions& gen) {
  auto* g = app.add_subcommand(
      "generate", "Write a synthetic data set (readmission cohort or claims table) to a CSV file");
  g->add_option("--dataset", gen.dataset,
                "readmission (encounters with a known 30-day readmission risk) or claims (claims "
                "with a denial reason and the known class probabilities); see docs/datasets.md")
      ->check(CLI::IsMember({"readmission", "claims"}))
      ->capture_default_str();
  g->add_option("--rows", gen.rows, "Number of rows (encounters or claims)")
      ->check(whole_number(10LL, 100000000LL))
      ->capture_default_str();
  g->add_option("--seed", gen.seed, "Random seed")->check(seed_number())->capture_default_str();
  g->add_option("--out", gen.out, "Output CSV file")->required();
  g->add_flag("--with-codes", gen.with_codes,
              "Add diagnosis-code columns (primary_dx, secondary_dx, admission_source: text "
              "labels) whose effect enters the risk (--dataset readmission only); see "
              "docs/datasets.md");
  return g;
}

// The options `train` and `validate` share: data, columns, model, calibration, policy, seed.
void add_fit_options(CLI::App* t, calibrisk::cli::TrainOptions& tr) {
  t->add_option("--data", tr.data, "Training CSV (header line of column names)")->required();
  t->add_option("--label", tr.label, "Label column (0/1; more than two values: multiclass)")
      ->required();
  t->add_option("--group-column", tr.group_column,
                "Patient (group) id column: no patient lands in two parts");
  t->add_option("--time-column", tr.time_column,
                "Time column (ISO 8601 dates/date-times or numbers) ordering the split");
  t->add_option(
       "--model", tr.model,
       "Model: auto (lr or gbdt, whichever has the lower held-out log loss on the "
       "training part; docs/defaults.md), lr (logistic regression) or gbdt (boosted trees)")
      ->check(CLI::IsMember({"auto", "lr", "gbdt"}))
      ->capture_default_str();
  t->add_option("--calibration", tr.calibration,
                "Calibrator fitted on the calibration part (unset with --model auto: chosen "
                "there by cross-fitted log loss; multiclass labels: temperature by default)")
      ->transform(calibration_method())
      ->each([&tr](const std::string&) { tr.calibration_given = true; })
      ->capture_default_str();
  t->add_option("--policy", tr.policy,
                "Threshold policy: min-recall=R | min-precision=P | max-alert-rate=A | "
                "cost-fp=C,cost-fn=C | max-f=BETA; multiclass labels: min-accuracy=A and/or "
                "max-review-rate=R (default min-accuracy=0.95)")
      ->each([&tr](const std::string&) { tr.policy_given = true; })
      ->capture_default_str();
  t->add_option("--task", tr.task,
                "auto (multiclass when the label has more than two values), binary or "
                "multiclass")
      ->check(CLI::IsMember({"auto", "binary", "multiclass"}))
      ->capture_default_str();
  t->add_option("--param", tr.params,
                "Model parameter key=value (Params field names, e.g. n_estimators=300, C=0.5); "
                "repeatable");
  t->add_option("--categorical", tr.categorical,
                "Column of labels to encode as integer codes (stored in the model); repeatable");
  t->add_option("--positive", tr.positive,
                "The event (coded 1) of a label of two text values, e.g. --positive readmitted; "
                "not needed for yes/no, y/n, true/false or t/f labels");
  t->add_option("--text-columns", tr.text_columns,
                "A feature column holding text (no numbers) is read as categorical "
                "(categorical, noted in the output and the model's provenance) or is an error "
                "until declared with --categorical or --drop (error); a column mixing numbers "
                "and text is an error either way")
      ->check(CLI::IsMember({"categorical", "error"}))
      ->capture_default_str();
  t->add_option("--code-hierarchy", tr.code_hierarchy,
                "Categorical column of prefix-hierarchical codes, COLUMN (dotted: 250.01 -> "
                "250.0 -> 250) or COLUMN:LENGTHS (prefix lengths, e.g. dx1:3,4): rare codes are "
                "pooled into an ancestor, unseen codes scored as their nearest ancestor; "
                "repeatable (docs/categorical.md)");
  t->add_option("--hierarchy-min-count", tr.hierarchy_min_count,
                "Fewest training rows of a code of a --code-hierarchy column; rarer codes are "
                "pooled into an ancestor")
      ->check(CLI::Range(1LL, 1000000000LL))
      ->capture_default_str();
  t->add_option("--drop", tr.drop, "Column not to use as a feature; repeatable");
  t->add_option("--seed", tr.seed, "Seed of the model and the bootstrap intervals")
      ->check(seed_number())
      ->capture_default_str();
  t->add_option("--calendar-patients", tr.calendar_patients,
                "Calendar split: a patient with rows in two parts stays only in the first "
                "(exclude) or keeps only their later rows in the later part (later-only)")
      ->check(CLI::IsMember({"exclude", "later-only"}))
      ->capture_default_str();
}

CLI::App* add_train(CLI::App& app, calibrisk::cli::TrainOptions& tr) {
  auto* t = app.add_subcommand(
      "train",
      "Split a CSV in time order and by patient into train / calibration / test, fit the model "
      "on train, the calibrator and threshold on calibration, evaluate on test, and save the "
      "pipeline");
  add_fit_options(t, tr);
  t->add_option(
      "--subgroup", tr.subgroups,
      "Extra column to report per subgroup, or COL1*COL2 for their intersection; repeatable");
  t->add_option("--split", tr.split, "Fractions of rows per part (each > 0, summing to 1)")
      ->capture_default_str();
  t->add_option("--split-rule", tr.split_rule,
                "entry: patients in order of entry by --split fractions; calendar: rows by "
                "date, train before the first --cut, calibration between, test from the second")
      ->check(CLI::IsMember({"entry", "calendar"}))
      ->capture_default_str();
  t->add_option("--cut", tr.cut,
                "Calendar split cuts: two dates (YYYY-MM-DD) or numbers of the time column, "
                "e.g. 2023-01-01,2023-07-01");
  t->add_option("--cut-fractions", tr.cut_fractions,
                "Calendar split cuts as fractions of the time range, e.g. 0.6,0.8");
  t->add_option("--out", tr.out, "Model file to write (JSON)")->required();
  t->add_option("--report", tr.report, "HTML evaluation report of the test part");
  t->add_option("--json", tr.json, "JSON evaluation report of the test part");
  return t;
}

CLI::App* add_validate(CLI::App& app, calibrisk::cli::ValidateOptions& va) {
  auto* v = app.add_subcommand(
      "validate",
      "Rolling-origin validation: for each period t, fit on the periods before t, calibrate and "
      "choose the threshold on t, test on t+1; print AUC, calibration and alert rate per period");
  add_fit_options(v, va.fit);
  v->add_option("--period", va.period, "Periods: month, quarter, year or bins (equal counts)")
      ->check(CLI::IsMember({"month", "quarter", "year", "bins"}))
      ->capture_default_str();
  v->add_option("--n-bins", va.n_bins, "Number of periods when --period bins")
      ->check(whole_number(3, 1000))
      ->capture_default_str();
  v->add_option("--min-train-periods", va.min_train_periods,
                "Periods before the first test period (the last of them calibrates)")
      ->check(whole_number(2, 1000))
      ->capture_default_str();
  v->add_option("--json", va.json, "Per-period table as JSON");
  v->add_option("--report", va.report, "Per-period table and chart as an HTML page");
  return v;
}

CLI::App* add_predict(CLI::App& app, calibrisk::cli::PredictOptions& pr) {
  auto* p = app.add_subcommand("predict", "Score a CSV with a saved model: risk and flag per row");
  p->add_option("--model", pr.model, "Model file written by `calibrisk train`")->required();
  p->add_option("--data", pr.data, "CSV with the model's feature columns")->required();
  p->add_option("--out", pr.out, "Output CSV of scores")->required();
  p->add_option("--explain", pr.explain,
                "Also write the K features contributing most to each row's risk, in calibrated "
                "log-odds (TreeSHAP for trees, coefficient x (value - training mean) for "
                "logistic regression; docs/cli.md)")
      ->check(whole_number(0, 1000));
  p->add_option("--explain-scale", pr.explain_scale,
                "Scale of --explain: calibrated (log-odds of the risk) or margin (the model's "
                "log-odds before calibration)")
      ->check(CLI::IsMember({"calibrated", "margin"}))
      ->capture_default_str();
  return p;
}

CLI::App* add_evaluate(CLI::App& app, calibrisk::cli::EvaluateOptions& ev) {
  auto* e = app.add_subcommand("evaluate", "Evaluate a saved model on a labelled CSV");
  e->add_option("--model", ev.model, "Model file written by `calibrisk train`")->required();
  e->add_option("--data", ev.data, "Labelled CSV")->required();
  e->add_option("--label", ev.label, "Label column (values 0/1)")->required();
  e->add_option("--subgroup", ev.subgroups,
                "Column to report per subgroup, or COL1*COL2 for their intersection; repeatable");
  e->add_option("--time-column", ev.time_column, "Time column for the over-time section");
  e->add_option("--report", ev.report, "HTML report to write")->required();
  e->add_option("--json", ev.json, "JSON report to write");
  return e;
}

CLI::App* add_demo(CLI::App& app, calibrisk::cli::DemoOptions& de) {
  auto* d = app.add_subcommand(
      "demo",
      "Generate the readmission cohort, train logistic regression and boosted trees, calibrate, "
      "pick the threshold under a recall floor of 0.8, evaluate, and compare");
  d->add_option("--out", de.out, "Directory for the cohort, models and reports")
      ->capture_default_str();
  d->add_option("--rows", de.rows,
                "Encounter rows of the cohort (default " +
                    std::to_string(calibrisk::cli::kDemoDefaultRows) + ")")
      ->check(whole_number(1000LL, 10000000LL));
  d->add_option("--seed", de.seed, "Random seed")->check(seed_number())->capture_default_str();
  return d;
}

// keygen, sign, verify (src/cli/sign.cpp)
CLI::App* add_keygen(CLI::App& app, calibrisk::cli::KeygenOptions& kg) {
  auto* k = app.add_subcommand("keygen", "Write a new Ed25519 key pair for signing model files");
  k->add_option("--out", kg.out, "Secret key file to create (0600); public key: OUT.pub")
      ->required();
  return k;
}

CLI::App* add_sign(CLI::App& app, calibrisk::cli::SignOptions& sg) {
  auto* s = app.add_subcommand("sign", "Sign a model file (Ed25519) with a secret key");
  s->add_option("--key", sg.key, "Secret key file from `calibrisk keygen`")->required();
  s->add_option("--model", sg.model, "Model file to sign")->required();
  s->add_option("--out", sg.out, "Signed model file to write (default: replace --model)");
  return s;
}

CLI::App* add_verify(CLI::App& app, calibrisk::cli::SignOptions& vf) {
  auto* v = app.add_subcommand("verify", "Check a model file's signature with a public key");
  v->add_option("--key", vf.key, "Public key file (KEY.pub from `calibrisk keygen`)")->required();
  v->add_option("--model", vf.model, "Model file to check")->required();
  return v;
}

CLI::App* add_monitor(CLI::App& app, calibrisk::cli::MonitorCliOptions& mo) {
  auto* m = app.add_subcommand("monitor",
                               "Check a batch against a saved model: feature drift "
                               "(PSI), score and alert-rate shift, calibration");
  m->add_option("--model", mo.model, "Model file written by `calibrisk train`")->required();
  m->add_option("--data", mo.data, "CSV batch with the model's feature columns")->required();
  m->add_option("--label", mo.label, "Outcome column (0/1): also check calibration and recall");
  m->add_option("--json", mo.json, "JSON result to write");
  m->add_option("--report", mo.report, "HTML page to write");
  m->add_option("--fail-on", mo.fail_on, "Exit 5 on \"alarm\" (default) or also on \"warn\"")
      ->check(CLI::IsMember({"alarm", "warn"}));
  return m;
}

CLI::App* add_card(CLI::App& app, calibrisk::cli::CardOptions& cd) {  // src/cli/card.cpp
  auto* c = app.add_subcommand("card", "Write a model card (HTML or Markdown) for a saved model");
  c->add_option("--model", cd.model, "Model file written by `calibrisk train`")->required();
  c->add_option("--report", cd.report, "Evaluation report JSON (train/evaluate --json)");
  c->add_option("--spec", cd.spec, "Card spec JSON: intended use, population, owners, ...");
  c->add_option("--validation", cd.validation, "Rolling-origin validation JSON (validate)");
  c->add_option("--out", cd.out, "Card to write: .html or .md")->required();
  return c;
}

// Every subcommand's options, filled by CLI11, and the function that runs it once parsed.
struct Commands {
  calibrisk::cli::CommonOptions common;
  calibrisk::cli::GenerateOptions gen;
  calibrisk::cli::TrainOptions tr;
  calibrisk::cli::ValidateOptions va;
  calibrisk::cli::PredictOptions pr;
  calibrisk::cli::EvaluateOptions ev;
  calibrisk::cli::DemoOptions de;
  calibrisk::cli::KeygenOptions kg;
  calibrisk::cli::SignOptions sg, vf;
  calibrisk::cli::MonitorCliOptions mo;
  calibrisk::cli::CardOptions cd;
  std::vector<std::pair<CLI::App*, std::function<int(calibrisk::cli::Progress&)>>> runs;

  void add_to(CLI::App& app) {
    using namespace calibrisk::cli;
    app.add_flag("-q,--quiet", common.quiet, "No progress lines on stderr");
    app.add_option("--threads", common.threads, "Worker threads (0 = all cores)")
        ->check(whole_number(0, 1024));
    auto& out = std::cout;
    runs.emplace_back(add_generate(app, gen),
                      [this, &out](Progress& pg) { return run_generate(gen, common, pg, out); });
    runs.emplace_back(add_train(app, tr),
                      [this, &out](Progress& pg) { return run_train(tr, common, pg, out); });
    runs.emplace_back(add_validate(app, va),
                      [this, &out](Progress& pg) { return run_validate(va, common, pg, out); });
    runs.emplace_back(add_predict(app, pr),
                      [this, &out](Progress& pg) { return run_predict(pr, common, pg, out); });
    runs.emplace_back(add_evaluate(app, ev),
                      [this, &out](Progress& pg) { return run_evaluate(ev, common, pg, out); });
    runs.emplace_back(add_demo(app, de),
                      [this, &out](Progress& pg) { return run_demo(de, common, pg, out); });
    runs.emplace_back(add_keygen(app, kg), [this, &out](Progress&) { return run_keygen(kg, out); });
    runs.emplace_back(add_sign(app, sg), [this, &out](Progress&) { return run_sign(sg, out); });
    runs.emplace_back(add_verify(app, vf), [this, &out](Progress&) { return run_verify(vf, out); });
    runs.emplace_back(add_monitor(app, mo),
                      [this, &out](Progress& pg) { return run_monitor(mo, common, pg, out); });
    runs.emplace_back(add_card(app, cd), [this, &out](Progress&) { return run_card(cd, out); });
  }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace calibrisk::cli;
  install_signal_cleanup();  // SIGINT/SIGTERM remove the temporary output files
  CLI::App app{"calibrisk " + std::string(calibrisk::kVersion) +
                   ": calibrated binary risk models from CSV files (train, calibrate, choose a "
                   "threshold, evaluate, score).",
               "calibrisk"};
  app.fallthrough();  // --quiet / --threads may follow the subcommand
  app.require_subcommand(1);
  app.footer(kExitCodes);
  app.set_version_flag("--version", std::string("calibrisk ") + calibrisk::library_version());
  Commands cmds;
  cmds.add_to(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& s) {
    return app.exit(s);  // --help, --version
  } catch (const CLI::ParseError& err) {
    std::cerr << "calibrisk: usage error: " << err.what() << "\n"
              << "Run `calibrisk --help` (or `calibrisk <command> --help`) for the flags.\n";
    return kExitUsage;
  }

  Progress progress(cmds.common.quiet);
  try {
    for (auto& [sub, run] : cmds.runs) {
      if (sub->parsed()) return run(progress);
    }
  } catch (const std::exception& ex) {
    const Classified c = classify(ex);
    std::cerr << "calibrisk: " << c.kind << ": " << ex.what() << "\n";
    if (c.code == kExitUsage) std::cerr << "Run `calibrisk <command> --help` for the flags.\n";
    return c.code;
  }
  return kExitInternal;
}
