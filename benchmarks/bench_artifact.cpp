// SPDX-License-Identifier: Apache-2.0
// Artifact load time against a plain JSON parse of the same text (validation must stay cheap), and
// calibrated single-row scoring against the bare tree ensemble (the calibrator must stay cheap).
// Targets (docs/artifact.md): load of 500 trees x 31 leaves <= 5x the parse and < 0.1 s;
// PredictRowCalibrated within 1.2x of PredictRowBare for 100 trees x 31 leaves.
#include <benchmark/benchmark.h>

#include <calibrisk/artifact/io.hpp>

#include "support/artifact_forest.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace {

using calibrisk::Index;

const std::string& forest_text(int n_trees) {
  static std::map<int, std::string> cache;
  auto it = cache.find(n_trees);
  if (it == cache.end()) {
    it = cache
             .emplace(n_trees, calibrisk::to_string(calibrisk::test::random_forest_pipeline(
                                   n_trees, 31, 50, 200, 1)))
             .first;
  }
  return it->second;
}

void BM_Artifact_Load(benchmark::State& state) {
  const std::string& text = forest_text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    calibrisk::Pipeline p = calibrisk::load_from_string(text);
    benchmark::DoNotOptimize(p);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["file_MB"] = static_cast<double>(text.size()) / 1e6;
}
BENCHMARK(BM_Artifact_Load)->Arg(50)->Arg(500)->Unit(benchmark::kMillisecond);

void BM_Artifact_ParseJsonBaseline(benchmark::State& state) {
  const std::string& text = forest_text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    nlohmann::json j = nlohmann::json::parse(text);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Artifact_ParseJsonBaseline)->Arg(50)->Arg(500)->Unit(benchmark::kMillisecond);

void BM_Artifact_Save(benchmark::State& state) {
  const calibrisk::Pipeline p =
      calibrisk::test::random_forest_pipeline(static_cast<int>(state.range(0)), 31, 50, 200, 1);
  for (auto _ : state) {
    std::string s = calibrisk::to_string(p);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Artifact_Save)->Arg(50)->Arg(500)->Unit(benchmark::kMillisecond);

struct RowFixture {
  calibrisk::Pipeline calibrated, bare;
  calibrisk::RowMatrixXd rows;
  RowFixture()
      : calibrated(calibrisk::test::random_forest_pipeline(100, 31, 50, 200, 2)),
        bare(calibrisk::test::random_forest_pipeline(100, 31, 50, 0, 2)) {
    calibrisk::Rng rng(3);
    rows.resize(1024, 50);
    for (Index i = 0; i < rows.rows(); ++i)
      for (Index j = 0; j < rows.cols(); ++j) rows(i, j) = rng.normal();
  }
};
const RowFixture& rows() {
  static const RowFixture f;
  return f;
}

void BM_Artifact_PredictRowCalibrated(benchmark::State& state) {
  const RowFixture& f = rows();
  Index i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.calibrated.predict_proba_row(f.rows.row(i).data()));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Artifact_PredictRowCalibrated);

// The bare ensemble's own single-row prediction (no pipeline, no calibrator): the reference.
void BM_Artifact_PredictRowBare(benchmark::State& state) {
  const RowFixture& f = rows();
  const auto& model = std::get<calibrisk::GradientBoostedTrees>(f.bare.model());
  Index i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.predict_proba_row(f.rows.row(i).data()));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Artifact_PredictRowBare);

}  // namespace
