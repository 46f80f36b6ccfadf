// SPDX-License-Identifier: Apache-2.0
// `calibrisk monitor`: the monitoring checks of a batch CSV against a saved model
// (calibrisk/monitor/monitor.hpp), as a summary on stdout, JSON and HTML, and an exit code.
#pragma once

#include "cli/commands.hpp"

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/table.hpp>

#include <ostream>
#include <string>

namespace calibrisk::cli {

/// Exit code of `calibrisk monitor` when a check alarms (or warns, with --fail-on warn); distinct
/// from the error codes 1-4 so cron and CI can tell "the model drifted" from "the job failed".
inline constexpr int kExitAlarm = 5;

/// `calibrisk monitor`
struct MonitorCliOptions {
  std::string model;
  std::string data;
  std::string label;              ///< "" = no labels (input and score checks only)
  std::string json;               ///< JSON result ("" = none)
  std::string report;             ///< HTML page ("" = none)
  std::string fail_on = "alarm";  ///< "alarm" or "warn": the status that exits with kExitAlarm
};

/// Runs the checks; returns 0 or kExitAlarm, throws like the other commands (a batch without
/// every model feature is a data error, exit 3, naming the missing columns).
int run_monitor(const MonitorCliOptions& o, const CommonOptions& c, Progress& progress,
                std::ostream& out);

// From src/cli/commands.cpp: the model loading and read options of the scoring commands.
Pipeline load_model_file(const std::string& path, Progress& progress);
CsvReadOptions model_read_options(const Pipeline& pipe, const std::string& path,
                                  const std::string& label);

}  // namespace calibrisk::cli
