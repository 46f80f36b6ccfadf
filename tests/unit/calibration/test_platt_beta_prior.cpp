// SPDX-License-Identifier: Apache-2.0
// Platt scaling, beta calibration and prior correction: optimality conditions, closed forms.
#include <doctest/doctest.h>
#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/calibration/prior.hpp>
#include <calibrisk/core/random.hpp>

#include <cmath>
#include <string>
#include <vector>

using V = std::vector<double>;
using calibrisk::sigmoid;

namespace {
struct Data {
  V s, y, w;
};
Data logistic_data(int n, double a, double b, std::uint64_t seed) {
  calibrisk::Rng rng(seed);
  Data d;
  for (int i = 0; i < n; ++i) {
    const double s = 2.0 * rng.normal();
    d.s.push_back(s);
    d.y.push_back(rng.uniform() < sigmoid(a * s + b) ? 1.0 : 0.0);
    d.w.push_back(0.5 + rng.uniform());
  }
  return d;
}
}  // namespace

TEST_CASE("platt: the gradient of the weighted smoothed-target log loss vanishes at the fit") {
  const Data d = logistic_data(2000, 1.3, -0.4, 11);
  calibrisk::PlattCalibrator c;
  c.fit(d.s, d.y, d.w);
  double w0 = 0, w1 = 0;
  for (std::size_t i = 0; i < d.y.size(); ++i) (d.y[i] == 1 ? w1 : w0) += d.w[i];
  const double t1 = (w1 + 1) / (w1 + 2), t0 = 1 / (w0 + 2);
  double ga = 0, gb = 0;
  for (std::size_t i = 0; i < d.s.size(); ++i) {
    const double r = d.w[i] * (sigmoid(c.a() * d.s[i] + c.b()) - (d.y[i] == 1 ? t1 : t0));
    ga += r * d.s[i];
    gb += r;
  }
  CHECK(std::abs(ga) < 1e-7);
  CHECK(std::abs(gb) < 1e-7);
  CHECK(c.a() == doctest::Approx(1.3).epsilon(0.15));  // generating slope, sampling error
  CHECK(c.fit_info().converged);
}

TEST_CASE("platt: converges on separable scores with smoothed targets, flags 0/1 targets") {
  V s{-3, -2, -1, 1, 2, 3}, y{0, 0, 0, 1, 1, 1};
  calibrisk::PlattCalibrator c;
  c.fit(s, y);
  CHECK(c.fit_info().converged);
  CHECK(std::isfinite(c.a()));
  CHECK(c.predict_one(3.0) < 1.0);
  calibrisk::PlattParams p;
  p.smoothed_targets = false;
  p.max_iter = 30;
  calibrisk::PlattCalibrator hard(p);
  hard.fit(s, y);
  CHECK_FALSE(hard.fit_info().converged);
  CHECK(hard.fit_info().notes.size() == 1);
  CHECK(hard.predict_one(3.0) > 0.999999);
}

TEST_CASE("platt: a negative slope (calibration reverses the ranking) is kept and noted") {
  // Issue 11, section 4: Platt fitted on scores anti-correlated with the labels (or noise) gets
  // a < 0 and inverts the model's ranking. The fit keeps the optimum but says so.
  const Data d = logistic_data(2000, -0.8, 0.0, 9);
  calibrisk::PlattCalibrator c;
  c.fit(d.s, d.y);
  REQUIRE(c.a() < 0.0);
  CHECK(c.predict_one(-2.0) > c.predict_one(2.0));  // the order is reversed
  REQUIRE(c.fit_info().notes.size() == 1);
  CHECK(c.fit_info().notes[0].find("reverses the model's ranking") != std::string::npos);
  // Positively related scores give no such note.
  const Data up = logistic_data(2000, 0.8, 0.0, 9);
  calibrisk::PlattCalibrator ok;
  ok.fit(up.s, up.y);
  CHECK(ok.a() > 0.0);
  CHECK(ok.fit_info().notes.empty());
}

