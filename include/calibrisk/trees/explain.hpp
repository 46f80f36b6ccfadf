// SPDX-License-Identifier: Apache-2.0
/// @file explain.hpp
/// Explanations of a tree ensemble: feature importances (split count, total gain) and per-row
/// feature contributions by exact path-dependent TreeSHAP.
///
/// Reference: S. M. Lundberg, G. G. Erion, S.-I. Lee, "Consistent individualized feature
/// attribution for tree ensembles", arXiv:1802.03888 (2018), Algorithm 2 (polynomial-time exact
/// SHAP values with the conditional expectation E[f(x) | x_S] estimated from the training covers
/// along each tree path).
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/trees/tree.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk {

/// What `feature_importance` counts.
enum class ImportanceType {
  kSplit,  ///< number of internal nodes splitting on the feature
  kGain,   ///< total split gain of those nodes
};

/// One importance per feature (length ensemble.n_features), summed over every tree. Not
/// normalised. Precondition: the ensemble is valid. Complexity O(total nodes).
inline std::vector<double> feature_importance(const TreeEnsemble& ensemble, ImportanceType type) {
  std::vector<double> imp(static_cast<std::size_t>(std::max<Index>(ensemble.n_features, 0)), 0.0);
  for (const Tree& t : ensemble.trees) {
    for (Index i = 0; i < t.n_nodes(); ++i) {
      if (t.is_leaf(i)) continue;
      const auto u = static_cast<std::size_t>(i);
      const auto f = static_cast<std::size_t>(t.feature[u]);
      CALIBRISK_ASSERT(f < imp.size());
      imp[f] += type == ImportanceType::kSplit ? 1.0 : t.gain[u];
    }
  }
  return imp;
}

/// Exact path-dependent TreeSHAP contributions of a tree ensemble.
///
/// For a row x, contribution phi_j is the Shapley value of feature j for the game
/// v(S) = E[margin(x) | x_S], where the expectation over the features outside S is taken the
/// path-dependent way: at a node splitting on a feature outside S, both children are followed,
/// weighted by their share of the training cover, cover[child] / (cover[left] + cover[right])
/// (one half each when both covers are zero). Consequences (tested):
/// - additivity: sum_j phi_j + bias == margin(x) (up to rounding), where bias = v({}) is the same
///   for every row: base_score + sum over trees of the cover-weighted mean leaf value;
/// - features never used on x's paths get exactly 0;
/// - phi equals the brute-force Shapley sum over all subsets S.
/// NaN follows the tree's routing rule (the missing side) like any value; categorical nodes route
/// by their category sets (Tree::goes_left), unseen codes to the missing side.
///
/// Cost: O(n_rows * total_leaves * depth^2); memory O(depth) per thread (the path of the first
/// kShallowLevels levels is kept per level, deeper paths are rebuilt from their ancestors' steps
/// when a sibling subtree needs them; the arithmetic is the same, so results are bit-identical to
/// keeping every level's path). All methods are const and thread-safe; results are bit-identical
/// for any thread count. The recursion is as deep as the deepest tree (bounded by
/// LoadOptions::max_tree_depth for loaded models).
class TreeExplainer {
 public:
  TreeExplainer() = default;

  /// Validates and keeps a copy of the ensemble. Throws InvalidInput as TreeEnsemble::validate.
  explicit TreeExplainer(TreeEnsemble ensemble) : e_(std::move(ensemble)) {
    e_.validate("TreeExplainer");
    max_depth_ = 0;
    bias_ = e_.base_score;
    fractions_.resize(e_.trees.size());
    for (std::size_t t = 0; t < e_.trees.size(); ++t) {
      const Tree& tr = e_.trees[t];
      max_depth_ = std::max(max_depth_, tr.max_depth());
      // Share of each node in its parent's cover, computed once.
      std::vector<double>& fr = fractions_[t];
      fr.assign(static_cast<std::size_t>(tr.n_nodes()), 1.0);
      for (Index i = 0; i < tr.n_nodes(); ++i) {
        if (tr.is_leaf(i)) continue;
        const auto u = static_cast<std::size_t>(i);
        const auto l = static_cast<std::size_t>(tr.left[u]),
                   r = static_cast<std::size_t>(tr.right[u]);
        const double s = tr.cover[l] + tr.cover[r];
        fr[l] = s > 0.0 ? tr.cover[l] / s : 0.5;
        fr[r] = s > 0.0 ? tr.cover[r] / s : 0.5;
      }
      bias_ += expected_value(tr, fr, 0);
    }
  }

  Index n_features() const noexcept { return e_.n_features; }
  /// v({}) = the contribution every row shares: base_score + sum of each tree's expected output.
  double bias() const noexcept { return bias_; }
  const TreeEnsemble& ensemble() const noexcept { return e_; }

  /// Contributions of every row of X into out (n_rows, n_features + 1): column j < n_features is
  /// phi_j, the last column is `bias()`. Rows sum to the raw margin.
  /// @param X  (n_rows, n_features), float32 or float64, any strides; NaN = missing
  /// @param out (n_rows, n_features + 1) doubles, any strides; overwritten
  /// Throws InvalidInput on shape mismatch, InvalidParams on a negative n_threads.
  void contributions(const FeatureMatrix& X, MatrixView<double> out, int n_threads = 0,
                     const std::string& where = "TreeExplainer::contributions") const {
    if (X.cols() != e_.n_features) {
      throw InvalidInput(where + ": X has " + std::to_string(X.cols()) +
                         " features but the model was fitted with " +
                         std::to_string(e_.n_features) +
                         "; pass the same columns, in the same order, as at fit time.");
    }
    if (out.rows() != X.rows() || out.cols() != e_.n_features + 1) {
      throw InvalidInput(where + ": out has shape (" + std::to_string(out.rows()) + ", " +
                         std::to_string(out.cols()) + ") but (" + std::to_string(X.rows()) + ", " +
                         std::to_string(e_.n_features + 1) +
                         ") is needed: one row per sample, n_features + 1 columns (bias last).");
    }
    detail::resolve_threads(n_threads);
    X.visit([&](const auto& m) {
      using T = typename std::decay_t<decltype(m)>::value_type;
      const Index nf = e_.n_features;
      constexpr Index kChunk = 64;
      detail::parallel_blocks(m.rows(), kChunk, n_threads, [&](Index, Index lo, Index hi) {
        Scratch scratch = make_scratch();
        std::vector<T> row(static_cast<std::size_t>(nf));
        std::vector<double> phi(static_cast<std::size_t>(nf + 1));
        for (Index i = lo; i < hi; ++i) {
          for (Index j = 0; j < nf; ++j) row[static_cast<std::size_t>(j)] = m(i, j);
          contributions_row_impl(row.data(), phi.data(), scratch);
          for (Index j = 0; j <= nf; ++j) out(i, j) = phi[static_cast<std::size_t>(j)];
        }
      });
    });
  }

  /// Contributions of one contiguous row (n_features values) into phi (n_features + 1 values,
  /// bias last). Allocates its O(depth) scratch once per call.
  template <class T>
  void contributions_row(const T* row, double* phi) const {
    Scratch scratch = make_scratch();
    contributions_row_impl(row, phi, scratch);
  }

  /// Levels (from the root) whose path is kept in a slice of its own; deeper levels share one
  /// path that is rebuilt when needed. Trained trees are rarely deeper, so they never rebuild.
  static constexpr int kShallowLevels = 32;

 private:
  /// One element of the path of unique features (Lundberg et al. 2018, Algorithm 2): the
  /// feature, the fraction of "zero" paths (feature not in S) and "one" paths (feature in S)
  /// that flow through, and the permutation weight of subsets of each size.
  struct PathElement {
    std::int32_t feature;
    double zero_fraction;
    double one_fraction;
    double weight;
  };

  /// What a level of the recursion was called with: enough to rebuild its path from its
  /// parent's (EXTEND with these arguments, then UNWIND the node's feature if it is on the path).
  struct Step {
    std::int32_t node;
    int len;
    double pz;
    double po;
    std::int32_t pfeature;
  };

  /// Per-thread scratch, O(depth): level L < kShallowLevels owns the slice [L * S, (L + 1) * S)
  /// of `shallow` (S = stride; the path at level L holds at most L + 1 elements); deeper levels
  /// use `deep`, which holds the path of level `deep_level`.
  struct Scratch {
    std::vector<PathElement> shallow;
    std::vector<PathElement> deep;
    std::vector<Step> steps;
    std::size_t stride = 0;
    int deep_level = -1;
  };

  Scratch make_scratch() const {
    Scratch s;
    const int shallow_levels = std::min(max_depth_ + 1, kShallowLevels);
    s.stride = static_cast<std::size_t>(shallow_levels + 1);
    s.shallow.resize(static_cast<std::size_t>(shallow_levels) * s.stride);
    if (max_depth_ + 1 > kShallowLevels) s.deep.resize(static_cast<std::size_t>(max_depth_ + 2));
    s.steps.resize(static_cast<std::size_t>(max_depth_ + 1));
    return s;
  }

  /// The path buffer of `level`, holding a copy of the parent's path (its first `len` elements).
  static PathElement* level_path(const Tree& t, Scratch& s, int level, int len) {
    if (level < kShallowLevels) {
      PathElement* m = s.shallow.data() + static_cast<std::size_t>(level) * s.stride;
      if (level > 0) std::copy(m - s.stride, m - s.stride + len, m);
      return m;
    }
    if (level - 1 < kShallowLevels) {
      const PathElement* parent = s.shallow.data() + static_cast<std::size_t>(level - 1) * s.stride;
      std::copy(parent, parent + len, s.deep.data());
    } else if (s.deep_level != level - 1) {
      rebuild(t, s, level - 1);
    }
    s.deep_level = level;
    return s.deep.data();
  }

  /// EXTEND, then UNWIND of `f` when it is already on the path (f < 0: a leaf, no unwind).
  /// Returns the length of the path the children copy.
  static int extend_and_unwind(PathElement* m, int len, double pz, double po, std::int32_t pfeature,
                               std::int32_t f, double& iz, double& io) {
    extend(m, len, pz, po, pfeature);
    const int last = len;
    iz = 1.0;
    io = 1.0;
    if (f < 0) return last + 1;
    for (int k = 1; k <= last; ++k) {
      if (m[k].feature == f) {
        iz = m[k].zero_fraction;
        io = m[k].one_fraction;
        unwind(m, last, k);
        return last;
      }
    }
    return last + 1;
  }

  /// Recomputes into `deep` the path of the ancestor at `level` (>= kShallowLevels) from the
  /// last shallow level's path and the recorded steps: the same operations as the first time.
  static void rebuild(const Tree& t, Scratch& s, int level) {
    const Step& first = s.steps[static_cast<std::size_t>(kShallowLevels)];
    const PathElement* base =
        s.shallow.data() + static_cast<std::size_t>(kShallowLevels - 1) * s.stride;
    std::copy(base, base + first.len, s.deep.data());
    for (int l = kShallowLevels; l <= level; ++l) {
      const Step& st = s.steps[static_cast<std::size_t>(l)];
      double iz, io;
      (void)extend_and_unwind(s.deep.data(), st.len, st.pz, st.po, st.pfeature,
                              t.feature[static_cast<std::size_t>(st.node)], iz, io);
    }
    s.deep_level = level;
  }

  static double expected_value(const Tree& t, const std::vector<double>& fr, std::int32_t node) {
    const auto u = static_cast<std::size_t>(node);
    if (t.left[u] < 0) return t.value[u];
    return fr[static_cast<std::size_t>(t.left[u])] * expected_value(t, fr, t.left[u]) +
           fr[static_cast<std::size_t>(t.right[u])] * expected_value(t, fr, t.right[u]);
  }

  template <class T>
  void contributions_row_impl(const T* row, double* phi, Scratch& scratch) const {
    const Index nf = e_.n_features;
    std::fill(phi, phi + nf + 1, 0.0);
    for (std::size_t t = 0; t < e_.trees.size(); ++t) {
      scratch.deep_level = -1;
      recurse(e_.trees[t], fractions_[t], row, phi, scratch, 0, 0, 0, 1.0, 1.0, -1);
    }
    phi[nf] = bias_;
  }

  /// EXTEND: adds feature `feature` with fractions (pz, po) to the path of `len` elements.
  static void extend(PathElement* m, int len, double pz, double po, std::int32_t feature) {
    m[len] = {feature, pz, po, len == 0 ? 1.0 : 0.0};
    const double inv = 1.0 / static_cast<double>(len + 1);
    for (int i = len - 1; i >= 0; --i) {
      m[i + 1].weight += po * m[i].weight * static_cast<double>(i + 1) * inv;
      m[i].weight = pz * m[i].weight * static_cast<double>(len - i) * inv;
    }
  }

  /// UNWIND: removes element k from a path whose last index is `last` (length last + 1).
  static void unwind(PathElement* m, int last, int k) {
    const double po = m[k].one_fraction, pz = m[k].zero_fraction;
    double next = m[last].weight;
    const double n1 = static_cast<double>(last + 1);
    for (int i = last - 1; i >= 0; --i) {
      if (po != 0.0) {
        const double tmp = m[i].weight;
        m[i].weight = next * n1 / (static_cast<double>(i + 1) * po);
        next = tmp - m[i].weight * pz * static_cast<double>(last - i) / n1;
      } else {
        m[i].weight = m[i].weight * n1 / (pz * static_cast<double>(last - i));
      }
    }
    for (int i = k; i < last; ++i) {
      m[i].feature = m[i + 1].feature;
      m[i].zero_fraction = m[i + 1].zero_fraction;
      m[i].one_fraction = m[i + 1].one_fraction;
    }
  }

  /// Sum of the weights UNWIND(m, k) would leave, without modifying m.
  static double unwound_sum(const PathElement* m, int last, int k) {
    const double po = m[k].one_fraction, pz = m[k].zero_fraction;
    double next = m[last].weight, total = 0.0;
    const double n1 = static_cast<double>(last + 1);
    for (int i = last - 1; i >= 0; --i) {
      if (po != 0.0) {
        const double w = next * n1 / (static_cast<double>(i + 1) * po);
        total += w;
        next = m[i].weight - w * pz * static_cast<double>(last - i) / n1;
      } else {
        total += m[i].weight * n1 / (pz * static_cast<double>(last - i));
      }
    }
    return total;
  }

  /// RECURSE of Algorithm 2 at `node`. The parent's path (`len` elements) is copied into this
  /// level's buffer (see Scratch) and extended.
  template <class T>
  void recurse(const Tree& t, const std::vector<double>& fr, const T* row, double* phi,
               Scratch& scratch, int level, std::int32_t node, int len, double pz, double po,
               std::int32_t pfeature) const {
    PathElement* m = level_path(t, scratch, level, len);
    scratch.steps[static_cast<std::size_t>(level)] = {node, len, pz, po, pfeature};
    const auto u = static_cast<std::size_t>(node);
    const std::int32_t f = t.left[u] < 0 ? -1 : t.feature[u];
    double iz, io;
    const int new_len = extend_and_unwind(m, len, pz, po, pfeature, f, iz, io);
    if (f < 0) {
      const int last = len;  // index of the element just added
      const double v = t.value[u];
      for (int i = 1; i <= last; ++i) {
        const double w = unwound_sum(m, last, i);
        phi[m[i].feature] += w * (m[i].one_fraction - m[i].zero_fraction) * v;
      }
      return;
    }
    const double x = static_cast<double>(row[f]);
    const bool go_left = t.goes_left(node, x, e_.cardinality_of(f));
    const std::int32_t hot = go_left ? t.left[u] : t.right[u];
    const std::int32_t cold = go_left ? t.right[u] : t.left[u];
    // A feature already on the path was removed by extend_and_unwind and its fractions (iz, io)
    // are carried on (Algorithm 2).
    const double hz = iz * fr[static_cast<std::size_t>(hot)];
    const double cz = iz * fr[static_cast<std::size_t>(cold)];
    // A child reached by no "zero" and no "one" paths contributes nothing (and unwinding it would
    // divide by zero), so it is skipped.
    if (hz > 0.0 || io > 0.0) recurse(t, fr, row, phi, scratch, level + 1, hot, new_len, hz, io, f);
    if (cz > 0.0) recurse(t, fr, row, phi, scratch, level + 1, cold, new_len, cz, 0.0, f);
  }

  TreeEnsemble e_;
  std::vector<std::vector<double>>
      fractions_;  ///< per tree: cover share of each node in its parent
  int max_depth_ = 0;
  double bias_ = 0.0;
};

}  // namespace calibrisk
