// SPDX-License-Identifier: Apache-2.0
// The subgroup section of the report: the rows of each level of each subgroup column, their
// metrics at the threshold and their flags (see SubgroupSection in report.hpp).
#include "report/subgroups.hpp"

#include "report/svg.hpp"

#include <calibrisk/io/text.hpp>
#include <calibrisk/metrics/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>
#include <string>
#include <utility>

namespace calibrisk {
namespace {

std::string label_of(double code, const SubgroupColumn& col);

}  // namespace

SubgroupColumn cross_subgroups(const std::vector<SubgroupColumn>& parts,
                               std::vector<double>& codes) {
  if (parts.empty()) {
    throw InvalidInput("cross_subgroups: no columns to cross; pass at least one subgroup column.");
  }
  const Index n = parts[0].codes.size();
  SubgroupColumn out;
  for (const auto& part : parts) {
    if (part.codes.size() != n) {
      throw InvalidInput("cross_subgroups: column " + quote_for_message(part.name) + " has " +
                         std::to_string(part.codes.size()) + " values but " +
                         quote_for_message(parts[0].name) + " has " + std::to_string(n) +
                         "; pass one value per row.");
    }
    out.name += (out.name.empty() ? "" : "*") + part.name;
  }
  // A row's key: per part (0, code), or (1, 0) when missing, so that missing sorts last.
  using Key = std::vector<std::pair<int, double>>;
  std::map<Key, std::vector<Index>> cells;
  Key key(parts.size());
  for (Index i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const double c = parts[k].codes[i];
      key[k] = std::isnan(c) ? std::make_pair(1, 0.0) : std::make_pair(0, c);
    }
    cells[key].push_back(i);
  }
  codes.assign(static_cast<std::size_t>(n), 0.0);
  for (const auto& [cell, rows] : cells) {
    std::string label;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const double c = cell[k].first ? std::nan("") : cell[k].second;
      label += (k ? " & " : "") + parts[k].name + "=" + label_of(c, parts[k]);
    }
    for (Index i : rows)
      codes[static_cast<std::size_t>(i)] = static_cast<double>(out.labels.size());
    out.labels.push_back(std::move(label));
  }
  out.codes = VectorView<const double>(codes);
  return out;
}

std::vector<std::string> subgroup_spec_columns(const std::string& spec,
                                               const std::vector<std::string>& columns,
                                               const std::string& where) {
  auto has = [&](const std::string& c) {
    return std::find(columns.begin(), columns.end(), c) != columns.end();
  };
  if (has(spec)) return {spec};
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = spec.find('*', begin);
    std::string part = spec.substr(begin, end == std::string::npos ? end : end - begin);
    const std::size_t a = part.find_first_not_of(' ');
    part = a == std::string::npos ? "" : part.substr(a, part.find_last_not_of(' ') - a + 1);
    if (part.empty()) {
      throw InvalidInput(where + ": " + quote_for_message(spec) +
                         " has an empty column name; name a column, or columns joined by '*' "
                         "(e.g. age_band*sex).");
    }
    if (!has(part)) {
      throw InvalidInput(where + ": there is no column " + quote_for_message(part) +
                         "; the columns are: " + list_for_message(columns) + ".");
    }
    if (std::find(parts.begin(), parts.end(), part) != parts.end()) {
      throw InvalidInput(where + ": column " + quote_for_message(part) + " appears twice in " +
                         quote_for_message(spec) + "; cross each column once.");
    }
    parts.push_back(part);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return parts;
}

namespace {

std::string label_of(double code, const SubgroupColumn& col) {
  if (std::isnan(code)) return "(missing)";
  if (!col.labels.empty()) {
    if (code >= 0 && code < static_cast<double>(col.labels.size()) && code == std::floor(code)) {
      return col.labels[static_cast<std::size_t>(code)];
    }
    return "(unseen)";
  }
  return detail::fmt_num(code, 10);
}

}  // namespace

