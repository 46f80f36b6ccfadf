// SPDX-License-Identifier: Apache-2.0
// evaluate(): hand-computed cases, the cohort's known shifts (the flagged site, the drift), and
// every input error.
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/metrics/metrics.hpp>
#include <calibrisk/report/evaluate.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace calibrisk;

namespace {

double logit(double p) { return std::log(p / (1 - p)); }

struct CohortData {
  ReadmissionCohort c;
  std::vector<double> y, p_truth, p_blind, p_overconfident, site, day;
  std::vector<std::int64_t> patient;
};

// A "model" that knows every feature effect but neither the site shift nor the drift: exactly
// what a model trained on the features can at best learn.
const CohortData& cohort_data() {
  static const CohortData d = [] {
    CohortData d;
    ReadmissionCohortParams p;
    p.n_patients = 20000;
    p.seed = 5;
    d.c = make_readmission_cohort(p);
    d.y = d.c.labels();
    for (Index i = 0; i < d.c.rows(); ++i) {
      const auto k = static_cast<std::size_t>(i);
      const double t = static_cast<double>(d.c.encounter_day[k] - p.start_day) / 365.0;
      const double lo = logit(d.c.true_risk[k]) - p.drift_per_year * (t - 1.0) -
                        (d.c.site[k] == p.shifted_site ? p.site_shift : 0.0);
      d.p_truth.push_back(d.c.true_risk[k]);
      d.p_blind.push_back(sigmoid(lo));
      d.p_overconfident.push_back(sigmoid(2.0 * logit(d.c.true_risk[k]) + 1.0));
      d.site.push_back(d.c.site[k]);
      d.day.push_back(static_cast<double>(d.c.encounter_day[k]));
      d.patient.push_back(d.c.patient_id[k]);
    }
    return d;
  }();
  return d;
}

}  // namespace

TEST_CASE("evaluate: hand-computed operating point, AUC and data summary") {
  const std::vector<double> y{0, 0, 1, 1, 0, 1, 0, 0};
  const std::vector<double> p{0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.05, 0.5};
  const std::vector<double> t{19000, 19001, 19031, 19032, 19060, 19061, 19062, 19063};
  EvaluationInput in;
  in.y = y;
  in.p = p;
  in.threshold = 0.35;
  in.policy = "min_recall=0.9";
  in.time = t;
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  // Pairs (pos, neg): 3 x 5 = 15; positives 0.35, 0.8, 0.9 beat 3, 5, 5 negatives -> 13/15.
  CHECK(r.discrimination.roc_auc.value == doctest::Approx(13.0 / 15.0).epsilon(1e-12));
  CHECK(std::isnan(r.discrimination.roc_auc.lower));
  CHECK(r.data.rows == 8);
  CHECK(r.data.positives == 3);
  CHECK(r.data.prevalence == 3.0 / 8.0);
  CHECK(r.data.time_min == format_iso_date(19000));
  CHECK(r.data.patients == -1);
  REQUIRE(r.has_operating_point);
  const auto& o = r.operating_point;
  // Flagged (p >= 0.35): 0.4 (neg), 0.35, 0.8, 0.9 (pos), 0.5 (neg).
  CHECK(o.tp == 3);
  CHECK(o.fp == 2);
  CHECK(o.tn == 3);
  CHECK(o.fn == 0);
  CHECK(o.precision.value == doctest::Approx(0.6));
  CHECK(o.recall.value == 1.0);
  CHECK(o.specificity.value == doctest::Approx(0.6));
  CHECK(o.alert_rate.value == doctest::Approx(5.0 / 8.0));
  CHECK(o.policy == "min_recall=0.9");
  // Wilson interval of 3/5 at 95% (closed form: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 +
  // z²/n)).
  const double zz = 1.959963984540054, pn = 0.6, nn = 5;
  const double centre = (pn + zz * zz / (2 * nn)) / (1 + zz * zz / nn);
  const double half =
      zz * std::sqrt(pn * (1 - pn) / nn + zz * zz / (4 * nn * nn)) / (1 + zz * zz / nn);
  CHECK(o.precision.lower == doctest::Approx(centre - half).epsilon(1e-12));
  CHECK(o.precision.upper == doctest::Approx(centre + half).epsilon(1e-12));
  // Three calendar months (2022-01, 2022-02, 2022-03): monthly periods.
  CHECK(r.over_time.granularity == "month");
  REQUIRE(r.over_time.rows.size() == 3);
  CHECK(r.over_time.rows[0].period == "2022-01");
  CHECK(r.over_time.rows[0].n == 2);
  CHECK(r.over_time.rows[2].n == 4);
  CHECK(std::isnan(r.over_time.rows[0].roc_auc));  // one class only in January
  // Decision curve: net benefit of treat-all at t = 0.01 is prev - (1 - prev) t / (1 - t).
  REQUIRE(!r.decision_curve.threshold.empty());
  CHECK(r.decision_curve.threshold.front() == doctest::Approx(0.01));
  CHECK(r.decision_curve.treat_all.front() ==
        doctest::Approx(3.0 / 8 - 5.0 / 8 * 0.01 / 0.99).epsilon(1e-12));
}

