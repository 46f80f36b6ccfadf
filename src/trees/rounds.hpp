// SPDX-License-Identifier: Apache-2.0
// What a boosting round draws and sums, shared by the single-process booster and the distributed
// driver (trees/distributed.hpp): the row bag and feature subsample of a round, the grower's
// parameters, the log-loss, and exact (order-independent) sums of doubles.
#pragma once

#include <calibrisk/trees/booster.hpp>

#include "trees/grower.hpp"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace calibrisk {
namespace detail {

/// log(1 + exp(-|m|)) + max(m, 0) - y m: the log-loss of margin m, stable for any m.
inline double margin_log_loss(double y, double m) noexcept {
  return std::log1p(std::exp(-std::abs(m))) + std::max(m, 0.0) - y * m;
}

/// The grower's parameters of a fit with fixed-point scale `scale`.
GrowerParams grower_params(const GBDTParams& p, const GradScale& scale, int n_threads);

/// Refuses, before any work, a fit of `n_train` rows whose trees could grow more than
/// p.max_model_nodes nodes (InvalidParams naming the limit), as GradientBoostedTrees::fit does.
void check_model_size(const GBDTParams& p, Index n_train);

/// The class multipliers (class 0, class 1) of a binary fit from the class counts of the training
/// rows: class_weight (balanced: n / (2 n_c)), with scale_pos_weight on class 1.
std::pair<double, double> binary_class_multipliers(const GBDTParams& p, Index n0, Index n1);

/// The row-bag key of the row with global index `row` in round `round`: a 64-bit hash of (seed,
/// round, row). With subsample < 1, a row is in the round's bag when the key's top 53 bits, as a
/// fraction of 2^53, are below subsample (`in_bag`); so whether a row is drawn depends only on
/// its global index, never on the partitioning of the rows.
std::uint64_t bag_key(std::uint64_t seed, int round, Index row) noexcept;
inline bool in_bag(std::uint64_t key, double subsample) noexcept {
  return static_cast<double>(key >> 11) * 0x1.0p-53 < subsample;
}

/// The rows of round t's bag among the ascending global rows `train_rows`; when the draw is empty
/// (tiny data, tiny subsample), the row with the smallest bag key.
void bag_rows(const GBDTParams& p, int t, const std::vector<Index>& train_rows,
              std::vector<RowIndex>& rows);

/// Feature subsample of tree t (colsample_bytree, seeded per tree), ascending: data-independent.
void sample_features(const GBDTParams& p, int t, const std::vector<std::int32_t>& allowed,
                     std::vector<std::int32_t>& feats);

/// The exact sum of doubles, rounded once (Shewchuk 1997's non-overlapping partials, finished as
/// Python's math.fsum: the correctly rounded sum). The result depends only on the multiset of
/// terms, never on their order or grouping, and two sums merge exactly (`add(const ExactSum&)`),
/// so a sum split across threads or machines gives the same bits. Terms must be finite.
class ExactSum {
 public:
  void add(double x) {
    std::size_t i = 0;
    for (double y : p_) {
      if (std::abs(x) < std::abs(y)) std::swap(x, y);
      const double hi = x + y;
      const double lo = y - (hi - x);
      if (lo != 0.0) p_[i++] = lo;
      x = hi;
    }
    p_.resize(i);
    p_.push_back(x);
  }
  void add(const ExactSum& other) {
    for (const double v : other.p_) add(v);
  }
  /// The correctly rounded value of the sum (0 for no terms).
  double value() const noexcept {
    std::size_t n = p_.size();
    if (n == 0) return 0.0;
    double hi = p_[--n], lo = 0.0;
    while (n > 0) {
      const double x = hi;
      const double y = p_[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo != 0.0) break;
    }
    // Round half to even across the remaining partials (fsum's correction).
    if (n > 0 && ((lo < 0.0 && p_[n - 1] < 0.0) || (lo > 0.0 && p_[n - 1] > 0.0))) {
      const double y = lo * 2.0;
      const double x = hi + y;
      if (y == x - hi) hi = x;
    }
    return hi;
  }
  /// The partials (non-overlapping, increasing magnitude): an exact representation of the sum.
  const std::vector<double>& partials() const noexcept { return p_; }

 private:
  std::vector<double> p_;
};

}  // namespace detail
}  // namespace calibrisk