namespace detail {
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

// One level of a subgroup column: its label and rows.
struct Level {
  std::string label;
  std::vector<Index> rows;
};

std::string count_text(std::size_t k) { return std::to_string(k); }

// Keeps the `cap` largest levels (ties: the earlier level) and pools the others into one level
// "(N other levels)", appended last; adds a note naming the column and the counts.
void cap_levels(std::vector<Level>& levels, const std::string& column, int cap,
                std::vector<std::string>& notes) {
  const std::size_t keep = static_cast<std::size_t>(cap);
  if (levels.size() <= keep) return;
  std::vector<std::size_t> order(levels.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return levels[a].rows.size() > levels[b].rows.size();
  });
  std::vector<bool> kept(levels.size(), false);
  for (std::size_t k = 0; k < keep; ++k) kept[order[k]] = true;
  std::vector<Level> out;
  Level other;
  for (std::size_t k = 0; k < levels.size(); ++k) {
    if (kept[k]) {
      out.push_back(std::move(levels[k]));
    } else {
      other.rows.insert(other.rows.end(), levels[k].rows.begin(), levels[k].rows.end());
    }
  }
  const std::size_t pooled = levels.size() - keep;
  std::sort(other.rows.begin(), other.rows.end());
  other.label = "(" + count_text(pooled) + " other levels)";
  notes.push_back("Subgroup column " + quote_for_message(column) + " has " +
                  count_text(levels.size()) +
                  " levels, more than max_subgroup_levels = " + std::to_string(cap) + ": the " +
                  std::to_string(cap) + " largest are shown and the other " + count_text(pooled) +
                  " (" + count_text(other.rows.size()) + " rows) are pooled as \"" + other.label +
                  "\". Band or group the variable to see them separately.");
  out.push_back(std::move(other));
  levels = std::move(out);
}

// The levels of a subgroup column: distinct codes in increasing order, "(missing)" (NaN) next,
// then the pooled level when the column has more than max_subgroup_levels levels (missing is not
// counted against the cap).
std::vector<Level> subgroup_levels(const SubgroupColumn& col, Index n,
                                   const EvaluationParams& params,
                                   std::vector<std::string>& notes) {
  std::map<double, std::vector<Index>> by_code;
  std::vector<Index> missing;
  for (Index i = 0; i < n; ++i) {
    const double c = col.codes[i];
    (std::isnan(c) ? missing : by_code[c]).push_back(i);
  }
  std::vector<Level> levels;
  levels.reserve(by_code.size() + 1);
  for (auto& [code, rows] : by_code) levels.push_back({label_of(code, col), std::move(rows)});
  const bool capped = static_cast<int>(levels.size()) > params.max_subgroup_levels;
  Level pooled;
  if (capped) {
    cap_levels(levels, col.name, params.max_subgroup_levels, notes);
    pooled = std::move(levels.back());
    levels.pop_back();
  }
  if (!missing.empty()) levels.push_back({"(missing)", std::move(missing)});
  if (capped) levels.push_back(std::move(pooled));
  return levels;
}

// Counts of one group at the threshold and the sums of its calibration test.
struct GroupCounts {
  double tp = 0, fp = 0, pos = 0;
  double excess = 0;    // sum of y - p: observed minus expected events
  double variance = 0;  // sum of p (1 - p)
};

// Two-sided p-value of a standard normal statistic.
double two_sided_p(double z) { return std::erfc(std::abs(z) / std::sqrt(2.0)); }

std::string signed_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f", v);
  return buf;
}

// Two-proportion z test (pooled variance) of recall in the group vs recall of the other rows, as
// statsmodels' proportions_ztest; sets row.recall_p or the reason it is not tested.
void recall_test(SubgroupRow& row, const GroupCounts& g, double tp_all, double pos_all) {
  const double tp_o = tp_all - g.tp, pos_o = pos_all - g.pos;
  row.recall_others = pos_o > 0 ? tp_o / pos_o : kNaN;
  if (!(g.pos > 0)) {
    row.undefined["recall_p"] = "not tested: the group has no positive case";
    return;
  }
  if (!(pos_o > 0)) {
    row.undefined["recall_p"] = "not tested: the other rows have no positive case";
    return;
  }
  const double pool = (g.tp + tp_o) / (g.pos + pos_o);
  const double var = pool * (1 - pool) * (1 / g.pos + 1 / pos_o);
  if (!(var > 0)) {
    row.undefined["recall_p"] = "not tested: recall is " + std::string(pool > 0 ? "1" : "0") +
                                " both in the group and in the other rows";
    return;
  }
  row.recall_p = two_sided_p((g.tp / g.pos - row.recall_others) / std::sqrt(var));
}

// Score test of calibration intercept = 0 with the slope fixed at 1:
// z = sum(y - p) / sqrt(sum p (1 - p)) (observed vs expected events).
void calibration_test(SubgroupRow& row, const GroupCounts& g) {
  if (!(g.variance > 0)) {
    row.undefined["calibration_p"] = "not tested: every prediction of the group is 0 or 1";
    return;
  }
  row.calibration_z = g.excess / std::sqrt(g.variance);
  row.calibration_p = two_sided_p(row.calibration_z);
}

