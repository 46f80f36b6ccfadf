// SPDX-License-Identifier: Apache-2.0
// Log loss and Brier score (declared in metrics/probabilistic.hpp).
#include <calibrisk/metrics/probabilistic.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::metrics {

double log_loss(VectorView<const double> y, VectorView<const double> p,
                VectorView<const double> sample_weight) {
  detail::check_prob_inputs(y, p, sample_weight, "log_loss");
  auto f = [&](Index i) { return detail::log_loss_term(y[i], p[i]); };
  if (sample_weight.empty()) return detail::weighted_mean(y.size(), f, detail::UnitWeight{});
  return detail::weighted_mean(y.size(), f, [&](Index i) { return sample_weight[i]; });
}

double log_loss(const SortedScores& s, const double* replicate_weight) {
  s.require_probabilities("log_loss");
  const double* p = s.score().data();
  const std::uint8_t* y = s.label().data();
  return s.visit_weights(replicate_weight, [&](auto w) {
    return detail::weighted_mean(
        s.size(), [&](Index i) { return detail::log_loss_term(y[i] ? 1.0 : 0.0, p[i]); }, w);
  });
}

double brier_score_loss(VectorView<const double> y, VectorView<const double> p,
                        VectorView<const double> sample_weight) {
  detail::check_prob_inputs(y, p, sample_weight, "brier_score_loss");
  auto f = [&](Index i) {
    const double d = y[i] - p[i];
    return d * d;
  };
  if (sample_weight.empty()) return detail::weighted_mean(y.size(), f, detail::UnitWeight{});
  return detail::weighted_mean(y.size(), f, [&](Index i) { return sample_weight[i]; });
}

double brier_score_loss(const SortedScores& s, const double* replicate_weight) {
  s.require_probabilities("brier_score_loss");
  const double* p = s.score().data();
  const std::uint8_t* y = s.label().data();
  return s.visit_weights(replicate_weight, [&](auto w) {
    return detail::weighted_mean(
        s.size(),
        [&](Index i) {
          const double d = (y[i] ? 1.0 : 0.0) - p[i];
          return d * d;
        },
        w);
  });
}

}  // namespace calibrisk::metrics
