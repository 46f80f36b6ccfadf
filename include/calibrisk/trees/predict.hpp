// SPDX-License-Identifier: Apache-2.0
/// @file predict.hpp
/// Fast scoring of a tree ensemble: a compact breadth-first node layout derived once from the
/// flat `Tree` arrays, batch prediction over row blocks in parallel, and allocation-free
/// single-row prediction.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/trees/tree.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace calibrisk {

namespace detail {

/// One node of the prediction layout. Children of a node are adjacent (right = left + 1), as
/// breadth-first numbering gives them, so a node needs one child index; 12 bytes with a float
/// threshold, 16 with a double one.
///
/// Leaves are encoded as self-loops (threshold +inf, missing goes left, left = own index), so a
/// traversal can run a fixed number of steps without testing for leaves: once a row reaches a leaf
/// every further step stays there. Leaf values live in a parallel double array indexed by node.
template <class Thr>
struct PackedNode {
  Thr threshold;       ///< go left when x <= threshold; categorical: the cardinality K
  std::uint32_t info;  ///< bits 0-28 feature, 29 categorical, 30 leaf, 31 missing-goes-left
  std::int32_t left;   ///< global index of the left child; right child = left + 1
};

constexpr std::uint32_t kFeatureMask = (1u << 29) - 1u;
constexpr std::uint32_t kCategoricalBit = 1u << 29;
constexpr std::uint32_t kLeafBit = 1u << 30;
constexpr std::uint32_t kMissingLeftBit = 1u << 31;

/// Bitset of a categorical node in the predictor's flat word array.
struct CatRef {
  std::uint32_t begin = 0;  ///< first word
  std::uint32_t words = 0;  ///< number of words; codes >= 32 * words go right
};

/// The routing rule of Tree (NaN -> missing side; else x <= threshold -> left), branch-free.
/// Compared in the wider of the row type and the threshold type.
template <class Thr, class T>
inline std::int32_t next_node(const PackedNode<Thr>& nd, const T* row) noexcept {
  using C = std::common_type_t<T, Thr>;
  const C x = static_cast<C>(row[nd.info & kFeatureMask]);
  const C t = static_cast<C>(nd.threshold);
  // right = (x > t) or (x is NaN and NaN goes right); "x > t" is false for NaN. Computed with
  // bitwise operations on 0/1 integers so the compiler emits no branch (the missing side is
  // data-dependent and would be mispredicted half the time).
  const auto gt = static_cast<std::uint32_t>(x > t);
  const auto nan = static_cast<std::uint32_t>(x != x);
  const std::uint32_t nan_right = nan & ~(nd.info >> 31);
  return nd.left + static_cast<std::int32_t>((gt | nan_right) & 1u);
}

/// The routing rule of Tree for a node that may be categorical (see Tree::goes_left): a
/// categorical node sends a code c in [0, K) left iff its bit is set, and NaN and every value that
/// is not such a code to the missing side. Numeric nodes as next_node.
template <class Thr, class T>
inline std::int32_t next_node_cat(const PackedNode<Thr>* nodes, std::int32_t id, const T* row,
                                  const CatRef* refs, const std::uint32_t* bits) noexcept {
  const PackedNode<Thr>& nd = nodes[id];
  if ((nd.info & kCategoricalBit) == 0) return next_node(nd, row);
  const double x = static_cast<double>(row[nd.info & kFeatureMask]);
  const bool in_range = x >= 0.0 && x < static_cast<double>(nd.threshold);  // false for NaN
  const auto c = static_cast<std::uint32_t>(in_range ? x : 0.0);
  if (!in_range || static_cast<double>(c) != x) {  // not an integer code in [0, K)
    return nd.left + static_cast<std::int32_t>((~nd.info >> 31) & 1u);
  }
  const CatRef r = refs[id];
  const std::uint32_t left = (c >> 5) < r.words ? (bits[r.begin + (c >> 5)] >> (c & 31u)) & 1u : 0u;
  return nd.left + static_cast<std::int32_t>(left ^ 1u);
}

/// The largest float that is <= t. For a float x, `x <= t` holds exactly when `x <=
/// floor_float(t)`, so float rows are routed against float thresholds without any loss.
inline float floor_float(double t) noexcept {
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

}  // namespace detail

/// Scores a `TreeEnsemble` quickly. Build once (after fit or after loading), then predict many
/// times; every method is const and thread-safe, and its results are bit-identical whatever the
/// thread count, the block size or the input layout (the margin of a row is always
/// base_score + tree_0 + tree_1 + ... summed in tree order, in double).
///
/// Layout: all trees' nodes in one array, each tree renumbered breadth-first so siblings are
/// adjacent and the top levels of every tree share cache lines. Thresholds are kept twice: as
/// floats (the largest float <= the threshold, exact for float32 rows) and, only when some
/// threshold is not a float value, as doubles for float64 rows.
///
/// Batch prediction walks rows in blocks of `kBlockRows`; within a block every tree is applied to
/// all rows (the tree stays in L1 while the block's rows stay in L2), eight rows traverse a tree in
/// lock-step to overlap their load latencies, and blocks run in parallel. Single-row prediction
/// walks four trees in lock-step for the same reason and allocates nothing.
///
/// Example:
/// @code
///   calibrisk::TreePredictor pred(ensemble);            // validates the ensemble
///   pred.predict_proba(calibrisk::view(X), out, 2);      // out: one probability per row
///   double p = pred.predict_proba_row(row_ptr);          // row_ptr: n_features doubles
/// @endcode
class TreePredictor {
 public:
  /// Rows per block of the batch kernel.
  static constexpr Index kBlockRows = 64;

