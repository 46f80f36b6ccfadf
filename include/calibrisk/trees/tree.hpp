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

/// Most levels a categorical feature may have: its codes must lie in [0, kMaxCategories).
/// Training refuses a larger code (InvalidInput naming the column); loading refuses a larger
/// recorded cardinality.
inline constexpr std::int32_t kMaxCategories = static_cast<std::int32_t>(kMaxCategoryLevels);

/// One binary regression tree stored as parallel flat arrays; node 0 is the root.
///
/// Routing rule at an internal node i (the one rule every predictor and explainer follows):
/// - x = row[feature[i]] is NaN  -> left when `missing_left[i] == 1`, else right;
/// - otherwise                   -> left when `x <= threshold[i]`, else right.
/// Thresholds are raw feature values (not bin indices), so deployment scores raw rows. A float32
/// row is compared after widening to double, so float and double rows holding the same values are
/// routed identically.
///
/// Categorical splits (issue 12): a node i is a category-set split when `cat_begin` is not empty
/// and `cat_end[i] > cat_begin[i]`; its bitset is `cat_bits[cat_begin[i] .. cat_end[i])`, bit c of
/// the set being bit (c % 32) of word c / 32. With K = the feature's training cardinality
/// (`TreeEnsemble::cardinality`):
/// - x is NaN, negative, not an integer, or >= K (a code training never had) -> the missing side;
/// - otherwise code c = x goes left when its bit is set; codes past the stored words go right.
/// Training keeps rare levels (pooled into one bin) and levels absent from a node on the right, so
/// the bitset only needs the words up to the largest left code. `threshold` is 0 on such nodes.
/// `cat_begin`, `cat_end` and `cat_bits` are all empty in a tree without categorical splits.
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
  /// Empty, or per node: first word of its category bitset in cat_bits (numeric: = cat_end).
  std::vector<std::uint32_t> cat_begin;
  std::vector<std::uint32_t> cat_end;   ///< Empty, or per node: one past its last bitset word.
  std::vector<std::uint32_t> cat_bits;  ///< Category bitsets of all categorical nodes, flat.

  /// True when internal node i splits on a category set. Precondition: 0 <= i < n_nodes().
  bool is_categorical(Index i) const noexcept {
    const auto u = static_cast<std::size_t>(i);
    return !cat_begin.empty() && cat_end[u] > cat_begin[u];
  }

  /// The routing rule at internal node i for value x; `cardinality` is the training cardinality
  /// of the node's feature (used by categorical nodes only). Precondition: validated.
  bool goes_left(Index i, double x, std::int32_t cardinality = 0) const noexcept {
    const auto u = static_cast<std::size_t>(i);
    if (is_categorical(i)) {
      // NaN fails both comparisons; a non-integer is not a code.
      if (!(x >= 0.0 && x < static_cast<double>(cardinality)) || x != std::floor(x)) {
        return missing_left[u] != 0;
      }
      const auto c = static_cast<std::uint32_t>(x);
      if ((c >> 5) >= cat_end[u] - cat_begin[u]) return false;
      return ((cat_bits[cat_begin[u] + (c >> 5)] >> (c & 31u)) & 1u) != 0;
    }
    return std::isnan(x) ? missing_left[u] != 0 : x <= threshold[u];
  }

  /// Turns internal node i into a categorical split with bitset `words` (at least one word).
  void set_categories(Index i, const std::vector<std::uint32_t>& words) {
    if (cat_begin.empty()) {
      cat_begin.assign(left.size(), 0);
      cat_end.assign(left.size(), 0);
    }
    const auto u = static_cast<std::size_t>(i);
    cat_begin[u] = static_cast<std::uint32_t>(cat_bits.size());
    cat_bits.insert(cat_bits.end(), words.begin(), words.end());
    cat_end[u] = static_cast<std::uint32_t>(cat_bits.size());
    threshold[u] = 0.0;
  }

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
    if (!cat_begin.empty()) {
      cat_begin.push_back(0);
      cat_end.push_back(0);
    }
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
  /// finite values, gains and non-negative finite covers; categorical nodes exactly on the
  /// features with a cardinality > 0, their bitsets inside cat_bits, at most ceil(K / 32) words
  /// and no bit at a code >= K.
  /// @param where        prefix of the messages, e.g. "TreeEnsemble::validate: trees[3]".
  /// @param cardinality  empty (no categorical features) or per feature: 0 = numeric, K > 0.
  /// Throws InvalidInput naming the node and field. Complexity O(n_nodes + cat_bits).
  void validate(Index n_features, const std::string& where = "Tree::validate",
                const std::vector<std::int32_t>& cardinality = {}) const {
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
    if (!cat_begin.empty() || !cat_end.empty() || !cat_bits.empty()) {
      if (cat_begin.size() != n || cat_end.size() != n) {
        throw InvalidInput(where + ": cat_begin has " + std::to_string(cat_begin.size()) +
                           " and cat_end " + std::to_string(cat_end.size()) +
                           " entries but the tree has " + std::to_string(n) +
                           " nodes; both need one entry per node (or are both empty, with "
                           "cat_bits, in a tree without categorical splits).");
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t l = left[i], r = right[i];
      if ((l < 0) != (r < 0) || l < -1 || r < -1) {
        throw InvalidInput(node(i) + "has left = " + std::to_string(l) +
                           " and right = " + std::to_string(r) +
                           "; an internal node needs two children and a leaf has -1 for both.");
      }
      if (!cat_begin.empty()) validate_categories(i, l >= 0, cardinality, node(i));
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
        const bool cat_feature =
            !cardinality.empty() && cardinality[static_cast<std::size_t>(feature[i])] > 0;
        if (cat_feature != is_categorical(static_cast<Index>(i))) {
          throw InvalidInput(node(i) + "splits feature " + std::to_string(feature[i]) +
                             (cat_feature ? " by a threshold but the feature is categorical"
                                          : " by a category set but the feature is numeric") +
                             "; categorical features need category-set splits and numeric "
                             "features threshold splits.");
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

 private:
  // The bitset range of node i: inside cat_bits, none on leaves, and for a categorical node at
  // most ceil(K / 32) words with no bit at a code >= K.
  void validate_categories(std::size_t i, bool internal, const std::vector<std::int32_t>& card,
                           const std::string& at) const {
    const std::uint32_t b = cat_begin[i], e = cat_end[i];
    if (b > e || e > cat_bits.size()) {
      throw InvalidInput(at + "has the category range [" + std::to_string(b) + ", " +
                         std::to_string(e) + ") but cat_bits has " +
                         std::to_string(cat_bits.size()) + " words; the range must lie inside it.");
    }
    if (b == e) return;
    if (!internal) {
      throw InvalidInput(at +
                         "is a leaf but has a category range; leaves have cat_begin == "
                         "cat_end.");
    }
    const std::int32_t f = feature[i];
    if (f < 0 || static_cast<std::size_t>(f) >= card.size() ||
        card[static_cast<std::size_t>(f)] <= 0) {
      return;  // reported as "by a category set but the feature is numeric" (or range) above
    }
    const auto k = static_cast<std::uint64_t>(card[static_cast<std::size_t>(f)]);
    if (static_cast<std::uint64_t>(e - b) > (k + 31) / 32) {
      throw InvalidInput(at + "has " + std::to_string(e - b) + " bitset words but feature " +
                         std::to_string(f) + " has " + std::to_string(k) +
                         " categories (at most ceil(K / 32) words).");
    }
    const std::uint64_t last_bit = 32 * static_cast<std::uint64_t>(e - b);
    for (std::uint64_t c = k; c < last_bit; ++c) {
      if ((cat_bits[b + c / 32] >> (c % 32)) & 1u) {
        throw InvalidInput(at + "sends category " + std::to_string(c) + " left but feature " +
                           std::to_string(f) + " has only " + std::to_string(k) +
                           " categories; bits at codes >= K must be 0.");
      }
    }
  }
};

/// A boosted ensemble: margin(x) = base_score + sum over trees of the leaf value x reaches.
/// Probability = sigmoid(margin). Plain value type; `validate` before trusting foreign data.
struct TreeEnsemble {
  double base_score = 0.0;  ///< Initial raw score (weighted log-odds), finite.
  std::vector<Tree> trees;  ///< In boosting order; may be empty (constant model).
  Index n_features = 0;     ///< Columns every input row must have, >= 1.
  /// Empty (no categorical features), or per feature: 0 = numeric, K in [1, kMaxCategories] =
  /// categorical with codes [0, K) seen in training (K = largest training code + 1). Codes
  /// outside [0, K) are routed as missing.
  std::vector<std::int32_t> cardinality;

  /// Training cardinality of feature f (0 = numeric).
  std::int32_t cardinality_of(Index f) const noexcept {
    return cardinality.empty() ? 0 : cardinality[static_cast<std::size_t>(f)];
  }

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
    if (!cardinality.empty()) {
      if (static_cast<Index>(cardinality.size()) != n_features) {
        throw InvalidInput(where + ": cardinality has " + std::to_string(cardinality.size()) +
                           " entries but n_features is " + std::to_string(n_features) +
                           "; give one per feature (0 = numeric) or none.");
      }
      for (std::size_t f = 0; f < cardinality.size(); ++f) {
        if (cardinality[f] < 0 || cardinality[f] > kMaxCategories) {
          throw InvalidInput(where + ": cardinality[" + std::to_string(f) + "] is " +
                             std::to_string(cardinality[f]) + "; it must be in [0, " +
                             std::to_string(kMaxCategories) + "] (0 = numeric).");
        }
      }
    }
    for (std::size_t t = 0; t < trees.size(); ++t) {
      trees[t].validate(n_features, where + ": trees[" + std::to_string(t) + "]", cardinality);
    }
  }
};

}  // namespace calibrisk
