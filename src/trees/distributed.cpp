// SPDX-License-Identifier: Apache-2.0
// Distributed tree fitting, step by step: worker shards and the driver (see distributed.hpp).
#include "trees/distributed.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/math.hpp>

#include <algorithm>
#include <limits>
#include <string>

namespace calibrisk {
namespace detail {

namespace {

constexpr const char* kLost =
    " The shards' rows no longer match the driver's tree: a worker was lost (and its partition "
    "recomputed from scratch) or a partition changed during the fit. Refit; the model of a "
    "completed fit does not depend on the cluster.";

}  // namespace

TrainShard::TrainShard(const BinMapper& mapper, const FeatureMatrix& X,
                       VectorView<const double> y01, VectorView<const double> sample_weight,
                       Index row_offset, double m0, double m1, int n_threads)
    : mapper_(mapper), m0_(m0), m1_(m1), row_offset_(row_offset), n_threads_(n_threads) {
  const Index n = X.rows();
  if (X.cols() != mapper.n_features()) {
    throw InvalidInput("TrainShard: the partition has " + std::to_string(X.cols()) +
                       " columns but the bin mapper " + std::to_string(mapper.n_features()) +
                       "; every partition must hold the same columns.");
  }
  bins_ = bin_matrix(mapper_, X, n_threads, /*row_major_copy=*/!mapper_.wide());
  y_.resize(static_cast<std::size_t>(n));
  if (!sample_weight.empty()) w_.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    y_[u] = y01[i] == 1.0 ? 1 : 0;
    // The single-process fit's row weight (RowWeights::of in booster.cpp), the same expression
    // (without sample weights 1.0 * m is m: weight(u) gives the same bits).
    if (!w_.empty()) w_[u] = sample_weight[i] * (y01[i] == 1.0 ? m1 : m0);
    class_sum_[y_[u]].add(weight(u));
    w_max_ = std::max(w_max_, weight(u));
  }
  margin_.assign(static_cast<std::size_t>(n), 0.0);
  gh_.resize(static_cast<std::size_t>(n));
}

void TrainShard::set_global_rows(std::vector<Index> global_rows) {
  if (static_cast<Index>(global_rows.size()) != n_rows() ||
      !std::is_sorted(global_rows.begin(), global_rows.end()) ||
      std::adjacent_find(global_rows.begin(), global_rows.end()) != global_rows.end()) {
    throw InvalidInput("TrainShard: the global row numbers must be ascending, one per row.");
  }
  global_ = std::move(global_rows);
}

ExactSum TrainShard::loss_sum() const {
  ExactSum s;
  for (std::size_t i = 0; i < margin_.size(); ++i)
    s.add(weight(i) * margin_log_loss(static_cast<double>(y_[i]), margin_[i]));
  return s;
}

void TrainShard::reset_margins(double base_score) {
  std::fill(margin_.begin(), margin_.end(), base_score);
}

HistBin TrainShard::begin_round(int t, const GBDTParams& p, double w_max, std::uint64_t* min_key,
                                Index* min_row) {
  const GradScale scale = GradScale::for_max_weight(w_max);
  const Index n = n_rows();
  rows_.clear();
  *min_key = std::numeric_limits<std::uint64_t>::max();
  *min_row = -1;
  HistBin total;
  for (Index i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    // compute_gradients of booster.cpp, row by row.
    const double pr = sigmoid(margin_[u]);
    const double w = weight(u);
    gh_[u] = scale.quantise(w * (pr - static_cast<double>(y_[u])), w * pr * (1.0 - pr));
    bool take = true;
    if (p.subsample < 1.0) {
      const std::uint64_t key = bag_key(p.random_state, t, global_row(i));
      take = in_bag(key, p.subsample);
      if (key < *min_key) {
        *min_key = key;
        *min_row = global_row(i);
      }
    }
    if (!take) continue;
    rows_.push_back(static_cast<RowIndex>(i));
    total.g += gh_[u].g;
    total.h += gh_[u].h;
  }
  total.n = static_cast<Index>(rows_.size());
  range_.assign(1, {0, total.n});
  return total;
}

bool TrainShard::add_row(Index row, HistBin* total) {
  Index local = row - row_offset_;
  if (!global_.empty()) {
    const auto it = std::lower_bound(global_.begin(), global_.end(), row);
    local = it != global_.end() && *it == row ? static_cast<Index>(it - global_.begin()) : -1;
  }
  if (local < 0 || local >= n_rows()) return false;
  const auto i = static_cast<RowIndex>(local);
  rows_.assign(1, i);
  range_.assign(1, {0, 1});
  *total = HistBin{gh_[i].g, gh_[i].h, 1, 0};
  return true;
}

template <class Code>
Index TrainShard::partition_rows(Index b, Index e, const Code* col, const std::uint8_t* left_of) {
  return b + stable_split(rows_.data() + b, e - b, col, left_of);
}

template <class Code>
Index TrainShard::stable_split(RowIndex* r, Index n, const Code* col, const std::uint8_t* left_of) {
  if (n <= kPartitionChunk) {
    // In place: the left rows stay, the right ones go to scratch_ and follow them.
    if (scratch_.size() < static_cast<std::size_t>(n)) scratch_.resize(static_cast<std::size_t>(n));
    const Index a = split_rows(r, n, col, left_of, r, scratch_.data());
    std::copy(scratch_.data(), scratch_.data() + (n - a), r + a);
    return a;
  }
  // Halves, each [left | right], then one rotation brings the second half's left rows before
  // the first half's right rows: O(n log(n / kPartitionChunk)) moves, scratch bounded.
  const Index h = n / 2;
  const Index a1 = stable_split(r, h, col, left_of);
  const Index a2 = stable_split(r + h, n - h, col, left_of);
  std::rotate(r + a1, r + h, r + h + a2);
  return a1 + a2;
}

void TrainShard::apply_splits(const std::vector<SplitMessage>& splits, Index* counts) {
  std::vector<std::uint8_t> left_of;
  for (std::size_t k = 0; k < splits.size(); ++k) {
    const SplitMessage& s = splits[k];
    const auto up = static_cast<std::size_t>(s.parent);
    if (s.parent < 0 || up >= range_.size() || range_[up][0] < 0 || s.left < 0 || s.right < 0 ||
        s.feature < 0 || s.feature >= mapper_.n_features()) {
      throw InvalidInput(std::string("TrainShard: a split names an unknown node or feature.") +
                         kLost);
    }
    const int missing = mapper_.missing_bin(s.feature);
    left_of.assign(static_cast<std::size_t>(missing) + 1, 0);
    for (int c = 0; c < missing; ++c) {
      left_of[static_cast<std::size_t>(c)] = s.categorical ? s.cat_left.test(c) : c <= s.bin;
    }
    left_of[static_cast<std::size_t>(missing)] = s.missing_left ? 1 : 0;
    // Stable partition of the parent's rows: left rows first, each side in row order.
    const Index b = range_[up][0], e = range_[up][1];
    const Index mid = bins_.wide ? partition_rows(b, e, bins_.col16(s.feature), left_of.data())
                                 : partition_rows(b, e, bins_.col8(s.feature), left_of.data());
    const auto need = static_cast<std::size_t>(std::max(s.left, s.right)) + 1;
    if (range_.size() < need) range_.resize(need, {-1, -1});
    range_[static_cast<std::size_t>(s.left)] = {b, mid};
    range_[static_cast<std::size_t>(s.right)] = {mid, e};
    counts[2 * k] = mid - b;
    counts[2 * k + 1] = e - mid;
  }
}

std::vector<Index> TrainShard::node_rows(std::int32_t node) const {
  const auto u = static_cast<std::size_t>(node);
  if (node < 0 || u >= range_.size() || range_[u][0] < 0) {
    throw InvalidInput(std::string("TrainShard: rows of an unknown node.") + kLost);
  }
  return std::vector<Index>(rows_.begin() + range_[u][0], rows_.begin() + range_[u][1]);
}

void TrainShard::histogram(std::int32_t node, const std::vector<std::int32_t>& features,
                           HistBin* out) {
  const auto slots = static_cast<std::size_t>(mapper_.total_bins());
  std::fill(out, out + slots, HistBin{});
  const auto u = static_cast<std::size_t>(node);
  if (node < 0 || u >= range_.size() || range_[u][0] < 0) {
    throw InvalidInput(std::string("TrainShard: histogram of an unknown node.") + kLost);
  }
  const Index b = range_[u][0], n = range_[u][1] - b;
  if (n == 0 || features.empty()) return;
  // A chunk of rows at a time (integer sums: the chunks add up to the same bits), so the gathered
  // gradients take kHistChunk rows, not a row's worth of the whole partition.
  // The node's rows are ascending: when its first and last are b and b + n - 1 it holds the rows
  // [b, b + n) (the root of a round without a row bag), read contiguously as the single-process
  // root: no row list, no gathered gradients.
  const RowIndex* rows = rows_.data() + b;
  const bool contiguous =
      static_cast<Index>(rows[0]) == b && static_cast<Index>(rows[n - 1]) == b + n - 1;
  const Index chunk = contiguous ? n : std::min(n, kHistChunk);
  if (!contiguous && ordered_.size() < static_cast<std::size_t>(chunk)) {
    ordered_.resize(static_cast<std::size_t>(chunk));
  }
  if (n > chunk && part_.size() < slots) part_.resize(slots);
  for (Index lo = 0; lo < n; lo += chunk) {
    const Index m = std::min(chunk, n - lo);
    HistogramJob job;
    if (contiguous) {
      job.rows = nullptr;
      job.first_row = b + lo;
      job.gh = gh_.data() + b + lo;
    } else {
      gather_gradients(rows + lo, m, gh_.data(), ordered_.data(), n_threads_);
      job.rows = rows + lo;
      job.gh = ordered_.data();
    }
    job.n = m;
    job.features = features.data();
    job.n_features = static_cast<Index>(features.size());
    HistBin* dst = lo == 0 ? out : part_.data();
    build_histogram(bins_, mapper_, job, nullptr, HistBin{}, dst, n_threads_);
    if (lo == 0) continue;
    for (const std::int32_t f : features) {
      const Index s0 = mapper_.offsets[static_cast<std::size_t>(f)];
      const Index s1 = mapper_.offsets[static_cast<std::size_t>(f) + 1];
      for (Index q = s0; q < s1; ++q) {
        out[q].g += part_[static_cast<std::size_t>(q)].g;
        out[q].h += part_[static_cast<std::size_t>(q)].h;
        out[q].n += part_[static_cast<std::size_t>(q)].n;
      }
    }
  }
}

bool TrainShard::leaf_ranges(const RoutingTree& t) {
  const std::size_t nodes = t.tree.left.size();
  if (t.shard_node.size() != nodes || static_cast<Index>(rows_.size()) != n_rows() ||
      range_.empty()) {
    return false;
  }
  for (const SplitMessage& s : t.tail) {  // nodes the tree split after its last step
    const auto up = static_cast<std::size_t>(s.parent);
    if (s.parent < 0 || up >= range_.size() || range_[up][0] < 0) return false;
  }
  std::vector<Index> counts(2 * t.tail.size());
  apply_splits(t.tail, counts.data());
  for (std::size_t k = 0; k < nodes; ++k) {
    if (t.tree.left[k] >= 0) continue;
    const std::int32_t sn = t.shard_node[k];
    if (sn < 0 || static_cast<std::size_t>(sn) >= range_.size() ||
        range_[static_cast<std::size_t>(sn)][0] < 0) {
      return false;
    }
  }
  return true;
}

void TrainShard::add_tree(const RoutingTree& t) {
  if (leaf_ranges(t)) {
    // Every row is in exactly one leaf's range: the same margin += value as routing it.
    for (std::size_t k = 0; k < t.tree.left.size(); ++k) {
      if (t.tree.left[k] >= 0) continue;
      const auto& r = range_[static_cast<std::size_t>(t.shard_node[k])];
      const double v = t.tree.value[k];
      for (Index q = r[0]; q < r[1]; ++q) margin_[rows_[static_cast<std::size_t>(q)]] += v;
    }
    return;
  }
  const Index n = n_rows();
  for (Index i = 0; i < n; ++i) {
    const std::int32_t leaf = binned_leaf(t.tree, t.bin, t.cat_left, bins_, mapper_, i);
    margin_[static_cast<std::size_t>(i)] += t.tree.value[static_cast<std::size_t>(leaf)];
  }
}

// ---- driver -------------------------------------------------------------------------------------

TreeDriver::TreeDriver(BinMapper mapper, const GBDTParams& p, double w_max)
    : GrowBackend(mapper.total_bins()), mapper_(std::move(mapper)), params_(p) {
  grower_ = grower_params(p, GradScale::for_max_weight(w_max), 1);
  for (Index f = 0; f < mapper_.n_features(); ++f) {
    if (!mapper_.is_constant[static_cast<std::size_t>(f)]) {
      allowed_.push_back(static_cast<std::int32_t>(f));
    }
  }
}

void TreeDriver::queue_split(const GrowLeaf& leaf, std::int32_t left, std::int32_t right) {
  const SplitInfo& s = leaf.split;
  SplitMessage m;
  m.parent = shard_node_[static_cast<std::size_t>(leaf.node)];
  m.left = left;
  m.right = right;
  m.feature = s.feature;
  m.bin = s.bin;
  m.missing_left = s.missing_left;
  m.categorical = s.categorical;
  m.cat_left = s.cat_left;
  pending_.push_back(m);
  // The split's left sums count its rows exactly; the shards confirm it in their reply.
  expected_.push_back(s.left.n);
  expected_.push_back(s.right.n);
}

Index TreeDriver::partition(const GrowLeaf& parent, std::int32_t left_node,
                            std::int32_t right_node) {
  ++n_leaves_;
  open_.erase(std::remove_if(open_.begin(), open_.end(),
                             [&](const GrowLeaf& l) { return l.node == parent.node; }),
              open_.end());
  std::int32_t l = -1, r = -1;
  for (auto it = spec_.begin(); it != spec_.end(); ++it) {
    if ((*it)[0] == parent.node) {  // already split on the shards, ahead of the loop
      l = (*it)[1];
      r = (*it)[2];
      spec_.erase(it);
      break;
    }
  }
  if (l < 0) {
    l = next_shard_node_++;
    r = next_shard_node_++;
    queue_split(parent, l, r);
  }
  const auto need = static_cast<std::size_t>(std::max(left_node, right_node)) + 1;
  if (shard_node_.size() < need) shard_node_.resize(need, -1);
  shard_node_[static_cast<std::size_t>(left_node)] = l;
  shard_node_[static_cast<std::size_t>(right_node)] = r;
  return parent.begin + parent.split.left.n;
}

void TreeDriver::request(std::int32_t node, HistBin* out) {
  nodes_.assign(1, node);
  // At most 1.5 x the splits that will still build a histogram (a split leaving max_leaf_nodes
  // leaves builds none), less those already ahead, best gains first. Exactly as many leaves as
  // remain splits would never waste a histogram, but the loop often prefers a leaf revealed by the
  // last reply, and every miss costs a round trip of its own at the end of the tree: measured on
  // the benchmark's trees (31 leaves), 1.5x takes about 9 steps per tree instead of 11 for 4 %
  // more histograms (2x: 8.5 steps, 17 % more). Splitting the children of leaves split ahead before
  // the loop reaches them (deeper lookahead) was tried and took more steps: it spends the budget
  // on chains the tree does not grow.
  const int remaining = grower_.max_leaf_nodes - n_leaves_ - 1;
  const int budget = remaining + remaining / 2 - static_cast<int>(spec_.size());
  if (split_ahead_ && budget > 0) {
    std::vector<const GrowLeaf*> cand;
    for (const GrowLeaf& l : open_) {
      const bool ahead =
          std::any_of(spec_.begin(), spec_.end(),
                      [&](const std::array<std::int32_t, 3>& q) { return q[0] == l.node; });
      if (!ahead && (grower_.max_depth <= 0 || l.depth + 1 < grower_.max_depth)) cand.push_back(&l);
    }
    std::sort(cand.begin(), cand.end(), [](const GrowLeaf* x, const GrowLeaf* y) {
      return x->split.gain > y->split.gain || (x->split.gain == y->split.gain && x->node < y->node);
    });
    if (cand.size() > static_cast<std::size_t>(budget))
      cand.resize(static_cast<std::size_t>(budget));
    for (const GrowLeaf* c : cand) {
      const std::int32_t l = next_shard_node_++, r = next_shard_node_++;
      queue_split(*c, l, r);
      spec_.push_back({c->node, l, r});
      nodes_.push_back(c->split.left.n <= c->split.right.n ? l : r);  // grow_leafwise's smaller
    }
  }
  reply_.hist.clear();
  reply_.counts.clear();
  (*step_)(pending_, nodes_, features_, reply_);
  const auto nb = static_cast<std::size_t>(mapper_.total_bins());
  if (reply_.hist.size() != nb * nodes_.size() || reply_.counts.size() != 2 * pending_.size()) {
    throw InvalidInput("TreeDriver: a step's reply has " + std::to_string(reply_.hist.size()) +
                       " histogram slots and " + std::to_string(reply_.counts.size()) +
                       " counts; expected " + std::to_string(nb * nodes_.size()) + " and " +
                       std::to_string(2 * pending_.size()) + "." + kLost);
  }
  for (std::size_t k = 0; k < 2 * pending_.size(); ++k) {
    if (reply_.counts[k] != expected_[k]) {
      throw InvalidInput(
          "TreeDriver: the shards sent " + std::to_string(reply_.counts[k]) + " rows to node " +
          std::to_string(k % 2 == 0 ? pending_[k / 2].left : pending_[k / 2].right) +
          " but its histogram sums count " + std::to_string(expected_[k]) + "." + kLost);
    }
  }
  pending_.clear();
  expected_.clear();
  std::copy(reply_.hist.begin(), reply_.hist.begin() + static_cast<std::ptrdiff_t>(nb), out);
  for (std::size_t q = 1; q < nodes_.size(); ++q) {
    const auto from = reply_.hist.begin() + static_cast<std::ptrdiff_t>(q * nb);
    keep_ahead(nodes_[q], &*from, nb);
  }
}

void TreeDriver::keep_ahead(std::int32_t node, const HistBin* h, std::size_t n) {
  std::vector<HistBin> buf;
  if (!spare_.empty()) {
    buf = std::move(spare_.back());
    spare_.pop_back();
  }
  buf.assign(h, h + n);
  ahead_.emplace_back(node, std::move(buf));
}

void TreeDriver::recycle(std::vector<HistBin>&& buf) {
  if (spare_.size() < 8)
    spare_.push_back(std::move(buf));  // at most 8 kept (8 x total_bins x 32 B)
}

void TreeDriver::clear_ahead() {
  for (auto& a : ahead_) recycle(std::move(a.second));
  ahead_.clear();
}

void TreeDriver::check_sums(const HistBin* h, const GrowLeaf& leaf) const {
  if (features_.empty()) return;
  // Every row of the node is in exactly one bin of each feature: the first feature's bins sum to
  // the node's sums, which the driver already knows.
  const std::int32_t f = features_.front();
  HistBin s;
  for (Index b = mapper_.offsets[static_cast<std::size_t>(f)];
       b < mapper_.offsets[static_cast<std::size_t>(f) + 1]; ++b) {
    s.g += h[b].g;
    s.h += h[b].h;
    s.n += h[b].n;
  }
  if (s.g != leaf.total.g || s.h != leaf.total.h || s.n != leaf.total.n) {
    throw InvalidInput("TreeDriver: node " + std::to_string(leaf.node) + " has " +
                       std::to_string(s.n) + " rows in the shards' histogram but " +
                       std::to_string(leaf.total.n) + " in the tree." + kLost);
  }
}

void TreeDriver::build_and_split(GrowLeaf& built, GrowLeaf* derived, bool) {
  HistBin* bh = hist(built.hist);
  const std::int32_t sid = shard_node_[static_cast<std::size_t>(built.node)];
  const auto it =
      std::find_if(ahead_.begin(), ahead_.end(), [&](const auto& a) { return a.first == sid; });
  if (it != ahead_.end()) {
    std::copy(it->second.begin(), it->second.end(), bh);
    recycle(std::move(it->second));
    ahead_.erase(it);
  } else {
    request(sid, bh);
  }
  check_sums(bh, built);
  HistBin* dh = nullptr;
  if (derived != nullptr) {
    dh = hist(derived->hist);
    subtract_histogram(mapper_, features_.data(), static_cast<Index>(features_.size()), dh, bh, dh);
  }
  search_split(mapper_, bh, grower_, features_, built);
  if (built.split.valid) open_.push_back(built);
  if (derived != nullptr) {
    search_split(mapper_, dh, grower_, features_, *derived);
    if (derived->split.valid) open_.push_back(*derived);
  }
}

std::vector<std::int32_t> TreeDriver::round_features(int t) const {
  std::vector<std::int32_t> f;
  sample_features(params_, t, allowed_, f);
  return f;
}

RoutingTree TreeDriver::grow(int t, const HistBin& root_total, const StepFn& step,
                             const std::vector<HistBin>* root_hist) {
  sample_features(params_, t, allowed_, features_);
  step_ = &step;
  pending_.clear();
  expected_.clear();
  shard_node_.assign(1, 0);  // the root is shard node 0 (begin_round)
  next_shard_node_ = 1;
  open_.clear();
  spec_.clear();
  clear_ahead();
  n_leaves_ = 1;
  if (root_hist != nullptr) {
    if (root_hist->size() != static_cast<std::size_t>(mapper_.total_bins())) {
      throw InvalidInput("TreeDriver: the root histogram sent ahead has " +
                         std::to_string(root_hist->size()) + " slots; expected " +
                         std::to_string(mapper_.total_bins()) + "." + kLost);
    }
    keep_ahead(0, root_hist->data(), root_hist->size());  // checked against root_total as any
  }
  GrownTree g = grow_leafwise(*this, mapper_, grower_, root_total, !features_.empty());
  step_ = nullptr;
  RoutingTree out{g.tree, std::move(g.bin), std::move(g.cat_left), shard_node_, pending_};
  out.shard_node.resize(out.tree.left.size(), -1);
  pending_.clear();
  open_.clear();
  spec_.clear();
  clear_ahead();
  release_all();
  trees_.push_back(std::move(g.tree));
  return out;
}

GradientBoostedTrees TreeDriver::model(double base_score) const {
  GBDTState s;
  s.ensemble.n_features = mapper_.n_features();
  s.ensemble.cardinality = mapper_.cardinality;
  s.ensemble.base_score = base_score;
  s.ensemble.trees = trees_;
  return GradientBoostedTrees::from_state(std::move(s), params_);
}

}  // namespace detail
}  // namespace calibrisk
