// SPDX-License-Identifier: Apache-2.0
// Target statistics of categorical codes (calibrisk/trees/target_stats.hpp). Oracles: hand-computed
// out-of-fold, ordered and full-data values on a 10-row example; invariants (a row's own label and
// its patient's labels never change its value; same bits for any thread count; no patient in two
// folds); the split "TS <= t" routed row by row against the converted category set.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/target_stats.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <vector>

using namespace calibrisk;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The 10-row example. Level sums by fold (folds alternate 0, 1):
//   fold 0 rows 0 2 4 6 8: w = 5, wy = 4;  fold 1 rows 1 3 5 7 9: w = 5, wy = 1.
//   level 0: rows 0 1 2 7 -> fold 0 (w 2, wy 2), fold 1 (w 2, wy 0)
//   level 1: rows 3 4 8   -> fold 0 (w 2, wy 1), fold 1 (w 1, wy 0)
//   level 2: rows 5 9     -> fold 0 (none),      fold 1 (w 2, wy 1)
struct Ten {
  std::vector<double> codes{0, 0, 0, 1, 1, 2, kNaN, 0, 1, 2};
  std::vector<double> y{1, 0, 1, 0, 0, 1, 1, 0, 1, 0};
  std::vector<int> folds{0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
};

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Random {
  Index n;
  std::vector<double> codes;  // column-major, 3 columns with 3, 50 and 400 levels (Zipf-ish)
  std::vector<double> y, w, groups;
  explicit Random(Index n_rows, std::uint64_t seed = 7) : n(n_rows) {
    Rng r(seed);
    const int levels[3] = {3, 50, 400};
    codes.resize(static_cast<std::size_t>(3 * n));
    for (int j = 0; j < 3; ++j) {
      for (Index i = 0; i < n; ++i) {
        const double u = r.uniform();
        double c = std::floor(levels[j] * u * u * u);  // skewed towards small codes
        if (r.uniform() < 0.05) c = kNaN;
        codes[static_cast<std::size_t>(j * n + i)] = c;
      }
    }
    for (Index i = 0; i < n; ++i) {
      y.push_back(r.bernoulli(0.3) ? 1.0 : 0.0);
      w.push_back(0.5 + r.uniform());
      groups.push_back(static_cast<double>(r.below(static_cast<std::uint64_t>(n / 4 + 1))));
    }
  }
  MatrixView<const double> view() const {
    return MatrixView<const double>::col_major(codes.data(), n, 3);
  }
};

}  // namespace

TEST_CASE("target stats: out-of-fold values match the hand-computed 10-row example") {
  const Ten t;
  std::vector<double> out(10);
  out_of_fold_target_stats(t.codes, t.y, {}, t.folds, 2, /*smoothing=*/1.0, out);
  // prior of fold 0's rows = mean y of fold 1 = 1/5; prior of fold 1's rows = 4/5.
  const double expected[10] = {0.2 / 3,  // level 0, fold 0: (0 + 0.2) / (2 + 1)
                               2.8 / 3,  // level 0, fold 1: (2 + 0.8) / (2 + 1)
                               0.2 / 3,
                               1.8 / 3,  // level 1, fold 1: (1 + 0.8) / (2 + 1)
                               0.2 / 2,  // level 1, fold 0: (0 + 0.2) / (1 + 1)
                               0.8 / 1,  // level 2, fold 1: nothing in fold 0 -> the prior
                               kNaN,     // missing code
                               2.8 / 3, 0.2 / 2, 0.8 / 1};
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    if (std::isnan(expected[i])) {
      CHECK(std::isnan(out[static_cast<std::size_t>(i)]));
    } else {
      CHECK(out[static_cast<std::size_t>(i)] == doctest::Approx(expected[i]).epsilon(1e-15));
    }
  }
}

