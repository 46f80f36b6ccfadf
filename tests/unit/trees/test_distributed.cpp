// SPDX-License-Identifier: Apache-2.0
// The step-wise distributed fit (trees/distributed.hpp): shards and the driver, run in process on
// 1, 2 and 3 shards (one of them empty), give the trees of GradientBoostedTrees::fit (the oracle)
// bit for bit, with row and column subsampling and weights; a lost shard is an error. ExactSum:
// the correctly rounded sum whatever the order.
#include <doctest/doctest.h>

#include "support/train_data.hpp"
#include "trees/distributed.hpp"

#include <cmath>
#include <vector>

using namespace calibrisk;

namespace {

// The categorical bins of p.categorical_features from the code counts of each shard of rows
// [cuts[k], cuts[k + 1]), summed: what the Python client does (calibrisk/_dask_categorical.py).
BinMapper with_categorical(BinMapper m, const GBDTParams& p, const testing::TrainData& d,
                           const std::vector<Index>& cuts) {
  if (p.categorical_features.empty()) return m;
  std::vector<std::vector<Index>> counts(p.categorical_features.size());
  std::vector<std::uint8_t> missing(p.categorical_features.size(), 0);
  for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
    const Index a = cuts[k], rows = cuts[k + 1] - a;
    const FeatureMatrix xs(MatrixView<const float>::row_major(d.x.data() + a * d.f, rows, d.f));
    for (std::size_t q = 0; q < counts.size(); ++q) {
      bool miss = false;
      const auto c = detail::category_code_counts(xs, p.categorical_features[q], {}, &miss);
      if (counts[q].size() < c.size()) counts[q].resize(c.size(), 0);
      for (std::size_t v = 0; v < c.size(); ++v) counts[q][v] += c[v];
      missing[q] = missing[q] || miss;
    }
  }
  detail::make_categorical_from_counts(m, {p.categorical_features, p.min_data_per_category}, counts,
                                       missing);
  return m;
}

// The distributed fit, driven in process over shards of rows [cuts[k], cuts[k + 1]).
GradientBoostedTrees distributed_fit(const GBDTParams& p, const testing::TrainData& d,
                                     const std::vector<Index>& cuts, int lose_at_step = -1,
                                     int* n_steps = nullptr, bool root_ahead = false) {
  const FeatureMatrix X(d.X());
  const BinMapper m = with_categorical(
      detail::fit_bin_mapper(X, {}, p.max_bins, p.bin_subsample, p.random_state, 1), p, d, cuts);
  Index n1 = 0;
  for (const double v : d.y) n1 += v == 1.0 ? 1 : 0;
  const auto [m0, m1] = detail::binary_class_multipliers(p, d.n - n1, n1);
  std::vector<detail::TrainShard> shards;
  detail::ExactSum sw[2];
  double w_max = 0.0;
  for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
    const Index a = cuts[k], rows = cuts[k + 1] - a;
    const auto xs = MatrixView<const float>::row_major(d.x.data() + a * d.f, rows, d.f);
    const VectorView<const double> ys(d.y.data() + a, rows);
    const VectorView<const double> ws =
        d.w.empty() ? VectorView<const double>() : VectorView<const double>(d.w.data() + a, rows);
    shards.emplace_back(m, FeatureMatrix(xs), ys, ws, a, m0, m1, 1);
    for (int c = 0; c < 2; ++c) sw[c].add(shards.back().class_weight_sum(c));
    w_max = std::max(w_max, shards.back().max_weight());
  }
  const double base = std::log(sw[1].value() / sw[0].value());
  for (auto& s : shards) s.reset_margins(base);
  detail::TreeDriver driver(m, p, w_max);
  int steps = 0;
  const detail::TreeDriver::StepFn step =
      [&](const std::vector<detail::SplitMessage>& splits, const std::vector<std::int32_t>& nodes,
          const std::vector<std::int32_t>& features, detail::TreeDriver::Reply& reply) {
        const auto nb = static_cast<std::size_t>(m.total_bins());
        reply.hist.assign(nb * nodes.size(), HistBin{});
        reply.counts.assign(2 * splits.size(), 0);
        std::vector<HistBin> h(nb);
        std::vector<Index> c(reply.counts.size());
        ++steps;
        if (n_steps != nullptr) ++*n_steps;
        for (std::size_t k = 0; k < shards.size(); ++k) {
          if (steps == lose_at_step && k == 1) {
            std::uint64_t key = 0;
            Index row = 0;
            shards[k].reset_margins(0.0);  // recomputed from scratch: fresh margins, round 0's root
            shards[k].begin_round(0, p, w_max, &key, &row);
          }
          shards[k].apply_splits(splits, c.data());
          for (std::size_t q = 0; q < c.size(); ++q) reply.counts[q] += c[q];
          for (std::size_t j = 0; j < nodes.size(); ++j) {
            shards[k].histogram(nodes[j], features, h.data());
            for (std::size_t b = 0; b < nb; ++b) {
              reply.hist[j * nb + b].g += h[b].g;
              reply.hist[j * nb + b].h += h[b].h;
              reply.hist[j * nb + b].n += h[b].n;
            }
          }
        }
      };
  for (int t = 0; t < p.n_estimators; ++t) {
    HistBin root;
    for (auto& s : shards) {
      std::uint64_t key = 0;
      Index row = 0;
      const HistBin r = s.begin_round(t, p, w_max, &key, &row);
      root.g += r.g;
      root.h += r.h;
      root.n += r.n;
    }
    REQUIRE(root.n > 0);
    // The root's histogram sent with the round's start (as calibrisk.dask does), no step.
    const auto nb = static_cast<std::size_t>(m.total_bins());
    std::vector<HistBin> rh(nb), h(nb);
    const std::vector<std::int32_t> rf = driver.round_features(t);
    for (auto& s : shards) {
      s.histogram(0, rf, h.data());
      for (std::size_t b = 0; b < nb; ++b) {
        rh[b].g += h[b].g;
        rh[b].h += h[b].h;
        rh[b].n += h[b].n;
      }
    }
    const detail::RoutingTree tree = driver.grow(t, root, step, root_ahead ? &rh : nullptr);
    for (auto& s : shards) s.add_tree(tree);
    if (tree.tree.n_nodes() == 1) break;
  }
  return driver.model(base);
}

