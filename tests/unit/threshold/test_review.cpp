// SPDX-License-Identifier: Apache-2.0
// Review queue: hand-computed thresholds, conformal sets and triage bands, brute force over every
// threshold on random data with ties and weights, closed-form Clopper-Pearson bounds, and errors.
#include <doctest/doctest.h>
#include <calibrisk/core/random.hpp>
#include <calibrisk/threshold/review.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

using namespace calibrisk;
using V = std::vector<double>;

namespace {

MatrixView<const double> view(const V& p, Index K) {
  return MatrixView<const double>(p.data(), static_cast<Index>(p.size()) / K, K, K, 1);
}

// Six items, three classes. Confidences (max) 0.8, 0.7, 0.6, 0.6, 0.5, 0.4; argmax 0, 1, 2, 0,
// 1, 2.
const V kP{0.8, 0.1, 0.1,  //
           0.2, 0.7, 0.1,  //
           0.2, 0.2, 0.6,  //
           0.6, 0.3, 0.1,  //
           0.3, 0.5, 0.2,  //
           0.3, 0.3, 0.4};
const V kY{0, 1, 0, 0, 2, 2};  // correct: yes, yes, no, yes, no, yes

ReviewOptions floor_at(double a) {
  ReviewOptions o;
  o.min_accuracy = a;
  return o;
}

}  // namespace

TEST_CASE("review threshold: hand-computed floor and budget on six items") {
  // candidates (auto, correct): 0.8 (1, 1), 0.7 (2, 2), 0.6 (4, 3) [tie block of two],
  // 0.5 (5, 3), 0.4 (6, 4)
  const auto P = view(kP, 3);
  ReviewThresholds r = select_review_threshold(kY, P, floor_at(1.0));
  CHECK(r.feasible);
  CHECK(r.overall.threshold == 0.7);
  CHECK(r.overall.accuracy == 1.0);
  CHECK(r.overall.review_rate == doctest::Approx(4.0 / 6));
  r = select_review_threshold(kY, P, floor_at(0.7));  // 0.75 at 0.6; 0.6 at 0.5; 0.667 at 0.4
  CHECK(r.overall.threshold == 0.6);
  CHECK(r.overall.n_auto == 4);
  CHECK(r.overall.n_correct == 3);
  r = select_review_threshold(kY, P, floor_at(0.65));  // lowest review meeting 0.65: t = 0.4
  CHECK(r.overall.threshold == 0.4);
  CHECK(r.overall.review_rate == 0.0);
  ReviewOptions b;
  b.max_review_rate = 0.5;  // within budget: 0.6 (0.75), 0.5 (0.6), 0.4 (0.667)
  r = select_review_threshold(kY, P, b);
  CHECK(r.overall.threshold == 0.6);
  b.min_accuracy = 1.0;  // needs review 4/6 > 0.5: infeasible, best within budget returned
  r = select_review_threshold(kY, P, b);
  CHECK_FALSE(r.feasible);
  CHECK(r.overall.threshold == 0.6);
  CHECK(r.message.find("above max_review_rate=0.5") != std::string::npos);
  // route_items agrees with the threshold and never splits the tied 0.6 block
  r = select_review_threshold(kY, P, floor_at(0.7));
  CHECK(route_items(r, P) == std::vector<std::uint8_t>{1, 1, 1, 1, 0, 0});
}

