// SPDX-License-Identifier: Apache-2.0
// Benchmarks of logistic regression: fit, bulk predict_proba, and a plain dot-product baseline.
//
// Default sizes finish in seconds (CI smoke run). The 1M x 100 cases of the issue are registered
// only when CALIBRISK_BENCH_FULL=1 is set:
//   CALIBRISK_BENCH_FULL=1 calibrisk_benchmarks --benchmark_filter='BM_Linear_.*/1000000/'
#include <benchmark/benchmark.h>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

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

// Categorical features: 75k rows, 10 numeric columns and 5 code columns with 10-300 Zipf-like
// levels (the one-hot-heavy clinical shape of issue 12). Fit on the codes, and score one row
// with the 5 columns categorical against the same row scored as 15 numeric columns.
struct CategoricalData {
  Index n = 75000, p = 15;
  std::vector<double> X, y;
  std::vector<int> cats = {10, 11, 12, 13, 14};
};

const CategoricalData& categorical_data() {
  static const CategoricalData d = [] {
    CategoricalData c;
    const int levels[] = {10, 30, 80, 150, 300};
    calibrisk::Rng rng(5);
    c.X.resize(static_cast<std::size_t>(c.n * c.p));
    c.y.resize(static_cast<std::size_t>(c.n));
    for (Index i = 0; i < c.n; ++i) {
      double z = -0.5;
      for (Index j = 0; j < 10; ++j) {
        c.X[i * c.p + j] = rng.normal();
        z += 0.2 * c.X[i * c.p + j];
      }
      for (Index k = 0; k < 5; ++k) {
        const double u = rng.uniform();
        const double code = std::floor(levels[k] * u * u);
        c.X[i * c.p + 10 + k] = code;
        z += 0.3 * std::sin(code * (k + 1.0));
      }
      c.y[i] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
    }
    return c;
  }();
  return d;
}

void BM_Linear_FitCategorical(benchmark::State& state) {
  const CategoricalData& d = categorical_data();
  LogisticRegressionParams p;
  p.categorical_features = d.cats;
  p.n_threads = static_cast<int>(state.range(0));
  const auto X = calibrisk::MatrixView<const double>::row_major(d.X.data(), d.n, d.p);
  for (auto _ : state) {
    LogisticRegression m(p);
    m.fit(Dataset(X, calibrisk::VectorView<const double>(d.y.data(), d.n)));
    benchmark::DoNotOptimize(m.intercept());
    state.counters["n_iter"] = m.fit_info().n_iter;
    state.counters["n_coef"] = static_cast<double>(m.coef().size());
  }
  state.SetItemsProcessed(state.iterations() * d.n);
}
BENCHMARK(BM_Linear_FitCategorical)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arg: 1 = the 5 code columns categorical, 0 = all 15 columns numeric (the baseline row).
void BM_Linear_PredictRowCategorical(benchmark::State& state) {
  const CategoricalData& d = categorical_data();
  LogisticRegressionParams p;
  if (state.range(0) == 1) p.categorical_features = d.cats;
  p.max_iter = 3;
  LogisticRegression m(p);
  m.fit(Dataset(calibrisk::MatrixView<const double>::row_major(d.X.data(), 20000, d.p),
                calibrisk::VectorView<const double>(d.y.data(), 20000)));
  Index i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.predict_proba_row(d.X.data() + i * d.p));
    i = (i + 1) & 4095;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Linear_PredictRowCategorical)->Arg(0)->Arg(1);

// Sparse multinomial fit (issue 13): a synthetic bag-of-words CSR matrix, n docs x 5000 terms,
// ~40 non-zeros per row with Zipf-like term frequencies, 10 classes whose documents favour their
// own terms. Args: {n_docs, n_classes}.
struct SparseDocs {
  Index n = 0, p = 5000;
  std::vector<std::int64_t> indptr{0}, indices;
  std::vector<double> values, y;
  calibrisk::SparseMatrixView view() const {
    return {indptr.data(), indices.data(), values.data(), n, p, true};
  }
};

const SparseDocs& sparse_docs(Index n, int K) {
  static SparseDocs d;
  static int cached_k = 0;  // the cache is per (n, K): the 2-class case must not reuse 10 classes
  if (d.n == n && cached_k == K && static_cast<int>(d.y.size()) == n) return d;
  d = SparseDocs{};
  cached_k = K;
  d.n = n;
  calibrisk::Rng rng(7);
  for (Index i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng.uniform() * K);
    d.y.push_back(c);
    std::vector<double> row(static_cast<std::size_t>(d.p), 0.0);
    for (int t = 0; t < 40; ++t) {
      auto r = static_cast<Index>(std::pow(rng.uniform(), 3.0) * static_cast<double>(d.p));
      if (rng.uniform() < 0.3) r = (r * 7 + c * 131) % d.p;  // class-specific terms
      row[static_cast<std::size_t>(r)] += 1.0;
    }
    for (Index j = 0; j < d.p; ++j) {
      if (row[static_cast<std::size_t>(j)] > 0.0) {
        d.indices.push_back(j);
        d.values.push_back(std::log1p(row[static_cast<std::size_t>(j)]));
      }
    }
    d.indptr.push_back(static_cast<std::int64_t>(d.indices.size()));
  }
  return d;
}

void BM_Linear_FitSparse(benchmark::State& state) {
  const int K = static_cast<int>(state.range(1));
  const SparseDocs& d = sparse_docs(state.range(0), K);
  LogisticRegressionParams p;
  for (auto _ : state) {
    LogisticRegression m(p);
    m.fit(d.view(), d.y, {}, K);
    benchmark::DoNotOptimize(m.objective());
    state.counters["n_iter"] = m.fit_info().n_iter;
  }
  state.SetItemsProcessed(state.iterations() * d.n);
}
BENCHMARK(BM_Linear_FitSparse)
    ->Args({20000, 10})
    ->Args({20000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
