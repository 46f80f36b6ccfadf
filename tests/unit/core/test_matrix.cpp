// SPDX-License-Identifier: Apache-2.0
// Tests of the strided views, the class/sample weight folding and the shared input validation.
#include <doctest/doctest.h>
#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace calibrisk;

TEST_CASE("matrix view: row- and column-major views read the same elements") {
  // 2x3 matrix [[1,2,3],[4,5,6]] stored both ways.
  std::vector<double> c = {1, 2, 3, 4, 5, 6};
  std::vector<double> f = {1, 4, 2, 5, 3, 6};
  auto vc = MatrixView<const double>::row_major(c.data(), 2, 3);
  auto vf = MatrixView<const double>::col_major(f.data(), 2, 3);
  CHECK(vc.is_row_major());
  CHECK(vf.is_col_major());
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(vc(i, j) == vf(i, j));
  CHECK(vc(1, 2) == 6.0);
  // Eigen maps see the same matrix without copying.
  CHECK(vc.eigen().data() == c.data());
  CHECK(vc.eigen()(1, 0) == 4.0);
  CHECK(vf.eigen()(0, 2) == 3.0);
  CHECK((vc.eigen() - vf.eigen()).norm() == 0.0);
  auto rows = vc.middle_rows(1, 1);
  CHECK(rows.rows() == 1);
  CHECK(rows(0, 1) == 5.0);
}

TEST_CASE("matrix view: a strided slice (every other column) is viewed in place") {
  std::vector<float> a = {1, 2, 3, 4, 5, 6, 7, 8};            // 2x4 row-major
  MatrixView<const float> every_other(a.data(), 2, 2, 4, 2);  // columns 0 and 2
  CHECK(every_other(0, 1) == 3.0f);
  CHECK(every_other(1, 1) == 7.0f);
  FeatureMatrix fm(every_other);
  CHECK(fm.is_float());
  CHECK(fm.cols() == 2);
  double sum = fm.visit([](const auto& m) {
    double s = 0;
    for (Index i = 0; i < m.rows(); ++i)
      for (Index j = 0; j < m.cols(); ++j) s += m(i, j);
    return s;
  });
  CHECK(sum == 1 + 3 + 5 + 7);
}

TEST_CASE("vector view: std::vector, Eigen and strided sources") {
  std::vector<double> v = {1, 2, 3, 4};
  VectorView<const double> a(v);
  CHECK(a.size() == 4);
  CHECK(a[3] == 4.0);
  VectorView<const double> s(v.data(), 2, 2);
  CHECK(s[1] == 3.0);
  CHECK(s.eigen().sum() == 4.0);
  Eigen::VectorXd e = Eigen::VectorXd::LinSpaced(3, 0, 2);
  VectorView<const double> ev(e);
  CHECK(ev[2] == 2.0);
}

TEST_CASE("weights: balanced class weights are n / (2 n_c), as scikit-learn") {
  std::vector<double> y = {0, 0, 0, 1};
  std::vector<double> sw = {1, 2, 1, 3};
  // Weighted totals as scikit-learn >= 1.8: n = 7, n0 = 4, n1 = 3: w0 = 7/8, w1 = 7/6.
  auto w = effective_weights(y, sw, ClassWeight::balanced());
  CHECK(w[0] == doctest::Approx(7.0 / 8.0).epsilon(1e-15));
  CHECK(w[1] == doctest::Approx(2 * 7.0 / 8.0).epsilon(1e-15));
  CHECK(w[3] == doctest::Approx(3 * 7.0 / 6.0).epsilon(1e-15));
  // Without sample weights they are row counts: n = 4, n0 = 3, n1 = 1.
  auto u = effective_weights(y, {}, ClassWeight::balanced());
  CHECK(u[0] == doctest::Approx(4.0 / 6.0).epsilon(1e-15));
  CHECK(u[3] == doctest::Approx(2.0).epsilon(1e-15));
  auto e = effective_weights(y, {}, ClassWeight::explicit_weights(0.5, 4.0));
  CHECK(e[0] == 0.5);
  CHECK(e[3] == 4.0);
  auto n = effective_weights(y, {}, ClassWeight::none());
  CHECK(n.sum() == 4.0);
}