// One level of a subgroup column: its metrics, its recall/precision at the threshold, its raw
// p-values (groups of at least min_subgroup_size rows).
SubgroupRow subgroup_row(const EvaluationInput& in, const std::string& column, const Level& level,
                         double tp_all, double pos_all, const EvaluationParams& params) {
  SubgroupRow row;
  row.column = column;
  row.level = level.label;
  row.n = static_cast<Index>(level.rows.size());
  std::vector<double> ys, ps;
  ys.reserve(level.rows.size());
  ps.reserve(level.rows.size());
  GroupCounts g;
  for (Index i : level.rows) {
    ys.push_back(in.y[i]);
    ps.push_back(in.p[i]);
    g.pos += in.y[i];
    g.excess += in.y[i] - in.p[i];
    g.variance += in.p[i] * (1 - in.p[i]);
    if (std::isfinite(in.threshold) && in.p[i] >= in.threshold) (in.y[i] == 1 ? g.tp : g.fp) += 1;
  }
  row.positives = static_cast<Index>(g.pos);
  row.prevalence = g.pos / static_cast<double>(row.n);
  row.mean_predicted = std::accumulate(ps.begin(), ps.end(), 0.0) / static_cast<double>(row.n);
  const SubsetMetrics m = subset_metrics(ys, ps, params, "the group");
  row.roc_auc = m.auc;
  row.ece = m.ece;
  row.calibration_intercept = m.intercept;
  if (std::isfinite(m.intercept)) {
    const double z = metrics::normal_quantile(0.5 + params.confidence / 2);
    row.calibration_intercept_lower = m.intercept - z * m.intercept_se;
    row.calibration_intercept_upper = m.intercept + z * m.intercept_se;
  }
  row.undefined = m.undefined;
  const bool tested = row.n >= params.min_subgroup_size;
  const std::string small =
      "not tested: the group has " + std::to_string(row.n) +
      " rows, fewer than min_subgroup_size = " + std::to_string(params.min_subgroup_size);
  if (std::isfinite(in.threshold)) {
    row.recall = g.pos > 0 ? g.tp / g.pos : kNaN;
    if (g.pos > 0) {
      const auto ci = metrics::wilson_interval(g.tp, g.pos, params.confidence);
      row.recall_lower = ci.lower;
      row.recall_upper = ci.upper;
    }
    row.precision = g.tp + g.fp > 0 ? g.tp / (g.tp + g.fp) : kNaN;
    row.alert_rate = (g.tp + g.fp) / static_cast<double>(row.n);
    if (!(g.pos > 0)) row.undefined["recall"] = "the group has no positive case";
    if (!(g.tp + g.fp > 0)) row.undefined["precision"] = "no case of the group is flagged";
    if (tested) {
      recall_test(row, g, tp_all, pos_all);
    } else {
      row.recall_others = pos_all - g.pos > 0 ? (tp_all - g.tp) / (pos_all - g.pos) : kNaN;
      row.undefined["recall_p"] = small;
    }
  }
  if (tested) {
    calibration_test(row, g);
  } else {
    row.undefined["calibration_p"] = small;
  }
  return row;
}

const char* method_name(Multiplicity m) {
  switch (m) {
    case Multiplicity::kHolm:
      return "Holm";
    case Multiplicity::kBenjaminiHochberg:
      return "Benjamini-Hochberg";
    case Multiplicity::kNone:
      break;
  }
  return "unadjusted";
}

// Flags of a tested group: calibration (adjusted p < alpha and |intercept| beyond the tolerance;
// a one-class group's intercept is infinite), recall (adjusted p < alpha and more than the
// tolerance below the other rows), and ECE (no test; off by default).
void flag_subgroup(SubgroupRow& row, const SubgroupSection& s, const EvaluationParams& params) {
  const std::string ci = fmt_num(params.confidence * 100, 3) + "% CI ";
  const std::string adj = s.multiplicity == "none" ? "p = " : "adjusted p = ";
  const std::string tail = " (" + std::string(method_name(params.multiplicity)) + ", " +
                           std::to_string(s.n_tests) + " tests)";
  const bool one_class = row.positives == 0 || row.positives == row.n;
  const double a = row.calibration_intercept;
  if (row.calibration_p_adjusted < s.alpha &&
      ((std::isfinite(a) && std::abs(a) > params.intercept_tolerance) ||
       (std::isnan(a) && one_class))) {
    const bool under = row.calibration_z > 0;
    const std::string effect = std::isfinite(a)
                                   ? signed_text(a) + " (" + ci +
                                         signed_text(row.calibration_intercept_lower) + " to " +
                                         signed_text(row.calibration_intercept_upper) + ")"
                                   : std::string(under ? "+" : "-") + "\xE2\x88\x9E (only class " +
                                         (row.positives > 0 ? "1" : "0") + " in the group)";
    row.flags.push_back("calibration intercept " + effect + " beyond \xC2\xB1" +
                        fmt_num(params.intercept_tolerance, 3) +
                        (under ? ": risk under-predicted" : ": risk over-predicted") +
                        " (observed " + fmt_num(static_cast<double>(row.positives), 10) +
                        " vs expected " +
                        fmt_num(row.mean_predicted * static_cast<double>(row.n), 4) + " events), " +
                        adj + format_p_value(row.calibration_p_adjusted, s.alpha) + tail);
  }
  if (params.ece_tolerance > 0 && row.ece > params.ece_tolerance) {
    row.flags.push_back("ECE " + fmt_num(row.ece, 2) + " above " +
                        fmt_num(params.ece_tolerance, 3) + " (no test)");
  }
  if (row.recall_p_adjusted < s.alpha && row.recall_others - row.recall > params.recall_tolerance) {
    row.flags.push_back("recall " + fmt_num(row.recall, 2) + " (" + ci +
                        fmt_num(row.recall_lower, 2) + " to " + fmt_num(row.recall_upper, 2) +
                        ") vs " + fmt_num(row.recall_others, 2) + " in the other rows (more than " +
                        fmt_num(params.recall_tolerance, 3) + " below), " + adj +
                        format_p_value(row.recall_p_adjusted, s.alpha) + tail);
  }
}

