// SPDX-License-Identifier: Apache-2.0
// The step-wise pieces of a distributed tree fit (docs/distributed.md): a worker-side shard (one
// partition's rows, binned with the broadcast BinMapper, with their labels, weights, margins and
// row -> leaf partition) and the driver that grows each tree from the shards' summed histograms
// with the single-process loop (grow_leafwise), so the fitted trees are the same bits as
// GradientBoostedTrees::fit on the same rows in the same global order.
#pragma once

#include <calibrisk/trees/booster.hpp>

#include "trees/grower.hpp"
#include "trees/rounds.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace calibrisk {
namespace detail {

/// A split broadcast to the shards: rows of node `parent` go to `left` when their code of
/// `feature` is <= bin (categorical: in cat_left), the missing bin when missing_left.
struct SplitMessage {
  std::int32_t parent = -1, left = -1, right = -1, feature = -1, bin = -1;
  bool missing_left = false;
  bool categorical = false;
  BinSet cat_left;
};

/// A tree as the shards route rows with it: per node the children, feature, split bin (-1 leaves,
/// -2 - s for categorical split s), missing direction and value; the bin sets of the categorical
/// splits.
struct RoutingTree {
  Tree tree;
  std::vector<std::int32_t> bin;
  std::vector<BinSet> cat_left;
  /// For the training shards (may be empty): per tree node its shard node id (-1 none) and the
  /// splits decided after the tree's last step, so a shard whose rows are all in the tree's bag
  /// adds each leaf's value over the leaf's row range instead of routing every row.
  std::vector<std::int32_t> shard_node;
  std::vector<SplitMessage> tail;
};

/// One partition of a distributed fit, living on a worker. Rows are numbered globally from
/// `row_offset` (the partition's first row in the global order): the row bag of a round is keyed
/// by the global index, so it does not depend on the partitioning.
class TrainShard {
 public:
  /// Bins X (n x F) with `mapper` (with 8-bit codes also into the row-major copy that the
  /// single-process fit keeps: small nodes are histogrammed row-wise, one cache line per row
  /// instead of one per row and feature; n x F more bytes); labels y01 in {0, 1};
  /// `sample_weight` empty or one per row;
  /// row weights are sample_weight x (m1 for class 1, m0 for class 0), as the single-process fit.
  TrainShard(const BinMapper& mapper, const FeatureMatrix& X, VectorView<const double> y01,
             VectorView<const double> sample_weight, Index row_offset, double m0, double m1,
             int n_threads);

  Index n_rows() const noexcept { return bins_.n_rows; }
  /// Numbers the rows by `global_rows` (ascending, one per row) instead of row_offset + i: a
  /// shard of the training rows of a partition that kept some rows for the early-stopping
  /// hold-out (trees/holdout.hpp). The bag keys use these numbers.
  void set_global_rows(std::vector<Index> global_rows);
  /// Exact sum of the row weights of class c (its partials merge across shards) and the largest
  /// row weight (0 without rows).
  const ExactSum& class_weight_sum(int c) const noexcept { return class_sum_[c != 0 ? 1 : 0]; }
  double max_weight() const noexcept { return w_max_; }
  /// Exact sum of w * log-loss at the current margins (a validation shard's loss partials).
  ExactSum loss_sum() const;

  /// Sets every margin to `base_score` (before the first round).
  void reset_margins(double base_score);
  /// Starts round t: quantised gradients at the current margins (scale from the global largest
  /// weight `w_max`), the row bag (all rows when subsample >= 1), every bagged row in the root.
  /// Returns the bag's exact sums (n = bagged rows) and, for the empty-bag rule, the smallest bag
  /// key among all rows of the shard and its global row (key max without rows).
  HistBin begin_round(int t, const GBDTParams& p, double w_max, std::uint64_t* min_key,
                      Index* min_row);
  /// Makes global row `row` the whole bag when this shard holds it (the round's bag was empty
  /// everywhere: the row with the smallest bag key, as the single-process fit); returns whether
  /// it did and sets `total` to the row's sums.
  bool add_row(Index row, HistBin* total);
  /// Applies `splits` in order (stable partitions) and writes each split's left and right row
  /// counts to counts[2k], counts[2k + 1].
  void apply_splits(const std::vector<SplitMessage>& splits, Index* counts);
  /// The local rows of node `node` in their stored order (ascending after every split: the
  /// partitions are stable); for tests and diagnostics. Throws on an unknown node.
  std::vector<Index> node_rows(std::int32_t node) const;
  /// Histogram of node `node` over `features` into `out` (total_bins slots, zeroed first).
  void histogram(std::int32_t node, const std::vector<std::int32_t>& features, HistBin* out);
  /// Adds a finished tree's leaf values to every row's margin: over the leaves' row ranges when
  /// every row is in this round's bag and the tree names its shard nodes (after the tail
  /// splits), else by routing each row.
  void add_tree(const RoutingTree& t);

