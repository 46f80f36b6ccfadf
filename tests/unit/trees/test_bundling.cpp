// SPDX-License-Identifier: Apache-2.0
// Exclusive feature bundling: the greedy bundles of a hand-made table, the exactness invariant
// (never two members off their default bin in one row; codes decode to the members' bins), the
// same bundles for any thread count, histograms bit-identical to the unbundled ones (portable and
// AVX2 kernels, 1 and 2 threads, with the CSR) and trees identical to those grown without bundling.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>
#include "trees/bundling.hpp"
#include "trees/grower.hpp"

#include "support/train_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

using namespace calibrisk;

namespace {

// The dominant bin of each feature when it holds >= half of the rows (as the grower picks it).
std::vector<std::int32_t> dominant_bins(const BinnedMatrix& b, const BinMapper& m) {
  std::vector<std::int32_t> skip(static_cast<std::size_t>(b.n_features), -1);
  for (Index f = 0; f < b.n_features; ++f) {
    std::vector<Index> c(static_cast<std::size_t>(m.n_value_bins(f)) + 1, 0);
    for (Index i = 0; i < b.n_rows; ++i) ++c[static_cast<std::size_t>(b.code(i, f))];
    const auto it = std::max_element(c.begin(), c.end());
    if (2 * *it >= b.n_rows) skip[static_cast<std::size_t>(f)] = static_cast<int>(it - c.begin());
  }
  return skip;
}

struct OneHot {
  testing::TrainData d;
  BinMapper m;
  BinnedMatrix b;
  std::vector<std::int32_t> skip;
  std::vector<GradPair> gh;
  std::vector<std::int32_t> features;
  OneHot(Index n, int max_bins = 255) {
    d = testing::make_onehot_clinical(n, 5);
    m = detail::fit_bin_mapper(FeatureMatrix(d.X()), {}, max_bins, 0, 0, 1);
    b = detail::bin_matrix(m, FeatureMatrix(d.X()), 1, /*row_major_copy=*/max_bins <= 255);
    skip = dominant_bins(b, m);
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

bool same_bits(const std::vector<HistBin>& a, const std::vector<HistBin>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(HistBin)) == 0);
}

bool same_tree(const detail::GrownTree& a, const detail::GrownTree& b) {
  const Tree& s = a.tree;
  const Tree& t = b.tree;
  auto eq = [](const auto& x, const auto& y) {
    // memcmp must not see the null data() of an empty vector (UBSan: nonnull argument).
    return x.size() == y.size() &&
           (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])) == 0);
  };
  return eq(s.left, t.left) && eq(s.right, t.right) && eq(s.feature, t.feature) &&
         eq(s.threshold, t.threshold) && eq(s.missing_left, t.missing_left) &&
         eq(s.value, t.value) && eq(s.cover, t.cover) && eq(s.gain, t.gain) && eq(a.bin, b.bin) &&
         eq(a.begin, b.begin) && eq(a.end, b.end) && eq(a.cat_left, b.cat_left);
}

}  // namespace

