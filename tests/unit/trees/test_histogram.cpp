// SPDX-License-Identifier: Apache-2.0
// Histograms: direct build equals brute-force sums, the subtraction trick equals a direct build,
// the skipped dominant bin is derived exactly, and the result does not depend on thread count.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include "trees/histogram.hpp"

#include "support/train_data.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace calibrisk;

namespace {

struct Fixture {
  testing::TrainData d;
  BinMapper m;
  BinnedMatrix b;
  std::vector<GradPair> gh;
  std::vector<std::int32_t> features;
  Fixture(Index n, Index f, int max_bins = 255, bool sparse = false) {
    d = sparse ? testing::make_sparse(n, f) : testing::make_dense(n, f, 21, 0.1);
    m = detail::fit_bin_mapper(FeatureMatrix(d.X()), {}, max_bins, 0, 0, 1);
    b = detail::bin_matrix(m, FeatureMatrix(d.X()), 1);
    Rng rng(5);
    gh.resize(static_cast<std::size_t>(n));
    // Quantised gradients as the booster makes them (|g| <= 2^30, 0 <= h <= 2^30).
    for (auto& p : gh) {
      p.g = static_cast<std::int32_t>(std::nearbyint(std::ldexp(rng.normal(), 27)));
      p.h = static_cast<std::int32_t>(std::nearbyint(std::ldexp(rng.uniform(), 30)));
    }
    for (Index j = 0; j < f; ++j) features.push_back(static_cast<std::int32_t>(j));
  }
  HistBin total(const std::vector<RowIndex>& rows) const {
    HistBin t;
    for (const Index i : rows) {
      t.g += gh[static_cast<std::size_t>(i)].g;
      t.h += gh[static_cast<std::size_t>(i)].h;
    }
    t.n = static_cast<std::int64_t>(rows.size());
    return t;
  }
  std::vector<HistBin> build(const std::vector<RowIndex>& rows, const std::int32_t* skip,
                             int threads) const {
    std::vector<GradPair> ordered(rows.size());
    detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), gh.data(),
                             ordered.data(), threads);
    std::vector<HistBin> h(static_cast<std::size_t>(m.total_bins()));
    detail::HistogramJob job{rows.data(), static_cast<Index>(rows.size()), ordered.data(),
                             features.data(), static_cast<Index>(features.size())};
    detail::build_histogram(b, m, job, skip, total(rows), h.data(), threads);
    return h;
  }
};

// Integer sums are exact: derived slots (subtraction, skip bins) equal direct sums bit for bit.
void check_equal(const std::vector<HistBin>& a, const std::vector<HistBin>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t s = 0; s < a.size(); ++s) {
    CAPTURE(s);
    CHECK(a[s].g == b[s].g);
    CHECK(a[s].h == b[s].h);
    CHECK(a[s].n == b[s].n);
  }
}

}  // namespace

TEST_CASE("histogram: a direct build equals brute-force sums per bin") {
  const Fixture fx(3000, 5);
  std::vector<RowIndex> rows;
  for (Index i = 0; i < 3000; i += 3) rows.push_back(i);
  const std::vector<HistBin> h = fx.build(rows, nullptr, 1);
  std::vector<HistBin> ref(static_cast<std::size_t>(fx.m.total_bins()));
  for (const Index i : rows) {
    for (Index f = 0; f < 5; ++f) {
      HistBin& s = ref[static_cast<std::size_t>(fx.m.offsets[static_cast<std::size_t>(f)] +
                                                fx.b.code(i, f))];
      s.g += fx.gh[static_cast<std::size_t>(i)].g;
      s.h += fx.gh[static_cast<std::size_t>(i)].h;
      s.n += 1;
    }
  }
  for (std::size_t s = 0; s < h.size(); ++s) {  // same order of additions: exactly equal
    CHECK(h[s].g == ref[s].g);
    CHECK(h[s].h == ref[s].h);
    CHECK(h[s].n == ref[s].n);
  }
}

TEST_CASE("histogram: the contiguous root build equals the gathered build") {
  const Fixture fx(2000, 4);
  std::vector<RowIndex> rows(2000);
  for (Index i = 0; i < 2000; ++i) rows[static_cast<std::size_t>(i)] = i;
  const std::vector<HistBin> gathered = fx.build(rows, nullptr, 1);
  std::vector<HistBin> h(static_cast<std::size_t>(fx.m.total_bins()));
  detail::HistogramJob job{nullptr, 2000, fx.gh.data(), fx.features.data(), 4};
  detail::build_histogram(fx.b, fx.m, job, nullptr, fx.total(rows), h.data(), 2);
  for (std::size_t s = 0; s < h.size(); ++s) {
    CHECK(h[s].g == gathered[s].g);
    CHECK(h[s].n == gathered[s].n);
  }
}