void check_same_trees(const GradientBoostedTrees& a, const GradientBoostedTrees& b) {
  const TreeEnsemble& x = a.state().ensemble;
  const TreeEnsemble& y = b.state().ensemble;
  CHECK(x.base_score == y.base_score);
  REQUIRE(x.trees.size() == y.trees.size());
  for (std::size_t t = 0; t < x.trees.size(); ++t) {
    CHECK(x.trees[t].left == y.trees[t].left);
    CHECK(x.trees[t].feature == y.trees[t].feature);
    CHECK(x.trees[t].threshold == y.trees[t].threshold);
    CHECK(x.trees[t].missing_left == y.trees[t].missing_left);
    CHECK(x.trees[t].value == y.trees[t].value);
    CHECK(x.trees[t].gain == y.trees[t].gain);
    CHECK(x.trees[t].cover == y.trees[t].cover);
    CHECK(x.trees[t].cat_begin == y.trees[t].cat_begin);
    CHECK(x.trees[t].cat_end == y.trees[t].cat_end);
    CHECK(x.trees[t].cat_bits == y.trees[t].cat_bits);
  }
  CHECK(x.cardinality == y.cardinality);
}

GBDTParams params() {
  GBDTParams p;
  p.n_estimators = 8;
  p.max_leaf_nodes = 12;
  p.min_samples_leaf = 5;
  p.n_threads = 1;
  p.random_state = 11;
  return p;
}

}  // namespace