  TreePredictor() = default;

  /// Builds the layout from `ensemble`, which is validated first (throws InvalidInput naming the
  /// bad tree/node/field). Complexity O(total nodes).
  explicit TreePredictor(const TreeEnsemble& ensemble) { build(ensemble); }

  Index n_features() const noexcept { return n_features_; }
  Index n_trees() const noexcept { return static_cast<Index>(roots_.size()); }
  double base_score() const noexcept { return base_score_; }
  /// True when every threshold is exactly a float value, so float64 rows use the compact layout
  /// too.
  bool thresholds_are_float() const noexcept { return nodes_d_.empty(); }

  /// Raw margins (log-odds) of every row of X into `out`.
  /// @param X          (n_rows, n_features()), float32 or float64, any strides; NaN = missing.
  ///                   ±inf are routed as very large / small values (the model classes reject them
  ///                   before calling this).
  /// @param out        n_rows doubles, any stride
  /// @param n_threads  0 = all threads OpenMP allows
  /// @param where      message prefix
  /// Throws InvalidInput on a column-count or output-size mismatch. Complexity
  /// O(n_rows * n_trees * depth); no allocation except one block buffer per task for inputs whose
  /// rows are not contiguous.
  void predict_margin(const FeatureMatrix& X, VectorView<double> out, int n_threads = 0,
                      const std::string& where = "TreePredictor::predict_margin") const {
    check_shapes(X, out, where);
    X.visit([&](const auto& m) { predict_impl(m, out, n_threads, false); });
  }

  /// P(y = 1) = sigmoid(margin) for every row; same contract as `predict_margin`.
  void predict_proba(const FeatureMatrix& X, VectorView<double> out, int n_threads = 0,
                     const std::string& where = "TreePredictor::predict_proba") const {
    check_shapes(X, out, where);
    X.visit([&](const auto& m) { predict_impl(m, out, n_threads, true); });
  }

  /// Raw margin of one contiguous row of n_features() values. No checks, no allocation;
  /// bit-identical to the batch result for the same values. Precondition: built.
  double predict_margin_row(const double* row) const noexcept {
    return nodes_d_.empty() ? row_impl(nodes_f_.data(), row) : row_impl(nodes_d_.data(), row);
  }
  /// Float32 overload: the row is routed exactly as its values widened to double would be.
  double predict_margin_row(const float* row) const noexcept {
    return row_impl(nodes_f_.data(), row);
  }
  /// sigmoid(predict_margin_row(row)).
  double predict_proba_row(const double* row) const noexcept {
    return sigmoid(predict_margin_row(row));
  }
  double predict_proba_row(const float* row) const noexcept {
    return sigmoid(predict_margin_row(row));
  }

 private:
  template <class Thr>
  using Node = detail::PackedNode<Thr>;

