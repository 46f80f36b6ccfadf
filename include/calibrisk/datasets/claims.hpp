// SPDX-License-Identifier: Apache-2.0
/// @file claims.hpp
/// A seeded synthetic table of insurance claims with a multiclass outcome (paid, or one of five
/// denial reasons) drawn from a documented softmax of the claim's features, with the KNOWN true
/// class probabilities returned beside the outcome. The generating function is documented in
/// docs/datasets.md, "Claims"; keep the two in sync.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/table.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk {

/// How `make_claims` draws the table. Every field has a default that gives the documented table.
struct ClaimsParams {
  /// Claim rows, in [1, 100'000'000]. Members are drawn until this many claims exist (the last
  /// member's latest claims are dropped); a member has 1 + Pois(3 e^{0.4 z}) claims (mean ~4.2).
  Index n_claims = 20000;
  std::uint64_t seed = 0;  ///< Same seed (and other fields) => bit-identical table everywhere.
  /// Providers (billing NPIs) in the provider list, in [10, 100000]; drawn with Zipf
  /// frequencies, so most are rare.
  int n_providers = 2000;
  /// Exponent s of the Zipf law providers are drawn with (P(rank r) ∝ r^-s), in [0.5, 3].
  double provider_zipf_exponent = 1.1;
  /// Leaf diagnosis codes of the ICD-10-like code list shared with the readmission cohort
  /// (`ReadmissionCohort::diagnosis_code_list`), in [20, 5000]. Claims use the leaves only.
  int n_codes = 2000;
  /// Exponent of the Zipf law of the diagnosis codes, in [0.5, 3].
  double zipf_exponent = 1.1;
  /// First service date as days since 1970-01-01 (19358 = 2023-01-01).
  std::int64_t start_day = 19358;
  int n_days = 730;  ///< Length of the service window in days, in [30, 36500].
  /// Fraction of the window after which a payer policy change is in force, in (0, 1]: from day
  /// floor(drift_at * n_days) on, payer `commercial_b` requires prior authorisation for radiology
  /// (docs/datasets.md). 1 = no change inside the window.
  double drift_at = 0.75;
  /// Log-odds added to the `missing_prior_auth` score of the claims the policy change hits, in
  /// [-10, 10]. 0 = no drift.
  double drift_shift = 2.5;

  /// Throws InvalidParams naming the field, its value and the allowed range.
  void validate() const;
};

/// The claims, one entry per claim in every vector (column-oriented), sorted by (service day,
/// member, the member's claim order). Missing values: "" in the text columns, -1 in
/// `place_of_service`, NaN in `prior_authorization`.
struct ClaimsTable {
  /// Number of outcome classes: paid and five denial reasons.
  static constexpr int kClasses = 6;

  std::vector<std::int64_t> claim_id;     ///< 0..n-1 in row order
  std::vector<std::int64_t> member_id;    ///< members have several claims
  std::vector<std::int64_t> service_day;  ///< days since 1970-01-01
  std::vector<std::string> service_date;  ///< the same as ISO 8601 `YYYY-MM-DD`
  std::vector<int> payer;                 ///< index into `payer_labels()`
  std::vector<int> member_age;            ///< years, 0..95
  std::vector<std::string> provider_id;   ///< "PRV" + five digits, high cardinality
  std::vector<int> specialty;             ///< the provider's, index into `specialty_labels()`
  /// Index into `place_of_service_labels()`, -1 = missing.
  std::vector<int> place_of_service;
  /// CPT-like five-digit code ("99213", "00100", "73721"); its range gives the section
  /// (`procedure_section_labels()`), its first three digits a subsection.
  std::vector<std::string> procedure_code;
  std::vector<std::string> primary_dx;    ///< ICD-10-like diagnosis code
  std::vector<std::string> secondary_dx;  ///< "" = none
  std::vector<double> billed_amount;      ///< dollars, rounded to cents, log-normal
  std::vector<int> units;                 ///< service units, >= 1
  /// 1 = prior authorisation on file, 0 = none, NaN = not recorded (the true value still enters
  /// the probabilities).
  std::vector<double> prior_authorization;
  std::vector<int> days_to_submission;  ///< days from service to submission, 0..730
  /// This member's earlier claims with the same provider, procedure and service date.
  std::vector<int> same_service_claims;
  std::vector<int> outcome;  ///< index into `class_labels()` (0 = paid)
  /// `(rows, kClasses)` row-major: the true probability of each class the outcome was drawn
  /// from, in `class_labels()` order; rows sum to 1.
  std::vector<double> probabilities;

