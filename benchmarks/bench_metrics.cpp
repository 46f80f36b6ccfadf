// SPDX-License-Identifier: Apache-2.0
// Metrics benchmarks: the sort they all share, AUC + AP + PR curve from one sort, and the
// bootstrap that reuses the sort. Default sizes are the CI smoke; 10M rows sit behind the args.
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/metrics.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using namespace calibrisk;
using namespace calibrisk::metrics;

struct Data {
  std::vector<double> y, p;
};

// Probabilities of a moderately good model (about 50 % distinct values at 10M rows: realistic
// float64 predict_proba output has few exact ties).
Data make_data(Index n, std::uint64_t seed = 1) {
  Data d;
  d.y.resize(n);
  d.p.resize(n);
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    const double lp = rng.normal() - 1.0;
    d.p[i] = 1.0 / (1.0 + std::exp(-lp));
    d.y[i] = rng.uniform() < d.p[i] ? 1.0 : 0.0;
  }
  return d;
}

void BM_Sort_Baseline(benchmark::State& state) {
  const Data d = make_data(state.range(0));
  std::vector<double> v;
  for (auto _ : state) {
    v = d.p;
    std::sort(v.begin(), v.end());
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sort_Baseline)->Arg(100000)->Arg(10000000)->Unit(benchmark::kMillisecond);

void BM_Metrics_SortedScores(benchmark::State& state) {
  const Data d = make_data(state.range(0));
  for (auto _ : state) {
    SortedScores s(d.y, d.p);
    benchmark::DoNotOptimize(s.score().data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Metrics_SortedScores)->Arg(100000)->Arg(10000000)->Unit(benchmark::kMillisecond);

// The target: ROC AUC + average precision + PR curve (vs sklearn.metrics, 5x).
void BM_Metrics_AucApPrCurve(benchmark::State& state) {
  const Data d = make_data(state.range(0));
  for (auto _ : state) {
    SortedScores s(d.y, d.p);
    double auc = roc_auc_score(s);
    double ap = average_precision_score(s);
    PrCurve pr = precision_recall_curve(s);
    benchmark::DoNotOptimize(auc);
    benchmark::DoNotOptimize(ap);
    benchmark::DoNotOptimize(pr.precision.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Metrics_AucApPrCurve)->Arg(100000)->Arg(10000000)->Unit(benchmark::kMillisecond);

void BM_Metrics_AucEce(benchmark::State& state) {
  const Data d = make_data(state.range(0));
  for (auto _ : state) {
    SortedScores s(d.y, d.p);
    double auc = roc_auc_score(s);
    double ece = expected_calibration_error(s);
    benchmark::DoNotOptimize(auc);
    benchmark::DoNotOptimize(ece);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Metrics_AucEce)->Arg(100000)->Unit(benchmark::kMillisecond);

// The target: 1,000 replicates of AUC + ECE on 100k rows within the cost of 1,000
// BM_Metrics_AucEce iterations, on both cores. Args: rows, replicates, threads.
void BM_Metrics_BootstrapAucEce(benchmark::State& state) {
  const Data d = make_data(state.range(0));
  BootstrapParams bp;
  bp.n_replicates = static_cast<int>(state.range(1));
  bp.n_threads = static_cast<int>(state.range(2));
  for (auto _ : state) {
    SortedScores s(d.y, d.p);
    auto r = bootstrap(s, {Metric::kRocAuc, Metric::kExpectedCalibrationError}, bp);
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1));
}
BENCHMARK(BM_Metrics_BootstrapAucEce)
    ->Args({100000, 100, 2})
    ->Args({100000, 1000, 1})
    ->Args({100000, 1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