  void check_shapes(const FeatureMatrix& X, VectorView<double> out,
                    const std::string& where) const {
    if (X.cols() != n_features_) {
      throw InvalidInput(where + ": X has " + std::to_string(X.cols()) +
                         " features but the model was fitted with " + std::to_string(n_features_) +
                         "; pass the same columns, in the same order, as at fit time.");
    }
    if (out.size() != X.rows()) {
      throw InvalidInput(where + ": out has " + std::to_string(out.size()) + " entries but X has " +
                         std::to_string(X.rows()) + " rows; pass one output slot per row.");
    }
  }

  void build(const TreeEnsemble& e) {
    e.validate("TreePredictor");
    if (e.n_features > static_cast<Index>(detail::kFeatureMask)) {
      throw InvalidInput("TreePredictor: n_features " + std::to_string(e.n_features) +
                         " exceeds the supported maximum of 2^29 - 1.");
    }
    n_features_ = e.n_features;
    base_score_ = e.base_score;
    std::size_t total = 0;
    for (const Tree& t : e.trees) total += static_cast<std::size_t>(t.n_nodes());
    if (total > static_cast<std::size_t>(INT32_MAX)) {
      throw InvalidInput("TreePredictor: the ensemble has more than 2^31 - 1 nodes.");
    }
    nodes_f_.clear();
    nodes_f_.reserve(total);
    std::vector<Node<double>> nodes_d;
    nodes_d.reserve(total);
    values_.clear();
    values_.reserve(total);
    roots_.clear();
    depths_.clear();
    cat_bits_.clear();
    std::vector<detail::CatRef> cat_refs;  // per node once a categorical node exists
    bool all_float = true;
    std::vector<std::int32_t> order;  // breadth-first order of the original node ids
    std::vector<std::int32_t> new_id;
    std::vector<int> depth;
    for (const Tree& t : e.trees) {
      const auto n = static_cast<std::size_t>(t.n_nodes());
      order.assign(1, 0);
      new_id.assign(n, -1);
      depth.assign(n, 0);
      // Breadth-first: children of the k-th queued node are appended together, so they are
      // adjacent in the new numbering.
      for (std::size_t q = 0; q < order.size(); ++q) {
        const auto i = static_cast<std::size_t>(order[q]);
        if (t.left[i] >= 0) {
          depth[static_cast<std::size_t>(t.left[i])] = depth[i] + 1;
          depth[static_cast<std::size_t>(t.right[i])] = depth[i] + 1;
          order.push_back(t.left[i]);
          order.push_back(t.right[i]);
        }
      }
      const auto offset = static_cast<std::int32_t>(nodes_f_.size());
      for (std::size_t q = 0; q < order.size(); ++q) {
        new_id[static_cast<std::size_t>(order[q])] = offset + static_cast<std::int32_t>(q);
      }
      int max_depth = 0;
      for (std::size_t q = 0; q < order.size(); ++q) {
        const auto i = static_cast<std::size_t>(order[q]);
        const std::int32_t self = offset + static_cast<std::int32_t>(q);
        max_depth = std::max(max_depth, depth[i]);
        if (t.left[i] < 0) {
          const std::uint32_t info = detail::kLeafBit | detail::kMissingLeftBit;  // feature 0
          nodes_f_.push_back({std::numeric_limits<float>::infinity(), info, self});
          nodes_d.push_back({std::numeric_limits<double>::infinity(), info, self});
          values_.push_back(t.value[i]);
        } else if (t.is_categorical(static_cast<Index>(i))) {
          std::uint32_t info = static_cast<std::uint32_t>(t.feature[i]) | detail::kCategoricalBit;
          if (t.missing_left[i]) info |= detail::kMissingLeftBit;
          const std::int32_t l = new_id[static_cast<std::size_t>(t.left[i])];
          // The cardinality is an integer <= kMaxCategories: exact as a float.
          const auto k = static_cast<float>(e.cardinality_of(t.feature[i]));
          nodes_f_.push_back({k, info, l});
          nodes_d.push_back({static_cast<double>(k), info, l});
          values_.push_back(0.0);
          cat_refs.resize(nodes_f_.size());
          cat_refs.back() = {static_cast<std::uint32_t>(cat_bits_.size()),
                             t.cat_end[i] - t.cat_begin[i]};
          cat_bits_.insert(cat_bits_.end(), t.cat_bits.begin() + t.cat_begin[i],
                           t.cat_bits.begin() + t.cat_end[i]);
        } else {
          std::uint32_t info = static_cast<std::uint32_t>(t.feature[i]);
          if (t.missing_left[i]) info |= detail::kMissingLeftBit;
          const std::int32_t l = new_id[static_cast<std::size_t>(t.left[i])];
          CALIBRISK_ASSERT(new_id[static_cast<std::size_t>(t.right[i])] == l + 1);
          const float tf = detail::floor_float(t.threshold[i]);
          if (static_cast<double>(tf) != t.threshold[i]) all_float = false;
          nodes_f_.push_back({tf, info, l});
          nodes_d.push_back({t.threshold[i], info, l});
          values_.push_back(0.0);
        }
      }
      roots_.push_back(offset);
      depths_.push_back(max_depth);
    }
    if (!cat_refs.empty()) cat_refs.resize(nodes_f_.size());
    cat_refs_ = std::move(cat_refs);
    if (all_float) {
      nodes_d_.clear();
      nodes_d_.shrink_to_fit();
    } else {
      nodes_d_ = std::move(nodes_d);
    }
    // Group depth for the four-trees-in-lock-step single-row walk.
    group_depths_.clear();
    for (std::size_t t = 0; t < depths_.size(); t += kRowGroup) {
      int d = 0;
      for (std::size_t k = t; k < std::min(depths_.size(), t + kRowGroup); ++k) {
        d = std::max(d, depths_[k]);
      }
      group_depths_.push_back(d);
    }
  }

