// SPDX-License-Identifier: Apache-2.0
// Smoothed calibration: the lowess against a row-by-row transcription of statsmodels' algorithm,
// a deterministic miscalibrated case whose ICI / E50 / E90 / Emax are known by hand, the binned
// approximation against the exact fit, the bootstrap band and hierarchy, and every error path.
// (tests/python/test_smooth_calibration.py checks the same fit against statsmodels itself.)
#include <doctest/doctest.h>
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/smooth_calibration.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

using namespace calibrisk;
using namespace calibrisk::metrics;
using V = std::vector<double>;

namespace {

// statsmodels' _smoothers_lowess.lowess (it = 0, delta = 0, resid_weights = w), one row at a
// time, at every sorted x (ties get the value of the first tied row, as statsmodels copies it).
V reference_lowess(const V& x_in, const V& y_in, const V& w_in, double frac) {
  const size_t n = x_in.size();
  std::vector<size_t> o(n);
  std::iota(o.begin(), o.end(), size_t{0});
  std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return x_in[a] < x_in[b]; });
  V x(n), y(n), rw(n), fit(n);
  for (size_t i = 0; i < n; ++i) x[i] = x_in[o[i]], y[i] = y_in[o[i]], rw[i] = w_in[o[i]];
  size_t k = static_cast<size_t>(frac * n + 1e-10);
  k = std::min(std::max<size_t>(k, 2), n);
  size_t left = 0, right = k;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && x[i] == x[i - 1]) {
      fit[i] = fit[i - 1];
      continue;
    }
    const double xv = x[i];
    while (right < n && xv > (x[left] + x[right]) / 2.0) ++left, ++right;
    const double radius = std::max(xv - x[left], x[right - 1] - xv);
    V w(n, 0.0);
    double sum = 0;
    int nonzero = 0;
    for (size_t j = left; j < right; ++j) {
      const double d = std::fabs(x[j] - xv) / radius;
      const double t = 1 - d * d * d;
      w[j] = t * t * t * rw[j];
      sum += w[j];
      nonzero += w[j] > 1e-12;
    }
    REQUIRE(nonzero >= 2);
    double xbar = 0, var = 0;
    for (size_t j = left; j < right; ++j) xbar += w[j] / sum * x[j];
    for (size_t j = left; j < right; ++j) var += w[j] / sum * (x[j] - xbar) * (x[j] - xbar);
    var = std::max(var, 1e-12);
    double f = 0;
    for (size_t j = left; j < right; ++j)
      f += w[j] / sum * (1.0 + (xv - xbar) * (x[j] - xbar) / var) * y[j];
    fit[i] = f;
  }
  V out(n);
  for (size_t i = 0; i < n; ++i) out[o[i]] = fit[i];
  return out;
}

struct Data {
  V y, p;
};

// y ~ Bernoulli(g(p)) with p uniform on (lo, hi); some p rounded to create ties.
template <class G>
Data simulate(size_t n, std::uint64_t seed, G g, bool ties = false) {
  Rng rng(seed);
  Data d;
  for (size_t i = 0; i < n; ++i) {
    double p = 0.02 + 0.96 * rng.uniform();
    if (ties && i % 3 == 0) p = std::round(p * 40) / 40;
    d.p.push_back(p);
    d.y.push_back(rng.uniform() < g(p) ? 1.0 : 0.0);
  }
  return d;
}

}  // namespace

TEST_CASE("smoothed_observed equals statsmodels' lowess algorithm row by row (ties, weights)") {
  const Data d = simulate(
      400, 3, [](double p) { return p * p; }, true);
  for (double frac : {2.0 / 3.0, 0.3, 1.0}) {
    const V ref = reference_lowess(d.p, d.y, V(d.p.size(), 1.0), frac);
    SmoothCalibrationParams prm;
    prm.frac = frac;
    const V got = smoothed_observed(d.y, d.p, {}, prm);
    for (size_t i = 0; i < ref.size(); ++i)
      REQUIRE(got[i] == doctest::Approx(ref[i]).epsilon(1e-12));
  }
  Rng rng(9);
  V w(d.p.size());
  for (double& v : w) v = 0.5 + 2.0 * rng.uniform();
  const V ref = reference_lowess(d.p, d.y, w, 2.0 / 3.0);
  const V got = smoothed_observed(d.y, d.p, w);
  for (size_t i = 0; i < ref.size(); ++i) REQUIRE(got[i] == doctest::Approx(ref[i]).epsilon(1e-12));
}

