// SPDX-License-Identifier: Apache-2.0
// Stage 1 of tree training: quantile bin edges per feature and the column-major code matrix.
#include "trees/binning.hpp"
#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/tree.hpp>
#include "core/radix_sort.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>

namespace calibrisk {

namespace {

// Largest float-representable double <= x, clamped to the finite float range. Edges must be
// float-representable so a threshold compares identically against float32 and float64 rows.
double floor_to_float(double x) {
  if (x >= static_cast<double>(FLT_MAX)) return static_cast<double>(FLT_MAX);
  if (x <= -static_cast<double>(FLT_MAX)) return -static_cast<double>(FLT_MAX);
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -FLT_MAX);
  return static_cast<double>(f);
}

// Edges of one feature from its sorted non-missing sample values.
std::vector<double> edges_from_sorted(const std::vector<double>& v, int max_bins) {
  std::vector<double> edges;
  const std::size_t m = v.size();
  if (m == 0) return edges;
  std::vector<double> distinct;
  distinct.reserve(std::min<std::size_t>(m, static_cast<std::size_t>(max_bins) + 1));
  for (std::size_t i = 0; i < m; ++i) {
    if (distinct.empty() || v[i] != distinct.back()) {
      distinct.push_back(v[i]);
      if (distinct.size() > static_cast<std::size_t>(max_bins)) break;
    }
  }
  auto push = [&](double e) {
    // Keep edges strictly increasing and below the largest value so no bin is empty by design.
    if ((edges.empty() || e > edges.back()) && e < v.back()) edges.push_back(e);
  };
  if (distinct.size() <= static_cast<std::size_t>(max_bins)) {
    for (std::size_t k = 0; k + 1 < distinct.size(); ++k) {
      push(floor_to_float(distinct[k] + (distinct[k + 1] - distinct[k]) / 2.0));
    }
  } else {
    const auto mb = static_cast<std::size_t>(max_bins);
    for (std::size_t k = 1; k < mb; ++k) {
      const std::size_t p = std::max<std::size_t>(1, (k * m) / mb);
      const double lo = v[p - 1], hi = v[p];
      push(floor_to_float(lo == hi ? lo : lo + (hi - lo) / 2.0));
    }
  }
  return edges;
}

// Branchless search table of one feature: edges padded with +inf to a power of two, so the
// count of edges below x (= its bin) takes log2(P) compare-and-adds without branches.
struct SearchTable {
  std::vector<double> e;
  int half = 0;  // P / 2
  int missing = 0;
};

SearchTable make_table(const std::vector<double>& edges) {
  SearchTable t;
  std::size_t p = 1;
  while (p < edges.size() + 1) p *= 2;
  t.e.assign(p, HUGE_VAL);
  std::copy(edges.begin(), edges.end(), t.e.begin());
  t.half = static_cast<int>(p / 2);
  t.missing = static_cast<int>(edges.size()) + 1;
  return t;
}

inline int search(const SearchTable& t, double x) noexcept {
  if (std::isnan(x)) return t.missing;
  const double* e = t.e.data();
  int pos = 0;
  for (int h = t.half; h >= 1; h >>= 1) pos += (e[pos + h - 1] < x) ? h : 0;
  return pos;
}

// Codes of rows [lo, hi) of numeric feature f into out[lo, hi): `search` with the table depth H
// (= t.half) known at compile time, so the compare-and-adds unroll (binary flags: one compare).
template <int H, class View, class Code>
void search_rows(const SearchTable& t, const View& view, Index f, Index lo, Index hi, Code* out) {
  const double* e = t.e.data();
  const int missing = t.missing;
  for (Index i = lo; i < hi; ++i) {
    const double x = static_cast<double>(view(i, f));
    int pos = 0;
    for (int h = H; h >= 1; h >>= 1) pos += (e[pos + h - 1] < x) ? h : 0;
    out[i] = static_cast<Code>(std::isnan(x) ? missing : pos);
  }
}

template <class View, class Code>
void search_rows(const SearchTable& t, const View& view, Index f, Index lo, Index hi, Code* out) {
  switch (t.half) {
    case 0:
      return search_rows<0>(t, view, f, lo, hi, out);
    case 1:
      return search_rows<1>(t, view, f, lo, hi, out);
    case 2:
      return search_rows<2>(t, view, f, lo, hi, out);
    case 4:
      return search_rows<4>(t, view, f, lo, hi, out);
    case 8:
      return search_rows<8>(t, view, f, lo, hi, out);
    case 16:
      return search_rows<16>(t, view, f, lo, hi, out);
    case 32:
      return search_rows<32>(t, view, f, lo, hi, out);
    case 64:
      return search_rows<64>(t, view, f, lo, hi, out);
    case 128:
      return search_rows<128>(t, view, f, lo, hi, out);
    default:
      for (Index i = lo; i < hi; ++i) {
        out[i] = static_cast<Code>(search(t, static_cast<double>(view(i, f))));
      }
  }
}

// Collects the distinct non-NaN values of c[0, n) into v (sorted) when there are at most
// `max_bins` of them (binary flags, codes, counts): a hash pass instead of sorting every value.
// Returns false (v unspecified) when there are more.
bool distinct_if_few(const float* c, Index n, int max_bins, std::vector<double>& v, bool& missing) {
  constexpr std::uint32_t kSlots = 1024;  // > 2 * 255; only tried for max_bins <= 255
  if (max_bins > 255) return false;
  std::uint32_t key[kSlots];
  bool used[kSlots] = {};
  v.clear();
  bool saw_nan = false;
  std::uint32_t last = 0;  // bits of the previous value (already in v when `have_last`)
  bool have_last = false;
  for (Index k = 0; k < n; ++k) {
    const float x = c[k];
    if (std::isnan(x)) {
      saw_nan = true;
      continue;
    }
    std::uint32_t u;
    const float x0 = x == 0.0f ? 0.0f : x;  // -0 and +0 are one value
    std::memcpy(&u, &x0, sizeof u);
    if (have_last && u == last) continue;  // runs of one value (flags, one-hot columns)
    last = u;
    have_last = true;
    std::uint32_t h = (u * 2654435761u) >> 22;
    while (used[h] && key[h] != u) h = (h + 1) & (kSlots - 1);
    if (!used[h]) {
      if (static_cast<int>(v.size()) == max_bins) return false;
      used[h] = true;
      key[h] = u;
      v.push_back(static_cast<double>(x0));
    }
  }
  std::sort(v.begin(), v.end());
  missing = missing || saw_nan;
  return true;
}

// Sorts the non-NaN values of c[0, n) into v (as doubles) by the shared radix sort on the
// order-preserving 32-bit image of the float bits: O(n), several times faster than a comparison
// sort on 200,000 values.
void sort_non_missing(const float* c, Index n, std::vector<double>& v, bool& missing) {
  std::vector<std::uint32_t> a;
  a.reserve(static_cast<std::size_t>(n));
  for (Index k = 0; k < n; ++k) {
    const float x = c[k];
    if (std::isnan(x)) {
      missing = true;
      continue;
    }
    a.push_back(detail::ascending_key(x));
  }
  detail::radix_sort<32>(a, [](std::uint32_t u) { return u; });
  v.resize(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    v[k] = static_cast<double>(detail::from_ascending_key<float>(a[k]));
  }
}

// Codes of categorical feature f for rows [lo, hi): its bin for a code in [0, K), the missing bin
// for NaN and for any value that is not such a code (the predictor's rule).
template <class View>
void bin_categorical(const BinMapper& m, const View& view, Index f, Index lo, Index hi,
                     BinnedMatrix& b) {
  const auto& code_bin = m.code_bin[static_cast<std::size_t>(f)];
  const double k = static_cast<double>(code_bin.size());
  const int missing = m.missing_bin(f);
  for (Index i = lo; i < hi; ++i) {
    const double x = static_cast<double>(view(i, f));
    int c = missing;
    if (x >= 0.0 && x < k && x == std::floor(x)) c = code_bin[static_cast<std::size_t>(x)];
    if (b.wide) {
      b.codes16[static_cast<std::size_t>(f * b.n_rows + i)] = static_cast<std::uint16_t>(c);
    } else {
      b.codes8[static_cast<std::size_t>(f * b.n_rows + i)] = static_cast<std::uint8_t>(c);
    }
  }
}

}  // namespace

