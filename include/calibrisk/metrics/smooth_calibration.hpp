// SPDX-License-Identifier: Apache-2.0
/// @file smooth_calibration.hpp
/// The smoothed (flexible) calibration curve and its summary numbers: ICI, E50, E90 and Emax
/// (Austin & Steyerberg 2019), calibration-in-the-large, a bootstrap band and intervals, and the
/// verdict on Van Calster's calibration hierarchy (Van Calster et al. 2016).
///
/// The curve is the lowess of the outcome y on the predicted risk p (Cleveland 1979), exactly as
/// statsmodels' `lowess(y, p, frac, it=0, delta=0)` and R's `lowess(p, y, iter = 0)` used by
/// `val.prob.ci.2` / CalibrationCurves: local linear fits with tricube weights over the
/// k = floor(frac * n) nearest rows (at least 2), the window sliding as statsmodels slides it. No
/// robustness iterations: with a 0/1 outcome the bisquare reweighting would treat every event of a
/// low-risk region as an outlier (which is why `val.prob.ci.2` uses iter = 0 too).
///
/// Sample weights (and bootstrap multiplicities) multiply the tricube weights, the slot
/// statsmodels calls `resid_weights`; the window stays the k nearest *rows*, so every bootstrap
/// replicate smooths with the same bandwidth.
///
/// Cost: an exact fit costs O(d * k) for d distinct predictions. When d exceeds `max_points`,
/// the sorted rows are cut into bins of at most ceil(n / max_points) rows and at most
/// (max p - min p) / max_points wide; the window still slides row by row with the exact radius,
/// its two end bins enter row by row, every other bin enters as one point at its mean prediction
/// (carrying its rows' weight and events); the curve is fitted at each bin point and at the
/// smallest and largest prediction, and each row's value is interpolated linearly between those
/// nodes. The result differs from the exact fit by about 1e-4 (docs/metrics.md gives the checks),
/// and n = 10^6 rows take about a second. Deterministic and independent of the thread count.
#pragma once

#include <calibrisk/core/params.hpp>
#include <calibrisk/metrics/bootstrap.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::metrics {

/// Settings of the smoothed calibration curve.
struct SmoothCalibrationParams {
  static constexpr const char* kName = "SmoothCalibrationParams";
  double frac = 2.0 / 3.0;  ///< lowess span: fraction of rows in each local fit, in (0, 1]
  /// Exact fit up to this many distinct predictions; above it, about this many bins (see the file
  /// comment). 0 = always exact (O(n^2) for continuous predictions: small data only; an exact
  /// fit needing more than 2e10 kernel evaluations is refused with InvalidParams).
  int max_points = 1000;
  /// Points of the plotted curve and its band, equally spaced over [min p, max p].
  int grid_points = 50;
  /// Fewer events or non-events than this: a warning with the count, and the hierarchy verdict is
  /// "insufficient data" (about 100 of each are needed for a stable curve: Vergouwe et al. 2005,
  /// Van Calster et al. 2016, Austin & Steyerberg 2019).
  int min_events = 100;
  template <class V>
  static void fields(V& v) {
    using P = SmoothCalibrationParams;
    v("frac", &P::frac, open_closed(0, 1).fix("2/3 is the lowess default."),
      "Lowess span: fraction of rows in each local fit.");
    v("max_points", &P::max_points, in_range(0, 1000000),
      "Exact fit up to this many distinct predictions, else about this many bins (0 = always "
      "exact).");
    v("grid_points", &P::grid_points, in_range(2, 10000),
      "Points of the plotted curve and its bootstrap band.");
    v("min_events", &P::min_events, at_least(0),
      "Fewer events or non-events: warn and call the hierarchy 'insufficient data'.");
  }
  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const { validate_params(*this); }
};

/// The smoothed curve on a grid: observed[j] is the lowess estimate of P(y = 1 | p = grid[j]).
struct SmoothCurve {
  std::vector<double> grid;
  std::vector<double> observed;
};

/// Point estimates of the smoothed calibration and its summary numbers.
struct SmoothCalibration {
  double ici = 0.0;   ///< weighted mean of |f(p) - p| over rows (Integrated Calibration Index)
  double e50 = 0.0;   ///< median of |f(p) - p| (numpy's linear rule on the weight-expanded rows)
  double e90 = 0.0;   ///< 90th percentile of |f(p) - p|
  double emax = 0.0;  ///< maximum of |f(p) - p| over rows with positive weight
  double mean_observed = 0.0;   ///< weighted mean of y
  double mean_predicted = 0.0;  ///< weighted mean of p
  /// mean_observed - mean_predicted (> 0: the model under-predicts on average)
  double calibration_in_the_large = 0.0;
  /// Cox intercept (slope fixed at 1) and calibration slope with standard errors, from
  /// `calibration_intercept_slope`; NaN fields when one class is missing.
  CalibrationFit fit;
  Index n = 0;             ///< rows
  Index n_events = 0;      ///< rows with y = 1
  Index n_nonevents = 0;   ///< rows with y = 0
  bool binned = false;     ///< true when the fit used `max_points` bins (see the file comment)
  Index n_fit_points = 0;  ///< distinct predictions (exact) or bins (binned)
  SmoothCurve curve;       ///< the curve on `grid_points` points over [min p, max p]
  std::vector<std::string> warnings;  ///< e.g. too few events, with the count
};

