// SPDX-License-Identifier: Apache-2.0
// The hashed early-stopping hold-out (trees/holdout.hpp): per class, round(fraction x n_c) rows
// (clamped to [1, n_c - 1]) with the smallest (hash, row) — checked against a full sort of the
// keys — the merge of any partition's bottom-k equals it, and the binary fit without a validation
// set trains on exactly the other rows (the same trees as a fit on them with the held-out rows
// as its validation set).
#include <doctest/doctest.h>

#include <calibrisk/trees/booster.hpp>

#include "support/train_data.hpp"
#include "trees/holdout.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

using namespace calibrisk;

namespace {

// Oracle: the k rows of `rows` with the smallest (key, row), by sorting every key.
std::vector<Index> bottom_by_sort(const std::vector<Index>& rows, Index k, std::uint64_t seed) {
  std::vector<std::pair<std::uint64_t, Index>> kv;
  for (const Index r : rows) kv.emplace_back(detail::holdout_key(seed, r), r);
  std::sort(kv.begin(), kv.end());
  std::vector<Index> out;
  for (Index q = 0; q < k && q < static_cast<Index>(kv.size()); ++q) {
    out.push_back(kv[static_cast<std::size_t>(q)].second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("hashed hold-out: stratified counts and the rows with the smallest keys") {
  CHECK(detail::holdout_count(0, 0.1) == 0);
  CHECK(detail::holdout_count(1, 0.1) == 0);   // the only row of a class trains
  CHECK(detail::holdout_count(2, 0.01) == 1);  // at least one when there are two
  CHECK(detail::holdout_count(2, 0.9) == 1);   // at most n - 1
  CHECK(detail::holdout_count(1000, 0.1) == 100);
  CHECK(detail::holdout_count(25, 0.1) == 3);  // round(2.5) = 3 (llround: half away from zero)
  std::vector<double> y(1003);
  std::vector<Index> cls[2];
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = (i * 7919) % 13 < 3 ? 1.0 : 0.0;
    cls[y[i] == 1.0 ? 1 : 0].push_back(static_cast<Index>(i));
  }
  for (const std::uint64_t seed : {0ULL, 42ULL}) {
    const Holdout h = detail::hashed_holdout(VectorView<const double>(y), 0.15, seed);
    std::vector<Index> expect;
    for (const auto& rows : cls) {
      const Index k = std::llround(0.15 * static_cast<double>(rows.size()));
      const std::vector<Index> b = bottom_by_sort(rows, k, seed);
      expect.insert(expect.end(), b.begin(), b.end());
    }
    std::sort(expect.begin(), expect.end());
    CHECK(h.valid == expect);
    CHECK(h.train.size() + h.valid.size() == y.size());
    std::vector<Index> all = h.train;
    all.insert(all.end(), h.valid.begin(), h.valid.end());
    std::sort(all.begin(), all.end());
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == static_cast<Index>(i));
    // Mergeable: the bottom-k of the parts' bottom-k is the bottom-k of all rows.
    for (const auto& rows : cls) {
      const Index k = std::llround(0.15 * static_cast<double>(rows.size()));
      std::vector<Index> merged;
      for (std::size_t a = 0; a < rows.size(); a += 97) {
        const std::vector<Index> part(
            rows.begin() + static_cast<std::ptrdiff_t>(a),
            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), a + 97)));
        const std::vector<Index> b = detail::holdout_bottom_k(part, k, seed);
        merged.insert(merged.end(), b.begin(), b.end());
      }
      CHECK(detail::holdout_bottom_k(merged, k, seed) == bottom_by_sort(rows, k, seed));
    }
  }
}

TEST_CASE("hashed hold-out: the fit without a validation set validates on the held-out rows") {
  const testing::TrainData d = testing::make_dense(1200, 5, 3, 0.05);
  GBDTParams p;
  p.n_estimators = 40;
  p.learning_rate = 0.8;
  p.max_leaf_nodes = 6;
  p.min_samples_leaf = 5;
  p.n_threads = 1;
  p.early_stopping = true;
  p.n_iter_no_change = 2;
  p.validation_fraction = 0.2;
  GradientBoostedTrees inner(p);
  inner.fit(d.dataset());
  // Oracle: the same fit on the training rows, validated on the held-out rows given explicitly
  // (class weights none, so the row weights do not depend on which rows train).
  const Holdout h = detail::hashed_holdout(VectorView<const double>(d.y), 0.2, p.random_state);
  auto take = [&](const std::vector<Index>& rows, std::vector<float>& x, std::vector<double>& y) {
    for (const Index i : rows) {
      x.insert(x.end(), d.x.begin() + i * d.f, d.x.begin() + (i + 1) * d.f);
      y.push_back(d.y[static_cast<std::size_t>(i)]);
    }
  };
  std::vector<float> xt, xv;
  std::vector<double> yt, yv;
  take(h.train, xt, yt);
  take(h.valid, xv, yv);
  const auto n_t = static_cast<Index>(yt.size()), n_v = static_cast<Index>(yv.size());
  const Dataset train(FeatureMatrix(MatrixView<const float>::row_major(xt.data(), n_t, d.f)),
                      VectorView<const double>(yt));
  const Dataset valid(FeatureMatrix(MatrixView<const float>::row_major(xv.data(), n_v, d.f)),
                      VectorView<const double>(yv));
  // subsample = 1 and a bin sample of every row: the row numbers do not enter the trees.
  GradientBoostedTrees explicit_valid(p);
  explicit_valid.fit(train, valid);
  CHECK(inner.n_iter() == explicit_valid.n_iter());
  CHECK(inner.best_iteration() == explicit_valid.best_iteration());
  CHECK(inner.n_iter() < 40);
  CHECK(inner.validation_loss() == explicit_valid.validation_loss());
}
