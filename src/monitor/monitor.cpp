// SPDX-License-Identifier: Apache-2.0
// Monitoring checks of a batch against the pipeline's schema, monitoring reference (format 1.3)
// and operating point; see include/calibrisk/monitor/monitor.hpp and docs/monitoring.md.
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/intervals.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/metrics/smooth_calibration.hpp>
#include <calibrisk/monitor/monitor.hpp>

#include <calibrisk/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace calibrisk {
namespace {

MonitorStatus worst(MonitorStatus a, MonitorStatus b) { return a > b ? a : b; }

MonitorStatus level(double v, double warn, double alarm) {
  if (!(v >= warn)) return MonitorStatus::kOk;  // NaN: not evaluated
  return v >= alarm ? MonitorStatus::kAlarm : MonitorStatus::kWarn;
}

// Shares of the batch values of feature j over the reference bins + missing (+ unseen for a
// categorical feature), as fractions of the batch rows; the matching expected shares in `ref`.
void batch_shares(const FeatureInfo& f, const FeatureReference& r, const std::vector<double>& X,
                  Index n, Index p, Index j, std::vector<double>& expected,
                  std::vector<double>& actual) {
  expected = r.shares;
  expected.push_back(r.missing_share);
  if (f.categorical) expected.push_back(0.0);  // codes unseen in training
  actual.assign(expected.size(), 0.0);
  const std::size_t missing_bin = r.shares.size();
  for (Index i = 0; i < n; ++i) {
    const double x = X[static_cast<std::size_t>(i * p + j)];
    std::size_t b;
    if (std::isnan(x)) {
      b = missing_bin;
    } else if (f.categorical) {
      if (f.is_unseen_category(x) || !std::isfinite(x)) {
        b = missing_bin + 1;
      } else {
        b = static_cast<std::size_t>(std::lower_bound(f.categories.begin(), f.categories.end(),
                                                      static_cast<std::int64_t>(x)) -
                                     f.categories.begin());
      }
    } else {
      b = MonitoringReference::bin_of(r.edges, x);
    }
    actual[b] += 1.0;
  }
  for (double& a : actual) a /= static_cast<double>(n);
}

// Newcombe's hybrid score interval of p1 - p2 from the Wilson intervals of both proportions.
metrics::ProportionInterval newcombe(double x1, double n1, double x2, double n2, double level) {
  const metrics::ProportionInterval w1 = metrics::wilson_interval(x1, n1, level);
  const metrics::ProportionInterval w2 = metrics::wilson_interval(x2, n2, level);
  const double p1 = x1 / n1, p2 = x2 / n2, d = p1 - p2;
  return {d - std::sqrt((p1 - w1.lower) * (p1 - w1.lower) + (w2.upper - p2) * (w2.upper - p2)),
          d + std::sqrt((w1.upper - p1) * (w1.upper - p1) + (p2 - w2.lower) * (p2 - w2.lower))};
}

// `expected` is a proportion of `expected_n` rows (0 = exact).
RateCheck rate_check(double successes, double n, double expected, double expected_n,
                     const MonitorOptions& o) {
  RateCheck c;
  c.successes = successes;
  c.n = n;
  c.expected = expected;
  if (n > 0) c.observed = successes / n;
  if (!(n > 0) || !(expected >= 0.0 && expected <= 1.0)) return c;
  c.evaluated = true;
  const metrics::ProportionInterval w = metrics::wilson_interval(successes, n, o.warn_confidence);
  const metrics::ProportionInterval a = metrics::wilson_interval(successes, n, o.alarm_confidence);
  c.warn_lower = w.lower;
  c.warn_upper = w.upper;
  c.alarm_lower = a.lower;
  c.alarm_upper = a.upper;
  const auto excludes = [](double lo, double hi, double v) { return v < lo || v > hi; };
  bool alarm = excludes(a.lower, a.upper, expected), warn = excludes(w.lower, w.upper, expected);
  if (expected_n > 0) {
    // Round the expected count (a share of whole rows, stored as a double).
    const double x2 = std::min(expected_n, std::max(0.0, std::round(expected * expected_n)));
    c.expected_n = expected_n;
    const metrics::ProportionInterval da =
        newcombe(successes, n, x2, expected_n, o.alarm_confidence);
    const metrics::ProportionInterval dw =
        newcombe(successes, n, x2, expected_n, o.warn_confidence);
    c.difference_lower = da.lower;
    c.difference_upper = da.upper;
    alarm = excludes(da.lower, da.upper, 0.0);
    warn = excludes(dw.lower, dw.upper, 0.0);
  }
  c.status = alarm ? MonitorStatus::kAlarm : warn ? MonitorStatus::kWarn : MonitorStatus::kOk;
  return c;
}

// Range, unseen-category and missing-rate signals from the schema checks, for every feature.
void input_checks(const Pipeline& pipe, const FeatureMatrix& X, const MonitorOptions& o,
                  MonitorResult& r) {
  InputCheckOptions io;
  io.missing_rate_tolerance = o.missing_rate_tolerance;
  io.missing_z = o.missing_z;
  io.max_examples = o.max_examples;
  const InputReport in = pipe.check_inputs(X, io);
  r.errors = in.errors;
  const FeatureSchema& s = pipe.schema();
  for (Index j = 0; j < s.n_features() && X.cols() == s.n_features(); ++j) {
    const FeatureInfo& info = s.features[static_cast<std::size_t>(j)];
    FeatureMonitor f;
    f.feature = j;
    f.name = info.name;
    f.categorical = info.categorical;
    f.train_missing_rate = info.missing_rate;
    r.features.push_back(std::move(f));
  }
  for (const FeatureDrift& d : in.features) {
    FeatureMonitor& f = r.features[static_cast<std::size_t>(d.feature)];
    const double present = static_cast<double>(X.rows() - d.n_missing);
    f.missing_rate_z = d.missing_rate_z;
    f.missing_status = d.missing_rate_drift ? MonitorStatus::kAlarm : MonitorStatus::kOk;
    f.n_out_of_range = d.n_below_min + d.n_above_max;
    f.out_of_range_rate = present > 0 ? static_cast<double>(f.n_out_of_range) / present : 0.0;
    f.range_status = level(f.out_of_range_rate, o.out_of_range_warn, o.out_of_range_alarm);
    f.n_unseen_category = d.n_unseen_category;
    f.unseen_rate = static_cast<double>(d.n_unseen_category) / static_cast<double>(X.rows());
    f.unseen_status = level(f.unseen_rate, o.unseen_warn, o.unseen_alarm);
    f.example_rows = d.example_rows;
  }
}

// PSI per feature against the reference (the batch as a row-major copy `rows`).
void psi_checks(const Pipeline& pipe, const std::vector<double>& rows, Index n,
                const MonitorOptions& o, MonitorResult& r) {
  const FeatureSchema& s = pipe.schema();
  const Index p = s.n_features();
  for (FeatureMonitor& f : r.features) {
    if (n > 0) {
      f.missing_rate = 0;
      for (Index i = 0; i < n; ++i)
        f.missing_rate += std::isnan(rows[static_cast<std::size_t>(i * p + f.feature)]) ? 1 : 0;
      f.missing_rate /= static_cast<double>(n);
    }
    if (!r.has_reference || n == 0) continue;
    std::vector<double> expected, actual;
    batch_shares(s.features[static_cast<std::size_t>(f.feature)],
                 pipe.reference().features[static_cast<std::size_t>(f.feature)], rows, n, p,
                 f.feature, expected, actual);
    f.psi = population_stability_index(expected, actual, o.psi_epsilon);
    f.psi_status = level(f.psi, o.psi_warn, o.psi_alarm);
  }
}

// Scores of the rows without an infinite value; `kept` holds their indices.
std::vector<double> score_rows(const Pipeline& pipe, const std::vector<double>& rows, Index n,
                               std::vector<Index>& kept) {
  const Index p = pipe.n_features();
  std::vector<double> finite;
  finite.reserve(rows.size());
  for (Index i = 0; i < n; ++i) {
    const auto* row = rows.data() + i * p;
    if (std::any_of(row, row + p, [](double x) { return std::isinf(x); })) continue;
    kept.push_back(i);
    finite.insert(finite.end(), row, row + p);
  }
  const auto m = static_cast<Index>(kept.size());
  if (m == 0) return {};
  const Eigen::VectorXd risk =
      pipe.predict_proba(FeatureMatrix(MatrixView<const double>::row_major(finite.data(), m, p)));
  return std::vector<double>(risk.data(), risk.data() + risk.size());
}

void score_checks(const Pipeline& pipe, const std::vector<double>& risk, const MonitorOptions& o,
                  MonitorResult& r) {
  const double t = pipe.threshold();
  const double alerts = static_cast<double>(
      std::count_if(risk.begin(), risk.end(), [t](double v) { return v >= t; }));
  const OperatingPointRecord& op = pipe.operating_point();
  double expected = op.figure("alert_rate"), expected_n = op.figure("n_rows");
  if (r.has_reference && !risk.empty()) {
    const ScoreReference& ref = pipe.reference().score;
    std::vector<double> actual(ref.shares.size(), 0.0);
    for (const double v : risk) actual[MonitoringReference::bin_of(ref.edges, v)] += 1.0;
    for (double& a : actual) a /= static_cast<double>(risk.size());
    r.score_psi = population_stability_index(ref.shares, actual, o.psi_epsilon);
    r.score_status = level(r.score_psi, o.psi_warn, o.psi_alarm);
    expected = ref.alert_rate;
    expected_n = static_cast<double>(ref.n_rows);
  }
  if (!(expected_n >= 1.0)) expected_n = 0.0;  // unknown: the expected rate is taken as exact
  r.alert_rate = rate_check(alerts, static_cast<double>(risk.size()), expected, expected_n, o);
  if (!r.alert_rate.evaluated && !risk.empty()) {
    r.notes.push_back(
        "alert rate not checked: the model records no expected alert rate at its operating "
        "point.");
  }
}

void calibration_checks(const Pipeline& pipe, const std::vector<double>& risk,
                        const std::vector<double>& y, const MonitorOptions& o, MonitorResult& r) {
  const double n = static_cast<double>(y.size());
  double pos = 0, tp = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    pos += y[i];
    tp += y[i] == 1.0 && risk[i] >= pipe.threshold() ? 1.0 : 0.0;
  }
  r.prevalence = n > 0 ? pos / n : r.prevalence;
  if (pos > 0 && pos < n) {
    const metrics::CalibrationFit fit = metrics::calibration_intercept_slope(
        VectorView<const double>(y), VectorView<const double>(risk));
    r.calibration_intercept = fit.intercept;
    r.calibration_intercept_se = fit.intercept_se;
    const double zw = metrics::normal_quantile(0.5 + o.warn_confidence / 2);
    const double za = metrics::normal_quantile(0.5 + o.alarm_confidence / 2);
    r.intercept_warn_lower = fit.intercept - zw * fit.intercept_se;
    r.intercept_warn_upper = fit.intercept + zw * fit.intercept_se;
    r.intercept_alarm_lower = fit.intercept - za * fit.intercept_se;
    r.intercept_alarm_upper = fit.intercept + za * fit.intercept_se;
    if (!(r.intercept_alarm_lower <= 0 && 0 <= r.intercept_alarm_upper)) {
      r.calibration_status = MonitorStatus::kAlarm;
    } else if (!(r.intercept_warn_lower <= 0 && 0 <= r.intercept_warn_upper)) {
      r.calibration_status = MonitorStatus::kWarn;
    }
    // ICI is reported (no status of its own: the intercept's interval decides the alarm).
    r.ici =
        metrics::smoothed_calibration(VectorView<const double>(y), VectorView<const double>(risk))
            .ici;
  } else {
    r.notes.push_back("calibration not checked: the labels hold a single class (" +
                      std::to_string(static_cast<long long>(pos)) + " of " +
                      std::to_string(static_cast<long long>(n)) + " positive).");
  }
  const OperatingPointRecord& op = pipe.operating_point();
  const double cal_pos = op.figure("tp") + op.figure("fn");  // positives behind the recall
  r.recall = rate_check(tp, pos, op.figure("recall"), cal_pos >= 1.0 ? cal_pos : 0.0, o);
  if (!r.recall.evaluated) {
    r.notes.push_back(pos > 0 ? "recall not checked: the model records no recall at its "
                                "operating point."
                              : "recall not checked: the batch has no positive label.");
  }
}