TEST_CASE("evaluate: the cohort's shifted site is flagged, the others are not") {
  const CohortData& d = cohort_data();
  EvaluationInput in;
  in.y = d.y;
  in.p = d.p_blind;
  in.threshold = 0.12;
  in.subgroups.push_back({"site", d.site, {"A", "B", "C", "D", "E"}});
  in.groups = d.patient;
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  REQUIRE(r.subgroups.rows.size() == 5);
  for (const auto& row : r.subgroups.rows) {
    MESSAGE("site " << row.level << ": n " << row.n << ", intercept " << row.calibration_intercept
                    << ", recall " << row.recall << ", flags " << row.flags.size());
    if (row.level == "C") {
      CHECK(!row.flags.empty());
      CHECK(row.calibration_intercept > 0.4);
      CHECK(row.prevalence > row.mean_predicted);
    } else {
      CHECK(row.flags.empty());
    }
  }
  CHECK(r.data.patients == d.c.n_patients());
}

TEST_CASE("evaluate: a model blind to the drift under-predicts the later quarters") {
  const CohortData& d = cohort_data();
  EvaluationInput in;
  in.y = d.y;
  in.p = d.p_blind;
  in.time = d.day;
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  CHECK(r.over_time.granularity == "quarter");
  REQUIRE(r.over_time.rows.size() == 8);
  CHECK(r.over_time.rows.front().period == "2022-Q1");
  CHECK(r.over_time.rows.back().period == "2023-Q4");
  const auto& first = r.over_time.rows.front();
  const auto& last = r.over_time.rows.back();
  CHECK(first.prevalence < first.mean_predicted + 0.02);
  CHECK(last.prevalence - last.mean_predicted > 0.02);
  CHECK(last.prevalence > first.prevalence);
}

TEST_CASE("evaluate: calibration before and after, and bootstrap intervals that cover") {
  const CohortData& d = cohort_data();
  EvaluationInput in;
  in.y = d.y;
  in.p = d.p_truth;
  in.p_uncalibrated = d.p_overconfident;
  in.groups = d.patient;
  EvaluationParams params;
  params.n_bootstrap = 100;
  const Report r = evaluate(in, params);
  REQUIRE(r.has_uncalibrated);
  CHECK(r.calibration_after.ece.value < 0.02);   // the truth is calibrated
  CHECK(r.calibration_before.ece.value > 0.05);  // the distorted one is not
  CHECK(std::abs(r.calibration_after.intercept) < 0.1);
  CHECK(std::abs(r.calibration_after.slope - 1) < 0.1);
  CHECK(r.calibration_before.slope == doctest::Approx(0.5).epsilon(0.1));  // logit doubled
  CHECK(r.calibration_after.spiegelhalter_p > 0.001);
  const Estimate auc = r.discrimination.roc_auc;
  CHECK(auc.lower < auc.value);
  CHECK(auc.value < auc.upper);
  CHECK(auc.upper - auc.lower < 0.05);
  // The metrics module agrees with the report (the same computation; sklearn parity is tested there
  // and in tests/python/test_report.py).
  CHECK(auc.value ==
        metrics::roc_auc_score(VectorView<const double>(d.y), VectorView<const double>(d.p_truth)));
  CHECK(r.discrimination.roc.x.size() <= 420u);
  CHECK(r.discrimination.roc.x.front() == 0.0);
  CHECK(r.discrimination.roc.x.back() == 1.0);
  CHECK(r.notes.size() == 2);  // no threshold, no time
}