TEST_CASE("bundling: greedy bundles of a hand-made one-hot table") {
  // Columns: A0 A1 A2 (one-hot, 60/30/10 %), B0 B1 B2 (70/20/10 %), N (7 values, no dominant
  // bin), F (a flag overlapping A2 and B2). Non-default rows: A0 40 (its zeros), A1 30, B0 30,
  // B1 20, F 19, A2 10, B2 10. Greedy in that order: A0, A1, B0, B1 and F each conflict with
  // every bundle before them; A2 fits with A1 (disjoint rows) and B2 with B1. Then the features
  // left alone, by ascending index, try their second most frequent bin as default: A0 with bin 0
  // (non-default rows: its ones, disjoint from A1's and A2's) joins {A1, A2}; B0 likewise joins
  // {B1, B2}; F with bin 1 (non-default: its 81 zeros) conflicts with both and stays alone.
  const Index n = 100, nf = 8;
  std::vector<double> x(static_cast<std::size_t>(n * nf), 0.0);
  for (Index i = 0; i < n; ++i) {
    double* r = x.data() + i * nf;
    const Index a = i % 10, bb = (i / 10) % 10;
    r[a < 6 ? 0 : (a < 9 ? 1 : 2)] = 1.0;
    r[bb < 7 ? 3 : (bb < 9 ? 4 : 5)] = 1.0;
    r[6] = static_cast<double>(i % 7);
    r[7] = (a == 9 || bb == 9) ? 1.0 : 0.0;
  }
  const FeatureMatrix X(MatrixView<const double>::row_major(x.data(), n, nf));
  const BinMapper m = detail::fit_bin_mapper(X, {}, 255, 0, 0, 1);
  const BinnedMatrix b = detail::bin_matrix(m, X, 1);
  const std::vector<std::int32_t> skip = dominant_bins(b, m);
  CHECK(skip == std::vector<std::int32_t>{1, 0, 0, 1, 0, 0, -1, 0});
  const detail::FeatureBundles fb = detail::make_bundles(b, m, skip, 0.5, 1);
  REQUIRE(fb.bundles.size() == 2);
  CHECK(fb.bundles[0].features == std::vector<std::int32_t>{0, 1, 2});
  CHECK(fb.bundles[1].features == std::vector<std::int32_t>{3, 4, 5});
  CHECK(fb.bundle_of == std::vector<std::int32_t>{0, 0, 0, 1, 1, 1, -1, -1});
  // Every member's default is now its zero bin (bin 0), so the skip bins of A0 and B0 move there.
  CHECK(fb.default_bin == std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, -1, -1});
  CHECK(detail::bundle_skip_bins(fb, skip) == std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, -1, 0});
  // Members' non-default bins: value 1 (bin 1) and the missing bin (2): codes 1, 2 for the first
  // member, 3, 4 for the second and 5, 6 for the third.
  CHECK(fb.bundles[0].first == std::vector<std::int32_t>{1, 3, 5});
  CHECK(fb.bundles[0].n_codes == 7);
  CHECK(!fb.bundles[0].sparse);  // every row has one level set: code 0 never occurs
  for (Index i = 0; i < n; ++i) {
    const Index a = i % 10, bb = (i / 10) % 10;
    CHECK(fb.col(0)[i] == (a < 6 ? 1 : (a < 9 ? 3 : 5)));
    CHECK(fb.col(1)[i] == (bb < 7 ? 1 : (bb < 9 ? 3 : 5)));
  }
  // Slots: code c of bundle 0 is the flat slot of (A0, bin 1), (A0, missing), (A1, 1), (A1, 2),
  // (A2, 1), (A2, 2).
  const Index o0 = m.offsets[0], o1 = m.offsets[1], o2 = m.offsets[2];
  const std::uint32_t* slot = fb.slot.data() + fb.code_offset[0];
  CHECK(slot[1] == o0 + 1);
  CHECK(slot[2] == o0 + 2);
  CHECK(slot[3] == o1 + 1);
  CHECK(slot[4] == o1 + 2);
  CHECK(slot[5] == o2 + 1);
  CHECK(slot[6] == o2 + 2);
}

TEST_CASE("bundling: exact on clinical one-hot data, the same for any thread count") {
  const OneHot oh(20000);
  const detail::FeatureBundles fb = detail::make_bundles(oh.b, oh.m, oh.skip, 0.5, 1);
  const detail::FeatureBundles fb2 = detail::make_bundles(oh.b, oh.m, oh.skip, 0.5, 2);
  CHECK(fb2.bundle_of == fb.bundle_of);
  CHECK(fb2.codes == fb.codes);
  CHECK(fb2.slot == fb.slot);
  // Every one of the 155 indicators is bundled, each variable's levels in one bundle (a level
  // holding >= half of its variable's rows joins with its zero bin as default), and no bundle
  // mixes two variables: their rows overlap, so an exact bundle cannot hold levels of both.
  // (Rare flags may join a bundle when they happen to share no row with its members.)
  const int levels[15] = {20, 18, 15, 14, 12, 12, 10, 10, 9, 8, 8, 6, 5, 4, 4};
  std::vector<int> variable;
  for (int v = 0; v < 15; ++v)
    variable.insert(variable.end(), static_cast<std::size_t>(levels[v]), v);
  Index indicators = 0;
  std::vector<int> per_variable(15, 0);
  for (const auto& bundle : fb.bundles) {
    REQUIRE(bundle.features.size() >= 2);
    int var = -1;
    for (const std::int32_t f : bundle.features) {
      if (f >= 155) continue;
      ++indicators;
      const int v = variable[static_cast<std::size_t>(f)];
      CHECK((var < 0 || var == v));
      var = v;
      ++per_variable[static_cast<std::size_t>(v)];
    }
  }
  MESSAGE(fb.bundles.size() << " bundles, " << fb.n_bundled() << " features, " << indicators
                            << " of them indicators");
  CHECK(indicators == 155);
  for (int v = 0; v < 15; ++v) CHECK(per_variable[static_cast<std::size_t>(v)] == levels[v]);
  CHECK(fb.bundles.size() >= 15);
  // The invariant, checked against the binned matrix: per row at most one member is off its
  // default bin, and the code names that member's bin (0 when none is off).
  for (std::size_t bi = 0; bi < fb.bundles.size(); ++bi) {
    const auto& bundle = fb.bundles[bi];
    const std::uint32_t* slot = fb.slot.data() + fb.code_offset[bi];
    for (Index i = 0; i < oh.b.n_rows; ++i) {
      int off = 0;
      std::uint32_t expect = 0;
      for (const std::int32_t f : bundle.features) {
        const int c = oh.b.code(i, f);
        if (c != fb.default_bin[static_cast<std::size_t>(f)]) {
          ++off;
          expect = static_cast<std::uint32_t>(oh.m.offsets[static_cast<std::size_t>(f)] + c);
        }
      }
      REQUIRE(off <= 1);
      const int code = fb.col(static_cast<Index>(bi))[i];
      REQUIRE((code == 0) == (off == 0));
      if (off == 1) REQUIRE(slot[code] == expect);
    }
  }
}

