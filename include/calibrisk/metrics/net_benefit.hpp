// SPDX-License-Identifier: Apache-2.0
/// @file net_benefit.hpp
/// Decision-curve analysis (Vickers & Elkin 2006): the net benefit of acting on the model at each
/// threshold probability, against treating everyone and treating no one.
#pragma once

#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace calibrisk::metrics {

/// Net benefit over a grid of threshold probabilities t (a case is treated when p >= t):
/// NB(t) = TP(t) / W - FP(t) / W * t / (1 - t), W the total weight; treat-all uses TP = all
/// positives, FP = all negatives; treat-none is 0 (Vickers & Elkin 2006, eq. 1).
struct DecisionCurve {
  std::vector<double> thresholds;   ///< the grid, as given
  std::vector<double> net_benefit;  ///< of the model, per threshold
  std::vector<double> treat_all;    ///< of treating everyone, per threshold
  std::vector<double> treat_none;   ///< always 0
  std::vector<double> alert_rate;   ///< weighted fraction treated by the model, per threshold
};

/// Decision curve of probabilities p at the thresholds `grid` (each in [0, 1), any order).
/// Throws InvalidInput for an empty grid, a grid value outside [0, 1) or NaN, or scores that are
/// not probabilities. O(n + g log g) after the sort; thread-safe.
DecisionCurve net_benefit(const SortedScores& s, const std::vector<double>& grid);

/// Decision curve from unsorted inputs.
DecisionCurve net_benefit(VectorView<const double> y, VectorView<const double> p,
                          const std::vector<double>& grid,
                          VectorView<const double> sample_weight = {});

}  // namespace calibrisk::metrics
