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

/// Binning of ECE, MCE and the reliability curve.
///
/// A probability p falls in bin b when edges[b] < p <= edges[b + 1] (the first bin also holds
/// edges[0]): numpy's `searchsorted(inner_edges, p)`, exactly as scikit-learn's calibration_curve.
/// Quantile edges follow `np.percentile(p, 100 * j / n_bins)` (linear interpolation); with sample
/// weights (or bootstrap multiplicities) the same rule is applied to the weight-expanded sample (a
/// row of weight w occupies w positions; exact for integer weights). Duplicate quantile edges
/// give empty bins, which are skipped.
struct CalibrationBinning {
  int n_bins = 10;  ///< number of bins, in [1, 100000]
  BinStrategy strategy = BinStrategy::kUniform;
  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const {
    if (n_bins < 1 || n_bins > 100000) {
      throw InvalidParams("CalibrationBinning.n_bins must be in [1, 100000], got " +
                          std::to_string(n_bins) + "; 10 or 15 are common choices.");
    }
  }
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

/// Bin edges for the sorted (decreasing) scores under weights w (see CalibrationBinning).
template <class W>
std::vector<double> bin_edges(const SortedScores& s, W w, const CalibrationBinning& b) {
  const int nb = b.n_bins;
  std::vector<double> e(static_cast<std::size_t>(nb) + 1);
  const double step = 1.0 / nb;  // numpy.linspace(0, 1, nb + 1) computes j * step
  for (int j = 0; j <= nb; ++j) e[j] = j * step;
  e[nb] = 1.0;
  if (b.strategy == BinStrategy::kUniform) return e;
  const Index n = s.size();
  const double* sc = s.score().data();
  double total = 0.0;
  for (Index i = 0; i < n; ++i) total += w(i);
  // Ascending position k corresponds to sorted index n - 1 - k. Walk once; targets increase.
  Index k = 0;            // current ascending element
  double cum = w(n - 1);  // cumulative weight through element k
  auto value_at = [&](double t) {
    // first ascending element whose cumulative weight exceeds t (clamped to the last one)
    while (k + 1 < n && !(cum > t)) {
      ++k;
      cum += w(n - 1 - k);
    }
    return sc[n - 1 - k];
  };
  for (int j = 0; j <= nb; ++j) {
    const double q = (j * step * 100.0) / 100.0;  // np.percentile(q * 100) divides by 100 again
    const double h = std::max(0.0, q * (total - 1.0));
    const double lo = std::floor(h);
    const double g = h - lo;
    const double a = value_at(lo);
    // value_at is monotone in its argument; peek the next position without losing the state.
    const Index k_saved = k;
    const double cum_saved = cum;
    const double bval = value_at(lo + 1.0);
    k = k_saved;
    cum = cum_saved;
    e[j] = numpy_lerp(a, bval, g);
  }
  return e;
}

/// Per-bin weighted sums over the sorted scores.
struct BinSums {
  std::vector<Index> count;
  std::vector<double> w, wp, wy, w2;
};

template <class W>
BinSums bin_sums(const SortedScores& s, W w, const std::vector<double>& edges) {
  const int nb = static_cast<int>(edges.size()) - 1;
  BinSums r;
  r.count.assign(nb, 0);
  r.w.assign(nb, 0.0);
  r.wp.assign(nb, 0.0);
  r.wy.assign(nb, 0.0);
  r.w2.assign(nb, 0.0);
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  const Index n = s.size();
  int bin = nb - 1;  // scores decrease, so the bin index only decreases along the pass
  for (Index i = 0; i < n; ++i) {
    const double p = sc[i];
    // bin(p) = #inner edges strictly below p; inner edges are edges[1..nb-1]
    while (bin > 0 && !(edges[bin] < p)) --bin;
    const double wi = w(i);
    if (wi > 0.0) {
      ++r.count[bin];
      r.w[bin] += wi;
      r.wp[bin] += wi * p;
      r.wy[bin] += y[i] ? wi : 0.0;
      r.w2[bin] += wi * wi;
    }
  }
  return r;
}

template <class W>
double ece_kernel(const SortedScores& s, W w, const CalibrationBinning& b, bool maximum) {
  const BinSums bs = bin_sums(s, w, bin_edges(s, w, b));
  double total = 0.0, acc = 0.0, mx = 0.0;
  for (std::size_t j = 0; j < bs.w.size(); ++j) total += bs.w[j];
  if (!(total > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  for (std::size_t j = 0; j < bs.w.size(); ++j) {
    if (!(bs.w[j] > 0.0)) continue;
    const double gap = std::fabs(bs.wy[j] / bs.w[j] - bs.wp[j] / bs.w[j]);
    acc += (bs.w[j] / total) * gap;
    mx = std::max(mx, gap);
  }
  return maximum ? mx : acc;
}

}  // namespace detail

/// Expected calibration error: sum over non-empty bins of (bin weight / total weight) x
/// |observed rate - mean predicted| (Naeini et al. 2015), bins as in `CalibrationBinning`.
///
/// Needs probabilities in [0, 1] (InvalidInput otherwise); one class is allowed. With
/// `replicate_weight` (bootstrap multiplicities aligned with the sorted order) returns NaN when the
/// replicate has zero weight. O(n + n_bins), thread-safe.
inline double expected_calibration_error(const SortedScores& s, const CalibrationBinning& b = {},
                                         const double* replicate_weight = nullptr) {
  b.validate();
  s.require_probabilities("expected_calibration_error");
  return s.visit_weights(replicate_weight,
                         [&](auto w) { return detail::ece_kernel(s, w, b, false); });
}

/// ECE from unsorted inputs: y (0/1), p (probabilities), optional weights.
inline double expected_calibration_error(VectorView<const double> y, VectorView<const double> p,
                                         VectorView<const double> sample_weight = {},
                                         const CalibrationBinning& b = {}) {
  detail::check_prob_inputs(y, p, sample_weight, "expected_calibration_error");
  return expected_calibration_error(SortedScores(y, p, sample_weight), b);
}

/// Maximum calibration error: the largest |observed rate - mean predicted| over non-empty bins.
/// Same contract as `expected_calibration_error`.
inline double max_calibration_error(const SortedScores& s, const CalibrationBinning& b = {},
                                    const double* replicate_weight = nullptr) {
  b.validate();
  s.require_probabilities("max_calibration_error");
  return s.visit_weights(replicate_weight,
                         [&](auto w) { return detail::ece_kernel(s, w, b, true); });
}

/// MCE from unsorted inputs.
inline double max_calibration_error(VectorView<const double> y, VectorView<const double> p,
                                    VectorView<const double> sample_weight = {},
                                    const CalibrationBinning& b = {}) {
  detail::check_prob_inputs(y, p, sample_weight, "max_calibration_error");
  return max_calibration_error(SortedScores(y, p, sample_weight), b);
}

/// Reliability curve: per non-empty bin the row count, total weight, mean prediction, observed
/// rate and its Wilson interval at `confidence` (with weights, on Kish's effective sample size).
/// For unweighted data, mean_predicted / observed_rate equal sklearn's calibration_curve
/// (prob_pred / prob_true). Throws InvalidInput for non-probabilities, InvalidParams for a bad
/// binning or confidence. O(n + n_bins).
inline ReliabilityCurve reliability_curve(const SortedScores& s, const CalibrationBinning& b = {},
                                          double confidence = 0.95) {
  b.validate();
  detail::check_confidence(confidence, "reliability_curve");
  s.require_probabilities("reliability_curve");
  ReliabilityCurve rc;
  rc.confidence = confidence;
  s.visit_weights(nullptr, [&](auto w) {
    rc.edges = detail::bin_edges(s, w, b);
    const detail::BinSums bs = detail::bin_sums(s, w, rc.edges);
    for (std::size_t j = 0; j < bs.w.size(); ++j) {
      if (!(bs.w[j] > 0.0)) continue;
      ReliabilityBin bin;
      bin.lower = rc.edges[j];
      bin.upper = rc.edges[j + 1];
      bin.count = bs.count[j];
      bin.weight = bs.w[j];
      bin.mean_predicted = bs.wp[j] / bs.w[j];
      bin.observed_rate = bs.wy[j] / bs.w[j];
      bin.effective_n = effective_sample_size(bs.w[j], bs.w2[j]);
      const ProportionInterval ci =
          wilson_interval(std::min(bin.observed_rate * bin.effective_n, bin.effective_n),
                          bin.effective_n, confidence);
      bin.ci_lower = ci.lower;
      bin.ci_upper = ci.upper;
      rc.bins.push_back(bin);
    }
  });
  return rc;
}

/// Reliability curve from unsorted inputs.
inline ReliabilityCurve reliability_curve(VectorView<const double> y, VectorView<const double> p,
                                          VectorView<const double> sample_weight = {},
                                          const CalibrationBinning& b = {},
                                          double confidence = 0.95) {
  detail::check_prob_inputs(y, p, sample_weight, "reliability_curve");
  return reliability_curve(SortedScores(y, p, sample_weight), b, confidence);
}

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
  int max_iter = 100;  ///< Newton iterations per fit, >= 1
  double tol = 1e-10;  ///< stop when the largest Newton step is below tol, > 0
  void validate() const {
    if (max_iter < 1) {
      throw InvalidParams("CalibrationFitParams.max_iter must be >= 1, got " +
                          std::to_string(max_iter) + "; 100 is the default.");
    }
    if (!(tol > 0.0)) {
      throw InvalidParams("CalibrationFitParams.tol must be > 0, got " +
                          calibrisk::detail::fmt_value(tol) + "; 1e-10 is the default.");
    }
  }
};

namespace detail {

inline double clipped_logit(double p) noexcept {
  const double q = std::min(std::max(p, kLogitEps), 1.0 - kLogitEps);
  return std::log(q / (1.0 - q));
}

/// True when two rows of positive weight have different clipped logits (the slope is then
/// identifiable).
template <class W>
bool logits_vary(const SortedScores& s, W w) {
  bool seen = false;
  double first = 0.0;
  for (Index i = 0, n = s.size(); i < n; ++i) {
    if (!(w(i) > 0.0)) continue;
    const double x = clipped_logit(s.score()[i]);
    if (seen && x != first) return true;
    if (!seen) first = x;
    seen = true;
  }
  return false;
}

/// Weighted logistic fit of y on (1, x) with the slope either free or fixed at 1 (offset).
/// Returns {c, b, se_c, se_b, iters, converged}.
template <class W>
void logistic_recalibration(const SortedScores& s, W w, bool free_slope,
                            const CalibrationFitParams& prm, double& c, double& b, double& se_c,
                            double& se_b, int& iters, bool& converged) {
  const Index n = s.size();
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  std::vector<double> x(n);
  for (Index i = 0; i < n; ++i) x[i] = clipped_logit(sc[i]);
  auto nll = [&](double cc, double bb) {
    double v = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double eta = cc + bb * x[i];
      v += w(i) * (calibrisk::softplus(eta) - (y[i] ? eta : 0.0));
    }
    return v;
  };
  c = 0.0;
  b = 1.0;
  double f = nll(c, b);
  converged = false;
  double h00 = 0.0, h01 = 0.0, h11 = 0.0;
  for (iters = 0; iters < prm.max_iter;) {
    ++iters;
    double g0 = 0.0, g1 = 0.0;
    h00 = h01 = h11 = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double wi = w(i);
      if (wi == 0.0) continue;
      const double mu = calibrisk::sigmoid(c + b * x[i]);
      const double r = (y[i] ? 1.0 : 0.0) - mu;
      const double v = wi * mu * (1.0 - mu);
      g0 += wi * r;
      g1 += wi * r * x[i];
      h00 += v;
      h01 += v * x[i];
      h11 += v * x[i] * x[i];
    }
    double d0, d1 = 0.0;
    if (free_slope) {
      const double det = h00 * h11 - h01 * h01;
      if (!(det > 0.0) || !std::isfinite(det)) break;
      d0 = (h11 * g0 - h01 * g1) / det;
      d1 = (-h01 * g0 + h00 * g1) / det;
    } else {
      if (!(h00 > 0.0)) break;
      d0 = g0 / h00;
    }
    // Step halving keeps Newton monotone (the log-likelihood is concave but steps can overshoot).
    double t = 1.0;
    double fn = nll(c + d0, b + d1);
    for (int k = 0; k < 60 && !(fn <= f); ++k) {
      t *= 0.5;
      fn = nll(c + t * d0, b + t * d1);
    }
    if (!(fn <= f)) break;
    c += t * d0;
    b += t * d1;
    f = fn;
    if (std::max(std::fabs(t * d0), std::fabs(t * d1)) < prm.tol) {
      converged = true;
      break;
    }
  }
  if (free_slope) {
    const double det = h00 * h11 - h01 * h01;
    se_c = det > 0.0 ? std::sqrt(h11 / det) : std::numeric_limits<double>::quiet_NaN();
    se_b = det > 0.0 ? std::sqrt(h00 / det) : std::numeric_limits<double>::quiet_NaN();
  } else {
    se_c = h00 > 0.0 ? std::sqrt(1.0 / h00) : std::numeric_limits<double>::quiet_NaN();
    se_b = 0.0;
  }
}

}  // namespace detail

