// SPDX-License-Identifier: Apache-2.0
// The synthetic readmission cohort: the properties the demo and the report rely on (prevalence,
// drift, the shifted site, labs missing not at random), determinism, and parameter checks.
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

using namespace calibrisk;

namespace {

const ReadmissionCohort& big_cohort() {
  static const ReadmissionCohort c = [] {
    ReadmissionCohortParams p;
    p.n_patients = 20000;
    p.seed = 42;
    return make_readmission_cohort(p);
  }();
  return c;
}

double mean_of(const std::vector<int>& v, const std::vector<bool>& keep) {
  double s = 0, n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (keep[i]) {
      s += v[i];
      n += 1;
    }
  }
  return s / n;
}

}  // namespace

TEST_CASE("cohort: shapes, repeat encounters, ranges and sort order") {
  const ReadmissionCohort& c = big_cohort();
  const auto n = static_cast<std::size_t>(c.rows());
  CHECK(c.n_patients() == 20000);
  CHECK(c.rows() > 25000);  // repeat encounters (mean about 1.5 per patient)
  CHECK(c.rows() < 40000);
  for (auto* v : {&c.encounter_id, &c.patient_id, &c.encounter_day}) CHECK(v->size() == n);
  CHECK(c.true_risk.size() == n);
  CHECK(c.encounter_date.size() == n);
  std::set<int> sites;
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(c.encounter_id[i] == static_cast<std::int64_t>(i));
    if (i) CHECK(c.encounter_day[i - 1] <= c.encounter_day[i]);
    CHECK(c.encounter_day[i] >= 18993);
    CHECK(c.encounter_day[i] < 18993 + 730);
    CHECK(c.encounter_date[i] == format_iso_date(c.encounter_day[i]));
    CHECK(c.age[i] >= 18);
    CHECK(c.age[i] <= 100);
    CHECK(c.length_of_stay[i] >= 1);
    CHECK(c.n_diagnoses[i] >= 1);
    CHECK(c.discharge_disposition[i] >= 0);
    CHECK(c.discharge_disposition[i] <= 4);
    CHECK(c.admission_type[i] >= 0);
    CHECK(c.admission_type[i] <= 2);
    CHECK((c.readmitted[i] == 0 || c.readmitted[i] == 1));
    CHECK(c.true_risk[i] > 0);
    CHECK(c.true_risk[i] < 1);
    sites.insert(c.site[i]);
  }
  CHECK(sites.size() == 5);
}

TEST_CASE("cohort: prevalence is between 10% and 15% and matches the true risk") {
  const ReadmissionCohort& c = big_cohort();
  double y = 0, p = 0;
  for (std::size_t i = 0; i < c.readmitted.size(); ++i) {
    y += c.readmitted[i];
    p += c.true_risk[i];
  }
  const double n = static_cast<double>(c.rows());
  MESSAGE("observed prevalence " << y / n << ", mean true risk " << p / n << ", intercept "
                                 << c.intercept);
  CHECK(y / n >= 0.10);
  CHECK(y / n <= 0.15);
  CHECK(p / n == doctest::Approx(0.125).epsilon(1e-9));  // the intercept is solved for it
  // Bernoulli draws: the observed rate is within 4 standard errors of the mean risk.
  CHECK(std::abs(y / n - p / n) < 4 * std::sqrt(0.125 * 0.875 / n));
}