TEST_CASE("histogram: parent minus the smaller child equals the larger child built directly") {
  const Fixture fx(4000, 6);
  std::vector<RowIndex> parent, left, right;
  for (Index i = 0; i < 4000; ++i) {
    if (i % 5 == 4) continue;
    parent.push_back(i);
    (fx.b.code(i, 0) <= 40 ? left : right).push_back(i);
  }
  const auto hp = fx.build(parent, nullptr, 1);
  const auto hl = fx.build(left, nullptr, 1);
  const auto hr = fx.build(right, nullptr, 1);
  std::vector<HistBin> sub(hp.size());
  detail::subtract_histogram(fx.m, fx.features.data(), 6, hp.data(), hl.data(), sub.data());
  check_equal(sub, hr);
  // In place (out aliases parent), as the grower does.
  std::vector<HistBin> inplace = hp;
  detail::subtract_histogram(fx.m, fx.features.data(), 6, inplace.data(), hl.data(),
                             inplace.data());
  for (std::size_t s = 0; s < sub.size(); ++s) CHECK(inplace[s].g == sub[s].g);
}

TEST_CASE("histogram: a skipped dominant bin is derived from the leaf total") {
  const Fixture fx(3000, 20, 255, /*sparse=*/true);
  std::vector<RowIndex> rows;
  for (Index i = 0; i < 3000; i += 2) rows.push_back(i);
  // Skip the most frequent bin of every feature (the zeros of the flags).
  std::vector<std::int32_t> skip(20, -1);
  for (Index f = 0; f < 20; ++f) {
    std::vector<int> c(static_cast<std::size_t>(fx.m.n_value_bins(f)) + 1, 0);
    for (Index i = 0; i < 3000; ++i) ++c[static_cast<std::size_t>(fx.b.code(i, f))];
    skip[static_cast<std::size_t>(f)] =
        static_cast<std::int32_t>(std::max_element(c.begin(), c.end()) - c.begin());
  }
  check_equal(fx.build(rows, skip.data(), 1), fx.build(rows, nullptr, 1));
}

TEST_CASE("histogram: sums of any partition of the rows add up to the histogram of all rows") {
  // Exact integer sums: the histograms of three arbitrary row sets (as three workers or threads
  // would build them) add elementwise into the histogram of their union, bit for bit.
  const Fixture fx(6000, 7);
  std::vector<RowIndex> all, part[3];
  Rng rng(17);
  for (Index i = 0; i < 6000; ++i) {
    if (i % 9 == 2) continue;
    all.push_back(static_cast<RowIndex>(i));
    part[rng.below(3)].push_back(static_cast<RowIndex>(i));
  }
  std::vector<HistBin> sum(static_cast<std::size_t>(fx.m.total_bins()));
  for (const auto& p : part) {
    const auto h = fx.build(p, nullptr, 1);
    for (std::size_t s = 0; s < sum.size(); ++s) {
      sum[s].g += h[s].g;
      sum[s].h += h[s].h;
      sum[s].n += h[s].n;
    }
  }
  check_equal(sum, fx.build(all, nullptr, 3));
}

TEST_CASE("histogram: bit-identical for 1, 2 and 4 threads, 8- and 16-bit codes") {
  for (const int max_bins : {255, 600}) {
    const Fixture fx(5000, 9, max_bins);
    CHECK(fx.b.wide == (max_bins > 255));
    std::vector<RowIndex> rows;
    for (Index i = 0; i < 5000; ++i) {
      if (i % 7 != 3) rows.push_back(i);
    }
    const auto h1 = fx.build(rows, nullptr, 1);
    for (const int t : {2, 4}) {
      const auto ht = fx.build(rows, nullptr, t);
      for (std::size_t s = 0; s < h1.size(); ++s) {
        if (h1[s].g != ht[s].g || h1[s].h != ht[s].h || h1[s].n != ht[s].n) {
          FAIL("slot " << s << " differs with " << t << " threads");
        }
      }
    }
  }
}

