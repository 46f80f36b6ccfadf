// SPDX-License-Identifier: Apache-2.0
// Benchmarks of logistic regression: fit, bulk predict_proba, and a plain dot-product baseline.
//
// Default sizes finish in seconds (CI smoke run). The 1M x 100 cases of the issue are registered
// only when CALIBRISK_BENCH_FULL=1 is set:
//   CALIBRISK_BENCH_FULL=1 calibrisk_benchmarks --benchmark_filter='BM_Linear_.*/1000000/'
#include <benchmark/benchmark.h>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <Eigen/Core>

#include <cstdlib>
#include <cstring>

#include "support/logistic_data.hpp"

namespace {

// Small sizes always; the 1M x 100 sizes (about 1 GB of data, tens of seconds) only with
// CALIBRISK_BENCH_FULL=1. Args: {n_rows, n_features, n_threads}; 0 threads = all.
void sizes(benchmark::internal::Benchmark* b) {
  b->Args({20000, 20, 0});
  b->Args({200000, 100, 1});
  const char* full = std::getenv("CALIBRISK_BENCH_FULL");
  if (full != nullptr && std::strcmp(full, "1") == 0) {
    b->Args({1000000, 100, 0});
    b->Args({1000000, 100, 1});
  }
}

using calibrisk::Dataset;
using calibrisk::Index;
using calibrisk::LogisticRegression;
using calibrisk::LogisticRegressionParams;

const calibrisk::testing::LogisticData<double>& data(Index n, Index p) {
  static calibrisk::testing::LogisticData<double> d;
  if (d.n != n || d.p != p) d = calibrisk::testing::make_logistic_data<double>(n, p, 1);
  return d;
}

void BM_Linear_Fit(benchmark::State& state) {
  const auto& d = data(state.range(0), state.range(1));
  LogisticRegressionParams p;
  p.C = 1.0;
  p.tol = 1e-6;
  p.n_threads = static_cast<int>(state.range(2));
  for (auto _ : state) {
    LogisticRegression m(p);
    m.fit(Dataset(d.view(), d.y));
    benchmark::DoNotOptimize(m.intercept());
    state.counters["n_iter"] = m.fit_info().n_iter;
    state.counters["objective"] = m.objective();
  }
  state.SetItemsProcessed(state.iterations() * d.n);
}
BENCHMARK(BM_Linear_Fit)->Apply(sizes)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Linear_PredictProba(benchmark::State& state) {
  const auto& d = data(state.range(0), state.range(1));
  LogisticRegressionParams p;
  p.max_iter = 2;  // the coefficients do not matter for prediction speed
  p.n_threads = static_cast<int>(state.range(2));
  LogisticRegression m(p);
  m.fit(Dataset(d.view().middle_rows(0, std::min<Index>(d.n, 20000)),
                calibrisk::VectorView<const double>(d.y.data(), std::min<Index>(d.n, 20000))));
  Eigen::VectorXd out(d.n);
  for (auto _ : state) {
    m.predict_proba(d.view(), calibrisk::VectorView<double>(out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * d.n);
  state.SetBytesProcessed(state.iterations() * d.n * d.p * Index(sizeof(double)));
}
BENCHMARK(BM_Linear_PredictProba)->Apply(sizes)->Unit(benchmark::kMillisecond)->UseRealTime();

// The memory-bound floor: one plain dot product per row (Eigen GEMV over the row-major matrix),
// single-threaded and with all threads via fixed row blocks, no NaN handling, no sigmoid.
void BM_Linear_DotBaseline(benchmark::State& state) {
  const auto& d = data(state.range(0), state.range(1));
  Eigen::VectorXd beta = Eigen::VectorXd::Constant(d.p, 0.01);
  Eigen::VectorXd out(d.n);
  const auto X = d.view();
  const int nt = static_cast<int>(state.range(2));
  for (auto _ : state) {
    calibrisk::detail::parallel_blocks(d.n, 4096, nt, [&](Index, Index lo, Index hi) {
      auto Xb = X.middle_rows(lo, hi - lo).eigen();
      out.segment(lo, hi - lo).noalias() = Xb * beta;
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * d.n);
  state.SetBytesProcessed(state.iterations() * d.n * d.p * Index(sizeof(double)));
}
BENCHMARK(BM_Linear_DotBaseline)->Apply(sizes)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