TEST_CASE("distributed fit: 1, 2 and 3 shards grow the single-process trees bit for bit") {
  testing::TrainData d = testing::make_dense(1500, 6, 5, 0.1);
  for (const bool weighted : {false, true}) {
    if (weighted) {
      d.w.resize(static_cast<std::size_t>(d.n));
      for (Index i = 0; i < d.n; ++i) d.w[static_cast<std::size_t>(i)] = 0.25 + (i % 7) * 0.3;
    }
    for (const double subsample : {1.0, 0.6}) {
      GBDTParams p = params();
      p.subsample = subsample;
      p.colsample_bytree = subsample < 1.0 ? 0.5 : 1.0;
      p.class_weight = weighted ? ClassWeight::balanced() : ClassWeight::none();
      GradientBoostedTrees single(p);
      single.fit(d.dataset());
      CAPTURE(weighted);
      CAPTURE(subsample);
      check_same_trees(single, distributed_fit(p, d, {0, d.n}));
      check_same_trees(single, distributed_fit(p, d, {0, 700, d.n}));
      check_same_trees(single, distributed_fit(p, d, {0, 100, 100, d.n}));  // an empty shard
    }
  }
}

TEST_CASE("distributed fit: a shard larger than its partition scratch splits its rows stably") {
  // 150,000 rows in one shard: the root and its large children are partitioned in halves of at
  // most 65,536 rows (TrainShard::kPartitionChunk) and rotated together; with and without a row
  // bag the trees are the single-process ones.
  const testing::TrainData d = testing::make_dense(150000, 4, 3, 0.05);
  for (const double subsample : {1.0, 0.7}) {
    GBDTParams p = params();
    p.n_estimators = 3;
    p.max_leaf_nodes = 16;
    p.subsample = subsample;
    GradientBoostedTrees single(p);
    single.fit(d.dataset());
    CAPTURE(subsample);
    check_same_trees(single, distributed_fit(p, d, {0, d.n}));
    check_same_trees(single, distributed_fit(p, d, {0, 140000, d.n}));
  }
}

TEST_CASE("TrainShard: a split keeps each side's rows ascending beyond the scratch's size") {
  // 150,001 rows, more than two chunks of scratch: both children hold exactly the rows whose
  // code goes their way, ascending; then a split of the left child, again.
  const testing::TrainData d = testing::make_dense(150001, 3, 7, 0.1);
  const FeatureMatrix X(d.X());
  const GBDTParams p = params();
  const BinMapper m = detail::fit_bin_mapper(X, {}, p.max_bins, p.bin_subsample, 1, 1);
  detail::TrainShard shard(m, X, VectorView<const double>(d.y.data(), d.n), {}, 0, 1.0, 1.0, 1);
  shard.reset_margins(0.0);
  std::uint64_t key = 0;
  Index row = 0;
  shard.begin_round(0, p, 1.0, &key, &row);
  auto code = [&](Index i, std::int32_t f) {
    const double x = d.x[static_cast<std::size_t>(i * d.f + f)];
    return std::isnan(x) ? m.missing_bin(f) : m.bin_of(f, x);
  };
  auto check = [&](std::int32_t parent, std::int32_t f, int bin, std::int32_t next) {
    detail::SplitMessage s;
    s.parent = parent;
    s.left = next;
    s.right = next + 1;
    s.feature = f;
    s.bin = bin;
    s.missing_left = true;
    const std::vector<Index> before = shard.node_rows(parent);
    Index counts[2] = {0, 0};
    shard.apply_splits({s}, counts);
    std::vector<Index> left, right;
    for (const Index i : before) {
      const int c = code(i, f);
      (c == m.missing_bin(f) || c <= bin ? left : right).push_back(i);
    }
    CHECK(shard.node_rows(next) == left);
    CHECK(shard.node_rows(next + 1) == right);
    CHECK(counts[0] == static_cast<Index>(left.size()));
    CHECK(counts[1] == static_cast<Index>(right.size()));
    CHECK(left.size() > 70000);
  };
  check(0, 0, m.n_value_bins(0) * 3 / 4, 1);
  check(1, 1, m.n_value_bins(1) * 9 / 10, 3);
}

