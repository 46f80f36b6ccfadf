// SPDX-License-Identifier: Apache-2.0
/// @file sorted_scores.hpp
/// Labels, scores and weights sorted once by decreasing score: the shared input of every ranking,
/// curve, calibration and threshold computation, and of the bootstrap (which reuses the sort).
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::metrics {

namespace detail {

/// Weight accessors used by the kernels: the base sample weight times an optional per-position
/// multiplicity (bootstrap replicate weights). Four flavours so the unweighted path has no loads.
struct UnitWeight {
  double operator()(Index) const noexcept { return 1.0; }
};
struct ArrayWeight {
  const double* w;
  double operator()(Index i) const noexcept { return w[i]; }
};
struct ProductWeight {
  const double* w;
  const double* m;
  double operator()(Index i) const noexcept { return w[i] * m[i]; }
};

inline void check_same_length(Index n_y, Index n_p, const std::string& where,
                              const char* score_name) {
  if (n_y != n_p) {
    throw InvalidInput(where + ": y has " + std::to_string(n_y) + " values but " + score_name +
                       " has " + std::to_string(n_p) + "; pass one score per label.");
  }
  if (n_y == 0) throw InvalidInput(where + ": y is empty; pass at least one sample.");
}

/// Labels must be 0/1 (any class mix allowed here; metrics check what they need).
inline void check_labels(VectorView<const double> y, const std::string& where) {
  for (Index i = 0; i < y.size(); ++i) {
    const double v = y[i];
    if (v != 0.0 && v != 1.0) {
      throw InvalidInput(where + ": y[" + std::to_string(i) + "] is " +
                         calibrisk::detail::fmt_value(v) +
                         "; labels must be 0 or 1 (encode the positive class as 1).");
    }
  }
}

/// Scores must be finite (NaN or +-inf are rejected with their position).
inline void check_scores(VectorView<const double> p, const std::string& where,
                         const char* score_name) {
  for (Index i = 0; i < p.size(); ++i) {
    if (!std::isfinite(p[i])) {
      throw InvalidInput(where + ": " + score_name + "[" + std::to_string(i) + "] is " +
                         calibrisk::detail::fmt_value(p[i]) +
                         "; scores must be finite (impute or drop rows with NaN predictions).");
    }
  }
}

/// Sample weights: empty, or finite, >= 0, one per row, not all zero.
inline void check_weights(VectorView<const double> w, Index n, const std::string& where) {
  if (w.empty()) return;
  if (w.size() != n) {
    throw InvalidInput(where + ": sample_weight has " + std::to_string(w.size()) +
                       " values but y has " + std::to_string(n) + "; pass one weight per row.");
  }
  calibrisk::validate_sample_weight(w, n, where);
}

}  // namespace detail

/// Labels, scores and sample weights sorted once by decreasing score.
///
/// Every metric of this module has an overload taking a `SortedScores`, so a report or a bootstrap
/// sorts once and computes many metrics in O(n) passes. Ties are kept adjacent (a *block* is a run
/// of equal scores; -0.0 and +0.0 are the same score). Within a block, rows keep their original
/// order (the sort is stable), so everything computed from it is deterministic.
///
/// - `y`: n labels, each 0 or 1 (one class only is allowed here; metrics that need both classes
///   check it themselves and say so).
/// - `scores`: n finite values (probabilities or raw margins). `is_probability()` tells whether
///   all of them lie in [0, 1]; metrics that need probabilities throw InvalidInput otherwise.
/// - `sample_weight`: empty (all ones) or n finite weights >= 0, not all zero.
///
/// Throws InvalidInput (naming `where`, the offending index and value) on mismatched lengths, an
/// empty input, labels other than 0/1, NaN or infinite scores, negative/non-finite/all-zero
/// weights. Complexity: O(n) time with an LSD radix sort (compiled in the library) on the bit
/// pattern of the doubles (falls back to at most 2^31 - 1 rows), about 24n bytes of scratch during
/// the sort. Construction is single-threaded; a constructed object is immutable and safe to share
/// between threads.
class SortedScores {
 public:
  SortedScores() = default;
  SortedScores(VectorView<const double> y, VectorView<const double> scores,
               VectorView<const double> sample_weight = {},
               const std::string& where = "SortedScores");

  Index size() const noexcept { return static_cast<Index>(score_.size()); }
  /// Scores in decreasing order.
  const std::vector<double>& score() const noexcept { return score_; }
  /// Labels (0/1) aligned with `score()`.
  const std::vector<std::uint8_t>& label() const noexcept { return label_; }
  /// Sample weights aligned with `score()`; empty when none were given (all ones).
  const std::vector<double>& weight() const noexcept { return weight_; }
  /// `order()[k]` is the original row of sorted position k.
  const std::vector<std::uint32_t>& order() const noexcept { return order_; }
  bool has_weights() const noexcept { return !weight_.empty(); }
  /// True when every score lies in [0, 1].
  bool is_probability() const noexcept {
    return score_.empty() || (score_.back() >= 0.0 && score_.front() <= 1.0);
  }
  /// Total weight of positives / negatives (counts when unweighted).
  double positive_weight() const noexcept { return w1_; }
  double negative_weight() const noexcept { return w0_; }
  /// Number of rows with label 1 / 0 (regardless of weights).
  Index n_positive() const noexcept { return n1_; }
  Index n_negative() const noexcept { return size() - n1_; }

  /// Calls `fn(weight_accessor)` with the cheapest accessor for "sample weight x multiplicity".
  /// `multiplicity` is null (all ones) or `size()` values aligned with the sorted order.
  template <class Fn>
  decltype(auto) visit_weights(const double* multiplicity, Fn&& fn) const {
    if (multiplicity == nullptr) {
      if (weight_.empty()) return fn(detail::UnitWeight{});
      return fn(detail::ArrayWeight{weight_.data()});
    }
    if (weight_.empty()) return fn(detail::ArrayWeight{multiplicity});
    return fn(detail::ProductWeight{weight_.data(), multiplicity});
  }

  /// Throws InvalidInput unless every score is in [0, 1] (for metrics that need probabilities).
  void require_probabilities(const std::string& where) const {
    if (!is_probability()) {
      const double bad = score_.front() > 1.0 ? score_.front() : score_.back();
      throw InvalidInput(where + ": probabilities must lie in [0, 1], got " +
                         calibrisk::detail::fmt_value(bad) +
                         "; pass predict_proba output (or calibrate raw scores first).");
    }
  }
  /// Throws InvalidInput unless both classes have positive total weight.
  void require_both_classes(const std::string& where) const {
    if (!(w1_ > 0.0) || !(w0_ > 0.0)) {
      throw InvalidInput(where + ": y contains only class " + (w1_ > 0.0 ? "1" : "0") +
                         " (with positive weight); this metric needs both classes 0 and 1.");
    }
  }

 private:
  static constexpr std::uint32_t kLabelBit = 0x80000000u;
  static constexpr std::uint32_t kMaxRows = 0x7FFFFFFFu;

  void build(VectorView<const double> y, VectorView<const double> s, VectorView<const double> w);

  std::vector<double> score_;
  std::vector<std::uint8_t> label_;
  std::vector<double> weight_;
  std::vector<std::uint32_t> order_;
  double w0_ = 0.0;
  double w1_ = 0.0;
  Index n1_ = 0;
};

namespace detail {

/// Walks the tie blocks of `s` (runs of equal scores) in decreasing score order: for each block,
/// calls `fn(bp, bn, last)` with the block's summed weight of positives `bp` and of negatives `bn`
/// (weights from the accessor `w`, summed in sorted order) and the sorted position `last` of its
/// final row (so `s.score()[last]` is the block's score). Blocks whose rows all have zero weight
/// are visited too (bp = bn = 0). O(n); `fn` is inlined, so the kernels stay a single loop.
template <class W, class Fn>
void for_each_tie_block(const SortedScores& s, W w, Fn&& fn) {
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  const Index n = s.size();
  double bp = 0.0, bn = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double wi = w(i);
    if (y[i])
      bp += wi;
    else
      bn += wi;
    if (i + 1 == n || sc[i + 1] != sc[i]) {
      fn(bp, bn, i);
      bp = bn = 0.0;
    }
  }
}

}  // namespace detail

}  // namespace calibrisk::metrics
