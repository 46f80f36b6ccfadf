// SPDX-License-Identifier: Apache-2.0
// Subgroups (issue 15 §3): intersections, the level cap, the per-group tests and their
// multiplicity adjustment. Oracles: hand-computed adjusted p-values and test statistics, and
// synthetic data whose truth is known (30 well-calibrated groups: nothing to find; one group with
// doubled odds: a real miscalibration). statsmodels oracles are in tests/python/test_subgroups.py.
#include "report/subgroups.hpp"

#include <calibrisk/metrics/metrics.hpp>
#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/report/report.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// Portable uniform in [0, 1): the top 53 bits of mt19937_64 (whose sequence the standard fixes).
struct Uniform {
  std::mt19937_64 gen;
  explicit Uniform(std::uint64_t seed) : gen(seed) {}
  double operator()() { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }
};

// `groups` groups of `per_group` rows with p ~ U(0.05, 0.6) and y ~ Bernoulli(p): every group
// is calibrated and has the same recall at any threshold in truth.
struct Synthetic {
  std::vector<double> y, p, g;
};

Synthetic calibrated_groups(int groups, int per_group, std::uint64_t seed) {
  Synthetic d;
  Uniform u(seed);
  for (int k = 0; k < groups; ++k) {
    for (int i = 0; i < per_group; ++i) {
      const double p = 0.05 + 0.55 * u();
      d.p.push_back(p);
      d.y.push_back(u() < p ? 1.0 : 0.0);
      d.g.push_back(k);
    }
  }
  return d;
}

EvaluationInput input_of(const Synthetic& d, double threshold) {
  EvaluationInput in;
  in.y = VectorView<const double>(d.y);
  in.p = VectorView<const double>(d.p);
  in.threshold = threshold;
  in.subgroups.push_back({"group", VectorView<const double>(d.g), {}});
  return in;
}

Index flagged(const Report& r) {
  Index k = 0;
  for (const auto& row : r.subgroups.rows) k += !row.flags.empty();
  return k;
}

}  // namespace

TEST_CASE("subgroups: Holm and Benjamini-Hochberg adjusted p-values, hand-computed") {
  const std::vector<double> p{0.01, 0.04, 0.03, 0.005};
  // Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, running max.
  const auto holm = detail::adjust_p_values(p, Multiplicity::kHolm);
  const std::vector<double> holm_expected{0.03, 0.06, 0.06, 0.02};
  // BH: times 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04, running min from the top.
  const auto bh = detail::adjust_p_values(p, Multiplicity::kBenjaminiHochberg);
  const std::vector<double> bh_expected{0.02, 0.04, 0.04, 0.02};
  for (std::size_t i = 0; i < p.size(); ++i) {
    CHECK(holm[i] == doctest::Approx(holm_expected[i]).epsilon(1e-12));
    CHECK(bh[i] == doctest::Approx(bh_expected[i]).epsilon(1e-12));
  }
  CHECK(detail::adjust_p_values(p, Multiplicity::kNone) == p);
  // Capped at 1; ties and an empty family.
  const auto big = detail::adjust_p_values({0.5, 0.5, 0.9}, Multiplicity::kHolm);
  CHECK(big == std::vector<double>{1.0, 1.0, 1.0});
  CHECK(detail::adjust_p_values({}, Multiplicity::kHolm).empty());
}

