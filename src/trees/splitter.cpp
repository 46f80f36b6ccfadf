// SPDX-License-Identifier: Apache-2.0
// Split finding: one pass over the cumulative histogram of each feature (Chen & Guestrin 2016,
// eq. 7, with the leaf outputs bounded for monotonic constraints as in LightGBM's "basic" method).
#include "trees/splitter.hpp"

#include <calibrisk/core/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace calibrisk {
namespace detail {

double parent_gain(const HistBin& total, const SplitRules& rules,
                   const LeafBounds& bounds) noexcept {
  const RealSums t = real_sums(total, rules);
  return output_gain(t.g, t.h, rules.l2, leaf_output(t.g, t.h, rules.l2, bounds));
}

SplitInfo best_categorical_split(const BinMapper& mapper, const HistBin* hist, const HistBin& total,
                                 std::int32_t f, const SplitRules& rules, const LeafBounds& bounds,
                                 double parent_gain) {
  SplitInfo best;
  const int nb = mapper.n_value_bins(f);
  const HistBin* h = hist + mapper.offsets[static_cast<std::size_t>(f)];
  const HistBin miss = h[nb];
  int idx[256];
  int m = 0;
  for (int b = 0; b < nb; ++b) {
    if (h[b].n > 0) idx[m++] = b;
  }
  if (m == 0) return best;
  BinSet set;
  double l2 = rules.l2;
  auto consider = [&](const HistBin& li, const HistBin& ri, bool missing_left) {
    const RealSums l = real_sums(li, rules), r = real_sums(ri, rules);
    if (l.n < rules.min_samples_leaf || r.n < rules.min_samples_leaf) return;
    if (l.h < rules.min_child_weight || r.h < rules.min_child_weight) return;
    if (!(l.h + l2 > 0.0) || !(r.h + l2 > 0.0)) return;
    const double wl = leaf_output(l.g, l.h, l2, bounds);
    const double wr = leaf_output(r.g, r.h, l2, bounds);
    const double gain = output_gain(l.g, l.h, l2, wl) + output_gain(r.g, r.h, l2, wr) - parent_gain;
    if (!(gain > rules.min_gain) || !(gain > best.gain)) return;
    best.valid = true;
    best.categorical = true;
    best.gain = gain;
    best.feature = f;
    best.bin = -1;
    best.missing_left = missing_left;
    best.left = li;
    best.right = ri;
    best.left_value = wl;
    best.right_value = wr;
    best.cat_left = set;
  };
  // The candidate "bins in `set` left" with value sums `s`, both missing directions.
  auto candidate = [&](const HistBin& s) {
    const HistBin r{total.g - s.g, total.h - s.h, total.n - s.n};
    if (miss.n > 0) {
      consider(s, r, false);
      const HistBin l2s{s.g + miss.g, s.h + miss.h, s.n + miss.n};
      consider(l2s, HistBin{total.g - l2s.g, total.h - l2s.h, total.n - l2s.n}, true);
    } else {
      consider(s, r, s.h >= r.h);
    }
  };
  if (nb <= rules.max_cat_to_onehot) {
    for (int q = 0; q < m; ++q) {
      set = BinSet{};
      set.set(idx[q]);
      candidate(h[idx[q]]);
    }
  } else if (m >= 2) {
    // As LightGBM: only bins with at least cat_smooth rows in the leaf are sorted and may form
    // the prefix; the others stay on the other side (their statistics are mostly noise).
    int srt[256];
    int ms = 0;
    for (int q = 0; q < m; ++q) {
      if (static_cast<double>(h[idx[q]].n) >= rules.cat_smooth) srt[ms++] = idx[q];
    }
    l2 = rules.l2 + rules.cat_l2;
    double stat[256];
    for (int b = 0; b < nb; ++b) {
      const RealSums rb = real_sums(h[b], rules);
      stat[b] = rb.g / (rb.h + rules.cat_smooth);
    }
    std::sort(srt, srt + ms,
              [&](int a, int b) { return stat[a] < stat[b] || (stat[a] == stat[b] && a < b); });
    const int k_max = std::min(rules.max_cat_threshold, ms / 2);
    for (int dir = 0; dir < 2; ++dir) {
      set = BinSet{};
      HistBin s;
      for (int k = 0; k < k_max; ++k) {
        const int b = srt[dir == 0 ? k : ms - 1 - k];
        set.set(b);
        s.g += h[b].g;
        s.h += h[b].h;
        s.n += h[b].n;
        candidate(s);
      }
    }
  }
  if (miss.n > 0) {
    // Every value left, missing right: a split on missingness itself.
    set = BinSet{};
    for (int q = 0; q < m; ++q) set.set(idx[q]);
    l2 = rules.l2;
    consider(HistBin{total.g - miss.g, total.h - miss.h, total.n - miss.n}, miss, false);
  }
  const int pooled = mapper.pooled_bin[static_cast<std::size_t>(f)];
  if (best.valid && pooled >= 0 && best.cat_left.test(pooled)) {
    // Mirror the split so the pooled bin (and with it every empty bin) is on the right: the
    // bitset then only holds frequent codes. Same partition, same gain.
    BinSet mirrored;
    for (int q = 0; q < m; ++q) {
      if (!best.cat_left.test(idx[q])) mirrored.set(idx[q]);
    }
    best.cat_left = mirrored;
    best.missing_left = !best.missing_left;
    std::swap(best.left, best.right);
    std::swap(best.left_value, best.right_value);
  }
  return best;
}

SplitInfo best_split_of_feature(const BinMapper& mapper, const HistBin* hist, const HistBin& total,
                                std::int32_t f, const SplitRules& rules, int mono,
                                const LeafBounds& bounds, double parent_gain) {
  if (mapper.is_categorical(f)) {
    return best_categorical_split(mapper, hist, total, f, rules, bounds, parent_gain);
  }
  SplitInfo best;
  const int nb = mapper.n_value_bins(f);
  const HistBin* h = hist + mapper.offsets[static_cast<std::size_t>(f)];
  const HistBin miss = h[nb];
  auto consider = [&](const HistBin& li, const HistBin& ri, int bin, bool missing_left) {
    const RealSums l = real_sums(li, rules), r = real_sums(ri, rules);
    if (l.n < rules.min_samples_leaf || r.n < rules.min_samples_leaf) return;
    if (l.h < rules.min_child_weight || r.h < rules.min_child_weight) return;
    if (!(l.h + rules.l2 > 0.0) || !(r.h + rules.l2 > 0.0)) return;
    const double wl = leaf_output(l.g, l.h, rules.l2, bounds);
    const double wr = leaf_output(r.g, r.h, rules.l2, bounds);
    if ((mono > 0 && wl > wr) || (mono < 0 && wl < wr)) return;
    const double gain =
        output_gain(l.g, l.h, rules.l2, wl) + output_gain(r.g, r.h, rules.l2, wr) - parent_gain;
    if (!(gain > rules.min_gain) || !(gain > best.gain)) return;
    best.valid = true;
    best.gain = gain;
    best.feature = f;
    best.bin = bin;
    best.missing_left = missing_left;
    best.left = li;
    best.right = ri;
    best.left_value = wl;
    best.right_value = wr;
  };
  HistBin cum;
  for (int b = 0; b + 1 < nb; ++b) {
    // An empty bin leaves the exact running sums unchanged and repeats the previous candidate,
    // which cannot win (strictly larger gain wins).
    const bool same = h[b].n == 0;
    cum.g += h[b].g;
    cum.h += h[b].h;
    cum.n += h[b].n;
    if (same && b > 0) continue;
    // Missing rows to the right.
    HistBin r{total.g - cum.g, total.h - cum.h, total.n - cum.n};
    if (miss.n > 0) {
      consider(cum, r, b, false);
      HistBin l2{cum.g + miss.g, cum.h + miss.h, cum.n + miss.n};
      HistBin r2{total.g - l2.g, total.h - l2.h, total.n - l2.n};
      consider(l2, r2, b, true);
    } else {
      // No missing rows here: NaN at prediction time follows the child with more hessian cover.
      consider(cum, r, b, cum.h >= r.h);
    }
  }
  if (miss.n > 0) {
    // All values left, missing right: a split on missingness itself.
    HistBin l{total.g - miss.g, total.h - miss.h, total.n - miss.n};
    consider(l, miss, nb - 1, false);
  }
  return best;
}

SplitInfo find_best_split(const BinMapper& mapper, const HistBin* hist, const HistBin& total,
                          const std::int32_t* features, Index n_features, const SplitRules& rules,
                          const std::int8_t* monotone, const LeafBounds& bounds, int n_threads) {
  const double base = parent_gain(total, rules, bounds);
  std::vector<SplitInfo> per(static_cast<std::size_t>(n_features));
  auto one = [&](Index q) {
    const std::int32_t f = features[q];
    if (mapper.is_constant[static_cast<std::size_t>(f)]) return;
    per[static_cast<std::size_t>(q)] = best_split_of_feature(
        mapper, hist, total, f, rules, monotone ? monotone[f] : 0, bounds, base);
  };
  // A feature's scan is ~ one pass over <= 256 slots: threads only pay off for many features.
  if (n_features * 256 >= (1 << 16)) {
    parallel_for(0, n_features, n_threads, one);
  } else {
    for (Index q = 0; q < n_features; ++q) one(q);
  }
  SplitInfo best;
  for (const SplitInfo& s : per) {
    if (better_split(s, best)) best = s;
  }
  return best;
}

}  // namespace detail
}  // namespace calibrisk