TEST_CASE("review threshold: conservative floor uses the Clopper-Pearson lower bound") {
  // 40 items: the 20 most confident all correct, then 20 all wrong. Lower 95% CP bound of 20/20
  // is (0.025)^(1/20) = 0.83157 (closed form for x = n).
  V P, y;
  for (int i = 0; i < 40; ++i) {
    const double c = 0.99 - 0.01 * i;
    P.insert(P.end(), {c, 1 - c});
    y.push_back(i < 20 ? 0 : 1);
  }
  ReviewOptions o = floor_at(0.83);
  o.confidence = 0.95;
  ReviewThresholds r = select_review_threshold(y, view(P, 2), o);
  CHECK(r.feasible);
  CHECK(r.overall.threshold == doctest::Approx(0.99 - 0.19));
  CHECK(r.overall.accuracy_cp.lower == doctest::Approx(std::pow(0.025, 1.0 / 20)).epsilon(1e-9));
  o.min_accuracy = 0.84;  // above the bound of 20/20: infeasible, best bound reported
  r = select_review_threshold(y, view(P, 2), o);
  CHECK_FALSE(r.feasible);
  CHECK(r.overall.threshold == doctest::Approx(0.80));
  CHECK(r.message.find("0.831") != std::string::npos);
  o.confidence.reset();  // point estimate: 20/20 = 1 meets 0.84
  CHECK(select_review_threshold(y, view(P, 2), o).feasible);
}

TEST_CASE("review threshold: per-class thresholds and the joint rates") {
  // class 0 predicted at 0.8 (ok), 0.6 (ok); class 1 at 0.7 (ok), 0.5 (wrong); class 2 at 0.6
  // (wrong), 0.4 (ok): class 2 cannot reach 1.0 and routes none of its items.
  ReviewOptions o = floor_at(1.0);
  o.per_class = true;
  ReviewThresholds r = select_review_threshold(kY, view(kP, 3), o);
  REQUIRE(r.per_class.size() == 3);
  CHECK(r.per_class[0].threshold == 0.6);
  CHECK(r.per_class[1].threshold == 0.7);
  CHECK(r.per_class[2].threshold == std::numeric_limits<double>::infinity());
  CHECK_FALSE(r.per_class[2].feasible);
  CHECK_FALSE(r.feasible);
  CHECK(r.message.find("class 2") != std::string::npos);
  CHECK(std::isnan(r.overall.threshold));
  CHECK(r.overall.n_auto == 3);
  CHECK(r.overall.n_correct == 3);
  CHECK(r.overall.review_rate == 0.5);
  CHECK(route_items(r, view(kP, 3)) == std::vector<std::uint8_t>{1, 1, 0, 1, 0, 0});
  o.min_accuracy = 0.5;  // class 1 to 0.5, class 2 to 0.4: everything routed, joint 4/6
  o.max_review_rate = 0.0;
  r = select_review_threshold(kY, view(kP, 3), o);
  CHECK(r.feasible);
  CHECK(r.per_class[1].threshold == 0.5);
  CHECK(r.per_class[2].threshold == 0.4);
  CHECK(r.overall.accuracy == doctest::Approx(4.0 / 6));
  CHECK(r.overall.review_rate == 0.0);
}

namespace {

struct Brute {
  double t, n_auto, n_correct, review;
};

/// Every candidate threshold by direct counting (the oracle).
std::vector<Brute> brute(const V& y, const V& P, Index K, const V& w) {
  const Index n = static_cast<Index>(y.size());
  std::set<double> cands;
  double total = 0;
  for (Index i = 0; i < n; ++i) {
    if (w[i] > 0) cands.insert(*std::max_element(&P[i * K], &P[i * K] + K));
    total += w[i];
  }
  std::vector<Brute> out;
  for (double t : cands) {
    Brute b{t, 0, 0, 0};
    for (Index i = 0; i < n; ++i) {
      const double* row = &P[i * K];
      const auto arg = std::max_element(row, row + K) - row;  // first maximum
      if (row[arg] >= t) {
        b.n_auto += w[i];
        if (arg == static_cast<Index>(y[i])) b.n_correct += w[i];
      }
    }
    b.review = (total - b.n_auto) / total;
    out.push_back(b);
  }
  return out;
}

}  // namespace

