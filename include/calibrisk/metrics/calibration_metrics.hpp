// SPDX-License-Identifier: Apache-2.0
/// @file calibration_metrics.hpp
/// How honest are the probabilities: expected and maximum calibration error, the reliability curve
/// with Wilson intervals, calibration-in-the-large and calibration slope (logistic recalibration),
/// and Spiegelhalter's z-test.
///
/// References: Naeini, Cooper & Hauskrecht (2015) for ECE/MCE; Cox (1958) and Van Calster et al.
/// (2016, 2019) for the calibration intercept and slope; Spiegelhalter (1986) for the z-test;
/// Wilson (1927) for the score interval.
#pragma once

#include <calibrisk/core/math.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/metrics/intervals.hpp>
#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::metrics {

/// How the probability axis is cut into bins.
enum class BinStrategy {
  kUniform,   ///< equal width: edges j / n_bins, as sklearn's calibration_curve(strategy="uniform")
  kQuantile,  ///< equal frequency: edges at the j / n_bins quantiles of p (numpy's linear rule)
};

/// The one text table of BinStrategy (scikit-learn's `strategy` names).
inline const EnumTable<BinStrategy>& enum_table(BinStrategy) {
  static const EnumText<BinStrategy> e[] = {{BinStrategy::kUniform, "uniform"},
                                            {BinStrategy::kQuantile, "quantile"}};
  static const EnumTable<BinStrategy> t{e, 2, "BinStrategy"};
  return t;
}

/// Binning of ECE, MCE and the reliability curve.
///
/// A probability p falls in bin b when edges[b] < p <= edges[b + 1] (the first bin also holds
/// edges[0]): numpy's `searchsorted(inner_edges, p)`, exactly as scikit-learn's calibration_curve.
/// Quantile edges follow `np.percentile(p, 100 * j / n_bins)` (linear interpolation); with sample
/// weights (or bootstrap multiplicities) the same rule is applied to the weight-expanded sample (a
/// row of weight w occupies w positions; exact for integer weights). Duplicate quantile edges
/// give empty bins, which are skipped.
struct CalibrationBinning {
  static constexpr const char* kName = "CalibrationBinning";
  int n_bins = 10;  ///< number of bins, in [1, 100000]
  BinStrategy strategy = BinStrategy::kUniform;
  template <class V>
  static void fields(V& v) {
    using P = CalibrationBinning;
    v("n_bins", &P::n_bins, in_range(1, 100000).fix("10 or 15 are common choices."),
      "Number of bins.");
    v("strategy", &P::strategy, any_value(),
      "uniform: equal-width bins; quantile: bins with about equal counts.");
  }
  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const { validate_params(*this); }
};

/// One non-empty bin of a reliability curve.
struct ReliabilityBin {
  double lower = 0.0;           ///< bin edge (exclusive, except for the first bin)
  double upper = 0.0;           ///< bin edge (inclusive)
  Index count = 0;              ///< rows with positive weight in the bin
  double weight = 0.0;          ///< total weight in the bin (== count when unweighted)
  double mean_predicted = 0.0;  ///< weighted mean of p in the bin
  double observed_rate = 0.0;   ///< weighted fraction of positives in the bin
  double ci_lower = 0.0;        ///< Wilson interval of observed_rate (effective sample size n_eff)
  double ci_upper = 1.0;
  double effective_n = 0.0;  ///< Kish (sum w)^2 / sum w^2; == count when unweighted
};

/// The reliability diagram: non-empty bins in increasing probability, plus the bin edges used.
struct ReliabilityCurve {
  std::vector<ReliabilityBin> bins;
  std::vector<double>
      edges;  ///< n_bins + 1 edges (edges[0] = 0 and edges[n_bins] = 1 for kUniform)
  double confidence = 0.95;
};

namespace detail {
/// numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5 (monotone, exact at ends).
inline double numpy_lerp(double a, double b, double t) noexcept {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}
}  // namespace detail

/// Expected calibration error: sum over non-empty bins of (bin weight / total weight) x
/// |observed rate - mean predicted| (Naeini et al. 2015), bins as in `CalibrationBinning`.
///
/// Needs probabilities in [0, 1] (InvalidInput otherwise); one class is allowed. With
/// `replicate_weight` (bootstrap multiplicities aligned with the sorted order) returns NaN when the
/// replicate has zero weight. O(n + n_bins), thread-safe.
double expected_calibration_error(const SortedScores& s, const CalibrationBinning& b = {},
                                  const double* replicate_weight = nullptr);

/// ECE from unsorted inputs: y (0/1), p (probabilities), optional weights.
double expected_calibration_error(VectorView<const double> y, VectorView<const double> p,
                                  VectorView<const double> sample_weight = {},
                                  const CalibrationBinning& b = {});

/// Maximum calibration error: the largest |observed rate - mean predicted| over non-empty bins.
/// Same contract as `expected_calibration_error`.
double max_calibration_error(const SortedScores& s, const CalibrationBinning& b = {},
                             const double* replicate_weight = nullptr);

/// MCE from unsorted inputs.
double max_calibration_error(VectorView<const double> y, VectorView<const double> p,
                             VectorView<const double> sample_weight = {},
                             const CalibrationBinning& b = {});

/// Reliability curve: per non-empty bin the row count, total weight, mean prediction, observed
/// rate and its Wilson interval at `confidence` (with weights, on Kish's effective sample size).
/// For unweighted data, mean_predicted / observed_rate equal sklearn's calibration_curve
/// (prob_pred / prob_true). Throws InvalidInput for non-probabilities, InvalidParams for a bad
/// binning or confidence. O(n + n_bins).
ReliabilityCurve reliability_curve(const SortedScores& s, const CalibrationBinning& b = {},
                                   double confidence = 0.95);