  /// The parameters it was drawn with.
  ClaimsParams params;

  Index rows() const noexcept { return static_cast<Index>(claim_id.size()); }
  /// Distinct members.
  Index n_members() const;
  /// True probability of class `k` for row `i`.
  double probability(Index i, int k) const {
    return probabilities[static_cast<std::size_t>(i * kClasses + k)];
  }

  /// "paid", "missing_prior_auth", "not_medically_necessary", "coding_error", "timely_filing",
  /// "duplicate": the outcome classes in index order (also the order of the p_* columns).
  static std::vector<std::string> class_labels();
  /// "commercial_a", "commercial_b", "medicare_advantage", "medicaid_managed", "exchange".
  static std::vector<std::string> payer_labels();
  /// The eleven provider specialties, in index order.
  static std::vector<std::string> specialty_labels();
  /// "office", "outpatient_hospital", "inpatient_hospital", "emergency_room", "telehealth",
  /// "home", "independent_lab".
  static std::vector<std::string> place_of_service_labels();
  /// "evaluation_management", "anesthesia", "surgery", "radiology", "pathology_laboratory",
  /// "medicine": the CPT-like sections by code range (docs/datasets.md).
  static std::vector<std::string> procedure_section_labels();
  /// The procedure code list: for each section in order, its codes in Zipf rank order (most
  /// frequent first). Fixed: depends on no parameter.
  static std::vector<std::string> procedure_code_list();
  /// Section index of a five-digit code by its range; throws InvalidInput when `code` is not
  /// five digits or lies in no section's range.
  static int procedure_section(const std::string& code);
  /// Whether the procedure requires prior authorisation (before any policy change): codes
  /// 20000-69990 (surgery beyond the integumentary system), 70450-76499 (CT, MRI and other
  /// advanced imaging) and 96360-96549 (infusions and chemotherapy). Throws as
  /// `procedure_section`.
  static bool requires_prior_authorization(const std::string& code);

  /// Every column as a Table: claim_id, member_id, service_date (a kDays time column), payer,
  /// member_age, provider_id, specialty, place_of_service, procedure_code, primary_dx,
  /// secondary_dx (categorical; missing = NaN), billed_amount, units, prior_authorization,
  /// days_to_submission, same_service_claims (numeric), outcome (categorical, the class labels),
  /// denied (0/1: outcome is not "paid") and p_<class> for each class. This is what `write_csv`
  /// writes for `calibrisk generate --dataset claims`.
  Table to_table() const;
};

/// Draws the claims table.
///
/// Members are drawn independently, each from its own random stream `Rng(seed, member)`, so the
/// first claims of the first members do not depend on `n_claims`; the class probabilities are a
/// fixed function of each claim (no parameter is solved over the table). The outcome of each
/// claim is a categorical draw from its `probabilities` row (one uniform), the softmax of the
/// class scores in docs/datasets.md, "Claims".
/// Uses only calibrisk::Rng and <cmath>, so a seed gives the same table on every platform and
/// any thread count (the generator is sequential). Throws InvalidParams on bad params.
/// Complexity O(rows log rows) (the final sort); reentrant.
ClaimsTable make_claims(const ClaimsParams& params = {});

}  // namespace calibrisk