// K-class scores of the kept rows (see score_rows): the top-label confidence, the label and the
// route of each.
struct ClassScores {
  RowMatrixXd P;
  std::vector<double> confidence;
  std::vector<std::int32_t> label;
  std::vector<std::uint8_t> route;
};

ClassScores class_scores(const Pipeline& pipe, const std::vector<double>& rows, Index n,
                         std::vector<Index>& kept) {
  const Index p = pipe.n_features();
  std::vector<double> finite;
  for (Index i = 0; i < n; ++i) {
    const auto* row = rows.data() + i * p;
    if (std::any_of(row, row + p, [](double x) { return std::isinf(x); })) continue;
    kept.push_back(i);
    finite.insert(finite.end(), row, row + p);
  }
  ClassScores s;
  const auto m = static_cast<Index>(kept.size());
  if (m == 0) return s;
  s.P = pipe.predict_proba_matrix(
      FeatureMatrix(MatrixView<const double>::row_major(finite.data(), m, p)));
  s.label = pipe.predict_label(view(s.P));
  s.route = pipe.route(view(s.P));
  for (Index i = 0; i < m; ++i)
    s.confidence.push_back(s.P(i, s.label[static_cast<std::size_t>(i)]));
  return s;
}

// K-class: PSI of the top-label confidence and the review rate vs the calibration part.
void class_score_checks(const Pipeline& pipe, const ClassScores& s, const MonitorOptions& o,
                        MonitorResult& r) {
  const OperatingPointRecord& op = pipe.operating_point();
  double expected = op.figure("review_rate"), expected_n = op.figure("n_rows");
  if (r.has_reference && !s.confidence.empty()) {
    const ScoreReference& ref = pipe.reference().score;
    std::vector<double> actual(ref.shares.size(), 0.0);
    for (const double v : s.confidence) actual[MonitoringReference::bin_of(ref.edges, v)] += 1.0;
    for (double& a : actual) a /= static_cast<double>(s.confidence.size());
    r.score_psi = population_stability_index(ref.shares, actual, o.psi_epsilon);
    r.score_status = level(r.score_psi, o.psi_warn, o.psi_alarm);
    expected = ref.alert_rate;  // a K-class reference keeps the calibration review rate here
    expected_n = static_cast<double>(ref.n_rows);
  }
  if (!(expected_n >= 1.0)) expected_n = 0.0;
  const double reviews = static_cast<double>(std::count(s.route.begin(), s.route.end(), 0));
  r.review_rate = rate_check(reviews, static_cast<double>(s.route.size()), expected, expected_n, o);
  if (!r.review_rate.evaluated && !s.route.empty()) {
    r.notes.push_back("review rate not checked: the model records no review rate of its policy.");
  }
}

