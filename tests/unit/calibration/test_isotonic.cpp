// SPDX-License-Identifier: Apache-2.0
// Isotonic calibration: hand-computed PAV cases, invariants, the radix sort path and errors.
#include <doctest/doctest.h>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/core/random.hpp>
#include "calibration/common.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

using calibrisk::IsotonicCalibrator;
using calibrisk::IsotonicParams;
using V = std::vector<double>;

namespace {
// O(n^2) reference: pool by exact score, then repeatedly merge the first violating pair.
V reference_fit_at_knots(const V& s, const V& y, const V& w, V* xs_out) {
  std::vector<std::size_t> o(s.size());
  std::iota(o.begin(), o.end(), 0);
  std::sort(o.begin(), o.end(), [&](auto a, auto b) { return s[a] < s[b]; });
  V xs, sy, sw;
  for (auto i : o) {
    if (w[i] <= 0) continue;
    if (!xs.empty() && xs.back() == s[i]) {
      sy.back() += w[i] * y[i];
      sw.back() += w[i];
    } else {
      xs.push_back(s[i]);
      sy.push_back(w[i] * y[i]);
      sw.push_back(w[i]);
    }
  }
  std::vector<std::vector<std::size_t>> blocks;
  for (std::size_t i = 0; i < xs.size(); ++i) blocks.push_back({i});
  auto mean = [&](const std::vector<std::size_t>& b) {
    double a = 0, c = 0;
    for (auto i : b) a += sy[i], c += sw[i];
    return a / c;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t b = 0; b + 1 < blocks.size(); ++b) {
      if (mean(blocks[b]) >= mean(blocks[b + 1])) {
        blocks[b].insert(blocks[b].end(), blocks[b + 1].begin(), blocks[b + 1].end());
        blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(b) + 1);
        changed = true;
        break;
      }
    }
  }
  V fit(xs.size());
  for (auto& b : blocks) {
    const double m = mean(b);
    for (auto i : b) fit[i] = m;
  }
  *xs_out = xs;
  return fit;
}
}  // namespace

TEST_CASE("isotonic: hand-computed pool-adjacent-violators with ties and weights") {
  // Scores 1,2,2,3 with labels 1,0,1,0: the tie at 2 pools to 0.5; then 1 > 0.5 > 0 violate
  // and everything pools to the mean 0.5.
  V s{1, 2, 2, 3}, y{1, 0, 1, 0};
  IsotonicCalibrator c;
  c.fit(s, y);
  CHECK(c.predict_one(1.0) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(c.predict_one(3.0) == doctest::Approx(0.5).epsilon(1e-15));
  // Increasing labels: identity on the knots, linear in between, clipped outside.
  V s2{0, 1, 2}, y2{0, 0, 1}, w2{1, 3, 1};
  c.fit(s2, y2, w2);
  CHECK(c.predict_one(1.5) == doctest::Approx(0.5).epsilon(1e-15));  // halfway from 0 to 1
  CHECK(c.predict_one(-5.0) == 0.0);
  CHECK(c.predict_one(7.0) == 1.0);
  CHECK(c.n_knots() == 3);
}

TEST_CASE("isotonic: matches an O(n^2) reference on random tied, weighted data (both sort paths)") {
  for (int n : {50, 300, 9000}) {
    calibrisk::Rng rng(7, static_cast<std::uint64_t>(n));
    V s(n), y(n), w(n);
    for (int i = 0; i < n; ++i) {
      s[i] = static_cast<double>(rng.below(n > 1000 ? 2000 : 40)) / 7.0 - 2.0;
      y[i] = rng.uniform() < 0.2 + 0.6 * (s[i] + 2.0) / (n > 1000 ? 286.0 : 6.0) ? 1.0 : 0.0;
      w[i] = rng.uniform() < 0.1 ? 0.0 : 0.1 + 2.0 * rng.uniform();
    }
    y[0] = 1.0, y[1] = 0.0, w[0] = w[1] = 1.0;
    V xs;
    const V ref = reference_fit_at_knots(s, y, w, &xs);
    IsotonicCalibrator c;
    c.fit(s, y, w);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      CHECK(c.predict_one(xs[i]) == doctest::Approx(ref[i]).epsilon(1e-12));
    }
    const auto out = c.predict(calibrisk::VectorView<const double>(s));
    for (int i = 1; i < n; ++i) {
      // Non-decreasing in the score.
      for (int j : {i - 1}) {
        if (s[j] <= s[i]) CHECK(out[j] <= out[i] + 1e-15);
      }
    }
  }
}

