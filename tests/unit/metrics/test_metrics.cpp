// SPDX-License-Identifier: Apache-2.0
// Hand-computed cases, invariants and every error path of the metrics module.
#include <doctest/doctest.h>
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

using namespace calibrisk;
using namespace calibrisk::metrics;
using V = std::vector<double>;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Brute-force AUC over all (positive, negative) pairs, ties counting one half.
double pair_auc(const V& y, const V& p, const V& w) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t j = 0; j < y.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        const double ww = w[i] * w[j];
        den += ww;
        num += ww * (p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0);
      }
  return num / den;
}
}  // namespace

TEST_CASE("sorted scores: radix order equals a stable sort by decreasing score") {
  Rng rng(7);
  V s(5000), y(5000);
  for (size_t i = 0; i < s.size(); ++i) {
    const double u = rng.uniform();
    s[i] = i % 7 == 0 ? std::round(u * 10) / 10 : (u - 0.5) * 1e6 * rng.uniform();
    y[i] = rng.uniform() < 0.3;
  }
  s[3] = -0.0;
  s[4] = 0.0;
  s[5] = -1e-300;
  s[6] = std::numeric_limits<double>::denorm_min();
  SortedScores ss(y, s);
  std::vector<size_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  for (size_t k = 0; k < idx.size(); ++k) {
    CHECK(ss.score()[k] == s[idx[k]]);
    CHECK(ss.order()[k] == idx[k]);
    CHECK(ss.label()[k] == y[idx[k]]);
  }
}

TEST_CASE("roc auc: hand-computed cases with and without ties") {
  CHECK(roc_auc_score(V{0, 0, 1, 1}, V{0.1, 0.4, 0.35, 0.8}) ==
        doctest::Approx(0.75).epsilon(1e-15));
  // pos 0.5 ties neg 0.5 (1/2), beats 0.2 (1); pos 0.9 beats both: 3.5 / 4
  CHECK(roc_auc_score(V{0, 1, 0, 1}, V{0.5, 0.5, 0.2, 0.9}) ==
        doctest::Approx(0.875).epsilon(1e-15));
  // all scores tied: 0.5
  CHECK(roc_auc_score(V{0, 1, 0, 1}, V{3, 3, 3, 3}) == doctest::Approx(0.5));
  // raw margins (outside [0, 1]) are fine for ranking metrics
  CHECK(roc_auc_score(V{0, 1}, V{-5, 7}) == 1.0);
}

TEST_CASE("roc auc: weighted equals the pairwise definition on random data with ties") {
  Rng rng(3);
  V y(300), p(300), w(300);
  for (int i = 0; i < 300; ++i) {
    y[i] = rng.uniform() < 0.4;
    p[i] = std::round(rng.uniform() * 20) / 20;
    w[i] = i % 10 == 0 ? 0.0 : rng.uniform() * 3;
  }
  CHECK(roc_auc_score(y, p, w) == doctest::Approx(pair_auc(y, p, w)).epsilon(1e-12));
  V ones(300, 1.0);
  CHECK(roc_auc_score(y, p) == doctest::Approx(pair_auc(y, p, ones)).epsilon(1e-12));
  // integer weights act as repetitions
  V w2(300);
  for (int i = 0; i < 300; ++i) w2[i] = static_cast<double>(i % 3);
  V yr, pr;
  for (int i = 0; i < 300; ++i)
    for (int k = 0; k < static_cast<int>(w2[i]); ++k) yr.push_back(y[i]), pr.push_back(p[i]);
  CHECK(roc_auc_score(y, p, w2) == doctest::Approx(roc_auc_score(yr, pr)).epsilon(1e-12));
  CHECK(average_precision_score(y, p, w2) ==
        doctest::Approx(average_precision_score(yr, pr)).epsilon(1e-12));
}