// The type-1 empirical quantile (the smallest value with at least `level` of the sorted values
// at or below it).
double empirical_quantile(const std::vector<double>& sorted, double level) {
  const auto k = static_cast<std::size_t>(std::ceil(level * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(k, 1)) - 1];
}

// The top-label ECE's status against its parametric-bootstrap limits (MonitorResult fields).
// The bins are those of metrics::top_label_ece (CalibrationBinning{}: 10 uniform bins, a value
// on an edge in the lower bin as numpy's searchsorted); only the correct flags are redrawn.
void ece_check(const ClassScores& s, const std::vector<double>& y, const MonitorOptions& o,
               MonitorResult& r) {
  const double e_ref = r.expected_top_label_ece;
  if (o.ece_replicates == 0) return;
  if (!(e_ref >= 0.0 && e_ref <= 1.0)) {
    r.notes.push_back(
        "top-label ECE has no status: the model records no calibration-part top-label ECE "
        "(operating-point figure top_label_ece).");
    return;
  }
  const std::size_t n = s.confidence.size();
  std::vector<double> correct(n);
  for (std::size_t i = 0; i < n; ++i) correct[i] = static_cast<double>(s.label[i]) == y[i];
  const VectorView<const double> conf(s.confidence);
  const std::vector<double> edges =
      metrics::reliability_curve(VectorView<const double>(correct), conf).edges;
  const std::size_t n_bins = edges.size() - 1;
  std::vector<std::size_t> bin(n);
  std::vector<double> count(n_bins, 0.0), conf_sum(n_bins, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    bin[i] = static_cast<std::size_t>(
        std::lower_bound(edges.begin() + 1, edges.end() - 1, s.confidence[i]) - edges.begin() - 1);
    count[bin[i]] += 1.0;
    conf_sum[bin[i]] += s.confidence[i];
  }
  std::vector<double> null(static_cast<std::size_t>(o.ece_replicates));
  std::vector<double> hits(n_bins);
  for (std::size_t b = 0; b < null.size(); ++b) {
    Rng rng(0, b);
    std::fill(hits.begin(), hits.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      hits[bin[i]] += rng.uniform() < s.confidence[i] - e_ref ? 1.0 : 0.0;
    }
    double ece = 0.0;
    for (std::size_t j = 0; j < n_bins; ++j) ece += std::abs(hits[j] - conf_sum[j]);
    null[b] = ece / static_cast<double>(n);  // sum_j (n_j / n) |hits_j / n_j - mean conf_j|
  }
  const double observed = r.top_label_ece;
  r.top_label_ece_p_value =
      static_cast<double>(
          std::count_if(null.begin(), null.end(), [observed](double v) { return v >= observed; })) /
      static_cast<double>(null.size());
  std::sort(null.begin(), null.end());
  r.top_label_ece_warn = empirical_quantile(null, o.warn_confidence);
  r.top_label_ece_alarm = empirical_quantile(null, o.alarm_confidence);
  r.top_label_ece_status = observed > r.top_label_ece_alarm  ? MonitorStatus::kAlarm
                           : observed > r.top_label_ece_warn ? MonitorStatus::kWarn
                                                             : MonitorStatus::kOk;
}