TEST_CASE("validation: every bad input is named") {
  std::vector<double> x = {0, 1, 2, 3, 4, 5};  // 3x2
  auto X = MatrixView<const double>::row_major(x.data(), 3, 2);
  std::vector<double> y = {0, 1, 1};
  SUBCASE("label count mismatch") {
    std::vector<double> y2 = {0, 1};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y2), "fit"),
                         doctest::Contains("one label per row"), InvalidInput);
  }
  SUBCASE("label not 0/1 names the value and row") {
    std::vector<double> y2 = {0, 2, 1};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y2), "fit"), doctest::Contains("y[1] is 2"),
                         InvalidInput);
  }
  SUBCASE("one class only") {
    std::vector<double> y2 = {1, 1, 1};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y2), "fit"), doctest::Contains("only class 1"),
                         InvalidInput);
  }
  SUBCASE("negative, NaN and all-zero weights") {
    std::vector<double> w = {1, -1, 1};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y, w), "fit"),
                         doctest::Contains("sample_weight[1]"), InvalidInput);
    std::vector<double> wn = {1, std::nan(""), 1};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y, wn), "fit"), doctest::Contains("finite"),
                         InvalidInput);
    std::vector<double> wz = {0, 0, 0};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y, wz), "fit"),
                         doctest::Contains("all sample weights are zero"), InvalidInput);
    std::vector<double> w1 = {1, 0, 0};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y, w1), "fit"),
                         doctest::Contains("class 1 has zero sample weight"), InvalidInput);
    std::vector<double> ws = {1, 1};
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X, y, ws), "fit"),
                         doctest::Contains("one weight per row"), InvalidInput);
  }
  SUBCASE("infinite feature names row and column; NaN is accepted") {
    std::vector<double> xi = x;
    xi[3] = -std::numeric_limits<double>::infinity();
    auto Xi = MatrixView<const double>::row_major(xi.data(), 3, 2);
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(Xi, y), "fit"),
                         doctest::Contains("X[1, 1] is -inf"), InvalidInput);
    xi[3] = std::nan("");
    CHECK_NOTHROW(validate_dataset(Dataset(Xi, y), "fit"));
  }
  SUBCASE("zero rows or zero features") {
    auto X0 = MatrixView<const double>::row_major(x.data(), 0, 2);
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(X0, VectorView<const double>()), "fit"),
                         doctest::Contains("0 rows"), InvalidInput);
    auto Xc = MatrixView<const double>::row_major(x.data(), 3, 0);
    CHECK_THROWS_WITH_AS(validate_dataset(Dataset(Xc, y), "fit"), doctest::Contains("0 columns"),
                         InvalidInput);
  }
  SUBCASE("class weight must be positive") {
    CHECK_THROWS_AS(ClassWeight::explicit_weights(0, 1).validate("fit"), InvalidParams);
    CHECK_NOTHROW(ClassWeight::explicit_weights(0.5, 2).validate("fit"));
  }
  SUBCASE("predict-time column count") {
    CHECK_THROWS_WITH_AS(validate_features(X, 5, "predict"), doctest::Contains("fitted with 5"),
                         InvalidInput);
  }
}

TEST_CASE("parallel_for: results and exceptions do not depend on the thread count") {
  std::vector<double> out(1000);
  for (int nt : {1, 2, 4}) {
    detail::parallel_for(0, 1000, nt, [&](Index i) { out[i] = std::sqrt(double(i)); });
    CHECK(out[999] == std::sqrt(999.0));
    CHECK_THROWS_WITH_AS(detail::parallel_for(0, 100, nt,
                                              [](Index i) {
                                                if (i == 57) throw InvalidInput("boom 57");
                                              }),
                         "boom 57", InvalidInput);
  }
  CHECK_THROWS_AS(detail::resolve_threads(-1), InvalidParams);
}

TEST_CASE("random: streams are reproducible and distributions sane") {
  Rng a(42), b(42), c(42, 1);
  CHECK(a.next() == b.next());
  CHECK(a.next() != c.next());
  Rng r(7);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    sum += z;
    sum2 += z * z;
  }
  // Mean 0 and variance 1 within ~5 standard errors.
  CHECK(std::abs(sum / n) < 5.0 / std::sqrt(double(n)));
  CHECK(std::abs(sum2 / n - 1.0) < 5.0 * std::sqrt(2.0 / n));
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 50000; ++i) ++counts[r.below(5)];
  for (int k : counts) CHECK(std::abs(k - 10000) < 500);
}
