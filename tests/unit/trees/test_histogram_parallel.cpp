// SPDX-License-Identifier: Apache-2.0
// Row-parallel histograms (per-thread partial histograms over row chunks, summed per slot) against
// the feature-parallel build and a brute-force oracle: the same bytes for every kernel (column-,
// row-wise, CSR, bundles), skip bins, NaN bins, categorical features, 1-3 threads; every feature
// reduced by exactly one group; whole fits byte-identical with row-parallel forced on or off.
#include <doctest/doctest.h>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include "trees/bundling.hpp"
#include "trees/histogram.hpp"

#include "support/train_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// Restores the automatic split rule when a test ends, also on failure.
struct SplitGuard {
  explicit SplitGuard(detail::HistogramSplit s) { detail::set_histogram_split(s); }
  ~SplitGuard() { detail::set_histogram_split(detail::HistogramSplit::kAuto); }
  SplitGuard(const SplitGuard&) = delete;
  SplitGuard& operator=(const SplitGuard&) = delete;
};

// The onehot-clinical table (one-hot blocks -> bundles, rare flags -> CSR, numeric columns) plus a
// numeric column with 10 % NaN and a categorical code column (40 levels, 5 % NaN), the last one.
testing::TrainData mixed_data(Index n) {
  const testing::TrainData oh = testing::make_onehot_clinical(n, 5);
  testing::TrainData d;
  d.n = n;
  d.f = oh.f + 2;
  d.y = oh.y;
  d.x.resize(static_cast<std::size_t>(n * d.f));
  Rng rng(17);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Index i = 0; i < n; ++i) {
    float* row = d.x.data() + i * d.f;
    std::copy_n(oh.x.data() + i * oh.f, oh.f, row);
    row[oh.f] = rng.uniform() < 0.1 ? nan : static_cast<float>(rng.normal());
    row[oh.f + 1] = rng.uniform() < 0.05 ? nan : static_cast<float>(rng.below(40));
    // The outcome also depends on the two extra columns, so fits split on them.
    if (row[oh.f + 1] < 6.0f || (row[oh.f] > 1.0f && rng.uniform() < 0.5)) {
      d.y[static_cast<std::size_t>(i)] = 1.0;
    }
  }
  return d;
}

struct Mixed {
  testing::TrainData d;
  BinMapper m;
  BinnedMatrix b;
  std::vector<std::int32_t> skip;
  detail::FeatureBundles fb;
  detail::SparseRows sp;
  std::vector<GradPair> gh;
  std::vector<std::int32_t> features;
  explicit Mixed(Index n) : d(mixed_data(n)) {
    const FeatureMatrix X(d.X());
    m = detail::fit_bin_mapper(X, {}, 255, 0, 0, 1);
    detail::CategoricalBinning cat;
    cat.features = {static_cast<int>(d.f - 1)};
    detail::make_categorical(m, X, {}, cat, 1);
    b = detail::bin_matrix(m, X, 1, /*row_major_copy=*/true);
    // Skip bins as the grower picks them: the dominant bin (>= half of the rows), then the
    // bundles' default bins; the CSR holds the features >= 80 % in their skip bin outside bundles.
    skip.assign(static_cast<std::size_t>(d.f), -1);
    for (Index f = 0; f < d.f; ++f) {
      std::vector<Index> c(static_cast<std::size_t>(m.n_value_bins(f)) + 1, 0);
      for (Index i = 0; i < n; ++i) ++c[static_cast<std::size_t>(b.code(i, f))];
      const auto it = std::max_element(c.begin(), c.end());
      if (2 * *it >= n) skip[static_cast<std::size_t>(f)] = static_cast<int>(it - c.begin());
    }
    fb = detail::make_bundles(b, m, skip, 0.5, 1);
    skip = detail::bundle_skip_bins(fb, skip);
    std::vector<std::uint8_t> sparse(skip.size(), 0);
    for (std::size_t f = 0; f < sparse.size(); ++f) {
      if (skip[f] < 0 || fb.bundle_of[f] >= 0) continue;
      Index c = 0;
      for (Index i = 0; i < n; ++i) c += b.code(i, static_cast<Index>(f)) == skip[f];
      sparse[f] = 5 * c >= 4 * n;
    }
    sp = detail::make_sparse_rows(b, m, skip, sparse, 3, 1);
    Rng rng(8);
    for (Index i = 0; i < n; ++i) {
      gh.push_back(
          GradPair{static_cast<std::int32_t>(std::nearbyint(std::ldexp(rng.normal(), 27))),
                   static_cast<std::int32_t>(std::nearbyint(std::ldexp(rng.uniform(), 30)))});
    }
    for (Index f = 0; f < d.f; ++f) {
      if (!m.is_constant[static_cast<std::size_t>(f)]) features.push_back(static_cast<int>(f));
    }
  }
};

