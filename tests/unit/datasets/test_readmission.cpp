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

// ---------------------------------------------------------------- diagnosis codes (with_codes)

namespace {

const ReadmissionCohort& coded_cohort() {
  static const ReadmissionCohort c = [] {
    ReadmissionCohortParams p;
    p.n_patients = 40000;
    p.seed = 42;
    p.with_codes = true;
    return make_readmission_cohort(p);
  }();
  return c;
}

bool is_code_form(const std::string& s) {
  auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 3 && s.size() != 5 && s.size() != 6) return false;
  if (!(s[0] >= 'A' && s[0] <= 'Z') || !digit(1) || !digit(2)) return false;
  if (s.size() == 3) return true;
  return s[3] == '.' && digit(4) && (s.size() == 5 || digit(5));
}

}  // namespace

TEST_CASE("codes: every code has the ICD-10-like form and a chapter of the documented list") {
  const ReadmissionCohort& c = coded_cohort();
  const std::string chapters = "ABCDEFGHIJKLMNORSTZ";  // docs/datasets.md
  REQUIRE(c.primary_dx.size() == c.patient_id.size());
  REQUIRE(c.secondary_dx.size() == c.patient_id.size());
  std::set<std::string> levels;
  for (std::size_t i = 0; i < c.primary_dx.size(); ++i) {
    for (const std::string* code : {&c.primary_dx[i], &c.secondary_dx[i]}) {
      if (code->empty()) continue;
      levels.insert(*code);
      if (!is_code_form(*code) || chapters.find((*code)[0]) == std::string::npos) {
        FAIL_CHECK("bad code '" << *code << "'");
      }
    }
    // A secondary diagnosis exists exactly when the encounter has more than one.
    CHECK(c.secondary_dx[i].empty() == (c.n_diagnoses[i] == 1));
  }
  MESSAGE("distinct diagnosis codes in 40,000 patients: " << levels.size());
  CHECK(levels.size() > 500);  // hundreds to a few thousand levels
  CHECK(levels.size() <= 2000 + 3 * 20);
}

TEST_CASE("codes: the code list is a prefix hierarchy without a leaf below another leaf") {
  ReadmissionCohortParams p;
  const auto codes = ReadmissionCohort::diagnosis_code_list(p);
  REQUIRE(codes.size() == 2000 + 3 * 20);  // n_codes leaves + 3 children per split code
  const std::set<std::string> leaves(codes.begin(), codes.begin() + 2000);
  CHECK(leaves.size() == 2000);  // distinct
  for (const auto& code : leaves) {
    CHECK(is_code_form(code));
    // No leaf is a proper prefix of another leaf (codes are the leaves of the hierarchy).
    for (std::size_t len : {std::size_t{3}, std::size_t{5}}) {
      if (code.size() > len) CHECK(leaves.count(code.substr(0, len)) == 0);
    }
  }
  // The update's codes are new children of existing four-character leaves.
  for (std::size_t k = 2000; k < codes.size(); ++k) {
    CHECK(codes[k].size() == 6);
    CHECK(leaves.count(codes[k]) == 0);
    CHECK(leaves.count(codes[k].substr(0, 5)) == 1);
  }
  // The list does not depend on the seed.
  p.seed = 99;
  CHECK(ReadmissionCohort::diagnosis_code_list(p) == codes);
}