TEST_CASE("evaluate: the report does not depend on the thread count") {
  const CohortData& d = cohort_data();
  EvaluationInput in;
  in.y = d.y;
  in.p = d.p_blind;
  in.threshold = 0.15;
  EvaluationParams params;
  params.n_bootstrap = 50;
  params.n_threads = 1;
  const std::string one = report_to_json(evaluate(in, params));
  params.n_threads = 2;
  CHECK(report_to_json(evaluate(in, params)) == one);
  params.random_state = 1;
  CHECK(report_to_json(evaluate(in, params)) != one);
}

TEST_CASE("evaluate: subgroup levels, missing and unseen codes, number time keys") {
  const std::vector<double> y{0, 1, 0, 1, 0, 1};
  const std::vector<double> p{0.2, 0.7, 0.3, 0.6, 0.1, 0.9};
  const std::vector<double> g{0, 0, 1, NAN, kUnseenCategory, 1};
  const std::vector<double> t{5, 1, 3, 2, 6, 4};
  EvaluationInput in;
  in.y = y;
  in.p = p;
  in.subgroups.push_back({"ward", g, {"north", "south"}});
  in.time = t;
  in.time_in_days = false;
  in.feature_importances = {{"b", 1.0}, {"a", 3.0}, {"c", 1.0}};
  in.provenance = {{"model", "lr"}};
  EvaluationParams params;
  params.n_bootstrap = 0;
  params.n_time_bins = 3;
  const Report r = evaluate(in, params);
  REQUIRE(r.subgroups.rows.size() == 4);
  CHECK(r.subgroups.rows[0].level == "(unseen)");  // code -1 sorts first
  CHECK(r.subgroups.rows[1].level == "north");
  CHECK(r.subgroups.rows[2].level == "south");
  CHECK(r.subgroups.rows[3].level == "(missing)");
  CHECK(r.subgroups.rows[1].n == 2);
  CHECK(r.over_time.granularity == "equal-count bins");
  REQUIRE(r.over_time.rows.size() == 3);
  CHECK(r.over_time.rows[0].start == 1);
  CHECK(r.over_time.rows[0].n == 2);
  REQUIRE(r.top_features.size() == 3);
  CHECK(r.top_features[0].name == "a");
  CHECK(r.top_features[1].name == "b");  // ties by name
  CHECK(r.provenance.front().first == "model");
  CHECK(r.provenance.size() == 4);
}

TEST_CASE("evaluate: missingness from the feature matrix") {
  const std::vector<double> y{0, 1, 0, 1};
  const std::vector<double> p{0.2, 0.7, 0.3, 0.6};
  RowMatrixXd X(4, 2);
  X << 1, NAN, 2, NAN, NAN, 3, 4, 5;
  EvaluationInput in;
  in.y = y;
  in.p = p;
  in.X = view(X);
  in.feature_names = {"age", "hba1c"};
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  REQUIRE(r.data.missingness.size() == 2);
  CHECK(r.data.missingness[0].missing_fraction == 0.25);
  CHECK(r.data.missingness[1].name == "hba1c");
  CHECK(r.data.missingness[1].missing_fraction == 0.5);
}