TEST_CASE("bundling: conflicting flags never share a bundle") {
  // Two rare flags that are both set in a single row, and a third never set with either.
  const Index n = 1000, nf = 3;
  std::vector<double> x(static_cast<std::size_t>(n * nf), 0.0);
  for (Index i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i * nf)] = i % 10 == 0 ? 1.0 : 0.0;
    x[static_cast<std::size_t>(i * nf + 1)] = (i % 10 == 5 || i == 500) ? 1.0 : 0.0;
    x[static_cast<std::size_t>(i * nf + 2)] = i % 10 == 3 ? 1.0 : 0.0;
  }
  const FeatureMatrix X(MatrixView<const double>::row_major(x.data(), n, nf));
  const BinMapper m = detail::fit_bin_mapper(X, {}, 255, 0, 0, 1);
  const BinnedMatrix b = detail::bin_matrix(m, X, 1);
  const detail::FeatureBundles fb = detail::make_bundles(b, m, dominant_bins(b, m), 0.5, 1);
  // Order: feature 1 (101 rows), then 0 and 2 (100 each, lower index first): 0 conflicts with 1
  // in row 500 and starts a bundle; 2 joins the first bundle, {1}.
  REQUIRE(fb.bundles.size() == 1);
  CHECK(fb.bundles[0].features == std::vector<std::int32_t>{1, 2});
  CHECK(fb.bundle_of[0] == -1);
}

