// SPDX-License-Identifier: Apache-2.0
// Threshold selection benchmarks: one sort and one pass per policy, with intervals; compare with
// BM_Sort_Baseline (std::sort of the same scores) at 10M rows (target: at most 1.5x).
#include <calibrisk/core/random.hpp>
#include <calibrisk/threshold/select.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

namespace {

using namespace calibrisk;

void make(Index n, std::vector<double>& y, std::vector<double>& p) {
  y.resize(n);
  p.resize(n);
  Rng rng(2);
  for (Index i = 0; i < n; ++i) {
    p[i] = 1.0 / (1.0 + std::exp(-(rng.normal() - 1.0)));
    y[i] = rng.uniform() < p[i] ? 1.0 : 0.0;
  }
}

ThresholdPolicy policy_of(int k) {
  switch (k) {
    case 0:
      return policy::max_fbeta(1.0);
    case 1:
      return policy::min_recall(0.8);
    case 2:
      return policy::min_precision(0.6);
    case 3:
      return policy::max_alert_rate(0.1);
    default:
      return policy::min_cost(1.0, 5.0);
  }
}

// Args: rows, policy (0 F1, 1 min_recall, 2 min_precision, 3 max_alert_rate, 4 cost),
// conservative (0 no, 1 Wilson bound, 2 Clopper-Pearson bound).
void BM_Threshold_Select(benchmark::State& state) {
  std::vector<double> y, p;
  make(state.range(0), y, p);
  const ThresholdPolicy pol = policy_of(static_cast<int>(state.range(1)));
  ThresholdOptions o;
  o.conservative = state.range(2) != 0;
  o.conservative_interval =
      state.range(2) == 2 ? IntervalMethod::kClopperPearson : IntervalMethod::kWilson;
  for (auto _ : state) {
    OperatingPoint op = select_threshold(y, p, pol, o);
    benchmark::DoNotOptimize(op.threshold);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Threshold_Select)
    ->Args({100000, 0, 0})
    ->Args({100000, 1, 1})
    ->Args({100000, 2, 1})
    ->Args({100000, 2, 2})
    ->Args({10000000, 0, 0})
    ->Args({10000000, 1, 0})
    ->Args({10000000, 2, 1})
    ->Args({10000000, 2, 2})
    ->Args({10000000, 1, 2})
    ->Args({10000000, 3, 2})
    ->Args({10000000, 4, 0})
    ->Unit(benchmark::kMillisecond);

}  // namespace
