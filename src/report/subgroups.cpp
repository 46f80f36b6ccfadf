// SPDX-License-Identifier: Apache-2.0
// The subgroup section of the report: the rows of each level of each subgroup column, their
// metrics at the threshold and their flags (see SubgroupSection in report.hpp).
#include "report/subgroups.hpp"

#include "report/svg.hpp"

#include <calibrisk/metrics/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <utility>

namespace calibrisk::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kWhere = "evaluate";

std::string one_class(const metrics::SortedScores& s, const char* what) {
  return std::string(what) + " has only class " + (s.n_positive() > 0 ? "1" : "0");
}

}  // namespace

SubsetMetrics subset_metrics(const std::vector<double>& y, const std::vector<double>& p,
                             const EvaluationParams& params, const char* what) {
  SubsetMetrics m;
  const metrics::SortedScores s(VectorView<const double>(y), VectorView<const double>(p), {},
                                kWhere);
  m.ece = metrics::expected_calibration_error(s, params.binning);
  if (s.n_positive() > 0 && s.n_negative() > 0) {
    m.auc = metrics::roc_auc_score(s);
    const metrics::CalibrationFit fit = metrics::calibration_intercept_slope(s);
    if (fit.intercept_converged) {
      m.intercept = fit.intercept;
      m.intercept_se = fit.intercept_se;
    } else {
      m.undefined["calibration_intercept"] = "the recalibration fit did not converge";
    }
  } else {
    m.undefined["roc_auc"] = m.undefined["calibration_intercept"] = one_class(s, what);
  }
  return m;
}

namespace {

std::string level_name(double code, const SubgroupColumn& col) {
  if (std::isnan(code)) return "(missing)";
  if (!col.labels.empty()) {
    if (code >= 0 && code < static_cast<double>(col.labels.size()) && code == std::floor(code)) {
      return col.labels[static_cast<std::size_t>(code)];
    }
    return "(unseen)";
  }
  return fmt_num(code, 10);
}

// The rows of each level of a subgroup column: distinct codes in increasing order, NaN (missing)
// last.
std::vector<std::pair<double, std::vector<Index>>> subgroup_levels(const SubgroupColumn& col,
                                                                   Index n,
                                                                   const EvaluationParams& params) {
  std::map<double, std::vector<Index>> levels;
  std::vector<Index> missing;
  for (Index i = 0; i < n; ++i) {
    const double c = col.codes[i];
    if (std::isnan(c))
      missing.push_back(i);
    else
      levels[c].push_back(i);
    if (static_cast<int>(levels.size()) > params.max_subgroup_levels) {
      throw InvalidInput(std::string(kWhere) + ": subgroup column '" + col.name +
                         "' has more than " + std::to_string(params.max_subgroup_levels) +
                         " levels; group its values (e.g. age bands) or raise "
                         "EvaluationParams.max_subgroup_levels.");
    }
  }
  std::vector<std::pair<double, std::vector<Index>>> all(levels.begin(), levels.end());
  if (!missing.empty()) all.emplace_back(kNaN, std::move(missing));
  return all;
}

// Flags of a subgroup large enough to be judged: calibration intercept, ECE, and recall below the
// overall recall (tp of pos flagged positives in the group).
void flag_subgroup(SubgroupRow& row, const SubsetMetrics& m, double tp, double pos,
                   double overall_recall, double z, const EvaluationParams& params) {
  if (std::isfinite(m.intercept) && std::abs(m.intercept) > params.intercept_tolerance &&
      std::abs(m.intercept) > z * m.intercept_se) {
    row.flags.push_back("calibration intercept " + std::string(m.intercept > 0 ? "+" : "") +
                        fmt_num(m.intercept, 2) + " beyond \xC2\xB1" +
                        fmt_num(params.intercept_tolerance, 3) +
                        (m.intercept > 0 ? " (risk under-predicted)" : " (risk over-predicted)"));
  }
  if (params.ece_tolerance > 0 && m.ece > params.ece_tolerance) {
    row.flags.push_back("ECE " + fmt_num(m.ece, 2) + " above " + fmt_num(params.ece_tolerance, 3));
  }
  if (std::isfinite(row.recall) && std::isfinite(overall_recall) &&
      overall_recall - row.recall > params.recall_tolerance &&
      metrics::wilson_interval(tp, pos, params.confidence).upper < overall_recall) {
    row.flags.push_back("recall " + fmt_num(row.recall, 2) + " vs " + fmt_num(overall_recall, 2) +
                        " overall (more than " + fmt_num(params.recall_tolerance, 3) + " below)");
  }
}

// One level of a subgroup column: its metrics, its recall/precision at the threshold, its flags.
SubgroupRow subgroup_row(const EvaluationInput& in, const SubgroupColumn& col, double code,
                         const std::vector<Index>& rows, double overall_recall, double z,
                         const EvaluationParams& params) {
  SubgroupRow row;
  row.column = col.name;
  row.level = level_name(code, col);
  row.n = static_cast<Index>(rows.size());
  std::vector<double> ys, ps;
  ys.reserve(rows.size());
  ps.reserve(rows.size());
  double tp = 0, fp = 0, pos = 0;
  for (Index i : rows) {
    ys.push_back(in.y[i]);
    ps.push_back(in.p[i]);
    pos += in.y[i];
    if (std::isfinite(in.threshold) && in.p[i] >= in.threshold) (in.y[i] == 1 ? tp : fp) += 1;
  }
  row.positives = static_cast<Index>(pos);
  row.prevalence = pos / static_cast<double>(row.n);
  row.mean_predicted = std::accumulate(ps.begin(), ps.end(), 0.0) / static_cast<double>(row.n);
  const SubsetMetrics m = subset_metrics(ys, ps, params, "the group");
  row.roc_auc = m.auc;
  row.ece = m.ece;
  row.calibration_intercept = m.intercept;
  row.undefined = m.undefined;
  if (std::isfinite(in.threshold)) {
    row.recall = pos > 0 ? tp / pos : kNaN;
    row.precision = tp + fp > 0 ? tp / (tp + fp) : kNaN;
    row.alert_rate = (tp + fp) / static_cast<double>(row.n);
    if (!(pos > 0)) row.undefined["recall"] = "the group has no positive case";
    if (!(tp + fp > 0)) row.undefined["precision"] = "no case of the group is flagged";
  }
  if (row.n >= params.min_subgroup_size) flag_subgroup(row, m, tp, pos, overall_recall, z, params);
  return row;
}

}  // namespace

SubgroupSection subgroup_section(const EvaluationInput& in, double overall_recall,
                                 const EvaluationParams& params) {
  SubgroupSection g;
  g.intercept_tolerance = params.intercept_tolerance;
  g.ece_tolerance = params.ece_tolerance;
  g.recall_tolerance = params.recall_tolerance;
  g.min_size = params.min_subgroup_size;
  const double z = metrics::normal_quantile(0.5 + params.confidence / 2);
  for (const auto& col : in.subgroups) {
    for (const auto& [code, rows] : subgroup_levels(col, in.y.size(), params)) {
      g.rows.push_back(subgroup_row(in, col, code, rows, overall_recall, z, params));
    }
  }
  return g;
}

}  // namespace calibrisk::detail
