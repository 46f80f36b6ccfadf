// SPDX-License-Identifier: Apache-2.0
// The calendar split inside train_pipeline (on the readmission cohort: dates either side of the
// cuts, patients in one part, the counts recorded), its errors, and rolling-origin validation on
// synthetic data with a known step shift in risk (the truth the per-period figures must show).
#include <doctest/doctest.h>

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/workflow/train.hpp>
#include <calibrisk/workflow/validate.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

double day(int y, unsigned m, unsigned d) { return static_cast<double>(days_from_civil(y, m, d)); }

const Table& cohort() {
  static const Table t = [] {
    ReadmissionCohortParams p;
    p.n_encounters = 6000;
    return make_readmission_cohort(p).to_table();
  }();
  return t;
}

TrainSpec cohort_spec() {
  TrainSpec spec;
  spec.columns.label = "readmitted";
  spec.columns.group = "patient_id";
  spec.columns.time = "encounter_date";
  spec.columns.drop = {"encounter_id", "true_risk"};
  spec.model = ModelKind::kLogisticRegression;
  spec.split_rule = SplitRule::kCalendar;
  spec.calendar.cuts = {"2023-01-01", "2023-07-01"};
  return spec;
}

std::string provenance(const TrainResult& r, const std::string& key) {
  for (const auto& [k, v] : r.pipeline->provenance().parameters) {
    if (k == key) return v;
  }
  return "(absent)";
}

double max_of(const std::vector<double>& t, const std::vector<Index>& rows) {
  double m = -INFINITY;
  for (Index i : rows) m = std::max(m, t[static_cast<std::size_t>(i)]);
  return m;
}
double min_of(const std::vector<double>& t, const std::vector<Index>& rows) {
  double m = INFINITY;
  for (Index i : rows) m = std::min(m, t[static_cast<std::size_t>(i)]);
  return m;
}

std::set<double> patients(const std::vector<double>& g, const std::vector<Index>& rows) {
  std::set<double> s;
  for (Index i : rows) s.insert(g[static_cast<std::size_t>(i)]);
  return s;
}

}  // namespace

TEST_CASE("workflow: the calendar split puts every training date before cut 1, test after cut 2") {
  const Table& table = cohort();
  const std::vector<double>& t = table.column("encounter_date").values;
  const std::vector<double>& g = table.column("patient_id").values;
  const double c1 = day(2023, 1, 1), c2 = day(2023, 7, 1);
  const TrainResult r = train_pipeline(table, cohort_spec());
  CHECK(max_of(t, r.train.rows) < c1);
  CHECK(c1 <= min_of(t, r.calibration.rows));
  CHECK(max_of(t, r.calibration.rows) < c2);
  CHECK(c2 <= min_of(t, r.test.rows));
  // exclude: no patient in two parts; every row is in a part or counted as left out.
  const auto ptr = patients(g, r.train.rows), pca = patients(g, r.calibration.rows),
             pte = patients(g, r.test.rows);
  for (double p : pca) CHECK(ptr.count(p) == 0);
  for (double p : pte) CHECK((ptr.count(p) == 0 && pca.count(p) == 0));
  const Index left_out = r.split.rows_dropped[1] + r.split.rows_dropped[2];
  CHECK(left_out > 0);
  CHECK(static_cast<Index>(r.train.rows.size() + r.calibration.rows.size() + r.test.rows.size()) +
            left_out ==
        table.rows());
  // The left-out counts, recomputed by hand: test rows dated >= c2 whose patient has an
  // earlier row before c2.
  Index by_hand = 0;
  for (Index i = 0; i < table.rows(); ++i) {
    if (t[static_cast<std::size_t>(i)] < c2) continue;
    bool earlier = false;
    for (Index j = 0; j < table.rows() && !earlier; ++j) {
      earlier = g[static_cast<std::size_t>(j)] == g[static_cast<std::size_t>(i)] &&
                t[static_cast<std::size_t>(j)] < c2;
    }
    by_hand += earlier;
  }
  CHECK(r.split.rows_dropped[2] == by_hand);
  CHECK(provenance(r, "split.cuts") == "2023-01-01,2023-07-01");
  CHECK(provenance(r, "split.calendar_patients") == "exclude");
  CHECK(provenance(r, "split.test.rows_left_out") == std::to_string(by_hand));
  CHECK(provenance(r, "split.fractions") == "(absent)");
  CHECK(provenance(r, "split.rule").find("calendar: rows dated before 2023-01-01 train") == 0);

  // later-only: every row by its date; the later parts hold patients seen before.
  TrainSpec later = cohort_spec();
  later.calendar.patients = CalendarPatients::kLaterOnly;
  const TrainResult l = train_pipeline(table, later);
  CHECK(static_cast<Index>(l.train.rows.size() + l.calibration.rows.size() + l.test.rows.size()) ==
        table.rows());
  CHECK(l.split.groups_seen_earlier[2] > 0);
  CHECK(max_of(t, l.train.rows) < c1);
  CHECK(c2 <= min_of(t, l.test.rows));
  CHECK(provenance(l, "split.calendar_patients") == "later-only");
}

