// SPDX-License-Identifier: Apache-2.0
// Calibration metrics (declared in metrics/calibration_metrics.hpp): binning, ECE / MCE,
// reliability curves, the logistic recalibration fit and Spiegelhalter's test, with their
// weight-accessor kernels in this one translation unit.
#include <calibrisk/metrics/calibration_metrics.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::metrics {

namespace detail {

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

double expected_calibration_error(const SortedScores& s, const CalibrationBinning& b,
                                  const double* replicate_weight) {
  b.validate();
  s.require_probabilities("expected_calibration_error");
  return s.visit_weights(replicate_weight,
                         [&](auto w) { return detail::ece_kernel(s, w, b, false); });
}

double expected_calibration_error(VectorView<const double> y, VectorView<const double> p,
                                  VectorView<const double> sample_weight,
                                  const CalibrationBinning& b) {
  detail::check_prob_inputs(y, p, sample_weight, "expected_calibration_error");
  return expected_calibration_error(SortedScores(y, p, sample_weight), b);
}

double max_calibration_error(const SortedScores& s, const CalibrationBinning& b,
                             const double* replicate_weight) {
  b.validate();
  s.require_probabilities("max_calibration_error");
  return s.visit_weights(replicate_weight,
                         [&](auto w) { return detail::ece_kernel(s, w, b, true); });
}

double max_calibration_error(VectorView<const double> y, VectorView<const double> p,
                             VectorView<const double> sample_weight, const CalibrationBinning& b) {
  detail::check_prob_inputs(y, p, sample_weight, "max_calibration_error");
  return max_calibration_error(SortedScores(y, p, sample_weight), b);
}

ReliabilityCurve reliability_curve(const SortedScores& s, const CalibrationBinning& b,
                                   double confidence) {
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

ReliabilityCurve reliability_curve(VectorView<const double> y, VectorView<const double> p,
                                   VectorView<const double> sample_weight,
                                   const CalibrationBinning& b, double confidence) {
  detail::check_prob_inputs(y, p, sample_weight, "reliability_curve");
  return reliability_curve(SortedScores(y, p, sample_weight), b, confidence);
}

CalibrationFit calibration_intercept_slope(const SortedScores& s, const CalibrationFitParams& prm,
                                           const double* replicate_weight) {
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

CalibrationFit calibration_intercept_slope(VectorView<const double> y, VectorView<const double> p,
                                           VectorView<const double> sample_weight,
                                           const CalibrationFitParams& prm) {
  detail::check_prob_inputs(y, p, sample_weight, "calibration_intercept_slope");
  return calibration_intercept_slope(SortedScores(y, p, sample_weight), prm);
}

SpiegelhalterResult spiegelhalter_or_nan(const SortedScores& s, const double* replicate_weight) {
  s.require_probabilities("spiegelhalter_test");
  return s.visit_weights(replicate_weight,
                         [&](auto w) { return detail::spiegelhalter_kernel(s, w); });
}

SpiegelhalterResult spiegelhalter_test(const SortedScores& s, const double* replicate_weight) {
  SpiegelhalterResult r = spiegelhalter_or_nan(s, replicate_weight);
  if (replicate_weight == nullptr && std::isnan(r.z)) {
    throw InvalidInput(
        "spiegelhalter_test: the variance of the statistic is zero (every prediction is 0, 0.5 or "
        "1); the test needs some predictions strictly between 0 and 1 other than 0.5.");
  }
  return r;
}

SpiegelhalterResult spiegelhalter_test(VectorView<const double> y, VectorView<const double> p,
                                       VectorView<const double> sample_weight) {
  detail::check_prob_inputs(y, p, sample_weight, "spiegelhalter_test");
  return spiegelhalter_test(SortedScores(y, p, sample_weight));
}

}  // namespace calibrisk::metrics