  static constexpr std::size_t kRowGroup = 8;  // trees walked together for one row
  static constexpr Index kLanes = 8;           // rows walked together through one tree

  /// One routing step: the numeric rule only when the model has no categorical node (the
  /// numeric-only layout keeps its branch-free step).
  template <bool kCat, class Thr, class T>
  std::int32_t step(const Node<Thr>* nodes, std::int32_t id, const T* row) const noexcept {
    if constexpr (kCat) {
      return detail::next_node_cat(nodes, id, row, cat_refs_.data(), cat_bits_.data());
    } else {
      return detail::next_node(nodes[id], row);
    }
  }

  template <class Thr, class T>
  double row_impl(const Node<Thr>* nodes, const T* row) const noexcept {
    return cat_refs_.empty() ? row_walk<false>(nodes, row) : row_walk<true>(nodes, row);
  }

  template <bool kCat, class Thr, class T>
  double row_walk(const Node<Thr>* nodes, const T* row) const noexcept {
    double acc = base_score_;
    const std::size_t nt = roots_.size();
    std::size_t t = 0;
    for (std::size_t g = 0; t + kRowGroup <= nt; t += kRowGroup, ++g) {
      std::int32_t id[kRowGroup];
      for (std::size_t k = 0; k < kRowGroup; ++k) id[k] = roots_[t + k];
      for (int s = group_depths_[g]; s > 0; --s) {
        for (std::size_t k = 0; k < kRowGroup; ++k) id[k] = step<kCat>(nodes, id[k], row);
      }
      for (std::size_t k = 0; k < kRowGroup; ++k) acc += values_[static_cast<std::size_t>(id[k])];
    }
    for (; t < nt; ++t) {
      std::int32_t a = roots_[t];
      for (int s = depths_[t]; s > 0; --s) a = step<kCat>(nodes, a, row);
      acc += values_[static_cast<std::size_t>(a)];
    }
    return acc;
  }

  /// Adds every tree's leaf value to acc[r] for the rows of one block; rows are `base + r * rs`
  /// with contiguous features.
  template <class Thr, class T>
  void block_kernel(const Node<Thr>* nodes, const T* base, Index rs, Index nb,
                    double* acc) const noexcept {
    if (cat_refs_.empty()) {
      block_walk<false>(nodes, base, rs, nb, acc);
    } else {
      block_walk<true>(nodes, base, rs, nb, acc);
    }
  }