/// Reliability curve from unsorted inputs.
ReliabilityCurve reliability_curve(VectorView<const double> y, VectorView<const double> p,
                                   VectorView<const double> sample_weight = {},
                                   const CalibrationBinning& b = {}, double confidence = 0.95);

/// Probabilities are clipped to [kLogitEps, 1 - kLogitEps] before taking logit(p) = ln(p / (1-p))
/// in the recalibration fits (|logit| <= 34.5), so p = 0 or 1 stay usable.
inline constexpr double kLogitEps = 1e-15;

/// Logistic recalibration of the logit (Cox 1958; Van Calster et al. 2016):
/// - calibration-in-the-large: logit P(y=1) = a + logit(p), slope fixed at 1 (an offset logistic
///   regression); ideal a = 0, a > 0 means the model under-predicts on average;
/// - calibration slope: logit P(y=1) = c + b logit(p); ideal b = 1, b < 1 means predictions are
///   too extreme (overfitting), b > 1 too moderate.
/// Both are weighted maximum-likelihood fits by Newton's method with step halving; standard
/// errors from the inverse observed information.
struct CalibrationFit {
  double intercept = 0.0;           ///< a of the offset model (calibration-in-the-large)
  double intercept_se = 0.0;        ///< its standard error
  double slope = 1.0;               ///< b of the recalibration model
  double slope_se = 0.0;            ///< its standard error
  double slope_intercept = 0.0;     ///< c of the recalibration model (the intercept next to b)
  int n_iter = 0;                   ///< Newton iterations used (both fits together)
  bool converged = true;            ///< intercept_converged && slope_converged
  bool intercept_converged = true;  ///< false when the offset fit stopped without converging
  /// false when the slope fit stopped without converging (e.g. the scores separate the classes
  /// perfectly, so the maximum-likelihood slope is infinite; `slope` is then the last iterate) or
  /// could not run (`slope_identifiable` false).
  bool slope_converged = true;
  /// false when every (clipped) logit is the same: the slope is not identifiable, so `slope`,
  /// `slope_se` and `slope_intercept` are NaN (the intercept is still defined).
  bool slope_identifiable = true;
};

/// Settings of the recalibration fits.
struct CalibrationFitParams {
  static constexpr const char* kName = "CalibrationFitParams";
  int max_iter = 100;  ///< Newton iterations per fit, >= 1
  double tol = 1e-10;  ///< stop when the largest Newton step is below tol, > 0
  template <class V>
  static void fields(V& v) {
    using P = CalibrationFitParams;
    v("max_iter", &P::max_iter, at_least(1), "Newton iterations per fit.");
    v("tol", &P::tol, above(0), "Stop when the largest Newton step is below tol.");
  }
  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const { validate_params(*this); }
};

/// Calibration-in-the-large and calibration slope (see `CalibrationFit`).
///
/// Needs probabilities and both classes with positive weight (InvalidInput otherwise). On
/// separable data the slope diverges: the fit stops at max_iter with `slope_converged = false`.
/// When every prediction has the same logit (constant p) the slope is undefined: NaN, with
/// `slope_identifiable = false` (previously the starting value 1 was returned).
/// O(n x iterations); thread-safe.
CalibrationFit calibration_intercept_slope(const SortedScores& s,
                                           const CalibrationFitParams& prm = {},
                                           const double* replicate_weight = nullptr);

/// Calibration intercept and slope from unsorted inputs.
CalibrationFit calibration_intercept_slope(VectorView<const double> y, VectorView<const double> p,
                                           VectorView<const double> sample_weight = {},
                                           const CalibrationFitParams& prm = {});

/// Spiegelhalter's z-test of calibration (Spiegelhalter 1986).
struct SpiegelhalterResult {
  double z = 0.0;        ///< sum w (y - p)(1 - 2p) / sqrt(sum w^2 (1 - 2p)^2 p (1 - p))
  double p_value = 1.0;  ///< two-sided, 2 (1 - Phi(|z|)) (Boost.Math normal)
};

/// Why Spiegelhalter's z is undefined on some data (the reason reports print next to "undefined").
inline constexpr const char* kSpiegelhalterUndefined =
    "its variance is zero: every prediction is 0, 0.5 or 1";

/// Spiegelhalter's z where it is defined, else z = p_value = NaN (zero variance, see
/// `kSpiegelhalterUndefined`) instead of an exception: the form the evaluation report uses, so
/// degenerate predictions (e.g. all 0.5) never abort a report. Needs probabilities.
SpiegelhalterResult spiegelhalter_or_nan(const SortedScores& s,
                                         const double* replicate_weight = nullptr);

/// Spiegelhalter's z: under perfect calibration E[z] = 0, Var[z] = 1 (asymptotically normal).
/// Weighted form: numerator and variance carry w and w^2. Needs probabilities; InvalidInput when
/// the variance is zero (every p in {0, 0.5, 1}: the statistic is undefined, 0/0) — use
/// `spiegelhalter_or_nan` to get NaN instead. With `replicate_weight`, NaN instead of throwing.
SpiegelhalterResult spiegelhalter_test(const SortedScores& s,
                                       const double* replicate_weight = nullptr);

/// Spiegelhalter's z from unsorted inputs.
SpiegelhalterResult spiegelhalter_test(VectorView<const double> y, VectorView<const double> p,
                                       VectorView<const double> sample_weight = {});

}  // namespace calibrisk::metrics
