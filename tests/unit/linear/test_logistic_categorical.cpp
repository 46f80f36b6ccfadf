// SPDX-License-Identifier: Apache-2.0
// Tests of LogisticRegression's categorical features: closed forms of a saturated model, equality
// with the same model fitted on a hand-expanded one-hot design, unseen codes, threads, state and
// errors.
#include <doctest/doctest.h>
#include <calibrisk/linear/logistic.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/logistic_data.hpp"

using namespace calibrisk;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
double logit(double p) { return std::log(p / (1.0 - p)); }

// One categorical column: (code, rows, positives) per group; NaN code = missing.
struct Group {
  double code;
  int rows, pos;
};

struct Table {
  std::vector<double> X, y;
};

Table make_table(const std::vector<Group>& groups) {
  Table t;
  for (const Group& g : groups) {
    for (int i = 0; i < g.rows; ++i) {
      t.X.push_back(g.code);
      t.y.push_back(i < g.pos ? 1.0 : 0.0);
    }
  }
  return t;
}

// n rows: numeric columns 0..p_num-1 (N(0,1)), then categorical columns with `levels[c]` levels
// drawn with Zipf-like frequencies, some NaN; labels from a known model.
struct MixedData {
  Index n = 0, p = 0;
  std::vector<double> X, y;
  std::vector<int> cat_cols;
};

MixedData make_mixed(Index n, Index p_num, const std::vector<int>& levels, std::uint64_t seed,
                     double nan_rate = 0.02) {
  MixedData d;
  d.n = n;
  d.p = p_num + static_cast<Index>(levels.size());
  d.X.resize(static_cast<std::size_t>(n * d.p));
  d.y.resize(static_cast<std::size_t>(n));
  for (std::size_t c = 0; c < levels.size(); ++c) d.cat_cols.push_back(int(p_num + Index(c)));
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    double z = -0.7;
    for (Index j = 0; j < p_num; ++j) {
      const double v = rng.normal() * double(1 + j % 3) + double(j % 4);
      d.X[i * d.p + j] = v;
      z += (j % 2 ? -0.4 : 0.3) * v / double(1 + j % 3);
    }
    for (std::size_t c = 0; c < levels.size(); ++c) {
      // Zipf-like: code = floor(K * u^2) favours small codes.
      const double u = rng.uniform();
      const int k = std::min(levels[c] - 1, static_cast<int>(levels[c] * u * u));
      double v = k;
      if (rng.uniform() < nan_rate) v = kNaN;
      d.X[i * d.p + p_num + Index(c)] = v;
      z += std::isnan(v) ? 0.5 : std::sin(1.0 + k * (c + 1.0)) * 0.8;
    }
    d.y[i] = rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
  }
  return d;
}

// The design a user would build by hand from the fitted expansion (one-hot, reference dropped,
// rare levels pooled, missing indicator): numeric columns first, then the state's level order.
std::vector<double> expand_by_hand(const MixedData& d, const LogisticRegressionState& s,
                                   Index& q_out) {
  std::vector<std::vector<double>> cols;
  std::vector<char> is_cat(static_cast<std::size_t>(d.p), 0);
  for (int j : d.cat_cols) is_cat[j] = 1;
  auto at = [&](Index i, Index j) { return d.X[i * d.p + j]; };
  for (Index j = 0; j < d.p; ++j) {
    if (is_cat[j]) continue;
    std::vector<double> c(d.n);
    for (Index i = 0; i < d.n; ++i) c[i] = at(i, j);
    cols.push_back(c);
  }
  for (std::size_t c = 0; c < s.categorical_features.size(); ++c) {
    const Index j = s.categorical_features[c];
    for (Index k = s.category_level_offsets[c]; k < s.category_level_offsets[c + 1]; ++k) {
      std::vector<double> col(d.n);
      for (Index i = 0; i < d.n; ++i) col[i] = at(i, j) == double(s.category_levels[k]) ? 1 : 0;
      cols.push_back(col);
    }
    if (s.category_pooled_offsets[c + 1] > s.category_pooled_offsets[c]) {
      std::vector<double> col(d.n, 0.0);
      for (Index i = 0; i < d.n; ++i) {
        for (Index k = s.category_pooled_offsets[c]; k < s.category_pooled_offsets[c + 1]; ++k) {
          if (at(i, j) == double(s.category_pooled[k])) col[i] = 1.0;
        }
      }
      cols.push_back(col);
    }
    if (s.category_missing[c]) {
      std::vector<double> col(d.n);
      for (Index i = 0; i < d.n; ++i) col[i] = std::isnan(at(i, j)) ? 1.0 : 0.0;
      cols.push_back(col);
    }
  }
  const Index q = static_cast<Index>(cols.size());
  std::vector<double> out(static_cast<std::size_t>(d.n * q));
  for (Index i = 0; i < d.n; ++i) {
    for (Index k = 0; k < q; ++k) out[i * q + k] = cols[k][i];
  }
  q_out = q;
  return out;
}

}  // namespace

