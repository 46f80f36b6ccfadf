// SPDX-License-Identifier: Apache-2.0
// Leaf-wise tree growth (Shi 2007, "best-first decision tree learning"; LightGBM's leaf-wise
// policy) over binned data with histogram subtraction and an in-place stable row partition.
#include "trees/grower.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/parallel.hpp>

#include <algorithm>
#include <cfloat>

namespace calibrisk {
namespace detail {

TreeGrower::TreeGrower(const BinnedMatrix& bins, const BinMapper& mapper, GrowerParams params)
    : GrowBackend(mapper.total_bins()), bins_(bins), mapper_(mapper), params_(std::move(params)) {
  // The dominant bin of each feature (>= half of the rows, e.g. the zeros of a one-hot or sparse
  // column) is never accumulated: it is derived from the leaf total, so building the histogram of
  // a sparse column costs its non-zeros, not its rows.
  const Index nf = bins.n_features;
  skip_bin_.assign(static_cast<std::size_t>(nf), -1);
  std::vector<std::uint8_t> sparse(static_cast<std::size_t>(nf), 0);
  const int nt = bins.n_rows * nf < (Index{1} << 17) ? 1 : params_.n_threads;
  parallel_for_dynamic(0, nf, nt, [&](Index f) {
    std::vector<Index> count(static_cast<std::size_t>(mapper.n_value_bins(f)) + 1, 0);
    for (Index i = 0; i < bins.n_rows; ++i) ++count[static_cast<std::size_t>(bins.code(i, f))];
    const auto it = std::max_element(count.begin(), count.end());
    if (2 * *it >= bins.n_rows) {
      skip_bin_[static_cast<std::size_t>(f)] = static_cast<std::int32_t>(it - count.begin());
    }
    // Features >= 80% in their dominant bin keep their other entries in a row-wise CSR.
    if (5 * *it >= 4 * bins.n_rows) sparse[static_cast<std::size_t>(f)] = 1;
  });
  // Mutually exclusive features with a dominant bin (one-hot blocks) share one code column; the
  // CSR keeps the sparse features left out of every bundle. A bundled feature's skip bin is its
  // default bin in the bundle (for a one-hot block's majority level, its second most frequent
  // bin), with bundling on or off: both builds then derive the same bin, so their histograms
  // stay bit-identical.
  FeatureBundles fb = make_bundles(bins, mapper, skip_bin_, 0.5, nt);
  for (Index f = 0; f < nf; ++f) {
    const auto u = static_cast<std::size_t>(f);
    if (fb.bundle_of[u] < 0) continue;
    if (params_.bundle_features || fb.default_bin[u] != skip_bin_[u]) sparse[u] = 0;
    skip_bin_[u] = fb.default_bin[u];
  }
  if (params_.bundle_features) bundles_ = std::move(fb);
  sparse_ =
      make_sparse_rows(bins, mapper, skip_bin_, sparse, resolve_threads(params_.n_threads), nt);
  // Histograms are allocated on first use and recycled: only leaves that can still be split hold
  // one, and each needs >= 2 min_samples_leaf rows, so far fewer than max_leaf_nodes histograms
  // exist at once on small or wide data (each is total_bins * 32 bytes: 82 MB at 10,000 features).
  reserve_hists(params_.max_leaf_nodes);
}

int GrowBackend::acquire_hist() {
  if (free_.empty()) {
    pool_.emplace_back(static_cast<std::size_t>(hist_bins_));
    return static_cast<int>(pool_.size()) - 1;
  }
  const int s = free_.back();
  free_.pop_back();
  return s;
}

void GrowBackend::release_all() {
  free_.clear();
  for (std::size_t s = 0; s < pool_.size(); ++s) free_.push_back(static_cast<int>(s));
}

bool leaf_splittable(const GrowLeaf& leaf, const SplitRules& r) {
  const double n = static_cast<double>(leaf.end - leaf.begin);
  return n >= 2.0 * std::max(1.0, r.min_samples_leaf) &&
         real_sums(leaf.total, r).h >= 2.0 * r.min_child_weight;
}

void search_split(const BinMapper& mapper, const HistBin* hist, const GrowerParams& params,
                  const std::vector<std::int32_t>& features, GrowLeaf& leaf) {
  leaf.split = SplitInfo{};
  const SplitRules& r = params.rules;
  if (!leaf_splittable(leaf, r)) return;
  const double base = parent_gain(leaf.total, r, leaf.bounds);
  for (const std::int32_t f : features) {
    if (mapper.is_constant[static_cast<std::size_t>(f)]) continue;
    const int mono = params.monotone.empty() ? 0 : params.monotone[static_cast<std::size_t>(f)];
    const SplitInfo s =
        best_split_of_feature(mapper, hist, leaf.total, f, r, mono, leaf.bounds, base);
    if (better_split(s, leaf.split)) leaf.split = s;
  }
}

void TreeGrower::build_and_split(GrowLeaf& built, GrowLeaf* derived, bool root) {
  const std::vector<RowIndex>& rows = *rows_;
  const std::vector<std::int32_t>& features = *features_;
  const GradPair* gh_by_row = gh_by_row_;
  const bool contiguous = root && rows_are_all_;
  HistogramJob job;
  job.n = built.end - built.begin;
  job.features = features.data();
  job.n_features = static_cast<Index>(features.size());
  job.sparse = &sparse_;
  job.bundles = &bundles_;
  if (contiguous) {
    job.rows = nullptr;
    job.gh = gh_by_row;
  } else {
    if (ordered_.size() < static_cast<std::size_t>(job.n)) ordered_.resize(rows.size());
    gather_gradients(rows.data() + built.begin, job.n, gh_by_row, ordered_.data(),
                     params_.n_threads);
    job.rows = rows.data() + built.begin;
    job.gh = ordered_.data();
  }
  HistBin* bh = hist(built.hist);
  HistBin* dh = derived ? hist(derived->hist) : nullptr;
  const SplitRules& r = params_.rules;
  const std::int8_t* mono = params_.monotone.empty() ? nullptr : params_.monotone.data();
  GrowLeaf* leaves[2] = {&built, derived};
  double base[2] = {0.0, 0.0};
  bool search[2] = {false, false};
  for (int c = 0; c < 2; ++c) {
    if (leaves[c] == nullptr) continue;
    leaves[c]->split = SplitInfo{};
    search[c] = leaf_splittable(*leaves[c], r);
    if (search[c]) base[c] = parent_gain(leaves[c]->total, r, leaves[c]->bounds);
  }
  const Index nf = job.n_features;
  per_feature_[0].assign(static_cast<std::size_t>(nf), SplitInfo{});
  per_feature_[1].assign(static_cast<std::size_t>(nf), SplitInfo{});
  // One parallel region per split: each fixed feature group builds its part of the built leaf's
  // histogram, derives the same part of the sibling's (parent - built, in place in the parent's
  // buffer) and scans both for the best split of each feature it completed (its share of the
  // dense features and the features of its CSR parts and bundles; see build_histogram_group).
  // The scan of a feature costs about its bins, each a few histogram updates' worth (two gain
  // evaluations with divisions), hence the extra work counted for the threads.
  // Leaves of narrow data, whose features cannot be shared evenly between the threads, are first
  // built row-parallel into per-thread partial histograms, which the region below sums per slot
  // instead of building (build_row_partials decides; same bits either way).
  build_row_partials(bins_, mapper_, job, skip_bin_.data(), built.total, partials_,
                     params_.n_threads);
  const Index scan_work = 8 * static_cast<Index>(mapper_.total_bins());
  const int nt = histogram_threads(job, scan_work, params_.n_threads);
  if (position_.size() < static_cast<std::size_t>(bins_.n_features)) {
    position_.resize(static_cast<std::size_t>(bins_.n_features));
  }
  for (Index q = 0; q < nf; ++q) position_[static_cast<std::size_t>(features[q])] = q;
  if (done_.size() < static_cast<std::size_t>(nt)) done_.resize(static_cast<std::size_t>(nt));
  parallel_for(0, nt, nt, [&](Index gi) {
    std::vector<std::int32_t>& done = done_[static_cast<std::size_t>(gi)];
    done.clear();
    build_histogram_group(bins_, mapper_, job, skip_bin_.data(), built.total, bh, gi, nt, &done);
    if (dh != nullptr) {
      subtract_histogram(mapper_, done.data(), static_cast<Index>(done.size()), dh, bh, dh);
    }
    for (const std::int32_t f : done) {
      if (mapper_.is_constant[static_cast<std::size_t>(f)]) continue;
      const auto q = static_cast<std::size_t>(position_[static_cast<std::size_t>(f)]);
      for (int c = 0; c < 2; ++c) {
        if (!search[c]) continue;
        per_feature_[c][q] =
            best_split_of_feature(mapper_, c == 0 ? bh : dh, leaves[c]->total, f, r,
                                  mono ? mono[f] : 0, leaves[c]->bounds, base[c]);
      }
    }
  });
  // Reduce in feature order: ties keep the lower feature, for any thread count.
  for (int c = 0; c < 2; ++c) {
    if (!search[c]) continue;
    for (const SplitInfo& s : per_feature_[c]) {
      if (better_split(s, leaves[c]->split)) leaves[c]->split = s;
    }
  }
}

Index TreeGrower::partition(const GrowLeaf& leaf, std::int32_t, std::int32_t) {
  std::vector<RowIndex>& rows = *rows_;
  const SplitInfo& s = leaf.split;
  const std::int32_t f = s.feature;
  // The side of every code (value bins, then the missing bin): a table look-up per row, no branch.
  const int missing = mapper_.missing_bin(f);
  goes_left_.assign(static_cast<std::size_t>(missing) + 1, 0);
  for (int c = 0; c < missing; ++c) {
    goes_left_[static_cast<std::size_t>(c)] = s.categorical ? s.cat_left.test(c) : c <= s.bin;
  }
  goes_left_[static_cast<std::size_t>(missing)] = s.missing_left ? 1 : 0;
  return bins_.wide ? partition_by(rows, leaf, bins_.col16(f))
                    : partition_by(rows, leaf, bins_.col8(f));
}

template <class Code>
Index TreeGrower::partition_by(std::vector<RowIndex>& rows, const GrowLeaf& leaf, const Code* col) {
  const Index n = leaf.end - leaf.begin;
  RowIndex* base = rows.data() + leaf.begin;
  const std::uint8_t* left_of = goes_left_.data();
  if (scratch_left_.size() < rows.size()) {
    scratch_left_.resize(rows.size());
    scratch_right_.resize(rows.size());
  }
  // Stable partition in fixed blocks (independent of the thread count): each block splits into
  // its own slice of the scratch buffers, then the slices are copied back in block order.
  constexpr Index kBlock = 1 << 13;
  const Index nb = n_blocks(n, kBlock);
  std::vector<Index> nl(static_cast<std::size_t>(nb)), nr(static_cast<std::size_t>(nb));
  const int nt = nb > 1 ? params_.n_threads : 1;  // one block: no parallel region
  parallel_blocks(n, kBlock, nt, [&](Index b, Index lo, Index hi) {
    const Index a = split_rows(base + lo, hi - lo, col, left_of, scratch_left_.data() + lo,
                               scratch_right_.data() + lo);
    nl[static_cast<std::size_t>(b)] = a;
    nr[static_cast<std::size_t>(b)] = hi - lo - a;
  });
  std::vector<Index> off_l(static_cast<std::size_t>(nb)), off_r(static_cast<std::size_t>(nb));
  Index total_left = 0;
  for (Index b = 0; b < nb; ++b) {
    off_l[static_cast<std::size_t>(b)] = total_left;
    total_left += nl[static_cast<std::size_t>(b)];
  }
  Index acc = total_left;
  for (Index b = 0; b < nb; ++b) {
    off_r[static_cast<std::size_t>(b)] = acc;
    acc += nr[static_cast<std::size_t>(b)];
  }
  parallel_blocks(n, kBlock, nt, [&](Index b, Index lo, Index) {
    const auto ub = static_cast<std::size_t>(b);
    std::copy_n(scratch_left_.data() + lo, nl[ub], base + off_l[ub]);
    std::copy_n(scratch_right_.data() + lo, nr[ub], base + off_r[ub]);
  });
  return leaf.begin + total_left;
}

namespace {

std::int32_t add_node(GrownTree& out) {
  const std::int32_t id = out.tree.add_node();
  out.bin.push_back(-1);
  out.begin.push_back(0);
  out.end.push_back(0);
  return id;
}

// Gradient and hessian sums of rows[0, n) (or of [0, n) when rows_are_all): exact integer sums,
// so neither the blocks nor the thread count can change a bit.
HistBin gradient_total(const std::vector<RowIndex>& rows, bool rows_are_all,
                       const GradPair* gh_by_row, int n_threads) {
  const Index n = static_cast<Index>(rows.size());
  constexpr Index kSumBlock = 1 << 14;
  std::vector<HistBin> part(static_cast<std::size_t>(n_blocks(n, kSumBlock)));
  parallel_blocks(
      n, kSumBlock, n < (Index{1} << 17) ? 1 : n_threads, [&](Index b, Index lo, Index hi) {
        HistBin s;
        for (Index k = lo; k < hi; ++k) {
          const GradPair g = gh_by_row[rows_are_all ? k : rows[static_cast<std::size_t>(k)]];
          s.g += g.g;
          s.h += g.h;
        }
        part[static_cast<std::size_t>(b)] = s;
      });
  HistBin total;
  for (const HistBin& s : part) {
    total.g += s.g;
    total.h += s.h;
  }
  total.n = n;
  return total;
}

// Internal nodes: cover-weighted mean of their children (children have larger indices).
void set_internal_values(Tree& tree) {
  for (std::size_t i = tree.left.size(); i-- > 0;) {
    if (tree.left[i] < 0) continue;
    const auto a = static_cast<std::size_t>(tree.left[i]);
    const auto b = static_cast<std::size_t>(tree.right[i]);
    const double ca = tree.cover[a], cb = tree.cover[b];
    tree.value[i] = ca + cb > 0.0 ? (ca * tree.value[a] + cb * tree.value[b]) / (ca + cb)
                                  : 0.5 * (tree.value[a] + tree.value[b]);
  }
}

}  // namespace

namespace {

// Records the category-set split `s` at `node`: the tree's code bitset and the bin set.
void set_category_split(const BinMapper& mapper, GrownTree& out, std::int32_t node,
                        const SplitInfo& s) {
  // The tree's bitset over codes: the codes of the left bins (never the pooled bin), up to the
  // largest one; at least one word so the node reads as categorical.
  const auto& codes = mapper.bin_code[static_cast<std::size_t>(s.feature)];
  std::vector<std::uint32_t> words(1, 0);
  for (std::size_t b = 0; b < codes.size(); ++b) {
    if (!s.cat_left.test(static_cast<int>(b)) || codes[b] < 0) continue;
    const auto c = static_cast<std::uint32_t>(codes[b]);
    if ((c >> 5) >= words.size()) words.resize((c >> 5) + 1, 0);
    words[c >> 5] |= 1u << (c & 31u);
  }
  out.tree.set_categories(node, words);
  out.bin[static_cast<std::size_t>(node)] = -2 - static_cast<std::int32_t>(out.cat_left.size());
  out.cat_left.push_back(s.cat_left);
}

// The active leaf to split next: the largest gain, ties to the lower node id.
std::size_t best_leaf(const std::vector<GrowLeaf>& active) {
  std::size_t pick = 0;
  for (std::size_t a = 1; a < active.size(); ++a) {
    const SplitInfo& s = active[a].split;
    const SplitInfo& b = active[pick].split;
    if (s.gain > b.gain || (s.gain == b.gain && active[a].node < active[pick].node)) pick = a;
  }
  return pick;
}

// Children's bounds below a monotone split: LightGBM's "basic" bound propagation. The children
// are separated at the midpoint of their outputs, and every descendant inherits its side's bound,
// so all outputs left of the split stay <= (or >=) all outputs right of it.
void monotone_bounds(int mono, const SplitInfo& s, GrowLeaf& l, GrowLeaf& r) {
  if (mono == 0) return;
  const double midv = 0.5 * (s.left_value + s.right_value);
  if (mono > 0) {
    l.bounds.upper = std::min(l.bounds.upper, midv);
    r.bounds.lower = std::max(r.bounds.lower, midv);
  } else {
    l.bounds.lower = std::max(l.bounds.lower, midv);
    r.bounds.upper = std::min(r.bounds.upper, midv);
  }
}

// Splits `parent` (two nodes added to `out`, its rows partitioned by the backend) into `l` and
// `r`, with their totals and monotone bounds; their histograms and splits are left to the caller.
void split_leaf(GrowBackend& backend, const BinMapper& mapper, const GrowerParams& p,
                GrownTree& out, const GrowLeaf& parent, GrowLeaf& l, GrowLeaf& r) {
  Tree& tree = out.tree;
  const SplitInfo& s = parent.split;
  const std::int32_t ln = add_node(out);
  const std::int32_t rn = add_node(out);
  const Index mid = backend.partition(parent, ln, rn);
  const auto up = static_cast<std::size_t>(parent.node);
  tree.left[up] = ln;
  tree.right[up] = rn;
  tree.feature[up] = s.feature;
  if (s.categorical) {
    set_category_split(mapper, out, parent.node, s);
  } else {
    // The "all values left" candidate (bin = last value bin) has no edge: any finite value goes
    // left, which FLT_MAX expresses as a finite, float-exact threshold.
    tree.threshold[up] = s.bin + 1 < mapper.n_value_bins(s.feature)
                             ? mapper.threshold(s.feature, s.bin)
                             : static_cast<double>(FLT_MAX);
    out.bin[up] = s.bin;
  }
  tree.missing_left[up] = s.missing_left ? 1 : 0;
  tree.gain[up] = s.gain;

  l.node = ln;
  r.node = rn;
  l.begin = parent.begin;
  l.end = mid;
  r.begin = mid;
  r.end = parent.end;
  l.depth = r.depth = parent.depth + 1;
  l.total = s.left;
  r.total = s.right;
  l.total.n = l.end - l.begin;
  r.total.n = r.end - r.begin;
  l.bounds = r.bounds = parent.bounds;
  monotone_bounds(p.monotone.empty() ? 0 : p.monotone[static_cast<std::size_t>(s.feature)], s, l,
                  r);
  tree.cover[static_cast<std::size_t>(ln)] = real_sums(l.total, p.rules).h;
  tree.cover[static_cast<std::size_t>(rn)] = real_sums(r.total, p.rules).h;
}

// Leaf outputs (bounded Newton steps, clamped by max_delta_step, times the learning rate), leaf
// row ranges and the internal nodes' values.
void finish_tree(const GrowerParams& p, const std::vector<GrowLeaf>& done, GrownTree& out) {
  Tree& tree = out.tree;
  for (const GrowLeaf& leaf : done) {
    const auto u = static_cast<std::size_t>(leaf.node);
    const RealSums t = real_sums(leaf.total, p.rules);
    double step = leaf_output(t.g, t.h, p.rules.l2, leaf.bounds);
    if (p.max_delta_step > 0.0) step = std::clamp(step, -p.max_delta_step, p.max_delta_step);
    tree.value[u] = p.learning_rate * step;
    out.begin[u] = leaf.begin;
    out.end[u] = leaf.end;
  }
  set_internal_values(tree);
}

}  // namespace

GrownTree grow_leafwise(GrowBackend& backend, const BinMapper& mapper, const GrowerParams& p,
                        const HistBin& root_total, bool has_features) {
  GrownTree out;
  GrowLeaf root;
  root.node = add_node(out);
  root.begin = 0;
  root.end = root_total.n;
  root.total = root_total;
  out.tree.cover[0] = real_sums(root.total, p.rules).h;

  std::vector<GrowLeaf> active;  // leaves that may still be split (have a histogram and a split)
  std::vector<GrowLeaf> done;    // final leaves
  // A leaf whose best split is valid stays active, holding its histogram; the others are final.
  auto settle = [&](GrowLeaf& leaf) {
    if (leaf.split.valid) {
      active.push_back(leaf);
    } else {
      backend.release_hist(leaf.hist);
      leaf.hist = -1;
      done.push_back(leaf);
    }
  };
  const bool depth_ok_root = p.max_depth <= 0 || p.max_depth >= 1;
  if (depth_ok_root && p.max_leaf_nodes >= 2 && has_features) {
    root.hist = backend.acquire_hist();
    backend.build_and_split(root, nullptr, /*root=*/true);
  }
  settle(root);

  int n_leaves = 1;
  while (n_leaves < p.max_leaf_nodes && !active.empty()) {
    const std::size_t pick = best_leaf(active);
    GrowLeaf parent = active[pick];
    active.erase(active.begin() + static_cast<std::ptrdiff_t>(pick));
    GrowLeaf l, r;
    split_leaf(backend, mapper, p, out, parent, l, r);
    ++n_leaves;

    const bool can_split =
        n_leaves < p.max_leaf_nodes && (p.max_depth <= 0 || parent.depth + 1 < p.max_depth);
    if (!can_split) {
      backend.release_hist(parent.hist);
      done.push_back(l);
      done.push_back(r);
      continue;
    }
    GrowLeaf& small = (l.end - l.begin) <= (r.end - r.begin) ? l : r;
    GrowLeaf& large = (&small == &l) ? r : l;
    small.hist = backend.acquire_hist();
    large.hist = parent.hist;  // the parent's histogram becomes the larger child's in place
    backend.build_and_split(small, &large, /*root=*/false);
    settle(l);
    settle(r);
  }
  for (GrowLeaf& a : active) {
    backend.release_hist(a.hist);
    done.push_back(a);
  }
  finish_tree(p, done, out);
  return out;
}

GrownTree TreeGrower::grow(std::vector<RowIndex>& rows, bool rows_are_all,
                           const GradPair* gh_by_row, const std::vector<std::int32_t>& features) {
  rows_ = &rows;
  rows_are_all_ = rows_are_all;
  gh_by_row_ = gh_by_row;
  features_ = &features;
  const HistBin total = gradient_total(rows, rows_are_all, gh_by_row, params_.n_threads);
  GrownTree out = grow_leafwise(*this, mapper_, params_, total, !features.empty());
  CALIBRISK_ASSERT(all_released());
  rows_ = nullptr;
  gh_by_row_ = nullptr;
  features_ = nullptr;
  return out;
}

}  // namespace detail
}  // namespace calibrisk
