// SPDX-License-Identifier: Apache-2.0
// Threshold selection: hand-computed policies, brute force on random data, and every error path.
#include <doctest/doctest.h>
#include <calibrisk/core/random.hpp>
#include <calibrisk/threshold/select.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using namespace calibrisk;
using V = std::vector<double>;

namespace {
const V kY{1, 0, 1, 0};
const V kP{0.9, 0.6, 0.4, 0.1};
}  // namespace

TEST_CASE("select threshold: hand-computed policies on four cases") {
  // candidates: 0.9 (tp1 fp0), 0.6 (tp1 fp1), 0.4 (tp2 fp1), 0.1 (tp2 fp2)
  OperatingPoint f1 = select_threshold(kY, kP, policy::max_fbeta());
  CHECK(f1.threshold == 0.4);
  CHECK(f1.fbeta == doctest::Approx(0.8));
  CHECK(f1.tp == 2);
  CHECK(f1.fp == 1);
  CHECK(f1.tn == 1);
  CHECK(f1.fn == 0);
  CHECK(f1.precision == doctest::Approx(2.0 / 3));
  CHECK(f1.recall == 1.0);
  CHECK(f1.specificity == 0.5);
  CHECK(f1.npv == 1.0);
  CHECK(f1.alert_rate == 0.75);
  CHECK(f1.expected_cost == doctest::Approx(0.25));  // error rate with unit costs
  CHECK(select_threshold(kY, kP, policy::min_recall(1.0)).threshold == 0.4);
  CHECK(select_threshold(kY, kP, policy::min_precision(0.9)).threshold == 0.9);
  CHECK(select_threshold(kY, kP, policy::min_precision(0.6)).threshold == 0.4);
  // alert budget 0.5: 0.9 and 0.6 both give recall 0.5; the higher threshold wins the tie
  CHECK(select_threshold(kY, kP, policy::max_alert_rate(0.5)).threshold == 0.9);
  OperatingPoint c = select_threshold(kY, kP, policy::min_cost(1, 4));
  CHECK(c.threshold == 0.4);
  CHECK(c.expected_cost == doctest::Approx(0.25));
  CHECK(c.bayes_threshold == doctest::Approx(0.2));
  CHECK(c.bayes_expected_cost == doctest::Approx(0.25));
  CHECK(c.bayes_recall == 1.0);
  CHECK(std::isnan(f1.bayes_threshold));
  // F2 weighs recall more
  CHECK(select_threshold(kY, kP, policy::max_fbeta(2.0)).fbeta ==
        doctest::Approx(5 * 2.0 / (5 * 2 + 1)));
}

TEST_CASE("select threshold: ties are flagged together, all-flagged NPV is NaN") {
  const OperatingPoint op =
      select_threshold(V{1, 0, 1, 0}, V{0.5, 0.5, 0.5, 0.5}, policy::max_fbeta());
  CHECK(op.threshold == 0.5);
  CHECK(op.tp == 2);
  CHECK(op.fp == 2);
  CHECK(std::isnan(op.npv));
}

TEST_CASE("select threshold: intervals at the chosen point") {
  V y, p;
  for (int i = 0; i < 20; ++i) {
    y.push_back(i < 10);
    p.push_back(i < 8 || i == 15 ? 0.9 : 0.1);
  }
  // threshold 0.9: tp = 8, fp = 1; recall 8/10, precision 8/9
  const OperatingPoint op = select_threshold(y, p, policy::min_precision(0.8));
  CHECK(op.threshold == 0.9);
  CHECK(op.recall_wilson.lower == doctest::Approx(0.4901624715).epsilon(1e-7));
  CHECK(op.recall_cp.lower == doctest::Approx(0.4439045377).epsilon(1e-7));
  CHECK(op.precision_wilson.lower < op.precision);
  CHECK(op.precision_cp.upper > op.precision);
  // conservative: the Wilson lower bound of precision 8/9 (0.565) is below 0.8 -> infeasible
  ThresholdOptions o;
  o.conservative = true;
  CHECK_THROWS_WITH_AS(
      select_threshold(y, p, policy::min_precision(0.8), o),
      doctest::Contains("best precision (the lower 95% Wilson bound) achievable is 0.56"),
      InvalidInput);
  const OperatingPoint cons = select_threshold(y, p, policy::min_precision(0.5), o);
  CHECK(cons.precision_wilson.lower >= 0.5);
  CHECK(cons.policy.find("conservative") != std::string::npos);
}

namespace {
// Brute force: every distinct score of a positive-weight row as threshold, the counts by a full
// scan.
struct Cand {
  double t, tp, fp;
};
std::vector<Cand> all_candidates(const V& y, const V& p, const V& w) {
  std::vector<double> ts;
  for (size_t i = 0; i < p.size(); ++i)
    if (w[i] > 0) ts.push_back(p[i]);
  std::sort(ts.begin(), ts.end());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  std::vector<Cand> out;
  for (double t : ts) {
    Cand c{t, 0, 0};
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i] >= t) (y[i] ? c.tp : c.fp) += w[i];
    out.push_back(c);
  }
  return out;
}
}  // namespace