TEST_CASE("subgroups: cross_subgroups labels each occurring combination, missing included") {
  const std::vector<double> age{0, 0, 1, 1, NAN, 1};
  const std::vector<double> sex{0, 1, 1, 1, 0, 1};
  std::vector<double> codes;
  const SubgroupColumn c =
      cross_subgroups({{"age_band", VectorView<const double>(age), {"<70", "70+"}},
                       {"sex", VectorView<const double>(sex), {"F", "M"}}},
                      codes);
  CHECK(c.name == "age_band*sex");
  // 70+ & F never occurs: absent. Order: first part slowest, missing last.
  REQUIRE(c.labels == std::vector<std::string>{"age_band=<70 & sex=F", "age_band=<70 & sex=M",
                                               "age_band=70+ & sex=M",
                                               "age_band=(missing) & sex=F"});
  CHECK(codes == std::vector<double>{0, 1, 2, 2, 3, 2});
  CHECK(c.codes.size() == 6);
  CHECK(c.codes.data() == codes.data());

  // Three parts; numeric codes without labels show the number.
  const std::vector<double> ward{7, 7, 7, 7, 7, 8};
  std::vector<double> codes3;
  const SubgroupColumn c3 = cross_subgroups({{"a", VectorView<const double>(age), {"<70", "70+"}},
                                             {"s", VectorView<const double>(sex), {"F", "M"}},
                                             {"w", VectorView<const double>(ward), {}}},
                                            codes3);
  CHECK(c3.name == "a*s*w");
  CHECK(c3.labels.back() == "a=(missing) & s=F & w=7");
  CHECK(c3.labels[2] == "a=70+ & s=M & w=7");
  CHECK(c3.labels[3] == "a=70+ & s=M & w=8");

  const std::vector<double> short_col{0, 1};
  CHECK_THROWS_WITH_AS(cross_subgroups({{"a", VectorView<const double>(age), {}},
                                        {"b", VectorView<const double>(short_col), {}}},
                                       codes),
                       doctest::Contains("column 'b' has 2 values but 'a' has 6"), InvalidInput);
  CHECK_THROWS_WITH_AS(cross_subgroups({}, codes), doctest::Contains("no columns to cross"),
                       InvalidInput);
}