// K-class with labels (class indices): accuracy of the auto-routed rows and the top-label ECE.
void class_label_checks(const Pipeline& pipe, const ClassScores& s, const std::vector<double>& y,
                        const MonitorOptions& o, MonitorResult& r) {
  double n_auto = 0.0, right = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!s.route[i]) continue;
    n_auto += 1.0;
    right += static_cast<double>(s.label[i]) == y[i] ? 1.0 : 0.0;
  }
  const OperatingPointRecord& op = pipe.operating_point();
  const double cal_auto = op.figure("n_auto");
  r.auto_accuracy =
      rate_check(right, n_auto, op.figure("accuracy"), cal_auto >= 1.0 ? cal_auto : 0.0, o);
  if (!r.auto_accuracy.evaluated) {
    r.notes.push_back(n_auto > 0 ? "auto-routed accuracy not checked: the model records no "
                                   "accuracy of its policy."
                                 : "auto-routed accuracy not checked: no row was auto-routed.");
  }
  r.top_label_ece = metrics::top_label_ece(VectorView<const double>(y), view(s.P));
  r.expected_top_label_ece = op.figure("top_label_ece");
  ece_check(s, y, o, r);
}

std::vector<double> checked_labels(VectorView<const double> y, Index n, int k) {
  if (y.size() != n) {
    throw InvalidInput("monitor: y has " + std::to_string(y.size()) + " labels for " +
                       std::to_string(n) + " rows; pass one " +
                       (k > 2 ? "class index" : std::string("0/1 label")) + " per row (or none).");
  }
  std::vector<double> out(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    if (k > 2) {
      if (!(y[i] >= 0.0 && y[i] < k && y[i] == std::floor(y[i]))) {
        throw InvalidInput("monitor: y[" + std::to_string(i) + "] = " + std::to_string(y[i]) +
                           " is not a class index 0.." + std::to_string(k - 1) +
                           "; pass the index of each row's class among the model's classes.");
      }
      out[static_cast<std::size_t>(i)] = y[i];
      continue;
    }
    if (!(y[i] == 0.0 || y[i] == 1.0)) {
      throw InvalidInput("monitor: y[" + std::to_string(i) + "] = " + std::to_string(y[i]) +
                         " is not 0 or 1; labels must be binary outcomes.");
    }
    out[static_cast<std::size_t>(i)] = y[i];
  }
  return out;
}

