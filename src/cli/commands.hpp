// SPDX-License-Identifier: Apache-2.0
// The subcommands of the calibrisk tool as plain functions over option structs, so that main.cpp
// only wires CLI11 and the tests can call the commands directly.
#pragma once

#include "cli/progress.hpp"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// Options every command shares.
struct CommonOptions {
  bool quiet = false;  ///< no progress lines on stderr
  int threads = 0;     ///< worker threads for training and scoring; 0 = all cores
};

/// `calibrisk generate`
struct GenerateOptions {
  long long rows = 20000;  ///< approximate number of encounter rows
  std::uint64_t seed = 0;
  std::string out;
  bool with_codes = false;  ///< add the diagnosis-code columns (ReadmissionCohortParams)
  std::string dataset = "readmission";  ///< readmission | claims
};

/// `calibrisk train`
struct TrainOptions {
  std::string data;
  std::string label;
  std::string group_column;
  std::string time_column;
  std::string model = "auto";        ///< auto | lr | gbdt
  std::string calibration = "beta";  ///< platt | isotonic | beta | none
  std::string policy = "min-recall=0.8";
  /// auto | binary | multiclass (docs/cli.md "Multiclass labels").
  std::string task = "auto";
  bool calibration_given = false;   ///< --calibration was on the command line
  bool policy_given = false;        ///< --policy was on the command line
  std::vector<std::string> params;  ///< key=value, the model's Params field names
  std::vector<std::string> categorical;
  std::string positive;  ///< --positive: the event of a label of two text values
  /// --text-columns: categorical (a feature of text is read as categorical) | error.
  std::string text_columns = "categorical";
  /// --code-hierarchy COLUMN[:LENGTHS] (repeatable) and --hierarchy-min-count.
  std::vector<std::string> code_hierarchy;
  long long hierarchy_min_count = 10;
  std::vector<std::string> drop;
  std::vector<std::string> subgroups;  ///< extra report subgroups (besides categorical features)
  std::string split = "train=0.6,calibration=0.2,test=0.2";
  std::string split_rule = "entry";           ///< entry | calendar
  std::string cut;                            ///< calendar: "2023-01-01,2023-07-01"
  std::string cut_fractions;                  ///< calendar: "0.6,0.8" of the time range
  std::string calendar_patients = "exclude";  ///< exclude | later-only
  std::string out;
  std::string report;      ///< HTML report of the test part ("" = none)
  std::string json;        ///< JSON report of the test part ("" = none)
  std::uint64_t seed = 0;  ///< random_state of the model and the bootstrap
};

/// `calibrisk validate` (src/cli/validate.cpp): rolling-origin validation. `fit` holds the
/// options it shares with `train` (data, columns, model, calibration, policy, params, seed).
struct ValidateOptions {
  TrainOptions fit;
  std::string period = "quarter";  ///< month | quarter | year | bins
  int n_bins = 8;                  ///< periods when period == bins
  int min_train_periods = 2;       ///< origins start after this many periods (>= 2)
  std::string json;                ///< per-period table as JSON ("" = none)
  std::string report;              ///< per-period table as an HTML page ("" = none)
};

/// `calibrisk predict`
struct PredictOptions {
  std::string model;
  std::string data;
  std::string out;
  int explain = 0;                           ///< top-K contributing features per row (0 = none)
  std::string explain_scale = "calibrated";  ///< "calibrated" or "margin" log-odds
};

/// `calibrisk evaluate`
struct EvaluateOptions {
  std::string model;
  std::string data;
  std::string label;
  std::vector<std::string> subgroups;
  std::string time_column;  ///< "" = the one recorded at training time, if the file has it
  std::string report;
  std::string json;
};

/// `calibrisk demo`
struct DemoOptions {
  std::string out = "calibrisk-demo";
  long long rows = 0;  ///< 0 = the default demo size
  std::uint64_t seed = 0;
};

/// `calibrisk keygen`, `sign`, `verify` (src/cli/sign.cpp).
struct KeygenOptions {
  std::string out;  ///< secret key file; the public key goes to out + ".pub"
};
struct SignOptions {
  std::string key;    ///< secret key (sign) or public key (verify) file
  std::string model;  ///< model file
  std::string out;    ///< sign: output model file ("" = replace --model)
};

/// Each command returns the process exit code (0) or throws; main maps exceptions to exit codes.
/// `out` receives the human-readable result summary (stdout), progress goes through `progress`.
int run_generate(const GenerateOptions& o, const CommonOptions& c, Progress& progress,
                 std::ostream& out);
int run_train(const TrainOptions& o, const CommonOptions& c, Progress& progress, std::ostream& out);
int run_validate(const ValidateOptions& o, const CommonOptions& c, Progress& progress,
                 std::ostream& out);
int run_predict(const PredictOptions& o, const CommonOptions& c, Progress& progress,
                std::ostream& out);
int run_evaluate(const EvaluateOptions& o, const CommonOptions& c, Progress& progress,
                 std::ostream& out);
int run_demo(const DemoOptions& o, const CommonOptions& c, Progress& progress, std::ostream& out);
int run_keygen(const KeygenOptions& o, std::ostream& out);
int run_sign(const SignOptions& o, std::ostream& out);
int run_verify(const SignOptions& o, std::ostream& out);

/// The default number of encounter rows of `calibrisk demo` (sized to finish in about a minute on
/// a 2-core machine).
inline constexpr long long kDemoDefaultRows = 200000;

}  // namespace calibrisk::cli