TEST_CASE("average precision, log loss and Brier score: hand-computed cases") {
  // precision at recall steps: 1 (0.8), 2/3 (0.35): (1 + 2/3) / 2
  CHECK(average_precision_score(V{0, 0, 1, 1}, V{0.1, 0.4, 0.35, 0.8}) ==
        doctest::Approx(5.0 / 6.0).epsilon(1e-15));
  CHECK(log_loss(V{1, 0}, V{0.8, 0.3}) ==
        doctest::Approx((-std::log(0.8) - std::log(0.7)) / 2).epsilon(1e-15));
  // clipping: p = 1 for a negative costs -log(eps)
  CHECK(log_loss(V{0}, V{1.0}) == doctest::Approx(-std::log(kLogLossEps)).epsilon(1e-15));
  CHECK(log_loss(V{1}, V{1.0}) == doctest::Approx(-std::log(1 - kLogLossEps)));
  CHECK(brier_score_loss(V{0, 1, 1, 0}, V{0.1, 0.9, 0.8, 0.3}) ==
        doctest::Approx(0.0375).epsilon(1e-15));
  CHECK(brier_score_loss(V{0, 1}, V{0.5, 0.5}, V{3, 1}) == doctest::Approx(0.25));
  CHECK(log_loss(V{1, 0}, V{0.8, 0.3}, V{2, 0}) == doctest::Approx(-std::log(0.8)));
}

TEST_CASE("curves: the arrays scikit-learn documents for its example") {
  const V y{0, 0, 1, 1}, p{0.1, 0.4, 0.35, 0.8};
  const RocCurve r = roc_curve(y, p);
  CHECK(r.fpr == V{0, 0, 0.5, 0.5, 1});
  CHECK(r.tpr == V{0, 0.5, 0.5, 1, 1});
  CHECK(std::isinf(r.thresholds[0]));
  CHECK(V(r.thresholds.begin() + 1, r.thresholds.end()) == V{0.8, 0.4, 0.35, 0.1});
  const PrCurve pr = precision_recall_curve(y, p);
  REQUIRE(pr.precision.size() == 5);
  CHECK(pr.precision[0] == doctest::Approx(0.5));
  CHECK(pr.precision[1] == doctest::Approx(2.0 / 3));
  CHECK(pr.precision[2] == doctest::Approx(0.5));
  CHECK(pr.precision[3] == 1.0);
  CHECK(pr.precision[4] == 1.0);
  CHECK(pr.recall == V{1, 1, 0.5, 0.5, 0});
  CHECK(pr.thresholds == V{0.1, 0.35, 0.4, 0.8});
  // collinear points are dropped from the ROC curve: three positives in a row
  const RocCurve r2 = roc_curve(V{1, 1, 1, 0}, V{0.9, 0.8, 0.7, 0.1});
  CHECK(r2.tpr == V{0, 1.0 / 3, 1, 1});
  CHECK(roc_curve(V{1, 1, 1, 0}, V{0.9, 0.8, 0.7, 0.1}, {}, false).tpr.size() == 5);
}

TEST_CASE("calibration error: hand-computed ECE and MCE with uniform bins") {
  const V y{0, 1, 1}, p{0.05, 0.15, 0.95};
  CHECK(expected_calibration_error(y, p) ==
        doctest::Approx((0.05 + 0.85 + 0.05) / 3).epsilon(1e-14));
  CHECK(max_calibration_error(y, p) == doctest::Approx(0.85).epsilon(1e-14));
  // a probability on an edge belongs to the lower bin (searchsorted, side left)
  const ReliabilityCurve rc = reliability_curve(V{1, 0}, V{0.1, 0.2});
  REQUIRE(rc.bins.size() == 2);
  CHECK(rc.bins[0].upper == doctest::Approx(0.1));
  CHECK(rc.bins[0].observed_rate == 1.0);
  CHECK(rc.bins[1].lower == doctest::Approx(0.1));
  // one bin: ECE is |mean y - mean p|
  CalibrationBinning one;
  one.n_bins = 1;
  CHECK(expected_calibration_error(V{1, 0, 0, 0}, V{0.5, 0.5, 0.2, 0.2}, {}, one) ==
        doctest::Approx(std::fabs(0.25 - 0.35)));
}