TEST_CASE("isotonic: flat runs are stored as their end points only") {
  V s{0, 1, 2, 3, 4, 5}, y{0, 0, 0, 1, 1, 1};
  IsotonicCalibrator c;
  c.fit(s, y);
  CHECK(c.state().x == V{0, 2, 3, 5});
  CHECK(c.state().y == V{0, 0, 1, 1});
}

TEST_CASE("isotonic: y_min and y_max clip the fitted values") {
  IsotonicParams p;
  p.y_min = 0.1;
  p.y_max = 0.8;
  IsotonicCalibrator c(p);
  V s{0, 1, 2, 3}, y{0, 0, 1, 1};
  c.fit(s, y);
  CHECK(c.predict_one(0.0) == 0.1);
  CHECK(c.predict_one(3.0) == 0.8);
  p.y_min = 2.0;
  CHECK_THROWS_WITH_AS(IsotonicCalibrator{p}, doctest::Contains("must be <= y_max"),
                       calibrisk::InvalidParams);
}

TEST_CASE("isotonic: state round trip predicts bit-identically; bad states are rejected") {
  V s{0.1, 0.4, 0.35, 0.8, 0.7}, y{0, 1, 0, 1, 1};
  IsotonicCalibrator c;
  c.fit(s, y);
  const auto r = IsotonicCalibrator::from_state(c.state());
  for (double t = -0.5; t < 1.5; t += 0.013) CHECK(r.predict_one(t) == c.predict_one(t));
  CHECK_THROWS_WITH_AS(IsotonicCalibrator::from_state({{0.0, 0.0}, {0.1, 0.2}}),
                       doctest::Contains("strictly increasing"), calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(IsotonicCalibrator::from_state({{0.0, 1.0}, {0.3, 0.2}}),
                       doctest::Contains("non-decreasing"), calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(IsotonicCalibrator::from_state({{0.0}, {0.3, 0.2}}),
                       doctest::Contains("state.y has 2"), calibrisk::InvalidInput);
  CHECK_THROWS_AS(IsotonicCalibrator().state(), calibrisk::NotFitted);
}

TEST_CASE("isotonic: bad input is rejected with the index and the fix") {
  IsotonicCalibrator c;
  V s{0.1, std::numeric_limits<double>::quiet_NaN(), 0.3}, y{0, 1, 1};
  CHECK_THROWS_WITH_AS(c.fit(s, y), doctest::Contains("scores[1] is nan"), calibrisk::InvalidInput);
  V s2{0.1, 0.2, 0.3};
  V y1{1, 1, 1};
  CHECK_THROWS_WITH_AS(c.fit(s2, y1), doctest::Contains("only class 1"), calibrisk::InvalidInput);
  V y2{0, 1};
  CHECK_THROWS_WITH_AS(c.fit(s2, y2), doctest::Contains("one label per score"),
                       calibrisk::InvalidInput);
  V y3{0, 1, 1}, w{1, -1, 1};
  CHECK_THROWS_WITH_AS(c.fit(s2, y3, w), doctest::Contains("sample_weight[1] is -1"),
                       calibrisk::InvalidInput);
  V w0{1, 0, 0};
  CHECK_THROWS_WITH_AS(c.fit(s2, y3, w0), doctest::Contains("class 1 has zero sample weight"),
                       calibrisk::InvalidInput);
  c.fit(s2, y3);
  V bad{0.2, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH_AS(c.predict(calibrisk::VectorView<const double>(bad)),
                       doctest::Contains("scores[1] is inf"), calibrisk::InvalidInput);
}

TEST_CASE("isotonic: radix argsort is a stable sort of doubles including negatives and zeros") {
  calibrisk::Rng rng(3);
  V s(20000);
  for (auto& v : s) v = std::round(rng.normal() * 50.0) / 8.0;
  s[5] = -0.0;
  s[6] = 0.0;
  const auto order = calibrisk::detail::argsort_scores(s);
  for (std::size_t i = 1; i < order.size(); ++i) {
    REQUIRE(s[order[i - 1]] <= s[order[i]]);
    if (s[order[i - 1]] == s[order[i]] && !(s[order[i]] == 0.0)) {
      REQUIRE(order[i - 1] < order[i]);
    }
  }
}
