// SPDX-License-Identifier: Apache-2.0
/// @file monitor.hpp
/// Monitoring after go-live: compares a batch of rows (and, when known, their outcomes) with what
/// the pipeline saw in training (docs/monitoring.md). Grows `Pipeline::check_inputs` (ranges,
/// unseen categories, missing rates) into per-feature population stability indices, the shift of
/// the score distribution and of the alert rate, and with labels calibration drift and recall at
/// the threshold. Every check has a status ok / warn / alarm against a documented threshold of
/// `MonitorOptions`.
///
/// @code
///   calibrisk::Pipeline pipe = calibrisk::load("model.json");
///   calibrisk::MonitorResult r = calibrisk::monitor(pipe, batch);       // or (pipe, batch, y)
///   if (r.status == calibrisk::MonitorStatus::kAlarm) page_someone(r.summary());
/// @endcode
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <limits>
#include <string>
#include <vector>

namespace calibrisk {

/// The outcome of one check, ordered by severity.
enum class MonitorStatus { kOk = 0, kWarn = 1, kAlarm = 2 };

/// "ok", "warn" or "alarm".
const char* monitor_status_name(MonitorStatus s) noexcept;

/// Thresholds of the checks (declared once in `fields`; docs/monitoring.md explains each).
struct MonitorOptions {
  static constexpr const char* kName = "MonitorOptions";
  double psi_warn = 0.1;             ///< PSI at or above this warns (the usual convention).
  double psi_alarm = 0.25;           ///< PSI at or above this alarms.
  double psi_epsilon = 1e-4;         ///< Floor of a bin share in the PSI (empty bins).
  double out_of_range_warn = 0.01;   ///< Share of non-missing values outside the training range.
  double out_of_range_alarm = 0.05;  ///< ... at or above this alarms.
  double unseen_warn = 0.01;         ///< Share of rows with an unseen category code: warn.
  double unseen_alarm = 0.05;        ///< ... alarm.
  double missing_rate_tolerance = 0.05;  ///< Missing-rate change needed (with |z|) to alarm.
  double missing_z = 3.0;                ///< Critical |z| of the two-proportion test.
  double warn_confidence = 0.95;         ///< Interval level of the rate / calibration warn checks.
  double alarm_confidence = 0.99;        ///< Interval level of the rate / calibration alarm checks.
  Index max_examples = 5;                ///< Example rows kept per feature signal.
  /// K-class with labels: replicates of the parametric bootstrap that gives the top-label ECE
  /// its noise allowance (0 = report the ECE without a status).
  Index ece_replicates = 1000;

