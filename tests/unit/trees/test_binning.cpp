// SPDX-License-Identifier: Apache-2.0
// Binning: bin edges (one bin per value, quantiles), the missing bin, constant features, float32 vs
// float64 and storage-order independence, and the threshold rule that prediction relies on.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include "trees/binning.hpp"

#include "support/train_data.hpp"

#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

using namespace calibrisk;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Column-major (n, f) double matrix view over v.
FeatureMatrix colmajor(const std::vector<double>& v, Index n, Index f) {
  return FeatureMatrix(MatrixView<const double>::col_major(v.data(), n, f));
}
}  // namespace

TEST_CASE("binning: few distinct values get one bin each, edges at float midpoints") {
  // feature 0: values {1, 2, 4}; feature 1: constant 7; feature 2: {0, NaN}
  const std::vector<double> x = {1, 2,    4, 4, 1,    2,  //
                                 7, 7,    7, 7, 7,    7,  //
                                 0, kNaN, 0, 0, kNaN, 0};
  const FeatureMatrix X = colmajor(x, 6, 3);
  const BinMapper m = detail::fit_bin_mapper(X, {}, 255, 0, 0, 1);
  REQUIRE(m.n_features() == 3);
  CHECK(m.edges[0] == std::vector<double>{1.5, 3.0});
  CHECK(m.n_value_bins(0) == 3);
  CHECK(m.missing_bin(0) == 3);
  CHECK(m.is_constant[0] == 0);
  CHECK(m.has_missing[0] == 0);
  CHECK(m.is_constant[1] == 1);  // one value: never split
  CHECK(m.n_value_bins(1) == 1);
  // One non-missing value plus NaN: missing is a value, so the feature can split missing vs
  // present.
  CHECK(m.is_constant[2] == 0);
  CHECK(m.has_missing[2] == 1);
  CHECK(m.offsets == std::vector<Index>{0, 4, 6, 8});
  CHECK(m.total_bins() == 8);

  const BinnedMatrix b = detail::bin_matrix(m, X, 1);
  CHECK_FALSE(b.wide);
  const int expect0[6] = {0, 1, 2, 2, 0, 1};
  for (Index i = 0; i < 6; ++i) CHECK(b.code(i, 0) == expect0[i]);
  CHECK(b.code(1, 2) == m.missing_bin(2));
  CHECK(b.code(0, 2) == 0);
}

TEST_CASE("binning: many distinct values give max_bins quantile bins of near-equal size") {
  const Index n = 10000;
  std::vector<double> x(static_cast<std::size_t>(n));
  Rng rng(3);
  for (auto& v : x) v = rng.uniform() * 100.0;
  const FeatureMatrix X = colmajor(x, n, 1);
  const BinMapper m = detail::fit_bin_mapper(X, {}, 10, 0, 0, 1);
  REQUIRE(m.n_value_bins(0) == 10);
  const BinnedMatrix b = detail::bin_matrix(m, X, 2);
  std::vector<int> count(11, 0);
  for (Index i = 0; i < n; ++i) ++count[static_cast<std::size_t>(b.code(i, 0))];
  for (int k = 0; k < 10; ++k) CHECK(std::abs(count[static_cast<std::size_t>(k)] - 1000) <= 2);
  CHECK(count[10] == 0);  // no NaN, empty missing bin
}

TEST_CASE("binning: edges are strictly increasing floats and the threshold rule holds") {
  const testing::TrainData d = testing::make_dense(3000, 6, 5, 0.1);
  const FeatureMatrix X(d.X());
  for (const int max_bins : {2, 16, 255, 1000}) {
    CAPTURE(max_bins);
    const BinMapper m = detail::fit_bin_mapper(X, {}, max_bins, 0, 0, 1);
    const BinnedMatrix b = detail::bin_matrix(m, X, 1);
    CHECK(b.wide == (max_bins > 255));
    for (Index f = 0; f < 6; ++f) {
      const auto& e = m.edges[static_cast<std::size_t>(f)];
      CHECK(static_cast<int>(e.size()) <= max_bins - 1);
      for (std::size_t k = 0; k < e.size(); ++k) {
        CHECK(static_cast<double>(static_cast<float>(e[k])) == e[k]);
        if (k > 0) CHECK(e[k] > e[k - 1]);
      }
      // The rule prediction relies on: code <= bin  <=>  x <= edge[bin], NaN <=> missing bin.
      for (Index i = 0; i < d.n; ++i) {
        const double x = static_cast<double>(d.x[static_cast<std::size_t>(i * d.f + f)]);
        const int c = b.code(i, f);
        CHECK(c == m.bin_of(f, x));
        if (std::isnan(x)) {
          CHECK(c == m.missing_bin(f));
          continue;
        }
        for (int bin = 0; bin + 1 < m.n_value_bins(f); ++bin) {
          if ((c <= bin) != (x <= m.threshold(f, bin))) {
            FAIL("routing differs at feature " << f << " row " << i << " bin " << bin);
          }
        }
      }
    }
  }
}

