// SPDX-License-Identifier: Apache-2.0
/// @file tree.hpp
/// Regression trees as flat arrays (the form growth fills and the artifact stores) and the
/// ensemble of them that a boosted model predicts with.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk {

/// One binary regression tree stored as parallel flat arrays; node 0 is the root.
///
/// Routing rule at an internal node i (the one rule every predictor and explainer follows):
/// - x = row[feature[i]] is NaN  -> left when `missing_left[i] == 1`, else right;
/// - otherwise                   -> left when `x <= threshold[i]`, else right.
/// Thresholds are raw feature values (not bin indices), so deployment scores raw rows. A float32
/// row is compared after widening to double, so float and double rows holding the same values are
/// routed identically.
///
/// Leaves have `left == right == feature == -1`; `value` is the leaf output with the learning rate
/// already applied. On internal nodes `value` is the cover-weighted mean of the outputs below (used
/// by explanations and for inspection; prediction never reads it). `cover` is the sum of hessians
/// (or weights) of the training rows that reached the node; TreeSHAP weighs the two children of a
/// node by their covers. Trees are regular values (copyable, movable).
struct Tree {
  std::vector<std::int32_t> left;     ///< Left child index; -1 on leaves.
  std::vector<std::int32_t> right;    ///< Right child index; -1 on leaves.
  std::vector<std::int32_t> feature;  ///< Split feature; -1 on leaves.
  std::vector<double> threshold;      ///< Go left when x <= threshold (raw value); 0 on leaves.
  std::vector<std::uint8_t> missing_left;  ///< 1: NaN goes left, 0: NaN goes right.
  std::vector<double> value;               ///< Leaf output; internal: cover-weighted mean output.
  std::vector<double> gain;                ///< Split gain; 0 on leaves.
  std::vector<double> cover;  ///< Sum of hessians (or weights) reaching the node, >= 0.

  /// Number of nodes (internal + leaves).
  Index n_nodes() const noexcept { return static_cast<Index>(left.size()); }
  /// True when node i has no children. Precondition: 0 <= i < n_nodes().
  bool is_leaf(Index i) const noexcept { return left[static_cast<std::size_t>(i)] < 0; }
  /// Number of leaves.
  Index n_leaves() const noexcept {
    Index n = 0;
    for (Index i = 0; i < n_nodes(); ++i) n += is_leaf(i) ? 1 : 0;
    return n;
  }

  /// Appends a leaf node (value 0, cover 0) and returns its index. Growth turns a leaf into an
  /// internal node by setting its feature, threshold, missing_left, gain and children.
  std::int32_t add_node() {
    const auto id = static_cast<std::int32_t>(left.size());
    left.push_back(-1);
    right.push_back(-1);
    feature.push_back(-1);
    threshold.push_back(0.0);
    missing_left.push_back(0);
    value.push_back(0.0);
    gain.push_back(0.0);
    cover.push_back(0.0);
    return id;
  }

  /// Depth of the deepest leaf (a single-leaf tree has depth 0). Precondition: validated.
  int max_depth() const {
    if (left.empty()) return 0;
    std::vector<int> depth(left.size(), 0);
    int best = 0;
    // Node order is not assumed (children may precede parents); walk with an explicit stack.
    std::vector<std::int32_t> stack{0};
    while (!stack.empty()) {
      const std::int32_t i = stack.back();
      stack.pop_back();
      const auto ui = static_cast<std::size_t>(i);
      if (depth[ui] > best) best = depth[ui];
      if (left[ui] >= 0) {
        depth[static_cast<std::size_t>(left[ui])] = depth[ui] + 1;
        depth[static_cast<std::size_t>(right[ui])] = depth[ui] + 1;
        stack.push_back(left[ui]);
        stack.push_back(right[ui]);
      }
    }
    return best;
  }