TEST_CASE("distributed fit: leaves split ahead save steps and keep the trees bit for bit") {
  const testing::TrainData d = testing::make_dense(3000, 8, 5, 0.1);
  for (const int depth : {-1, 4}) {
    GBDTParams p = params();
    p.max_leaf_nodes = 31;
    p.max_depth = depth;
    GradientBoostedTrees single(p);
    single.fit(d.dataset());
    int steps = 0;
    const GradientBoostedTrees dist = distributed_fit(p, d, {0, 1200, d.n}, -1, &steps);
    CAPTURE(depth);
    check_same_trees(single, dist);
    int steps_root_ahead = 0;
    check_same_trees(single, distributed_fit(p, d, {0, 1200, d.n}, -1, &steps_root_ahead, true));
    CHECK(steps_root_ahead == steps - p.n_estimators);  // one step less per tree
    // One step per split without splitting ahead (the root's, then the smaller child's of every
    // split that leaves the tree room to grow): the speculative splits need fewer.
    Index splits = 0;
    for (const Tree& t : dist.state().ensemble.trees) splits += (t.n_nodes() - 1) / 2;
    CHECK(steps < splits);
    CHECK(steps >= p.n_estimators);
  }
}

TEST_CASE("distributed fit: categorical features binned from summed shard counts") {
  testing::TrainData d = testing::make_dense(1500, 6, 5, 0.1);
  // Columns 3 and 4 become codes: 0..24 (skewed; code 2 only in rows >= 1200, code 24 in one row)
  // and 0..5 with missing values; the label depends on them.
  for (Index i = 0; i < d.n; ++i) {
    float* r = d.x.data() + i * d.f;
    auto c3 = static_cast<float>(std::min(23.0, std::floor(std::abs(r[3]) * 8.0)));
    if (c3 == 2.0f && i < 1200) c3 = 3.0f;
    if (i == 777) c3 = 24.0f;
    r[3] = c3;
    r[4] = i % 17 == 0 ? std::nanf("") : static_cast<float>(i % 6);
    if ((c3 == 3.0f || r[4] == 2.0f) && i % 3 == 0) d.y[static_cast<std::size_t>(i)] = 1.0;
  }
  for (const int max_bins : {255, 12}) {  // 12: the most frequent 11 codes keep a bin
    GBDTParams p = params();
    p.categorical_features = {3, 4};
    p.cat_encoding = CategoricalEncoding::kPartition;
    p.max_bins = max_bins;
    p.min_data_per_category = 5;
    GradientBoostedTrees single(p);
    single.fit(d.dataset());
    CAPTURE(max_bins);
    bool has_set = false;
    for (const Tree& t : single.state().ensemble.trees) has_set = has_set || !t.cat_bits.empty();
    CHECK(has_set);
    check_same_trees(single, distributed_fit(p, d, {0, d.n}));
    check_same_trees(single, distributed_fit(p, d, {0, 700, d.n}));
    check_same_trees(single, distributed_fit(p, d, {0, 100, 100, d.n}));
  }
}

TEST_CASE("distributed fit: a shard that lost its state is an error, not another tree") {
  const testing::TrainData d = testing::make_dense(1500, 6, 5, 0.1);
  for (const int lose_at : {2, 5, 9, 14}) {  // mid-tree and at a tree's root step
    CAPTURE(lose_at);
    CHECK_THROWS_WITH_AS(distributed_fit(params(), d, {0, 700, d.n}, lose_at),
                         doctest::Contains("a worker was lost"), InvalidInput);
  }
}

TEST_CASE("ExactSum: the correctly rounded sum, whatever the order and grouping") {
  std::vector<double> v = {1e100, 1.0, -1e100, 1e-30, 3.0, -2.5e-16, 0.1, 0.2, 0.3};
  detail::ExactSum a, b, c;
  for (const double x : v) a.add(x);
  for (std::size_t i = v.size(); i-- > 0;) b.add(v[i]);
  detail::ExactSum half;
  for (std::size_t i = 0; i < 4; ++i) half.add(v[i]);
  for (std::size_t i = 4; i < v.size(); ++i) c.add(v[i]);
  c.add(half);
  // Exact value: 4.6 + 1e-30 - 2.5e-16 + (0.1 + 0.2 + 0.3 as doubles), correctly rounded.
  CHECK(a.value() == b.value());
  CHECK(a.value() == c.value());
  CHECK(a.value() == doctest::Approx(4.6).epsilon(1e-15));
  detail::ExactSum ones;
  for (int i = 0; i < 10; ++i) ones.add(0.1);
  CHECK(ones.value() == 1.0);  // the correctly rounded sum of ten 0.1 (a loop gives 0.999...9)
}