  template <class V>
  static void fields(V& v) {
    using P = MonitorOptions;
    v("psi_warn", &P::psi_warn, above(0), "PSI at or above this is a warning.");
    v("psi_alarm", &P::psi_alarm, above(0), "PSI at or above this is an alarm (>= psi_warn).");
    v("psi_epsilon", &P::psi_epsilon, open_open(0, 1),
      "Floor of a bin share in the PSI, so an empty bin gives a finite term.");
    v("out_of_range_warn", &P::out_of_range_warn, open_closed(0, 1),
      "Share of non-missing values outside the training [min, max] that warns.");
    v("out_of_range_alarm", &P::out_of_range_alarm, open_closed(0, 1),
      "Share outside the training range that alarms (>= out_of_range_warn).");
    v("unseen_warn", &P::unseen_warn, open_closed(0, 1),
      "Share of rows with a category code unseen in training that warns.");
    v("unseen_alarm", &P::unseen_alarm, open_closed(0, 1),
      "Share of rows with an unseen category code that alarms (>= unseen_warn).");
    v("missing_rate_tolerance", &P::missing_rate_tolerance, in_range(0, 1),
      "Absolute missing-rate change that, with |z| > missing_z, alarms.");
    v("missing_z", &P::missing_z, above(0), "Critical |z| of the missing-rate test.");
    v("warn_confidence", &P::warn_confidence, open_open(0, 1),
      "Level of the intervals whose miss of the expected value warns.");
    v("alarm_confidence", &P::alarm_confidence, open_open(0, 1),
      "Level of the intervals whose miss of the expected value alarms (>= warn_confidence).");
    v("max_examples", &P::max_examples, in_range(0, 1000), "Example rows kept per feature.");
    v("ece_replicates", &P::ece_replicates, in_range(0, 100000),
      "K-class: bootstrap replicates of the top-label ECE's noise allowance (0 = no status).");
  }
  /// Throws InvalidParams naming the field (also when a warn level exceeds its alarm level).
  void validate() const;
};

/// The checks of one feature.
struct FeatureMonitor {
  Index feature = 0;
  std::string name;
  bool categorical = false;
  /// Population stability index against the training reference; NaN when the model has no
  /// reference (saved before format 1.3) or the batch has no rows.
  double psi = std::numeric_limits<double>::quiet_NaN();
  MonitorStatus psi_status = MonitorStatus::kOk;
  double missing_rate = 0.0;
  double train_missing_rate = std::numeric_limits<double>::quiet_NaN();
  double missing_rate_z = 0.0;
  MonitorStatus missing_status = MonitorStatus::kOk;
  Index n_out_of_range = 0;      ///< Non-missing values below the training min or above its max.
  double out_of_range_rate = 0;  ///< ... as a share of non-missing values.
  MonitorStatus range_status = MonitorStatus::kOk;
  Index n_unseen_category = 0;  ///< Values that are not a training category code.
  double unseen_rate = 0;       ///< ... as a share of rows.
  MonitorStatus unseen_status = MonitorStatus::kOk;
  std::vector<Index> example_rows;            ///< A few rows out of range or with an unseen code.
  MonitorStatus status = MonitorStatus::kOk;  ///< The worst of the above.
};

/// An observed proportion, its Wilson intervals at the warn and alarm levels, and the value it is
/// expected to be near. When the expected value is itself a proportion of `expected_n` > 0 rows
/// (the calibration part), the status comes from Newcombe's hybrid score interval of the
/// difference observed - expected (Wilson intervals of both; Newcombe 1998, method 10): warn /
/// alarm when it excludes 0 at that level. With `expected_n` = 0 the expected value is taken as
/// exact: warn / alarm when it lies outside the batch's Wilson interval of that level.
struct RateCheck {
  double successes = 0, n = 0;
  double observed = std::numeric_limits<double>::quiet_NaN();
  double expected = std::numeric_limits<double>::quiet_NaN();
  double expected_n = 0;  ///< Rows behind `expected` (0 = unknown: treated as exact).
  /// Newcombe interval of observed - expected at the alarm level (NaN when expected_n = 0).
  double difference_lower = std::numeric_limits<double>::quiet_NaN();
  double difference_upper = std::numeric_limits<double>::quiet_NaN();
  double warn_lower = std::numeric_limits<double>::quiet_NaN();
  double warn_upper = std::numeric_limits<double>::quiet_NaN();
  double alarm_lower = std::numeric_limits<double>::quiet_NaN();
  double alarm_upper = std::numeric_limits<double>::quiet_NaN();
  bool evaluated = false;  ///< false when n == 0 or nothing is expected (status then ok).
  MonitorStatus status = MonitorStatus::kOk;
};

/// Everything `monitor` found in a batch.
struct MonitorResult {
  Index n_rows = 0;            ///< Rows in the batch.
  Index n_scored = 0;          ///< Rows scored (rows with an infinite value are not).
  bool has_reference = false;  ///< The model carries training distributions (format 1.3).
  bool has_labels = false;
  std::vector<std::string> errors;       ///< Input errors (infinite values, wrong width).
  std::vector<FeatureMonitor> features;  ///< Every schema feature, in schema order.
  double score_psi =
      std::numeric_limits<double>::quiet_NaN();  ///< Risk distribution vs calibration.
  MonitorStatus score_status = MonitorStatus::kOk;
  RateCheck alert_rate;  ///< Share flagged vs the alert rate expected at the operating point.
  // With labels:
  double prevalence = std::numeric_limits<double>::quiet_NaN();
  double calibration_intercept = std::numeric_limits<double>::quiet_NaN();  ///< 0 = calibrated.
  double calibration_intercept_se = std::numeric_limits<double>::quiet_NaN();
  double intercept_warn_lower = std::numeric_limits<double>::quiet_NaN();
  double intercept_warn_upper = std::numeric_limits<double>::quiet_NaN();
  double intercept_alarm_lower = std::numeric_limits<double>::quiet_NaN();
  double intercept_alarm_upper = std::numeric_limits<double>::quiet_NaN();
  MonitorStatus calibration_status = MonitorStatus::kOk;
  /// Integrated calibration index of the labelled batch (metrics::smoothed_calibration, lowess
  /// of y on risk); reported for trend-watching, no status of its own. NaN without both classes.
  double ici = std::numeric_limits<double>::quiet_NaN();
  RateCheck recall;  ///< Recall at the threshold vs the recall recorded at the operating point.