TEST_CASE("review threshold: brute force over every threshold with ties and weights") {
  Rng rng(7);
  for (int rep = 0; rep < 30; ++rep) {
    const Index n = 15 + static_cast<Index>(rng.below(30)),
                K = 2 + static_cast<Index>(rng.below(3));
    V P(static_cast<std::size_t>(n * K)), y(static_cast<std::size_t>(n)), w(y.size());
    for (Index i = 0; i < n; ++i) {
      double sum = 0;
      for (Index k = 0; k < K; ++k) sum += (P[i * K + k] = 1.0 + static_cast<double>(rng.below(4)));
      for (Index k = 0; k < K; ++k) P[i * K + k] /= sum;  // coarse values: many ties
      y[i] = static_cast<double>(rng.below(static_cast<std::uint64_t>(K)));
      w[i] = static_cast<double>(rng.below(3));  // zero weights included
    }
    w[0] = 1;
    const std::vector<Brute> all = brute(y, P, K, w);
    for (double floor : {0.3, 0.5, 0.7, 0.9}) {
      ReviewThresholds r = select_review_threshold(y, view(P, K), floor_at(floor), w);
      // oracle: lowest review among acc >= floor; else highest acc, ties to lower review
      const Brute* want = nullptr;
      for (const Brute& b : all) {
        if (b.n_auto > 0 && b.n_correct / b.n_auto >= floor && (!want || b.review < want->review))
          want = &b;
      }
      CHECK(r.feasible == (want != nullptr));
      if (!want) {
        for (const Brute& b : all) {
          const double acc = b.n_correct / b.n_auto;
          if (b.n_auto > 0 && (!want || acc > want->n_correct / want->n_auto ||
                               (acc == want->n_correct / want->n_auto && b.review < want->review)))
            want = &b;
        }
      }
      CHECK(r.overall.threshold == want->t);
      CHECK(r.overall.n_auto == want->n_auto);
      CHECK(r.overall.n_correct == want->n_correct);
    }
    for (double budget : {0.0, 0.2, 0.5}) {
      ReviewOptions o;
      o.max_review_rate = budget;
      const ReviewThresholds r = select_review_threshold(y, view(P, K), o, w);
      const Brute* want = nullptr;
      for (const Brute& b : all) {
        if (b.review > budget || !(b.n_auto > 0)) continue;
        const double acc = b.n_correct / b.n_auto;
        if (!want || acc > want->n_correct / want->n_auto ||
            (acc == want->n_correct / want->n_auto && b.review < want->review))
          want = &b;
      }
      REQUIRE(want);
      CHECK(r.overall.threshold == want->t);
    }
  }
}

TEST_CASE("risk-coverage curve: hand-computed steps and AURC") {
  // steps at the six items: coverage 1/6, 2/6, 4/6, 5/6, 1 with risk 0, 0, 1/4, 2/5, 1/3
  const RiskCoverageCurve c = risk_coverage_curve(kY, view(kP, 3));
  REQUIRE(c.coverage.size() == 5);
  CHECK(c.threshold == V{0.8, 0.7, 0.6, 0.5, 0.4});
  CHECK(c.risk[2] == doctest::Approx(0.25));
  CHECK(c.coverage[4] == 1.0);
  CHECK(c.aurc == doctest::Approx(2.0 / 6 * 0.25 + 1.0 / 6 * 0.4 + 1.0 / 6 / 3.0));
  // distinct confidences, unit weights: AURC = mean over prefixes of the prefix risk
  const V y2{0, 1, 1, 0}, P2{0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4};  // correct, wrong, ok, ok
  const double want = (0.0 + 0.5 + 1.0 / 3 + 0.25) / 4;
  CHECK(risk_coverage_curve(y2, view(P2, 2)).aurc == doctest::Approx(want));
}

