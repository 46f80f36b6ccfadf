// SPDX-License-Identifier: Apache-2.0
// Internal to the report module: the subgroup section of `evaluate` (subgroups.cpp) and the
// metrics of a subset of rows that it shares with the over-time section (evaluate.cpp).
#pragma once

#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/report/report.hpp>

#include <limits>
#include <string>
#include <vector>

namespace calibrisk::detail {

/// AUC, ECE, calibration fit of a subset (NaN where a class is missing, with the reason).
struct SubsetMetrics {
  double auc = std::numeric_limits<double>::quiet_NaN();
  double ece = std::numeric_limits<double>::quiet_NaN();
  double intercept = std::numeric_limits<double>::quiet_NaN();
  double intercept_se = std::numeric_limits<double>::quiet_NaN();
  UndefinedReasons undefined;
};

/// The metrics of rows (y, p); `what` names the subset in reasons ("the group", "the period").
SubsetMetrics subset_metrics(const std::vector<double>& y, const std::vector<double>& p,
                             const EvaluationParams& params, const char* what);

/// The subgroup section: one row per level of each subgroup column (levels capped at
/// max_subgroup_levels), the recall and calibration tests of each group of at least
/// min_subgroup_size rows, their p-values adjusted together, and the flags.
/// `overall_recall` is unused (groups are compared with the other rows).
SubgroupSection subgroup_section(const EvaluationInput& in, double overall_recall,
                                 const EvaluationParams& params);

/// Adjusted p-values in input order: Holm's step-down (family-wise error rate) or
/// Benjamini–Hochberg's step-up (false discovery rate), each capped at 1, as statsmodels'
/// multipletests(method="holm" / "fdr_bh"); kNone returns `p`.
std::vector<double> adjust_p_values(const std::vector<double>& p, Multiplicity method);

/// A p-value with 2 significant digits, more when rounding would show a value below `alpha` as
/// alpha or above (0.0497 is "0.0497", not "0.05").
std::string format_p_value(double p, double alpha);

}  // namespace calibrisk::detail