/// Calibration-in-the-large and calibration slope (see `CalibrationFit`).
///
/// Needs probabilities and both classes with positive weight (InvalidInput otherwise). On
/// separable data the slope diverges: the fit stops at max_iter with `slope_converged = false`.
/// When every prediction has the same logit (constant p) the slope is undefined: NaN, with
/// `slope_identifiable = false` (previously the starting value 1 was returned).
/// O(n x iterations); thread-safe.
inline CalibrationFit calibration_intercept_slope(const SortedScores& s,
                                                  const CalibrationFitParams& prm = {},
                                                  const double* replicate_weight = nullptr) {
  prm.validate();
  s.require_probabilities("calibration_intercept_slope");
  if (replicate_weight == nullptr) s.require_both_classes("calibration_intercept_slope");
  CalibrationFit fit;
  s.visit_weights(replicate_weight, [&](auto w) {
    double c, b, sec, seb;
    int it1, it2;
    bool ok1, ok2;
    detail::logistic_recalibration(s, w, false, prm, c, b, sec, seb, it1, ok1);
    fit.intercept = c;
    fit.intercept_se = sec;
    fit.intercept_converged = ok1;
    fit.slope_identifiable = detail::logits_vary(s, w);
    if (fit.slope_identifiable) {
      detail::logistic_recalibration(s, w, true, prm, c, b, sec, seb, it2, ok2);
      fit.slope_intercept = c;
      fit.slope = b;
      fit.slope_se = seb;
    } else {
      it2 = 0;
      ok2 = false;  // no fit: there is no maximum-likelihood slope
      fit.slope_intercept = fit.slope = fit.slope_se = std::numeric_limits<double>::quiet_NaN();
    }
    fit.slope_converged = ok2;
    fit.n_iter = it1 + it2;
    fit.converged = ok1 && ok2;
  });
  return fit;
}

