// SPDX-License-Identifier: Apache-2.0
// Venn-ABERS: the CSD precomputation equals two isotonic fits per test score (brute force).
#include <doctest/doctest.h>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/venn_abers.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <utility>
#include <vector>

using V = std::vector<double>;

namespace {

// (p0, p1) at t by brute force: two weighted isotonic fits on the calibration set plus (t, label)
// with weight 1 (IsotonicCalibrator pools ties and drops zero-weight rows as scikit-learn does).
std::pair<double, double> brute_force_pair(const V& s, const V& y, const V& w, double t) {
  double p[2];
  for (int label = 0; label < 2; ++label) {
    V s2 = s, y2 = y, w2 = w;
    s2.push_back(t);
    y2.push_back(label);
    w2.push_back(1.0);
    calibrisk::IsotonicCalibrator iso;
    iso.fit(s2, y2, w2);
    p[label] = iso.predict_one(t);
  }
  return {p[0], p[1]};
}

}  // namespace

TEST_CASE("venn-abers: (p0, p1) equal isotonic fits on the augmented calibration set") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    calibrisk::Rng rng(seed);
    const int n = 12 + static_cast<int>(seed) * 9;
    V s, y, w;
    for (int i = 0; i < n; ++i) {
      s.push_back(static_cast<double>(rng.below(10)));  // many ties
      y.push_back(rng.uniform() < 0.15 + 0.07 * s.back() ? 1.0 : 0.0);
      w.push_back(seed % 2 ? 1.0 : 0.25 + rng.uniform());
    }
    y[0] = 0.0, y[1] = 1.0;
    calibrisk::VennAbersCalibrator va;
    va.fit(s, y, w);
    for (double t = -1.0; t <= 10.0; t += 0.5) {  // on, between, below and above the scores
      // Both classes are present in the augmented set whatever the label.
      const auto [p0, p1] = brute_force_pair(s, y, w, t);
      const auto r = va.predict_interval_one(t);
      CHECK(r.p0 == doctest::Approx(p0).epsilon(1e-12));
      CHECK(r.p1 == doctest::Approx(p1).epsilon(1e-12));
      CHECK(r.p0 <= r.p1);
      CHECK(r.p == doctest::Approx(p1 / (1 - p0 + p1)).epsilon(1e-12));
    }
  }
}

TEST_CASE("venn-abers: interval narrows with more calibration data; state round trip exact") {
  calibrisk::Rng rng(9);
  auto width_at = [&](int n) {
    V s, y;
    for (int i = 0; i < n; ++i) {
      s.push_back(rng.uniform());
      y.push_back(rng.uniform() < s.back() ? 1.0 : 0.0);
    }
    calibrisk::VennAbersCalibrator va;
    va.fit(s, y);
    return va;
  };
  const auto small = width_at(50), big = width_at(5000);
  CHECK(big.predict_interval_one(0.5).width() < small.predict_interval_one(0.5).width());
  const auto r = calibrisk::VennAbersCalibrator::from_state(big.state());
  for (double t = -0.1; t < 1.1; t += 0.01) CHECK(r.predict_one(t) == big.predict_one(t));
  auto st = big.state();
  st.f0[0] = 0.2;
  CHECK_THROWS_WITH_AS(calibrisk::VennAbersCalibrator::from_state(st),
                       doctest::Contains("f0[0] must be 0"), calibrisk::InvalidInput);
  st.f0.pop_back();
  CHECK_THROWS_WITH_AS(calibrisk::VennAbersCalibrator::from_state(st),
                       doctest::Contains("one more than state.x"), calibrisk::InvalidInput);
  CHECK_THROWS_AS(calibrisk::VennAbersCalibrator().predict_one(0.3), calibrisk::NotFitted);
}

TEST_CASE("venn-abers: linear-time hull sweep agrees with brute force on many distinct scores") {
  calibrisk::Rng rng(77);
  const int n = 3000;
  V s, y, w;
  for (int i = 0; i < n; ++i) {
    s.push_back(std::round(rng.normal() * 300.0) / 100.0);
    y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-1.5 * s.back())) ? 1.0 : 0.0);
    w.push_back(0.2 + rng.uniform());
  }
  calibrisk::VennAbersCalibrator va;
  va.fit(s, y, w);
  for (int q = 0; q < 60; ++q) {
    const double t = q % 3 == 0 ? s[rng.below(n)] : rng.normal() * 3.5;
    const auto [p0, p1] = brute_force_pair(s, y, w, t);
    const auto r = va.predict_interval_one(t);
    CHECK(r.p0 == doctest::Approx(p0).epsilon(1e-11));
    CHECK(r.p1 == doctest::Approx(p1).epsilon(1e-11));
  }
}

namespace {

// Compares every table entry of a fit with the brute force: each distinct score, a point between
// each pair of neighbours, and points below and above all scores.
void check_all_positions(const V& s, const V& y, const V& w, double tol) {
  calibrisk::VennAbersCalibrator va;
  va.fit(s, y, w);
  const V& x = va.state().x;
  V probes{x.front() - 1.0, x.back() + 1.0};
  for (std::size_t j = 0; j < x.size(); ++j) {
    probes.push_back(x[j]);
    if (j + 1 < x.size()) probes.push_back(0.5 * (x[j] + x[j + 1]));
  }
  for (double t : probes) {
    const auto [p0, p1] = brute_force_pair(s, y, w, t);
    const auto r = va.predict_interval_one(t);
    INFO("t = " << t << ", k = " << x.size());
    CHECK(r.p0 == doctest::Approx(p0).epsilon(tol));
    CHECK(r.p1 == doctest::Approx(p1).epsilon(tol));
    CHECK(r.p0 <= r.p1);
  }
}

}  // namespace

