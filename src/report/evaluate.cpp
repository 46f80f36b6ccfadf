// SPDX-License-Identifier: Apache-2.0
// The report's computations: one sort of the scores per probability vector, the bootstrap over
// that sort, then per-subgroup and per-period metrics on subsets.
#include <calibrisk/io/date.hpp>
#include <calibrisk/metrics/metrics.hpp>
#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/version.hpp>

#include "report/subgroups.hpp"
#include "report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

namespace calibrisk {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kWhere = "evaluate";

std::string num(double v) { return calibrisk::detail::fmt_value(v); }

}  // namespace

void EvaluationParams::validate() const {
  validate_params(*this);
  binning.validate();
}

namespace {

void check_length(Index got, Index n, const std::string& name) {
  if (got != n) {
    throw InvalidInput(std::string(kWhere) + ": " + name + " has " + std::to_string(got) +
                       " values but y has " + std::to_string(n) + "; pass one value per row.");
  }
}

// Keeps the first and last point and about `max_points` in between, evenly by index: enough to
// draw the curve, small enough for the HTML page.
Curve thin(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& t,
           int max_points) {
  Curve c;
  const std::size_t n = x.size();
  const std::size_t step = std::max<std::size_t>(1, n / static_cast<std::size_t>(max_points));
  for (std::size_t i = 0; i < n; i += step) {
    c.x.push_back(x[i]);
    c.y.push_back(y[i]);
    if (i < t.size()) c.threshold.push_back(std::isfinite(t[i]) ? t[i] : kNaN);
  }
  if (n > 0 && (n - 1) % step != 0) {
    c.x.push_back(x[n - 1]);
    c.y.push_back(y[n - 1]);
    if (n - 1 < t.size()) c.threshold.push_back(std::isfinite(t[n - 1]) ? t[n - 1] : kNaN);
  }
  return c;
}

Estimate interval_of(const metrics::BootstrapResult& b) { return {b.point, b.lower, b.upper}; }

// Calibration section of one probability vector; `ece` carries the bootstrap interval.
CalibrationSection calibration_of(const metrics::SortedScores& s, const std::string& label,
                                  const EvaluationParams& params, Estimate ece) {
  CalibrationSection c;
  c.label = label;
  const metrics::ReliabilityCurve rc =
      metrics::reliability_curve(s, params.binning, params.confidence);
  for (const auto& b : rc.bins) {
    c.bins.push_back({b.count, b.mean_predicted, b.observed_rate, b.ci_lower, b.ci_upper});
  }
  c.ece = ece;
  c.max_calibration_error = metrics::max_calibration_error(s, params.binning);
  const metrics::CalibrationFit fit = metrics::calibration_intercept_slope(s);
  c.intercept = fit.intercept;
  c.slope = fit.slope;
  if (!fit.intercept_converged) {
    c.intercept = kNaN;
    c.undefined["intercept"] = "the recalibration fit did not converge";
  }
  if (!fit.slope_identifiable) {
    c.undefined["slope"] = "every prediction is the same, so the slope is not identifiable";
  } else if (!fit.slope_converged) {
    c.slope = kNaN;
    c.undefined["slope"] =
        "the recalibration fit did not converge: the scores separate the classes (almost) "
        "perfectly, so the slope is unbounded";
  }
  const metrics::SpiegelhalterResult sp = metrics::spiegelhalter_or_nan(s);
  c.spiegelhalter_z = sp.z;
  c.spiegelhalter_p = sp.p_value;
  if (std::isnan(sp.z)) {
    c.undefined["spiegelhalter_z"] = c.undefined["spiegelhalter_p"] =
        metrics::kSpiegelhalterUndefined;
  }
  c.brier = metrics::brier_score_loss(s);
  c.log_loss = metrics::log_loss(s);
  c.roc_auc = metrics::roc_auc_score(s);
  return c;
}

// Does calibration keep the ranking of the model's scores? Exact pairwise check in O(n log n):
// walk the distinct raw scores upward, keeping the smallest and largest calibrated score seen at
// strictly lower raw scores (see RankingCheck in report.hpp).
RankingCheck ranking_check(VectorView<const double> raw, VectorView<const double> cal) {
  const Index n = raw.size();
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return raw[a] < raw[b]; });
  Index lo = -1, hi = -1;          // rows with the min / max calibrated score at lower raw scores
  Index up_i = -1;                 // a row with a pair raw_i < raw_j and cal_i < cal_j
  Index down_i = -1, down_j = -1;  // ... and cal_i > cal_j
  for (Index k = 0; k < n;) {
    Index end = k;
    while (end < n && raw[order[end]] == raw[order[k]]) ++end;
    for (Index t = k; t < end && lo >= 0; ++t) {
      const Index j = order[t];
      if (up_i < 0 && cal[lo] < cal[j]) up_i = lo;
      if (down_i < 0 && cal[hi] > cal[j]) down_i = hi, down_j = j;
    }
    for (Index t = k; t < end; ++t) {
      const Index j = order[t];
      if (lo < 0 || cal[j] < cal[lo]) lo = j;
      if (hi < 0 || cal[j] > cal[hi]) hi = j;
    }
    k = end;
  }
  RankingCheck r;
  if (n == 0 || raw[order.front()] == raw[order.back()]) return r;  // nothing to rank
  auto pair_text = [&](Index i, Index j) {
    return "e.g. model score " + detail::fmt_num(raw[i], 4) + " \xE2\x86\x92 " +
           detail::fmt_num(cal[i], 4) + " but " + detail::fmt_num(raw[j], 4) + " \xE2\x86\x92 " +
           detail::fmt_num(cal[j], 4);
  };
  if (down_i < 0) {
    r.status = up_i < 0 ? "flattened" : "preserved";
    r.explanation = up_i < 0 ? "Calibration gives every case the same risk although the model's "
                               "scores differ: the calibrated risk does not rank cases at all."
                             : "Calibration keeps the model's ranking (the calibrated risk never "
                               "decreases as the model's score increases).";
  } else if (up_i < 0) {
    r.status = "reversed";
    r.explanation =
        "Calibration reverses the model's ranking: the calibrated risk never increases and "
        "sometimes decreases as the model's score increases (" +
        pair_text(down_i, down_j) +
        "). A calibrator with a negative slope (e.g. Platt fitted on noise) does this; do not "
        "use this calibrator.";
  } else {
    r.status = "non-monotone";
    r.explanation =
        "The calibrated risk is not a monotone function of the model's score: some pairs of "
        "cases swap order (" +
        pair_text(down_i, down_j) + "); check that the calibrator is monotone.";
  }
  return r;
}