TEST_CASE(
    "smoothed calibration: known ICI, E50, E90, Emax on a deterministic linear miscalibration") {
  // 49 distinct predictions p_j = j / 50, 100 rows each, exactly 10 + j events: the observed
  // rate is g(p) = 0.1 + 0.5 p exactly. Local linear lowess reproduces a linear truth exactly, so
  // |f(p) - p| = |0.1 - 0.5 p| = |10 - j| / 100 and, by hand: ICI = 0.01 * 825 / 49, Emax = 0.39,
  // E50 = 0.15 and E90 = 0.35 (the 25th and 45th of the 49 sorted values, each repeated 100x).
  V y, p;
  for (int j = 1; j <= 49; ++j)
    for (int r = 0; r < 100; ++r) {
      p.push_back(j / 50.0);
      y.push_back(r < 10 + j ? 1.0 : 0.0);
    }
  const SmoothCalibration sc = smoothed_calibration(y, p);
  CHECK(sc.ici == doctest::Approx(0.01 * 825.0 / 49.0).epsilon(1e-9));
  CHECK(sc.emax == doctest::Approx(0.39).epsilon(1e-9));
  CHECK(sc.e50 == doctest::Approx(0.15).epsilon(1e-9));
  CHECK(sc.e90 == doctest::Approx(0.35).epsilon(1e-9));
  // mean y = 0.1 + 0.5 * mean p = 0.1 + 0.25; mean p = 0.5.
  CHECK(sc.calibration_in_the_large == doctest::Approx(0.1 + 0.25 - 0.5).epsilon(1e-12));
  // events: sum over j of (10 + j) = 490 + 1225
  CHECK(sc.n_events == 1715);
  CHECK_FALSE(sc.binned);
  CHECK(sc.warnings.empty());
  for (size_t j = 0; j < sc.curve.grid.size(); ++j)
    CHECK(sc.curve.observed[j] == doctest::Approx(0.1 + 0.5 * sc.curve.grid[j]).epsilon(1e-9));
  CHECK(sc.curve.grid.front() == 0.02);
  CHECK(sc.curve.grid.back() == 0.98);
}

TEST_CASE("smoothed calibration: the binned fit for large n stays within 1e-4 of the exact fit") {
  const Data d = simulate(8000, 5, [](double p) { return 0.05 + 0.7 * p * p; });
  SmoothCalibrationParams exact;
  exact.max_points = 0;
  const V fe = smoothed_observed(d.y, d.p, {}, exact);
  const V fb = smoothed_observed(d.y, d.p);  // 1000 bins
  double worst = 0;
  for (size_t i = 0; i < fe.size(); ++i) worst = std::max(worst, std::fabs(fe[i] - fb[i]));
  CHECK(worst < 1e-4);
  const SmoothCalibration se = smoothed_calibration(d.y, d.p, {}, exact);
  const SmoothCalibration sb = smoothed_calibration(d.y, d.p);
  CHECK(sb.binned);
  CHECK(sb.n_fit_points >= 1000);
  CHECK(sb.n_fit_points <= 2001);
  CHECK(std::fabs(se.ici - sb.ici) < 1e-5);
  CHECK(std::fabs(se.e90 - sb.e90) < 1e-4);
}

TEST_CASE("smoothed calibration: a large sample recovers the true ICI of a known curve") {
  // P(y = 1 | p) = p^2 with p ~ U(0.02, 0.98): ICI = E[p - p^2] = 0.5 * (0.02 + 0.98) -
  // E[p^2] with E[p^2] = (0.98^3 - 0.02^3) / (3 * 0.96). With frac = 0.1 the lowess bias of a
  // quadratic is ~ h^2 / 10 (h = 0.048 half-window) and the noise at n = 200000 is ~ 2e-3, so
  // 0.01 is a safe tolerance.
  const Data d = simulate(200000, 17, [](double p) { return p * p; });
  SmoothCalibrationParams prm;
  prm.frac = 0.1;
  const SmoothCalibration sc = smoothed_calibration(d.y, d.p, {}, prm);
  const double ep2 = (std::pow(0.98, 3) - std::pow(0.02, 3)) / (3 * 0.96);
  CHECK(sc.ici == doctest::Approx(0.5 - ep2).epsilon(0.01 / (0.5 - ep2)));
  CHECK(sc.emax == doctest::Approx(0.25).epsilon(0.2));  // max of p - p^2 at p = 0.5
}