// The oracle, by definition: each bin not skipped sums the leaf's rows; a skip bin is the leaf
// total minus the feature's other bins. Slots of features outside `feats` stay zero.
std::vector<HistBin> naive_histogram(const Mixed& mx, const std::vector<RowIndex>& rows,
                                     const std::vector<std::int32_t>& feats, const HistBin& total) {
  std::vector<HistBin> h(static_cast<std::size_t>(mx.m.total_bins()));
  for (const std::int32_t f : feats) {
    HistBin* hf = h.data() + mx.m.offsets[static_cast<std::size_t>(f)];
    const int sb = mx.skip[static_cast<std::size_t>(f)];
    for (const RowIndex i : rows) {
      const int c = mx.b.code(static_cast<Index>(i), f);
      if (c == sb) continue;
      hf[c].g += mx.gh[i].g;
      hf[c].h += mx.gh[i].h;
      hf[c].n += 1;
    }
    if (sb < 0) continue;
    HistBin rest;
    for (int c = 0; c <= mx.m.n_value_bins(f); ++c) {
      if (c == sb) continue;
      rest.g += hf[c].g;
      rest.h += hf[c].h;
      rest.n += hf[c].n;
    }
    hf[sb] = HistBin{total.g - rest.g, total.h - rest.h, total.n - rest.n};
  }
  return h;
}

bool same_bytes(const std::vector<HistBin>& a, const std::vector<HistBin>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(HistBin)) == 0;
}

}  // namespace

TEST_CASE("histogram parallel: row- and feature-parallel builds give the oracle's bytes") {
  const Mixed mx(12000);
  REQUIRE(!mx.fb.empty());
  REQUIRE(!mx.sp.empty());
  const Index cat_col = mx.d.f - 1;
  REQUIRE(mx.m.is_categorical(cat_col));
  std::vector<std::int32_t> subset;  // a colsample-like subset (keeps both extra columns)
  for (std::size_t q = 0; q < mx.features.size(); ++q) {
    if (q % 3 == 0 || q + 2 >= mx.features.size()) subset.push_back(mx.features[q]);
  }
  Rng rng(4);
  std::vector<RowIndex> random_rows;  // a leaf of scattered rows (about 30 %)
  for (Index i = 0; i < mx.b.n_rows; ++i) {
    if (rng.uniform() < 0.3) random_rows.push_back(static_cast<RowIndex>(i));
  }
  // Root (contiguous), every 2nd row, every 15th (row-wise kernel), random rows.
  for (const Index step : {1, 2, 15, 0}) {
    CAPTURE(step);
    std::vector<RowIndex> rows;
    if (step == 0) {
      rows = random_rows;
    } else {
      for (Index i = 0; i < mx.b.n_rows; i += step) rows.push_back(static_cast<RowIndex>(i));
    }
    std::vector<GradPair> ordered(rows.size());
    detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), mx.gh.data(),
                             ordered.data(), 1);
    HistBin total;
    for (const GradPair& g : ordered) {
      total.g += g.g;
      total.h += g.h;
    }
    total.n = static_cast<std::int64_t>(rows.size());
    for (const auto* feats :
         {&mx.features, static_cast<const std::vector<std::int32_t>*>(&subset)}) {
      const std::vector<HistBin> ref = naive_histogram(mx, rows, *feats, total);
      detail::HistogramJob job{step == 1 ? nullptr : rows.data(), static_cast<Index>(rows.size()),
                               step == 1 ? mx.gh.data() : ordered.data(), feats->data(),
                               static_cast<Index>(feats->size())};
      job.sparse = &mx.sp;
      job.bundles = &mx.fb;
      for (const auto split : {detail::HistogramSplit::kFeatures, detail::HistogramSplit::kRows,
                               detail::HistogramSplit::kAuto}) {
        const SplitGuard guard(split);
        for (const bool simd : {false, true}) {
          for (const int t : {1, 2, 3}) {
            job.allow_simd = simd;
            std::vector<HistBin> h(ref.size());
            detail::build_histogram(mx.b, mx.m, job, mx.skip.data(), total, h.data(), t);
            CHECK_MESSAGE(same_bytes(h, ref), "split " << static_cast<int>(split) << " simd "
                                                       << simd << " threads " << t << " subset "
                                                       << (feats == &subset));
          }
        }
      }
    }
  }
}