TEST_CASE("binning: values equal to an edge, outside the training range and at float limits") {
  const std::vector<double> x = {0.0, 1.0, 2.0, 3.0};
  const BinMapper m = detail::fit_bin_mapper(colmajor(x, 4, 1), {}, 255, 0, 0, 1);
  REQUIRE(m.edges[0] == std::vector<double>{0.5, 1.5, 2.5});
  const std::vector<double> fresh = {0.5, -1e30, 1e30, 2.5000001, kNaN, 1.5};
  const BinnedMatrix b = detail::bin_matrix(m, colmajor(fresh, 6, 1), 1);
  CHECK(b.code(0, 0) == 0);  // x == edge goes left (x <= edge)
  CHECK(b.code(1, 0) == 0);
  CHECK(b.code(2, 0) == 3);
  CHECK(b.code(3, 0) == 3);
  CHECK(b.code(4, 0) == 4);
  CHECK(b.code(5, 0) == 1);
}

TEST_CASE("binning: float32 and float64 inputs, C and Fortran order give the same codes") {
  const testing::TrainData d = testing::make_dense(2000, 7, 11, 0.05);
  const std::vector<double> xd = d.x_double();
  std::vector<double> xcol(xd.size());
  for (Index i = 0; i < d.n; ++i) {
    for (Index j = 0; j < d.f; ++j) {
      xcol[static_cast<std::size_t>(j * d.n + i)] = xd[static_cast<std::size_t>(i * d.f + j)];
    }
  }
  const FeatureMatrix Xf(d.X());
  const FeatureMatrix Xd(MatrixView<const double>::row_major(xd.data(), d.n, d.f));
  const FeatureMatrix Xc(MatrixView<const double>::col_major(xcol.data(), d.n, d.f));
  const BinMapper mf = detail::fit_bin_mapper(Xf, {}, 255, 500, 9, 1);
  const BinMapper md = detail::fit_bin_mapper(Xd, {}, 255, 500, 9, 2);
  const BinMapper mc = detail::fit_bin_mapper(Xc, {}, 255, 500, 9, 4);
  CHECK(mf.edges == md.edges);
  CHECK(mf.edges == mc.edges);
  const BinnedMatrix bf = detail::bin_matrix(mf, Xf, 1);
  const BinnedMatrix bd = detail::bin_matrix(mf, Xd, 2);
  const BinnedMatrix bc = detail::bin_matrix(mf, Xc, 3);
  CHECK(bf.codes8 == bd.codes8);
  CHECK(bf.codes8 == bc.codes8);
}

TEST_CASE("binning: the subsample is seeded and restricted to the given rows") {
  const testing::TrainData d = testing::make_dense(5000, 3, 4, 0.0);
  const FeatureMatrix X(d.X());
  const BinMapper a = detail::fit_bin_mapper(X, {}, 32, 1000, 42, 1);
  const BinMapper b = detail::fit_bin_mapper(X, {}, 32, 1000, 42, 2);
  const BinMapper c = detail::fit_bin_mapper(X, {}, 32, 1000, 43, 1);
  CHECK(a.edges == b.edges);
  CHECK(a.edges != c.edges);
  // Only rows 0..9 given: the edges come from their values only.
  std::vector<Index> rows(10);
  for (Index i = 0; i < 10; ++i) rows[static_cast<std::size_t>(i)] = i;
  const BinMapper r = detail::fit_bin_mapper(X, rows, 255, 0, 0, 1);
  CHECK(r.n_value_bins(0) == 10);
}

TEST_CASE("binning: max_bins above 255 uses 16-bit codes with one bin per distinct value") {
  const Index n = 3000;
  std::vector<double> x(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = static_cast<double>(i % 1000);
  const FeatureMatrix X = colmajor(x, n, 1);
  const BinMapper m = detail::fit_bin_mapper(X, {}, 4000, 0, 0, 1);
  CHECK(m.n_value_bins(0) == 1000);
  const BinnedMatrix b = detail::bin_matrix(m, X, 2);
  REQUIRE(b.wide);
  for (Index i = 0; i < n; ++i) CHECK(b.code(i, 0) == static_cast<int>(i % 1000));
}

TEST_CASE("binning: huge magnitudes keep finite float edges") {
  const std::vector<double> x = {-1e300, -1.0, 1.0, 1e300};
  const BinMapper m = detail::fit_bin_mapper(colmajor(x, 4, 1), {}, 255, 0, 0, 1);
  for (const double e : m.edges[0]) {
    CHECK(std::isfinite(e));
    CHECK(std::abs(e) <= static_cast<double>(FLT_MAX));
  }
  CHECK(m.n_value_bins(0) >= 2);
}