TEST_CASE("target stats: full-data table of the 10-row example, with weights") {
  const Ten t;
  SUBCASE("unweighted") {
    const TargetStatTable tab = target_stat_table(t.codes, t.y, {}, 1.0);
    CHECK(tab.prior == 0.5);
    REQUIRE(tab.n_levels() == 3);
    CHECK(tab.value[0] == doctest::Approx(2.5 / 5).epsilon(1e-15));  // (2 + 0.5) / (4 + 1)
    CHECK(tab.value[1] == doctest::Approx(1.5 / 4).epsilon(1e-15));  // (1 + 0.5) / (3 + 1)
    CHECK(tab.value[2] == doctest::Approx(1.5 / 3).epsilon(1e-15));  // (1 + 0.5) / (2 + 1)
    CHECK(tab.lookup(1.0) == tab.value[1]);
    CHECK(std::isnan(tab.lookup(kNaN)));
    CHECK(std::isnan(tab.lookup(3.0)));  // unseen: the missing direction
    CHECK(std::isnan(tab.lookup(-1.0)));
    CHECK(std::isnan(tab.lookup(0.5)));
  }
  SUBCASE("sample weight 3 on row 0 and class weights {0: 1, 1: 2}") {
    // Effective weights: row 0 -> 3 * 2 = 6; other y = 1 rows -> 2; y = 0 rows -> 1.
    std::vector<double> sw(10, 1.0);
    sw[0] = 3.0;
    TargetStatParams p;
    p.smoothing = 1.0;
    p.class_weight = ClassWeight::explicit_weights(1.0, 2.0);
    const auto enc = encode_target_stats(MatrixView<const double>::col_major(t.codes.data(), 10, 1),
                                         t.y, sw, {}, p);
    const TargetStatTable& tab = enc.tables[0];
    // total w = 6 + 2*4 (rows 2 5 6 8) + 5 (rows 1 3 4 7 9) = 19, wy = 6 + 8 = 14.
    CHECK(tab.prior == doctest::Approx(14.0 / 19).epsilon(1e-15));
    // level 0: rows 0 (6, y1) 1 (1) 2 (2, y1) 7 (1): w 10, wy 8.
    CHECK(tab.value[0] == doctest::Approx((8 + 14.0 / 19) / 11).epsilon(1e-15));
    CHECK(tab.weight[0] == 10.0);
    CHECK(tab.weighted_y[0] == 8.0);
  }
  SUBCASE("a level present only with zero weight is unseen") {
    std::vector<double> w(10, 1.0);
    w[5] = w[9] = 0.0;  // the two rows of level 2
    const TargetStatTable tab = target_stat_table(t.codes, t.y, w, 1.0);
    REQUIRE(tab.n_levels() == 3);
    CHECK(std::isnan(tab.value[2]));
  }
}

TEST_CASE("target stats: ordered values match the hand-computed 10-row example") {
  const Ten t;
  TargetStatOrder order;
  for (Index i = 0; i < 10; ++i) order.rows.push_back(i);
  SUBCASE("identity order, one row per block") {
    for (Index i = 0; i <= 10; ++i) order.block_start.push_back(i);
    std::vector<double> out(10);
    ordered_target_stats(t.codes, t.y, {}, order, 1.0, out);
    // Running prior (wy + 0.5) / (w + 1) over the rows before; level sums over the rows before.
    const double expected[10] = {0.5,         // prior 0.5, nothing before
                                 1.75 / 2,    // prior 1.5/2, level 0 (w 1, wy 1)
                                 1.5 / 3,     // prior 1.5/3, level 0 (w 2, wy 1)
                                 2.5 / 4,     // prior 2.5/4, level 1 empty
                                 0.5 / 2,     // prior 0.5, level 1 (w 1, wy 0)
                                 2.5 / 6,     // prior 2.5/6, level 2 empty
                                 kNaN,        // missing (its label still enters later priors)
                                 2.5625 / 4,  // prior 4.5/8, level 0 (w 3, wy 2)
                                 0.5 / 3,     // prior 5/10, level 1 (w 2, wy 0)
                                 1.55 / 2};   // prior 5.5/10, level 2 (w 1, wy 1)
    for (int i = 0; i < 10; ++i) {
      CAPTURE(i);
      if (std::isnan(expected[i])) {
        CHECK(std::isnan(out[static_cast<std::size_t>(i)]));
      } else {
        CHECK(out[static_cast<std::size_t>(i)] == doctest::Approx(expected[i]).epsilon(1e-15));
      }
    }
  }
  SUBCASE("rows of one block (patient) read the state before the block") {
    order.block_start = {0, 2, 10};  // rows 0 and 1 form the first group
    std::vector<double> out(10);
    ordered_target_stats(t.codes, t.y, {}, order, 1.0, out);
    CHECK(out[0] == 0.5);
    CHECK(out[1] == 0.5);  // not row 0's label
    // Rows 2..9 see rows 0 and 1: prior (1 + 0.5) / 3, level 0 (w 2, wy 1).
    CHECK(out[2] == doctest::Approx((1 + 0.5) / 3).epsilon(1e-15));
    CHECK(out[9] == doctest::Approx(0.5).epsilon(1e-15));  // level 2 empty -> prior 0.5
  }
}

