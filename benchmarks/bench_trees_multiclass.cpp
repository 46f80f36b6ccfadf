// SPDX-License-Identifier: Apache-2.0
// Google Benchmarks of multiclass (softmax) trees: a whole K-class fit and the allocation-free
// scoring of all K probabilities of one row. Default sizes run in a second (CI smoke run); the
// issue-13 shape (500k x 50, 5 classes, 100 rounds) is behind the "Big" name.
#include <benchmark/benchmark.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>

#include <cmath>
#include <vector>

namespace {

using namespace calibrisk;

// n x f float32 rows, K classes drawn from a softmax of class-specific linear scores, 5 % NaN in
// every fifth feature.
struct McBenchData {
  std::vector<float> x;
  std::vector<double> y;
  Index n = 0, f = 0;
  Dataset dataset() const {
    return Dataset(MatrixView<const float>::row_major(x.data(), n, f), VectorView<const double>(y));
  }
};

McBenchData make_mc(Index n, Index f, int K, std::uint64_t seed) {
  McBenchData d;
  d.n = n;
  d.f = f;
  d.x.resize(static_cast<std::size_t>(n * f));
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed, 3);
  std::vector<double> s(static_cast<std::size_t>(K));
  for (Index i = 0; i < n; ++i) {
    float* row = d.x.data() + i * f;
    for (Index j = 0; j < f; ++j) row[j] = static_cast<float>(rng.normal());
    double tot = 0.0;
    for (int k = 0; k < K; ++k) {
      const double v = row[k % f] - 0.5 * row[(k + 1) % f] + 0.3 * row[(k + 2) % f];
      s[static_cast<std::size_t>(k)] = std::exp(v);
      tot += s[static_cast<std::size_t>(k)];
    }
    double u = rng.uniform() * tot;
    int c = 0;
    while (c < K - 1 && u >= s[static_cast<std::size_t>(c)]) u -= s[static_cast<std::size_t>(c++)];
    d.y[static_cast<std::size_t>(i)] = c;
    for (Index j = 1; j < f; j += 5) {
      if (rng.uniform() < 0.05) row[j] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  return d;
}

// Args: rows, features, classes, rounds. Whole fit from raw float32 (binning included), 2 threads.
void BM_Trees_FitMulticlass(benchmark::State& state) {
  const Index n = state.range(0), f = state.range(1);
  const auto K = static_cast<int>(state.range(2));
  const McBenchData d = make_mc(n, f, K, 1);
  GBDTParams p;
  p.n_estimators = static_cast<int>(state.range(3));
  p.l2_regularization = 1.0;
  p.n_threads = 2;
  for (auto _ : state) {
    GradientBoostedTrees m(p);
    m.fit(d.dataset(), K);
    benchmark::DoNotOptimize(m.class_ensemble(0).trees.data());
  }
  state.SetItemsProcessed(n * p.n_estimators * state.iterations());
}
BENCHMARK(BM_Trees_FitMulticlass)
    ->ArgNames({"rows", "features", "classes", "rounds"})
    ->Args({20000, 20, 5, 10})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Trees_FitMulticlass)
    ->Name("BM_Trees_FitMulticlass/Big")
    ->ArgNames({"rows", "features", "classes", "rounds"})
    ->Args({500000, 50, 5, 100})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Args: classes. All K probabilities of one contiguous float64 row into a caller buffer (no
// allocation): 100 rounds of 31-leaf trees per class trained on 20,000 x 50 rows.
void BM_Trees_PredictRowMulticlass(benchmark::State& state) {
  const auto K = static_cast<int>(state.range(0));
  const Index f = 50;
  const McBenchData d = make_mc(20000, f, K, 2);
  GBDTParams p;
  p.n_estimators = 100;
  p.n_threads = 2;
  GradientBoostedTrees m(p);
  m.fit(d.dataset(), K);
  const Index n_rows = 1024;  // cycle through rows so branch history does not memorise one path
  std::vector<double> rows(static_cast<std::size_t>(n_rows * f));
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<double>(d.x[i]);
  std::vector<double> out(static_cast<std::size_t>(K));
  Index i = 0;
  for (auto _ : state) {
    m.predict_proba_row(&rows[static_cast<std::size_t>(i * f)], out.data());
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) & (n_rows - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Trees_PredictRowMulticlass)->Arg(5)->Unit(benchmark::kNanosecond);

}  // namespace