  // K-class pipelines (n_classes > 2; docs/monitoring.md "K-class models"): `score_psi` compares
  // the top-label confidence max_k P with its calibration-part distribution, `alert_rate` and
  // `recall` are not evaluated, and instead:
  int n_classes = 2;  ///< The pipeline's K (2 for a binary pipeline).
  /// Share of rows routed to review vs the review rate of the policy on the calibration part.
  RateCheck review_rate;
  /// With labels: accuracy of the auto-routed rows vs their accuracy on the calibration part.
  RateCheck auto_accuracy;
  /// With labels: top-label ECE (metrics::top_label_ece, 10 uniform bins) of the batch and of
  /// the calibration part (the pipeline's operating-point figure `top_label_ece`; NaN for files
  /// without it).
  double top_label_ece = std::numeric_limits<double>::quiet_NaN();
  double expected_top_label_ece = std::numeric_limits<double>::quiet_NaN();
  /// The batch's ECE limits: the warn_confidence / alarm_confidence quantiles of its top-label
  /// ECE under the null "as calibrated as on the calibration part", by a parametric bootstrap
  /// (consistency resampling, Broecker & Smith 2007) over the batch's own confidences c_i: in each
  /// of `ece_replicates` replicates, row i is correct with probability max(0, c_i - e_ref)
  /// (e_ref = expected_top_label_ece, a uniform over-confidence that gives a population ECE of
  /// e_ref), and the ECE of the replicate is taken with the same bins. The allowance so holds both
  /// the reference's miscalibration and the batch-size noise of the binned ECE (which grows as
  /// the batch shrinks). Seeded (Rng(0, replicate)): the same batch gives the same limits.
  double top_label_ece_warn = std::numeric_limits<double>::quiet_NaN();
  double top_label_ece_alarm = std::numeric_limits<double>::quiet_NaN();
  /// Share of replicates whose ECE is at least the batch's (NaN when not evaluated).
  double top_label_ece_p_value = std::numeric_limits<double>::quiet_NaN();
  /// warn / alarm when top_label_ece exceeds top_label_ece_warn / top_label_ece_alarm; ok when
  /// not evaluated (no reference ECE, ece_replicates = 0, no labels).
  MonitorStatus top_label_ece_status = MonitorStatus::kOk;
  std::vector<std::string> notes;             ///< What could not be checked, and why.
  MonitorOptions options;                     ///< The thresholds the checks used.
  MonitorStatus status = MonitorStatus::kOk;  ///< The worst status of every check.

  /// A readable multi-line summary (one line per check that is not ok, then the notes).
  std::string summary() const;
  /// The result as a JSON document (docs/monitoring.md lists the fields); NaN is null.
  std::string to_json() const;
  /// A self-contained HTML page (every string from data escaped).
  std::string to_html(const std::string& title = "calibrisk monitoring") const;
};

/// Runs every check of a batch X (n, n_features) against the pipeline; `y` (0/1, one per row, or
/// empty; class indices 0..K-1 for a K-class pipeline) enables the label checks. Never changes
/// scores. Throws InvalidInput when y has the wrong length or a value other than 0 / 1,
/// InvalidParams for bad options. Input errors of X (wrong column count, infinite values) are
/// reported in `errors` with status alarm. Complexity O(n * (features + log bins)) plus one batch
/// scoring.
MonitorResult monitor(const Pipeline& pipeline, const FeatureMatrix& X,
                      VectorView<const double> y = {}, const MonitorOptions& options = {});

/// PSI = sum_b (a_b - e_b) ln(a_b / e_b) over bins with a_b = max(actual share, eps) and
/// e_b = max(expected share, eps). Throws InvalidInput when the sizes differ.
double population_stability_index(const std::vector<double>& expected,
                                  const std::vector<double>& actual, double eps = 1e-4);

}  // namespace calibrisk