TEST_CASE("histogram: CSR and row-wise kernels equal the column-wise kernel bit for bit") {
  // Sparse data: most flag columns go to the CSR; the numeric ones stay dense.
  Fixture fx(20000, 40, 255, /*sparse=*/true);
  fx.b = detail::bin_matrix(fx.m, FeatureMatrix(fx.d.X()), 2, /*row_major_copy=*/true);
  std::vector<std::int32_t> skip(40, -1);
  std::vector<std::uint8_t> sparse(40, 0);
  int n_sparse = 0;
  for (Index f = 0; f < 40; ++f) {
    std::vector<Index> c(static_cast<std::size_t>(fx.m.n_value_bins(f)) + 1, 0);
    for (Index i = 0; i < 20000; ++i) ++c[static_cast<std::size_t>(fx.b.code(i, f))];
    const auto it = std::max_element(c.begin(), c.end());
    if (2 * *it >= 20000)
      skip[static_cast<std::size_t>(f)] = static_cast<std::int32_t>(it - c.begin());
    if (5 * *it >= 4 * 20000) {
      sparse[static_cast<std::size_t>(f)] = 1;
      ++n_sparse;
    }
  }
  REQUIRE(n_sparse > 10);
  // The CSR in one part and in three (each histogram slot lives in exactly one part).
  const detail::SparseRows sp1 = detail::make_sparse_rows(fx.b, fx.m, skip, sparse, 1, 2);
  const detail::SparseRows sp3 = detail::make_sparse_rows(fx.b, fx.m, skip, sparse, 3, 1);
  REQUIRE(sp1.parts.size() == 1);
  REQUIRE(sp3.parts.size() == 3);
  std::size_t in_parts = 0;
  for (const auto& part : sp3.parts) {
    CHECK(!part.features.empty());
    in_parts += part.features.size();
    CHECK(part.slot.size() * 6 > sp1.parts[0].slot.size());  // about a third of the entries each
  }
  CHECK(in_parts == static_cast<std::size_t>(n_sparse));
  // Leaves: every row (root), a large leaf (column-wise) and a small one (row-wise).
  for (const Index step : {1, 2, 11}) {
    std::vector<RowIndex> rows;
    for (Index i = 0; i < 20000; i += step) rows.push_back(i);
    std::vector<GradPair> ordered(rows.size());
    detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), fx.gh.data(),
                             ordered.data(), 1);
    const HistBin total = fx.total(rows);
    std::vector<HistBin> ref(static_cast<std::size_t>(fx.m.total_bins()));
    std::vector<HistBin> csr(ref.size());
    // Reference: column-wise only (no row-major copy, no CSR).
    BinnedMatrix colonly = fx.b;
    colonly.rows8.clear();
    detail::HistogramJob job{rows.data(), static_cast<Index>(rows.size()), ordered.data(),
                             fx.features.data(), 40};
    job.allow_simd = false;  // the reference uses the portable kernels
    detail::build_histogram(colonly, fx.m, job, skip.data(), total, ref.data(), 1);
    for (const detail::SparseRows* sp : {&sp1, &sp3}) {
      job.sparse = sp;
      for (const bool simd : {false, true}) {
        job.allow_simd = simd;
        for (const int t : {1, 2}) {
          detail::build_histogram(fx.b, fx.m, job, skip.data(), total, csr.data(), t);
          for (std::size_t s = 0; s < ref.size(); ++s) {
            if (ref[s].g != csr[s].g || ref[s].h != csr[s].h || ref[s].n != csr[s].n) {
              FAIL("step " << step << " parts " << sp->parts.size() << " threads " << t << " simd "
                           << simd << " slot " << s << " differs");
            }
          }
        }
      }
    }
    // With a feature subset (colsample): only the job's features are built.
    std::vector<std::int32_t> subset;
    for (std::int32_t f = 0; f < 40; f += 3) subset.push_back(f);
    detail::HistogramJob sub{rows.data(),   static_cast<Index>(rows.size()),   ordered.data(),
                             subset.data(), static_cast<Index>(subset.size()), &sp3};
    std::vector<HistBin> hs(ref.size());
    detail::build_histogram(fx.b, fx.m, sub, skip.data(), total, hs.data(), 2);
    for (const std::int32_t f : subset) {
      for (Index s = fx.m.offsets[static_cast<std::size_t>(f)];
           s < fx.m.offsets[static_cast<std::size_t>(f) + 1]; ++s) {
        CHECK(hs[static_cast<std::size_t>(s)].g == ref[static_cast<std::size_t>(s)].g);
        CHECK(hs[static_cast<std::size_t>(s)].n == ref[static_cast<std::size_t>(s)].n);
      }
    }
  }
}

TEST_CASE("histogram: the AVX2 and portable kernels agree bit for bit (8- and 16-bit codes)") {
  for (const int max_bins : {255, 1000}) {
    CAPTURE(max_bins);
    Fixture fx(30000, 12, max_bins);
    fx.b = detail::bin_matrix(fx.m, FeatureMatrix(fx.d.X()), 1, /*row_major_copy=*/max_bins <= 255);
    for (const Index step : {1, 3, 17}) {  // contiguous root, column-wise leaf, row-wise leaf
      std::vector<RowIndex> rows;
      for (Index i = 0; i < 30000; i += step) rows.push_back(i);
      std::vector<GradPair> ordered(rows.size());
      detail::gather_gradients(rows.data(), static_cast<Index>(rows.size()), fx.gh.data(),
                               ordered.data(), 1);
      detail::HistogramJob job{step == 1 ? nullptr : rows.data(), static_cast<Index>(rows.size()),
                               ordered.data(), fx.features.data(), 12};
      std::vector<HistBin> a(static_cast<std::size_t>(fx.m.total_bins()));
      std::vector<HistBin> b(a.size());
      job.allow_simd = false;
      detail::build_histogram(fx.b, fx.m, job, nullptr, fx.total(rows), a.data(), 2);
      job.allow_simd = true;
      detail::build_histogram(fx.b, fx.m, job, nullptr, fx.total(rows), b.data(), 2);
      for (std::size_t s = 0; s < a.size(); ++s) {
        if (a[s].g != b[s].g || a[s].h != b[s].h || a[s].n != b[s].n || b[s].unused != 0) {
          FAIL("step " << step << " slot " << s << " differs");
        }
      }
    }
  }
}
