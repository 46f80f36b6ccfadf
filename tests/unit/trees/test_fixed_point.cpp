// SPDX-License-Identifier: Apache-2.0
// Exact, partition-independent tree training (issue 14): the fixed-point gradient scale and its
// resolution, bit-identical models for 1, 2 and 3 threads on the integer arithmetic, and the bin
// sample chosen by a hash of the global row index (the same rows and edges whatever the
// partition of the rows).
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include "trees/binning.hpp"
#include "trees/histogram.hpp"

#include "support/train_data.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace calibrisk;

namespace {

void check_same_ensemble(const TreeEnsemble& a, const TreeEnsemble& b) {
  CHECK(a.base_score == b.base_score);
  REQUIRE(a.trees.size() == b.trees.size());
  for (std::size_t t = 0; t < a.trees.size(); ++t) {
    CAPTURE(t);
    CHECK(a.trees[t].left == b.trees[t].left);
    CHECK(a.trees[t].feature == b.trees[t].feature);
    CHECK(a.trees[t].threshold == b.trees[t].threshold);
    CHECK(a.trees[t].missing_left == b.trees[t].missing_left);
    CHECK(a.trees[t].value == b.trees[t].value);
    CHECK(a.trees[t].gain == b.trees[t].gain);
    CHECK(a.trees[t].cover == b.trees[t].cover);
  }
}

}  // namespace

TEST_CASE("fixed point: the scale's units are powers of two from the largest weight") {
  // 2^e >= max weight, g_unit = 2^(e - 30), h_unit = 2^(e - 32) (docs/trees.md).
  const GradScale one = GradScale::for_max_weight(1.0);
  CHECK(one.g_unit == std::ldexp(1.0, -30));
  CHECK(one.h_unit == std::ldexp(1.0, -32));
  const GradScale three = GradScale::for_max_weight(3.0);  // e = 2
  CHECK(three.g_unit == std::ldexp(1.0, -28));
  CHECK(three.h_unit == std::ldexp(1.0, -30));
  const GradScale small = GradScale::for_max_weight(0.3);  // e = -1
  CHECK(small.g_unit == std::ldexp(1.0, -31));
  // The extreme values fit 32 bits; rounding is to nearest (error <= half a unit).
  const double w = 3.0;
  const GradPair hi = three.quantise(w, w / 4.0);
  CHECK(hi.g == 3 << 28);  // 3 / 2^-28
  CHECK(hi.h == 3 << 28);  // 0.75 / 2^-30
  CHECK(three.quantise(-w, 0.0).g == -(3 << 28));
  Rng rng(3);
  for (int k = 0; k < 1000; ++k) {
    const double g = 2.0 * rng.uniform() - 1.0, h = 0.25 * rng.uniform();
    const GradPair q = one.quantise(g, h);
    CHECK(std::abs(q.g * one.g_unit - g) <= 0.5 * one.g_unit);
    CHECK(std::abs(q.h * one.h_unit - h) <= 0.5 * one.h_unit);
  }
}

TEST_CASE(
    "fixed point: bit-identical models for 1, 2 and 3 threads (weights, one-hot, K classes)") {
  SUBCASE("binary, weighted dense data with subsampling") {
    testing::TrainData d = testing::make_dense(30000, 10, 21);
    Rng rng(4);
    d.w.resize(static_cast<std::size_t>(d.n));
    for (double& x : d.w) x = 0.1 + 4.9 * rng.uniform();
    GBDTParams p;
    p.n_estimators = 6;
    p.subsample = 0.8;
    p.colsample_bytree = 0.7;
    p.class_weight = ClassWeight::balanced();
    p.n_threads = 1;
    GradientBoostedTrees ref(p);
    ref.fit(d.dataset());
    for (const int t : {2, 3}) {
      CAPTURE(t);
      p.n_threads = t;
      GradientBoostedTrees m(p);
      m.fit(d.dataset());
      check_same_ensemble(ref.ensemble(), m.ensemble());
    }
  }
  SUBCASE("binary, one-hot clinical data (bundles and sparse rows)") {
    const testing::TrainData d = testing::make_onehot_clinical(20000, 9);
    GBDTParams p;
    p.n_estimators = 6;
    p.n_threads = 1;
    GradientBoostedTrees ref(p);
    ref.fit(d.dataset());
    for (const int t : {2, 3}) {
      CAPTURE(t);
      p.n_threads = t;
      GradientBoostedTrees m(p);
      m.fit(d.dataset());
      check_same_ensemble(ref.ensemble(), m.ensemble());
    }
  }
  SUBCASE("three classes") {
    testing::TrainData d = testing::make_dense(20000, 8, 5);
    for (Index i = 0; i < d.n; ++i) {
      const float x0 = d.x[static_cast<std::size_t>(i * d.f)];
      d.y[static_cast<std::size_t>(i)] = x0 < -0.4f ? 0.0 : (x0 < 0.5f ? 1.0 : 2.0);
    }
    GBDTParams p;
    p.n_estimators = 4;
    p.n_threads = 1;
    GradientBoostedTrees ref(p);
    ref.fit(d.dataset(), 3);
    for (const int t : {2, 3}) {
      CAPTURE(t);
      p.n_threads = t;
      GradientBoostedTrees m(p);
      m.fit(d.dataset(), 3);
      for (int k = 0; k < 3; ++k) check_same_ensemble(ref.class_ensemble(k), m.class_ensemble(k));
    }
  }
}

