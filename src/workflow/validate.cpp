// SPDX-License-Identifier: Apache-2.0
// Rolling-origin validation (see validate.hpp): the periods of split/periods.hpp, one calendar
// split per origin (split_by_calendar), train_pipeline's stages on it (the multiclass road for a
// K-class label), and the test period's discrimination, calibration and alert rate (K-class: log
// loss, Brier, top-label ECE, accuracy and the review queue).
#include <calibrisk/metrics/smooth_calibration.hpp>
#include <calibrisk/workflow/validate.hpp>

#include "workflow/stages.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/metrics/bootstrap.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/metrics/ranking.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

namespace calibrisk {

std::vector<RollingOrigin> rolling_origins(const std::vector<double>& time,
                                           const std::vector<double>& group, bool in_days,
                                           TimeGranularity granularity, int n_bins,
                                           int min_train_periods, CalendarPatients patients) {
  if (min_train_periods < 2) {
    throw InvalidParams(
        "rolling-origin validation: min_train_periods must be >= 2 (one or more "
        "periods to fit, the last one to calibrate), got " +
        std::to_string(min_train_periods) + ".");
  }
  if (granularity == TimeGranularity::kAuto) {
    throw InvalidParams(
        "rolling-origin validation: choose the period: month, quarter, year or "
        "bins.");
  }
  if (granularity == TimeGranularity::kBins && (n_bins < 3 || n_bins > 1000)) {
    throw InvalidParams("rolling-origin validation: n_bins must be in [3, 1000], got " +
                        std::to_string(n_bins) + ".");
  }
  if (!in_days && granularity != TimeGranularity::kBins) {
    throw InvalidParams(std::string("rolling-origin validation: period ") +
                        enum_to_text(granularity) +
                        " needs a date time column, but the time column holds numbers; use "
                        "period bins (--period bins --n-bins N).");
  }
  for (std::size_t i = 0; i < time.size(); ++i) {
    if (!std::isfinite(time[i])) {
      throw InvalidInput("the time column is missing or not finite at data row " +
                         std::to_string(i + 1) + "; every row needs a time to be put in a period.");
    }
  }
  std::string used;
  const std::vector<TimePeriod> periods =
      time_periods(VectorView<const double>(time), in_days, granularity, n_bins, used);
  const auto m = static_cast<int>(periods.size());
  if (m < min_train_periods + 1) {
    throw InvalidInput("rolling-origin validation: the data fall in " + std::to_string(m) + " " +
                       used + " period(s), but " + std::to_string(min_train_periods) +
                       " training periods and one test period need " +
                       std::to_string(min_train_periods + 1) +
                       "; use a finer period (--period month or bins) or lower "
                       "--min-train-periods.");
  }
  std::vector<RollingOrigin> out;
  for (int j = min_train_periods; j < m; ++j) {
    const auto u = static_cast<std::size_t>(j);
    RollingOrigin o;
    o.fit_first = periods.front().label;
    o.fit_last = periods[u - 2].label;
    o.calibration = periods[u - 1].label;
    o.test = periods[u].label;
    o.test_start = periods[u].start;
    const double end = j + 1 < m ? periods[u + 1].start : std::numeric_limits<double>::infinity();
    o.split = split_by_calendar(time, group, periods[u - 1].start, periods[u].start, patients, end);
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

// The bootstrap's resampling units of the test part: the patients, or the rows without a group
// column (the same for the binary and the K-class figures).
std::vector<std::int64_t> bootstrap_groups(const TrainPart& t, const std::vector<double>& group) {
  std::vector<std::int64_t> g;
  g.reserve(t.rows.size());
  for (Index i : t.rows) {
    g.push_back(group.empty() ? static_cast<std::int64_t>(i)
                              : static_cast<std::int64_t>(group[static_cast<std::size_t>(i)]));
  }
  return g;
}

// The bootstrap's settings: the spec's replicates and seed, the model's thread count (results
// do not depend on it).
metrics::BootstrapParams bootstrap_params(const ValidateSpec& spec) {
  metrics::BootstrapParams bp;
  bp.n_replicates = spec.n_bootstrap;
  bp.random_state = spec.train.seed;
  bp.n_threads = spec.train.model == ModelKind::kLogisticRegression ? spec.train.lr.n_threads
                                                                    : spec.train.gbdt.n_threads;
  return bp;
}

// The test period's figures of one origin's run.
void evaluate_test(const TrainResult& r, const ValidateSpec& spec, const std::vector<double>& group,
                   PeriodResult& row) {
  const TrainPart& t = r.test;
  const VectorView<const double> y(t.y), p(t.p.data(), t.p.size());
  const metrics::SortedScores s(y, p, {}, "validate");
  row.events_test = static_cast<Index>(std::accumulate(t.y.begin(), t.y.end(), 0.0));
  row.prevalence = static_cast<double>(row.events_test) / static_cast<double>(t.y.size());
  row.mean_risk = t.p.mean();
  row.auc = metrics::roc_auc_score(s);
  if (spec.n_bootstrap > 0) {
    const metrics::BootstrapParams bp = bootstrap_params(spec);
    const std::vector<std::int64_t> g = bootstrap_groups(t, group);
    const auto b =
        metrics::bootstrap(s, {metrics::Metric::kRocAuc}, bp, VectorView<const std::int64_t>(g));
    row.auc_lower = b[0].lower;
    row.auc_upper = b[0].upper;
  }
  const metrics::CalibrationFit fit = metrics::calibration_intercept_slope(s);
  row.calibration_intercept = fit.intercept;
  row.calibration_slope = fit.slope_identifiable ? fit.slope : PeriodResult::kNaN;
  row.ici = metrics::smoothed_calibration(s).ici;  // lowess of y on p (metrics.md)
  row.threshold = r.op_calibration.threshold;
  row.expected_alert_rate = r.op_calibration.alert_rate;
  row.alert_rate = r.op_test.alert_rate;
  row.recall = r.op_test.recall;
  row.precision = r.op_test.precision;
  row.test_p.assign(t.p.data(), t.p.data() + t.p.size());
}

// Bootstrap intervals of the K-class figures with the binary AUC's replicates, seed and
// resampling units (whole patients); the review queue (the pipeline's routing) stays fixed. Not
// stratified by class: accuracy, Brier, log loss and the review rate move with the test period's
// class mix, and fixing it (as the AUC's stratification does, harmlessly for a rank statistic)
// makes their intervals far too narrow when the model mostly predicts the majority class.
void bootstrap_classes(const TrainResult& r, const ValidateSpec& spec,
                       const std::vector<double>& group, PeriodResult& row) {
  if (spec.n_bootstrap == 0) return;
  const TrainPart& t = r.test;
  const MatrixView<const double> P = view(t.P);
  const std::vector<std::uint8_t> route = r.pipeline->route(P);
  const std::vector<double> routed(route.begin(), route.end());
  const std::vector<std::int64_t> g = bootstrap_groups(t, group);
  metrics::BootstrapParams bp = bootstrap_params(spec);
  bp.stratified = false;
  const auto b = metrics::multiclass_bootstrap(
      VectorView<const double>(t.y), P,
      {"log_loss", "brier_score", "top_label_ece", "accuracy", "auto_accuracy", "review_rate"}, bp,
      {}, VectorView<const std::int64_t>(g), VectorView<const double>(routed));
  double* bounds[][2] = {{&row.log_loss_lower, &row.log_loss_upper},
                         {&row.brier_lower, &row.brier_upper},
                         {&row.top_label_ece_lower, &row.top_label_ece_upper},
                         {&row.accuracy_lower, &row.accuracy_upper},
                         {&row.auto_accuracy_lower, &row.auto_accuracy_upper},
                         {&row.review_rate_lower, &row.review_rate_upper}};
  for (std::size_t j = 0; j < b.size(); ++j) {
    *bounds[j][0] = b[j].lower;
    *bounds[j][1] = b[j].upper;
  }
}

// The K-class figures of the test period, and the review queue of the calibration period
// applied to it (train_multiclass_on_split's review_calibration / review_test).
void evaluate_classes(const TrainResult& r, const ValidateSpec& spec,
                      const std::vector<double>& group, PeriodResult& row) {
  const TrainPart& t = r.test;
  const VectorView<const double> y(t.y);
  const MatrixView<const double> P = view(t.P);
  row.log_loss = metrics::multiclass_log_loss(y, P);
  row.brier = metrics::multiclass_brier_score(y, P);
  row.top_label_ece = metrics::top_label_ece(y, P);
  const Eigen::VectorXd predicted = metrics::predicted_classes(P);
  row.class_counts_test.assign(static_cast<std::size_t>(r.n_classes), 0);
  double right = 0.0;
  for (std::size_t i = 0; i < t.y.size(); ++i) {
    right += predicted[static_cast<Index>(i)] == t.y[i] ? 1.0 : 0.0;
    ++row.class_counts_test[static_cast<std::size_t>(t.y[i])];
  }
  row.accuracy = right / static_cast<double>(t.y.size());
  const ReviewPoint& c = r.review_calibration.overall;
  const ReviewPoint& e = r.review_test.overall;
  row.review_threshold = c.threshold;
  row.expected_auto_accuracy = c.accuracy;
  row.expected_review_rate = c.review_rate;
  row.n_auto = static_cast<Index>(e.n_auto);
  row.auto_accuracy = e.accuracy;
  row.review_rate = e.review_rate;
  row.test_y = t.y;
  row.test_P = t.P;
  bootstrap_classes(r, spec, group, row);
}

// Why an origin cannot be trained, or "" (every part has kMinPartRows rows).
std::string too_small(const TimeGroupSplit& s) {
  for (int p = 0; p < 3; ++p) {
    if (s.summary[p].rows >= kMinPartRows) continue;
    const char* role[3] = {"fitting periods", "calibration period", "test period"};
    return std::string("the ") + role[p] + " hold(s) " + std::to_string(s.summary[p].rows) +
           " rows (fewer than " + std::to_string(kMinPartRows) + ")";
  }
  return {};
}

}  // namespace

ValidationResult validate_rolling(const Table& table, const ValidateSpec& spec,
                                  TrainObserver* observer) {
  const ColumnRoles& roles = spec.train.columns;
  if (roles.time.empty()) {
    throw InvalidParams(
        "validate needs --time-column: periods are formed from its dates or "
        "numbers.");
  }
  if (spec.n_bootstrap < 0 || spec.n_bootstrap > 100000) {
    throw InvalidParams("validate: n_bootstrap must be in [0, 100000], got " +
                        std::to_string(spec.n_bootstrap) + ".");
  }
  const Column& time = table.column(roles.time);
  const std::vector<double> no_groups;
  const std::vector<double>& group =
      roles.group.empty() ? no_groups : table.column(roles.group).values;
  ValidationResult out;
  out.time_in_days = time.time_encoding == TimeEncoding::kDays;
  std::vector<RollingOrigin> origins =
      rolling_origins(time.values, group, out.time_in_days, spec.period, spec.n_bins,
                      spec.min_train_periods, spec.train.calendar.patients);
  out.granularity =
      spec.period == TimeGranularity::kBins ? "equal-count bins" : enum_to_text(spec.period);
  const bool multiclass = detail::is_multiclass_task(table, spec.train);
  if (multiclass) {
    // Classes from the whole table (as train_pipeline): the same K columns in every origin.
    out.classes = multiclass_labels(table, roles.label).classes;
    out.n_classes = static_cast<int>(out.classes.size());
    out.review_policy = spec.train.conformal_review ? spec.train.conformal_review->describe()
                                                    : spec.train.review.describe();
  }
  for (RollingOrigin& o : origins) {
    PeriodResult row;
    row.period = o.test;
    row.start = o.test_start;
    row.fit_first = o.fit_first;
    row.fit_last = o.fit_last;
    row.calibration = o.calibration;
    row.n_fit = o.split.summary[0].rows;
    row.n_calibration = o.split.summary[1].rows;
    row.n_test = o.split.summary[2].rows;
    row.test_rows_left_out = o.split.rows_dropped[2];
    row.test_groups_seen_earlier = o.split.groups_seen_earlier[2];
    row.test_rows = o.split.rows_of(SplitPart::kTest);
    row.skipped = too_small(o.split);
    if (observer)
      observer->begin("origin: fit " + o.fit_first + ".." + o.fit_last + ", calibrate " +
                      o.calibration + ", test " + o.test);
    if (row.skipped.empty()) {
      try {
        if (multiclass) {
          evaluate_classes(detail::train_multiclass_on_split(table, spec.train, &o.split, nullptr),
                           spec, group, row);
        } else {
          evaluate_test(detail::train_on_split(table, spec.train, o.split), spec, group, row);
        }
      } catch (const InvalidInput& e) {
        row.skipped = e.what();  // a one-class part: the period stays in the table, unmeasured
      }
    }
    if (observer) {
      char buf[96];
      if (multiclass) {
        std::snprintf(buf, sizeof buf, "accuracy %.3f, review rate %.3f", row.accuracy,
                      row.review_rate);
      } else {
        std::snprintf(buf, sizeof buf, "AUC %.3f, alert rate %.3f", row.auc, row.alert_rate);
      }
      observer->end(row.skipped.empty() ? std::string(buf) : "skipped: " + row.skipped);
    }
    out.periods.push_back(std::move(row));
  }
  return out;
}

}  // namespace calibrisk