TEST_CASE("conformal: hand-computed LAC and APS quantiles and sets") {
  // four calibration rows, K = 3; alpha = 0.4: rank ceil(5 * 0.6) = 3
  const V P{0.7, 0.2, 0.1,  //
            0.5, 0.3, 0.2,  //
            0.1, 0.6, 0.3,  //
            0.2, 0.2, 0.6};
  const V y{0, 1, 1, 0};
  // LAC scores 1 - P[y]: 0.3, 0.7, 0.4, 0.8 -> sorted 0.3, 0.4, 0.7, 0.8 -> q = 0.7
  ConformalSets lac = conformal_calibrate(y, view(P, 3), 0.4, ConformalMethod::kLac);
  CHECK(lac.quantile() == doctest::Approx(0.7));
  // sets: P >= 0.3 (1 - 0.7, computed as 1 - P <= q)
  CHECK(lac.predict_sets(view(P, 3)) ==
        std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1});
  // APS scores (mass at or above y): row0 0.7; row1 0.5+0.3 = 0.8; row2 0.6; row3: order 2, 0, 1
  // (tie 0.2/0.2 to the lower index) -> 0.6 + 0.2 = 0.8 -> sorted 0.6, 0.7, 0.8, 0.8 -> q = 0.8
  const std::vector<double> s = conformal_scores(y, view(P, 3), ConformalMethod::kAps);
  CHECK(s[0] == doctest::Approx(0.7));
  CHECK(s[3] == doctest::Approx(0.8));
  ConformalSets aps = conformal_calibrate(y, view(P, 3), 0.4, ConformalMethod::kAps);
  CHECK(aps.quantile() == doctest::Approx(0.8));
  // row0 cumulative 0.7, 0.9 -> {0}; row1 0.5, 0.8, 1.0 -> {0, 1}; row3 0.6, 0.8 -> {2, 0}
  const auto m = aps.predict_sets(view(P, 3));
  CHECK(std::vector<std::uint8_t>(m.begin(), m.begin() + 6) ==
        std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0});
  CHECK(std::vector<std::uint8_t>(m.begin() + 9, m.end()) == std::vector<std::uint8_t>{1, 0, 1});
  // n = 9, alpha = 0.1: rank ceil(10 * 0.9) = 9 exactly (not 10); n = 8: rank 9 > n -> +inf
  V P9, y9;
  for (int i = 0; i < 9; ++i) {
    const double a = 0.1 + 0.05 * i;
    P9.insert(P9.end(), {a, 1 - a});
    y9.push_back(0);
  }
  CHECK(conformal_calibrate(y9, view(P9, 2), 0.1, ConformalMethod::kLac).quantile() ==
        doctest::Approx(0.9));
  const V P8(P9.begin(), P9.end() - 2), y8(y9.begin(), y9.end() - 1);
  const ConformalSets inf = conformal_calibrate(y8, view(P8, 2), 0.1, ConformalMethod::kLac);
  CHECK(inf.quantile() == std::numeric_limits<double>::infinity());
  for (auto b : inf.predict_sets(view(P8, 2))) CHECK(b == 1);
}

TEST_CASE(
    "conformal: a calibration row's own label is in its set exactly when its score is at "
    "most the quantile (bit-identical scores), randomised APS is deterministic") {
  Rng rng(3);
  V P, y;
  for (int i = 0; i < 200; ++i) {
    double a = rng.uniform(), b = rng.uniform(), c = rng.uniform();
    const double s = a + b + c;
    P.insert(P.end(), {a / s, b / s, c / s});
    y.push_back(static_cast<double>(rng.below(3)));
  }
  for (ConformalMethod m :
       {ConformalMethod::kLac, ConformalMethod::kAps, ConformalMethod::kApsRandomized}) {
    const ConformalSets cs = conformal_calibrate(y, view(P, 3), 0.2, m, 11);
    const auto s = conformal_scores(y, view(P, 3), m, 11);
    if (m != ConformalMethod::kApsRandomized) {  // the randomised u differs at prediction
      const auto sets = cs.predict_sets(view(P, 3));
      for (std::size_t i = 0; i < y.size(); ++i) {
        CHECK(sets[i * 3 + static_cast<std::size_t>(y[i])] == (s[i] <= cs.quantile()));
      }
    } else {
      CHECK(cs.predict_sets(view(P, 3)) ==
            conformal_calibrate(y, view(P, 3), 0.2, m, 11).predict_sets(view(P, 3)));
    }
    // at least ceil(201 * 0.8) = 161 calibration scores are <= q
    CHECK(std::count_if(s.begin(), s.end(), [&](double v) { return v <= cs.quantile(); }) >= 161);
  }
}