  template <bool kCat, class Thr, class T>
  void block_walk(const Node<Thr>* nodes, const T* base, Index rs, Index nb,
                  double* acc) const noexcept {
    const std::size_t nt = roots_.size();
    for (std::size_t t = 0; t < nt; ++t) {
      const std::int32_t root = roots_[t];
      const int depth = depths_[t];
      Index r = 0;
      for (; r + kLanes <= nb; r += kLanes) {
        std::int32_t id[kLanes];
        for (Index k = 0; k < kLanes; ++k) id[k] = root;
        for (int s = depth; s > 0; --s) {
          for (Index k = 0; k < kLanes; ++k) id[k] = step<kCat>(nodes, id[k], base + (r + k) * rs);
        }
        for (Index k = 0; k < kLanes; ++k) acc[r + k] += values_[static_cast<std::size_t>(id[k])];
      }
      for (; r < nb; ++r) {
        std::int32_t a = root;
        for (int s = depth; s > 0; --s) a = step<kCat>(nodes, a, base + r * rs);
        acc[r] += values_[static_cast<std::size_t>(a)];
      }
    }
  }

  template <class T>
  void predict_impl(const MatrixView<const T>& X, VectorView<double> out, int n_threads,
                    bool proba) const {
    const Index n = X.rows();
    if (n == 0) return;
    const Index nf = n_features_;
    // Tasks of several blocks each, so per-task setup (a gather buffer for strided inputs) is
    // amortised; the split depends only on n, never on the thread count.
    constexpr Index kTaskRows = 16 * kBlockRows;
    const bool contiguous_rows = X.col_stride() == 1 || nf == 1;
    // Small jobs run on the calling thread: below ~1M row-tree visits (a few ms) a parallel
    // region's start-up and barrier cost more than they save, badly so on a busy machine. The
    // thread count never changes the results.
    detail::resolve_threads(n_threads);  // still reject a negative count
    constexpr Index kMinParallelWork = Index{1} << 20;
    const int threads = n * std::max<Index>(n_trees(), 1) < kMinParallelWork ? 1 : n_threads;
    detail::parallel_blocks(n, kTaskRows, threads, [&](Index, Index lo, Index hi) {
      double acc[kBlockRows];
      std::vector<T> buffer;
      if (!contiguous_rows) buffer.resize(static_cast<std::size_t>(kBlockRows * nf));
      for (Index b = lo; b < hi; b += kBlockRows) {
        const Index nb = std::min(kBlockRows, hi - b);
        const T* base;
        Index rs;
        if (contiguous_rows) {
          base = X.row_ptr(b);
          rs = X.row_stride();
        } else {
          // Gather the block row-major (a transpose for Fortran-ordered input).
          for (Index j = 0; j < nf; ++j) {
            const T* col = X.col_ptr(j) + b * X.row_stride();
            for (Index r = 0; r < nb; ++r)
              buffer[static_cast<std::size_t>(r * nf + j)] = col[r * X.row_stride()];
          }
          base = buffer.data();
          rs = nf;
        }
        for (Index r = 0; r < nb; ++r) acc[r] = base_score_;
        if constexpr (std::is_same_v<T, float>) {
          block_kernel(nodes_f_.data(), base, rs, nb, acc);
        } else {
          if (nodes_d_.empty()) {
            block_kernel(nodes_f_.data(), base, rs, nb, acc);
          } else {
            block_kernel(nodes_d_.data(), base, rs, nb, acc);
          }
        }
        if (proba) {
          for (Index r = 0; r < nb; ++r) out[b + r] = sigmoid(acc[r]);
        } else {
          for (Index r = 0; r < nb; ++r) out[b + r] = acc[r];
        }
      }
    });
  }

  Index n_features_ = 0;
  double base_score_ = 0.0;
  std::vector<Node<float>> nodes_f_;      ///< all trees, breadth-first, float thresholds
  std::vector<Node<double>> nodes_d_;     ///< same with double thresholds; empty when all exact
  std::vector<double> values_;            ///< leaf value per node (0 on internal nodes)
  std::vector<std::int32_t> roots_;       ///< global index of each tree's root
  std::vector<int> depths_;               ///< depth of each tree (steps to reach any leaf)
  std::vector<int> group_depths_;         ///< max depth of each group of kRowGroup trees
  std::vector<detail::CatRef> cat_refs_;  ///< per node when some node is categorical, else empty
  std::vector<std::uint32_t> cat_bits_;   ///< bitsets of the categorical nodes
};

}  // namespace calibrisk
