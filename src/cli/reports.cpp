// SPDX-License-Identifier: Apache-2.0
// The command line's bridge to the report module (see reports.hpp).
#include "cli/reports.hpp"

#include "cli/data.hpp"
#include "cli/options.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/report/report.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <ostream>

namespace calibrisk::cli {
namespace {

/// Rows explained for the report's importances at most: TreeSHAP costs O(trees * leaves * depth^2)
/// per row, so a large evaluated file is sampled (evenly spaced rows, deterministic).
constexpr Index kMaxImportanceRows = 5000;

/// Importances shown in the report: the mean |contribution| of each feature to the calibrated
/// log-odds over the evaluated rows (Pipeline::mean_abs_contributions: TreeSHAP for trees,
/// coefficient x (value - training mean) for logistic regression, on the risk's scale).
std::vector<FeatureImportance> importances(const EvaluationData& d, std::string& kind) {
  const Pipeline& pipe = *d.pipeline;
  const Index n = d.X.rows();
  kind = "mean |contribution| (calibrated log-odds)";
  std::vector<double> imp;
  if (n <= kMaxImportanceRows) {
    imp = pipe.mean_abs_contributions(FeatureMatrix(view(d.X)));
  } else {
    RowMatrixXd sample(kMaxImportanceRows, d.X.cols());
    for (Index r = 0; r < kMaxImportanceRows; ++r)
      sample.row(r) = d.X.row(r * n / kMaxImportanceRows);
    imp = pipe.mean_abs_contributions(FeatureMatrix(view(sample)));
    kind +=
        ", " + format_count(kMaxImportanceRows) + " evenly spaced of " + format_count(n) + " rows";
  }
  std::vector<FeatureImportance> out;
  for (std::size_t j = 0; j < imp.size() && j < d.features.size(); ++j) {
    out.push_back({d.features[j], imp[j]});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> provenance_rows(const EvaluationData& d) {
  const Pipeline& pipe = *d.pipeline;
  const Provenance& pv = pipe.provenance();
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("evaluated file", d.source);
  rows.emplace_back("model", pipe.model_type());
  rows.emplace_back("calibrator", pipe.calibrator_type());
  rows.emplace_back("threshold", format_double(pipe.threshold()));
  rows.emplace_back("threshold policy", pipe.operating_point().policy);
  rows.emplace_back("library version (trained with)", pv.library_version);
  rows.emplace_back("seed", std::to_string(pv.seed));
  rows.emplace_back("training data rows", std::to_string(pv.training_data.rows));
  rows.emplace_back("training data columns", std::to_string(pv.training_data.cols));
  rows.emplace_back("training data prevalence", format_double(pv.training_data.prevalence));
  rows.emplace_back("training data SHA-256", pv.training_data.sha256);
  for (const auto& kv : pv.parameters) {
    if (kv.first.rfind("data.categories.", 0) == 0) continue;  // long label lists
    rows.push_back(kv);
  }
  return rows;
}

// A column of per-row labels as a SubgroupColumn: codes index the sorted distinct labels, "" is
// missing (NaN). `codes` receives the codes; the result views it.
SubgroupColumn encode_labels(const std::string& name, const std::vector<std::string>& labels,
                             std::vector<double>& codes) {
  std::vector<std::string> levels;
  for (const auto& l : labels) {
    if (!l.empty()) levels.push_back(l);
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  std::map<std::string, double> code;
  for (std::size_t k = 0; k < levels.size(); ++k) code[levels[k]] = static_cast<double>(k);
  codes.resize(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    codes[i] = labels[i].empty() ? std::nan("") : code[labels[i]];
  }
  SubgroupColumn col;
  col.name = name;
  col.codes = VectorView<const double>(codes);
  col.labels = std::move(levels);
  return col;
}

}  // namespace

SubgroupData subgroup_data(const Table& table, const std::string& spec,
                           const std::vector<Index>& rows) {
  const std::vector<std::string> columns =
      subgroup_spec_columns(spec, table.names(), "--subgroup " + printable(spec));
  if (columns.size() == 1)
    return SubgroupData(columns[0], subgroup_labels(table, columns[0], rows));
  std::vector<std::pair<std::string, std::vector<std::string>>> parts;
  for (const auto& c : columns) parts.emplace_back(c, subgroup_labels(table, c, rows));
  return SubgroupData(spec, std::move(parts));
}

EvaluationSummary write_reports(const EvaluationData& d, std::ostream* html, std::ostream* json,
                                Progress& progress) {
  EvaluationSummary summary;
  if (html == nullptr && json == nullptr) return summary;

  auto step = progress.step("evaluating " + format_count(static_cast<long long>(d.y.size())) +
                            " rows (bootstrap intervals, subgroups, over time)");
  EvaluationInput in;
  in.y = VectorView<const double>(d.y);
  in.p = VectorView<const double>(d.p.data(), d.p.size());
  if (d.p_model.size() == d.p.size() && d.pipeline->is_calibrated()) {
    in.p_uncalibrated = VectorView<const double>(d.p_model.data(), d.p_model.size());
  }
  in.threshold = d.pipeline->threshold();
  in.policy = d.pipeline->operating_point().policy + " (chosen on the calibration part)";

  // Subgroups: labels -> codes (sorted labels; "" = missing); intersections crossed by the
  // library. The deque keeps each code vector at its address for the views.
  std::deque<std::vector<double>> code_store;
  for (const auto& sg : d.subgroups) {
    std::vector<SubgroupColumn> parts;
    for (const auto& [name, labels] : sg.parts) {
      parts.push_back(encode_labels(name, labels, code_store.emplace_back()));
    }
    in.subgroups.push_back(parts.size() == 1 ? parts[0]
                                             : cross_subgroups(parts, code_store.emplace_back()));
  }
  if (!d.time.empty()) {
    in.time = VectorView<const double>(d.time);
    in.time_in_days = d.time_is_days;
  }
  std::vector<std::int64_t> groups;
  if (!d.group.empty()) {
    groups.reserve(d.group.size());
    for (double g : d.group) groups.push_back(static_cast<std::int64_t>(g));
    in.groups = VectorView<const std::int64_t>(groups);
  }
  in.X = FeatureMatrix(view(d.X));
  in.feature_names = d.features;
  in.feature_importances = importances(d, in.importance_kind);
  in.provenance = provenance_rows(d);
  in.title = d.title;

  EvaluationParams params;
  params.random_state = d.seed;
  const Report report = evaluate(in, params);
  step.done();

  for (const auto& row : report.subgroups.rows) {
    if (row.flags.empty()) continue;
    std::string why;
    for (const auto& f : row.flags) why += (why.empty() ? "" : "; ") + f;
    // An intersection's level already names its columns ("age_band=80+ & sex=F").
    const bool crossed =
        row.column.find('*') != std::string::npos && row.level.find(" & ") != std::string::npos;
    summary.flagged_subgroups.push_back((crossed ? row.level : row.column + "=" + row.level) +
                                        ": " + why);
  }
  if (html) *html << report_to_html(report);
  if (json) *json << report_to_json(report);
  for (const auto& f : summary.flagged_subgroups) progress.note("flagged subgroup " + f);
  return summary;
}

}  // namespace calibrisk::cli
