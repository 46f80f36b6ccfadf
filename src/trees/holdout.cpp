// SPDX-License-Identifier: Apache-2.0
// The hashed, stratified early-stopping hold-out (see holdout.hpp).
#include "trees/holdout.hpp"

#include "trees/binning.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace calibrisk {
namespace detail {

std::uint64_t holdout_key(std::uint64_t seed, Index row) noexcept {
  constexpr std::uint64_t kStream = 0x486F6C644F757421ULL;  // "HoldOut!": not the bin sample's
  return bin_sample_key(seed ^ kStream, row);
}

Index holdout_count(Index n, double fraction) noexcept {
  Index k = static_cast<Index>(std::llround(fraction * static_cast<double>(n)));
  return std::min(std::max<Index>(k, n >= 2 ? 1 : 0), std::max<Index>(n - 1, 0));
}

std::vector<Index> holdout_bottom_k(std::vector<Index> rows, Index k, std::uint64_t seed) {
  if (k <= 0) return {};
  std::vector<std::pair<std::uint64_t, Index>> keyed(rows.size());
  for (std::size_t q = 0; q < rows.size(); ++q) keyed[q] = {holdout_key(seed, rows[q]), rows[q]};
  if (static_cast<Index>(keyed.size()) > k) {
    std::nth_element(keyed.begin(), keyed.begin() + (k - 1), keyed.end());
    keyed.resize(static_cast<std::size_t>(k));
  }
  std::vector<Index> out(keyed.size());
  for (std::size_t q = 0; q < keyed.size(); ++q) out[q] = keyed[q].second;
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// The hold-out of rows grouped by class (cls[c]: the rows of class c, ascending).
Holdout holdout_of(const std::vector<std::vector<Index>>& cls, Index n, double fraction,
                   std::uint64_t seed) {
  Holdout h;
  for (const auto& rows : cls) {
    const std::vector<Index> v =
        holdout_bottom_k(rows, holdout_count(static_cast<Index>(rows.size()), fraction), seed);
    h.valid.insert(h.valid.end(), v.begin(), v.end());
  }
  std::sort(h.valid.begin(), h.valid.end());
  h.train.reserve(static_cast<std::size_t>(n) - h.valid.size());
  std::size_t q = 0;
  for (Index i = 0; i < n; ++i) {
    if (q < h.valid.size() && h.valid[q] == i) {
      ++q;
    } else {
      h.train.push_back(i);
    }
  }
  return h;
}

}  // namespace

Holdout hashed_holdout(VectorView<const double> y, double fraction, std::uint64_t seed) {
  std::vector<std::vector<Index>> cls(2);
  for (Index i = 0; i < y.size(); ++i) cls[y[i] == 1.0 ? 1 : 0].push_back(i);
  return holdout_of(cls, y.size(), fraction, seed);
}

Holdout hashed_holdout_classes(VectorView<const double> y, int K, double fraction,
                               std::uint64_t seed) {
  std::vector<std::vector<Index>> cls(static_cast<std::size_t>(std::max(K, 0)));
  for (Index i = 0; i < y.size(); ++i) cls[static_cast<std::size_t>(y[i])].push_back(i);
  return holdout_of(cls, y.size(), fraction, seed);
}

}  // namespace detail
}  // namespace calibrisk