TEST_CASE("reliability curve: counts, weights and Wilson intervals per bin") {
  V y, p;
  for (int i = 0; i < 10; ++i) {
    p.push_back(0.75);
    y.push_back(i < 8);
  }
  const ReliabilityCurve rc = reliability_curve(y, p);
  REQUIRE(rc.bins.size() == 1);
  CHECK(rc.bins[0].count == 10);
  CHECK(rc.bins[0].weight == 10.0);
  CHECK(rc.bins[0].mean_predicted == doctest::Approx(0.75));
  CHECK(rc.bins[0].observed_rate == doctest::Approx(0.8));
  // Wilson 8/10 at 95%: statsmodels proportion_confint(8, 10, method="wilson")
  CHECK(rc.bins[0].ci_lower == doctest::Approx(0.4901624715).epsilon(1e-7));
  CHECK(rc.bins[0].ci_upper == doctest::Approx(0.9433178485).epsilon(1e-7));
}

TEST_CASE("quantile bins: equal-frequency edges follow numpy's percentile") {
  V y{0, 1, 0, 1, 1, 0, 0, 1}, p{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  CalibrationBinning b;
  b.n_bins = 4;
  b.strategy = BinStrategy::kQuantile;
  const ReliabilityCurve rc = reliability_curve(y, p, {}, b);
  // np.percentile(p, [0, 25, 50, 75, 100]) = 0.1, 0.275, 0.45, 0.625, 0.8
  REQUIRE(rc.edges.size() == 5);
  CHECK(rc.edges[1] == doctest::Approx(0.275));
  CHECK(rc.edges[2] == doctest::Approx(0.45));
  CHECK(rc.edges[3] == doctest::Approx(0.625));
  REQUIRE(rc.bins.size() == 4);
  for (const auto& bin : rc.bins) CHECK(bin.count == 2);
}

TEST_CASE("intervals: Wilson and Clopper-Pearson known values") {
  const ProportionInterval w = wilson_interval(8, 10, 0.95);
  CHECK(w.lower == doctest::Approx(0.4901624715).epsilon(1e-7));
  CHECK(w.upper == doctest::Approx(0.9433178485).epsilon(1e-7));
  // statsmodels proportion_confint(8, 10, method="beta")
  const ProportionInterval cp = clopper_pearson_interval(8, 10, 0.95);
  CHECK(cp.lower == doctest::Approx(0.4439045377).epsilon(1e-7));
  CHECK(cp.upper == doctest::Approx(0.9747892737).epsilon(1e-7));
  CHECK(clopper_pearson_interval(0, 10).lower == 0.0);
  CHECK(clopper_pearson_interval(10, 10).upper == 1.0);
  // All successes / none: the Wilson interval ends exactly at 1 / 0 (its formula gives
  // 1 - 1.1e-16 for 15 of 15 in floating point), and it always holds the observed rate.
  for (double n : {1.0, 3.0, 15.0, 49.0, 1000.0, 2.5}) {
    CHECK(wilson_interval(n, n).upper == 1.0);
    CHECK(wilson_interval(0, n).lower == 0.0);
    for (double k = 0; k <= n; k += 1.0) {
      const ProportionInterval iv = wilson_interval(k, n, 0.9);
      CHECK(iv.lower <= k / n);
      CHECK(iv.upper >= k / n);
    }
  }
  CHECK_THROWS_WITH_AS(wilson_interval(1, 2, 1.5),
                       doctest::Contains("confidence must be in (0, 1)"), InvalidParams);
  CHECK_THROWS_WITH_AS(wilson_interval(3, 2), doctest::Contains("0 <= successes <= n"),
                       InvalidInput);
}

TEST_CASE("calibration intercept and slope: closed forms") {
  // constant prediction 0.25, prevalence 0.5: intercept = logit(0.5) - logit(0.25) = ln 3
  const CalibrationFit f = calibration_intercept_slope(V{1, 1, 0, 0}, V{0.25, 0.25, 0.25, 0.25});
  CHECK(f.intercept == doctest::Approx(std::log(3.0)).epsilon(1e-10));
  CHECK_FALSE(f.converged);  // the slope is not identified when every prediction is the same
  CHECK(f.intercept_converged);
  CHECK_FALSE(f.slope_identifiable);
  CHECK(std::isnan(f.slope));  // undefined, not the starting value 1 (issue 11 §2)
  CHECK(std::isnan(f.slope_se));
  CHECK(std::isnan(f.slope_intercept));
  // data generated from the model itself: intercept ~ 0, slope ~ 1
  Rng rng(11);
  V y(20000), p(20000);
  for (int i = 0; i < 20000; ++i) {
    p[i] = 1.0 / (1.0 + std::exp(-3.0 * (rng.uniform() - 0.5)));
    y[i] = rng.uniform() < p[i];
  }
  const CalibrationFit g = calibration_intercept_slope(y, p);
  CHECK(g.converged);
  CHECK(std::fabs(g.intercept) < 4 * g.intercept_se);
  CHECK(std::fabs(g.slope - 1.0) < 4 * g.slope_se);
  // over-confident predictions (logit doubled) give slope ~ 1/2
  V p2(20000);
  for (int i = 0; i < 20000; ++i) {
    const double l = std::log(p[i] / (1 - p[i]));
    p2[i] = 1.0 / (1.0 + std::exp(-2 * l));
  }
  CHECK(calibration_intercept_slope(y, p2).slope == doctest::Approx(g.slope / 2).epsilon(1e-6));
}

TEST_CASE("spiegelhalter: hand-computed z and p-value") {
  const SpiegelhalterResult r = spiegelhalter_test(V{0, 1}, V{0.2, 0.7});
  CHECK(r.z == doctest::Approx(-0.24 / std::sqrt(0.0912)).epsilon(1e-14));
  CHECK(r.p_value == doctest::Approx(std::erfc(std::fabs(r.z) / std::sqrt(2.0))).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(spiegelhalter_test(V{0, 1}, V{0.5, 0.5}), doctest::Contains("variance"),
                       InvalidInput);
}

TEST_CASE("degenerate data: undefined metrics are NaN or a documented InvalidInput (issue 11 §2)") {
  // Spiegelhalter: every p in {0, 0.5, 1} has zero variance; the report's form gives NaN.
  const SortedScores half(V{0, 1, 1, 0}, V{0.5, 0.5, 0.5, 0.5});
  CHECK(std::isnan(spiegelhalter_or_nan(half).z));
  CHECK(std::isnan(spiegelhalter_or_nan(half).p_value));
  CHECK_THROWS_AS(spiegelhalter_test(half), InvalidInput);
  const SortedScores ends(V{0, 1, 1, 0}, V{0, 1, 0.5, 0.5});
  CHECK(std::isnan(spiegelhalter_or_nan(ends).z));
  // Constant scores: AUC 0.5 (sklearn: every pair tied), ECE from the one bin.
  const V y{0, 1, 0, 0, 1};
  CHECK(roc_auc_score(y, V(5, 0.3)) == 0.5);
  CHECK(expected_calibration_error(y, V(5, 0.3)) == doctest::Approx(0.1));  // |0.4 - 0.3|
  // An empty reliability bin is skipped, not a 0/0: p in bins 1 and 9 only (10 uniform bins).
  const V p2{0.15, 0.15, 0.95, 0.95, 0.95};
  const ReliabilityCurve rc = reliability_curve(y, p2);
  REQUIRE(rc.bins.size() == 2);
  CHECK(expected_calibration_error(y, p2) ==
        doctest::Approx((2 * std::fabs(0.5 - 0.15) + 3 * std::fabs(1.0 / 3 - 0.95)) / 5));
  // Zero weights: rows of weight 0 do not count; a class with zero total weight is missing.
  const V w{1, 0, 1, 1, 0};  // both positives weigh 0
  CHECK_THROWS_WITH_AS(roc_auc_score(y, p2, w), doctest::Contains("only class 0"), InvalidInput);
  CHECK_THROWS_WITH_AS(calibration_intercept_slope(y, p2, w), doctest::Contains("only class 0"),
                       InvalidInput);
  CHECK(brier_score_loss(y, p2, w) ==
        doctest::Approx((0.15 * 0.15 + 0.95 * 0.95 + 0.95 * 0.95) / 3));
  CHECK_THROWS_WITH_AS(brier_score_loss(y, p2, V(5, 0.0)), doctest::Contains("weight"),
                       InvalidInput);
  CHECK(reliability_curve(y, p2, w).bins[0].count == 1);  // the zero-weight row is not counted
  // One class: AUC is undefined (InvalidInput, as sklearn raises); log loss and Brier are defined.
  CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 0}, V{0.1, 0.2}), doctest::Contains("only class 0"),
                       InvalidInput);
  CHECK(log_loss(V{0, 0}, V{0.5, 0.5}) == doctest::Approx(std::log(2.0)));
}

