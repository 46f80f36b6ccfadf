// SPDX-License-Identifier: Apache-2.0
// Random trees and ensembles shaped like leaf-wise boosted trees, plus a reference scorer that
// follows the Tree routing rule literally; shared by the tree tests and benchmarks.
#pragma once

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/tree.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace calibrisk::testing {

/// Options of `random_tree`.
struct RandomTreeOptions {
  int n_leaves = 31;
  Index n_features = 10;
  bool float_thresholds = true;  ///< thresholds are float values (else arbitrary doubles)
  bool shuffle_ids = false;      ///< number nodes in a random order (children before parents)
  double leaf_scale = 0.1;
};

/// A random tree grown leaf-wise: each step splits a random leaf (shallower leaves likelier, as
/// gain-driven growth tends to), with a random feature, threshold in [-2, 2], missing side and
/// cover split. Covers add up (parent = left + right); internal values are cover-weighted means.
inline Tree random_tree(Rng& rng, const RandomTreeOptions& o) {
  Tree t;
  t.add_node();
  t.cover[0] = 1000.0;
  std::vector<std::int32_t> leaves{0};
  std::vector<int> depth{0};
  for (int s = 1; s < o.n_leaves; ++s) {
    // Pick the leaf: best of two random draws by depth, to favour shallow leaves.
    std::size_t a = static_cast<std::size_t>(rng.below(leaves.size()));
    const std::size_t b = static_cast<std::size_t>(rng.below(leaves.size()));
    if (depth[static_cast<std::size_t>(leaves[b])] < depth[static_cast<std::size_t>(leaves[a])])
      a = b;
    const std::int32_t id = leaves[a];
    const auto uid = static_cast<std::size_t>(id);
    const std::int32_t l = t.add_node(), r = t.add_node();
    depth.resize(t.left.size());
    depth[static_cast<std::size_t>(l)] = depth[static_cast<std::size_t>(r)] = depth[uid] + 1;
    t.left[uid] = l;
    t.right[uid] = r;
    t.feature[uid] = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(o.n_features)));
    double thr = 4.0 * rng.uniform() - 2.0;
    if (o.float_thresholds) thr = static_cast<double>(static_cast<float>(thr));
    t.threshold[uid] = thr;
    t.missing_left[uid] = static_cast<std::uint8_t>(rng.below(2));
    t.gain[uid] = 1.0 + rng.uniform();
    const double frac = 0.1 + 0.8 * rng.uniform();
    t.cover[static_cast<std::size_t>(l)] = t.cover[uid] * frac;
    t.cover[static_cast<std::size_t>(r)] = t.cover[uid] - t.cover[static_cast<std::size_t>(l)];
    t.value[static_cast<std::size_t>(l)] = o.leaf_scale * (2.0 * rng.uniform() - 1.0);
    t.value[static_cast<std::size_t>(r)] = o.leaf_scale * (2.0 * rng.uniform() - 1.0);
    leaves[a] = l;
    leaves.push_back(r);
  }
  // Internal values: cover-weighted mean of the children, children first (ids grow downwards).
  for (std::size_t i = t.left.size(); i-- > 0;) {
    if (t.left[i] < 0) continue;
    const auto l = static_cast<std::size_t>(t.left[i]), r = static_cast<std::size_t>(t.right[i]);
    t.value[i] = (t.cover[l] * t.value[l] + t.cover[r] * t.value[r]) / (t.cover[l] + t.cover[r]);
  }
  if (o.shuffle_ids && t.left.size() > 2) {
    // Random renumbering keeping the root at 0.
    const std::size_t n = t.left.size();
    std::vector<std::int32_t> perm(n);
    for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<std::int32_t>(i);
    for (std::size_t i = n - 1; i > 1; --i) {
      std::swap(perm[i], perm[1 + static_cast<std::size_t>(rng.below(i))]);
    }
    Tree u = t;
    for (std::size_t i = 0; i < n; ++i) {
      const auto j = static_cast<std::size_t>(perm[i]);
      u.left[j] = t.left[i] < 0 ? -1 : perm[static_cast<std::size_t>(t.left[i])];
      u.right[j] = t.right[i] < 0 ? -1 : perm[static_cast<std::size_t>(t.right[i])];
      u.feature[j] = t.feature[i];
      u.threshold[j] = t.threshold[i];
      u.missing_left[j] = t.missing_left[i];
      u.value[j] = t.value[i];
      u.gain[j] = t.gain[i];
      u.cover[j] = t.cover[i];
    }
    t = std::move(u);
  }
  return t;
}

inline TreeEnsemble random_ensemble(std::uint64_t seed, int n_trees, const RandomTreeOptions& o) {
  Rng rng(seed);
  TreeEnsemble e;
  e.n_features = o.n_features;
  e.base_score = -2.1972245773362196;  // log-odds of 10 % positives
  for (int k = 0; k < n_trees; ++k) e.trees.push_back(random_tree(rng, o));
  return e;
}

/// Leaf value reached by `row` following the documented routing rule, node by node.
template <class T>
double reference_tree_output(const Tree& t, const T* row) {
  std::int32_t i = 0;
  while (t.left[static_cast<std::size_t>(i)] >= 0) {
    const auto u = static_cast<std::size_t>(i);
    const double x = static_cast<double>(row[t.feature[u]]);
    const bool go_left = std::isnan(x) ? t.missing_left[u] == 1 : x <= t.threshold[u];
    i = go_left ? t.left[u] : t.right[u];
  }
  return t.value[static_cast<std::size_t>(i)];
}

/// base_score + sum of tree outputs in tree order (the documented summation order).
template <class T>
double reference_margin(const TreeEnsemble& e, const T* row) {
  double acc = e.base_score;
  for (const Tree& t : e.trees) acc += reference_tree_output(t, row);
  return acc;
}

/// Random rows in [-2.5, 2.5] with a fraction of NaN, row-major.
template <class T>
std::vector<T> random_rows(std::uint64_t seed, Index n, Index d, double nan_fraction) {
  Rng rng(seed);
  std::vector<T> x(static_cast<std::size_t>(n * d));
  for (auto& v : x) {
    v = rng.uniform() < nan_fraction ? std::numeric_limits<T>::quiet_NaN()
                                     : static_cast<T>(5.0 * rng.uniform() - 2.5);
  }
  return x;
}

}  // namespace calibrisk::testing