TEST_CASE("target stats: a row's own label and its patient's labels never enter its value") {
  const Random d(600);
  for (auto scheme : {TargetStatScheme::kOutOfFold, TargetStatScheme::kOrdered}) {
    for (bool grouped : {false, true}) {
      CAPTURE(static_cast<int>(scheme));
      CAPTURE(grouped);
      TargetStatParams p;
      p.scheme = scheme;
      p.smoothing = 2.0;
      p.seed = 11;
      const VectorView<const double> g =
          grouped ? VectorView<const double>(d.groups) : VectorView<const double>();
      const auto base = encode_target_stats(d.view(), d.y, d.w, g, p);
      int changed_elsewhere = 0;
      for (Index i : {Index{3}, Index{100}, Index{377}, Index{599}}) {
        std::vector<double> y2 = d.y;
        y2[static_cast<std::size_t>(i)] = 1.0 - y2[static_cast<std::size_t>(i)];
        const auto flipped = encode_target_stats(d.view(), y2, d.w, g, p);
        for (Index r = 0; r < d.n; ++r) {
          const bool same_unit = grouped ? d.groups[static_cast<std::size_t>(r)] ==
                                               d.groups[static_cast<std::size_t>(i)]
                                         : r == i;
          for (Index j = 0; j < 3; ++j) {
            if (same_unit) {
              CHECK(same_bits(base.train(r, j), flipped.train(r, j)));
            } else if (!same_bits(base.train(r, j), flipped.train(r, j))) {
              ++changed_elsewhere;
            }
          }
        }
        // Control: the full-data table (which a leaky encoding would use) does move.
        CHECK_FALSE(same_bits(base.tables[1].prior, flipped.tables[1].prior));
      }
      CHECK(changed_elsewhere > 0);  // the labels do reach the other rows' values
    }
  }
}

TEST_CASE("target stats: the same bits for any thread count") {
  const Random d(3000, 21);
  for (auto scheme : {TargetStatScheme::kOutOfFold, TargetStatScheme::kOrdered}) {
    TargetStatParams p;
    p.scheme = scheme;
    p.seed = 5;
    p.class_weight = ClassWeight::balanced();
    p.n_threads = 1;
    const auto one = encode_target_stats(d.view(), d.y, d.w, d.groups, p);
    for (int nt : {2, 3, 8}) {
      p.n_threads = nt;
      const auto many = encode_target_stats(d.view(), d.y, d.w, d.groups, p);
      REQUIRE(many.train.size() == one.train.size());
      CHECK(std::memcmp(many.train.data(), one.train.data(),
                        sizeof(double) * static_cast<std::size_t>(one.train.size())) == 0);
      for (std::size_t j = 0; j < 3; ++j) {
        CHECK(std::memcmp(many.tables[j].value.data(), one.tables[j].value.data(),
                          sizeof(double) * one.tables[j].value.size()) == 0);
      }
    }
  }
}

TEST_CASE("target stats: folds keep every patient in one fold, independent of row order") {
  const Random d(5000, 3);
  const auto folds = target_stat_folds(d.n, d.groups, 5, 42);
  std::map<double, int> fold_of;
  std::vector<int> groups_per_fold(5, 0);
  for (Index i = 0; i < d.n; ++i) {
    const int f = folds[static_cast<std::size_t>(i)];
    REQUIRE(f >= 0);
    REQUIRE(f < 5);
    auto it = fold_of.emplace(d.groups[static_cast<std::size_t>(i)], f);
    CHECK(it.first->second == f);  // no patient in two folds
    if (it.second) ++groups_per_fold[static_cast<std::size_t>(f)];
  }
  // ~1250 patients hashed to 5 folds: each gets 250 +- 5 standard deviations (sd ~ 14).
  for (int c : groups_per_fold) {
    CHECK(c > 180);
    CHECK(c < 320);
  }
  // The fold is a function of (seed, patient): a reversed row order gives the same fold per
  // patient.
  std::vector<double> rev(d.groups.rbegin(), d.groups.rend());
  const auto folds_rev = target_stat_folds(d.n, rev, 5, 42);
  for (Index i = 0; i < d.n; ++i) {
    CHECK(folds_rev[static_cast<std::size_t>(d.n - 1 - i)] == folds[static_cast<std::size_t>(i)]);
  }
  // Another seed reassigns patients; -0 and +0 are one patient.
  CHECK(target_stat_folds(d.n, d.groups, 5, 43) != folds);
  const std::vector<double> zeros{0.0, -0.0};
  const auto fz = target_stat_folds(2, zeros, 5, 1);
  CHECK(fz[0] == fz[1]);
}