// Adjusts every finite raw p-value of the rows (recall and calibration) together.
Index adjust_rows(std::vector<SubgroupRow>& rows, Multiplicity method) {
  std::vector<double> raw;
  for (const auto& r : rows) {
    if (std::isfinite(r.recall_p)) raw.push_back(r.recall_p);
    if (std::isfinite(r.calibration_p)) raw.push_back(r.calibration_p);
  }
  const std::vector<double> adjusted = adjust_p_values(raw, method);
  std::size_t k = 0;
  for (auto& r : rows) {
    if (std::isfinite(r.recall_p)) r.recall_p_adjusted = adjusted[k++];
    if (std::isfinite(r.calibration_p)) r.calibration_p_adjusted = adjusted[k++];
  }
  return static_cast<Index>(raw.size());
}

}  // namespace

std::string format_p_value(double p, double alpha) {
  const double shown_alpha = alpha * (1 - 1e-9);  // 1 - 0.95 is 0.05000000000000004
  int digits = 2;
  std::string t = fmt_num(p, digits);
  while (p < alpha && std::strtod(t.c_str(), nullptr) >= shown_alpha && digits < 8) {
    t = fmt_num(p, ++digits);
  }
  return t;
}

std::vector<double> adjust_p_values(const std::vector<double>& p, Multiplicity method) {
  const std::size_t m = p.size();
  if (method == Multiplicity::kNone || m == 0) return p;
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> out(m);
  const double md = static_cast<double>(m);
  if (method == Multiplicity::kHolm) {
    // Step-down: running maximum of (m - i) p_(i), i = 0, 1, ... over the sorted p-values.
    double running = 0;
    for (std::size_t i = 0; i < m; ++i) {
      running = std::max(running, std::min(1.0, (md - static_cast<double>(i)) * p[order[i]]));
      out[order[i]] = running;
    }
  } else {
    // Step-up: running minimum of m / (i + 1) p_(i) from the largest p-value down.
    double running = 1;
    for (std::size_t i = m; i-- > 0;) {
      running = std::min(running, md / static_cast<double>(i + 1) * p[order[i]]);
      out[order[i]] = std::min(1.0, running);
    }
  }
  return out;
}

SubgroupSection subgroup_section(const EvaluationInput& in, double overall_recall,
                                 const EvaluationParams& params) {
  (void)overall_recall;
  SubgroupSection g;
  g.intercept_tolerance = params.intercept_tolerance;
  g.ece_tolerance = params.ece_tolerance;
  g.recall_tolerance = params.recall_tolerance;
  g.min_size = params.min_subgroup_size;
  g.alpha = 1 - params.confidence;
  g.multiplicity = enum_to_text(params.multiplicity);
  double tp_all = 0, pos_all = 0;
  for (Index i = 0; i < in.y.size(); ++i) {
    pos_all += in.y[i];
    if (std::isfinite(in.threshold) && in.p[i] >= in.threshold && in.y[i] == 1) tp_all += 1;
  }
  for (const auto& col : in.subgroups) {
    for (const Level& level : subgroup_levels(col, in.y.size(), params, g.notes)) {
      g.rows.push_back(subgroup_row(in, col.name, level, tp_all, pos_all, params));
    }
  }
  g.n_tests = adjust_rows(g.rows, params.multiplicity);
  for (auto& row : g.rows) flag_subgroup(row, g, params);
  return g;
}

}  // namespace detail
}  // namespace calibrisk
