// SPDX-License-Identifier: Apache-2.0
/// @file readmission.hpp
/// A seeded synthetic 30-day readmission cohort with a known true risk: the embedded default data
/// of the demo, the examples and the tests. The risk function is documented in docs/datasets.md.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/table.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk {

/// How `make_readmission_cohort` draws the cohort. Every field has a default that gives the
/// documented cohort; change them to stress a model (a stronger site shift, no drift, ...).
struct ReadmissionCohortParams {
  Index n_patients = 5000;  ///< Patients, >= 1. Each has 1..8 encounters (mean about 1.6).
  /// When > 0: draw patients until exactly this many encounter rows exist (the last patient's
  /// encounters are truncated) and ignore `n_patients`. 0 = use `n_patients`.
  Index n_encounters = 0;
  std::uint64_t seed = 0;  ///< Same seed (and other fields) => bit-identical cohort everywhere.
  int n_sites = 5;         ///< Hospitals, in [2, 26]; named "A", "B", ... in the tables.
  int shifted_site = 2;    ///< The site whose risk is shifted, in [0, n_sites).
  /// Log-odds added to every encounter of `shifted_site` (unexplained by the features), in
  /// [-5, 5]. 0.8 raises that site's odds by about 2.2x.
  double site_shift = 0.8;
  /// Log-odds added per year after the first encounter date (linear in time), in [-5, 5]: the
  /// prevalence drift a model trained on the early period does not see.
  double drift_per_year = 0.4;
  /// Mean true risk over the whole cohort, in [0.01, 0.5]: the intercept of the risk function is
  /// solved for it (bisection), so observed prevalence is close to it.
  double target_prevalence = 0.125;
  /// First encounter date as days since 1970-01-01 (18993 = 2022-01-01).
  std::int64_t start_day = 18993;
  int n_days = 730;  ///< Length of the encounter window in days, >= 30 (two years).

  /// Diagnosis codes (docs/datasets.md, "Diagnosis codes"): when true the cohort gains the
  /// categorical columns `primary_dx`, `secondary_dx` (ICD-10-like codes with a prefix hierarchy
  /// and Zipf frequencies) and `admission_source`, and their effect `g` enters the risk. Every
  /// other column keeps the values it has with `with_codes = false` (the codes come from their
  /// own random streams); only `true_risk`, `readmitted` and `intercept` change.
  bool with_codes = false;
  /// Leaf codes in the code list (before the coding update adds its new codes), in [20, 5000].
  int n_codes = 2000;
  /// Exponent s of the Zipf law the codes are drawn with (P(rank r) ∝ r^-s), in [0.5, 3].
  double zipf_exponent = 1.1;
  /// Fraction of the encounter window after which the coding update is in force, in (0, 1]:
  /// from day floor(code_update_at * n_days) on, some codes are replaced by new, more specific
  /// child codes that never appear earlier (unseen at scoring for a model trained on the early
  /// period). 1 = no update inside the window.
  double code_update_at = 0.75;

  /// Throws InvalidParams naming the field, its value and the allowed range.
  void validate() const;
};

/// The cohort, one entry per encounter in every vector (column-oriented), sorted by
/// (encounter_day, patient_id). Integer-valued fields are stored as the integer types shown;
/// labs are NaN when not measured.
struct ReadmissionCohort {
  std::vector<std::int64_t> encounter_id;   ///< 0..n-1 in row order
  std::vector<std::int64_t> patient_id;     ///< repeat encounters share it
  std::vector<std::int64_t> encounter_day;  ///< days since 1970-01-01
  std::vector<std::string> encounter_date;  ///< the same as ISO 8601 `YYYY-MM-DD`
  std::vector<int> site;                    ///< 0..n_sites-1 (site k is named 'A' + k)
  std::vector<double> age;                  ///< years, whole numbers in [18, 100]
  std::vector<int> sex;                     ///< 0 = male, 1 = female
  std::vector<int> length_of_stay;          ///< days, >= 1
  std::vector<int> prior_admissions;        ///< admissions in the 365 days before
  std::vector<int> prior_ed_visits;         ///< emergency-department visits in the 365 days before
  std::vector<int> n_diagnoses;             ///< coded diagnoses on this encounter, >= 1
  std::vector<int> n_medications;           ///< active medications at discharge
  std::vector<double> hba1c;                ///< %, NaN when not measured
  std::vector<double> creatinine;           ///< mg/dL, NaN when not measured
  std::vector<double> haemoglobin;          ///< g/dL, NaN when not measured
  std::vector<double> sodium;               ///< mmol/L, NaN when not measured
  /// 0 home, 1 home with services, 2 skilled nursing facility, 3 rehabilitation, 4 left against
  /// medical advice.
  std::vector<int> discharge_disposition;
  std::vector<int> admission_type;  ///< 0 elective, 1 urgent, 2 emergency
  std::vector<int> readmitted;      ///< outcome: readmitted within 30 days (0/1)
  std::vector<double> true_risk;    ///< P(readmitted = 1) the outcome was drawn from
  /// `with_codes` only (empty otherwise): the principal diagnosis, an ICD-10-like code (chapter
  /// letter, two digits, optional `.d` or `.dd`: "I10", "I50.9", "E11.65").
  std::vector<std::string> primary_dx;
  /// `with_codes` only: a secondary diagnosis drawn like the primary one; "" (missing) when the
  /// encounter has a single diagnosis (`n_diagnoses == 1`).
  std::vector<std::string> secondary_dx;
  /// `with_codes` only: one of `admission_source_labels()`.
  std::vector<std::string> admission_source;