 private:
  const BinMapper mapper_;
  BinnedMatrix bins_;
  // Per row: the label (0/1), the row weight only with sample weights (else m1_ or m0_ by
  // class, the same bits), the margin (docs/distributed.md, "Memory of a worker").
  std::vector<std::uint8_t> y_;
  std::vector<double> w_, margin_;
  double m0_ = 1.0, m1_ = 1.0;
  Index row_offset_ = 0;
  std::vector<Index> global_;  // empty: row i is row_offset_ + i
  int n_threads_ = 1;
  ExactSum class_sum_[2];
  double w_max_ = 0.0;
  // Rows per chunk of a node's histogram: the gathered gradients (ordered_) and the chunk's
  // histogram (part_) are bounded, whatever the partition's size.
  static constexpr Index kHistChunk = Index{1} << 16;
  std::vector<GradPair> gh_, ordered_;
  std::vector<HistBin> part_;
  std::vector<RowIndex> rows_;               // bagged local rows, partitioned by node
  std::vector<RowIndex> scratch_;            // the right rows of a chunk being partitioned
  std::vector<std::array<Index, 2>> range_;  // per node id: [begin, end) in rows_ (-1 unknown)

  double weight(std::size_t i) const noexcept {
    return w_.empty() ? (y_[i] != 0 ? m1_ : m0_) : w_[i];
  }
  // Stable partition of rows_[b, e) by left_of[code] (left rows first); returns the first right.
  template <class Code>
  Index partition_rows(Index b, Index e, const Code* col, const std::uint8_t* left_of);
  // Stable partition of r[0, n) with at most kPartitionChunk rows of scratch_; returns the left
  // count.
  template <class Code>
  Index stable_split(RowIndex* r, Index n, const Code* col, const std::uint8_t* left_of);
  // Rows a partition's scratch holds: 256 KB, whatever the partition's size.
  static constexpr Index kPartitionChunk = Index{1} << 16;
  // Whether the leaves of `t` all have known row ranges after its tail splits (applied here).
  bool leaf_ranges(const RoutingTree& t);
  Index global_row(Index i) const noexcept {
    return global_.empty() ? row_offset_ + i : global_[static_cast<std::size_t>(i)];
  }
};

/// The driver's side: grows one tree at a time with grow_leafwise, asking the shards (through
/// `StepFn`) for summed histograms, after the splits decided since the last step. Every reply is
/// checked (row counts of each split, each node's sums) so that a shard that lost its state gives
/// an error, never a different tree.
///
/// Fewer round trips (speculation): a leaf's best split is fixed once its histogram is searched,
/// and the leaf is split later unless the tree runs out of leaves first. So each step also
/// applies the splits of the best open leaves (by gain, at most as many as the tree can still
/// split) and returns their smaller children's histograms; when grow_leafwise later splits such a
/// leaf, its child's histogram is already at the driver and no message is sent. The shards' node
/// ids are the driver's own numbering (a speculative child has no tree node id yet); histograms
/// are exact sums over the same rows wherever they are built, so the tree is the same bits.
class TreeDriver : private GrowBackend {
 public:
  /// The shards' reply to one step: the summed histograms of the nodes asked for (total_bins
  /// slots each, in the order of `nodes`) and, per split sent, the summed left and right row
  /// counts.
  struct Reply {
    std::vector<HistBin> hist;
    std::vector<Index> counts;
  };
  /// One step: the shards apply `splits` (in order), then build the histograms of `nodes` (shard
  /// node ids: the driver numbers the shards' nodes itself, see below).
  using StepFn = std::function<void(const std::vector<SplitMessage>& splits,
                                    const std::vector<std::int32_t>& nodes,
                                    const std::vector<std::int32_t>& features, Reply& reply)>;

