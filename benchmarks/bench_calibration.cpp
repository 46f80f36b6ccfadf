// SPDX-License-Identifier: Apache-2.0
// Calibration benchmarks: isotonic fit / predict on tied scores, the radix argsort against
// std::sort, Platt and Venn-ABERS fits. Default sizes are small (CI smoke); set
// CALIBRISK_BENCH_LARGE=1 to add the 10M-score cases of the performance target.
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/calibration/venn_abers.hpp>
#include <calibrisk/core/random.hpp>
#include "calibration/common.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <vector>

namespace {

struct Scores {
  std::vector<double> s, y;
};

// Model-like scores: probabilities from a logistic model, rounded to 1e-6 (ties, as a GBDT's).
const Scores& scores(std::int64_t n) {
  static std::vector<std::pair<std::int64_t, Scores>> cache;
  for (auto& [k, v] : cache) {
    if (k == n) return v;
  }
  calibrisk::Rng rng(42);
  Scores d;
  d.s.resize(static_cast<std::size_t>(n));
  d.y.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double z = 1.5 * rng.normal() - 1.0;
    const double p = 1.0 / (1.0 + std::exp(-z));
    d.s[static_cast<std::size_t>(i)] = std::round(p * 1e6) / 1e6;
    d.y[static_cast<std::size_t>(i)] = rng.uniform() < p ? 1.0 : 0.0;
  }
  cache.emplace_back(n, std::move(d));
  return cache.back().second;
}

void BM_Calibration_IsotonicFit(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  for (auto _ : state) {
    calibrisk::IsotonicCalibrator c;
    c.fit(d.s, d.y);
    benchmark::DoNotOptimize(c.n_knots());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Calibration_IsotonicPredict(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  calibrisk::IsotonicParams p;
  p.n_threads = static_cast<int>(state.range(1));
  calibrisk::IsotonicCalibrator c(p);
  c.fit(d.s, d.y);
  std::vector<double> out(d.s.size());
  for (auto _ : state) {
    c.predict(d.s, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Calibration_IsotonicFitTransform(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  std::vector<double> out(d.s.size());
  for (auto _ : state) {
    calibrisk::IsotonicCalibrator c;
    c.fit(d.s, d.y);
    c.predict(d.s, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The sort choice: radix argsort of the order-preserving keys vs std::sort of (score, index).
void BM_Calibration_ArgsortRadix(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  for (auto _ : state) {
    auto o = calibrisk::detail::argsort_scores(d.s);
    benchmark::DoNotOptimize(o.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Calibration_ArgsortStdSort(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  for (auto _ : state) {
    std::vector<std::pair<double, std::uint32_t>> a(d.s.size());
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = {d.s[i], static_cast<std::uint32_t>(i)};
    std::sort(a.begin(), a.end());
    benchmark::DoNotOptimize(a.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Calibration_PlattFit(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  calibrisk::PlattParams p;
  p.input = calibrisk::ScoreKind::kProbability;
  for (auto _ : state) {
    calibrisk::PlattCalibrator c(p);
    c.fit(d.s, d.y);
    benchmark::DoNotOptimize(c.a());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Fit alone: one radix sort + the linear-time (p0, p1) tables (k ~ 0.93 n distinct scores at
// 100k, ~ 0.56 n at 1M: the scores are rounded to 1e-6).
void BM_Calibration_VennAbersFit(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  for (auto _ : state) {
    calibrisk::VennAbersCalibrator c;
    c.fit(d.s, d.y);
    benchmark::DoNotOptimize(c.state().f0.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Calibration_VennAbersFitPredict(benchmark::State& state) {
  const Scores& d = scores(state.range(0));
  std::vector<double> out(d.s.size());
  for (auto _ : state) {
    calibrisk::VennAbersCalibrator c;
    c.fit(d.s, d.y);
    c.predict(d.s, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

const bool kLarge = std::getenv("CALIBRISK_BENCH_LARGE") != nullptr;
const std::int64_t kBig = kLarge ? 10'000'000 : 1 << 20;

BENCHMARK(BM_Calibration_IsotonicFit)->Arg(1 << 16)->Arg(kBig)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_IsotonicPredict)
    ->Args({1 << 16, 1})
    ->Args({kBig, 1})
    ->Args({kBig, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_IsotonicFitTransform)
    ->Arg(1 << 16)
    ->Arg(kBig)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_ArgsortRadix)->Arg(1 << 16)->Arg(kBig)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_ArgsortStdSort)->Arg(1 << 16)->Arg(kBig)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_PlattFit)->Arg(1 << 16)->Arg(kBig)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_VennAbersFit)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Calibration_VennAbersFitPredict)
    ->Arg(1 << 16)
    ->Arg(kBig)
    ->Unit(benchmark::kMillisecond);

}  // namespace
