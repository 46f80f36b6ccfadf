// SPDX-License-Identifier: Apache-2.0
// The early-stopping hold-out of a tree fit without a validation set (docs/trees.md, "Early
// stopping"): stratified by class, drawn by a rule that depends only on (seed, global row index),
// so a distributed fit (docs/distributed.md) draws the same rows from any partitioning.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include <calibrisk/split/split.hpp>

#include <cstdint>
#include <vector>

namespace calibrisk {
namespace detail {

/// The hold-out key of global row `row`: bin_sample_key on a seed stream of its own.
std::uint64_t holdout_key(std::uint64_t seed, Index row) noexcept;

/// Validation rows of a class with n rows: round(fraction * n), at least 1 when n >= 2, and at
/// most n - 1 (one row of each class stays in training).
Index holdout_count(Index n, double fraction) noexcept;

/// Of the global rows `rows` (all of one class), the k with the smallest (holdout_key, row),
/// ascending (none when k <= 0). Mergeable as the bin sample: the bottom-k of the union of any
/// parts' bottom-k is the bottom-k of all rows.
std::vector<Index> holdout_bottom_k(std::vector<Index> rows, Index k, std::uint64_t seed);

/// The stratified hold-out of labels y (0/1): per class c, the holdout_count(n_c, fraction) rows
/// of class c with the smallest (holdout_key, row) are validation rows; the rest train. Both
/// lists ascending.
Holdout hashed_holdout(VectorView<const double> y, double fraction, std::uint64_t seed);

/// hashed_holdout for labels that are class indices 0..K-1 (softmax fits): the same rule per
/// class (for K = 2 and labels 0/1, the same rows as hashed_holdout).
Holdout hashed_holdout_classes(VectorView<const double> y, int K, double fraction,
                               std::uint64_t seed);

}  // namespace detail
}  // namespace calibrisk