TEST_CASE("histogram parallel: forced row-parallel builds partials; each feature reduced once") {
  const Mixed mx(6000);
  std::vector<RowIndex> rows;
  for (Index i = 0; i < mx.b.n_rows; i += 3) rows.push_back(static_cast<RowIndex>(i));
  std::vector<GradPair> ordered(rows.size());
  detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), mx.gh.data(),
                           ordered.data(), 1);
  HistBin total;
  for (const GradPair& g : ordered) {
    total.g += g.g;
    total.h += g.h;
  }
  total.n = static_cast<std::int64_t>(rows.size());
  const std::vector<HistBin> ref = naive_histogram(mx, rows, mx.features, total);
  detail::RowPartials partials;
  for (const int t : {2, 3}) {
    for (const Index groups : {1, 2, 3, 5}) {
      CAPTURE(t);
      CAPTURE(groups);
      detail::HistogramJob job{rows.data(), static_cast<Index>(rows.size()), ordered.data(),
                               mx.features.data(), static_cast<Index>(mx.features.size())};
      job.sparse = &mx.sp;
      job.bundles = &mx.fb;
      {
        const SplitGuard guard(detail::HistogramSplit::kRows);
        REQUIRE(detail::build_row_partials(mx.b, mx.m, job, mx.skip.data(), total, partials, t));
      }
      REQUIRE(job.partials == &partials);
      CHECK(partials.n_parts == t);
      // The groups, run one after the other, cover every feature of the job exactly once.
      std::vector<HistBin> h(ref.size());
      std::vector<int> seen(static_cast<std::size_t>(mx.d.f), 0);
      for (Index g = 0; g < groups; ++g) {
        std::vector<std::int32_t> done;
        detail::build_histogram_group(mx.b, mx.m, job, mx.skip.data(), total, h.data(), g, groups,
                                      &done);
        for (const std::int32_t f : done) ++seen[static_cast<std::size_t>(f)];
      }
      for (const std::int32_t f : mx.features) CHECK(seen[static_cast<std::size_t>(f)] == 1);
      CHECK(same_bytes(h, ref));
    }
  }
  // Feature-parallel forced: no partials.
  const SplitGuard guard(detail::HistogramSplit::kFeatures);
  detail::HistogramJob job{rows.data(), static_cast<Index>(rows.size()), ordered.data(),
                           mx.features.data(), static_cast<Index>(mx.features.size())};
  CHECK(!detail::build_row_partials(mx.b, mx.m, job, mx.skip.data(), total, partials, 2));
  CHECK(job.partials == nullptr);
}

TEST_CASE("histogram parallel: whole fits byte-identical for 1-3 threads, row-parallel on or off") {
  const testing::TrainData d = mixed_data(20000);
  GBDTParams p;
  p.n_estimators = 12;
  p.max_leaf_nodes = 15;
  p.l2_regularization = 1.0;
  p.subsample = 0.8;
  p.colsample_bytree = 0.7;
  p.random_state = 3;
  p.categorical_features = {static_cast<int>(d.f - 1)};
  p.n_threads = 1;
  std::string ref;
  {
    const SplitGuard guard(detail::HistogramSplit::kFeatures);
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    ref = encode_model(m);
    // The trees split on the categorical column and on the numeric column with NaN.
    int on_cat = 0, on_nan_col = 0;
    for (const Tree& t : m.ensemble().trees) {
      for (const std::int32_t f : t.feature) {
        on_cat += f == d.f - 1;
        on_nan_col += f == d.f - 2;
      }
    }
    CHECK(on_cat > 0);
    CHECK(on_nan_col > 0);
  }
  for (const auto split : {detail::HistogramSplit::kFeatures, detail::HistogramSplit::kRows,
                           detail::HistogramSplit::kAuto}) {
    for (const int t : {1, 2, 3}) {
      CAPTURE(static_cast<int>(split));
      CAPTURE(t);
      const SplitGuard guard(split);
      p.n_threads = t;
      GradientBoostedTrees m(p);
      m.fit(d.dataset());
      CHECK(encode_model(m) == ref);
    }
  }
}