TEST_CASE("select threshold: each policy equals a brute-force search (ties, weights)") {
  Rng rng(9);
  for (int rep = 0; rep < 20; ++rep) {
    const int n = 200;
    V y(n), p(n), w(n);
    for (int i = 0; i < n; ++i) {
      p[i] = std::round(rng.uniform() * 30) / 30;
      y[i] = rng.uniform() < 0.2 + 0.6 * p[i];
      w[i] = rep % 2 ? std::round(rng.uniform() * 4) : 1.0;
    }
    double P = 0, N = 0;
    for (int i = 0; i < n; ++i) (y[i] ? P : N) += w[i];
    const auto cands = all_candidates(y, p, w);
    auto best = [&](std::function<bool(const Cand&)> feas, std::function<double(const Cand&)> obj) {
      double bo = -INFINITY, bt = NAN;
      for (auto it = cands.rbegin(); it != cands.rend(); ++it)  // high thresholds first win ties
        if (feas(*it) && obj(*it) > bo + 1e-12) {
          bo = obj(*it);
          bt = it->t;
        }
      return bt;
    };
    auto all = [](const Cand&) { return true; };
    const V wv = w;
    CHECK(select_threshold(y, p, policy::max_fbeta(), {}, wv).threshold ==
          best(all, [&](const Cand& c) { return 2 * c.tp / (2 * c.tp + (P - c.tp) + c.fp); }));
    CHECK(select_threshold(y, p, policy::min_recall(0.7), {}, wv).threshold ==
          best([&](const Cand& c) { return c.tp / P >= 0.7; },
               [](const Cand& c) { return c.tp / (c.tp + c.fp); }));
    CHECK(select_threshold(y, p, policy::min_precision(0.6), {}, wv).threshold ==
          best([&](const Cand& c) { return c.tp / (c.tp + c.fp) >= 0.6; },
               [&](const Cand& c) { return c.tp / P; }));
    CHECK(select_threshold(y, p, policy::max_alert_rate(0.3), {}, wv).threshold ==
          best([&](const Cand& c) { return (c.tp + c.fp) / (P + N) <= 0.3; },
               [&](const Cand& c) { return c.tp / P; }));
    CHECK(select_threshold(y, p, policy::min_cost(1, 5), {}, wv).threshold ==
          best(all, [&](const Cand& c) { return -(c.fp + 5 * (P - c.tp)); }));
  }
}

TEST_CASE("operating point at a fixed threshold matches the selected one") {
  const OperatingPoint a = select_threshold(kY, kP, policy::max_fbeta());
  const OperatingPoint b = operating_point_at(metrics::SortedScores(kY, kP), a.threshold);
  CHECK(b.tp == a.tp);
  CHECK(b.precision == a.precision);
  CHECK(b.recall_wilson.lower == a.recall_wilson.lower);
  CHECK(b.policy == "fixed threshold");
}

TEST_CASE("select threshold: every error path names the problem") {
  CHECK_THROWS_WITH_AS(select_threshold(V{1, 0}, V{0.5}, policy::max_fbeta()),
                       doctest::Contains("one score per label"), InvalidInput);
  CHECK_THROWS_WITH_AS(select_threshold(V{1, 0}, V{0.5, NAN}, policy::max_fbeta()),
                       doctest::Contains("scores[1] is nan"), InvalidInput);
  CHECK_THROWS_WITH_AS(select_threshold(V{1, 1}, V{0.5, 0.2}, policy::max_fbeta()),
                       doctest::Contains("only class 1"), InvalidInput);
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::min_recall(1.5)),
                       doctest::Contains("min_recall must be in [0, 1]"), InvalidParams);
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::max_alert_rate(0.0)),
                       doctest::Contains("max_alert_rate"), InvalidParams);
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::min_cost(0, 0)),
                       doctest::Contains("cost_fp + cost_fn"), InvalidParams);
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::max_fbeta(-1)), doctest::Contains("beta"),
                       InvalidParams);
  ThresholdOptions o;
  o.conservative = true;
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::max_fbeta(), o),
                       doctest::Contains("conservative mode applies"), InvalidParams);
  o.conservative = false;
  o.confidence = 0;
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::max_fbeta(), o),
                       doctest::Contains("confidence"), InvalidParams);
  // no feasible threshold: the message states the best achievable value
  CHECK_THROWS_WITH_AS(
      select_threshold(V{0, 1, 0, 1}, V{0.9, 0.8, 0.7, 0.6}, policy::min_precision(0.99)),
      doctest::Contains("best precision achievable is 0.5 (at threshold 0.8)"), InvalidInput);
  CHECK_THROWS_WITH_AS(
      select_threshold(V{1, 0, 1, 0}, V{0.5, 0.5, 0.5, 0.5}, policy::max_alert_rate(0.5)),
      doctest::Contains("best alert rate achievable is 1"), InvalidInput);
  ThresholdOptions c;
  c.conservative = true;
  c.conservative_interval = IntervalMethod::kClopperPearson;
  CHECK_THROWS_WITH_AS(select_threshold(kY, kP, policy::min_recall(0.9), c),
                       doctest::Contains("Clopper-Pearson"), InvalidInput);
}