  TreeDriver(BinMapper mapper, const GBDTParams& p, double w_max);

  const BinMapper& mapper() const noexcept { return mapper_; }
  /// The features a tree may split on: the non-constant ones, ascending.
  const std::vector<std::int32_t>& allowed() const noexcept { return allowed_; }
  /// Grows the tree of round t from the root's summed sums (features: sample_features of round
  /// t); the tree is appended to the ensemble and returned for the shards' margins.
  /// `root_hist`: the root's summed histogram when the shards sent it ahead (with the round's
  /// start), else null (the first step asks for it).
  RoutingTree grow(int t, const HistBin& root_total, const StepFn& step,
                   const std::vector<HistBin>* root_hist = nullptr);
  /// The features a tree of round t may split on (sample_features of round t).
  std::vector<std::int32_t> round_features(int t) const;
  /// Whether steps split leaves ahead (default; false: one split's histogram per step, to compare).
  void set_split_ahead(bool on) noexcept { split_ahead_ = on; }
  /// Keeps the first k trees (early stopping's best iteration).
  void keep(std::size_t k) { trees_.resize(std::min(k, trees_.size())); }
  std::size_t n_trees() const noexcept { return trees_.size(); }
  /// The fitted model: params, base score and the trees, as GradientBoostedTrees::fit saves it.
  GradientBoostedTrees model(double base_score) const;

 private:
  void build_and_split(GrowLeaf& built, GrowLeaf* derived, bool root) override;
  Index partition(const GrowLeaf& parent, std::int32_t left_node, std::int32_t right_node) override;
  // Sends one step: the pending splits, speculative splits of the best open leaves, and the
  // histograms of `node` (shard id) and of their smaller children; the first into `out`.
  void request(std::int32_t node, HistBin* out);
  // Queues the split of `leaf` into new shard nodes (left, right), with its expected row counts.
  void queue_split(const GrowLeaf& leaf, std::int32_t left, std::int32_t right);
  // Checks that the first feature's bins of `h` sum to the node's known sums.
  void check_sums(const HistBin* h, const GrowLeaf& leaf) const;

  BinMapper mapper_;
  GBDTParams params_;
  GrowerParams grower_;
  std::vector<std::int32_t> allowed_, features_;
  std::vector<Tree> trees_;
  std::vector<SplitMessage> pending_;  // splits decided since the last step
  std::vector<Index> expected_;        // their left and right row counts
  const StepFn* step_ = nullptr;
  Reply reply_;
  // The tree being grown: tree node id -> shard node id; the next shard node id; the open leaves
  // (searched, valid split, not split yet); per speculatively split leaf (tree node id) its shard
  // children; the histograms received ahead (shard node id -> histogram); the number of leaves.
  std::vector<std::int32_t> shard_node_;
  std::int32_t next_shard_node_ = 1;
  std::vector<GrowLeaf> open_;
  std::vector<std::array<std::int32_t, 3>> spec_;  // tree node, left, right (shard ids)
  std::vector<std::pair<std::int32_t, std::vector<HistBin>>> ahead_;
  std::vector<std::vector<HistBin>> spare_;  // ahead_'s used buffers, reused (no page faults)
  /// Stores a histogram that came ahead of its node (a buffer from spare_ when there is one).
  void keep_ahead(std::int32_t node, const HistBin* h, std::size_t n);
  /// Keeps a used buffer in spare_ (up to 8).
  void recycle(std::vector<HistBin>&& buf);
  /// Returns ahead_'s buffers to spare_.
  void clear_ahead();
  int n_leaves_ = 1;
  bool split_ahead_ = true;
  std::vector<std::int32_t> nodes_;
};

}  // namespace detail
}  // namespace calibrisk