TEST_CASE("smoothed calibration bootstrap: band, intervals, hierarchy, thread independence") {
  const Data good = simulate(4000, 21, [](double p) { return p; });
  const SortedScores sg(good.y, good.p);
  BootstrapParams bp;
  bp.n_replicates = 60;
  bp.random_state = 4;
  bp.n_threads = 1;
  SmoothCalibrationParams prm;
  prm.grid_points = 20;
  const SmoothCalibrationResult r1 = smoothed_calibration_bootstrap(sg, prm, bp);
  bp.n_threads = 2;
  const SmoothCalibrationResult r2 = smoothed_calibration_bootstrap(sg, prm, bp);
  REQUIRE(r1.intervals.size() == 5);
  CHECK(r1.intervals[0].metric == "ici");
  for (size_t j = 0; j < 5; ++j) {
    CHECK(r1.intervals[j].replicates == r2.intervals[j].replicates);
    CHECK(r1.intervals[j].lower <= r1.intervals[j].upper);
  }
  CHECK(r1.band_lower == r2.band_lower);
  REQUIRE(r1.band_lower.size() == 20);
  REQUIRE(r1.simultaneous_lower.size() == 20);
  for (size_t j = 0; j < 20; ++j) {
    CHECK(r1.band_lower[j] <= r1.band_upper[j]);
    CHECK(r1.simultaneous_lower[j] <= r1.point.curve.observed[j]);
    CHECK(r1.point.curve.observed[j] <= r1.simultaneous_upper[j]);
  }
  CHECK(r1.hierarchy.verdict == "moderate");
  CHECK(r1.hierarchy.mean.met);
  CHECK(r1.hierarchy.moderate.evidence.find("contains the diagonal") != std::string::npos);

  // Overconfident and too high: p' = 0.9 p^0.5 misses the mean and the slope.
  Data bad = good;
  for (double& p : bad.p) p = std::sqrt(p) * 0.9;
  const SmoothCalibrationResult rb =
      smoothed_calibration_bootstrap(SortedScores(bad.y, bad.p), prm, bp);
  CHECK(rb.hierarchy.verdict == "none");
  CHECK(rb.hierarchy.mean.evidence.find("excludes 0") != std::string::npos);
  CHECK(rb.point.ici > 0.1);
  CHECK(rb.intervals[0].lower > 0.1);
}

TEST_CASE("smoothed calibration: too few events warns with the count; verdict insufficient data") {
  V y, p;
  for (int i = 0; i < 600; ++i) {
    p.push_back(0.01 + 0.1 * (i % 50) / 50.0);
    y.push_back(i % 20 == 0 ? 1.0 : 0.0);  // 30 events
  }
  const SortedScores s(y, p);
  BootstrapParams bp;
  bp.n_replicates = 20;
  const SmoothCalibrationResult r = smoothed_calibration_bootstrap(s, {}, bp);
  REQUIRE(r.point.warnings.size() == 1);
  CHECK(r.point.warnings[0].find("only 30 events") != std::string::npos);
  CHECK(r.hierarchy.verdict == "insufficient data");
  CHECK_FALSE(r.hierarchy.mean.assessed);
  CHECK(r.hierarchy.weak.evidence.find("30 events") != std::string::npos);
  // One class only: curve and ICI still defined, the Cox fit is NaN, no exception.
  const SmoothCalibration one = smoothed_calibration(V(50, 0.0), V(50, 0.2));
  CHECK(one.ici == doctest::Approx(0.2));
  CHECK(std::isnan(one.fit.intercept));
}

TEST_CASE("smoothed calibration: bad input and settings") {
  CHECK_THROWS_WITH_AS(smoothed_calibration(V{0, 1}, V{0.2, 1.5}), doctest::Contains("[0, 1]"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(smoothed_calibration(V{0, 1}, V{0.2}),
                       doctest::Contains("one score per label"), InvalidInput);
  SmoothCalibrationParams prm;
  prm.frac = 0.0;
  CHECK_THROWS_WITH_AS(smoothed_calibration(V{0, 1}, V{0.2, 0.4}, {}, prm),
                       doctest::Contains("frac"), InvalidParams);
  prm = {};
  prm.grid_points = 1;
  CHECK_THROWS_WITH_AS(smoothed_calibration(V{0, 1}, V{0.2, 0.4}, {}, prm),
                       doctest::Contains("grid_points"), InvalidParams);
  const SortedScores s(V{0, 1, 1}, V{0.2, 0.4, 0.6});
  CHECK_THROWS_WITH_AS(smoothed_curve_at(s, V{0.1, std::nan("")}), doctest::Contains("grid[1]"),
                       InvalidInput);
  // An exact fit of 300,000 distinct predictions would take minutes: refused, with the fix.
  V yb(300000), pb(300000);
  for (size_t i = 0; i < pb.size(); ++i) pb[i] = (i + 0.5) / pb.size(), yb[i] = i % 2;
  prm = {};
  prm.max_points = 0;
  CHECK_THROWS_WITH_AS(smoothed_calibration(yb, pb, {}, prm), doctest::Contains("set max_points"),
                       InvalidParams);
  // Two rows: statsmodels' minimum window of 2 leaves one positive weight; the weighted mean.
  const V f = smoothed_observed(V{0, 1}, V{0.2, 0.4});
  CHECK(f[0] == 0.0);
  CHECK(f[1] == 1.0);
}