TEST_CASE("net benefit: hand-computed decision curve") {
  const DecisionCurve dc = net_benefit(V{1, 0, 1, 0}, V{0.9, 0.6, 0.4, 0.1}, V{0.5, 0.2, 0.0});
  CHECK(dc.net_benefit[0] == doctest::Approx(0.0));
  CHECK(dc.net_benefit[1] == doctest::Approx(0.5 - 0.25 * 0.25));
  CHECK(dc.net_benefit[2] == doctest::Approx(0.5));
  CHECK(dc.treat_all[0] == doctest::Approx(0.0));
  CHECK(dc.treat_all[1] == doctest::Approx(0.5 - 0.5 * 0.25));
  CHECK(dc.treat_none[1] == 0.0);
  CHECK(dc.alert_rate[1] == doctest::Approx(0.75));
  CHECK_THROWS_WITH_AS(net_benefit(V{1, 0}, V{0.2, 0.3}, V{1.0}), doctest::Contains("[0, 1)"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(net_benefit(V{1, 0}, V{0.2, 0.3}, V{}), doctest::Contains("grid is empty"),
                       InvalidInput);
}

TEST_CASE("bootstrap: deterministic for any thread count, intervals cover the point") {
  Rng rng(5);
  const int n = 3000;
  V y(n), p(n);
  std::vector<std::int64_t> g(n);
  for (int i = 0; i < n; ++i) {
    p[i] = rng.uniform();
    y[i] = rng.uniform() < p[i];
    g[i] = i / 3;
  }
  SortedScores s(y, p);
  BootstrapParams bp;
  bp.n_replicates = 200;
  bp.random_state = 42;
  const std::vector<Metric> ms{Metric::kRocAuc, Metric::kExpectedCalibrationError,
                               Metric::kBrierScore, Metric::kCalibrationSlope};
  bp.n_threads = 1;
  const auto a = bootstrap(s, ms, bp);
  bp.n_threads = 2;
  const auto b = bootstrap(s, ms, bp);
  bp.n_threads = 3;
  const auto c = bootstrap(s, ms, bp, VectorView<const std::int64_t>(g));
  bp.n_threads = 1;
  const auto d = bootstrap(s, ms, bp, VectorView<const std::int64_t>(g));
  for (size_t j = 0; j < ms.size(); ++j) {
    CHECK(a[j].replicates == b[j].replicates);
    CHECK(c[j].replicates == d[j].replicates);
    CHECK(a[j].lower <= a[j].point);
    CHECK(a[j].point <= a[j].upper);
    CHECK(a[j].n_invalid == 0);
  }
  CHECK(a[0].metric == "roc_auc");
  CHECK(a[0].point == roc_auc_score(s));
  // a replicate of all ones reproduces the point estimate
  V ones(n, 1.0);
  CHECK(roc_auc_score(s, ones.data()) == doctest::Approx(a[0].point).epsilon(1e-14));
  CHECK(expected_calibration_error(s, {}, ones.data()) ==
        doctest::Approx(a[1].point).epsilon(1e-14));
  CHECK_THROWS_WITH_AS(metric_from_name("auc"), doctest::Contains("roc_auc"), InvalidParams);
  bp.n_replicates = 0;
  CHECK_THROWS_WITH_AS(bootstrap(s, ms, bp), doctest::Contains("n_replicates"), InvalidParams);
  bp.n_replicates = 10;
  CHECK_THROWS_WITH_AS(bootstrap(s, ms, bp, VectorView<const std::int64_t>(g.data(), 5)),
                       doctest::Contains("one group key per row"), InvalidInput);
}

TEST_CASE("metrics: every error path names the problem") {
  SUBCASE("mismatched lengths") {
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 1}, V{0.5}), doctest::Contains("one score per label"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(log_loss(V{0, 1}, V{0.5}), doctest::Contains("one score per label"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(brier_score_loss(V{0, 1}, V{0.5, 0.5}, V{1}),
                         doctest::Contains("one weight per row"), InvalidInput);
  }
  SUBCASE("NaN probabilities") {
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 1}, V{0.5, kNaN}),
                         doctest::Contains("scores[1] is nan"), InvalidInput);
    CHECK_THROWS_WITH_AS(log_loss(V{0, 1}, V{0.5, kNaN}), doctest::Contains("p[1]"), InvalidInput);
    CHECK_THROWS_WITH_AS(expected_calibration_error(V{0, 1}, V{kNaN, 0.5}),
                         doctest::Contains("p[0]"), InvalidInput);
  }
  SUBCASE("one class where two are needed") {
    CHECK_THROWS_WITH_AS(roc_auc_score(V{1, 1}, V{0.5, 0.6}), doctest::Contains("only class 1"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(roc_curve(V{0, 0}, V{0.5, 0.6}), doctest::Contains("only class 0"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(average_precision_score(V{0, 0}, V{0.5, 0.6}),
                         doctest::Contains("no positive"), InvalidInput);
    CHECK_THROWS_WITH_AS(precision_recall_curve(V{0, 0}, V{0.5, 0.6}),
                         doctest::Contains("no positive"), InvalidInput);
    CHECK_THROWS_WITH_AS(calibration_intercept_slope(V{0, 0}, V{0.5, 0.6}),
                         doctest::Contains("only class 0"), InvalidInput);
    // weights can remove a class
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 1}, V{0.5, 0.6}, V{1, 0}),
                         doctest::Contains("only class 0"), InvalidInput);
    CHECK(log_loss(V{0, 0}, V{0.5, 0.5}) == doctest::Approx(std::log(2.0)));  // defined
  }
  SUBCASE("p outside [0, 1] where probabilities are required") {
    CHECK_THROWS_WITH_AS(log_loss(V{0, 1}, V{0.5, 1.5}), doctest::Contains("[0, 1]"), InvalidInput);
    CHECK_THROWS_WITH_AS(brier_score_loss(V{0, 1}, V{-0.1, 0.5}), doctest::Contains("[0, 1]"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(reliability_curve(V{0, 1}, V{0.5, 2.0}), doctest::Contains("[0, 1]"),
                         InvalidInput);
    SortedScores raw(V{0, 1}, V{-3.0, 2.0});
    CHECK_FALSE(raw.is_probability());
    CHECK_THROWS_WITH_AS(expected_calibration_error(raw), doctest::Contains("predict_proba"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(spiegelhalter_test(raw), doctest::Contains("[0, 1]"), InvalidInput);
    CHECK_THROWS_WITH_AS(net_benefit(raw, V{0.5}), doctest::Contains("[0, 1]"), InvalidInput);
  }
  SUBCASE("labels, weights, empty input and bad params") {
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 2}, V{0.5, 0.6}), doctest::Contains("y[1] is 2"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(roc_auc_score(V{}, V{}), doctest::Contains("empty"), InvalidInput);
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 1}, V{0.5, 0.6}, V{1, -1}),
                         doctest::Contains("sample_weight[1]"), InvalidInput);
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 1}, V{0.5, 0.6}, V{0, 0}),
                         doctest::Contains("all sample weights are zero"), InvalidInput);
    CHECK_THROWS_WITH_AS(roc_auc_score(V{0, 1}, V{0.5, INFINITY}), doctest::Contains("finite"),
                         InvalidInput);
    CalibrationBinning b;
    b.n_bins = 0;
    CHECK_THROWS_WITH_AS(expected_calibration_error(V{0, 1}, V{0.5, 0.6}, {}, b),
                         doctest::Contains("n_bins"), InvalidParams);
    CHECK_THROWS_WITH_AS(reliability_curve(V{0, 1}, V{0.5, 0.6}, {}, {}, 1.0),
                         doctest::Contains("confidence"), InvalidParams);
    CalibrationFitParams fp;
    fp.max_iter = 0;
    CHECK_THROWS_WITH_AS(calibration_intercept_slope(V{0, 1}, V{0.5, 0.6}, {}, fp),
                         doctest::Contains("max_iter"), InvalidParams);
  }
}