namespace {

struct BandBrute {
  double err = std::numeric_limits<double>::infinity(), rev = 0, t_low = 0, t_high = 0;
};

}  // namespace

TEST_CASE("triage band: brute force over every (t_low, t_high) with ties and weights") {
  Rng rng(5);
  for (int rep = 0; rep < 40; ++rep) {
    const Index n = 10 + static_cast<Index>(rng.below(25));
    V p(static_cast<std::size_t>(n)), y(p.size()), w(p.size());
    for (Index i = 0; i < n; ++i) {
      p[i] = static_cast<double>(rng.below(8)) / 7.0;
      y[i] = rng.uniform() < p[i] * 0.8 + 0.1 ? 1 : 0;
      w[i] = static_cast<double>(rng.below(3));
    }
    y[0] = 1;
    y[1] = 0;
    w[0] = w[1] = 1;
    std::set<double> vals;
    double W = 0, Ptot = 0;
    for (Index i = 0; i < n; ++i) {
      if (w[i] > 0) vals.insert(p[i]);
      W += w[i];
      Ptot += y[i] * w[i];
    }
    V cands(vals.begin(), vals.end());
    cands.push_back(std::numeric_limits<double>::infinity());
    for (double floor : {0.5, 0.8, 0.95}) {
      for (double budget : {0.0, 0.15, 0.4}) {
        BandBrute best;
        for (double lo : cands) {
          for (double hi : cands) {
            if (hi < lo) continue;
            double fn = 0, fp = 0, rev = 0;
            for (Index i = 0; i < n; ++i) {
              if (p[i] < lo)
                fn += y[i] * w[i];
              else if (p[i] < hi)
                rev += w[i];
              else
                fp += (1 - y[i]) * w[i];
            }
            if ((Ptot - fn) / Ptot < floor || rev / W > budget) continue;
            const double err = fn + fp;
            if (err < best.err || (err == best.err && rev < best.rev) ||
                (err == best.err && rev == best.rev && lo > best.t_low))
              best = {err, rev, lo, hi};
          }
        }
        TriageOptions o;
        o.min_recall = floor;
        o.max_review_rate = budget;
        const TriageBand t = select_triage_band(y, p, o, w);
        CHECK(t.feasible);
        CHECK(t.auto_error_rate == doctest::Approx(best.err / W));
        CHECK(t.n_review == doctest::Approx(best.rev));
        CHECK(t.t_low == best.t_low);
        CHECK(t.recall >= floor);
        CHECK(t.review_rate <= budget);
      }
    }
  }
}

TEST_CASE("triage band: hand-computed band and conservative infeasibility") {
  // p: 0.1 (neg), 0.2 (neg), 0.4 (pos), 0.5 (neg), 0.7 (pos), 0.9 (pos)
  const V p{0.1, 0.2, 0.4, 0.5, 0.7, 0.9}, y{0, 0, 1, 0, 1, 1};
  TriageOptions o;
  o.min_recall = 1.0;
  o.max_review_rate = 1.0 / 3;
  // recall 1 needs t_low <= 0.4; reviewing {0.4, 0.5} (2/6) leaves no automatic error
  TriageBand t = select_triage_band(y, p, o);
  CHECK(t.t_low == 0.4);
  CHECK(t.t_high == 0.7);
  CHECK(t.auto_error_rate == 0.0);
  CHECK(t.auto_accuracy == 1.0);
  CHECK(t.review_rate == doctest::Approx(1.0 / 3));
  o.max_review_rate = 0.0;  // no band: the best single cut with recall 1 is 0.4 (one FP: 0.5)
  t = select_triage_band(y, p, o);
  CHECK(t.t_low == t.t_high);
  CHECK(t.t_low == 0.4);
  CHECK(t.fp == 1);
  o.confidence = 0.95;  // 3/3 positives: lower CP bound 0.025^(1/3) = 0.292 < 1
  t = select_triage_band(y, p, o);
  CHECK_FALSE(t.feasible);
  CHECK(t.recall_cp.lower == doctest::Approx(std::pow(0.025, 1.0 / 3)).epsilon(1e-9));
  CHECK(t.message.find("min_recall=1") != std::string::npos);
}

