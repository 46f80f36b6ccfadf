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

/// A leaf while a tree grows: its node, its rows (positions [begin, end) of the tree's row list,
/// partitioned in place by every split, so end - begin is its row count), its exact sums, the
/// histogram slot it holds and its best split.
struct GrowLeaf {
  std::int32_t node = -1;
  Index begin = 0, end = 0;
  int depth = 0;
  int hist = -1;  // pool slot, -1 when none
  HistBin total;
  LeafBounds bounds;
  SplitInfo split;
};

/// Where the rows of a growing tree live, as the leaf-wise loop (`grow_leafwise`) sees them: one
/// process's binned matrix (`TreeGrower`) or the partitions of a cluster, driven step by step
/// (`TreeDriver`, trees/distributed.hpp). The loop makes every decision (which leaf to split,
/// children's sums, bounds, node ids, leaf outputs) from exact integer histograms, so two backends
/// that deliver the same histograms grow the same tree, bit for bit.
class GrowBackend {
 public:
  virtual ~GrowBackend() = default;
  /// A free histogram slot (of `hist_bins_` slots, allocated on first use and recycled) and its
  /// release.
  int acquire_hist();
  void release_hist(int slot) {
    if (slot >= 0) free_.push_back(slot);
  }
  /// Builds the histogram of `built` into its slot; when `derived` is given (its sibling, whose
  /// slot holds the parent's histogram) turns that into parent - built; then sets both leaves'
  /// `split` as `search_split` does. `root`: `built` is the root (no partition yet).
  virtual void build_and_split(GrowLeaf& built, GrowLeaf* derived, bool root) = 0;
  /// Partitions the rows of `parent` by parent.split (left rows first, stable) into the new
  /// nodes `left_node` and `right_node`; returns the position of the first right row.
  virtual Index partition(const GrowLeaf& parent, std::int32_t left_node,
                          std::int32_t right_node) = 0;

 protected:
  explicit GrowBackend(Index hist_bins) : hist_bins_(hist_bins) {}
  HistBin* hist(int slot) { return pool_[static_cast<std::size_t>(slot)].data(); }
  /// Every slot is free again (after a tree).
  void release_all();
  bool all_released() const noexcept { return free_.size() == pool_.size(); }
  void reserve_hists(int n) { pool_.reserve(static_cast<std::size_t>(n)); }

 private:
  std::vector<std::vector<HistBin>> pool_;
  Index hist_bins_;
  std::vector<int> free_;
};

/// Whether a leaf can be split at all: at least 2 min_samples_leaf rows and 2 min_child_weight
/// of hessian.
bool leaf_splittable(const GrowLeaf& leaf, const SplitRules& rules);

/// Sets leaf.split to the best split of `features` (ascending) in the leaf's full histogram `hist`:
/// invalid when the leaf is not splittable; else best_split_of_feature of every non-constant
/// feature, the strictly best in feature order (ties keep the lower feature), exactly as the
/// fused build-and-scan of TreeGrower.
void search_split(const BinMapper& mapper, const HistBin* hist, const GrowerParams& params,
                  const std::vector<std::int32_t>& features, GrowLeaf& leaf);

/// The leaf-wise loop: from the root (sums `root_total`, rows [0, root_total.n)), always splits
/// the leaf whose best split has the largest gain (ties: lower node id) until max_leaf_nodes
/// leaves exist or no leaf has a valid split; the smaller child's histogram is built, the larger
/// one is parent - smaller. `has_features`: false grows a single leaf.
GrownTree grow_leafwise(GrowBackend& backend, const BinMapper& mapper, const GrowerParams& params,
                        const HistBin& root_total, bool has_features);

/// Grows trees on one binned training matrix, reusing its buffers (histogram pool, partition
/// scratch, gathered gradients) across trees: no allocation per node.
class TreeGrower : private GrowBackend {
 public:
  TreeGrower(const BinnedMatrix& bins, const BinMapper& mapper, GrowerParams params);

  /// Grows one tree on the rows `rows` (ascending, partitioned in place into leaf ranges) with
  /// gradients `gh_by_row` (indexed by row) and the allowed `features` (ascending, non-constant).
  /// `rows_are_all` tells that rows == [0, n_rows) so the root reads columns contiguously.
  /// Leaf-wise (`grow_leafwise`). Histograms: the smaller child is built, the larger one is
  /// parent - smaller. Deterministic for any thread count.
  GrownTree grow(std::vector<RowIndex>& rows, bool rows_are_all, const GradPair* gh_by_row,
                 const std::vector<std::int32_t>& features);

  const GrowerParams& params() const noexcept { return params_; }

 private:
  // Builds `built`'s histogram from its rows and, when `derived` (its sibling, whose slot holds the
  // parent's histogram) is given, turns that into parent - built; then sets both leaves' best
  // splits. One parallel region over fixed feature groups.
  void build_and_split(GrowLeaf& built, GrowLeaf* derived, bool root) override;
  // Stable in-place partition of the leaf's rows by its split; returns the first right row.
  Index partition(const GrowLeaf& parent, std::int32_t left_node, std::int32_t right_node) override;
  template <class Code>
  Index partition_by(std::vector<RowIndex>& rows, const GrowLeaf& leaf, const Code* col);

  const BinnedMatrix& bins_;
  const BinMapper& mapper_;
  GrowerParams params_;
  // The tree being grown (set by grow()).
  std::vector<RowIndex>* rows_ = nullptr;
  bool rows_are_all_ = false;
  const GradPair* gh_by_row_ = nullptr;
  const std::vector<std::int32_t>* features_ = nullptr;
  std::vector<GradPair> ordered_;
  std::vector<SplitInfo> per_feature_[2];  // best split per feature of the two leaves in flight
  std::vector<RowIndex> scratch_left_, scratch_right_;
  std::vector<std::uint8_t> goes_left_;  // per code of the split feature: 1 = left (partition)
  std::vector<Index> position_;          // per feature: its index in the tree's features
  std::vector<std::vector<std::int32_t>> done_;  // per feature group: the features it completed
  std::vector<std::int32_t> skip_bin_;
  SparseRows sparse_;
  FeatureBundles bundles_;
  RowPartials partials_;  // per-thread histograms of row-parallel builds
};

/// Stable split of rows[0, n) by left_of[col[row]] (1 = left): the left rows, in order, to
/// left[0, a) and the right ones to right[0, n - a); returns a. Branch-free: each row is written
/// to both sides and only its side's cursor moves. `left` may be `rows` (the left cursor never
/// passes the reader), `right` must not overlap it.
template <class Code>
inline Index split_rows(const RowIndex* rows, Index n, const Code* col, const std::uint8_t* left_of,
                        RowIndex* left, RowIndex* right) noexcept {
  Index a = 0, c = 0;
  for (Index k = 0; k < n; ++k) {
    const RowIndex i = rows[k];
    const Index l = left_of[col[i]];
    left[a] = i;
    right[c] = i;
    a += l;
    c += 1 - l;
  }
  return a;
}

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