TEST_CASE("codes: frequencies follow the Zipf law with the documented exponent") {
  const ReadmissionCohort& c = coded_cohort();
  // Fold the update's children into their parent (the code they replace) and pool both columns:
  // every draw is then a draw of the Zipf law over the n_codes leaves.
  const auto list = ReadmissionCohort::diagnosis_code_list(c.params);
  const std::set<std::string> late(list.begin() + 2000, list.end());
  std::map<std::string, double> count;
  for (std::size_t i = 0; i < c.primary_dx.size(); ++i) {
    for (const std::string* code : {&c.primary_dx[i], &c.secondary_dx[i]}) {
      if (!code->empty()) count[late.count(*code) ? code->substr(0, 5) : *code] += 1;
    }
  }
  std::vector<double> f;
  for (const auto& [code, n] : count) f.push_back(n);
  std::sort(f.rbegin(), f.rend());
  // Least squares slope of log(count) on log(rank), ranks 1..100 (counts in the hundreds or more).
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const int m = 100;
  for (int r = 1; r <= m; ++r) {
    const double x = std::log(r), y = std::log(f[static_cast<std::size_t>(r - 1)]);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
  MESSAGE("Zipf exponent from ranks 1..100: " << -slope << " (documented 1.1)");
  CHECK(-slope == doctest::Approx(1.1).epsilon(0.05));  // rank noise of 120k draws
}

TEST_CASE("codes: the update's codes appear only from the update day on, and their parents stop") {
  const ReadmissionCohort& c = coded_cohort();
  const std::int64_t update_day = 18993 + static_cast<std::int64_t>(std::floor(0.75 * 730));
  const auto codes = ReadmissionCohort::diagnosis_code_list(c.params);
  const std::set<std::string> late(codes.begin() + 2000, codes.end());
  std::set<std::string> parents;
  for (const auto& l : late) parents.insert(l.substr(0, 5));
  Index n_late = 0, n_late_rows = 0;
  for (std::size_t i = 0; i < c.primary_dx.size(); ++i) {
    const bool after = c.encounter_day[i] >= update_day;
    n_late_rows += after;
    for (const std::string* code : {&c.primary_dx[i], &c.secondary_dx[i]}) {
      if (late.count(*code)) {
        ++n_late;
        if (!after) FAIL_CHECK("update code " << *code << " on day " << c.encounter_day[i]);
      }
      if (after && parents.count(*code)) FAIL_CHECK("retired code " << *code << " after update");
    }
  }
  MESSAGE("update codes: " << n_late << " uses in " << n_late_rows << " encounters after it");
  CHECK(n_late > n_late_rows / 50);  // a visible share of the late period
}

TEST_CASE("codes: other columns are unchanged and the risk moves by exactly g") {
  ReadmissionCohortParams p;
  p.n_patients = 3000;
  p.seed = 5;
  const ReadmissionCohort a = make_readmission_cohort(p);
  p.with_codes = true;
  const ReadmissionCohort b = make_readmission_cohort(p);
  REQUIRE(a.rows() == b.rows());
  CHECK(a.patient_id == b.patient_id);
  CHECK(a.encounter_day == b.encounter_day);
  CHECK(a.length_of_stay == b.length_of_stay);
  CHECK(a.n_diagnoses == b.n_diagnoses);
  CHECK(a.discharge_disposition == b.discharge_disposition);
  CHECK(std::memcmp(a.creatinine.data(), b.creatinine.data(), a.creatinine.size() * 8) == 0);
  CHECK(a.primary_dx.empty());
  // Hand-computed G for two codes: chapter effect plus the hashed prefix effects (the hash values
  // are recomputed independently in tests/python/test_datasets.py; here the structure is checked).
  const double g_e11 = ReadmissionCohort::diagnosis_code_effect("E11");
  const double g_e116 = ReadmissionCohort::diagnosis_code_effect("E11.6");
  CHECK(std::abs(g_e11 - 0.20) <= 0.5);            // C[E] = 0.20, |0.5 (2u - 1)| <= 0.5
  CHECK(std::abs(g_e116 - g_e11) <= 0.4 + 1e-12);  // one more level of at most 0.4
  // logit(true_risk) - intercept differs between the two cohorts by g(codes) of each row.
  const auto srcs = ReadmissionCohort::admission_source_labels();
  const double source_effect[6] = {0.0, -0.10, -0.05, 0.25, 0.40, 0.0};  // docs/datasets.md
  double max_err = 0;
  for (std::size_t i = 0; i < b.true_risk.size(); ++i) {
    const auto logit = [](double q) { return std::log(q / (1 - q)); };
    const double d = (logit(b.true_risk[i]) - b.intercept) - (logit(a.true_risk[i]) - a.intercept);
    double g = ReadmissionCohort::diagnosis_code_effect(b.primary_dx[i]);
    if (!b.secondary_dx[i].empty())
      g += 0.5 * ReadmissionCohort::diagnosis_code_effect(b.secondary_dx[i]);
    const auto s = std::find(srcs.begin(), srcs.end(), b.admission_source[i]) - srcs.begin();
    REQUIRE(s < 6);
    g += source_effect[s];
    max_err = std::max(max_err, std::abs(d - g));
  }
  CHECK(max_err < 1e-6);  // logit of a probability near 0 or 1 loses a few digits
}

TEST_CASE("codes: same seed, same codes; the table has text columns with sorted labels") {
  ReadmissionCohortParams p;
  p.n_patients = 500;
  p.seed = 3;
  p.with_codes = true;
  const ReadmissionCohort a = make_readmission_cohort(p);
  const ReadmissionCohort b = make_readmission_cohort(p);
  CHECK(a.primary_dx == b.primary_dx);
  CHECK(a.secondary_dx == b.secondary_dx);
  CHECK(a.admission_source == b.admission_source);
  p.seed = 4;
  CHECK(make_readmission_cohort(p).primary_dx != a.primary_dx);
  const Table t = a.to_table();
  const Column& dx = t.column("primary_dx");
  CHECK(dx.kind == ColumnKind::kCategorical);
  CHECK(std::is_sorted(dx.categories.begin(), dx.categories.end()));
  for (Index i = 0; i < t.rows(); ++i) {
    CHECK(dx.text(i) == a.primary_dx[static_cast<std::size_t>(i)]);
    CHECK(t.column("secondary_dx").text(i) == a.secondary_dx[static_cast<std::size_t>(i)]);
  }
  std::ostringstream csv;
  write_csv(t, csv);
  CHECK(csv.str().find("admission_type,primary_dx,secondary_dx,admission_source,age_band") !=
        std::string::npos);
}

TEST_CASE("codes: bad code parameters and malformed codes are rejected") {
  ReadmissionCohortParams p;
  p.n_codes = 10;
  CHECK_THROWS_WITH_AS(make_readmission_cohort(p), doctest::Contains("n_codes must be in"),
                       InvalidParams);
  p = {};
  p.zipf_exponent = 0.1;
  CHECK_THROWS_WITH_AS(make_readmission_cohort(p), doctest::Contains("zipf_exponent"),
                       InvalidParams);
  p = {};
  p.code_update_at = 0;
  CHECK_THROWS_WITH_AS(make_readmission_cohort(p), doctest::Contains("code_update_at"),
                       InvalidParams);
  for (const char* bad : {"", "E1", "E11.", "E11.6x", "U07.1", "e11", "E11.655"}) {
    CHECK_THROWS_WITH_AS(ReadmissionCohort::diagnosis_code_effect(bad),
                         doctest::Contains("not a code of the cohort's form"), InvalidInput);
  }
}