TEST_CASE("bootstrap: custom metric functions and quantile bins reuse the sort") {
  Rng rng(21);
  const int n = 1000;
  V y(n), p(n), w(n);
  for (int i = 0; i < n; ++i) {
    p[i] = std::round(rng.uniform() * 50) / 50;
    y[i] = rng.uniform() < p[i];
    w[i] = 1.0 + static_cast<double>(i % 3);
  }
  SortedScores s(y, p, w);
  // integer multiplicities act as repetitions for quantile bins too
  V mult(n);
  for (int i = 0; i < n; ++i) mult[i] = static_cast<double>((i * 7) % 3);
  V yr, pr;
  for (int k = 0; k < n; ++k) {
    const int times = static_cast<int>(s.weight()[k] * mult[k]);
    for (int t = 0; t < times; ++t) yr.push_back(s.label()[k]), pr.push_back(s.score()[k]);
  }
  CalibrationBinning qb;
  qb.strategy = BinStrategy::kQuantile;
  qb.n_bins = 7;
  CHECK(expected_calibration_error(s, qb, mult.data()) ==
        doctest::Approx(expected_calibration_error(yr, pr, {}, qb)).epsilon(1e-12));
  CHECK(roc_auc_score(s, mult.data()) == doctest::Approx(roc_auc_score(yr, pr)).epsilon(1e-12));
  std::vector<std::pair<std::string, MetricFunction>> fns;
  fns.emplace_back("mean_score", [](const SortedScores& ss, const double* r) {
    double num = 0, den = 0;
    ss.visit_weights(r, [&](auto wt) {
      for (Index i = 0; i < ss.size(); ++i) {
        num += wt(i) * ss.score()[i];
        den += wt(i);
      }
    });
    return num / den;
  });
  BootstrapParams bp;
  bp.n_replicates = 100;
  const auto res = bootstrap(s, fns, bp);
  CHECK(res[0].metric == "mean_score");
  CHECK(res[0].lower < res[0].point);
  CHECK(res[0].point < res[0].upper);
}

