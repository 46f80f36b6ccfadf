// SPDX-License-Identifier: Apache-2.0
// The bootstrap's resampler (internal): one replicate's multiplicities per row, drawn from strata
// of sampling units, a unit being a row or a group of rows (a patient, resampled whole). Shared by
// the binary `bootstrap` (rows = sorted positions) and `multiclass_bootstrap` (rows = input rows),
// so both draw the same way.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/random.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::metrics::detail {

/// Draws one replicate's multiplicities into `mult` (size n, overwritten).
struct Resampler {
  // strata: lists of sampling units; a unit is a row, or a group (rows in CSR form).
  std::vector<std::vector<std::uint32_t>> strata;
  std::vector<std::size_t> group_start;   // CSR over groups (empty when not grouped)
  std::vector<std::uint32_t> group_rows;  // rows of each group, ascending

  void draw(Rng& rng, std::vector<double>& mult) const {
    std::fill(mult.begin(), mult.end(), 0.0);
    const bool grouped = !group_start.empty();
    for (const auto& units : strata) {
      const std::uint64_t m = units.size();
      for (std::uint64_t d = 0; d < m; ++d) {
        const std::uint32_t u = units[rng.below(m)];
        if (!grouped) {
          mult[u] += 1.0;
        } else {
          for (std::size_t k = group_start[u]; k < group_start[u + 1]; ++k)
            mult[group_rows[k]] += 1.0;
        }
      }
    }
  }
};

/// A resampler over rows 0..n-1. `row_stratum(k)` is row k's stratum in [0, n_strata).
/// Without `keys`, the units are the rows, each in its row's stratum. With `keys` (one group key
/// per row), the units are the groups of equal keys in ascending key order (deterministic,
/// independent of hashing) and `group_stratum(rows, count)` gives a group's stratum from its rows
/// (ascending). Not `stratified`: one stratum of every unit. Strata without a unit are dropped;
/// the others are drawn in stratum order, each from as many units as it has.
template <class RowStratum, class GroupStratum>
Resampler make_resampler(Index n, int n_strata, bool stratified,
                         const std::vector<std::int64_t>* keys, RowStratum row_stratum,
                         GroupStratum group_stratum) {
  Resampler r;
  const auto strata_count = static_cast<std::size_t>(stratified ? n_strata : 1);
  r.strata.resize(strata_count);
  if (keys == nullptr) {
    for (Index k = 0; k < n; ++k) {
      r.strata[stratified ? static_cast<std::size_t>(row_stratum(k)) : 0].push_back(
          static_cast<std::uint32_t>(k));
    }
  } else {
    std::vector<std::int64_t> uniq = *keys;
    std::sort(uniq.begin(), uniq.end());
    uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
    const std::size_t G = uniq.size();
    std::vector<std::uint32_t> gid(static_cast<std::size_t>(n));
    r.group_start.assign(G + 1, 0);
    for (Index k = 0; k < n; ++k) {
      const auto u = static_cast<std::size_t>(k);
      gid[u] = static_cast<std::uint32_t>(std::lower_bound(uniq.begin(), uniq.end(), (*keys)[u]) -
                                          uniq.begin());
      ++r.group_start[gid[u] + 1];
    }
    for (std::size_t g = 0; g < G; ++g) r.group_start[g + 1] += r.group_start[g];
    r.group_rows.resize(static_cast<std::size_t>(n));
    std::vector<std::size_t> fill(r.group_start.begin(), r.group_start.end() - 1);
    for (Index k = 0; k < n; ++k)
      r.group_rows[fill[gid[static_cast<std::size_t>(k)]]++] = static_cast<std::uint32_t>(k);
    for (std::size_t g = 0; g < G; ++g) {
      const std::size_t s =
          stratified
              ? static_cast<std::size_t>(group_stratum(&r.group_rows[r.group_start[g]],
                                                       r.group_start[g + 1] - r.group_start[g]))
              : 0;
      r.strata[s].push_back(static_cast<std::uint32_t>(g));
    }
  }
  r.strata.erase(std::remove_if(r.strata.begin(), r.strata.end(),
                                [](const std::vector<std::uint32_t>& s) { return s.empty(); }),
                 r.strata.end());
  return r;
}

/// One group key per row from `groups`, checked against the row count n.
inline std::vector<std::int64_t> group_keys(VectorView<const std::int64_t> groups, Index n,
                                            const std::string& where) {
  if (groups.size() != n) {
    throw InvalidInput(where + ": groups has " + std::to_string(groups.size()) +
                       " values but y has " + std::to_string(n) + "; pass one group key per row.");
  }
  std::vector<std::int64_t> keys(static_cast<std::size_t>(n));
  for (Index k = 0; k < n; ++k) keys[static_cast<std::size_t>(k)] = groups[k];
  return keys;
}

}  // namespace calibrisk::metrics::detail