TEST_CASE("target stats: the ordered scheme keeps a patient's rows in one block") {
  const Random d(2000, 9);
  const TargetStatOrder o = target_stat_order(d.n, d.groups, 4);
  std::set<Index> seen;
  std::set<double> finished;
  for (std::size_t b = 0; b + 1 < o.block_start.size(); ++b) {
    const double g =
        d.groups[static_cast<std::size_t>(o.rows[static_cast<std::size_t>(o.block_start[b])])];
    CHECK(finished.count(g) == 0);
    for (Index p = o.block_start[b]; p < o.block_start[b + 1]; ++p) {
      const Index r = o.rows[static_cast<std::size_t>(p)];
      CHECK(d.groups[static_cast<std::size_t>(r)] == g);
      seen.insert(r);
    }
    finished.insert(g);
  }
  CHECK(static_cast<Index>(seen.size()) == d.n);  // a permutation of the rows
}

TEST_CASE("target stats: the split TS <= t equals the converted category set on every row") {
  const Random d(4000, 13);
  TargetStatParams p;
  p.smoothing = 3.0;
  const auto enc = encode_target_stats(d.view(), d.y, d.w, {}, p);
  const TargetStatTable& tab = enc.tables[2];
  // Rows to score: training codes, missing, unseen (>= K, negative, fractional).
  std::vector<double> rows(d.codes.begin() + 2 * d.n, d.codes.end());
  for (double c : {kNaN, static_cast<double>(tab.n_levels()), 1e6, -1.0, 2.5}) rows.push_back(c);
  for (double t : {0.1, 0.25, 0.3, 0.31, 0.5, tab.prior}) {
    for (bool missing_left : {false, true}) {
      const auto words = ts_threshold_to_bitset(tab, t, missing_left);
      const auto codes = ts_threshold_to_codes(tab, t, missing_left);
      CHECK(std::is_sorted(codes.begin(), codes.end()));
      for (double c : rows) {
        const double v = tab.lookup(c);
        const bool by_ts = std::isnan(v) ? missing_left : v <= t;
        // A bitset node: codes the training data never had follow the missing direction.
        bool by_set;
        if (!(c >= 0) || c >= static_cast<double>(tab.n_levels()) || c != std::floor(c)) {
          by_set = missing_left;
        } else {
          const auto k = static_cast<std::size_t>(c);
          by_set = (words[k / 32] >> (k % 32)) & 1u;
        }
        CAPTURE(c);
        CHECK(by_ts == by_set);
      }
    }
  }
}

TEST_CASE("target stats: the converted set of a hand-made table") {
  TargetStatTable tab;
  tab.value = {0.3, kNaN, 0.1, 0.7, 0.2};
  CHECK(ts_threshold_to_codes(tab, 0.25, false) == std::vector<int>{2, 4});
  CHECK(ts_threshold_to_codes(tab, 0.25, true) == std::vector<int>{1, 2, 4});
  CHECK(ts_threshold_to_codes(tab, 0.3, false) == std::vector<int>{0, 2, 4});  // <= is inclusive
  CHECK(ts_threshold_to_bitset(tab, 0.25, true) == std::vector<std::uint32_t>{0b10110u});
  TargetStatTable wide;
  wide.value.assign(40, 1.0);
  wide.value[33] = 0.0;
  CHECK(ts_threshold_to_bitset(wide, 0.5, false) == std::vector<std::uint32_t>{0u, 2u});
}

