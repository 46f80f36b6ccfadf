// SPDX-License-Identifier: Apache-2.0
/// @file evaluate.hpp
/// Computes the evaluation report (report.hpp) from labels and probabilities: discrimination,
/// calibration before/after, the operating point, subgroups, metrics over time, top features and
/// provenance. Built on the metrics and threshold modules.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/report/report.hpp>
#include <calibrisk/split/periods.hpp>
#include <calibrisk/threshold/select.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// A subgroup variable: one code per row and, optionally, the label of each code.
///
/// Levels are the distinct codes in increasing order; a NaN code is the level "(missing)". With
/// `labels`, an integer code k in [0, labels.size()) shows as labels[k] (any other code, such as
/// `kUnseenCategory`, as "(unseen)"); without labels the code itself is shown ("1", "2.5").
struct SubgroupColumn {
  std::string name;
  VectorView<const double> codes;
  std::vector<std::string> labels;
};

/// A subgroup column viewing a Table column (numeric or categorical; the column must outlive
/// the evaluation). Categorical columns keep their labels.
inline SubgroupColumn subgroup_column(const Column& column) {
  return SubgroupColumn{column.name, VectorView<const double>(column.values), column.categories};
}

// TimeGranularity (month / quarter / year / bins) is calibrisk/split/periods.hpp's.

/// Everything `evaluate` reads. Views are non-owning: the caller keeps the data alive during the
/// call. Only `y` and `p` are required.
struct EvaluationInput {
  VectorView<const double> y;               ///< n labels, each 0 or 1; both classes needed
  VectorView<const double> p;               ///< n final (calibrated) probabilities in [0, 1]
  VectorView<const double> p_uncalibrated;  ///< empty, or n probabilities before calibration
  /// The operating point: flag p >= threshold (NaN = no operating point). Its counts and
  /// intervals are recomputed on this data; `policy` only describes how it was chosen.
  double threshold = std::numeric_limits<double>::quiet_NaN();
  std::string policy;
  std::vector<SubgroupColumn> subgroups;   ///< each with n codes
  VectorView<const double> time;           ///< empty, or n finite time keys
  bool time_in_days = true;                ///< keys are days since 1970-01-01 (else numbers)
  VectorView<const std::int64_t> groups;   ///< empty, or n patient ids (count, grouped bootstrap)
  FeatureMatrix X;                         ///< empty, or (n, k) features for missingness
  std::vector<std::string> feature_names;  ///< k names (default "x0", "x1", ...)
  std::vector<FeatureImportance> feature_importances;  ///< any order; the largest are shown
  std::string importance_kind;                         ///< e.g. "gain"
  std::vector<std::pair<std::string, std::string>> provenance;  ///< shown first, in order
  std::string title;  ///< "" = "calibrisk evaluation report"
};

/// Settings of `evaluate`.
struct EvaluationParams {
  static constexpr const char* kName = "EvaluationParams";
  int n_bootstrap = 200;     ///< replicates for AUC/AP/ECE intervals, in [0, 100000]; 0 = none
  double confidence = 0.95;  ///< level of every interval, in (0, 1)
  metrics::CalibrationBinning binning;  ///< reliability diagram and ECE bins (10 equal-width)
  std::uint64_t random_state = 0;  ///< bootstrap seed; same seed => same report for any n_threads
  int n_threads = 0;               ///< 0 = all OpenMP threads
  /// A subgroup is flagged when |calibration intercept| > intercept_tolerance AND the departure
  /// is beyond its own sampling noise (|intercept| > z · standard error, z at `confidence`), in
  /// (0, 10].
  double intercept_tolerance = 0.4;
  /// ... or when its recall at the threshold is more than recall_tolerance below the overall
  /// recall AND the upper Wilson bound of its recall is below the overall recall, in (0, 1].
  double recall_tolerance = 0.10;
  /// ... or when its ECE exceeds ece_tolerance, in [0, 1]; 0 (the default) disables this rule
  /// (ECE of a small group is biased upward by noise, so it is shown but not used to flag).
  double ece_tolerance = 0.0;
  Index min_subgroup_size = 50;   ///< smaller groups are shown but never flagged, >= 1
  int max_subgroup_levels = 100;  ///< a column with more levels is an InvalidInput, >= 1
  TimeGranularity time_granularity = TimeGranularity::kAuto;
  int n_time_bins = 8;         ///< periods for kBins, in [1, 1000]
  int max_curve_points = 400;  ///< ROC/PR curves are thinned to about this many points, >= 10
  double decision_curve_max =
      0.5;                  ///< decision-curve thresholds 0.01, 0.02, ... up to it, (0.01, 0.99]
  int n_top_features = 15;  ///< features shown, >= 1

