// SPDX-License-Identifier: Apache-2.0
/// @file bundling.hpp
/// Exclusive feature bundling (Ke et al. 2017, LightGBM's EFB), exact form: features that are never
/// away from their default bin in the same row share one 8-bit code column, so a histogram of a
/// one-hot block costs one pass over one column instead of one per level.
#pragma once

#include <calibrisk/core/matrix.hpp>
#include "trees/binning.hpp"

#include <cstdint>
#include <vector>

namespace calibrisk {
namespace detail {

/// Bundles of mutually exclusive features and their code columns.
///
/// Every member f of a bundle has a default bin `default_bin[f]` (which the histogram builder
/// never accumulates but derives from the leaf total): its dominant bin, or, for a feature whose
/// dominant bin holds rows of the other members (the majority level of a one-hot block), its
/// second most frequent bin (see `make_bundles`). In each row at most one
/// member is off its default bin (exact bundling: no conflicts); the bundle's code of the row is
/// then 0 when every member is at its default, else `first[m] + rank` where m is the member off
/// its default and rank the position of its bin among its non-default bins, in bin order. Bundle
/// code c (> 0) therefore stands for one flat-histogram slot `slot[code_offset[b] + c]`, and the
/// histogram of a member's non-default bins is the bundle histogram read through `slot`: the same
/// rows added in the same order, so a bundled histogram is bit-identical to the unbundled one.
struct FeatureBundles {
  struct Bundle {
    std::vector<std::int32_t> features;  ///< Members, ascending (>= 2).
    std::vector<std::int32_t> first;     ///< Per member: its first code.
    int n_codes = 1;                     ///< 1 + the members' non-default bins (<= 256).
    /// Code 0 holds >= 7/8 of the rows: the histogram skips it (a test per row, mispredicted
    /// too often below that share, where adding every row into an unused slot is cheaper).
    bool sparse = false;
  };
  Index n_rows = 0;
  std::vector<Bundle> bundles;
  std::vector<std::int32_t> bundle_of;    ///< Per feature: its bundle, or -1.
  std::vector<std::int32_t> default_bin;  ///< Per feature: its default bin in its bundle, or -1.
  std::vector<std::uint8_t> codes;        ///< Column-major codes, n_rows per bundle.
  std::vector<Index> code_offset;         ///< Per bundle: first entry of its codes in `slot`.
  std::vector<std::uint32_t> slot;        ///< Flat-histogram slot of each bundle code (0: unused).

  bool empty() const noexcept { return bundles.empty(); }
  const std::uint8_t* col(Index b) const noexcept {
    return codes.data() + static_cast<std::size_t>(b * n_rows);
  }
  /// Number of features in bundles.
  Index n_bundled() const noexcept;
};

/// Greedy exact bundling of the candidate features: those with `default_bin[f] >= 0` whose rows
/// off the default bin are at most `max_share` of all rows (denser ones rarely fit with anything).
/// Candidates are taken by decreasing count of non-default rows (ties: lower feature first); each
/// joins the first existing bundle where it conflicts in no row and the codes stay <= 256, else
/// starts a new one (LightGBM's greedy order, with the conflict budget at zero). Then each
/// candidate still alone in its bundle tries, by ascending feature, its second most frequent bin
/// as default instead (ties: lower bin): its non-default rows become those of its dominant bin,
/// and it joins the first other bundle where that conflicts in no row (so a one-hot block's
/// majority level joins the bundle of its sibling levels; LightGBM reaches the same by taking
/// the zero bin as default). Bundles of one feature are dropped. Depends on the binned data only:
/// the same for any thread count. Cost O(sum of non-default rows * bundles tried) plus one pass
/// over each candidate column.
FeatureBundles make_bundles(const BinnedMatrix& bins, const BinMapper& mapper,
                            const std::vector<std::int32_t>& default_bin, double max_share,
                            int n_threads);

/// The skip bins a histogram build with bundles `fb` needs: each bundled feature's default bin
/// in its bundle, every other feature's `dominant[f]` (-1: none).
std::vector<std::int32_t> bundle_skip_bins(const FeatureBundles& fb,
                                           const std::vector<std::int32_t>& dominant);

}  // namespace detail
}  // namespace calibrisk