std::string time_text(double v, bool in_days) {
  return in_days ? format_iso_datetime(v) : detail::fmt_num(v, 10);
}

// FNV-1a over the bytes of y and p: identifies the evaluated data in the provenance table.
std::string fingerprint(VectorView<const double> y, VectorView<const double> p) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](double v) {
    unsigned char b[8];
    std::memcpy(b, &v, 8);
    for (unsigned char c : b) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  for (Index i = 0; i < y.size(); ++i) {
    mix(y[i]);
    mix(p[i]);
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void check_input(const EvaluationInput& in) {
  const Index n = in.y.size();
  if (n == 0) {
    throw InvalidInput(std::string(kWhere) +
                       ": y is empty; pass the labels of the evaluated rows.");
  }
  check_length(in.p.size(), n, "p");
  if (!in.p_uncalibrated.empty()) check_length(in.p_uncalibrated.size(), n, "p_uncalibrated");
  if (!in.time.empty()) check_length(in.time.size(), n, "time");
  if (!in.groups.empty()) check_length(in.groups.size(), n, "groups");
  if (in.X.rows() > 0 || in.X.cols() > 0) check_length(in.X.rows(), n, "X");
  for (const auto& col : in.subgroups) {
    if (col.name.empty()) {
      throw InvalidInput(std::string(kWhere) +
                         ": a subgroup column has no name; name every column.");
    }
    check_length(col.codes.size(), n, "subgroup column '" + col.name + "'");
  }
  if (!in.feature_names.empty() && static_cast<Index>(in.feature_names.size()) != in.X.cols()) {
    throw InvalidInput(std::string(kWhere) + ": feature_names has " +
                       std::to_string(in.feature_names.size()) + " names but X has " +
                       std::to_string(in.X.cols()) + " columns; pass one name per column.");
  }
  if (!std::isnan(in.threshold) && !std::isfinite(in.threshold)) {
    throw InvalidInput(std::string(kWhere) +
                       ": threshold is infinite; pass a probability in [0, 1] or NaN for none.");
  }
  for (Index i = 0; i < in.time.size(); ++i) {
    if (!std::isfinite(in.time[i])) {
      throw InvalidInput(std::string(kWhere) + ": time[" + std::to_string(i) + "] is " +
                         num(in.time[i]) + "; every row needs a finite time key.");
    }
  }
}

DataSummary data_summary(const EvaluationInput& in, const metrics::SortedScores& s) {
  const Index n = in.y.size();
  DataSummary d;
  d.rows = n;
  d.positives = s.n_positive();
  d.prevalence = static_cast<double>(s.n_positive()) / static_cast<double>(n);
  if (!in.groups.empty()) {
    std::set<std::int64_t> ids;
    for (Index i = 0; i < n; ++i) ids.insert(in.groups[i]);
    d.patients = static_cast<Index>(ids.size());
  }
  if (!in.time.empty()) {
    double lo = in.time[0], hi = in.time[0];
    for (Index i = 1; i < n; ++i) {
      lo = std::min(lo, in.time[i]);
      hi = std::max(hi, in.time[i]);
    }
    d.time_min = time_text(lo, in.time_in_days);
    d.time_max = time_text(hi, in.time_in_days);
  }
  if (in.X.cols() > 0) {
    in.X.visit([&](const auto& X) {
      for (Index j = 0; j < X.cols(); ++j) {
        Index missing = 0;
        for (Index i = 0; i < X.rows(); ++i) missing += std::isnan(X(i, j)) ? 1 : 0;
        d.missingness.push_back({in.feature_names.empty()
                                     ? "x" + std::to_string(j)
                                     : in.feature_names[static_cast<std::size_t>(j)],
                                 static_cast<double>(missing) / static_cast<double>(n)});
      }
    });
  }
  return d;
}

// Point estimates of metrics `ms` on `sc`, with bootstrap intervals over the one sort when
// n_bootstrap > 0 (grouped by patient when groups are given).
std::vector<Estimate> estimates(const metrics::SortedScores& sc,
                                const std::vector<metrics::Metric>& ms, const EvaluationInput& in,
                                const EvaluationParams& params) {
  metrics::BootstrapParams bp;
  bp.n_replicates = std::max(params.n_bootstrap, 1);
  bp.confidence = params.confidence;
  bp.random_state = params.random_state;
  bp.n_threads = params.n_threads;
  bp.binning = params.binning;
  std::vector<Estimate> out;
  if (params.n_bootstrap > 0) {
    for (const auto& b : metrics::bootstrap(sc, ms, bp, in.groups)) out.push_back(interval_of(b));
  } else {
    for (auto m : ms)
      out.push_back({metrics::metric_function(m, params.binning)(sc, nullptr), kNaN, kNaN});
  }
  return out;
}

// Smoothed calibration of one probability vector (lowess curve with its bootstrap band, ICI / E50
// / E90 / Emax with intervals, Van Calster's hierarchy) and the histogram of predicted risks.
void add_smoothed_calibration(const metrics::SortedScores& s, const EvaluationInput& in,
                              const EvaluationParams& params, CalibrationSection& c) {
  const metrics::SmoothCalibrationParams sp;
  SmoothedCalibrationPart& out = c.smoothed;
  metrics::SmoothCalibrationResult res;
  if (params.n_bootstrap > 0) {
    metrics::BootstrapParams bp;
    bp.n_replicates = params.n_bootstrap;
    bp.confidence = params.confidence;
    bp.random_state = params.random_state;
    bp.n_threads = params.n_threads;
    res = metrics::smoothed_calibration_bootstrap(s, sp, bp, in.groups);
    Estimate* e[] = {&out.ici, &out.e50, &out.e90, &out.emax, &out.calibration_in_the_large};
    for (std::size_t j = 0; j < res.intervals.size(); ++j) *e[j] = interval_of(res.intervals[j]);
    out.lower = res.band_lower;
    out.upper = res.band_upper;
  } else {
    res.point = metrics::smoothed_calibration(s, sp);
    res.hierarchy =
        metrics::calibration_hierarchy(res.point, {}, {}, params.confidence, sp.min_events);
    out.ici.value = res.point.ici;
    out.e50.value = res.point.e50;
    out.e90.value = res.point.e90;
    out.emax.value = res.point.emax;
    out.calibration_in_the_large.value = res.point.calibration_in_the_large;
  }
  out.frac = sp.frac;
  out.grid = res.point.curve.grid;
  out.observed = res.point.curve.observed;
  out.n_events = res.point.n_events;
  out.n_nonevents = res.point.n_nonevents;
  out.warnings = res.point.warnings;
  out.verdict = res.hierarchy.verdict;
  const auto copy = [](const metrics::HierarchyLevel& l) {
    return HierarchyCheck{l.assessed, l.met, l.evidence};
  };
  out.mean = copy(res.hierarchy.mean);
  out.weak = copy(res.hierarchy.weak);
  out.moderate = copy(res.hierarchy.moderate);
  constexpr int kBins = 20;
  c.histogram.counts.assign(kBins, 0);
  for (int j = 0; j <= kBins; ++j) c.histogram.edges.push_back(static_cast<double>(j) / kBins);
  const std::vector<double>& e = c.histogram.edges;
  for (double p : s.score()) {
    int b = std::min(kBins - 1, static_cast<int>(p * kBins));
    while (b + 1 < kBins && p >= e[b + 1]) ++b;  // the edges decide, not the rounding of p * 20
    while (b > 0 && p < e[b]) --b;
    ++c.histogram.counts[b];
  }
}

// Discrimination and ECE of p (and of p_uncalibrated when given, with the ranking check).
void add_discrimination_and_calibration(const EvaluationInput& in, const metrics::SortedScores& s,
                                        const EvaluationParams& params, Report& r) {
  const auto main_est = estimates(s,
                                  {metrics::Metric::kRocAuc, metrics::Metric::kAveragePrecision,
                                   metrics::Metric::kExpectedCalibrationError},
                                  in, params);
  r.discrimination.roc_auc = main_est[0];
  r.discrimination.average_precision = main_est[1];
  const metrics::RocCurve roc = metrics::roc_curve(s, true);
  r.discrimination.roc = thin(roc.fpr, roc.tpr, roc.thresholds, params.max_curve_points);
  const metrics::PrCurve pr = metrics::precision_recall_curve(s, true);
  r.discrimination.pr = thin(pr.recall, pr.precision, pr.thresholds, params.max_curve_points);
  r.calibration_after = calibration_of(s, "calibrated", params, main_est[2]);
  add_smoothed_calibration(s, in, params, r.calibration_after);

  if (!in.p_uncalibrated.empty()) {
    const metrics::SortedScores s0(in.y, in.p_uncalibrated, {},
                                   std::string(kWhere) + " (p_uncalibrated)");
    s0.require_probabilities(std::string(kWhere) + " (p_uncalibrated)");
    r.has_uncalibrated = true;
    r.calibration_before =
        calibration_of(s0, "uncalibrated", params,
                       estimates(s0, {metrics::Metric::kExpectedCalibrationError}, in, params)[0]);
    add_smoothed_calibration(s0, in, params, r.calibration_before);
    r.ranking = ranking_check(in.p_uncalibrated, in.p);
    if (r.ranking.flagged()) r.notes.push_back("Warning: " + r.ranking.explanation);
  } else {
    r.calibration_after.label = "model";
  }
}

// The operating point at in.threshold (recomputed on this data) with Wilson intervals; `recall`
// receives its recall over all rows.
OperatingPointSection operating_point_section(const EvaluationInput& in,
                                              const metrics::SortedScores& s,
                                              const EvaluationParams& params, double& recall) {
  ThresholdOptions opt;
  opt.confidence = params.confidence;
  const OperatingPoint op = operating_point_at(s, in.threshold, opt);
  OperatingPointSection o;
  o.threshold = in.threshold;
  o.policy = in.policy;
  o.tp = static_cast<Index>(op.tp);
  o.fp = static_cast<Index>(op.fp);
  o.tn = static_cast<Index>(op.tn);
  o.fn = static_cast<Index>(op.fn);
  auto wilson = [&](double k, double m, double value) {
    if (!(m > 0)) return Estimate{kNaN, kNaN, kNaN};
    const auto ci = metrics::wilson_interval(k, m, params.confidence);
    return Estimate{value, ci.lower, ci.upper};
  };
  o.precision = wilson(op.tp, op.tp + op.fp, op.tp + op.fp > 0 ? op.precision : kNaN);
  o.recall = wilson(op.tp, op.tp + op.fn, op.recall);
  o.specificity = wilson(op.tn, op.tn + op.fp, op.specificity);
  o.npv = wilson(op.tn, op.tn + op.fn, op.tn + op.fn > 0 ? op.npv : kNaN);
  o.alert_rate = wilson(op.tp + op.fp, static_cast<double>(in.y.size()), op.alert_rate);
  o.f1 = op.fbeta;
  if (op.tp + op.fp == 0) o.undefined["precision"] = "no case is flagged at this threshold";
  if (op.tn + op.fn == 0) o.undefined["npv"] = "every case is flagged at this threshold";
  recall = op.recall;
  return o;
}

// Decision curve on thresholds 0.01, 0.02, ..., decision_curve_max.
DecisionCurveSection decision_curve_section(const metrics::SortedScores& s,
                                            const EvaluationParams& params) {
  std::vector<double> grid;
  for (int k = 1; k <= static_cast<int>(std::floor(params.decision_curve_max * 100 + 1e-9)); ++k) {
    grid.push_back(k / 100.0);
  }
  const metrics::DecisionCurve dc = metrics::net_benefit(s, grid);
  DecisionCurveSection d;
  d.threshold = dc.thresholds;
  d.model = dc.net_benefit;
  d.treat_all = dc.treat_all;
  return d;
}

// Metrics per time period (in.time must be non-empty).
void add_over_time(const EvaluationInput& in, const EvaluationParams& params, Report& r) {
  for (const TimePeriod& per : time_periods(in.time, in.time_in_days, params.time_granularity,
                                            params.n_time_bins, r.over_time.granularity)) {
    TimePeriodRow row;
    row.period = per.label;
    row.start = per.start;
    row.n = static_cast<Index>(per.rows.size());
    std::vector<double> ys, ps;
    for (Index i : per.rows) {
      ys.push_back(in.y[i]);
      ps.push_back(in.p[i]);
    }
    row.prevalence = std::accumulate(ys.begin(), ys.end(), 0.0) / static_cast<double>(row.n);
    row.mean_predicted = std::accumulate(ps.begin(), ps.end(), 0.0) / static_cast<double>(row.n);
    const detail::SubsetMetrics m = detail::subset_metrics(ys, ps, params, "the period");
    row.roc_auc = m.auc;
    row.ece = m.ece;
    if (m.undefined.count("roc_auc")) row.undefined["roc_auc"] = m.undefined.at("roc_auc");
    r.over_time.rows.push_back(std::move(row));
  }
}

// Top features, largest first (ties by name so the order is deterministic).
std::vector<FeatureImportance> top_features(const EvaluationInput& in,
                                            const EvaluationParams& params) {
  std::vector<FeatureImportance> fi = in.feature_importances;
  for (const auto& f : fi) {
    if (!std::isfinite(f.value)) {
      throw InvalidInput(std::string(kWhere) + ": the importance of feature '" + f.name + "' is " +
                         num(f.value) + "; importances must be finite.");
    }
  }
  std::stable_sort(fi.begin(), fi.end(),
                   [](const FeatureImportance& a, const FeatureImportance& b) {
                     return a.value != b.value ? a.value > b.value : a.name < b.name;
                   });
  if (static_cast<int>(fi.size()) > params.n_top_features)
    fi.resize(static_cast<std::size_t>(params.n_top_features));
  return fi;
}

// Provenance: the caller's entries, then what this evaluation adds.
void add_provenance(const EvaluationInput& in, const EvaluationParams& params, Report& r) {
  r.provenance = in.provenance;
  r.provenance.emplace_back("evaluated by", std::string("calibrisk ") + library_version());
  r.provenance.emplace_back("evaluation data fingerprint (FNV-1a of y, p)",
                            fingerprint(in.y, in.p));
  std::ostringstream ev;
  ev << "n_bootstrap=" << params.n_bootstrap << ", confidence=" << params.confidence
     << ", bins=" << params.binning.n_bins
     << (params.binning.strategy == metrics::BinStrategy::kUniform ? " equal-width"
                                                                   : " equal-frequency")
     << ", random_state=" << params.random_state
     << (in.groups.empty() ? "" : ", bootstrap grouped by patient");
  r.provenance.emplace_back("evaluation settings", ev.str());
}

}  // namespace

Report evaluate(const EvaluationInput& in, const EvaluationParams& params) {
  params.validate();
  check_input(in);
  const metrics::SortedScores s(in.y, in.p, {}, std::string(kWhere) + " (p)");
  s.require_probabilities(std::string(kWhere) + " (p)");
  s.require_both_classes(kWhere);

  Report r;
  if (!in.title.empty()) r.title = in.title;
  r.confidence = params.confidence;
  r.n_bootstrap = params.n_bootstrap;
  r.data = data_summary(in, s);
  // Discrimination and ECE, with bootstrap intervals over one sort.
  add_discrimination_and_calibration(in, s, params, r);

  double overall_recall = kNaN;
  if (std::isfinite(in.threshold)) {
    r.has_operating_point = true;
    // Operating point (recomputed on this data) with Wilson intervals.
    r.operating_point = operating_point_section(in, s, params, overall_recall);
  } else {
    r.notes.push_back(
        "No threshold was given: the operating point and the recall/precision of "
        "subgroups are not reported.");
  }
  r.decision_curve = decision_curve_section(s, params);
  r.subgroups = detail::subgroup_section(in, overall_recall, params);
  if (!in.time.empty()) add_over_time(in, params, r);
  r.importance_kind = in.importance_kind;
  r.top_features = top_features(in, params);
  add_provenance(in, params, r);
  if (in.time.empty())
    r.notes.push_back("No time key was given: metrics over time are not reported.");
  return r;
}

}  // namespace calibrisk