TEST_CASE("review queue: bad input gets a clear error") {
  const auto P = view(kP, 3);
  CHECK_THROWS_WITH_AS(select_review_threshold(V{0, 1, 3, 0, 0, 0}, P, floor_at(0.9)),
                       doctest::Contains("y[2] is 3"), InvalidInput);
  V bad = kP;
  bad[4] = std::nan("");
  CHECK_THROWS_WITH_AS(select_review_threshold(kY, view(bad, 3), floor_at(0.9)),
                       doctest::Contains("P[1, 1] is nan"), InvalidInput);
  bad = kP;
  bad[0] = -0.1;
  bad[1] = 0.2;
  CHECK_THROWS_WITH_AS(select_review_threshold(kY, view(bad, 3), floor_at(0.9)),
                       doctest::Contains("P[0, 0] is -0.1"), InvalidInput);
  bad = kP;
  bad[0] = 0.9;
  CHECK_THROWS_WITH_AS(select_review_threshold(kY, view(bad, 3), floor_at(0.9)),
                       doctest::Contains("row 0 of P sums to 1.1"), InvalidInput);
  bad[0] = 0.8 + 5e-7;  // within 1e-6 * K
  CHECK_NOTHROW(select_review_threshold(kY, view(bad, 3), floor_at(0.9)));
  CHECK_THROWS_WITH_AS(
      select_review_threshold(V{}, MatrixView<const double>(kP.data(), 0, 3, 3, 1), floor_at(0.9)),
      doctest::Contains("P has 0 rows"), InvalidInput);
  const V wide(1001, 1.0 / 1001);
  CHECK_THROWS_WITH_AS(select_review_threshold(V{0}, view(wide, 1001), floor_at(0.9)),
                       doctest::Contains("between 2 and 1000"), InvalidInput);
  CHECK_THROWS_WITH_AS(select_review_threshold(kY, P, ReviewOptions{}),
                       doctest::Contains("no policy"), InvalidParams);
  CHECK_THROWS_WITH_AS(select_review_threshold(kY, P, floor_at(1.5)),
                       doctest::Contains("min_accuracy must be in [0, 1]"), InvalidParams);
  ReviewOptions pc;
  pc.max_review_rate = 0.2;
  pc.per_class = true;
  CHECK_THROWS_WITH_AS(select_review_threshold(kY, P, pc), doctest::Contains("need min_accuracy"),
                       InvalidParams);
  for (double a : {0.0, 1.0, -0.5, std::nan("")}) {
    CHECK_THROWS_WITH_AS(conformal_calibrate(kY, P, a, ConformalMethod::kLac),
                         doctest::Contains("alpha must be in (0, 1)"), InvalidParams);
  }
  CHECK_THROWS_WITH_AS(conformal_method_from_name("raps"), doctest::Contains("aps_randomized"),
                       InvalidParams);
  const ConformalSets cs = conformal_calibrate(kY, P, 0.2, ConformalMethod::kLac);
  CHECK_THROWS_WITH_AS(cs.predict_sets(view(V{0.5, 0.5}, 2)),
                       doctest::Contains("calibrated for 3 classes"), InvalidInput);
  TriageOptions t;
  CHECK_THROWS_WITH_AS(select_triage_band(V{0, 1}, V{0.2, 1.2}, t),
                       doctest::Contains("p[1] is 1.2"), InvalidInput);
  CHECK_THROWS_WITH_AS(select_triage_band(V{0, 2}, V{0.2, 0.3}, t), doctest::Contains("y[1] is 2"),
                       InvalidInput);
  t.max_review_rate = 2;
  CHECK_THROWS_WITH_AS(select_triage_band(V{0, 1}, V{0.2, 0.3}, t),
                       doctest::Contains("max_review_rate must be in [0, 1]"), InvalidParams);
}
