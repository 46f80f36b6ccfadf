// SPDX-License-Identifier: Apache-2.0
// Venn-ABERS: the CSD precomputation equals two isotonic fits per test score (brute force).
#include <doctest/doctest.h>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/venn_abers.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <vector>

using V = std::vector<double>;

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
      double p[2];
      for (int label = 0; label < 2; ++label) {
        V s2 = s, y2 = y, w2 = w;
        s2.push_back(t);
        y2.push_back(label);
        w2.push_back(1.0);
        // Both classes are present in the augmented set whatever the label.
        calibrisk::IsotonicCalibrator iso;
        iso.fit(s2, y2, w2);
        p[label] = iso.predict_one(t);
      }
      const auto r = va.predict_interval_one(t);
      CHECK(r.p0 == doctest::Approx(p[0]).epsilon(1e-12));
      CHECK(r.p1 == doctest::Approx(p[1]).epsilon(1e-12));
      CHECK(r.p0 <= r.p1);
      CHECK(r.p == doctest::Approx(p[1] / (1 - p[0] + p[1])).epsilon(1e-12));
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

TEST_CASE("venn-abers: galloping bridge search agrees with brute force on many distinct scores") {
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
    const auto r = va.predict_interval_one(t);
    CHECK(r.p0 == doctest::Approx(p[0]).epsilon(1e-11));
    CHECK(r.p1 == doctest::Approx(p[1]).epsilon(1e-11));
  }
}