void overall_status(MonitorResult& r) {
  MonitorStatus s = r.errors.empty() ? MonitorStatus::kOk : MonitorStatus::kAlarm;
  for (FeatureMonitor& f : r.features) {
    f.status = worst(worst(f.psi_status, f.missing_status), worst(f.range_status, f.unseen_status));
    s = worst(s, f.status);
  }
  s = worst(s, worst(r.score_status, r.alert_rate.status));
  s = worst(s, worst(r.calibration_status, r.recall.status));
  s = worst(s, worst(r.review_rate.status, r.auto_accuracy.status));
  s = worst(s, r.top_label_ece_status);
  r.status = s;
}

}  // namespace

const char* monitor_status_name(MonitorStatus s) noexcept {
  switch (s) {
    case MonitorStatus::kOk:
      return "ok";
    case MonitorStatus::kWarn:
      return "warn";
    default:
      return "alarm";
  }
}

void MonitorOptions::validate() const {
  validate_params(*this);
  const auto order = [](double warn, double alarm, const char* w, const char* a) {
    if (warn > alarm) {
      throw InvalidParams(std::string("MonitorOptions.") + w + " (" + std::to_string(warn) +
                          ") is above " + a + " (" + std::to_string(alarm) +
                          "); a warning level must not exceed its alarm level.");
    }
  };
  order(psi_warn, psi_alarm, "psi_warn", "psi_alarm");
  order(out_of_range_warn, out_of_range_alarm, "out_of_range_warn", "out_of_range_alarm");
  order(unseen_warn, unseen_alarm, "unseen_warn", "unseen_alarm");
  order(warn_confidence, alarm_confidence, "warn_confidence", "alarm_confidence");
}

