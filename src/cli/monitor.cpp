// SPDX-License-Identifier: Apache-2.0
// `calibrisk monitor --model M --data BATCH [--label Y] [--json J] [--report R] [--fail-on L]`.
#include "cli/monitor.hpp"

#include "cli/data.hpp"
#include "cli/errors.hpp"
#include "cli/multiclass.hpp"
#include "cli/output_file.hpp"

#include <calibrisk/io/text.hpp>
#include <calibrisk/monitor/monitor.hpp>
#include <calibrisk/workflow/data.hpp>

namespace calibrisk::cli {

int run_monitor(const MonitorCliOptions& o, const CommonOptions& c, Progress& progress,
                std::ostream& out) {
  (void)c;
  if (o.fail_on != "alarm" && o.fail_on != "warn") {
    throw UsageError("--fail-on must be \"alarm\" or \"warn\", got " + printable(o.fail_on) + ".");
  }
  check_input_file(o.data, "--data");
  check_distinct_paths({{"--model", o.model}, {"--data", o.data}},
                       {{"--json", o.json}, {"--report", o.report}});
  OutputSet outputs;
  OutputFile* json = o.json.empty() ? nullptr : &outputs.add(o.json);
  OutputFile* html = o.report.empty() ? nullptr : &outputs.add(o.report);
  const Pipeline pipe = load_model_file(o.model, progress);
  // Unseen labels are read as unseen category codes (not by the scoring policy, which would make
  // them missing or their ancestor) so the drift check counts them; they score as missing.
  CsvReadOptions ro = model_read_options(pipe, o.data, o.label);
  ro.mark_unseen_labels = true;
  const bool k_class = pipe.n_classes() > 2;
  if (k_class && !o.label.empty()) ro.categorical.push_back(o.label);  // class labels as text
  // A binary model trained on two text labels maps them as it did (data.positive_label).
  const std::string positive = provenance_value(pipe, "data.positive_label");
  const std::string negative = provenance_value(pipe, "data.negative_label");
  if (!k_class && !o.label.empty() && !positive.empty()) ro.categorical.push_back(o.label);
  Table table;
  {
    auto step = progress.step("reading " + printable(o.data));
    table = read_table(o.data, ro);
    step.done(format_count(table.rows()) + " rows");
  }
  std::vector<std::string> features;
  for (const auto& f : pipe.schema().features) features.push_back(f.name);
  const RowMatrixXd X = table.to_matrix(features);
  const std::vector<double> y = o.label.empty() ? std::vector<double>{}
                                : k_class       ? class_indices(table, o.label, pipe)
                                          : label_values(table, o.label, false, positive, negative);
  MonitorResult r;
  {
    auto step = progress.step("checking " + format_count(X.rows()) + " rows");
    r = monitor(pipe, FeatureMatrix(view(X)), VectorView<const double>(y));
    step.done(monitor_status_name(r.status));
  }
  if (json != nullptr) json->stream() << r.to_json();
  if (html != nullptr) html->stream() << r.to_html("calibrisk monitoring: " + o.data);
  outputs.commit();
  out << r.summary();
  const MonitorStatus fail = o.fail_on == "warn" ? MonitorStatus::kWarn : MonitorStatus::kAlarm;
  return r.status >= fail ? kExitAlarm : kExitOk;
}

}  // namespace calibrisk::cli
