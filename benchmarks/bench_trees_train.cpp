// SPDX-License-Identifier: Apache-2.0
// Google Benchmarks of tree training: histogram construction, split finding, one tree, a whole fit.
// Default sizes keep CI's smoke run to seconds; the 1M x 50 cases are behind the "big" names
// (run with --benchmark_filter=Big).
#include <benchmark/benchmark.h>

#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include "trees/binning.hpp"
#include "trees/histogram.hpp"

#include "categorical_data.hpp"
#include "support/train_data.hpp"
#include "trees/grower.hpp"
#include "trees/splitter.hpp"

#include <numeric>

namespace {

using namespace calibrisk;

struct Prepared {
  testing::TrainData data;
  BinMapper mapper;
  BinnedMatrix bins;
  std::vector<GradPair> gh;
  std::vector<std::int32_t> features;
};

Prepared prepare(Index n, Index f, bool sparse) {
  Prepared p;
  p.data = sparse ? testing::make_sparse(n, f) : testing::make_dense(n, f);
  const FeatureMatrix X(p.data.X());
  p.mapper = detail::fit_bin_mapper(X, {}, 255, 200000, 0, 1);
  p.bins = detail::bin_matrix(p.mapper, X, 1);
  p.gh.resize(static_cast<std::size_t>(n));
  const double base = 0.1;
  for (Index i = 0; i < n; ++i) {
    const double y = p.data.y[static_cast<std::size_t>(i)];
    p.gh[static_cast<std::size_t>(i)] =
        GradScale::for_max_weight(1.0).quantise(base - y, base * (1 - base));
  }
  for (Index j = 0; j < f; ++j) {
    if (!p.mapper.is_constant[static_cast<std::size_t>(j)]) {
      p.features.push_back(static_cast<std::int32_t>(j));
    }
  }
  return p;
}

// Histogram of a leaf holding every second row (gathered gradients: the common, non-root case).
void BM_Trees_Histogram(benchmark::State& state) {
  const Index n = state.range(0), f = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const Prepared p = prepare(n, f, state.range(3) != 0);
  std::vector<RowIndex> rows;
  for (Index i = 0; i < n; i += 2) rows.push_back(i);
  std::vector<GradPair> ordered(rows.size());
  std::vector<HistBin> hist(static_cast<std::size_t>(p.mapper.total_bins()));
  HistBin total;
  for (const Index i : rows) {
    total.g += p.gh[static_cast<std::size_t>(i)].g;
    total.h += p.gh[static_cast<std::size_t>(i)].h;
  }
  total.n = static_cast<std::int64_t>(rows.size());
  for (auto _ : state) {
    detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), p.gh.data(),
                             ordered.data(), threads);
    detail::HistogramJob job{rows.data(), static_cast<Index>(rows.size()), ordered.data(),
                             p.features.data(), static_cast<Index>(p.features.size())};
    detail::build_histogram(p.bins, p.mapper, job, nullptr, total, hist.data(), threads);
    benchmark::DoNotOptimize(hist.data());
  }
  // Bytes the kernel must touch: one code per (row, feature), plus the row index and gradients
  // once per row.
  const double bytes =
      static_cast<double>(rows.size()) * (static_cast<double>(p.features.size()) + 8.0 + 8.0);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(rows.size()) * state.iterations());
}
BENCHMARK(BM_Trees_Histogram)->Args({200000, 20, 1, 0})->Args({200000, 20, 2, 0})->UseRealTime();
// The machine's read bandwidth, the yardstick of the histogram throughput above: sum of a 512 MiB
// array of doubles, split in fixed halves over 1 or 2 threads.
void BM_Memory_ReadBandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const Index n = Index{1} << 26;
  std::vector<double> a(static_cast<std::size_t>(n), 1.0);
  for (auto _ : state) {
    double part[2] = {0.0, 0.0};
    detail::parallel_for(0, 2, threads, [&](Index t) {
      double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
      for (Index i = t * n / 2; i < (t + 1) * n / 2; i += 4) {
        s0 += a[static_cast<std::size_t>(i)];
        s1 += a[static_cast<std::size_t>(i) + 1];
        s2 += a[static_cast<std::size_t>(i) + 2];
        s3 += a[static_cast<std::size_t>(i) + 3];
      }
      part[t] = (s0 + s1) + (s2 + s3);
    });
    benchmark::DoNotOptimize(part[0] + part[1]);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(n) * 8 * state.iterations());
}
BENCHMARK(BM_Memory_ReadBandwidth)
    ->Name("BM_Memory_ReadBandwidth/Big")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Trees_Histogram)
    ->Name("BM_Trees_Histogram/Big")
    ->Args({1000000, 50, 1, 0})
    ->Args({1000000, 50, 2, 0})
    ->UseRealTime();

