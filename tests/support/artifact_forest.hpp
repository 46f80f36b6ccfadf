// SPDX-License-Identifier: Apache-2.0
// Synthetic forests and pipelines of any size without training (for the artifact benchmarks, the
// fuzzer's seed corpus and large-file tests): random leaf-wise trees with a known leaf count.
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/random.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::test {

/// A random tree with exactly `n_leaves` leaves (2 * n_leaves - 1 nodes), grown by splitting a
/// random leaf each step, as leaf-wise growth does.
inline Tree random_tree(Rng& rng, int n_leaves, Index n_features) {
  Tree t;
  t.add_node();
  std::vector<std::int32_t> leaves{0};
  while (static_cast<int>(leaves.size()) < n_leaves) {
    const std::size_t k = static_cast<std::size_t>(rng.below(leaves.size()));
    const std::int32_t node = leaves[k];
    const std::int32_t l = t.add_node(), r = t.add_node();
    const auto u = static_cast<std::size_t>(node);
    t.left[u] = l;
    t.right[u] = r;
    t.feature[u] = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(n_features)));
    t.threshold[u] = rng.normal();
    t.missing_left[u] = static_cast<std::uint8_t>(rng.below(2));
    t.gain[u] = rng.uniform() * 10.0;
    leaves[k] = l;
    leaves.push_back(r);
  }
  for (std::size_t i = 0; i < t.value.size(); ++i) {
    t.value[i] = 0.1 * rng.normal();
    t.cover[i] = 1.0 + 100.0 * rng.uniform();
  }
  return t;
}

/// A pipeline over `n_trees` random trees of `n_leaves` leaves on `n_features` features, with an
/// isotonic calibrator of `n_knots` knots on the model probability (or none when n_knots == 0).
inline Pipeline random_forest_pipeline(int n_trees, int n_leaves, Index n_features, int n_knots,
                                       std::uint64_t seed) {
  Rng rng(seed);
  GBDTState s;
  s.ensemble.n_features = n_features;
  s.ensemble.base_score = -1.5;
  for (int t = 0; t < n_trees; ++t)
    s.ensemble.trees.push_back(random_tree(rng, n_leaves, n_features));
  GBDTParams gp;
  gp.n_estimators = n_trees;
  gp.max_leaf_nodes = n_leaves;
  PipelineCalibrator cal;
  if (n_knots > 0) {
    IsotonicState iso;
    double y = 0.0;
    for (int k = 0; k < n_knots; ++k) {
      iso.x.push_back((k + 0.5) / n_knots);
      y += rng.uniform() / n_knots;
      iso.y.push_back(y);
    }
    cal = IsotonicCalibrator::from_state(std::move(iso));
  }
  std::vector<std::string> names;
  for (Index j = 0; j < n_features; ++j) names.push_back("feature_" + std::to_string(j));
  FeatureSchema schema = FeatureSchema::from_names(names);
  for (auto& f : schema.features) {
    f.min = -4.0;
    f.max = 4.0;
    f.missing_rate = 0.05;
  }
  schema.n_train_rows = 100000;
  OperatingPointRecord op;
  op.threshold = 0.3;
  op.policy = "max_fbeta=1";
  op.figures = {{"precision", 0.5}, {"recall", 0.7}};
  return Pipeline(std::move(schema), GradientBoostedTrees::from_state(std::move(s), std::move(gp)),
                  std::move(cal), std::move(op));
}

}  // namespace calibrisk::test
