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

/// The subgroup variable that crosses `parts` (an intersection such as age_band × sex), named
/// "a*b*c" after the parts. Each combination of levels that occurs is one level, labelled
/// "age_band=70+ & sex=F" (a part's missing value shows as "(missing)", so no row is dropped);
/// combinations without rows are absent. Levels are ordered by the parts' level order (first part
/// slowest). `codes` receives one code per row and the result views it: keep `codes` alive as
/// long as the result. Throws InvalidInput when `parts` is empty or lengths differ.
SubgroupColumn cross_subgroups(const std::vector<SubgroupColumn>& parts,
                               std::vector<double>& codes);

/// The columns a subgroup spec names, checked against the available `columns`: a spec that is
/// exactly a column name is that column (so a column named "a*b" wins over crossing a and b);
/// otherwise "a*b" or "a*b*c" names the columns to cross (spaces around each name are ignored).
/// Throws InvalidInput, prefixed with `where` (e.g. "--subgroup age_band*sex"), naming an unknown
/// column (listing the available ones), an empty or repeated name.
std::vector<std::string> subgroup_spec_columns(const std::string& spec,
                                               const std::vector<std::string>& columns,
                                               const std::string& where);

/// How the p-values of the subgroup tests are adjusted for multiple comparisons.
enum class Multiplicity {
  kHolm,               ///< Holm (1979) step-down: controls the family-wise error rate
  kBenjaminiHochberg,  ///< Benjamini & Hochberg (1995): controls the false discovery rate
  kNone,               ///< raw p-values (every test at level alpha on its own)
};

/// The one text table of Multiplicity (Python's `multiplicity=`).
inline const EnumTable<Multiplicity>& enum_table(Multiplicity) {
  static const EnumText<Multiplicity> e[] = {{Multiplicity::kHolm, "holm"},
                                             {Multiplicity::kBenjaminiHochberg, "bh"},
                                             {Multiplicity::kNone, "none"}};
  static const EnumTable<Multiplicity> t{e, 3, "Multiplicity"};
  return t;
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
  /// A subgroup is flagged when |calibration intercept| > intercept_tolerance AND its
  /// calibration test (observed vs expected events) is significant after the multiplicity
  /// adjustment (adjusted p < 1 − confidence), in (0, 10].
  double intercept_tolerance = 0.4;
  /// ... or when its recall at the threshold is more than recall_tolerance below the recall of
  /// the other rows AND the two-proportion test is significant after adjustment, in (0, 1].
  double recall_tolerance = 0.10;
  /// ... or when its ECE exceeds ece_tolerance, in [0, 1]; 0 (the default) disables this rule
  /// (ECE of a small group is biased upward by noise, so it is shown but not used to flag).
  double ece_tolerance = 0.0;
  Index min_subgroup_size = 50;  ///< smaller groups are shown but never tested or flagged, >= 1
  /// A column (or intersection) with more levels keeps its max_subgroup_levels largest levels
  /// and pools the others into one level "(N other levels)"; a section note says so. >= 1.
  int max_subgroup_levels = 100;
  /// Adjustment of the subgroup p-values over all tests of all columns (Holm by default).
  Multiplicity multiplicity = Multiplicity::kHolm;
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
      "A subgroup is flagged when |calibration intercept| exceeds it and its calibration test "
      "is significant after adjustment.");
    v("recall_tolerance", &P::recall_tolerance, open_closed(0, 1),
      "... or when its recall is this much below the other rows' recall (significant after "
      "adjustment).");
    v("ece_tolerance", &P::ece_tolerance, in_range(0, 1).with_note("(0 = not used)"),
      "... or when its ECE exceeds it.");
    v("min_subgroup_size", &P::min_subgroup_size, at_least(1),
      "Smaller subgroups are shown but never tested or flagged.");
    v("max_subgroup_levels", &P::max_subgroup_levels, at_least(1),
      "A subgroup column with more levels keeps this many largest levels and pools the rest.");
    v("multiplicity", &P::multiplicity, any_value(),
      "Adjustment of the subgroup p-values for multiple comparisons: holm, bh or none.");
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
/// probabilities are outside [0, 1] or non-finite, a time key is non-finite, or names/importances
/// are inconsistent; InvalidParams for bad params. Subgroups: see docs/report.md ("Subgroup
/// flags") for the tests, the multiplicity adjustment and the level cap.
/// Complexity O(n log n + n_bootstrap · n); uses `n_threads` threads for the bootstrap; the
/// result does not depend on the thread count.
Report evaluate(const EvaluationInput& input, const EvaluationParams& params = {});

}  // namespace calibrisk
