// SPDX-License-Identifier: Apache-2.0
// Benchmarks of the data path and the report: drawing the cohort, writing and reading it as CSV,
// and computing an evaluation report with bootstrap intervals.
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/report/evaluate.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <sstream>
#include <string>

namespace {

calibrisk::ReadmissionCohort cohort(calibrisk::Index rows) {
  calibrisk::ReadmissionCohortParams p;
  p.n_encounters = rows;
  p.seed = 1;
  return calibrisk::make_readmission_cohort(p);
}

void BM_Datasets_Generate(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(cohort(state.range(0)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Datasets_Generate)->Arg(200000)->Unit(benchmark::kMillisecond);

void BM_Io_WriteCsv(benchmark::State& state) {
  const calibrisk::Table t = cohort(state.range(0)).to_table();
  for (auto _ : state) {
    std::ostringstream out;
    calibrisk::write_csv(t, out);
    benchmark::DoNotOptimize(out.str().size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Io_WriteCsv)->Arg(200000)->Unit(benchmark::kMillisecond);

void BM_Io_ReadCsv(benchmark::State& state) {
  std::ostringstream out;
  calibrisk::write_csv(cohort(state.range(0)).to_table(), out);
  const std::string text = out.str();
  calibrisk::CsvReadOptions o;
  o.categorical = {"site", "age_band"};
  o.time_column = "encounter_date";
  for (auto _ : state) benchmark::DoNotOptimize(calibrisk::parse_csv(text, o));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Io_ReadCsv)->Arg(200000)->Unit(benchmark::kMillisecond);

// Report on 100k rows with 200 grouped bootstrap replicates, calibration before/after, 2
// subgroup columns and quarters.
void BM_Report_Evaluate(benchmark::State& state) {
  const calibrisk::ReadmissionCohort c = cohort(state.range(0));
  const std::vector<double> y = c.labels();
  std::vector<double> p0, site(c.site.begin(), c.site.end()),
      day(c.encounter_day.begin(), c.encounter_day.end());
  for (double r : c.true_risk) p0.push_back(r * r / (r * r + (1 - r) * (1 - r)));  // overconfident
  const std::vector<double> band = c.age_band();
  calibrisk::EvaluationInput in;
  in.y = y;
  in.p = c.true_risk;
  in.p_uncalibrated = p0;
  in.threshold = 0.15;
  in.subgroups = {{"site", site, {}},
                  {"age_band", band, calibrisk::ReadmissionCohort::age_band_labels()}};
  in.time = day;
  in.groups = c.patient_id;
  calibrisk::EvaluationParams params;
  params.n_bootstrap = static_cast<int>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(calibrisk::evaluate(in, params));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Report_Evaluate)->Args({100000, 200})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
