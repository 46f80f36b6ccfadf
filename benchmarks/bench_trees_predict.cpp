// SPDX-License-Identifier: Apache-2.0
// Google Benchmarks of tree-ensemble scoring: batch margins over row blocks and one row at a time.
// Default sizes finish in seconds (CI smoke run); set CALIBRISK_BENCH_LARGE=1 to add the 1M-row
// case.
#include <benchmark/benchmark.h>
#include <calibrisk/trees/booster.hpp>
#include <calibrisk/trees/explain.hpp>
#include <calibrisk/trees/predict.hpp>

#include <cstdlib>
#include <vector>

#include "categorical_data.hpp"
#include "support/random_trees.hpp"

namespace {

using calibrisk::Index;

calibrisk::TreeEnsemble bench_ensemble(int n_trees, Index n_features) {
  calibrisk::testing::RandomTreeOptions o;
  o.n_leaves = 31;
  o.n_features = n_features;
  return calibrisk::testing::random_ensemble(42, n_trees, o);
}

// Args: rows, trees, threads, float32 (1) or float64 (0) input.
void BM_Trees_PredictBatch(benchmark::State& state) {
  const Index n = state.range(0);
  const auto n_trees = static_cast<int>(state.range(1));
  const auto threads = static_cast<int>(state.range(2));
  const bool use_float = state.range(3) != 0;
  const Index d = 50;
  const calibrisk::TreePredictor pred(bench_ensemble(n_trees, d));
  std::vector<double> out(static_cast<std::size_t>(n));
  if (use_float) {
    const auto X = calibrisk::testing::random_rows<float>(7, n, d, 0.05);
    const auto v = calibrisk::MatrixView<const float>::row_major(X.data(), n, d);
    for (auto _ : state) {
      pred.predict_margin(v, out, threads);
      benchmark::DoNotOptimize(out.data());
    }
  } else {
    const auto X = calibrisk::testing::random_rows<double>(7, n, d, 0.05);
    const auto v = calibrisk::MatrixView<const double>::row_major(X.data(), n, d);
    for (auto _ : state) {
      pred.predict_margin(v, out, threads);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void batch_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "trees", "threads", "f32"});
  b->Args({10000, 100, 1, 1})->Args({10000, 100, 2, 1})->Args({10000, 100, 1, 0});
  if (std::getenv("CALIBRISK_BENCH_LARGE") != nullptr) b->Args({1000000, 100, 2, 1});
}
BENCHMARK(BM_Trees_PredictBatch)->Apply(batch_args)->UseRealTime()->Unit(benchmark::kMillisecond);

// Args: trees. One probability for one contiguous float64 row, 31-leaf trees, 50 features.
void BM_Trees_PredictRow(benchmark::State& state) {
  const auto n_trees = static_cast<int>(state.range(0));
  const Index d = 50;
  const calibrisk::TreePredictor pred(bench_ensemble(n_trees, d));
  const Index n_rows = 1024;  // cycle through rows so branch history does not memorise one path
  const auto X = calibrisk::testing::random_rows<double>(8, n_rows, d, 0.05);
  Index i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pred.predict_proba_row(&X[static_cast<std::size_t>(i * d)]));
    i = (i + 1) & (n_rows - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Trees_PredictRow)->Arg(100)->Unit(benchmark::kNanosecond);

// Args: categorical (1) or ordinal numeric codes (0). One float64 row of 11 features (a 2,000-level
// Zipf code + 10 numeric) scored by 100 trees of 31 leaves trained on 20,000 rows: the cost of
// category-set nodes against threshold nodes on a row of the same width.
void BM_Trees_PredictRowCategorical(benchmark::State& state) {
  const auto data = calibrisk::bench::make_code_data(20000, 2000, 10, 5);
  calibrisk::GBDTParams p;
  p.n_estimators = 100;
  p.min_samples_leaf = 5;
  p.n_threads = 1;
  if (state.range(0) != 0) p.categorical_features = {0};
  calibrisk::GradientBoostedTrees m(p);
  m.fit(data.dataset());
  const Index n_rows = 1024;
  std::vector<double> X(data.X.begin(), data.X.begin() + n_rows * data.d);
  Index i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.predict_proba_row(&X[static_cast<std::size_t>(i * data.d)]));
    i = (i + 1) & (n_rows - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Trees_PredictRowCategorical)
    ->ArgName("cat")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kNanosecond);

// Args: rows, trees, threads. Exact path-dependent TreeSHAP contributions.
void BM_Trees_Contributions(benchmark::State& state) {
  const Index n = state.range(0);
  const auto n_trees = static_cast<int>(state.range(1));
  const auto threads = static_cast<int>(state.range(2));
  const Index d = 50;
  const auto e = bench_ensemble(n_trees, d);
  const calibrisk::TreeExplainer ex(e);
  const auto X = calibrisk::testing::random_rows<double>(9, n, d, 0.05);
  std::vector<double> out(static_cast<std::size_t>(n * (d + 1)));
  for (auto _ : state) {
    ex.contributions(calibrisk::MatrixView<const double>::row_major(X.data(), n, d),
                     calibrisk::MatrixView<double>::row_major(out.data(), n, d + 1), threads);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Trees_Contributions)
    ->Args({1000, 100, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