TEST_CASE("bundling: histograms bit-identical to the unbundled build (kernels, threads, CSR)") {
  for (const int max_bins : {255, 1000}) {  // 8- and 16-bit feature codes
    CAPTURE(max_bins);
    const OneHot oh(20000, max_bins);
    const detail::FeatureBundles fb = detail::make_bundles(oh.b, oh.m, oh.skip, 0.5, 2);
    REQUIRE(!fb.empty());
    // The skip bins of every build below: the bundle defaults (some are not the dominant bin).
    const std::vector<std::int32_t> skip = detail::bundle_skip_bins(fb, oh.skip);
    CHECK(skip != oh.skip);
    // The CSR of the sparse features outside the bundles, as the grower makes it.
    std::vector<std::uint8_t> sparse(skip.size(), 0);
    for (std::size_t f = 0; f < sparse.size(); ++f) {
      if (skip[f] < 0 || fb.bundle_of[f] >= 0) continue;
      Index c = 0;
      for (Index i = 0; i < oh.b.n_rows; ++i) c += oh.b.code(i, static_cast<Index>(f)) == skip[f];
      sparse[f] = 5 * c >= 4 * oh.b.n_rows;
    }
    const detail::SparseRows sp = detail::make_sparse_rows(oh.b, oh.m, skip, sparse, 2, 1);
    std::vector<std::int32_t> subset;  // a colsample-like subset
    const std::vector<std::int32_t>* all = &oh.features;
    for (std::size_t q = 0; q < oh.features.size(); q += 3) subset.push_back(oh.features[q]);
    for (const Index step : {1, 2, 15}) {  // root, large leaf, small (row-wise) leaf
      CAPTURE(step);
      std::vector<RowIndex> rows;
      for (Index i = 0; i < oh.b.n_rows; i += step) rows.push_back(static_cast<RowIndex>(i));
      std::vector<GradPair> ordered(rows.size());
      detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), oh.gh.data(),
                               ordered.data(), 1);
      HistBin total;
      for (const GradPair& g : ordered) {
        total.g += g.g;
        total.h += g.h;
      }
      total.n = static_cast<std::int64_t>(rows.size());
      for (const std::vector<std::int32_t>* feats :
           {all, static_cast<const std::vector<std::int32_t>*>(&subset)}) {
        detail::HistogramJob job{step == 1 ? nullptr : rows.data(), static_cast<Index>(rows.size()),
                                 step == 1 ? oh.gh.data() : ordered.data(), feats->data(),
                                 static_cast<Index>(feats->size())};
        job.allow_simd = false;
        std::vector<HistBin> ref(static_cast<std::size_t>(oh.m.total_bins()));
        detail::build_histogram(oh.b, oh.m, job, skip.data(), total, ref.data(), 1);
        // The oracle, by definition: each bin not skipped sums the leaf's rows in row order; a
        // skip bin is the leaf total minus the feature's other bins in bin order.
        std::vector<HistBin> naive(ref.size());
        for (const std::int32_t f : *feats) {
          HistBin* h = naive.data() + oh.m.offsets[static_cast<std::size_t>(f)];
          const int sb = skip[static_cast<std::size_t>(f)];
          for (std::size_t k = 0; k < rows.size(); ++k) {
            const int c = oh.b.code(static_cast<Index>(rows[k]), f);
            if (c == sb) continue;
            h[c].g += ordered[k].g;
            h[c].h += ordered[k].h;
            h[c].n += 1;
          }
          if (sb < 0) continue;
          HistBin rest;
          for (int c = 0; c <= oh.m.n_value_bins(f); ++c) {
            if (c == sb) continue;
            rest.g += h[c].g;
            rest.h += h[c].h;
            rest.n += h[c].n;
          }
          h[sb] = HistBin{total.g - rest.g, total.h - rest.h, total.n - rest.n};
        }
        CHECK(same_bits(ref, naive));
        for (const bool with_csr : {false, true}) {
          for (const bool simd : {false, true}) {
            for (const int t : {1, 2}) {
              job.sparse = with_csr ? &sp : nullptr;
              job.bundles = &fb;
              job.allow_simd = simd;
              std::vector<HistBin> h(ref.size());
              detail::build_histogram(oh.b, oh.m, job, skip.data(), total, h.data(), t);
              CHECK_MESSAGE(same_bits(h, ref), "csr " << with_csr << " simd " << simd << " threads "
                                                      << t << " subset " << (feats == &subset));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("bundling: boosted trees identical with bundling on and off, any thread count") {
  const OneHot oh(20000);
  const Index n = oh.b.n_rows;
  // A few rounds of logistic boosting by hand, the grower with and without bundling.
  std::vector<detail::GrownTree> ref;
  for (const bool bundle : {false, true}) {
    for (const int threads : {1, 2}) {
      CAPTURE(bundle);
      CAPTURE(threads);
      const GradScale sc = GradScale::for_max_weight(1.0);
      detail::GrowerParams gp;
      gp.rules.l2 = 1.0;
      gp.rules.g_unit = sc.g_unit;
      gp.rules.h_unit = sc.h_unit;
      gp.n_threads = threads;
      gp.bundle_features = bundle;
      detail::TreeGrower grower(oh.b, oh.m, gp);
      std::vector<double> margin(static_cast<std::size_t>(n), -1.8);
      std::vector<GradPair> gh(static_cast<std::size_t>(n));
      for (int round = 0; round < 6; ++round) {
        for (Index i = 0; i < n; ++i) {
          const double p = 1.0 / (1.0 + std::exp(-margin[static_cast<std::size_t>(i)]));
          gh[static_cast<std::size_t>(i)] =
              sc.quantise(p - oh.d.y[static_cast<std::size_t>(i)], p * (1 - p));
        }
        std::vector<RowIndex> rows(static_cast<std::size_t>(n));
        std::iota(rows.begin(), rows.end(), RowIndex{0});
        detail::GrownTree t = grower.grow(rows, true, gh.data(), oh.features);
        REQUIRE(t.tree.n_nodes() > 1);
        for (Index i = 0; i < n; ++i) {
          margin[static_cast<std::size_t>(i)] +=
              t.tree.value[static_cast<std::size_t>(detail::binned_leaf(t, oh.b, oh.m, i))];
        }
        if (!bundle && threads == 1) {
          ref.push_back(std::move(t));
        } else {
          CHECK(same_tree(t, ref[static_cast<std::size_t>(round)]));
        }
      }
    }
  }
}

TEST_CASE("bundling: a fit on one-hot data gives the same model for 1 and 2 threads") {
  const testing::TrainData d = testing::make_onehot_clinical(6000, 9);
  GBDTParams p;
  p.n_estimators = 15;
  std::vector<Eigen::VectorXd> out;
  for (const int t : {1, 2}) {
    p.n_threads = t;
    GradientBoostedTrees m(p);
    m.fit(d.dataset());
    out.push_back(m.predict_proba(FeatureMatrix(d.X())));
  }
  REQUIRE(out[0].size() == 6000);
  CHECK(std::memcmp(out[0].data(), out[1].data(), sizeof(double) * 6000) == 0);
}

TEST_CASE("bundling: identical trees with missing values, weights and a categorical feature") {
  // One-hot data made harder: 2 % NaN in the levels of the first variable (a NaN row is off its
  // default in that level while another level is set: those levels conflict and bundle apart or
  // not at all), 5 % NaN in the numeric columns, row weights in [0.2, 3] folded into the
  // gradients, and a numeric column (length of stay) declared categorical. Trees grown with
  // bundling off are the reference; on, with 1 and 2 threads, they must be identical.
  testing::TrainData d = testing::make_onehot_clinical(12000, 21);
  Rng rng(33);
  for (Index i = 0; i < d.n; ++i) {
    float* row = d.x.data() + i * d.f;
    if (rng.uniform() < 0.02) row[rng.below(20)] = std::nanf("");
    for (Index j = 165; j < d.f; ++j) {
      if (j != 166 && rng.uniform() < 0.05) row[j] = std::nanf("");
    }
  }
  const FeatureMatrix X(d.X());
  BinMapper m = detail::fit_bin_mapper(X, {}, 255, 0, 0, 1);
  detail::make_categorical(m, X, {}, {{166}, 10}, 1);
  REQUIRE(m.is_categorical(166));
  const BinnedMatrix b = detail::bin_matrix(m, X, 1, /*row_major_copy=*/true);
  std::vector<std::int32_t> features;
  for (Index f = 0; f < d.f; ++f) {
    if (!m.is_constant[static_cast<std::size_t>(f)]) features.push_back(static_cast<int>(f));
  }
  std::vector<double> w(static_cast<std::size_t>(d.n));
  for (double& x : w) x = 0.2 + 2.8 * rng.uniform();
  // The data still bundles: most indicators, with some majority level on its zero bin.
  {
    const detail::FeatureBundles fb = detail::make_bundles(b, m, dominant_bins(b, m), 0.5, 1);
    CHECK(fb.n_bundled() >= 100);
    CHECK(detail::bundle_skip_bins(fb, dominant_bins(b, m)) != dominant_bins(b, m));
  }
  std::vector<detail::GrownTree> ref;
  for (const bool bundle : {false, true}) {
    for (const int threads : {1, 2}) {
      CAPTURE(bundle);
      CAPTURE(threads);
      const GradScale sc = GradScale::for_max_weight(3.0);
      detail::GrowerParams gp;
      gp.rules.l2 = 1.0;
      gp.rules.g_unit = sc.g_unit;
      gp.rules.h_unit = sc.h_unit;
      gp.rules.min_samples_leaf = 10;
      gp.max_leaf_nodes = 48;
      gp.n_threads = threads;
      gp.bundle_features = bundle;
      detail::TreeGrower grower(b, m, gp);
      std::vector<double> margin(static_cast<std::size_t>(d.n), -1.8);
      std::vector<GradPair> gh(static_cast<std::size_t>(d.n));
      for (int round = 0; round < 5; ++round) {
        for (Index i = 0; i < d.n; ++i) {
          const auto u = static_cast<std::size_t>(i);
          const double p = 1.0 / (1.0 + std::exp(-margin[u]));
          gh[u] = sc.quantise(w[u] * (p - d.y[u]), w[u] * p * (1 - p));
        }
        std::vector<RowIndex> rows(static_cast<std::size_t>(d.n));
        std::iota(rows.begin(), rows.end(), RowIndex{0});
        detail::GrownTree t = grower.grow(rows, true, gh.data(), features);
        REQUIRE(t.tree.n_nodes() > 1);
        for (Index i = 0; i < d.n; ++i) {
          margin[static_cast<std::size_t>(i)] +=
              t.tree.value[static_cast<std::size_t>(detail::binned_leaf(t, b, m, i))];
        }
        if (!bundle && threads == 1) {
          ref.push_back(std::move(t));
        } else {
          CHECK(same_tree(t, ref[static_cast<std::size_t>(round)]));
        }
      }
    }
  }
  // The categorical feature was used, so the identity covers category-set splits too.
  bool used_cat = false;
  for (const auto& t : ref) {
    for (const std::int32_t f : t.tree.feature) used_cat = used_cat || f == 166;
  }
  CHECK(used_cat);
}