  /// Checks the structure fully, so a tree that came from a file or a caller can be trusted by the
  /// unchecked predictors: equal array sizes, at least one node, children both present or both
  /// absent and in range, every node reachable from the root exactly once (no cycles, no shared
  /// subtrees, no orphans), features in [0, n_features), finite thresholds, missing_left in {0, 1},
  /// finite values, gains and non-negative finite covers.
  /// @param where  prefix of the messages, e.g. "TreeEnsemble::validate: trees[3]".
  /// Throws InvalidInput naming the node and field. Complexity O(n_nodes).
  void validate(Index n_features, const std::string& where = "Tree::validate") const {
    const std::size_t n = left.size();
    auto size_check = [&](std::size_t s, const char* name) {
      if (s != n) {
        throw InvalidInput(where + ": " + name + " has " + std::to_string(s) +
                           " entries but left has " + std::to_string(n) +
                           "; every per-node array needs one entry per node.");
      }
    };
    if (n == 0) {
      throw InvalidInput(where + ": the tree has no nodes; a tree needs at least a root leaf.");
    }
    size_check(right.size(), "right");
    size_check(feature.size(), "feature");
    size_check(threshold.size(), "threshold");
    size_check(missing_left.size(), "missing_left");
    size_check(value.size(), "value");
    size_check(gain.size(), "gain");
    size_check(cover.size(), "cover");
    if (n > static_cast<std::size_t>(INT32_MAX)) {
      throw InvalidInput(where + ": the tree has more than 2^31 - 1 nodes.");
    }
    auto node = [&](std::size_t i) { return where + ": node " + std::to_string(i) + " "; };
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t l = left[i], r = right[i];
      if ((l < 0) != (r < 0) || l < -1 || r < -1) {
        throw InvalidInput(node(i) + "has left = " + std::to_string(l) +
                           " and right = " + std::to_string(r) +
                           "; an internal node needs two children and a leaf has -1 for both.");
      }
      if (l >= 0) {
        if (static_cast<std::size_t>(l) >= n || static_cast<std::size_t>(r) >= n) {
          throw InvalidInput(node(i) + "has a child index out of range (left = " +
                             std::to_string(l) + ", right = " + std::to_string(r) +
                             ", the tree has " + std::to_string(n) + " nodes).");
        }
        if (feature[i] < 0 || feature[i] >= n_features) {
          throw InvalidInput(node(i) + "splits on feature " + std::to_string(feature[i]) +
                             " but the model has " + std::to_string(n_features) +
                             " features; feature must be in [0, n_features).");
        }
        if (!std::isfinite(threshold[i])) {
          throw InvalidInput(node(i) + "has a non-finite threshold (" +
                             std::to_string(threshold[i]) + "); thresholds must be finite.");
        }
      } else if (feature[i] != -1) {
        throw InvalidInput(node(i) + "is a leaf but has feature " + std::to_string(feature[i]) +
                           "; leaves have feature -1.");
      }
      if (missing_left[i] > 1) {
        throw InvalidInput(node(i) + "has missing_left = " + std::to_string(missing_left[i]) +
                           "; it must be 0 or 1.");
      }
      if (!std::isfinite(value[i])) {
        throw InvalidInput(node(i) + "has a non-finite value; node outputs must be finite.");
      }
      if (!std::isfinite(gain[i])) {
        throw InvalidInput(node(i) + "has a non-finite gain.");
      }
      if (!std::isfinite(cover[i]) || cover[i] < 0.0) {
        throw InvalidInput(node(i) + "has cover " + std::to_string(cover[i]) +
                           "; covers must be finite and >= 0.");
      }
    }
    // Every node reachable exactly once from the root: rules out cycles and shared subtrees, and
    // (with the count) orphans.
    std::vector<std::uint8_t> seen(n, 0);
    std::vector<std::int32_t> stack{0};
    seen[0] = 1;
    std::size_t visited = 1;
    while (!stack.empty()) {
      const auto i = static_cast<std::size_t>(stack.back());
      stack.pop_back();
      if (left[i] < 0) continue;
      for (const std::int32_t c : {left[i], right[i]}) {
        const auto uc = static_cast<std::size_t>(c);
        if (seen[uc]) {
          throw InvalidInput(node(i) + "has child " + std::to_string(c) +
                             " which is reached twice from the root (a cycle or a shared "
                             "subtree); every node must have exactly one parent.");
        }
        seen[uc] = 1;
        ++visited;
        stack.push_back(c);
      }
    }
    if (visited != n) {
      std::size_t orphan = 0;
      while (seen[orphan]) ++orphan;
      throw InvalidInput(where + ": node " + std::to_string(orphan) +
                         " is not reachable from the root; remove unreachable nodes.");
    }
  }
};

/// A boosted ensemble: margin(x) = base_score + sum over trees of the leaf value x reaches.
/// Probability = sigmoid(margin). Plain value type; `validate` before trusting foreign data.
struct TreeEnsemble {
  double base_score = 0.0;  ///< Initial raw score (weighted log-odds), finite.
  std::vector<Tree> trees;  ///< In boosting order; may be empty (constant model).
  Index n_features = 0;     ///< Columns every input row must have, >= 1.

  Index n_trees() const noexcept { return static_cast<Index>(trees.size()); }

  /// Validates n_features, base_score and every tree (see Tree::validate).
  /// Throws InvalidInput naming the tree, node and field. Complexity O(total nodes).
  void validate(const std::string& where = "TreeEnsemble::validate") const {
    if (n_features < 1) {
      throw InvalidInput(where + ": n_features is " + std::to_string(n_features) +
                         "; an ensemble needs at least one feature.");
    }
    if (!std::isfinite(base_score)) {
      throw InvalidInput(where + ": base_score is not finite.");
    }
    for (std::size_t t = 0; t < trees.size(); ++t) {
      trees[t].validate(n_features, where + ": trees[" + std::to_string(t) + "]");
    }
  }
};

}  // namespace calibrisk
