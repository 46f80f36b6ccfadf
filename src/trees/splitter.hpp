// SPDX-License-Identifier: Apache-2.0
// Stage 3 of tree training: the best split of a leaf from its histogram (second-order gain,
// learned missing-value direction, minimum-leaf rules, monotonic constraints).
#pragma once

#include "trees/binning.hpp"
#include "trees/histogram.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace calibrisk {
namespace detail {

/// Regularisation and minimum-leaf rules of split finding.
struct SplitRules {
  double l2 = 0.0;                 ///< l2_regularization (lambda), >= 0.
  double min_gain = 0.0;           ///< A split is taken only when gain > min_gain.
  double min_child_weight = 1e-3;  ///< Minimum hessian sum of each child.
  double min_samples_leaf = 20;    ///< Minimum row count of each child.
  // Categorical splits (GBDTParams fields of the same names).
  double cat_smooth = 10.0;    ///< Added to H in the sort statistic G / (H + cat_smooth).
  double cat_l2 = 10.0;        ///< Extra L2 in the gain of a sorted-partition split.
  int max_cat_threshold = 32;  ///< Most bins on the smaller side of a sorted-partition split.
  int max_cat_to_onehot = 4;   ///< Features with at most this many value bins: one-vs-rest.
  // Fixed-point units of the histogram sums (GradScale of the fit): real G = g_unit * sum.g.
  double g_unit = 1.0;  ///< Real value of one gradient unit.
  double h_unit = 1.0;  ///< Real value of one hessian unit.
};

/// Sums of a set of rows as real numbers: the exact integer sums of a histogram slot (or of a
/// leaf) times the fixed-point units. Every gain and leaf output is computed from these, so the
/// only rounding between the rows' quantised gradients and a split decision is this conversion.
struct RealSums {
  double g = 0.0, h = 0.0, n = 0.0;
};

inline RealSums real_sums(const HistBin& b, const SplitRules& r) noexcept {
  return {static_cast<double>(b.g) * r.g_unit, static_cast<double>(b.h) * r.h_unit,
          static_cast<double>(b.n)};
}

/// A set of value bins of a categorical feature (at most 255 value bins), bit b = bin b.
struct BinSet {
  std::array<std::uint64_t, 4> w{};
  bool test(int b) const noexcept {
    return ((w[static_cast<unsigned>(b) >> 6] >> (b & 63)) & 1u) != 0;
  }
  void set(int b) noexcept { w[static_cast<unsigned>(b) >> 6] |= std::uint64_t{1} << (b & 63); }
};

/// Range the (unscaled) output of a leaf must stay in; narrowed below monotone splits.
struct LeafBounds {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
};

/// The best split found for a leaf. Rows with code <= bin go left (categorical: code in
/// `cat_left`); the missing bin goes left when missing_left. `left`/`right` are the children's
/// exact integer sums (missing rows included).
struct SplitInfo {
  bool valid = false;
  bool categorical = false;  ///< A category-set split: `cat_left` holds the bins going left.
  BinSet cat_left;           ///< Never holds the pooled bin nor bins empty in the leaf.
  double gain = -std::numeric_limits<double>::infinity();
  std::int32_t feature = -1;
  std::int32_t bin = -1;
  bool missing_left = false;
  HistBin left, right;
  double left_value = 0.0;   ///< Unscaled, bounded output of the left child.
  double right_value = 0.0;  ///< Unscaled, bounded output of the right child.
};

/// Newton step -G / (H + l2) of a leaf, clipped to the bounds (0 when H + l2 <= 0). Inline, as
/// output_gain: the split scan calls both for every candidate.
inline double leaf_output(double g, double h, double l2, const LeafBounds& b) noexcept {
  const double d = h + l2;
  if (!(d > 0.0)) return 0.0;
  return std::clamp(-g / d, b.lower, b.upper);
}

/// Reduction of the second-order loss achieved by output w: -(2 G w + (H + l2) w^2); equals
/// G^2 / (H + l2) at the unconstrained optimum (LightGBM's gain, without XGBoost's 1/2).
inline double output_gain(double g, double h, double l2, double w) noexcept {
  return -(2.0 * g * w + (h + l2) * w * w);
}

/// output_gain of a leaf with sums `total` at its own (bounded) output: the baseline every split
/// gain is measured against.
double parent_gain(const HistBin& total, const SplitRules& rules,
                   const LeafBounds& bounds) noexcept;

/// The best split of one feature `f` (see `find_best_split`); invalid when none qualifies.
/// `mono` is the feature's monotonic constraint (-1, 0, +1).
SplitInfo best_split_of_feature(const BinMapper& mapper, const HistBin* hist, const HistBin& total,
                                std::int32_t f, const SplitRules& rules, int mono,
                                const LeafBounds& bounds, double parent_gain);

/// The best category-set split of categorical feature `f` (see docs/trees.md, "Categorical
/// features"): one-vs-rest when the feature has <= max_cat_to_onehot value bins, else the
/// LightGBM / scikit-learn HGB partition: the leaf's value bins with >= cat_smooth rows sorted by
/// G / (H + cat_smooth) (ties: lower bin first), prefixes of 1..min(max_cat_threshold, m / 2)
/// bins scanned from the low end and then from the high end, gain with l2 + cat_l2. Each
/// candidate is tried with missing rows right, then left (or, without missing rows in the leaf,
/// missing follows the child with more hessian); a last candidate sends every value left and
/// missing right. Strictly larger gain wins, so the first candidate in this order keeps a tie.
/// The result is normalised so the pooled bin (and every bin empty in the leaf) goes right.
SplitInfo best_categorical_split(const BinMapper& mapper, const HistBin* hist, const HistBin& total,
                                 std::int32_t f, const SplitRules& rules, const LeafBounds& bounds,
                                 double parent_gain);

/// Whether split candidate `a` beats the best so far `b` when candidates are visited in feature
/// order: strictly larger gain (so ties keep the lower feature).
inline bool better_split(const SplitInfo& a, const SplitInfo& b) noexcept {
  return a.valid && a.gain > b.gain;
}

/// Scans every value threshold of every feature in `features` and both directions of the missing
/// bin (when the leaf has missing rows; otherwise missing rows at prediction follow the child with
/// the larger hessian sum), and returns the split with the largest gain
/// gain = output_gain(left) + output_gain(right) - output_gain(parent)
/// subject to the minimum-leaf rules and, for a feature with `monotone[f] = +1/-1`, left output
/// <= / >= right output. A last candidate sends all non-missing rows left and missing rows right.
/// Ties go to the lower feature, then the lower bin, then missing-right: deterministic.
/// `hist` is the leaf's flat histogram; `total` its sums. `monotone` may be null.
SplitInfo find_best_split(const BinMapper& mapper, const HistBin* hist, const HistBin& total,
                          const std::int32_t* features, Index n_features, const SplitRules& rules,
                          const std::int8_t* monotone, const LeafBounds& bounds, int n_threads);

}  // namespace detail
}  // namespace calibrisk