TEST_CASE("binning: the bin sample depends only on global row indices and the seed") {
  const Index n = 20000, k = 3000;
  std::vector<Index> all(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
  const std::vector<Index> full = detail::bin_sample_rows(all, k, 42);
  REQUIRE(static_cast<Index>(full.size()) == k);
  CHECK(std::is_sorted(full.begin(), full.end()));
  CHECK(detail::bin_sample_rows(all, k, 43) != full);  // another seed, another sample
  // Three arbitrary partitions (random assignment, then shuffled within each part): each part's
  // own bin sample, merged and sampled again, is the bin sample of all rows.
  for (const std::uint64_t split_seed : {1u, 2u, 3u}) {
    CAPTURE(split_seed);
    Rng rng(split_seed);
    std::vector<Index> part[3];
    for (Index i = 0; i < n; ++i) part[rng.below(3)].push_back(i);
    std::vector<Index> merged;
    for (auto& p : part) {
      rng.shuffle(p.data(), static_cast<Index>(p.size()));
      const std::vector<Index> s = detail::bin_sample_rows(p, k, 42);
      merged.insert(merged.end(), s.begin(), s.end());
    }
    rng.shuffle(merged.data(), static_cast<Index>(merged.size()));
    CHECK(detail::bin_sample_rows(merged, k, 42) == full);
    // Whether a row is selected does not depend on which part holds it: a part's sample is its
    // rows' share of the global sample plus rows that lose only in the merge.
    for (const auto& p : part) {
      const std::vector<Index> s = detail::bin_sample_rows(p, k, 42);
      for (const Index i : p) {
        if (std::binary_search(full.begin(), full.end(), i)) {
          CHECK(std::binary_search(s.begin(), s.end(), i));
        }
      }
    }
  }
}

TEST_CASE("binning: edges from merged partition samples equal the single-process edges") {
  const testing::TrainData d = testing::make_dense(12000, 6, 8, 0.1);
  const FeatureMatrix X(d.X());
  const Index k = 2500;
  const BinMapper ref = detail::fit_bin_mapper(X, {}, 64, k, 7, 1);
  // Three partitions of the rows: each selects its bin sample by global row index; the driver
  // merges them, selects again and gathers the sampled rows' values in an arbitrary order.
  Rng rng(12);
  std::vector<Index> part[3];
  for (Index i = 0; i < d.n; ++i) part[rng.below(3)].push_back(i);
  std::vector<Index> merged;
  for (const auto& p : part) {
    const std::vector<Index> s = detail::bin_sample_rows(p, k, 7);
    merged.insert(merged.end(), s.begin(), s.end());
  }
  std::vector<Index> sample = detail::bin_sample_rows(merged, k, 7);
  rng.shuffle(sample.data(), static_cast<Index>(sample.size()));
  std::vector<float> gathered;
  for (const Index i : sample) {
    for (Index f = 0; f < d.f; ++f) gathered.push_back(d.x[static_cast<std::size_t>(i * d.f + f)]);
  }
  const FeatureMatrix G(
      MatrixView<const float>::row_major(gathered.data(), static_cast<Index>(sample.size()), d.f));
  const BinMapper got = detail::bin_mapper_from_sample(G, 64, 2);
  CHECK(got.edges == ref.edges);
  CHECK(got.has_missing == ref.has_missing);
  CHECK(got.is_constant == ref.is_constant);
  CHECK(got.offsets == ref.offsets);
  // The quantile edges really come from a subsample: all rows give other edges.
  CHECK(detail::fit_bin_mapper(X, {}, 64, 0, 7, 1).edges != ref.edges);
}