/// Calibration intercept and slope from unsorted inputs.
inline CalibrationFit calibration_intercept_slope(VectorView<const double> y,
                                                  VectorView<const double> p,
                                                  VectorView<const double> sample_weight = {},
                                                  const CalibrationFitParams& prm = {}) {
  detail::check_prob_inputs(y, p, sample_weight, "calibration_intercept_slope");
  return calibration_intercept_slope(SortedScores(y, p, sample_weight), prm);
}

/// Spiegelhalter's z-test of calibration (Spiegelhalter 1986).
struct SpiegelhalterResult {
  double z = 0.0;        ///< sum w (y - p)(1 - 2p) / sqrt(sum w^2 (1 - 2p)^2 p (1 - p))
  double p_value = 1.0;  ///< two-sided, 2 (1 - Phi(|z|)) (Boost.Math normal)
};

namespace detail {
template <class W>
SpiegelhalterResult spiegelhalter_kernel(const SortedScores& s, W w) {
  const double* p = s.score().data();
  const std::uint8_t* y = s.label().data();
  double num = 0.0, var = 0.0;
  for (Index i = 0, n = s.size(); i < n; ++i) {
    const double wi = w(i);
    const double a = 1.0 - 2.0 * p[i];
    num += wi * ((y[i] ? 1.0 : 0.0) - p[i]) * a;
    var += wi * wi * a * a * p[i] * (1.0 - p[i]);
  }
  SpiegelhalterResult r;
  if (!(var > 0.0)) {
    r.z = r.p_value = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  r.z = num / std::sqrt(var);
  r.p_value = normal_two_sided_p(r.z);
  return r;
}
}  // namespace detail

/// Why Spiegelhalter's z is undefined on some data (the reason reports print next to "undefined").
inline constexpr const char* kSpiegelhalterUndefined =
    "its variance is zero: every prediction is 0, 0.5 or 1";

/// Spiegelhalter's z where it is defined, else z = p_value = NaN (zero variance, see
/// `kSpiegelhalterUndefined`) instead of an exception: the form the evaluation report uses, so
/// degenerate predictions (e.g. all 0.5) never abort a report. Needs probabilities.
inline SpiegelhalterResult spiegelhalter_or_nan(const SortedScores& s,
                                                const double* replicate_weight = nullptr) {
  s.require_probabilities("spiegelhalter_test");
  return s.visit_weights(replicate_weight,
                         [&](auto w) { return detail::spiegelhalter_kernel(s, w); });
}

/// Spiegelhalter's z: under perfect calibration E[z] = 0, Var[z] = 1 (asymptotically normal).
/// Weighted form: numerator and variance carry w and w^2. Needs probabilities; InvalidInput when
/// the variance is zero (every p in {0, 0.5, 1}: the statistic is undefined, 0/0) — use
/// `spiegelhalter_or_nan` to get NaN instead. With `replicate_weight`, NaN instead of throwing.
inline SpiegelhalterResult spiegelhalter_test(const SortedScores& s,
                                              const double* replicate_weight = nullptr) {
  SpiegelhalterResult r = spiegelhalter_or_nan(s, replicate_weight);
  if (replicate_weight == nullptr && std::isnan(r.z)) {
    throw InvalidInput(
        "spiegelhalter_test: the variance of the statistic is zero (every prediction is 0, 0.5 or "
        "1); the test needs some predictions strictly between 0 and 1 other than 0.5.");
  }
  return r;
}

/// Spiegelhalter's z from unsorted inputs.
inline SpiegelhalterResult spiegelhalter_test(VectorView<const double> y,
                                              VectorView<const double> p,
                                              VectorView<const double> sample_weight = {}) {
  detail::check_prob_inputs(y, p, sample_weight, "spiegelhalter_test");
  return spiegelhalter_test(SortedScores(y, p, sample_weight));
}

}  // namespace calibrisk::metrics