TEST_CASE("subgroups: a spec names a column exactly, or columns joined by '*'") {
  const std::vector<std::string> cols{"age_band", "sex", "site", "a*b", "a", "b"};
  using V = std::vector<std::string>;
  CHECK(subgroup_spec_columns("site", cols, "--subgroup site") == V{"site"});
  CHECK(subgroup_spec_columns("age_band*sex", cols, "x") == V{"age_band", "sex"});
  CHECK(subgroup_spec_columns("age_band * sex*site", cols, "x") == V{"age_band", "sex", "site"});
  // A column whose name contains '*' wins over crossing.
  CHECK(subgroup_spec_columns("a*b", cols, "x") == V{"a*b"});
  CHECK(subgroup_spec_columns("b*a", cols, "x") == V{"b", "a"});
  CHECK_THROWS_WITH_AS(subgroup_spec_columns("age_band*sx", cols, "--subgroup age_band*sx"),
                       doctest::Contains("--subgroup age_band*sx: there is no column 'sx'; the "
                                         "columns are: age_band, sex"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(subgroup_spec_columns("age_band**sex", cols, "x"),
                       doctest::Contains("has an empty column name"), InvalidInput);
  CHECK_THROWS_WITH_AS(subgroup_spec_columns("sex*sex", cols, "x"),
                       doctest::Contains("column 'sex' appears twice"), InvalidInput);
  CHECK_THROWS_WITH_AS(subgroup_spec_columns("", cols, "x"),
                       doctest::Contains("has an empty column name"), InvalidInput);
}

TEST_CASE("subgroups: hundreds of levels are capped, pooled and the report says so") {
  // Issue 15 bad input: a subgroup column with hundreds of levels. 300 ids; id k has k % 7 + 1
  // rows, so the largest levels are known.
  std::vector<double> y, p, id;
  for (int k = 0; k < 300; ++k) {
    for (int r = 0; r <= k % 7; ++r) {
      id.push_back(k);
      p.push_back(0.3);
      y.push_back((k + r) % 3 == 0 ? 1.0 : 0.0);
    }
  }
  id[5] = NAN;  // one missing value: its own level, not counted against the cap
  EvaluationInput in;
  in.y = VectorView<const double>(y);
  in.p = VectorView<const double>(p);
  in.threshold = 0.5;
  in.subgroups.push_back({"patient_id", VectorView<const double>(id), {}});
  EvaluationParams params;
  params.n_bootstrap = 0;
  params.max_subgroup_levels = 10;
  Report r;
  REQUIRE_NOTHROW(r = evaluate(in, params));
  const auto& rows = r.subgroups.rows;
  REQUIRE(rows.size() == 12);  // 10 largest + (missing) + the pooled level
  // The ids with 7 rows are 6, 13, 20, ...: the ten smallest of them are kept, in code order.
  for (int k = 0; k < 10; ++k) {
    CHECK(rows[static_cast<std::size_t>(k)].level == std::to_string(6 + 7 * k));
    CHECK(rows[static_cast<std::size_t>(k)].n == 7);
  }
  CHECK(rows[10].level == "(missing)");
  CHECK(rows[10].n == 1);
  CHECK(rows[11].level == "(290 other levels)");
  Index total = 0;
  for (const auto& row : rows) total += row.n;
  CHECK(total == static_cast<Index>(y.size()));
  REQUIRE(r.subgroups.notes.size() == 1);
  CHECK(r.subgroups.notes[0].find("Subgroup column 'patient_id' has 300 levels, more than "
                                  "max_subgroup_levels = 10: the 10 largest are shown and the "
                                  "other 290 (") == 0);
  CHECK(report_to_html(r).find("(290 other levels)") != std::string::npos);
  const Report back = report_from_json(report_to_json(r));
  CHECK(back.subgroups.notes == r.subgroups.notes);
}

TEST_CASE("subgroups: raw p-values, intervals and the not-tested reasons, hand-computed") {
  // Group A (60 rows) has 20 positives; 10 of them are flagged (p >= 0.5). The other rows
  // (group B, 60 rows) have 20 positives, 18 flagged.
  std::vector<double> y, p, g;
  for (int i = 0; i < 60; ++i) {
    const bool pos = i < 20;
    y.push_back(pos);
    p.push_back(pos ? (i < 10 ? 0.6 : 0.2) : 0.3);
    g.push_back(0);
  }
  for (int i = 0; i < 60; ++i) {
    const bool pos = i < 20;
    y.push_back(pos);
    p.push_back(pos ? (i < 18 ? 0.7 : 0.2) : 0.25);
    g.push_back(1);
  }
  g.push_back(2);  // group C: one row, not tested
  y.push_back(0);
  p.push_back(0.1);
  EvaluationInput in;
  in.y = VectorView<const double>(y);
  in.p = VectorView<const double>(p);
  in.threshold = 0.5;
  in.subgroups.push_back({"g", VectorView<const double>(g), {"A", "B", "C"}});
  EvaluationParams params;
  params.n_bootstrap = 0;
  params.multiplicity = Multiplicity::kNone;
  const Report r = evaluate(in, params);
  const SubgroupRow& a = r.subgroups.rows[0];
  // Recall 10/20 vs the other rows 18/20: pooled 28/40 = 0.7, se = sqrt(0.7 * 0.3 * (1/20 + 1/20))
  const double z = (0.5 - 0.9) / std::sqrt(0.7 * 0.3 * 0.1);
  CHECK(a.recall == 0.5);
  CHECK(a.recall_others == doctest::Approx(0.9));
  CHECK(a.recall_p == doctest::Approx(std::erfc(std::abs(z) / std::sqrt(2.0))).epsilon(1e-12));
  const auto w = metrics::wilson_interval(10, 20, 0.95);
  CHECK(a.recall_lower == doctest::Approx(w.lower));
  CHECK(a.recall_upper == doctest::Approx(w.upper));
  // Calibration: observed 20, expected 10 * 0.6 + 10 * 0.2 + 40 * 0.3 = 20 -> z = 0, p = 1.
  const double var = 10 * 0.24 + 10 * 0.16 + 40 * 0.21;
  CHECK(a.calibration_z == doctest::Approx(0.0 / std::sqrt(var)));
  CHECK(a.calibration_p == doctest::Approx(1.0));
  // Group B: observed 20, expected 18 * 0.7 + 2 * 0.2 + 40 * 0.25 = 23.
  const SubgroupRow& b = r.subgroups.rows[1];
  const double zb = (20 - 23.0) / std::sqrt(18 * 0.21 + 2 * 0.16 + 40 * 0.1875);
  CHECK(b.calibration_z == doctest::Approx(zb).epsilon(1e-12));
  CHECK(std::isfinite(b.calibration_intercept_lower));
  CHECK(b.calibration_intercept_lower < b.calibration_intercept);
  CHECK(b.calibration_intercept < b.calibration_intercept_upper);
  // C is too small: shown, not tested, not counted.
  const SubgroupRow& c = r.subgroups.rows[2];
  CHECK(std::isnan(c.calibration_p));
  CHECK(c.undefined.at("calibration_p") ==
        "not tested: the group has 1 rows, fewer than min_subgroup_size = 50");
  CHECK(r.subgroups.n_tests == 4);
  CHECK(r.subgroups.multiplicity == "none");
  CHECK(r.subgroups.alpha == doctest::Approx(0.05));
  // A's recall gap 0.4 > 0.1 at p ~ 0.007: flagged without adjustment, with its interval and p.
  REQUIRE(a.flags.size() == 1);
  CHECK(a.flags[0].find("recall 0.5 (95% CI ") == 0);
  CHECK(a.flags[0].find("vs 0.9 in the other rows (more than 0.1 below), p = ") !=
        std::string::npos);
  CHECK(a.flags[0].find("(unadjusted, 4 tests)") != std::string::npos);
}

TEST_CASE("subgroups: 30 well-calibrated groups flag nothing with Holm, noise without") {
  // Known truth: every group is calibrated with the same recall. 60 tests at alpha 0.05 find
  // noise when each is taken alone; Holm's adjustment controls the family-wise error rate. Over
  // 20 fixed seeds: unadjusted testing flags groups in every data set, Holm and BH in none.
  Index raw_flagged = 0, raw_significant = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const Synthetic d = calibrated_groups(30, 80, seed);
    const EvaluationInput in = input_of(d, 0.3);
    EvaluationParams params;
    params.n_bootstrap = 0;
    params.multiplicity = Multiplicity::kNone;
    const Report raw = evaluate(in, params);
    CHECK(raw.subgroups.n_tests == 60);
    for (const auto& row : raw.subgroups.rows) {
      raw_significant += row.recall_p < 0.05;
      raw_significant += row.calibration_p < 0.05;
    }
    CHECK(flagged(raw) >= 1);  // unadjusted testing flags noise
    raw_flagged += flagged(raw);
    params.multiplicity = Multiplicity::kHolm;
    const Report holm = evaluate(in, params);
    CHECK(flagged(holm) == 0);
    CHECK(holm.subgroups.multiplicity == "holm");
    params.multiplicity = Multiplicity::kBenjaminiHochberg;
    CHECK(flagged(evaluate(in, params)) == 0);
  }
  // About 5% of 1200 tests are significant alone (the truth is the null everywhere).
  CHECK(raw_significant >= 30);
  CHECK(raw_significant <= 120);
  CHECK(raw_flagged >= 20);
}

TEST_CASE("subgroups: a truly miscalibrated group among 30 is still flagged with Holm") {
  Synthetic d = calibrated_groups(30, 80, 20261202);
  // Group 30: the true odds are twice the predicted odds (true calibration intercept log 2).
  Uniform u(7);
  for (int i = 0; i < 300; ++i) {
    const double p = 0.05 + 0.55 * u();
    const double odds = 2 * p / (1 - p);
    d.p.push_back(p);
    d.y.push_back(u() < odds / (1 + odds) ? 1.0 : 0.0);
    d.g.push_back(30);
  }
  const EvaluationInput in = input_of(d, 0.3);
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  REQUIRE(r.subgroups.rows.size() == 31);
  CHECK(r.subgroups.n_tests == 62);
  for (std::size_t k = 0; k < 30; ++k) CHECK(r.subgroups.rows[k].flags.empty());
  const SubgroupRow& bad = r.subgroups.rows[30];
  REQUIRE(bad.flags.size() == 1);
  CHECK(bad.flags[0].find("calibration intercept +") == 0);
  CHECK(bad.flags[0].find("risk under-predicted") != std::string::npos);
  CHECK(bad.flags[0].find("adjusted p = ") != std::string::npos);
  CHECK(bad.flags[0].find("(Holm, 62 tests)") != std::string::npos);
  // The interval excludes 0 (true intercept log 2 = 0.69).
  CHECK(bad.calibration_intercept_lower > 0);
  CHECK(bad.calibration_intercept_upper > bad.calibration_intercept_lower);
  CHECK(bad.calibration_p_adjusted < 0.05);
}

TEST_CASE("subgroups: intersections in evaluate; a one-class group is flagged by its test") {
  // sex x ward; the cell (M, north) has 80 rows with p = 0.3 but no event at all.
  std::vector<double> y, p, sex, ward;
  Uniform u(11);
  for (int i = 0; i < 480; ++i) {
    const int s = i % 2, w = (i / 2) % 3;
    sex.push_back(s);
    ward.push_back(w);
    p.push_back(0.3);
    y.push_back(s == 1 && w == 0 ? 0.0 : (u() < 0.3 ? 1.0 : 0.0));
  }
  std::vector<double> codes;
  const SubgroupColumn sw =
      cross_subgroups({{"sex", VectorView<const double>(sex), {"F", "M"}},
                       {"ward", VectorView<const double>(ward), {"north", "south", "east"}}},
                      codes);
  EvaluationInput in;
  in.y = VectorView<const double>(y);
  in.p = VectorView<const double>(p);
  in.subgroups = {sw};
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  REQUIRE(r.subgroups.rows.size() == 6);
  CHECK(r.subgroups.rows[0].column == "sex*ward");
  const SubgroupRow& mn = r.subgroups.rows[3];
  CHECK(mn.level == "sex=M & ward=north");
  CHECK(mn.positives == 0);
  REQUIRE(mn.flags.size() == 1);
  CHECK(mn.flags[0].find("calibration intercept -\xE2\x88\x9E (only class 0 in the group)") == 0);
  CHECK(mn.flags[0].find("risk over-predicted (observed 0 vs expected 24 events)") !=
        std::string::npos);
  // No threshold: calibration tests only (6 groups).
  CHECK(r.subgroups.n_tests == 6);
}

TEST_CASE("subgroups: an infinite code is a level, not the missing value, in an intersection") {
  const std::vector<double> a{INFINITY, NAN, 0, INFINITY};
  const std::vector<double> b{0, 0, 0, 0};
  std::vector<double> codes;
  const SubgroupColumn c = cross_subgroups(
      {{"a", VectorView<const double>(a), {}}, {"b", VectorView<const double>(b), {}}}, codes);
  CHECK(c.labels ==
        std::vector<std::string>{"a=0 & b=0", "a=\xE2\x88\x9E & b=0", "a=(missing) & b=0"});
  CHECK(codes == std::vector<double>{1, 2, 0, 1});
}

TEST_CASE("subgroups: an adjusted p below alpha is never printed as alpha") {
  const double alpha = 1 - 0.95;
  CHECK(detail::format_p_value(0.0497, alpha) == "0.0497");
  CHECK(detail::format_p_value(0.049996, alpha) == "0.049996");
  CHECK(detail::format_p_value(0.012345, alpha) == "0.012");
  CHECK(detail::format_p_value(0.3, alpha) == "0.3");
  CHECK(detail::format_p_value(0.0503, alpha) == "0.05");  // not significant: 2 digits suffice
  CHECK(detail::format_p_value(9.81e-7, alpha) == "9.8e-07");
}