TEST_CASE("logistic categorical: saturated one-column model has the closed-form MLE and SEs") {
  // C = inf, one categorical column: the fitted probability of each level is its observed rate,
  // so intercept = logit(rate of the reference) and coef = logit(rate) - logit(reference rate);
  // the SE of a contrast is Woolf's sqrt(1/a + 1/b + 1/c + 1/d). Code 2 is the most frequent
  // (the reference); codes 4 and 5 have fewer than 10 rows and are pooled; NaN is its own level.
  const Table t =
      make_table({{0, 40, 10}, {1, 30, 20}, {2, 100, 30}, {4, 6, 4}, {5, 3, 1}, {kNaN, 20, 15}});
  LogisticRegressionParams p;
  p.C = std::numeric_limits<double>::infinity();
  p.tol = 1e-12;
  p.categorical_features = {0};
  LogisticRegression m(p);
  const Index n = static_cast<Index>(t.y.size());
  m.fit(Dataset(MatrixView<const double>::col_major(t.X.data(), n, 1),
                VectorView<const double>(t.y.data(), n)));
  const auto& s = m.state();
  REQUIRE(s.category_reference == std::vector<std::int64_t>{2});
  REQUIRE(s.category_levels == std::vector<std::int64_t>{0, 1});
  REQUIRE(s.category_pooled == std::vector<std::int64_t>{4, 5});
  REQUIRE(s.category_missing == std::vector<int>{1});
  REQUIRE(s.coef.size() == 5);  // placeholder, 0, 1, other, missing
  CHECK(s.coef[0] == 0.0);
  const double ref = logit(0.3);
  CHECK(m.intercept() == doctest::Approx(ref).epsilon(1e-9));
  CHECK(s.coef[1] == doctest::Approx(logit(0.25) - ref).epsilon(1e-9));
  CHECK(s.coef[2] == doctest::Approx(logit(20.0 / 30.0) - ref).epsilon(1e-9));
  CHECK(s.coef[3] == doctest::Approx(logit(5.0 / 9.0) - ref).epsilon(1e-9));
  CHECK(s.coef[4] == doctest::Approx(logit(0.75) - ref).epsilon(1e-9));
  auto woolf = [](double a, double b, double c, double d) {
    return std::sqrt(1 / a + 1 / b + 1 / c + 1 / d);
  };
  CHECK(s.coef_std_error[1] == doctest::Approx(woolf(10, 30, 30, 70)).epsilon(1e-7));
  CHECK(s.coef_std_error[3] == doctest::Approx(woolf(5, 4, 30, 70)).epsilon(1e-7));
  CHECK(s.intercept_std_error == doctest::Approx(std::sqrt(1 / 30.0 + 1 / 70.0)).epsilon(1e-7));
  CHECK(std::isnan(s.coef_std_error[0]));

  const CoefficientTable tab = m.coefficient_table(0.95, {"admission_source"});
  REQUIRE(tab.rows.size() == 5);
  CHECK(tab.rows[0].term == "(intercept)");
  CHECK(tab.rows[1].term == "admission_source=0");
  CHECK(tab.rows[2].term == "admission_source=1");
  CHECK(tab.rows[3].term == "admission_source=other");
  CHECK(tab.rows[4].term == "admission_source=missing");
  CHECK(tab.rows[2].odds_ratio == doctest::Approx((20.0 / 10.0) / (30.0 / 70.0)).epsilon(1e-9));
  CHECK(m.design_names({"a"}, {{"home", "transfer", "ER", "x", "clinic", "jail"}})[1] ==
        "a=transfer");
  CHECK(m.design_coef_index() == std::vector<Index>{1, 2, 3, 4});

  // Scoring: kept, reference, pooled and missing levels take their rates; codes never seen
  // (3, 99, -1, 1.5) score as the reference.
  const double rows[] = {0, 1, 2, 4, 5, kNaN, 3, 99, -1, 1.5};
  const double expect[] = {0.25, 2.0 / 3, 0.3, 5.0 / 9, 5.0 / 9, 0.75, 0.3, 0.3, 0.3, 0.3};
  for (int i = 0; i < 10; ++i) {
    CHECK(m.predict_proba_row(&rows[i]) == doctest::Approx(expect[i]).epsilon(1e-9));
  }
  // Bulk scoring of the same values gives the same bits as the row kernel.
  const Eigen::VectorXd bulk = m.predict_proba(MatrixView<const double>::col_major(rows, 10, 1));
  for (int i = 0; i < 10; ++i) CHECK(bulk[i] == m.predict_proba_row(&rows[i]));
  // An infinite code is an error naming the row, not a silent reference.
  const double inf_row[] = {0.0, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH_AS(m.predict_proba(MatrixView<const double>::col_major(inf_row, 2, 1)),
                       doctest::Contains("X[1, 0] is +inf"), InvalidInput);
}

TEST_CASE("logistic categorical: NaN without a missing level scores as the reference") {
  const Table t = make_table({{0, 50, 10}, {1, 50, 30}});
  LogisticRegressionParams p;
  p.categorical_features = {0};
  LogisticRegression m(p);
  m.fit(Dataset(MatrixView<const double>::col_major(t.X.data(), 100, 1),
                VectorView<const double>(t.y.data(), 100)));
  const double ref = 0.0, nan = kNaN;
  CHECK(m.state().category_missing == std::vector<int>{0});
  CHECK(m.predict_proba_row(&nan) == m.predict_proba_row(&ref));
}

TEST_CASE("logistic categorical: equals the fit on the hand-expanded one-hot design") {
  // The same objective on the explicit design (reference dropped, rare levels pooled, missing as
  // an indicator) fitted by the dense numeric path, which is tested against scikit-learn.
  const MixedData d = make_mixed(6000, 4, {6, 40, 3}, 7);
  for (double C : {0.5, std::numeric_limits<double>::infinity()}) {
    CAPTURE(C);
    LogisticRegressionParams p;
    p.C = C;
    p.tol = 1e-11;
    p.categorical_features = d.cat_cols;
    p.min_category_count = 25;
    LogisticRegression m(p);
    m.fit(Dataset(MatrixView<const double>::row_major(d.X.data(), d.n, d.p),
                  VectorView<const double>(d.y.data(), d.n)));
    CHECK(m.fit_info().converged);
    Index q = 0;
    const std::vector<double> E = expand_by_hand(d, m.state(), q);
    LogisticRegressionParams pe;
    pe.C = C;
    pe.tol = 1e-11;
    LogisticRegression ref(pe);
    ref.fit(Dataset(MatrixView<const double>::row_major(E.data(), d.n, q),
                    VectorView<const double>(d.y.data(), d.n)));
    const std::vector<Index> idx = m.design_coef_index();
    REQUIRE(static_cast<Index>(idx.size()) == q);
    CHECK(m.intercept() == doctest::Approx(ref.intercept()).epsilon(1e-7));
    for (Index k = 0; k < q; ++k) {
      CAPTURE(k);
      CHECK(m.coef()[idx[k]] == doctest::Approx(ref.coef()[k]).epsilon(1e-7));
      CHECK(m.state().coef_std_error[idx[k]] ==
            doctest::Approx(ref.state().coef_std_error[k]).epsilon(1e-6));
    }
    CHECK(m.state().intercept_std_error ==
          doctest::Approx(ref.state().intercept_std_error).epsilon(1e-6));
    CHECK(m.objective() == doctest::Approx(ref.objective()).epsilon(1e-10));

    // L-BFGS (no Hessian, gradient from the level indices) reaches the same solution.
    p.newton_max_columns = 4;
    p.tol = 1e-9;
    p.max_iter = 1000;
    LogisticRegression lb(p);
    lb.fit(Dataset(MatrixView<const double>::row_major(d.X.data(), d.n, d.p),
                   VectorView<const double>(d.y.data(), d.n)));
    for (Index k = 0; k < q; ++k) {
      CHECK(lb.coef()[idx[k]] == doctest::Approx(m.coef()[idx[k]]).epsilon(1e-5));
    }
  }
}

TEST_CASE("logistic categorical: bit-identical for 1 and 2 threads and after from_state") {
  // Large enough (n (p+2)^2 >= 2^23) for the threaded path.
  const MixedData d = make_mixed(70000, 10, {300, 12, 80}, 11);
  auto fit = [&](int threads) {
    LogisticRegressionParams p;
    p.categorical_features = d.cat_cols;
    p.n_threads = threads;
    LogisticRegression m(p);
    m.fit(Dataset(MatrixView<const double>::row_major(d.X.data(), d.n, d.p),
                  VectorView<const double>(d.y.data(), d.n)));
    return m;
  };
  const LogisticRegression a = fit(1), b = fit(2);
  CHECK(a.coef() == b.coef());
  CHECK(a.intercept() == b.intercept());
  const auto& sa = a.state().coef_std_error;
  const auto& sb = b.state().coef_std_error;
  REQUIRE(sa.size() == sb.size());
  for (std::size_t k = 0; k < sa.size(); ++k) {
    CHECK(((std::isnan(sa[k]) && std::isnan(sb[k])) || sa[k] == sb[k]));  // NaN: placeholders
  }
  const LogisticRegression r = LogisticRegression::from_state(a.state(), a.params());
  const auto X = MatrixView<const double>::row_major(d.X.data(), d.n, d.p);
  const Eigen::VectorXd pa = a.predict_proba(X), pr = r.predict_proba(X);
  CHECK((pa.array() == pr.array()).all());
}

TEST_CASE("logistic categorical: row scoring gives the bits of the full-width formula") {
  // Scoring skips the categorical columns in the numeric sum and reads level coefficients from a
  // code -> value table. Oracle: the formula of the model file (four interleaved partial sums over
  // every column, 0 * code for a categorical placeholder, then each level's coefficient found by
  // searching the state's level lists), evaluated here by hand; it must give the same bits.
  const MixedData m0 = make_mixed(5000, 7, {5, 30, 4}, 19);
  const std::vector<Index> order = {7, 0, 1, 2, 8, 3, 4, 5, 6, 9};  // categoricals at 0, 4, 9
  MixedData d = m0;
  d.cat_cols = {0, 4, 9};
  for (Index i = 0; i < d.n; ++i) {
    for (Index j = 0; j < d.p; ++j) d.X[i * d.p + j] = m0.X[i * m0.p + order[j]];
  }
  LogisticRegressionParams p;
  p.categorical_features = d.cat_cols;
  p.min_category_count = 30;
  LogisticRegression m(p);
  m.fit(Dataset(MatrixView<const double>::row_major(d.X.data(), d.n, d.p),
                VectorView<const double>(d.y.data(), d.n)));
  const LogisticRegressionState& s = m.state();
  // Codes the training data never had (new, negative, fractional) score as the reference.
  d.X[0 * d.p + 4] = 999.0, d.X[1 * d.p + 4] = -3.0, d.X[2 * d.p + 0] = 2.5;
  auto level_coef = [&](std::size_t c, double v, double& out) {
    const Index base = d.p + static_cast<Index>(s.indicator_features.size());
    Index pos = base;
    for (std::size_t e = 0; e < c; ++e) {
      pos += s.category_level_offsets[e + 1] - s.category_level_offsets[e];
      pos += s.category_pooled_offsets[e + 1] > s.category_pooled_offsets[e] ? 1 : 0;
      pos += s.category_missing[e];
    }
    const Index n_kept = s.category_level_offsets[c + 1] - s.category_level_offsets[c];
    const bool pooled = s.category_pooled_offsets[c + 1] > s.category_pooled_offsets[c];
    if (std::isnan(v)) {
      if (s.category_missing[c]) out = s.coef[pos + n_kept + (pooled ? 1 : 0)];
      return s.category_missing[c] != 0;
    }
    for (Index k = 0; k < n_kept; ++k) {
      if (v == double(s.category_levels[s.category_level_offsets[c] + k])) {
        out = s.coef[pos + k];
        return true;
      }
    }
    for (Index k = s.category_pooled_offsets[c]; k < s.category_pooled_offsets[c + 1]; ++k) {
      if (v == double(s.category_pooled[k])) {
        out = s.coef[pos + n_kept];
        return true;
      }
    }
    return false;
  };
  std::vector<double> z_ref(static_cast<std::size_t>(d.n));
  for (Index i = 0; i < d.n; ++i) {
    const double* row = d.X.data() + i * d.p;
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (Index j = 0; j < d.p; ++j) {
      const double v = std::isnan(row[j]) ? s.impute_values[j] : row[j];
      acc[j % 4] += s.coef[j] * v;
    }
    double z = s.intercept + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
    for (std::size_t c = 0; c < s.categorical_features.size(); ++c) {
      double b = 0.0;
      if (level_coef(c, row[s.categorical_features[c]], b)) z += b;
    }
    z_ref[static_cast<std::size_t>(i)] = z;
    CAPTURE(i);
    REQUIRE(m.decision_function_row(row) == z);
  }
  const auto X = MatrixView<const double>::row_major(d.X.data(), d.n, d.p);
  const Eigen::VectorXd z = m.decision_function(X);
  for (Index i = 0; i < d.n; ++i) REQUIRE(z[i] == z_ref[static_cast<std::size_t>(i)]);
  // An infinite code in a middle categorical column is still reported by the bulk paths.
  d.X[3 * d.p + 4] = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(m.predict_proba(X), doctest::Contains("X[3, 4] is -inf"), InvalidInput);
}

TEST_CASE("logistic categorical: bad codes, columns and states are rejected by name") {
  std::vector<double> X = {0, 1, 2, 1, 0, 2, 1, 0};
  std::vector<double> y = {0, 1, 0, 1, 0, 1, 1, 0};
  auto fit_with = [&](double bad, std::vector<int> cols) {
    std::vector<double> Xb = X;
    Xb[5] = bad;
    LogisticRegressionParams p;
    p.categorical_features = std::move(cols);
    LogisticRegression m(p);
    m.fit(Dataset(MatrixView<const double>::row_major(Xb.data(), 4, 2),
                  VectorView<const double>(y.data(), 4)));
  };
  CHECK_THROWS_WITH_AS(fit_with(-1.0, {1}),
                       doctest::Contains("categorical feature 1 has X[2, 1] = -1"), InvalidInput);
  CHECK_THROWS_WITH_AS(fit_with(2.5, {1}), doctest::Contains("integers >= 0"), InvalidInput);
  CHECK_THROWS_WITH_AS(fit_with(2e6, {1}), doctest::Contains("codes must be below 1000000"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(fit_with(1.0, {2}), doctest::Contains("lists column 2 but X has 2"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(fit_with(1.0, {1, 1}), doctest::Contains("lists column 1 twice"),
                       InvalidParams);
  CHECK_THROWS_WITH_AS(fit_with(1.0, {-1}), doctest::Contains("categorical_features"),
                       InvalidParams);

  const Table t = make_table({{0, 30, 10}, {1, 30, 20}, {2, 5, 2}});
  LogisticRegressionParams p;
  p.categorical_features = {0};
  LogisticRegression m(p);
  m.fit(Dataset(MatrixView<const double>::col_major(t.X.data(), 65, 1),
                VectorView<const double>(t.y.data(), 65)));
  LogisticRegressionState s = m.state();
  s.category_pooled = {0};  // the reference cannot also be pooled
  CHECK_THROWS_WITH_AS(LogisticRegression::from_state(s), doctest::Contains("must be distinct"),
                       InvalidInput);
  s = m.state();
  s.category_levels.push_back(7);  // one more level than coefficients
  s.category_level_offsets.back() += 1;
  CHECK_THROWS_WITH_AS(LogisticRegression::from_state(s), doctest::Contains("coef"), InvalidInput);
  s = m.state();
  s.coef[0] = 1.0;
  CHECK_THROWS_WITH_AS(LogisticRegression::from_state(s), doctest::Contains("placeholders"),
                       InvalidInput);
}