  /// Each field once (binning is a CalibrationBinning with its own fields).
  template <class V>
  static void fields(V& v) {
    using P = EvaluationParams;
    v("n_bootstrap", &P::n_bootstrap, in_range(0, 100000).with_note("(0 = no bootstrap intervals)"),
      "Bootstrap replicates for the AUC, AP and ECE intervals.");
    v("confidence", &P::confidence, open_open(0, 1), "Level of every interval.");
    v("random_state", &P::random_state, any_value(),
      "Bootstrap seed; the same seed gives the same report for any n_threads.");
    v("n_threads", &P::n_threads, at_least(0).with_note("(0 = all)").execution(),
      "Threads; 0 = all OpenMP threads.");
    v("intercept_tolerance", &P::intercept_tolerance, open_closed(0, 10),
      "A subgroup is flagged when |calibration intercept| exceeds it and its standard error.");
    v("recall_tolerance", &P::recall_tolerance, open_closed(0, 1),
      "... or when its recall is this much below the overall recall (beyond its Wilson bound).");
    v("ece_tolerance", &P::ece_tolerance, in_range(0, 1).with_note("(0 = not used)"),
      "... or when its ECE exceeds it.");
    v("min_subgroup_size", &P::min_subgroup_size, at_least(1),
      "Smaller subgroups are shown but never flagged.");
    v("max_subgroup_levels", &P::max_subgroup_levels, at_least(1),
      "A subgroup column with more levels is an input error.");
    v("time_granularity", &P::time_granularity, any_value(),
      "Periods of the time section: auto, month, quarter, year or bins.");
    v("n_time_bins", &P::n_time_bins, in_range(1, 1000), "Periods when time_granularity is bins.");
    v("max_curve_points", &P::max_curve_points, at_least(10),
      "ROC / PR curves are thinned to about this many points.");
    v("decision_curve_max", &P::decision_curve_max, open_closed(0.01, 0.99),
      "Decision-curve thresholds 0.01, 0.02, ... up to it.");
    v("n_top_features", &P::n_top_features, at_least(1), "Features shown.");
  }
  void validate() const;  ///< Throws InvalidParams naming the field.
};

/// Computes the report.
///
/// Discrimination (ROC AUC, average precision) and ECE carry percentile bootstrap intervals
/// (stratified; grouped by `groups` when given, so a patient's encounters are resampled together);
/// the operating point's proportions carry Wilson intervals. Calibration intercept and slope
/// follow Cox (1958), Spiegelhalter's z (1986), ECE Naeini et al. (2015), decision curves
/// Vickers & Elkin (2006). Sections without input (no threshold, no time key, ...) are left empty
/// and a note says so. A statistic undefined on the data (Spiegelhalter's z when every prediction
/// is 0, 0.5 or 1; the slope of constant scores; the AUC of a one-class subgroup or period; ...)
/// is NaN with its reason in the section's `undefined` map — never an exception. With
/// `p_uncalibrated`, `Report::ranking` says whether calibration keeps, reverses or flattens the
/// ranking of the model's scores (flagged cases also add a note).
///
/// Throws InvalidInput naming the field when lengths differ, y is not 0/1 or has one class only,
/// probabilities are outside [0, 1] or non-finite, a time key is non-finite, a subgroup column
/// has too many levels, or names/importances are inconsistent; InvalidParams for bad params.
/// Complexity O(n log n + n_bootstrap · n); uses `n_threads` threads for the bootstrap; the
/// result does not depend on the thread count.
Report evaluate(const EvaluationInput& input, const EvaluationParams& params = {});

}  // namespace calibrisk