TEST_CASE("evaluate: bad input is rejected with a clear message") {
  const std::vector<double> y{0, 1, 0, 1};
  const std::vector<double> p{0.2, 0.7, 0.3, 0.6};
  const std::vector<double> short_v{0.1, 0.2};
  EvaluationInput in;
  in.y = y;
  in.p = short_v;
  CHECK_THROWS_WITH_AS(evaluate(in), doctest::Contains("p has 2 values but y has 4"), InvalidInput);
  in.p = p;
  in.time = short_v;
  CHECK_THROWS_WITH_AS(evaluate(in), doctest::Contains("time has 2 values"), InvalidInput);
  in.time = {};
  const std::vector<double> one_class{0, 0, 0, 0};
  in.y = one_class;
  CHECK_THROWS_WITH_AS(evaluate(in), doctest::Contains("only class 0"), InvalidInput);
  in.y = y;
  const std::vector<double> scores{0.2, 1.7, 0.3, 0.6};
  in.p = scores;
  CHECK_THROWS_WITH_AS(evaluate(in), doctest::Contains("probabilities must lie in [0, 1]"),
                       InvalidInput);
  in.p = p;
  const std::vector<double> bad_y{0, 2, 0, 1};
  in.y = bad_y;
  CHECK_THROWS_AS(evaluate(in), InvalidInput);
  in.y = y;
  // (More subgroup levels than max_subgroup_levels are pooled, not an error: test_subgroups.cpp.)
  EvaluationParams params;
  params.n_bootstrap = -1;
  CHECK_THROWS_WITH_AS(evaluate(in, params), doctest::Contains("EvaluationParams.n_bootstrap"),
                       InvalidParams);
  params = {};
  params.intercept_tolerance = 0;
  CHECK_THROWS_AS(evaluate(in, params), InvalidParams);
  const std::vector<double> nan_t{1, NAN, 2, 3};
  in.time = nan_t;
  CHECK_THROWS_WITH_AS(evaluate(in), doctest::Contains("time[1] is nan"), InvalidInput);
}

TEST_CASE("evaluate: subgroup and time columns straight from a CSV table") {
  CsvReadOptions o;
  o.categorical = {"ward"};
  o.time_column = "date";
  const Table t = parse_csv(
      "date,ward,y,p\n2023-01-02,b,0,0.2\n2023-01-09,a,1,0.7\n2023-02-01,b,0,0.3\n"
      "2023-02-03,a,1,0.6\n2023-03-01,b,1,0.4\n2023-03-05,a,0,0.1\n",
      o);
  EvaluationInput in;
  in.y = t.column("y").values;
  in.p = t.column("p").values;
  in.subgroups = {subgroup_column(t.column("ward"))};
  in.time = t.column("date").values;
  in.time_in_days = t.column("date").time_encoding == TimeEncoding::kDays;
  EvaluationParams params;
  params.n_bootstrap = 0;
  const Report r = evaluate(in, params);
  REQUIRE(r.subgroups.rows.size() == 2);
  CHECK(r.subgroups.rows[0].level == "a");
  CHECK(r.subgroups.rows[0].n == 3);
  CHECK(r.data.time_min == "2023-01-02");
  CHECK(r.over_time.rows.size() == 3);
}

// --- degenerate data: undefined statistics are reported, never thrown (issue 11 §2) -----------

TEST_CASE("evaluate: all predictions 0.5 report Spiegelhalter's z and the slope as undefined") {
  const std::vector<double> y{0, 1, 0, 1, 0, 0, 1, 0};
  const std::vector<double> p(8, 0.5);
  const std::vector<double> site{0, 0, 0, 0, 1, 1, 1, 1};
  EvaluationInput in;
  in.y = VectorView<const double>(y);
  in.p = VectorView<const double>(p);
  in.p_uncalibrated = VectorView<const double>(p);
  in.threshold = 0.5;
  in.subgroups = {{"site", VectorView<const double>(site), {}}};
  EvaluationParams prm;
  prm.n_bootstrap = 20;
  Report r;
  REQUIRE_NOTHROW(r = evaluate(in, prm));
  for (const CalibrationSection* c : {&r.calibration_after, &r.calibration_before}) {
    CHECK(std::isnan(c->spiegelhalter_z));
    CHECK(std::isnan(c->spiegelhalter_p));
    CHECK(c->undefined.at("spiegelhalter_z") == metrics::kSpiegelhalterUndefined);
    CHECK(std::isnan(c->slope));
    CHECK(c->undefined.at("slope").find("every prediction is the same") != std::string::npos);
    // Defined statistics keep their exact values: 3 of 8 positives.
    CHECK(c->intercept == doctest::Approx(std::log(3.0 / 5.0)).epsilon(1e-9));
    CHECK(c->brier == doctest::Approx(0.25));
    CHECK(c->log_loss == doctest::Approx(std::log(2.0)));
    CHECK(c->roc_auc == doctest::Approx(0.5));
  }
  CHECK(r.ranking.status.empty());  // the model's scores are all equal: nothing to rank
  const std::string html = report_to_html(r);
  CHECK(html.find("undefined (its variance is zero: every prediction is 0, 0.5 or 1)") !=
        std::string::npos);
  const std::string json = report_to_json(r);
  CHECK(json.find("\"spiegelhalter_z\": null") != std::string::npos);
  CHECK(report_to_json(report_from_json(json)) == json);
}

