// SPDX-License-Identifier: Apache-2.0
// Python bindings of the datasets module: the synthetic readmission cohort and claims table as
// numpy columns.
#include <calibrisk/datasets/claims.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

namespace {

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  if (!v.empty()) std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

template <class T>
py::array_t<std::int64_t> to_int64(const std::vector<T>& v) {
  py::array_t<std::int64_t> a(static_cast<py::ssize_t>(v.size()));
  auto* out = a.mutable_data();
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<std::int64_t>(v[i]);
  return a;
}

void bind_claims(py::module_& m) {
  m.def(
      "_make_claims",
      [](Index n_claims, std::uint64_t seed, int n_providers, double provider_zipf_exponent,
         int n_codes, double zipf_exponent, const std::string& start_date, int n_days,
         double drift_at, double drift_shift) {
        ClaimsParams p;
        p.n_claims = n_claims;
        p.seed = seed;
        p.n_providers = n_providers;
        p.provider_zipf_exponent = provider_zipf_exponent;
        p.n_codes = n_codes;
        p.zipf_exponent = zipf_exponent;
        p.n_days = n_days;
        p.drift_at = drift_at;
        p.drift_shift = drift_shift;
        double start = 0;
        if (!parse_iso8601(start_date, start) || start != std::floor(start)) {
          throw InvalidParams("make_claims: start_date must be an ISO 8601 date YYYY-MM-DD, got '" +
                              start_date + "'.");
        }
        p.start_day = static_cast<std::int64_t>(start);
        ClaimsTable c;
        {
          py::gil_scoped_release release;
          c = make_claims(p);
        }
        py::dict d;
        d["claim_id"] = to_numpy(c.claim_id);
        d["member_id"] = to_numpy(c.member_id);
        d["service_day"] = to_numpy(c.service_day);
        d["payer"] = to_int64(c.payer);
        d["member_age"] = to_int64(c.member_age);
        d["provider_id"] = c.provider_id;
        d["specialty"] = to_int64(c.specialty);
        d["place_of_service"] = to_int64(c.place_of_service);
        d["procedure_code"] = c.procedure_code;
        d["primary_dx"] = c.primary_dx;
        d["secondary_dx"] = c.secondary_dx;
        d["billed_amount"] = to_numpy(c.billed_amount);
        d["units"] = to_int64(c.units);
        d["prior_authorization"] = to_numpy(c.prior_authorization);
        d["days_to_submission"] = to_int64(c.days_to_submission);
        d["same_service_claims"] = to_int64(c.same_service_claims);
        d["outcome"] = to_int64(c.outcome);
        py::array_t<double> prob(
            {static_cast<py::ssize_t>(c.rows()), static_cast<py::ssize_t>(ClaimsTable::kClasses)});
        if (!c.probabilities.empty())
          std::copy(c.probabilities.begin(), c.probabilities.end(), prob.mutable_data());
        d["probabilities"] = prob;
        return d;
      },
      py::arg("n_claims"), py::arg("seed"), py::arg("n_providers"),
      py::arg("provider_zipf_exponent"), py::arg("n_codes"), py::arg("zipf_exponent"),
      py::arg("start_date"), py::arg("n_days"), py::arg("drift_at"), py::arg("drift_shift"),
      "Draws the synthetic claims table (see calibrisk.datasets.make_claims).");
  const ClaimsParams defaults;
  py::dict dflt;  // the C++ defaults, so Python never writes a default twice
  dflt["n_claims"] = defaults.n_claims;
  dflt["seed"] = defaults.seed;
  dflt["n_providers"] = defaults.n_providers;
  dflt["provider_zipf_exponent"] = defaults.provider_zipf_exponent;
  dflt["n_codes"] = defaults.n_codes;
  dflt["zipf_exponent"] = defaults.zipf_exponent;
  dflt["start_date"] = format_iso_date(defaults.start_day);
  dflt["n_days"] = defaults.n_days;
  dflt["drift_at"] = defaults.drift_at;
  dflt["drift_shift"] = defaults.drift_shift;
  m.attr("_claims_defaults") = dflt;
  m.attr("_claims_classes") = ClaimsTable::class_labels();
  m.attr("_claims_payers") = ClaimsTable::payer_labels();
  m.attr("_claims_specialties") = ClaimsTable::specialty_labels();
  m.attr("_claims_places") = ClaimsTable::place_of_service_labels();
  m.attr("_claims_sections") = ClaimsTable::procedure_section_labels();
  m.attr("_claims_procedure_codes") = ClaimsTable::procedure_code_list();
  m.def("_claims_requires_prior_authorization", &ClaimsTable::requires_prior_authorization,
        py::arg("code"));
  m.def("_claims_procedure_section", &ClaimsTable::procedure_section, py::arg("code"));
}

}  // namespace