TEST_CASE("target stats: a split on an ancestor's TS is a category set over the child codes") {
  // Codes 0..5 with categories {0, 0, 1, 1, 2, unknown}; rows carry both columns.
  const std::vector<int> parent{0, 0, 1, 1, 2, -1};
  const std::vector<double> code{0, 1, 2, 3, 4, 0, 2, 3, 1, 4, 5};
  const std::vector<double> y{1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1};
  std::vector<double> cat;
  for (double c : code) {
    const int p = parent[static_cast<std::size_t>(c)];
    cat.push_back(p < 0 ? kNaN : p);
  }
  const TargetStatTable anc = target_stat_table(cat, y, {}, 1.0);
  const TargetStatTable over_codes = compose_target_stat_table(anc, parent);
  REQUIRE(over_codes.n_levels() == 6);
  for (double t : {0.3, 0.45, 0.5, 0.7}) {
    for (bool ml : {false, true}) {
      const auto words = ts_threshold_to_bitset(over_codes, t, ml);
      for (std::size_t i = 0; i < code.size(); ++i) {
        const double v = anc.lookup(cat[i]);  // the split as the trees see it
        const bool by_ts = std::isnan(v) ? ml : v <= t;
        const auto k = static_cast<std::size_t>(code[i]);
        CHECK(by_ts == static_cast<bool>((words[0] >> k) & 1u));
      }
    }
  }
  CHECK(std::isnan(over_codes.value[5]));
  CHECK(over_codes.value[2] == over_codes.value[3]);
}

TEST_CASE("target stats: bad input is a clear error") {
  const Ten t;
  std::vector<double> codes2(20);
  for (int i = 0; i < 10; ++i) {
    codes2[static_cast<std::size_t>(i)] = 0.0;
    codes2[static_cast<std::size_t>(10 + i)] = t.codes[static_cast<std::size_t>(i)];
  }
  TargetStatParams p;
  auto enc = [&](std::vector<double> c, std::vector<double> y, std::vector<double> g = {}) {
    return encode_target_stats(MatrixView<const double>::col_major(c.data(), 10, 2), y, {}, g, p);
  };
  SUBCASE("negative, fractional and huge codes name the column and row") {
    auto c = codes2;
    c[13] = -1.0;
    CHECK_THROWS_WITH_AS(enc(c, t.y), doctest::Contains("column 1 has code -1 at row 3"),
                         InvalidInput);
    c[13] = 1.5;
    CHECK_THROWS_WITH_AS(enc(c, t.y), doctest::Contains("code 1.5 at row 3"), InvalidInput);
    c[13] = 2e6;
    CHECK_THROWS_WITH_AS(enc(c, t.y), doctest::Contains("integers in [0, 1000000)"), InvalidInput);
  }
  SUBCASE("labels, settings and a single patient") {
    auto y = t.y;
    y[4] = 2.0;
    CHECK_THROWS_WITH_AS(enc(codes2, y), doctest::Contains("y[4] = 2"), InvalidInput);
    p.n_folds = 1;
    CHECK_THROWS_WITH_AS(enc(codes2, t.y), doctest::Contains("n_folds must be >= 2"),
                         InvalidParams);
    p.n_folds = 5;
    p.smoothing = -1.0;
    CHECK_THROWS_WITH_AS(enc(codes2, t.y), doctest::Contains("smoothing must be finite"),
                         InvalidParams);
    p.smoothing = 1.0;
    CHECK_THROWS_WITH_AS(enc(codes2, t.y, std::vector<double>(10, 7.0)),
                         doctest::Contains("no out-of-fold data"), InvalidInput);
    std::vector<double> g(10, 1.0);
    g[2] = kNaN;
    CHECK_THROWS_WITH_AS(enc(codes2, t.y, g), doctest::Contains("groups[2]"), InvalidInput);
  }
  SUBCASE("scoring never throws on codes, but checks the column count") {
    const auto e = enc(codes2, t.y);
    std::vector<double> bad{-3.0, 1e300, kNaN, 0.5};
    const Eigen::MatrixXd out =
        apply_target_stats({e.tables[1]}, MatrixView<const double>::col_major(bad.data(), 4, 1), 1);
    for (int i = 0; i < 4; ++i) CHECK(std::isnan(out(i, 0)));
    CHECK_THROWS_WITH_AS(
        apply_target_stats(e.tables, MatrixView<const double>::col_major(bad.data(), 4, 1)),
        doctest::Contains("2 tables"), InvalidInput);
  }
}
