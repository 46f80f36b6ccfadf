// SPDX-License-Identifier: Apache-2.0
// Exact exclusive feature bundling: greedy grouping of features that are never off their default
// bin in the same row, and the bundles' 8-bit code columns.
#include "trees/bundling.hpp"

#include <calibrisk/core/parallel.hpp>

#include <algorithm>

namespace calibrisk {
namespace detail {

Index FeatureBundles::n_bundled() const noexcept {
  Index k = 0;
  for (const Bundle& b : bundles) k += static_cast<Index>(b.features.size());
  return k;
}

namespace {

constexpr int kMaxCodes = 256;         // 8-bit bundle codes
constexpr std::size_t kMaxOpen = 128;  // bundles a feature is tried against (bounds the search)

struct OpenBundle {
  std::vector<std::int32_t> features;
  int n_codes = 1;
  std::vector<std::uint64_t> used;  // rows where a member is off its default bin
};

// Rows of column `col` off bin `def`, as a bitmask of n rows (64 per word): the conflict tests
// and marks below are then word-wise ANDs and ORs instead of a pass over the column each.
template <class Code>
void off_default_mask(const Code* col, Index n, int def, std::vector<std::uint64_t>& mask) {
  mask.assign(static_cast<std::size_t>((n + 63) / 64), 0);
  for (Index w = 0; w * 64 < n; ++w) {
    const Index lo = w * 64, hi = std::min(n, lo + 64);
    std::uint64_t bits = 0;
    for (Index i = lo; i < hi; ++i) bits |= std::uint64_t{col[i] != def} << (i - lo);
    mask[static_cast<std::size_t>(w)] = bits;
  }
}

bool conflicts(const std::vector<std::uint64_t>& mask, const std::vector<std::uint64_t>& used) {
  for (std::size_t w = 0; w < mask.size(); ++w) {
    if (mask[w] & used[w]) return true;
  }
  return false;
}

void mark(const std::vector<std::uint64_t>& mask, std::vector<std::uint64_t>& used) {
  for (std::size_t w = 0; w < mask.size(); ++w) used[w] |= mask[w];
}

template <class Code>
void encode(const Code* col, Index n, int def, int first, std::uint8_t* out) {
  for (Index i = 0; i < n; ++i) {
    const int c = col[i];
    if (c != def) out[i] = static_cast<std::uint8_t>(first + (c < def ? c : c - 1));
  }
}

// The greedy pass over the candidates (by decreasing non-default count), on column `Code`s;
// def_of[f] receives the default bin each feature joined with.
template <class Code>
std::vector<OpenBundle> greedy(const Code* (*col_of)(const BinnedMatrix&, Index),
                               const BinnedMatrix& bins, const BinMapper& mapper,
                               const std::vector<std::int32_t>& default_bin,
                               const std::vector<std::int32_t>& candidates,
                               std::vector<std::int32_t>& def_of) {
  const Index n = bins.n_rows;
  std::vector<OpenBundle> open;
  std::vector<std::uint64_t> mask;
  for (const std::int32_t f : candidates) {
    const int def = default_bin[static_cast<std::size_t>(f)];
    const int extra = mapper.n_value_bins(f);  // its bins other than the default one
    off_default_mask(col_of(bins, f), n, def, mask);
    OpenBundle* home = nullptr;
    for (OpenBundle& o : open) {
      if (o.n_codes + extra <= kMaxCodes && !conflicts(mask, o.used)) {
        home = &o;
        break;
      }
    }
    if (home == nullptr) {
      if (open.size() >= kMaxOpen) continue;
      open.emplace_back();
      open.back().used.assign(static_cast<std::size_t>((n + 63) / 64), 0);
      home = &open.back();
    }
    home->features.push_back(f);
    home->n_codes += extra;
    mark(mask, home->used);
    def_of[static_cast<std::size_t>(f)] = def;
  }
  return open;
}

// The second most frequent bin of column f (ties: lower bin), -1 when only one bin occurs.
template <class Code>
int second_bin(const Code* col, Index n, int n_bins, int dominant) {
  std::vector<Index> count(static_cast<std::size_t>(n_bins), 0);
  for (Index i = 0; i < n; ++i) ++count[static_cast<std::size_t>(col[i])];
  int best = -1;
  for (int b = 0; b < n_bins; ++b) {
    if (b == dominant || count[static_cast<std::size_t>(b)] == 0) continue;
    if (best < 0 || count[static_cast<std::size_t>(b)] > count[static_cast<std::size_t>(best)]) {
      best = b;
    }
  }
  return best;
}

// Second chance of the features alone in their bundle, by ascending feature: with their second
// most frequent bin as default (their non-default rows are then the rows of their dominant bin)
// they join the first other bundle where these conflict in no row and the codes still fit.
template <class Code>
void adopt_alone(const Code* (*col_of)(const BinnedMatrix&, Index), const BinnedMatrix& bins,
                 const BinMapper& mapper, const std::vector<std::int32_t>& default_bin,
                 std::vector<OpenBundle>& open, std::vector<std::int32_t>& def_of, int n_threads) {
  const Index n = bins.n_rows;
  std::vector<std::pair<std::int32_t, std::size_t>> alone;  // (feature, its bundle)
  for (std::size_t k = 0; k < open.size(); ++k) {
    if (open[k].features.size() == 1) alone.emplace_back(open[k].features[0], k);
  }
  if (alone.empty() || open.size() < 2) return;
  std::sort(alone.begin(), alone.end());
  std::vector<int> alt(alone.size(), -1);
  std::vector<std::uint64_t> mask;
  parallel_for_dynamic(0, static_cast<Index>(alone.size()), n_threads, [&](Index q) {
    const std::int32_t f = alone[static_cast<std::size_t>(q)].first;
    alt[static_cast<std::size_t>(q)] = second_bin(col_of(bins, f), n, mapper.n_value_bins(f) + 1,
                                                  default_bin[static_cast<std::size_t>(f)]);
  });
  for (std::size_t q = 0; q < alone.size(); ++q) {
    const auto [f, own] = alone[q];
    if (alt[q] < 0 || open[own].features.size() != 1) continue;  // joined by another meanwhile
    const int extra = mapper.n_value_bins(f);
    off_default_mask(col_of(bins, f), n, alt[q], mask);
    for (std::size_t k = 0; k < open.size(); ++k) {
      OpenBundle& o = open[k];
      if (k == own || o.features.empty() || o.n_codes + extra > kMaxCodes ||
          conflicts(mask, o.used)) {
        continue;
      }
      o.features.push_back(f);
      o.n_codes += extra;
      mark(mask, o.used);
      def_of[static_cast<std::size_t>(f)] = alt[q];
      open[own].features.clear();
      break;
    }
  }
}

template <class Code>
std::vector<OpenBundle> group(const Code* (*col_of)(const BinnedMatrix&, Index),
                              const BinnedMatrix& bins, const BinMapper& mapper,
                              const std::vector<std::int32_t>& default_bin,
                              const std::vector<std::int32_t>& candidates,
                              std::vector<std::int32_t>& def_of, int n_threads) {
  std::vector<OpenBundle> open = greedy(col_of, bins, mapper, default_bin, candidates, def_of);
  adopt_alone(col_of, bins, mapper, default_bin, open, def_of, n_threads);
  return open;
}

const std::uint8_t* col8(const BinnedMatrix& b, Index f) { return b.col8(f); }
const std::uint16_t* col16(const BinnedMatrix& b, Index f) { return b.col16(f); }

}  // namespace

FeatureBundles make_bundles(const BinnedMatrix& bins, const BinMapper& mapper,
                            const std::vector<std::int32_t>& default_bin, double max_share,
                            int n_threads) {
  FeatureBundles fb;
  const Index n = bins.n_rows, nf = bins.n_features;
  fb.n_rows = n;
  fb.bundle_of.assign(static_cast<std::size_t>(nf), -1);
  fb.default_bin.assign(static_cast<std::size_t>(nf), -1);
  // Candidates and their non-default counts (one pass down each column).
  std::vector<Index> off_default(static_cast<std::size_t>(nf), -1);
  const int nt = n * nf < (Index{1} << 17) ? 1 : n_threads;
  parallel_for_dynamic(0, nf, nt, [&](Index f) {
    const int def = default_bin[static_cast<std::size_t>(f)];
    if (def < 0 || mapper.is_constant[static_cast<std::size_t>(f)] ||
        mapper.n_value_bins(f) + 1 > kMaxCodes - 1) {
      return;
    }
    Index c = 0;
    for (Index i = 0; i < n; ++i) c += bins.code(i, f) != def;
    off_default[static_cast<std::size_t>(f)] = c;
  });
  std::vector<std::int32_t> cand;
  for (Index f = 0; f < nf; ++f) {
    const Index c = off_default[static_cast<std::size_t>(f)];
    if (c > 0 && static_cast<double>(c) <= max_share * static_cast<double>(n)) {
      cand.push_back(static_cast<std::int32_t>(f));
    }
  }
  if (cand.size() < 2) return fb;
  std::stable_sort(cand.begin(), cand.end(), [&](std::int32_t a, std::int32_t b) {
    return off_default[static_cast<std::size_t>(a)] > off_default[static_cast<std::size_t>(b)];
  });
  std::vector<std::int32_t> def_of(static_cast<std::size_t>(nf), -1);
  std::vector<OpenBundle> open = bins.wide
                                     ? group(&col16, bins, mapper, default_bin, cand, def_of, nt)
                                     : group(&col8, bins, mapper, default_bin, cand, def_of, nt);

  // Keep the bundles of >= 2 features; members ascending, codes assigned in member order.
  for (OpenBundle& o : open) {
    if (o.features.size() < 2) continue;
    std::sort(o.features.begin(), o.features.end());
    FeatureBundles::Bundle b;
    b.features = o.features;
    for (const std::int32_t f : b.features) {
      fb.bundle_of[static_cast<std::size_t>(f)] = static_cast<std::int32_t>(fb.bundles.size());
      fb.default_bin[static_cast<std::size_t>(f)] = def_of[static_cast<std::size_t>(f)];
      b.first.push_back(b.n_codes);
      b.n_codes += mapper.n_value_bins(f);
    }
    fb.bundles.push_back(std::move(b));
  }
  // Code -> flat-histogram slot tables.
  for (const FeatureBundles::Bundle& b : fb.bundles) {
    fb.code_offset.push_back(static_cast<Index>(fb.slot.size()));
    fb.slot.push_back(0);  // code 0: every member at its default bin
    for (const std::int32_t f : b.features) {
      const int def = fb.default_bin[static_cast<std::size_t>(f)];
      const Index off = mapper.offsets[static_cast<std::size_t>(f)];
      for (int c = 0; c <= mapper.n_value_bins(f); ++c) {
        if (c != def) fb.slot.push_back(static_cast<std::uint32_t>(off + c));
      }
    }
  }
  // Code columns: each member writes its non-default rows (exact bundles never overlap).
  const auto nb = static_cast<Index>(fb.bundles.size());
  fb.codes.assign(static_cast<std::size_t>(nb * n), 0);
  parallel_for_dynamic(0, nb, nb * n < (Index{1} << 17) ? 1 : n_threads, [&](Index bi) {
    FeatureBundles::Bundle& b = fb.bundles[static_cast<std::size_t>(bi)];
    std::uint8_t* out = fb.codes.data() + static_cast<std::size_t>(bi * n);
    for (std::size_t m = 0; m < b.features.size(); ++m) {
      const std::int32_t f = b.features[m];
      const int def = fb.default_bin[static_cast<std::size_t>(f)];
      if (bins.wide) {
        encode(bins.col16(f), n, def, b.first[m], out);
      } else {
        encode(bins.col8(f), n, def, b.first[m], out);
      }
    }
    b.sparse = 8 * std::count(out, out + n, std::uint8_t{0}) >= 7 * n;
  });
  return fb;
}

std::vector<std::int32_t> bundle_skip_bins(const FeatureBundles& fb,
                                           const std::vector<std::int32_t>& dominant) {
  std::vector<std::int32_t> skip = dominant;
  for (std::size_t f = 0; f < fb.default_bin.size() && f < skip.size(); ++f) {
    if (fb.bundle_of[f] >= 0) skip[f] = fb.default_bin[f];
  }
  return skip;
}

}  // namespace detail
}  // namespace calibrisk