TEST_CASE("cohort: prevalence drifts upward over the two years") {
  const ReadmissionCohort& c = big_cohort();
  std::vector<bool> first(c.readmitted.size()), last(c.readmitted.size());
  for (std::size_t i = 0; i < c.readmitted.size(); ++i) {
    const auto d = c.encounter_day[i] - 18993;
    first[i] = d < 182;
    last[i] = d >= 730 - 182;
  }
  const double early = mean_of(c.readmitted, first), late = mean_of(c.readmitted, last);
  MESSAGE("prevalence first half-year " << early << ", last half-year " << late);
  CHECK(late - early > 0.03);
  SUBCASE("no drift when drift_per_year = 0") {
    ReadmissionCohortParams p;
    p.n_patients = 20000;
    p.seed = 42;
    p.drift_per_year = 0;
    const ReadmissionCohort flat = make_readmission_cohort(p);
    std::vector<bool> f1(flat.rows()), f2(flat.rows());
    for (std::size_t i = 0; i < f1.size(); ++i) {
      f1[i] = flat.encounter_day[i] - 18993 < 182;
      f2[i] = flat.encounter_day[i] - 18993 >= 730 - 182;
    }
    CHECK(std::abs(mean_of(flat.readmitted, f2) - mean_of(flat.readmitted, f1)) < 0.02);
  }
}

TEST_CASE("cohort: the shifted site's observed rate departs from the others") {
  const ReadmissionCohort& c = big_cohort();
  std::map<int, std::pair<double, double>> by_site;  // site -> (events, n)
  for (std::size_t i = 0; i < c.readmitted.size(); ++i) {
    by_site[c.site[i]].first += c.readmitted[i];
    by_site[c.site[i]].second += 1;
  }
  const double shifted = by_site[2].first / by_site[2].second;
  for (const auto& [site, en] : by_site) {
    MESSAGE("site " << site << ": n " << en.second << ", rate " << en.first / en.second);
    if (site != 2) CHECK(shifted - en.first / en.second > 0.05);
  }
}

TEST_CASE("cohort: labs are measured more often for sicker patients (missing not at random)") {
  const ReadmissionCohort& c = big_cohort();
  // Split by true risk (the sickness the model cannot see directly): the top quartile is tested
  // more for every lab.
  std::vector<double> r = c.true_risk;
  std::nth_element(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(r.size() * 3 / 4), r.end());
  const double q75 = r[r.size() * 3 / 4];
  const std::vector<double>* labs[] = {&c.hba1c, &c.creatinine, &c.haemoglobin, &c.sodium};
  const char* names[] = {"hba1c", "creatinine", "haemoglobin", "sodium"};
  for (int k = 0; k < 4; ++k) {
    double m_hi = 0, n_hi = 0, m_lo = 0, n_lo = 0;
    for (std::size_t i = 0; i < c.true_risk.size(); ++i) {
      const bool measured = !std::isnan((*labs[k])[i]);
      if (c.true_risk[i] >= q75) {
        m_hi += measured;
        n_hi += 1;
      } else {
        m_lo += measured;
        n_lo += 1;
      }
    }
    MESSAGE(std::string(names[k]) << " measured: sickest quartile " << m_hi / n_hi << ", others "
                                  << m_lo / n_lo);
    CHECK(m_hi / n_hi - m_lo / n_lo > 0.05);
    CHECK(m_lo / n_lo > 0.05);  // but not only the sick are tested
  }
}

TEST_CASE("cohort: the same seed gives a bit-identical cohort; another seed does not") {
  ReadmissionCohortParams p;
  p.n_patients = 3000;
  p.seed = 7;
  const ReadmissionCohort a = make_readmission_cohort(p);
  const ReadmissionCohort b = make_readmission_cohort(p);
  REQUIRE(a.rows() == b.rows());
  CHECK(a.patient_id == b.patient_id);
  CHECK(a.readmitted == b.readmitted);
  CHECK(std::memcmp(a.true_risk.data(), b.true_risk.data(), a.true_risk.size() * 8) == 0);
  CHECK(std::memcmp(a.creatinine.data(), b.creatinine.data(), a.creatinine.size() * 8) == 0);
  CHECK(a.intercept == b.intercept);
  p.seed = 8;
  const ReadmissionCohort d = make_readmission_cohort(p);
  CHECK(d.true_risk != a.true_risk);
}

