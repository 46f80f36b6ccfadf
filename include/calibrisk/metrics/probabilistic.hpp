// SPDX-License-Identifier: Apache-2.0
/// @file probabilistic.hpp
/// Proper scoring rules for probabilities: log loss and Brier score (scikit-learn's definitions).
#pragma once

#include <calibrisk/metrics/sorted_scores.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace calibrisk::metrics {

/// Probabilities are clipped to [kLogLossEps, 1 - kLogLossEps] before the logarithm, exactly as
/// scikit-learn >= 1.5 does (`eps = np.finfo(float64).eps`; the former `eps` argument is gone):
/// for y = 1 the loss is -ln(clip(p)), for y = 0 it is -ln(clip(1 - p)), with 1 - p computed first.
inline constexpr double kLogLossEps = std::numeric_limits<double>::epsilon();

namespace detail {

inline void check_probabilities(VectorView<const double> p, const std::string& where) {
  for (Index i = 0; i < p.size(); ++i) {
    const double v = p[i];
    if (!(v >= 0.0 && v <= 1.0)) {
      throw InvalidInput(where + ": p[" + std::to_string(i) + "] is " +
                         calibrisk::detail::fmt_value(v) +
                         "; probabilities must lie in [0, 1] (NaN is not allowed).");
    }
  }
}

inline void check_prob_inputs(VectorView<const double> y, VectorView<const double> p,
                              VectorView<const double> w, const std::string& where) {
  check_same_length(y.size(), p.size(), where, "p");
  check_labels(y, where);
  check_probabilities(p, where);
  check_weights(w, y.size(), where);
}

inline double log_loss_term(double y, double p) noexcept {
  const double q = y == 1.0 ? p : 1.0 - p;
  return -std::log(std::min(std::max(q, kLogLossEps), 1.0 - kLogLossEps));
}

/// Weighted mean of f(i) with weights w(i): sum(w f) / sum(w).
template <class F, class W>
double weighted_mean(Index n, F f, W w) {
  double num = 0.0, den = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double wi = w(i);
    num += wi * f(i);
    den += wi;
  }
  return den > 0.0 ? num / den : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace detail

/// Mean (weighted) negative log-likelihood of 0/1 labels under probabilities p.
///
/// y: n labels 0/1; p: n probabilities in [0, 1]; sample_weight: empty or n weights >= 0.
/// Clipping: see `kLogLossEps`. Equals `sklearn.metrics.log_loss(y, p, sample_weight=w)`.
/// Throws InvalidInput on mismatched lengths, NaN or out-of-range p, bad labels or weights.
/// One class only is allowed (the loss is defined). O(n), no sort, thread-safe.
double log_loss(VectorView<const double> y, VectorView<const double> p,
                VectorView<const double> sample_weight = {});

/// Log loss from sorted scores (optionally times bootstrap multiplicities; NaN for a replicate of
/// zero total weight). Throws InvalidInput when the scores are not probabilities.
double log_loss(const SortedScores& s, const double* replicate_weight = nullptr);

/// Brier score: weighted mean of (y - p)^2, as `sklearn.metrics.brier_score_loss` for binary y.
/// Same inputs, errors and complexity as `log_loss`.
double brier_score_loss(VectorView<const double> y, VectorView<const double> p,
                        VectorView<const double> sample_weight = {});

/// Brier score from sorted scores (see `log_loss(const SortedScores&, ...)`).
double brier_score_loss(const SortedScores& s, const double* replicate_weight = nullptr);

}  // namespace calibrisk::metrics
