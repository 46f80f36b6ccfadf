// SPDX-License-Identifier: Apache-2.0
/// @file validate.hpp
/// Rolling-origin (temporal) validation: how a model trained the way `train_pipeline` trains it
/// decays over time. The rows are cut into periods (months, quarters, years or equal-count bins
/// of the time column); for each origin t, the model is fitted on the periods before t, the
/// calibrator and the threshold on period t (the last training period), and the result is tested
/// on period t + 1, patient-disjoint like the calendar split. `calibrisk validate` and Python's
/// `calibrisk.validate` call `validate_rolling`. A multiclass label (TrainSpec::task, detected as
/// `train_pipeline` detects it) runs the multiclass road per origin (multinomial model, multiclass
/// calibrator, review queue chosen on the calibration period) and measures the K-class figures of
/// the test period (docs/cli.md "validate").
#pragma once

#include <calibrisk/split/periods.hpp>
#include <calibrisk/split/split.hpp>
#include <calibrisk/workflow/train.hpp>

#include <limits>
#include <string>
#include <vector>

namespace calibrisk {

/// What to validate: the training settings and the periods.
struct ValidateSpec {
  /// Columns (columns.time required), model, parameters, calibration, threshold policy and seed
  /// as for train_pipeline; its split fields are not used except `calendar.patients` (how a
  /// patient seen in an earlier period is treated in the test period: kExclude, the default,
  /// leaves their test rows out).
  TrainSpec train;
  TimeGranularity period = TimeGranularity::kQuarter;  ///< kAuto is not allowed here
  int n_bins = 8;             ///< periods when period == kBins, in [3, 1000]
  int min_train_periods = 2;  ///< periods up to the first origin (fit + calibration), >= 2
  /// Replicates of the bootstrap intervals (0 = none), <= 100000: the AUC's for a binary label,
  /// the K-class figures' for a multiclass one; patients (rows without a group column) are
  /// resampled, seeded by train.seed.
  int n_bootstrap = 200;
};

/// One origin: fitted on `fit_first`..`fit_last`, calibrated on `calibration`, tested on `period`.
struct PeriodResult {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::string period;  ///< the test period's label ("2023-Q3")
  double start = 0.0;  ///< the test period's first time key (days since 1970 for dates)
  std::string fit_first, fit_last, calibration;  ///< labels of the training periods
  Index n_fit = 0, n_calibration = 0, n_test = 0, events_test = 0;
  Index test_rows_left_out = 0;        ///< test rows of patients seen in fit/calibration (exclude)
  Index test_groups_seen_earlier = 0;  ///< test patients with rows in fit/calibration
  double auc = kNaN, auc_lower = kNaN, auc_upper = kNaN;  ///< ROC AUC, bootstrap interval
  double calibration_intercept = kNaN;                    ///< calibration-in-the-large (ideal 0)
  double calibration_slope = kNaN;                        ///< (ideal 1)
  double ici = kNaN;  ///< integrated calibration index (metrics::smoothed_calibration), ideal 0
  double threshold = kNaN;                 ///< chosen on the calibration period
  double alert_rate = kNaN;                ///< share of test rows at or above the threshold
  double expected_alert_rate = kNaN;       ///< the same on the calibration period (the prediction)
  double recall = kNaN, precision = kNaN;  ///< on the test period at the threshold
  double prevalence = kNaN, mean_risk = kNaN;  ///< observed and predicted event rate on test
  std::string skipped;  ///< non-empty: why this origin was not evaluated (e.g. a one-class part)
  std::vector<Index> test_rows;  ///< the test period's rows (table indices, input order)
  std::vector<double> test_p;    ///< their calibrated risks (empty when skipped)

  // ---- K-class labels (ValidationResult::n_classes > 2); binary fields above stay NaN -------
  double log_loss = kNaN;       ///< metrics::multiclass_log_loss of the test period
  double brier = kNaN;          ///< metrics::multiclass_brier_score (in [0, 2])
  double top_label_ece = kNaN;  ///< metrics::top_label_ece (10 uniform bins)
  double accuracy = kNaN;       ///< share of test rows whose arg max is their class
  /// 95 % percentile bootstrap intervals of the four figures above and of auto_accuracy and
  /// review_rate below (metrics::multiclass_bootstrap; ValidateSpec::n_bootstrap replicates
  /// resampling whole patients of the test period, not stratified by class, so the class mix
  /// varies as between periods; seeded by train.seed; the review queue's thresholds stay those
  /// chosen on period t).
  double log_loss_lower = kNaN, log_loss_upper = kNaN;
  double brier_lower = kNaN, brier_upper = kNaN;
  double top_label_ece_lower = kNaN, top_label_ece_upper = kNaN;
  double accuracy_lower = kNaN, accuracy_upper = kNaN;
  double auto_accuracy_lower = kNaN, auto_accuracy_upper = kNaN;
  double review_rate_lower = kNaN, review_rate_upper = kNaN;
  /// The review queue chosen on the calibration period (the spec's policy) and applied to the
  /// test period: the confidence threshold (NaN for conformal sets), the auto-routed rows, their
  /// accuracy and the review rate; the same two figures on the calibration period (expected).
  double review_threshold = kNaN;
  Index n_auto = 0;
  double auto_accuracy = kNaN, review_rate = kNaN;
  double expected_auto_accuracy = kNaN, expected_review_rate = kNaN;
  std::vector<Index> class_counts_test;  ///< test rows per class (class order)
  std::vector<double> test_y;            ///< the test rows' class indices (empty when skipped)
  RowMatrixXd test_P;  ///< their calibrated (n_test, K) probabilities (empty when skipped)
};

/// The per-period table.
struct ValidationResult {
  std::string granularity;  ///< "month", "quarter", "year" or "equal-count bins"
  bool time_in_days = false;
  std::vector<PeriodResult> periods;  ///< one per origin, in time order
  int n_classes = 2;                  ///< K; > 2 for a multiclass label
  std::vector<std::string> classes;   ///< K-class: the labels in class order (as train_pipeline)
  std::string review_policy;          ///< K-class: the policy text ("min_accuracy=0.95", ...)
};

/// The origins of rolling-origin validation over `time` (days since 1970 when `in_days`):
/// periods P_0..P_{m-1} by `granularity`; for test period j = k..m-1 (k = min_train_periods),
/// a calendar split with fit = P_0..P_{j-2}, calibration = P_{j-1}, test = P_j (later rows out),
/// patients handled by `patients`. Throws InvalidInput when there are fewer than k + 1 periods
/// (naming the count and the fix) and InvalidParams for k < 2 or kAuto.
struct RollingOrigin {
  std::string fit_first, fit_last, calibration, test;  ///< period labels
  double test_start = 0.0;
  TimeGroupSplit split;
};
std::vector<RollingOrigin> rolling_origins(const std::vector<double>& time,
                                           const std::vector<double>& group, bool in_days,
                                           TimeGranularity granularity, int n_bins,
                                           int min_train_periods, CalendarPatients patients);

/// Runs every origin of `rolling_origins` through train_pipeline's stages (same model,
/// parameters, calibration and policy) and measures the test period. An origin whose parts are
/// too small (< kMinPartRows rows) or hold one class is kept in the table with `skipped` set.
/// Throws InvalidParams / InvalidInput as train_pipeline does, and when no column time is given.
ValidationResult validate_rolling(const Table& table, const ValidateSpec& spec,
                                  TrainObserver* observer = nullptr);

}  // namespace calibrisk