  /// The intercept of the risk function solved for `target_prevalence`.
  double intercept = 0.0;
  /// The parameters it was drawn with.
  ReadmissionCohortParams params;

  Index rows() const noexcept { return static_cast<Index>(patient_id.size()); }
  /// Distinct patients.
  Index n_patients() const;

  /// The model features, in the order `feature_matrix` uses: age, sex, length_of_stay,
  /// prior_admissions, prior_ed_visits, n_diagnoses, n_medications, hba1c, creatinine,
  /// haemoglobin, sodium, discharge_disposition, admission_type.
  static std::vector<std::string> feature_names();
  /// `(rows, 13)` row-major features (NaN = lab not measured); site and time are left out on
  /// purpose (they are what the model should not be able to learn).
  RowMatrixXd feature_matrix() const;
  /// The outcome as doubles (the `y` of a Dataset).
  std::vector<double> labels() const;

  /// The categorical code columns `with_codes` adds, in table order: primary_dx, secondary_dx,
  /// admission_source. (`discharge_disposition`, an integer 0..4, is the other small categorical
  /// of the cohort; declare it categorical to use its values as labels.)
  static std::vector<std::string> code_feature_names();
  /// The admission sources, in the order of their effects in docs/datasets.md.
  static std::vector<std::string> admission_source_labels();
  /// The code list of `params` (n_codes leaves in Zipf rank order, most frequent first) followed
  /// by the child codes the coding update introduces. Depends on `n_codes` only, not on `seed`.
  static std::vector<std::string> diagnosis_code_list(const ReadmissionCohortParams& params);
  /// The documented log-odds contribution G(code) of one diagnosis code (chapter effect plus the
  /// hashed effects of its prefixes; docs/datasets.md). Throws InvalidInput when `code` is not of
  /// the form letter, two digits, optional `.d` / `.dd`, or its chapter letter is not in the list.
  static double diagnosis_code_effect(const std::string& code);

  /// Labels of the age bands used as a subgroup in the demo and the report:
  /// "18-44", "45-64", "65-79", "80+".
  static std::vector<std::string> age_band_labels();
  /// Code of each row's age band (index into `age_band_labels()`).
  std::vector<double> age_band() const;

  /// Every column as a Table: encounter_id, patient_id, encounter_date (a kDays time column),
  /// site (categorical "A", "B", ...), the features, with `with_codes` the code columns
  /// (categorical, labels sorted byte-wise; a missing secondary diagnosis is NaN), age_band
  /// (categorical), readmitted and true_risk. This is what
  /// `write_csv` writes for `calibrisk generate`.
  Table to_table() const;
};

/// Draws the cohort.
///
/// Patients are drawn independently, each from its own random stream `Rng(seed, patient)`, so
/// the first k patients are the same whatever `n_patients` is (apart from the intercept, which
/// is solved over the whole cohort). The outcome of each encounter is Bernoulli(true_risk) with
/// true_risk = sigmoid(intercept + f(x, latent, site, time) + g(codes)), f and g as in
/// docs/datasets.md (g = 0 unless `with_codes`).
/// Uses only calibrisk::Rng and <cmath>, so a seed gives the same cohort on every platform.
/// Throws InvalidParams on bad params. Complexity O(rows log rows) (the final sort); not
/// parallel; reentrant.
ReadmissionCohort make_readmission_cohort(const ReadmissionCohortParams& params = {});

}  // namespace calibrisk