/// Lowess estimate of P(y = 1 | p) for every sorted position of `s` (aligned with `s.score()`),
/// under the weights `s` carries times the optional multiplicities. Needs probabilities
/// (InvalidInput otherwise). NaN only where no row in the window has positive weight.
std::vector<double> smoothed_observed(const SortedScores& s,
                                      const SmoothCalibrationParams& prm = {},
                                      const double* replicate_weight = nullptr);

/// The same from unsorted inputs, aligned with the input rows (y 0/1, p in [0, 1], optional
/// weights): statsmodels' `lowess(y, p, frac=frac, it=0, delta=0, return_sorted=False)` when
/// unweighted and the predictions have at most `max_points` distinct values.
std::vector<double> smoothed_observed(VectorView<const double> y, VectorView<const double> p,
                                      VectorView<const double> sample_weight = {},
                                      const SmoothCalibrationParams& prm = {});

/// The lowess curve evaluated at `grid` (any finite values, any order), as statsmodels'
/// `lowess(..., xvals=grid)`: NaN where the window has fewer than two rows of positive weight.
std::vector<double> smoothed_curve_at(const SortedScores& s, const std::vector<double>& grid,
                                      const SmoothCalibrationParams& prm = {},
                                      const double* replicate_weight = nullptr);

/// ICI, E50, E90, Emax, calibration-in-the-large, the Cox intercept/slope and the plotted curve.
/// One class only is allowed (the curve is then flat; `fit` is NaN); warns when events or
/// non-events are below `min_events`. Throws InvalidInput for non-probabilities, InvalidParams
/// for bad settings.
SmoothCalibration smoothed_calibration(const SortedScores& s,
                                       const SmoothCalibrationParams& prm = {});

/// The same from unsorted inputs.
SmoothCalibration smoothed_calibration(VectorView<const double> y, VectorView<const double> p,
                                       VectorView<const double> sample_weight = {},
                                       const SmoothCalibrationParams& prm = {});

/// One level of Van Calster's hierarchy with the numbers that decided it.
struct HierarchyLevel {
  bool assessed = false;  ///< false with insufficient data (or, for "moderate", no bootstrap)
  bool met = false;
  std::string evidence;  ///< e.g. "calibration intercept 0.03 (95% CI -0.05 to 0.11) contains 0"
};

/// Van Calster et al. (2016) hierarchy: mean, weak and moderate calibration (strong calibration,
/// the whole multivariable risk surface, cannot be checked from (y, p) alone).
/// - mean: the Wald interval of the Cox intercept (slope fixed at 1) contains 0;
/// - weak: additionally the Wald interval of the calibration slope contains 1;
/// - moderate: additionally the simultaneous bootstrap band of the smoothed curve contains the
///   diagonal at every grid point.
/// `verdict` is "insufficient data" (fewer than min_events events or non-events), "none" (not
/// even mean calibration), "mean", "weak" or "moderate": the highest level met with all below it.
struct CalibrationHierarchy {
  std::string verdict;
  HierarchyLevel mean, weak, moderate;
};

/// The smoothed calibration with bootstrap percentile intervals and a pointwise band.
struct SmoothCalibrationResult {
  SmoothCalibration point;
  /// "ici", "e50", "e90", "emax", "calibration_in_the_large", in that order (point = estimate)
  std::vector<BootstrapResult> intervals;
  std::vector<double> band_lower;  ///< pointwise percentile band of point.curve (NaN if undefined)
  std::vector<double> band_upper;
  /// Simultaneous (sup-t) band: point.curve +- c * bootstrap se, c the `confidence` quantile of
  /// the replicates' largest standardised deviation over the grid (Montiel Olea & Plagborg-Moller
  /// 2019). It covers the whole true curve with probability `confidence`, so "contains the
  /// diagonal everywhere" is a test at that level (the pointwise band would reject a calibrated
  /// model far more often than 1 - confidence).
  std::vector<double> simultaneous_lower;
  std::vector<double> simultaneous_upper;
  double confidence = 0.95;
  CalibrationHierarchy hierarchy;
};

/// Point estimates plus bootstrap intervals and band, and the hierarchy verdict.
///
/// The bootstrap is `metrics::bootstrap_vector` with `boot` (seeded, stratified, optionally grouped
/// by `groups`; bit-identical for any thread count). Each replicate refits the curve with the
/// replicate's multiplicities. Cost: n_replicates x (O(n log n) + the fit).
SmoothCalibrationResult smoothed_calibration_bootstrap(const SortedScores& s,
                                                       const SmoothCalibrationParams& prm,
                                                       const BootstrapParams& boot,
                                                       VectorView<const std::int64_t> groups = {});

/// The hierarchy verdict from a point estimate and an (optionally empty) simultaneous band at
/// `confidence`.
CalibrationHierarchy calibration_hierarchy(const SmoothCalibration& point,
                                           const std::vector<double>& band_lower,
                                           const std::vector<double>& band_upper, double confidence,
                                           int min_events);

}  // namespace calibrisk::metrics
