// SPDX-License-Identifier: Apache-2.0
// Net benefit (decision curves) (declared in metrics/net_benefit.hpp).
#include <calibrisk/metrics/net_benefit.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace calibrisk::metrics {

DecisionCurve net_benefit(const SortedScores& s, const std::vector<double>& grid) {
  s.require_probabilities("net_benefit");
  if (grid.empty()) {
    throw InvalidInput(
        "net_benefit: the threshold grid is empty; pass e.g. 0.01, 0.02, ..., 0.99.");
  }
  for (std::size_t k = 0; k < grid.size(); ++k) {
    if (!(grid[k] >= 0.0 && grid[k] < 1.0)) {
      throw InvalidInput("net_benefit: thresholds[" + std::to_string(k) + "] is " +
                         calibrisk::detail::fmt_value(grid[k]) +
                         "; threshold probabilities must lie in [0, 1).");
    }
  }
  const std::size_t g = grid.size();
  std::vector<std::size_t> idx(g);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return grid[a] > grid[b]; });
  DecisionCurve dc;
  dc.thresholds = grid;
  dc.net_benefit.assign(g, 0.0);
  dc.treat_all.assign(g, 0.0);
  dc.treat_none.assign(g, 0.0);
  dc.alert_rate.assign(g, 0.0);
  const double W = s.positive_weight() + s.negative_weight();
  const double P = s.positive_weight() / W, N = s.negative_weight() / W;
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  const Index n = s.size();
  s.visit_weights(nullptr, [&](auto w) {
    double tp = 0.0, fp = 0.0;
    Index i = 0;
    for (std::size_t k : idx) {  // thresholds decreasing: flagged sets grow
      const double t = grid[k];
      for (; i < n && sc[i] >= t; ++i) (y[i] ? tp : fp) += w(i);
      const double odds = t / (1.0 - t);
      dc.net_benefit[k] = tp / W - fp / W * odds;
      dc.treat_all[k] = P - N * odds;
      dc.alert_rate[k] = (tp + fp) / W;
    }
  });
  return dc;
}

DecisionCurve net_benefit(VectorView<const double> y, VectorView<const double> p,
                          const std::vector<double>& grid, VectorView<const double> sample_weight) {
  detail::check_prob_inputs(y, p, sample_weight, "net_benefit");
  return net_benefit(SortedScores(y, p, sample_weight, "net_benefit"), grid);
}

}  // namespace calibrisk::metrics