TEST_CASE("evaluate: one-class subgroups and periods, no flagged case, perfect separation") {
  const std::vector<double> y{0, 0, 0, 1, 1, 1, 0, 1};
  const std::vector<double> p{0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.15, 0.85};  // separates perfectly
  const std::vector<double> g{0, 0, 0, 1, 1, 1, 2, 2};  // group 0: only class 0, 1: only class 1
  const std::vector<double> t{0, 1, 2, 3, 4, 5, 6, 7};
  EvaluationInput in;
  in.y = VectorView<const double>(y);
  in.p = VectorView<const double>(p);
  in.threshold = 0.5;
  in.subgroups = {{"g", VectorView<const double>(g), {"zeros", "ones", "mixed"}}};
  in.time = VectorView<const double>(t);
  in.time_in_days = false;
  EvaluationParams prm;
  prm.n_bootstrap = 0;
  prm.n_time_bins = 2;
  Report r;
  REQUIRE_NOTHROW(r = evaluate(in, prm));
  const auto& rows = r.subgroups.rows;
  REQUIRE(rows.size() == 3);
  CHECK(std::isnan(rows[0].roc_auc));
  CHECK(rows[0].undefined.at("roc_auc") == "the group has only class 0");
  CHECK(rows[0].undefined.at("calibration_intercept") == "the group has only class 0");
  CHECK(rows[0].undefined.at("recall") == "the group has no positive case");
  CHECK(rows[0].undefined.at("precision") == "no case of the group is flagged");
  CHECK(rows[1].undefined.at("roc_auc") == "the group has only class 1");
  CHECK(rows[1].recall == 1.0);
  // Only "not tested" reasons (the groups are under min_subgroup_size), no undefined metric.
  for (const auto& [key, why] : rows[2].undefined) {
    CHECK((key == "recall_p" || key == "calibration_p"));
    CHECK(why.find("not tested: the group has 2 rows") == 0);
  }
  CHECK(rows[2].roc_auc == 1.0);
  // Periods t0-3 and t4-7: the second is mixed; the first too (0, 0, 0, 1).
  for (const auto& per : r.over_time.rows) CHECK(per.undefined.empty());
  // The scores separate the classes: the maximum-likelihood slope is unbounded.
  CHECK(std::isnan(r.calibration_after.slope));
  CHECK(r.calibration_after.undefined.at("slope").find("separate the classes") !=
        std::string::npos);
  CHECK(std::isfinite(r.calibration_after.spiegelhalter_z));
  // A threshold above every score: precision is undefined, with its reason.
  in.threshold = 0.95;
  r = evaluate(in, prm);
  CHECK(std::isnan(r.operating_point.precision.value));
  CHECK(r.operating_point.undefined.at("precision") == "no case is flagged at this threshold");
  CHECK(report_to_html(r).find("undefined (no case is flagged at this threshold)") !=
        std::string::npos);
}