double population_stability_index(const std::vector<double>& expected,
                                  const std::vector<double>& actual, double eps) {
  if (expected.size() != actual.size()) {
    throw InvalidInput("population_stability_index: " + std::to_string(expected.size()) +
                       " expected shares but " + std::to_string(actual.size()) +
                       " actual shares; pass one share per bin in both.");
  }
  double psi = 0.0;
  for (std::size_t b = 0; b < expected.size(); ++b) {
    const double e = std::max(expected[b], eps), a = std::max(actual[b], eps);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

MonitorResult monitor(const Pipeline& pipeline, const FeatureMatrix& X, VectorView<const double> y,
                      const MonitorOptions& options) {
  options.validate();
  const Index n = X.rows(), p = pipeline.n_features();
  MonitorResult r;
  r.options = options;
  r.n_rows = n;
  r.has_reference = !pipeline.reference().empty();
  r.has_labels = !y.empty();
  r.n_classes = pipeline.n_classes();
  const std::vector<double> labels =
      r.has_labels ? checked_labels(y, n, r.n_classes) : std::vector<double>{};
  input_checks(pipeline, X, options, r);
  if (!r.has_reference) {
    r.notes.push_back(
        "PSI (features and score) needs a model trained with this release: the model file has "
        "no monitoring reference (format 1.3); range, category, missing-rate, alert-rate and "
        "label checks still ran.");
  }
  if (X.cols() != p) {
    overall_status(r);
    return r;
  }
  std::vector<double> rows(static_cast<std::size_t>(n * p));
  X.visit([&](const auto& v) {
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < p; ++j) rows[static_cast<std::size_t>(i * p + j)] = v(i, j);
  });
  psi_checks(pipeline, rows, n, options, r);
  if (r.has_reference && n > 0 && n < 1000) {
    r.notes.push_back("a batch of " + std::to_string(n) +
                      " rows gives a noisy PSI: with k bins its expected value under no shift is "
                      "about (k - 1) / rows (0.05 for 10 bins and 200 rows); prefer batches of "
                      "1000 rows or more.");
  }
  std::vector<Index> kept;
  if (r.n_classes > 2) {
    const ClassScores cs = class_scores(pipeline, rows, n, kept);
    r.n_scored = static_cast<Index>(kept.size());
    if (n == 0) r.notes.push_back("the batch has no rows: nothing to compare.");
    class_score_checks(pipeline, cs, options, r);
    if (r.has_labels && !kept.empty()) {
      std::vector<double> yk;
      for (const Index i : kept) yk.push_back(labels[static_cast<std::size_t>(i)]);
      class_label_checks(pipeline, cs, yk, options, r);
    }
    overall_status(r);
    return r;
  }
  const std::vector<double> risk = score_rows(pipeline, rows, n, kept);
  r.n_scored = static_cast<Index>(kept.size());
  if (n == 0) r.notes.push_back("the batch has no rows: nothing to compare.");
  score_checks(pipeline, risk, options, r);
  if (r.has_labels && !risk.empty()) {
    std::vector<double> yk;
    for (const Index i : kept) yk.push_back(labels[static_cast<std::size_t>(i)]);
    calibration_checks(pipeline, risk, yk, options, r);
  }
  overall_status(r);
  return r;
}

}  // namespace calibrisk