void bind_datasets(py::module_& m) {
  bind_claims(m);
  m.def(
      "_make_readmission_cohort",
      [](Index n_patients, std::uint64_t seed, Index n_encounters, int n_sites, int shifted_site,
         double site_shift, double drift_per_year, double target_prevalence,
         const std::string& start_date, int n_days, bool with_codes, int n_codes,
         double zipf_exponent, double code_update_at) {
        ReadmissionCohortParams p;
        p.n_patients = n_patients;
        p.seed = seed;
        p.n_encounters = n_encounters;
        p.n_sites = n_sites;
        p.shifted_site = shifted_site;
        p.site_shift = site_shift;
        p.drift_per_year = drift_per_year;
        p.target_prevalence = target_prevalence;
        p.n_days = n_days;
        p.with_codes = with_codes;
        p.n_codes = n_codes;
        p.zipf_exponent = zipf_exponent;
        p.code_update_at = code_update_at;
        double start = 0;
        if (!parse_iso8601(start_date, start) || start != std::floor(start)) {
          throw InvalidParams(
              "make_readmission_cohort: start_date must be an ISO 8601 date "
              "YYYY-MM-DD, got '" +
              start_date + "'.");
        }
        p.start_day = static_cast<std::int64_t>(start);
        ReadmissionCohort c;
        {
          py::gil_scoped_release release;
          c = make_readmission_cohort(p);
        }
        py::dict d;
        d["encounter_id"] = to_numpy(c.encounter_id);
        d["patient_id"] = to_numpy(c.patient_id);
        d["encounter_day"] = to_numpy(c.encounter_day);
        d["site"] = to_int64(c.site);
        d["age"] = to_numpy(c.age);
        d["sex"] = to_int64(c.sex);
        d["length_of_stay"] = to_int64(c.length_of_stay);
        d["prior_admissions"] = to_int64(c.prior_admissions);
        d["prior_ed_visits"] = to_int64(c.prior_ed_visits);
        d["n_diagnoses"] = to_int64(c.n_diagnoses);
        d["n_medications"] = to_int64(c.n_medications);
        d["hba1c"] = to_numpy(c.hba1c);
        d["creatinine"] = to_numpy(c.creatinine);
        d["haemoglobin"] = to_numpy(c.haemoglobin);
        d["sodium"] = to_numpy(c.sodium);
        d["discharge_disposition"] = to_int64(c.discharge_disposition);
        d["admission_type"] = to_int64(c.admission_type);
        d["age_band"] = to_int64(c.age_band());
        d["readmitted"] = to_int64(c.readmitted);
        d["true_risk"] = to_numpy(c.true_risk);
        if (with_codes) {
          d["primary_dx"] = c.primary_dx;
          d["secondary_dx"] = c.secondary_dx;
          d["admission_source"] = c.admission_source;
        }
        return py::make_tuple(d, c.intercept);
      },
      py::arg("n_patients"), py::arg("seed"), py::arg("n_encounters"), py::arg("n_sites"),
      py::arg("shifted_site"), py::arg("site_shift"), py::arg("drift_per_year"),
      py::arg("target_prevalence"), py::arg("start_date"), py::arg("n_days"),
      py::arg("with_codes") = false, py::arg("n_codes") = 2000, py::arg("zipf_exponent") = 1.1,
      py::arg("code_update_at") = 0.75,
      "Draws the synthetic readmission cohort (see calibrisk.datasets.make_readmission_cohort).");
  m.attr("_readmission_feature_names") = ReadmissionCohort::feature_names();
  m.attr("_readmission_age_bands") = ReadmissionCohort::age_band_labels();
  m.attr("_readmission_code_features") = ReadmissionCohort::code_feature_names();
  m.attr("_readmission_admission_sources") = ReadmissionCohort::admission_source_labels();
  m.def(
      "_readmission_code_list",
      [](int n_codes) {
        ReadmissionCohortParams p;
        p.n_codes = n_codes;
        return ReadmissionCohort::diagnosis_code_list(p);
      },
      py::arg("n_codes") = 2000,
      "The cohort's diagnosis code list: n_codes leaves in Zipf rank order, then the update's "
      "child codes.");
}

}  // namespace calibrisk::pyb