// Histogram of a leaf holding a random 1/share of 1M x 50 rows, one thread, by kernel: arg 1 = 0
// forces the column-wise kernel (no row-major copy), 1 lets the builder choose (row-wise below
// 1/12 of the rows). Reports (row, feature) updates per second (measured table:
// benchmarks/results/trees.md).
void BM_Trees_HistogramShare(benchmark::State& state) {
  static const Prepared p = [] {
    Prepared q = prepare(1000000, 50, false);
    q.bins = detail::bin_matrix(q.mapper, FeatureMatrix(q.data.X()), 2, /*row_major_copy=*/true);
    return q;
  }();
  const Index share = state.range(0);
  BinnedMatrix column_only;
  if (state.range(1) == 0) {
    column_only = p.bins;
    column_only.rows8.clear();
  }
  const BinnedMatrix& bins = state.range(1) == 0 ? column_only : p.bins;
  Rng rng(3);
  std::vector<RowIndex> rows;
  for (Index i = 0; i < p.data.n; ++i) {
    if (rng.below(static_cast<std::uint64_t>(share)) == 0) rows.push_back(static_cast<RowIndex>(i));
  }
  std::vector<GradPair> ordered(rows.size());
  detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), p.gh.data(),
                           ordered.data(), 1);
  std::vector<HistBin> hist(static_cast<std::size_t>(p.mapper.total_bins()));
  const detail::HistogramJob job{rows.data(), static_cast<Index>(rows.size()), ordered.data(),
                                 p.features.data(), static_cast<Index>(p.features.size())};
  for (auto _ : state) {
    detail::build_histogram(bins, p.mapper, job, nullptr, HistBin{}, hist.data(), 1);
    benchmark::DoNotOptimize(hist.data());
  }
  // (row, feature) updates per second; ns per update = 1e9 / this.
  state.counters["updates"] =
      benchmark::Counter(static_cast<double>(rows.size() * p.features.size()),
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Trees_HistogramShare)
    ->Name("BM_Trees_HistogramShare/Big")
    ->ArgsProduct({{2, 4, 8, 12, 16, 32, 64}, {0, 1}})
    ->UseRealTime();

void BM_Trees_SplitFind(benchmark::State& state) {
  const Index n = state.range(0), f = state.range(1);
  const Prepared p = prepare(n, f, false);
  std::vector<HistBin> hist(static_cast<std::size_t>(p.mapper.total_bins()));
  HistBin total;
  for (const auto& g : p.gh) {
    total.g += g.g;
    total.h += g.h;
  }
  total.n = n;
  detail::HistogramJob job{nullptr, n, p.gh.data(), p.features.data(),
                           static_cast<Index>(p.features.size())};
  detail::build_histogram(p.bins, p.mapper, job, nullptr, total, hist.data(), 1);
  detail::SplitRules rules;
  for (auto _ : state) {
    auto s = detail::find_best_split(p.mapper, hist.data(), total, p.features.data(),
                                     static_cast<Index>(p.features.size()), rules, nullptr, {}, 1);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(p.mapper.total_bins()) * state.iterations());
}
BENCHMARK(BM_Trees_SplitFind)->Args({20000, 50});