TEST_CASE("cohort: a golden fingerprint pins the generator across platforms and refactors") {
  // Fixed sums of integer fields: any change to the generative process (or a platform that draws
  // different numbers) changes them. Update docs/datasets.md together with these values.
  ReadmissionCohortParams p;
  p.n_patients = 500;
  p.seed = 2024;
  const ReadmissionCohort c = make_readmission_cohort(p);
  long long s = 0;
  for (std::size_t i = 0; i < c.patient_id.size(); ++i) {
    s += c.encounter_day[i] * 3 + c.length_of_stay[i] * 5 + c.prior_admissions[i] * 7 +
         c.n_medications[i] * 11 + c.site[i] * 13 + c.readmitted[i] * 17;
  }
  MESSAGE("rows " << c.rows() << ", fingerprint " << s);
  CHECK(c.rows() == 771);
  CHECK(s == 44872296);
}

TEST_CASE("cohort: n_encounters gives exactly that many rows") {
  ReadmissionCohortParams p;
  p.n_encounters = 1234;
  p.seed = 3;
  const ReadmissionCohort c = make_readmission_cohort(p);
  CHECK(c.rows() == 1234);
  CHECK(c.n_patients() < 1234);
}

TEST_CASE("cohort: feature matrix and table agree with the columns") {
  ReadmissionCohortParams p;
  p.n_patients = 200;
  const ReadmissionCohort c = make_readmission_cohort(p);
  const RowMatrixXd X = c.feature_matrix();
  const auto names = ReadmissionCohort::feature_names();
  REQUIRE(X.cols() == static_cast<Index>(names.size()));
  const Table t = c.to_table();
  CHECK(t.rows() == c.rows());
  const RowMatrixXd Y = t.to_matrix(names);
  for (Index i = 0; i < X.rows(); ++i) {
    for (Index j = 0; j < X.cols(); ++j) {
      CHECK(((std::isnan(X(i, j)) && std::isnan(Y(i, j))) || X(i, j) == Y(i, j)));
    }
  }
  CHECK(t.column("site").categories == std::vector<std::string>{"A", "B", "C", "D", "E"});
  CHECK(t.column("encounter_date").kind == ColumnKind::kTime);
  const auto bands = c.age_band();
  for (std::size_t i = 0; i < bands.size(); ++i) {
    const double a = c.age[i];
    const double expected = a < 45 ? 0 : a < 65 ? 1 : a < 80 ? 2 : 3;  // 18-44, 45-64, 65-79, 80+
    CHECK(bands[i] == expected);
  }
  CHECK(t.column("age_band").categories == ReadmissionCohort::age_band_labels());
  CHECK(t.column("encounter_date").text(0) == c.encounter_date[0]);
  const auto lab = t.column("hba1c").values;
  bool any_missing = false;
  for (double v : lab) any_missing |= std::isnan(v);
  CHECK(any_missing);
  std::ostringstream csv;
  write_csv(t, csv);
  CHECK(csv.str().rfind("encounter_id,patient_id,encounter_date,site,age,sex,", 0) == 0);
}

TEST_CASE("cohort: bad parameters are rejected with the field name") {
  ReadmissionCohortParams p;
  p.n_patients = 0;
  CHECK_THROWS_WITH_AS(
      make_readmission_cohort(p),
      doctest::Contains("ReadmissionCohortParams.n_patients must be in [1, inf), got 0"),
      InvalidParams);
  p = {};
  p.shifted_site = 5;
  CHECK_THROWS_WITH_AS(make_readmission_cohort(p), doctest::Contains("shifted_site"),
                       InvalidParams);
  p = {};
  p.target_prevalence = 0.9;
  CHECK_THROWS_WITH_AS(make_readmission_cohort(p), doctest::Contains("target_prevalence"),
                       InvalidParams);
  p = {};
  p.drift_per_year = NAN;
  CHECK_THROWS_WITH_AS(make_readmission_cohort(p), doctest::Contains("drift_per_year"),
                       InvalidParams);
  p = {};
  p.n_sites = 1;
  CHECK_THROWS_AS(make_readmission_cohort(p), InvalidParams);
}