TEST_CASE("workflow: calendar split errors name the cut, the counts and the fix") {
  const Table& table = cohort();
  TrainSpec spec = cohort_spec();
  spec.calendar.cuts = {"2023-07-01", "2023-01-01"};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec), doctest::Contains("increasing order"),
                       InvalidParams);
  spec.calendar.cuts = {"2023-01-01", "2025-01-01"};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("cut 2 (2025-01-01) is after the latest row"),
                       InvalidInput);
  // A test part of the last day only: a handful of rows.
  spec.calendar.cuts = {"2023-01-01", "2023-12-31"};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("the test part (rows from 2023-12-31) has "),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("move the cuts (--cut 2023-01-01,2023-12-31)"),
                       InvalidInput);
  spec.columns.time = "";
  spec.calendar.cuts = {"2023-01-01", "2023-07-01"};
  CHECK_THROWS_WITH_AS(train_pipeline(table, spec),
                       doctest::Contains("--split-rule calendar needs --time-column"),
                       InvalidParams);
}

namespace {

// 8 quarters of 2022-2023, 700 rows each, one feature x ~ N(0, 1); logit P(y) = -1.5 + 1.2 x,
// plus `shift` from 2023-Q3 (the 7th quarter) on: the risk the model has not seen.
Table shifted_table(double shift) {
  Rng rng(5, 1);
  std::vector<double> t, x, y;
  for (int q = 0; q < 8; ++q) {
    const double start = day(2022 + q / 4, static_cast<unsigned>(q % 4) * 3 + 1, 1);
    for (int i = 0; i < 700; ++i) {
      const double xi = rng.normal();
      const double logit = -1.5 + 1.2 * xi + (q >= 6 ? shift : 0.0);
      t.push_back(start + (i % 90));
      x.push_back(xi);
      y.push_back(rng.uniform() < 1.0 / (1.0 + std::exp(-logit)) ? 1.0 : 0.0);
    }
  }
  Table table;
  table.add_column(Column::time_days("date", t));
  table.add_column(Column::numeric("x", x));
  table.add_column(Column::numeric("y", y));
  return table;
}

ValidateSpec shifted_spec() {
  ValidateSpec v;
  v.train.columns.label = "y";
  v.train.columns.time = "date";
  v.train.model = ModelKind::kLogisticRegression;
  v.train.calibration = CalibrationMethod::kPlatt;
  v.n_bootstrap = 50;
  return v;
}

}  // namespace

