// SPDX-License-Identifier: Apache-2.0
// Stage 4 of tree training: leaf-wise (best-first) growth of one tree from binned data.
#pragma once

#include "trees/splitter.hpp"

#include <calibrisk/trees/tree.hpp>
#include "trees/binning.hpp"
#include "trees/histogram.hpp"

#include <cstdint>
#include <vector>

namespace calibrisk {
namespace detail {

/// Growth limits and rules of one tree.
struct GrowerParams {
  int max_leaf_nodes = 31;     ///< >= 2.
  int max_depth = -1;          ///< <= 0: unlimited.
  double learning_rate = 0.1;  ///< Multiplies every leaf output.
  SplitRules rules;
  std::vector<std::int8_t> monotone;  ///< Empty or one of {-1, 0, +1} per feature.
  int n_threads = 1;
  /// GBDTParams::max_delta_step: each leaf's step is clamped to [-it, +it]; 0 = no clamp.
  double max_delta_step = 0.0;
  /// Exclusive feature bundling (exact: never changes a histogram bit, so never the tree); false
  /// only to compare against it.
  bool bundle_features = true;
};

/// A grown tree plus what the booster needs to update its scores without re-reading X.
struct GrownTree {
  Tree tree;  ///< Raw thresholds, learning rate applied.
  /// Per node: split bin (code <= bin goes left); -1 leaves; -2 - s for a categorical split whose
  /// left bins are cat_left[s].
  std::vector<std::int32_t> bin;
  std::vector<BinSet> cat_left;   ///< Left bin sets of the categorical splits.
  std::vector<Index> begin, end;  ///< Per leaf node: its rows are rows[begin, end).
};

/// Grows trees on one binned training matrix, reusing its buffers (histogram pool, partition
/// scratch, gathered gradients) across trees: no allocation per node.
class TreeGrower {
 public:
  TreeGrower(const BinnedMatrix& bins, const BinMapper& mapper, GrowerParams params);

  /// Grows one tree on the rows `rows` (ascending, partitioned in place into leaf ranges) with
  /// gradients `gh_by_row` (indexed by row) and the allowed `features` (ascending, non-constant).
  /// `rows_are_all` tells that rows == [0, n_rows) so the root reads columns contiguously.
  /// Leaf-wise: always splits the leaf whose best split has the largest gain, until
  /// max_leaf_nodes leaves exist or no leaf has a valid split. Histograms: the smaller child is
  /// built, the larger one is parent - smaller. Deterministic for any thread count.
  GrownTree grow(std::vector<RowIndex>& rows, bool rows_are_all, const GradPair* gh_by_row,
                 const std::vector<std::int32_t>& features);

  const GrowerParams& params() const noexcept { return params_; }

 private:
  struct Leaf {
    std::int32_t node = -1;
    Index begin = 0, end = 0;
    int depth = 0;
    int hist = -1;  // pool slot, -1 when none
    HistBin total;
    LeafBounds bounds;
    SplitInfo split;
  };

  int acquire_hist();
  void release_hist(int slot);
  bool splittable(const Leaf& leaf) const;
  // Builds `built`'s histogram from its rows and, when `derived` (its sibling, whose slot holds the
  // parent's histogram) is given, turns that into parent - built; then sets both leaves' best
  // splits. One parallel region over fixed feature groups.
  void build_and_split(Leaf& built, Leaf* derived, const std::vector<RowIndex>& rows,
                       bool contiguous, const GradPair* gh_by_row,
                       const std::vector<std::int32_t>& features);
  // Stable in-place partition of the leaf's rows by its split; returns the first right row.
  Index partition(std::vector<RowIndex>& rows, const Leaf& leaf);
  template <class Code>
  Index partition_by(std::vector<RowIndex>& rows, const Leaf& leaf, const Code* col);
  // The active leaf to split next: the largest gain, ties to the lower node id.
  static std::size_t best_leaf(const std::vector<Leaf>& active);
  // Splits `parent` (rows partitioned in place, two nodes added to `out`) into `l` and `r`, with
  // their totals and monotone bounds; their histograms and splits are left to the caller.
  void split_leaf(GrownTree& out, std::vector<RowIndex>& rows, const Leaf& parent, Leaf& l,
                  Leaf& r);
  // Records the category-set split `s` at `node`: the tree's code bitset and the bin set.
  void set_category_split(GrownTree& out, std::int32_t node, const SplitInfo& s) const;

  const BinnedMatrix& bins_;
  const BinMapper& mapper_;
  GrowerParams params_;
  std::vector<std::vector<HistBin>> pool_;
  std::vector<int> free_;
  std::vector<GradPair> ordered_;
  std::vector<SplitInfo> per_feature_[2];  // best split per feature of the two leaves in flight
  std::vector<RowIndex> scratch_left_, scratch_right_;
  std::vector<std::uint8_t> goes_left_;
  std::vector<Index> position_;  // per feature: its index in the tree's features
  std::vector<std::vector<std::int32_t>>
      done_;  // per feature group: the features it completed  // per code of the split feature: 1 =
              // left (partition)
  std::vector<std::int32_t> skip_bin_;
  SparseRows sparse_;
  FeatureBundles bundles_;
  RowPartials partials_;  // per-thread histograms of row-parallel builds
};

/// Leaf reached by row i of a binned matrix (uses the per-node bins of a grown tree).
inline std::int32_t binned_leaf(const Tree& tree, const std::vector<std::int32_t>& bin,
                                const std::vector<BinSet>& cat_left, const BinnedMatrix& b,
                                const BinMapper& m, Index i) noexcept {
  std::int32_t node = 0;
  while (tree.left[static_cast<std::size_t>(node)] >= 0) {
    const auto u = static_cast<std::size_t>(node);
    const std::int32_t f = tree.feature[u];
    const int c = b.code(i, f);
    const std::int32_t bu = bin[u];
    const bool go_left = c == m.missing_bin(f) ? tree.missing_left[u] != 0
                         : bu >= 0             ? c <= bu
                                   : cat_left[static_cast<std::size_t>(-2 - bu)].test(c);
    node = go_left ? tree.left[u] : tree.right[u];
  }
  return node;
}
inline std::int32_t binned_leaf(const GrownTree& t, const BinnedMatrix& b, const BinMapper& m,
                                Index i) noexcept {
  return binned_leaf(t.tree, t.bin, t.cat_left, b, m, i);
}

}  // namespace detail
}  // namespace calibrisk