TEST_CASE("platt: probability input uses the clipped logit; state round trip is exact") {
  const Data d = logistic_data(500, 0.8, 0.3, 5);
  V p(d.s.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = sigmoid(d.s[i]);
  calibrisk::PlattParams pp;
  pp.input = calibrisk::ScoreKind::kProbability;
  calibrisk::PlattCalibrator on_prob(pp), on_margin;
  on_prob.fit(p, d.y);
  on_margin.fit(d.s, d.y);
  CHECK(on_prob.a() == doctest::Approx(on_margin.a()).epsilon(1e-8));
  CHECK(on_prob.b() == doctest::Approx(on_margin.b()).epsilon(1e-8));
  CHECK(on_prob.predict_one(0.0) ==
        doctest::Approx(sigmoid(on_prob.a() * std::log(1e-12 / (1 - 1e-12)) + on_prob.b())));
  const auto r = calibrisk::PlattCalibrator::from_state(on_prob.state());
  for (double q : {0.0, 0.01, 0.5, 0.93, 1.0}) CHECK(r.predict_one(q) == on_prob.predict_one(q));
  V bad{0.5, 1.5};
  V yb{0, 1};
  CHECK_THROWS_WITH_AS(on_prob.fit(bad, yb), doctest::Contains("expects probabilities in [0, 1]"),
                       calibrisk::InvalidInput);
  CHECK_THROWS_WITH_AS(calibrisk::PlattCalibrator::from_state({std::nan(""), 0.0}),
                       doctest::Contains("state.a"), calibrisk::InvalidInput);
  pp.eps = 0.7;
  CHECK_THROWS_WITH_AS(calibrisk::PlattCalibrator{pp}, doctest::Contains("PlattParams.eps"),
                       calibrisk::InvalidParams);
}

TEST_CASE("beta: recovers the parameters of data drawn from a beta calibration map") {
  calibrisk::Rng rng(21);
  const double a = 1.7, b = 0.6, c = -0.3;
  V p, y;
  for (int i = 0; i < 40000; ++i) {
    const double q = 0.02 + 0.96 * rng.uniform();
    p.push_back(q);
    y.push_back(rng.uniform() < sigmoid(a * std::log(q) - b * std::log1p(-q) + c) ? 1.0 : 0.0);
  }
  calibrisk::BetaCalibrator cal;
  cal.fit(p, y);
  CHECK(cal.state().a == doctest::Approx(a).epsilon(0.1));
  CHECK(cal.state().b == doctest::Approx(b).epsilon(0.15));
  CHECK(cal.fit_info().notes.empty());
  const auto r = calibrisk::BetaCalibrator::from_state(cal.state());
  CHECK(r.predict_one(0.3) == cal.predict_one(0.3));
}

TEST_CASE("beta: a negative coefficient is dropped and the model refitted (a, b >= 0)") {
  // Drawn from a = 1, b = -0.8 (not monotone: rises, then falls near 1): the full fit has
  // b < 0, so the paper's rule refits on ln p alone.
  calibrisk::Rng rng(4);
  V p, y;
  for (int i = 0; i < 20000; ++i) {
    const double q = rng.uniform() * 0.98 + 0.01;
    p.push_back(q);
    y.push_back(rng.uniform() < sigmoid(std::log(q) + 0.8 * std::log1p(-q) + 0.5) ? 1.0 : 0.0);
  }
  calibrisk::BetaCalibrator cal;
  cal.fit(p, y);
  CHECK(cal.state().a >= 0.0);
  CHECK(cal.state().b >= 0.0);
  CHECK(cal.state().b == 0.0);
  CHECK(cal.fit_info().notes.size() >= 1);
  for (double q = 0.02; q < 0.98; q += 0.05) CHECK(cal.predict_one(q) <= cal.predict_one(q + 0.01));
}

TEST_CASE("prior correction: closed form and recovery of odds") {
  // logit(0.5) = 0, shifted by -ln(4): p = 1 / (1 + 4) = 0.2.
  CHECK(calibrisk::prior_correct_one(0.5, calibrisk::prior_shift(1.0, 4.0)) ==
        doctest::Approx(0.2).epsilon(1e-15));
  V p{0.0, 0.3, 0.9, 1.0};
  const auto q = calibrisk::prior_correction(calibrisk::VectorView<const double>(p), 2.0, 6.0);
  CHECK(q[0] == 0.0);
  CHECK(q[3] == 1.0);
  // Odds divided by w1 / w0 = 3.
  CHECK(q[1] / (1 - q[1]) == doctest::Approx(0.3 / 0.7 / 3.0).epsilon(1e-13));
  CHECK(calibrisk::prior_shift_from_prevalence(0.5, 0.1) == doctest::Approx(-std::log(9.0)));
  CHECK_THROWS_WITH_AS(calibrisk::prior_shift(0.0, 1.0), doctest::Contains("finite and > 0"),
                       calibrisk::InvalidParams);
  V bad{0.2, 1.2};
  CHECK_THROWS_WITH_AS(calibrisk::prior_correction(calibrisk::VectorView<const double>(bad), 1, 2),
                       doctest::Contains("p[1] is 1.2"), calibrisk::InvalidInput);
}