TEST_CASE("evaluate: a calibrator that reverses or flattens the ranking is flagged (issue 11 §4)") {
  const std::vector<double> y{0, 0, 1, 0, 1, 1, 0, 1};
  const std::vector<double> raw{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  // A hand-built Platt calibrator with a negative slope: sigmoid(-4 (logit(raw))).
  std::vector<double> reversed, flat(8, 0.5), steps, wiggly;
  for (double x : raw) {
    reversed.push_back(sigmoid(-4 * logit(x)));
    steps.push_back(x < 0.35 ? 0.2 : x < 0.65 ? 0.5 : 0.8);  // isotonic-like: ties allowed
  }
  wiggly = raw;
  std::swap(wiggly[2], wiggly[5]);
  EvaluationInput in;
  in.y = VectorView<const double>(y);
  in.p_uncalibrated = VectorView<const double>(raw);
  EvaluationParams prm;
  prm.n_bootstrap = 0;
  auto check = [&](const std::vector<double>& cal) {
    in.p = VectorView<const double>(cal);
    return evaluate(in, prm);
  };
  Report r = check(reversed);
  CHECK(r.ranking.status == "reversed");
  CHECK(r.ranking.flagged());
  CHECK(r.ranking.explanation.find("reverses the model's ranking") != std::string::npos);
  CHECK(r.ranking.explanation.find("model score 0.1 \xE2\x86\x92 0.9998") != std::string::npos);
  CHECK(r.calibration_after.roc_auc == doctest::Approx(1 - r.calibration_before.roc_auc));
  CHECK(r.notes.front().find("Warning: Calibration reverses") == 0);
  CHECK(report_to_html(r).find("ranking reversed") != std::string::npos);
  CHECK(report_to_json(r).find("\"status\": \"reversed\"") != std::string::npos);
  r = check(flat);
  CHECK(r.ranking.status == "flattened");
  CHECK(r.ranking.flagged());
  r = check(steps);
  CHECK(r.ranking.status == "preserved");
  CHECK_FALSE(r.ranking.flagged());
  CHECK(r.notes.front().find("Warning") == std::string::npos);
  r = check(wiggly);
  CHECK(r.ranking.status == "non-monotone");
  CHECK(r.ranking.flagged());
  r = check(raw);
  CHECK(r.ranking.status == "preserved");
}

TEST_CASE("evaluate: EvaluationParams fields are declared once; messages name field and range") {
  auto bad = [](auto set, const char* fragment) {
    EvaluationParams p;
    set(p);
    CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains(fragment), InvalidParams);
  };
  bad([](EvaluationParams& p) { p.n_bootstrap = -1; },
      "EvaluationParams.n_bootstrap must be in [0, 100000] (0 = no bootstrap intervals), got -1");
  bad([](EvaluationParams& p) { p.confidence = 0; },
      "EvaluationParams.confidence must be in (0, 1)");
  bad([](EvaluationParams& p) { p.intercept_tolerance = 11; },
      "EvaluationParams.intercept_tolerance must be in (0, 10]");
  bad([](EvaluationParams& p) { p.recall_tolerance = 0; },
      "EvaluationParams.recall_tolerance must be in (0, 1]");
  bad([](EvaluationParams& p) { p.ece_tolerance = 2; },
      "EvaluationParams.ece_tolerance must be in [0, 1] (0 = not used)");
  bad([](EvaluationParams& p) { p.min_subgroup_size = 0; },
      "EvaluationParams.min_subgroup_size must be >= 1");
  bad([](EvaluationParams& p) { p.n_time_bins = 1001; },
      "EvaluationParams.n_time_bins must be in [1, 1000]");
  bad([](EvaluationParams& p) { p.max_curve_points = 9; },
      "EvaluationParams.max_curve_points must be >= 10");
  bad([](EvaluationParams& p) { p.decision_curve_max = 0.01; },
      "EvaluationParams.decision_curve_max must be in (0.01, 0.99]");
  bad([](EvaluationParams& p) { p.n_top_features = 0; },
      "EvaluationParams.n_top_features must be >= 1");
  bad([](EvaluationParams& p) { p.binning.n_bins = 0; }, "CalibrationBinning.n_bins");
  bad([](EvaluationParams& p) { p.time_granularity = static_cast<TimeGranularity>(9); },
      "auto, month, quarter, year or bins");
  CHECK_NOTHROW(EvaluationParams{}.validate());
  CHECK(std::string(enum_to_text(TimeGranularity::kBins)) == "bins");
}