TEST_CASE("workflow: rolling-origin validation shows a known step shift where it happens") {
  const ValidationResult r = validate_rolling(shifted_table(1.0), shifted_spec());
  CHECK(r.granularity == "quarter");
  REQUIRE(r.periods.size() == 6);  // test quarters 3..8
  CHECK(r.periods[0].period == "2022-Q3");
  CHECK(r.periods[0].fit_last == "2022-Q1");
  CHECK(r.periods[0].calibration == "2022-Q2");
  CHECK(r.periods[4].period == "2023-Q3");
  for (std::size_t k = 0; k < 6; ++k) {
    const PeriodResult& p = r.periods[k];
    INFO("period " << p.period);
    CHECK(p.skipped.empty());
    CHECK(p.n_test == 700);
    CHECK(p.n_calibration == 700);
    CHECK(p.n_fit == 700 * static_cast<Index>(k + 1));
    CHECK(p.auc_lower <= p.auc);
    CHECK(p.auc <= p.auc_upper);
    // The discrimination of x does not change: logit slope 1.2 gives an AUC near 0.78.
    CHECK(p.auc > 0.70);
    // The truth: calibration-in-the-large is 0 except where the test quarter is shifted and
    // its calibration quarter is not (2023-Q3): there it is the shift, +1.0.
    if (p.period == "2023-Q3") {
      CHECK(p.calibration_intercept == doctest::Approx(1.0).epsilon(0.3));
      CHECK(p.prevalence > p.mean_risk + 0.1);  // about 0.40 observed against 0.22 predicted
      CHECK(p.ici > 0.1);  // the lowess curve sits about 0.17 above the diagonal on average
    } else {
      CHECK(std::abs(p.calibration_intercept) < 0.3);
      CHECK(std::abs(p.prevalence - p.mean_risk) < 0.05);
      CHECK(p.ici >= 0);  // calibrated: the lowess curve stays near the diagonal
      CHECK(p.ici < 0.08);
    }
    // x keeps its distribution, so the share of rows above a fixed threshold does not move: the
    // alert rate is the one the operating point predicted, shift or not.
    CHECK(std::abs(p.alert_rate - p.expected_alert_rate) < 0.08);
  }
  // Without the shift, 2023-Q3 is calibrated too.
  const ValidationResult none = validate_rolling(shifted_table(0.0), shifted_spec());
  CHECK(std::abs(none.periods[4].calibration_intercept) < 0.3);
}

TEST_CASE("workflow: rolling-origin periods, patients and errors") {
  ValidateSpec v = shifted_spec();
  v.period = TimeGranularity::kYear;
  CHECK_THROWS_WITH_AS(validate_rolling(shifted_table(0.0), v),
                       doctest::Contains("the data fall in 2 year period(s), but 2 training "
                                         "periods and one test period need 3"),
                       InvalidInput);
  v.period = TimeGranularity::kBins;
  v.n_bins = 4;
  const ValidationResult b = validate_rolling(shifted_table(0.0), v);
  CHECK(b.granularity == "equal-count bins");
  CHECK(b.periods.size() == 2);
  v.min_train_periods = 1;
  CHECK_THROWS_WITH_AS(validate_rolling(shifted_table(0.0), v),
                       doctest::Contains("min_train_periods must be >= 2"), InvalidParams);
  v.min_train_periods = 2;
  {
    // A numeric time key has no quarters: bins only; NaN keys are rejected before any period.
    Table numeric;
    numeric.add_column(Column::time_number("t", {1, 2, 3, 4}));
    numeric.add_column(Column::numeric("x", {1, 2, 3, 4}));
    numeric.add_column(Column::numeric("y", {0, 1, 0, 1}));
    ValidateSpec n = shifted_spec();
    n.train.columns.time = "t";
    CHECK_THROWS_WITH_AS(validate_rolling(numeric, n),
                         doctest::Contains("period quarter needs a date time column"),
                         InvalidParams);
    CHECK_THROWS_WITH_AS(rolling_origins({1, NAN, 3}, {}, true, TimeGranularity::kMonth, 8, 2,
                                         CalendarPatients::kExclude),
                         doctest::Contains("not finite at data row 2"), InvalidInput);
  }
  v.train.columns.time = "";
  CHECK_THROWS_WITH_AS(validate_rolling(shifted_table(0.0), v),
                       doctest::Contains("validate needs --time-column"), InvalidParams);

  // Patients: the cohort's repeat visitors leave the test quarter under exclude.
  ValidateSpec c;
  c.train = cohort_spec();
  c.n_bootstrap = 0;
  const ValidationResult r = validate_rolling(cohort(), c);
  REQUIRE(!r.periods.empty());
  const auto& g = cohort().column("patient_id").values;
  const auto& t = cohort().column("encounter_date").values;
  for (const PeriodResult& p : r.periods) {
    INFO(p.period);
    CHECK(p.test_groups_seen_earlier > 0);
    CHECK(p.test_rows_left_out > 0);
    CHECK(static_cast<Index>(p.test_rows.size()) == p.n_test);
    // No test patient has an earlier row (before the test period's start).
    const auto tp = patients(g, p.test_rows);
    for (Index i = 0; i < cohort().rows(); ++i) {
      if (t[static_cast<std::size_t>(i)] < p.start) {
        CHECK(tp.count(g[static_cast<std::size_t>(i)]) == 0);
      }
    }
  }
}