TEST_CASE("venn-abers: heavy ties, random and zero weights, k up to thousands vs brute force") {
  // Every table entry is checked, so the brute force costs O(k * n): keep n moderate.
  for (const int levels : {3, 40, 700, 6000}) {
    calibrisk::Rng rng(static_cast<std::uint64_t>(1000 + levels));
    const int n = levels < 1000 ? 1200 : 4000;
    V s, y, w;
    for (int i = 0; i < n; ++i) {
      s.push_back(static_cast<double>(rng.below(static_cast<std::uint64_t>(levels))) / 10.0);
      y.push_back(rng.uniform() < 0.2 + 0.6 * s.back() * 10.0 / levels ? 1.0 : 0.0);
      // Random weights over four orders of magnitude, and some rows with weight 0.
      w.push_back(rng.uniform() < 0.1 ? 0.0 : std::exp(4.0 * (rng.uniform() - 0.5) * 2.3));
    }
    y[0] = 0.0, y[1] = 1.0, w[0] = w[1] = 1.0;
    if (levels < 1000) {
      check_all_positions(s, y, w, 1e-11);
    } else {
      // k in the thousands: every table entry against brute force would take n * k fits; probe
      // a random subset of positions instead.
      calibrisk::VennAbersCalibrator va;
      va.fit(s, y, w);
      const V& x = va.state().x;
      CHECK(x.size() > 2000);
      for (int q = 0; q < 120; ++q) {
        const std::size_t j = static_cast<std::size_t>(rng.below(x.size()));
        const double t = q % 2 == 0 || j + 1 == x.size() ? x[j] : 0.5 * (x[j] + x[j + 1]);
        const auto [p0, p1] = brute_force_pair(s, y, w, t);
        const auto r = va.predict_interval_one(t);
        CHECK(r.p0 == doctest::Approx(p0).epsilon(1e-11));
        CHECK(r.p1 == doctest::Approx(p1).epsilon(1e-11));
      }
    }
  }
}

TEST_CASE("venn-abers: many small random calibration sets, every position vs brute force") {
  // Small sets make short hulls whose vertices are popped and pushed in every pattern.
  calibrisk::Rng rng(2015);
  for (int rep = 0; rep < 300; ++rep) {
    const int n = 2 + static_cast<int>(rng.below(60));
    const auto levels = 1 + rng.below(rep % 3 == 0 ? 6 : 200);
    V s, y, w;
    for (int i = 0; i < n; ++i) {
      s.push_back(static_cast<double>(rng.below(levels)));
      y.push_back(rng.uniform() < 0.5 ? 1.0 : 0.0);
      const double u = rng.uniform();
      w.push_back(rep % 2 == 0 ? 1.0 : u < 0.15 ? 0.0 : 3.0 * rng.uniform());
    }
    y[0] = 0.0, y[1] = 1.0, w[0] = w[1] = 1.0;
    INFO("rep = " << rep);
    check_all_positions(s, y, w, 1e-12);
  }
}

TEST_CASE("venn-abers: adversarial shapes equal the brute force") {
  calibrisk::Rng rng(4242);
  const int n = 60;
  auto weights = [&](bool weighted) {
    V w(n, 1.0);
    if (weighted) {
      for (double& v : w) v = rng.uniform() < 0.15 ? 0.0 : 0.05 + 3.0 * rng.uniform();
    }
    return w;
  };
  for (const bool weighted : {false, true}) {
    INFO("weighted = " << weighted);
    {  // all labels 0 but one, all labels 1 but one
      for (const double majority : {0.0, 1.0}) {
        V s, y;
        for (int i = 0; i < n; ++i) {
          s.push_back(static_cast<double>(i % 17));
          y.push_back(majority);
        }
        V w = weights(weighted);
        // fit needs both classes: one minority row at the lowest / highest score.
        y[0] = 1.0 - majority;
        w[0] = 1.0;
        check_all_positions(s, y, w, 1e-12);
        s[0] = 16.0;
        check_all_positions(s, y, w, 1e-12);
      }
    }
    {  // sorted alternating labels, increasing and decreasing
      V s, y;
      for (int i = 0; i < n; ++i) {
        s.push_back(static_cast<double>(i));
        y.push_back(i % 2);
      }
      V w = weights(weighted);
      w[0] = w[1] = 1.0;
      check_all_positions(s, y, w, 1e-12);
      for (double& v : s) v = -v;  // the same labels in reverse score order
      check_all_positions(s, y, w, 1e-12);
      for (int i = 0; i < n; ++i) y[i] = i < n / 2 ? 1.0 : 0.0;  // fully reversed: one pool
      check_all_positions(s, y, w, 1e-12);
    }
    {  // a single distinct score and two distinct scores
      V s(n, 0.25), y(n, 0.0);
      for (int i = 0; i < n; i += 3) y[i] = 1.0;
      V w = weights(weighted);
      w[0] = w[1] = 1.0;
      calibrisk::VennAbersCalibrator one;
      one.fit(s, y, w);
      CHECK(one.state().x.size() == 1);
      check_all_positions(s, y, w, 1e-12);
      for (int i = n / 2; i < n; ++i) s[i] = 0.75;
      check_all_positions(s, y, w, 1e-12);
      for (int i = 0; i < n; ++i) y[i] = s[i] > 0.5 ? 0.0 : 1.0;  // the two scores in reverse
      y[n - 1] = 1.0;
      w[n - 1] = 1.0;
      check_all_positions(s, y, w, 1e-12);
    }
  }
}