void BM_Trees_GrowTree(benchmark::State& state) {
  const Index n = state.range(0), f = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const Prepared p = prepare(n, f, state.range(3) != 0);
  detail::GrowerParams gp;
  gp.n_threads = threads;
  gp.rules.l2 = 1.0;
  detail::TreeGrower grower(p.bins, p.mapper, gp);
  std::vector<RowIndex> rows(static_cast<std::size_t>(n));
  for (auto _ : state) {
    std::iota(rows.begin(), rows.end(), Index{0});
    auto t = grower.grow(rows, true, p.gh.data(), p.features);
    benchmark::DoNotOptimize(t.tree.value.data());
  }
  state.SetItemsProcessed(n * state.iterations());
}
BENCHMARK(BM_Trees_GrowTree)->Args({50000, 20, 1, 0})->Args({50000, 20, 2, 0})->UseRealTime();
BENCHMARK(BM_Trees_GrowTree)
    ->Name("BM_Trees_GrowTree/Big")
    ->Args({1000000, 50, 2, 0})
    ->Args({1000000, 200, 2, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Whole fit from raw float32 arrays (binning included), 2 threads.
void BM_Trees_Fit(benchmark::State& state) {
  const Index n = state.range(0), f = state.range(1);
  const int trees = static_cast<int>(state.range(2));
  const bool sparse = state.range(3) != 0;
  const testing::TrainData d = sparse ? testing::make_sparse(n, f) : testing::make_dense(n, f);
  GBDTParams p;
  p.n_estimators = trees;
  p.l2_regularization = 1.0;
  p.n_threads = 2;
  for (auto _ : state) {
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    benchmark::DoNotOptimize(m.ensemble().trees.data());
  }
  state.SetItemsProcessed(n * trees * state.iterations());
}
BENCHMARK(BM_Trees_Fit)
    ->Args({20000, 20, 20, 0})
    ->Args({20000, 100, 20, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Trees_Fit)
    ->Name("BM_Trees_Fit/Big")
    ->Args({1000000, 50, 100, 0})
    ->Args({1000000, 200, 100, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Args: rows, levels of the Zipf code column, numeric columns, categorical (1) or the same codes
// as an ordinal numeric column (0). 100 trees, 2 threads, from raw float32 (binning included).
void BM_Trees_TrainCategorical(benchmark::State& state) {
  const Index n = state.range(0);
  const bench::CodeData d = bench::make_code_data(n, static_cast<int>(state.range(1)),
                                                  static_cast<int>(state.range(2)), 3);
  GBDTParams p;
  p.n_estimators = 100;
  p.l2_regularization = 1.0;
  p.n_threads = 2;
  if (state.range(3) != 0) p.categorical_features = {0};
  for (auto _ : state) {
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    benchmark::DoNotOptimize(m.ensemble().trees.data());
  }
  state.SetItemsProcessed(n * p.n_estimators * state.iterations());
}
BENCHMARK(BM_Trees_TrainCategorical)
    ->ArgNames({"rows", "levels", "numeric", "cat"})
    ->Args({20000, 2000, 10, 1})
    ->Args({20000, 2000, 10, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Trees_TrainCategorical)
    ->Name("BM_Trees_TrainCategorical/Big")
    ->ArgNames({"rows", "levels", "numeric", "cat"})
    ->Args({200000, 2000, 10, 1})
    ->Args({200000, 2000, 10, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The onehot-clinical shape (75k x 173: 155 one-hot indicators of 15 skewed categorical variables,
// 10 nearly exclusive flags, 8 numeric; tests/support/train_data.hpp make_onehot_clinical), 100
// trees, 31 leaves, 2 threads: the shape where exclusive feature bundling pays (issue 12).
void BM_Trees_FitOneHot(benchmark::State& state) {
  static const testing::TrainData d = testing::make_onehot_clinical(75000);
  GBDTParams p;
  p.n_estimators = static_cast<int>(state.range(0));
  p.l2_regularization = 1.0;
  p.n_threads = 2;
  for (auto _ : state) {
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    benchmark::DoNotOptimize(m.ensemble().trees.data());
  }
  state.SetItemsProcessed(d.n * p.n_estimators * state.iterations());
}
BENCHMARK(BM_Trees_FitOneHot)->Arg(100)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

// One leaf's histogram on 1M rows by split: arg 0 = leaf holds every k-th row (1 = contiguous
// root), arg 1 = threads, arg 2 = split (0 as chosen, 1 feature-, 2 row-parallel), arg 3 =
// columns (50 or 3). Includes the reduction of the partials (the grower does it in its split-scan
// region). Process CPU time next to wall time: on a shared machine the first is the steadier.
void BM_Trees_HistogramSplit(benchmark::State& state) {
  auto make = [](Index f) {
    Prepared q = prepare(1000000, f, false);
    q.bins = detail::bin_matrix(q.mapper, FeatureMatrix(q.data.X()), 2, /*row_major_copy=*/true);
    return q;
  };
  static const Prepared wide = make(50), narrow = make(3);
  const Prepared& p = state.range(3) == 3 ? narrow : wide;
  const Index step = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  std::vector<RowIndex> rows;
  for (Index i = 0; i < p.data.n; i += step) rows.push_back(static_cast<RowIndex>(i));
  std::vector<GradPair> ordered(rows.size());
  detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), p.gh.data(),
                           ordered.data(), 1);
  std::vector<HistBin> hist(static_cast<std::size_t>(p.mapper.total_bins()));
  const detail::HistogramJob job{step == 1 ? nullptr : rows.data(), static_cast<Index>(rows.size()),
                                 step == 1 ? p.gh.data() : ordered.data(), p.features.data(),
                                 static_cast<Index>(p.features.size())};
  detail::set_histogram_split(static_cast<detail::HistogramSplit>(state.range(2)));
  for (auto _ : state) {
    detail::build_histogram(p.bins, p.mapper, job, nullptr, HistBin{}, hist.data(), threads);
    benchmark::DoNotOptimize(hist.data());
  }
  detail::set_histogram_split(detail::HistogramSplit::kAuto);
  state.counters["updates"] =
      benchmark::Counter(static_cast<double>(rows.size() * p.features.size()),
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Trees_HistogramSplit)
    ->Name("BM_Trees_HistogramSplit/Big")
    ->ArgNames({"step", "threads", "split", "cols"})
    ->ArgsProduct({{1, 2, 8, 32}, {2}, {1, 2}, {50, 3}})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Row- against feature-parallel histograms (docs/trees.md, "Threads"): a whole fit from raw
// float32 (binning included) with the split rule as chosen (0), forced feature-parallel (1) or
// forced row-parallel (2). Args: shape (0 = make_dense 1M x 50 with 30 trees, 1 = the
// onehot-clinical 75k x 173 with 100 trees), threads, split. The model is the same bits in all
// three (tests/unit/trees/test_histogram_parallel.cpp).
void BM_Trees_FitSplit(benchmark::State& state) {
  static const testing::TrainData dense = testing::make_dense(1000000, 50);
  static const testing::TrainData onehot = testing::make_onehot_clinical(75000);
  const testing::TrainData& d = state.range(0) == 0 ? dense : onehot;
  GBDTParams p;
  p.n_estimators = state.range(0) == 0 ? 30 : 100;
  p.l2_regularization = 1.0;
  p.n_threads = static_cast<int>(state.range(1));
  detail::set_histogram_split(static_cast<detail::HistogramSplit>(state.range(2)));
  for (auto _ : state) {
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    benchmark::DoNotOptimize(m.ensemble().trees.data());
  }
  detail::set_histogram_split(detail::HistogramSplit::kAuto);
  state.SetItemsProcessed(d.n * p.n_estimators * state.iterations());
}
BENCHMARK(BM_Trees_FitSplit)
    ->Name("BM_Trees_FitSplit/Big")
    ->ArgNames({"shape", "threads", "split"})
    ->ArgsProduct({{0, 1}, {1, 2}, {0, 1, 2}})
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