int BinMapper::bin_of(Index f, double x) const noexcept {
  if (is_categorical(f)) {
    const auto& cb = code_bin[static_cast<std::size_t>(f)];
    if (x >= 0.0 && x < static_cast<double>(cb.size()) && x == std::floor(x)) {
      return cb[static_cast<std::size_t>(x)];
    }
    return missing_bin(f);
  }
  const auto& e = edges[static_cast<std::size_t>(f)];
  if (std::isnan(x)) return static_cast<int>(e.size()) + 1;
  return static_cast<int>(std::lower_bound(e.begin(), e.end(), x) - e.begin());
}

namespace detail {

std::uint64_t bin_sample_key(std::uint64_t seed, Index row) noexcept {
  // splitmix64 of (seed-derived stream) + row: a bijective mix, so distinct rows get distinct keys.
  std::uint64_t z = (seed * 0x9E3779B97F4A7C15ULL + 0xB1B1B1B1B1B1B1B1ULL) ^
                    (static_cast<std::uint64_t>(row) * 0xD1B54A32D192ED03ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<Index> bin_sample_rows(std::vector<Index> rows, Index k, std::uint64_t seed) {
  if (k <= 0 || static_cast<Index>(rows.size()) <= k) {
    std::sort(rows.begin(), rows.end());
    return rows;
  }
  std::vector<std::pair<std::uint64_t, Index>> keyed(rows.size());
  for (std::size_t q = 0; q < rows.size(); ++q) keyed[q] = {bin_sample_key(seed, rows[q]), rows[q]};
  std::nth_element(keyed.begin(), keyed.begin() + (k - 1), keyed.end());
  std::vector<Index> out(static_cast<std::size_t>(k));
  for (Index q = 0; q < k; ++q)
    out[static_cast<std::size_t>(q)] = keyed[static_cast<std::size_t>(q)].second;
  // Ascending rows keep the reads of X in storage order.
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Bin edges from the values of rows sample[0, s) of X.
BinMapper mapper_from_rows(const FeatureMatrix& X, const std::vector<Index>& sample, int max_bins,
                           int n_threads) {
  const Index n_features = X.cols();
  BinMapper m;
  m.max_bins = max_bins;
  m.edges.resize(static_cast<std::size_t>(n_features));
  m.has_missing.assign(static_cast<std::size_t>(n_features), 0);
  m.is_constant.assign(static_cast<std::size_t>(n_features), 0);
  // Copy the sample once, row by row (cache-friendly for C-ordered X), into a column-major
  // float buffer; then each feature is radix-sorted on its own. Values are rounded to float:
  // edges are floats anyway, and the routing rule only needs binning and prediction to compare
  // against the same edges, which they do.
  const auto s = static_cast<Index>(sample.size());
  std::vector<float> cols(static_cast<std::size_t>(s * n_features));
  X.visit([&](const auto& view) {
    parallel_blocks(s, 4096, n_threads, [&](Index, Index lo, Index hi) {
      for (Index k = lo; k < hi; ++k) {
        const Index i = sample[static_cast<std::size_t>(k)];
        for (Index f = 0; f < n_features; ++f) {
          cols[static_cast<std::size_t>(f * s + k)] = static_cast<float>(view(i, f));
        }
      }
    });
  });
  const int nt_sort = s * n_features < (Index{1} << 16) ? 1 : n_threads;
  parallel_for_dynamic(0, n_features, nt_sort, [&](Index f) {
    const float* c = cols.data() + f * s;
    std::vector<double> v;
    bool missing = false;
    if (!distinct_if_few(c, s, max_bins, v, missing)) sort_non_missing(c, s, v, missing);
    const auto uf = static_cast<std::size_t>(f);
    m.edges[uf] = edges_from_sorted(v, max_bins);
    m.has_missing[uf] = missing ? 1 : 0;
    // One distinct value plus missing values is still splittable: missing vs present.
    m.is_constant[uf] = m.edges[uf].empty() && (v.empty() || !missing) ? 1 : 0;
  });
  m.offsets.resize(static_cast<std::size_t>(n_features) + 1);
  m.offsets[0] = 0;
  for (Index f = 0; f < n_features; ++f) {
    m.offsets[static_cast<std::size_t>(f) + 1] =
        m.offsets[static_cast<std::size_t>(f)] + m.n_value_bins(f) + 1;
  }
  return m;
}

}  // namespace

BinMapper fit_bin_mapper(const FeatureMatrix& X, const std::vector<Index>& rows, int max_bins,
                         Index subsample, std::uint64_t seed, int n_threads) {
  std::vector<Index> all;
  if (rows.empty()) {
    all.resize(static_cast<std::size_t>(X.rows()));
    std::iota(all.begin(), all.end(), Index{0});
  }
  const std::vector<Index> sample =
      bin_sample_rows(rows.empty() ? std::move(all) : rows, subsample, seed);
  return mapper_from_rows(X, sample, max_bins, n_threads);
}

BinMapper bin_mapper_from_sample(const FeatureMatrix& sample, int max_bins, int n_threads) {
  std::vector<Index> all(static_cast<std::size_t>(sample.rows()));
  std::iota(all.begin(), all.end(), Index{0});
  return mapper_from_rows(sample, all, max_bins, n_threads);
}

namespace {

// Code counts of categorical column f over `rows` (all when empty); checks every row of X.
std::vector<Index> count_codes(const FeatureMatrix& X, Index f, const std::vector<Index>& rows,
                               bool& missing) {
  std::vector<Index> count;
  X.visit([&](const auto& v) {
    for (Index i = 0; i < v.rows(); ++i) {
      const double x = static_cast<double>(v(i, f));
      if (std::isnan(x)) continue;
      if (!(x >= 0.0) || x != std::floor(x)) {
        throw InvalidInput("GradientBoostedTrees::fit: categorical column " + std::to_string(f) +
                           " has the value " + fmt_value(x) + " at row " + std::to_string(i) +
                           "; category codes must be integers >= 0 (NaN = missing). Encode the "
                           "labels as codes 0..K-1 or drop the column from categorical_features.");
      }
      if (x >= static_cast<double>(kMaxCategories)) {
        throw InvalidInput("GradientBoostedTrees::fit: categorical column " + std::to_string(f) +
                           " has the code " + fmt_value(x) + " at row " + std::to_string(i) +
                           "; at most " + std::to_string(kMaxCategories) + " levels (codes 0.." +
                           std::to_string(kMaxCategories - 1) +
                           ") are supported. Group rare levels or treat the column as numeric.");
      }
    }
    auto add = [&](Index i) {
      const double x = static_cast<double>(v(i, f));
      if (std::isnan(x)) {
        missing = true;
        return;
      }
      const auto c = static_cast<std::size_t>(x);
      if (c >= count.size()) count.resize(c + 1, 0);
      ++count[c];
    };
    if (rows.empty()) {
      for (Index i = 0; i < v.rows(); ++i) add(i);
    } else {
      for (const Index i : rows) add(i);
    }
  });
  return count;
}

// The bins of categorical feature f from its training code counts (see make_categorical).
void categorical_bins(BinMapper& m, int f, const std::vector<Index>& count, bool missing,
                      int min_data_per_category) {
  // Value bins of a categorical feature fit 8-bit codes and the splitter's 256-bit bin sets.
  const int cap = std::min(m.max_bins, 255);
  const auto uf = static_cast<std::size_t>(f);
  {
    const auto k = static_cast<std::int32_t>(count.size());
    std::vector<std::int32_t> frequent;
    bool other = false;  // some code in [0, K) gets no bin of its own
    for (std::int32_t c = 0; c < k; ++c) {
      if (count[static_cast<std::size_t>(c)] >= std::max(1, min_data_per_category)) {
        frequent.push_back(c);
      } else {
        other = true;
      }
    }
    if (static_cast<int>(frequent.size()) > cap - (other ? 1 : 0)) {
      // Keep the cap - 1 most frequent (ties to the lower code); the rest join the pooled bin.
      std::stable_sort(frequent.begin(), frequent.end(), [&](std::int32_t a, std::int32_t b) {
        return count[static_cast<std::size_t>(a)] > count[static_cast<std::size_t>(b)];
      });
      frequent.resize(static_cast<std::size_t>(cap - 1));
      std::sort(frequent.begin(), frequent.end());
      other = true;
    }
    const auto n_frequent = static_cast<std::int32_t>(frequent.size());
    const std::int32_t pooled = other ? n_frequent : -1;
    std::vector<std::uint16_t> code_bin(static_cast<std::size_t>(k),
                                        static_cast<std::uint16_t>(std::max(pooled, 0)));
    for (std::int32_t b = 0; b < n_frequent; ++b) {
      code_bin[static_cast<std::size_t>(frequent[static_cast<std::size_t>(b)])] =
          static_cast<std::uint16_t>(b);
    }
    std::vector<std::int32_t> bin_code = frequent;
    if (other) bin_code.push_back(-1);
    const int n_value = std::max<int>(1, static_cast<int>(bin_code.size()));
    // Placeholder edges: only their count (n_value - 1) is used, by the histogram layout.
    std::vector<double> edges(static_cast<std::size_t>(n_value - 1));
    for (int b = 0; b + 1 < n_value; ++b) edges[static_cast<std::size_t>(b)] = b + 0.5;
    Index pooled_rows = 0;
    for (std::int32_t c = 0; c < k; ++c) {
      if (code_bin[static_cast<std::size_t>(c)] == pooled)
        pooled_rows += count[static_cast<std::size_t>(c)];
    }
    const int non_empty = n_frequent + (pooled_rows > 0 ? 1 : 0);
    m.edges[uf] = std::move(edges);
    m.has_missing[uf] = missing ? 1 : 0;
    m.is_constant[uf] = non_empty + (missing ? 1 : 0) < 2 ? 1 : 0;
    m.cardinality[uf] = k;
    m.code_bin[uf] = std::move(code_bin);
    m.bin_code[uf] = std::move(bin_code);
    m.pooled_bin[uf] = pooled;
  }
}

// Prepares the categorical fields of a mapper (numeric everywhere) for categorical_bins.
void reset_categorical(BinMapper& m) {
  const auto nf = static_cast<std::size_t>(m.n_features());
  m.cardinality.assign(nf, 0);
  m.code_bin.assign(nf, {});
  m.bin_code.assign(nf, {});
  m.pooled_bin.assign(nf, -1);
}

// A feature whose codes are all missing has K = 0; it is constant and stays "categorical" for
// the layout (one empty value bin) but records cardinality 1 so the model marks it categorical.
void finish_categorical(BinMapper& m, const std::vector<int>& features) {
  const auto nf = static_cast<std::size_t>(m.n_features());
  for (const int f : features) {
    const auto uf = static_cast<std::size_t>(f);
    if (m.cardinality[uf] == 0) {
      m.cardinality[uf] = 1;
      m.code_bin[uf].assign(1, 0);
      m.bin_code[uf].assign(1, -1);
      m.pooled_bin[uf] = 0;
    }
  }
  for (std::size_t f = 0; f < nf; ++f) {
    m.offsets[f + 1] = m.offsets[f] + m.n_value_bins(static_cast<Index>(f)) + 1;
  }
}

}  // namespace

void make_categorical(BinMapper& m, const FeatureMatrix& X, const std::vector<Index>& rows,
                      const CategoricalBinning& cat, int n_threads) {
  if (cat.features.empty()) return;
  reset_categorical(m);
  parallel_for_dynamic(0, static_cast<Index>(cat.features.size()), n_threads, [&](Index q) {
    const int f = cat.features[static_cast<std::size_t>(q)];
    bool missing = false;
    const std::vector<Index> count = count_codes(X, f, rows, missing);
    categorical_bins(m, f, count, missing, cat.min_data_per_category);
  });
  finish_categorical(m, cat.features);
}

std::vector<Index> category_code_counts(const FeatureMatrix& X, Index f,
                                        const std::vector<Index>& rows, bool* missing) {
  bool seen = false;
  std::vector<Index> count = count_codes(X, f, rows, seen);
  *missing = seen;
  return count;
}

void make_categorical_from_counts(BinMapper& m, const CategoricalBinning& cat,
                                  const std::vector<std::vector<Index>>& counts,
                                  const std::vector<std::uint8_t>& missing) {
  if (cat.features.empty()) return;
  if (counts.size() != cat.features.size() || missing.size() != cat.features.size()) {
    throw InvalidInput(
        "make_categorical_from_counts: one count vector and one missing flag per "
        "categorical feature are needed.");
  }
  for (const int f : cat.features) {
    if (f < 0 || f >= m.n_features()) {
      throw InvalidInput("make_categorical_from_counts: categorical feature " + std::to_string(f) +
                         " is outside the mapper's " + std::to_string(m.n_features()) +
                         " features.");
    }
  }
  reset_categorical(m);
  for (std::size_t q = 0; q < cat.features.size(); ++q) {
    if (counts[q].size() > static_cast<std::size_t>(kMaxCategories)) {
      throw InvalidInput("make_categorical_from_counts: more codes than kMaxCategories.");
    }
    std::vector<Index> count = counts[q];
    if (std::any_of(count.begin(), count.end(), [](Index c) { return c < 0; })) {
      throw InvalidInput("make_categorical_from_counts: a code count is negative.");
    }
    while (!count.empty() && count.back() == 0) count.pop_back();  // K = largest code counted + 1
    categorical_bins(m, cat.features[q], count, missing[q] != 0, cat.min_data_per_category);
  }
  finish_categorical(m, cat.features);
}

BinnedMatrix bin_matrix(const BinMapper& mapper, const FeatureMatrix& X, int n_threads,
                        bool row_major_copy) {
  BinnedMatrix b;
  b.n_rows = X.rows();
  b.n_features = X.cols();
  b.wide = mapper.wide();
  const auto total = static_cast<std::size_t>(b.n_rows * b.n_features);
  if (b.wide) {
    b.codes16.resize(total);
  } else {
    b.codes8.resize(total);
    if (row_major_copy) b.rows8.resize(total);
  }
  std::vector<SearchTable> tables;
  tables.reserve(static_cast<std::size_t>(b.n_features));
  for (Index f = 0; f < b.n_features; ++f) {
    tables.push_back(make_table(mapper.edges[static_cast<std::size_t>(f)]));
  }
  // Blocks of rows keep the slice of X being read in cache whatever its storage order.
  constexpr Index kBlock = 2048;
  X.visit([&](const auto& view) {
    const int nt = b.n_rows * b.n_features < (Index{1} << 17) ? 1 : n_threads;
    parallel_blocks(b.n_rows, kBlock, nt, [&](Index, Index block_lo, Index block_hi) {
      // Sub-blocks small enough for their slice of X to stay in L2 across the feature loop.
      constexpr Index kSub = 256;
      for (Index lo = block_lo; lo < block_hi; lo += kSub) {
        const Index hi = std::min(block_hi, lo + kSub);
        for (Index f = 0; f < b.n_features; ++f) {
          const SearchTable& t = tables[static_cast<std::size_t>(f)];
          if (mapper.is_categorical(f)) {
            bin_categorical(mapper, view, f, lo, hi, b);
            continue;
          }
          if (b.wide) {
            search_rows(t, view, f, lo, hi, b.codes16.data() + f * b.n_rows);
          } else {
            search_rows(t, view, f, lo, hi, b.codes8.data() + f * b.n_rows);
          }
        }
        if (!b.rows8.empty()) {
          // Transpose the block (still in cache) into the row-major copy.
          const Index nf = b.n_features;
          for (Index f = 0; f < nf; ++f) {
            const std::uint8_t* col = b.codes8.data() + f * b.n_rows;
            std::uint8_t* out = b.rows8.data() + f;
            for (Index i = lo; i < hi; ++i) out[i * nf] = col[i];
          }
        }
      }
    });
  });
  return b;
}

}  // namespace detail
}  // namespace calibrisk