TEST_CASE("metric options: fields declared once; validation messages name struct, field, range") {
  using namespace calibrisk::metrics;
  CalibrationFitParams f;
  f.max_iter = 0;
  CHECK_THROWS_WITH_AS(f.validate(),
                       "CalibrationFitParams.max_iter must be >= 1, got 0; 100 is the default.",
                       calibrisk::InvalidParams);
  f = {};
  f.tol = 0.0;
  CHECK_THROWS_WITH_AS(f.validate(), doctest::Contains("CalibrationFitParams.tol must be > 0"),
                       calibrisk::InvalidParams);
  BootstrapParams b;
  b.n_replicates = 0;
  CHECK_THROWS_WITH_AS(
      b.validate(),
      "BootstrapParams.n_replicates must be in [1, 10000000], got 0; 1000 is the usual choice.",
      calibrisk::InvalidParams);
  b = {};
  b.confidence = 1.0;
  CHECK_THROWS_WITH_AS(b.validate(),
                       doctest::Contains("BootstrapParams.confidence must be in (0, 1)"),
                       calibrisk::InvalidParams);
  b = {};
  b.n_threads = -1;
  CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("BootstrapParams.n_threads must be >= 0"),
                       calibrisk::InvalidParams);
  b = {};
  b.binning.n_bins = 0;
  CHECK_THROWS_WITH_AS(b.validate(),
                       "CalibrationBinning.n_bins must be in [1, 100000], got 0; 10 or 15 are "
                       "common choices.",
                       calibrisk::InvalidParams);
  b = {};
  b.binning.strategy = static_cast<BinStrategy>(7);
  CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("uniform or quantile"),
                       calibrisk::InvalidParams);
  CHECK(std::string(calibrisk::enum_to_text(BinStrategy::kQuantile)) == "quantile");
}
