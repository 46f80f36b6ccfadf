// SPDX-License-Identifier: Apache-2.0
// The synthetic claims table: members, providers with Zipf frequencies, CPT-like procedures by
// range, ICD-10-like diagnoses shared with the readmission cohort, and the outcome drawn from the
// softmax of docs/datasets.md, "Claims" (keep the two in sync: the text is the specification).
#include <calibrisk/core/random.hpp>
#include <calibrisk/datasets/claims.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/text.hpp>

#include "datasets/codes.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

namespace calibrisk {

namespace {

using detail::code_hash_uniform;
using detail::poisson;
using detail::zipf_draw;

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_range(bool ok, const char* field, double value, const char* range) {
  if (!ok) {
    throw InvalidParams(std::string("ClaimsParams.") + field + " must be in " + range + ", got " +
                        num(value) + ".");
  }
}

}  // namespace

void ClaimsParams::validate() const {
  check_range(n_claims >= 1 && n_claims <= 100'000'000, "n_claims", static_cast<double>(n_claims),
              "[1, 100000000]");
  check_range(n_providers >= 10 && n_providers <= 100000, "n_providers", n_providers,
              "[10, 100000]");
  check_range(std::isfinite(provider_zipf_exponent) && provider_zipf_exponent >= 0.5 &&
                  provider_zipf_exponent <= 3,
              "provider_zipf_exponent", provider_zipf_exponent, "[0.5, 3]");
  check_range(n_codes >= 20 && n_codes <= 5000, "n_codes", n_codes, "[20, 5000]");
  check_range(std::isfinite(zipf_exponent) && zipf_exponent >= 0.5 && zipf_exponent <= 3,
              "zipf_exponent", zipf_exponent, "[0.5, 3]");
  check_range(n_days >= 30 && n_days <= 365 * 100, "n_days", n_days, "[30, 36500]");
  check_range(drift_at > 0 && drift_at <= 1, "drift_at", drift_at, "(0, 1]");
  check_range(std::isfinite(drift_shift) && std::abs(drift_shift) <= 10, "drift_shift", drift_shift,
              "[-10, 10]");
  check_range(start_day >= -719468 && start_day <= 2932896 - 365 * 100, "start_day",
              static_cast<double>(start_day), "[0000-01-01, 9899-12-31] as days since 1970-01-01");
}

namespace {

// ---- Fixed tables (docs/datasets.md, "Claims"; keep the two in sync) ----

constexpr int kK = ClaimsTable::kClasses;
const char* const kClassLabels[kK] = {
    "paid",         "missing_prior_auth", "not_medically_necessary",
    "coding_error", "timely_filing",      "duplicate"};

constexpr int kPayers = 5;
const char* const kPayerLabels[kPayers] = {"commercial_a", "commercial_b", "medicare_advantage",
                                           "medicaid_managed", "exchange"};
constexpr double kPayerProb[kPayers] = {0.35, 0.20, 0.20, 0.15, 0.10};
constexpr int kFilingLimit[kPayers] = {90, 90, 365, 180, 180};           // days
constexpr double kPayerPriorAuth[kPayers] = {0.0, 0.3, 0.5, -0.2, 0.2};  // on missing_prior_auth
constexpr double kPayerNecessity[kPayers] = {0.0, 0.2, 0.4, 0.1, 0.3};   // on not_med._necessary
constexpr int kCommercialB = 1;

constexpr int kSpecialties = 11;
const char* const kSpecialtyLabels[kSpecialties] = {
    "family_medicine",    "internal_medicine", "cardiology", "orthopedics",
    "radiology",          "physical_therapy",  "oncology",   "psychiatry",
    "emergency_medicine", "anesthesiology",    "laboratory"};

constexpr int kSections = 6;
const char* const kSectionLabels[kSections] = {
    "evaluation_management", "anesthesia", "surgery", "radiology",
    "pathology_laboratory",  "medicine"};
constexpr int kRadiology = 3;
// Code ranges [lo, hi] of the sections and how many codes each has in the procedure list.
constexpr int kSectionLo[kSections] = {99202, 100, 10004, 70010, 80047, 90281};
constexpr int kSectionHi[kSections] = {99499, 1999, 69990, 79999, 89398, 99199};
constexpr int kSectionCodes[kSections] = {40, 20, 200, 100, 120, 120};
constexpr double kProcedureZipf = 1.0;
// P(section | specialty), rows in specialty order, columns in section order.
constexpr double kSectionProb[kSpecialties][kSections] = {
    {0.70, 0.00, 0.00, 0.05, 0.15, 0.10},  // family_medicine
    {0.60, 0.00, 0.00, 0.05, 0.20, 0.15},  // internal_medicine
    {0.35, 0.00, 0.10, 0.20, 0.00, 0.35},  // cardiology
    {0.35, 0.00, 0.40, 0.20, 0.00, 0.05},  // orthopedics
    {0.05, 0.00, 0.00, 0.90, 0.00, 0.05},  // radiology
    {0.15, 0.00, 0.00, 0.00, 0.00, 0.85},  // physical_therapy
    {0.30, 0.00, 0.00, 0.10, 0.15, 0.45},  // oncology
    {0.40, 0.00, 0.00, 0.00, 0.00, 0.60},  // psychiatry
    {0.60, 0.00, 0.10, 0.20, 0.10, 0.00},  // emergency_medicine
    {0.05, 0.90, 0.00, 0.00, 0.00, 0.05},  // anesthesiology
    {0.05, 0.00, 0.00, 0.00, 0.95, 0.00},  // laboratory
};
// Units ~ 1 + Pois(lambda) and log billed amount mean, per section.
constexpr double kUnitsRate[kSections] = {0.05, 0.0, 0.1, 0.15, 0.8, 0.6};
constexpr double kLogAmount[kSections] = {4.8, 6.6, 7.4, 5.9, 3.6, 4.9};

constexpr int kPlaces = 7;
const char* const kPlaceLabels[kPlaces] = {
    "office", "outpatient_hospital", "inpatient_hospital", "emergency_room", "telehealth",
    "home",   "independent_lab"};
constexpr int kTelehealth = 4;
// The usual place of service of each specialty (index into kPlaceLabels).
constexpr int kPrimaryPlace[kSpecialties] = {0, 0, 0, 1, 1, 0, 1, 4, 3, 2, 6};

// Scores of the denial classes (paid = 0): intercepts and coefficients.
constexpr double kIntercept[kK] = {0.0, -3.3, -3.8, -3.1, -4.2, -7.0};

constexpr std::uint64_t kProcedureListSeed = 0xC1A135ULL;

std::string five_digits(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05d", v);
  return buf;
}

// The procedure list: per section, kSectionCodes distinct codes drawn uniformly from its range by
// a fixed stream; the order of first draw is the Zipf rank within the section.
struct ProcedureList {
  std::vector<std::string> codes;      // all sections, in order
  std::array<int, kSections> first{};  // index of each section's first code
  std::vector<double> cdf;             // Zipf weights of one section's ranks
};

const ProcedureList& procedure_list() {
  static const ProcedureList list = [] {
    ProcedureList l;
    Rng rng(kProcedureListSeed, 0);
    for (int s = 0; s < kSections; ++s) {
      l.first[static_cast<std::size_t>(s)] = static_cast<int>(l.codes.size());
      std::set<int> used;
      const auto width = static_cast<std::uint64_t>(kSectionHi[s] - kSectionLo[s] + 1);
      while (static_cast<int>(used.size()) < kSectionCodes[s]) {
        const int c = kSectionLo[s] + static_cast<int>(rng.below(width));
        if (used.insert(c).second) l.codes.push_back(five_digits(c));
      }
    }
    return l;
  }();
  return list;
}

// Provider of Zipf rank r (0-based): "PRV" + five digits of (7919 r + 12345) mod 100000, a
// bijection of 0..99999 (7919 is prime to 100000), so the id does not reveal the rank.
std::string provider_label(int rank) {
  return "PRV" + five_digits(static_cast<int>((7919LL * rank + 12345) % 100000));
}

// What the scores need about a provider, all from hashes of its id (docs/datasets.md).
struct Provider {
  std::string id;
  int specialty = 0;
  bool slow = false;            // submits late: log-delay + 1
  bool coding_risk = false;     // rare: + 2.0 on coding_error
  bool duplicate_risk = false;  // rare: + 1.5 on duplicate
};

Provider make_provider(int rank) {
  Provider p;
  p.id = provider_label(rank);
  p.specialty = std::min(kSpecialties - 1,
                         static_cast<int>(code_hash_uniform("spec:" + p.id) * kSpecialties));
  p.slow = code_hash_uniform("lag:" + p.id) < 0.10;
  const double u = code_hash_uniform("prv:" + p.id);
  p.coding_risk = u < 0.01;
  p.duplicate_risk = u >= 0.01 && u < 0.02;
  return p;
}

// One claim, including what is never observed (the true prior authorisation).
struct Claim {
  std::int64_t member = 0, day = 0;
  int seq = 0;  // the member's claim order
  int payer = 0, age = 0;
  int provider = 0;   // rank
  int procedure = 0;  // index into the procedure list
  int section = 0;
  int place = 0;
  bool place_missing = false;
  int primary = 0, secondary = -1;  // ranks in the diagnosis code list
  double amount = 0;
  int units = 1;
  bool pa = false, pa_missing = false;
  int delay = 0;
  int same = 0;
  double u_outcome = 0;
};

int draw_index(Rng& rng, const double* prob, int n) {
  double u = rng.uniform();
  for (int k = 0; k < n; ++k) {
    if (u < prob[k]) return k;
    u -= prob[k];
  }
  return n - 1;
}

struct Context {
  const ClaimsParams& p;
  detail::CodeList dx;
  std::vector<double> provider_cdf;
  std::vector<Provider> providers;  // by rank
  std::vector<bool> requires_pa;    // by procedure index
  std::vector<double> necessity;    // by procedure index: prefix effect + 2.0 [rare procedure]
  std::vector<std::vector<double>> procedure_cdf;  // per section
  std::vector<double> dx_effect;                   // G(code) by diagnosis rank
};

// A fresh (not duplicated) claim's features, in the draw order of docs/datasets.md.
void draw_service(Rng& rng, const Context& cx, int chronic, Claim& c) {
  const ProcedureList& procs = procedure_list();
  c.provider = zipf_draw(rng, cx.provider_cdf);
  const Provider& prov = cx.providers[static_cast<std::size_t>(c.provider)];
  c.section = draw_index(rng, kSectionProb[prov.specialty], kSections);
  c.procedure = procs.first[static_cast<std::size_t>(c.section)] +
                zipf_draw(rng, cx.procedure_cdf[static_cast<std::size_t>(c.section)]);
  const int home = kPrimaryPlace[prov.specialty];
  if (rng.uniform() < 0.75) {
    c.place = home;
  } else {
    const int other = static_cast<int>(rng.below(kPlaces - 1));
    c.place = other < home ? other : other + 1;
  }
  c.place_missing = rng.uniform() < 0.02;
  c.primary = rng.uniform() < 0.4 ? chronic : detail::zipf_rank(rng, cx.dx);
  if (rng.uniform() < 0.45) {
    c.secondary = -1;
  } else {
    c.secondary = detail::zipf_rank(rng, cx.dx);
    if (c.secondary == c.primary) c.secondary = detail::zipf_rank(rng, cx.dx);
  }
  c.units = 1 + poisson(rng, kUnitsRate[c.section]);
  const double log_amount =
      kLogAmount[c.section] + 0.8 * std::log(static_cast<double>(c.units)) + 0.5 * rng.normal();
  c.amount = std::max(1.0, std::round(std::exp(log_amount) * 100.0) / 100.0);
  const bool req = cx.requires_pa[static_cast<std::size_t>(c.procedure)];
  c.pa = rng.uniform() < (req ? 0.85 : 0.03);
  c.pa_missing = rng.uniform() < 0.03;
  const double log_delay = 2.2 + 1.0 * prov.slow + 0.9 * rng.normal();
  c.delay = static_cast<int>(std::min(730.0, std::round(std::exp(log_delay))));
}

// One member's claims from its own stream (docs/datasets.md, "Claims: generative process").
void draw_member(std::int64_t m, const Context& cx, std::vector<Claim>& out) {
  const ClaimsParams& p = cx.p;
  Rng rng(p.seed, static_cast<std::uint64_t>(m));
  const double z = rng.normal();
  const int payer = draw_index(rng, kPayerProb, kPayers);
  double age = std::min(95.0, std::max(0.0, std::round(45.0 + 8.0 * z + 18.0 * rng.normal())));
  if (payer == 2) age = std::max(age, 65.0);  // medicare_advantage
  const int chronic = detail::zipf_rank(rng, cx.dx);
  const int n = std::min(1 + poisson(rng, 3.0 * std::exp(0.4 * z)), 40);
  std::vector<std::int64_t> days(static_cast<std::size_t>(n));
  for (auto& d : days)
    d = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(p.n_days)));
  std::sort(days.begin(), days.end());

  const std::size_t first = out.size();
  for (int k = 0; k < n; ++k) {
    Claim c;
    const bool dup = k > 0 && rng.uniform() < 0.03;
    if (dup) {  // a resubmission of the member's previous claim
      c = out.back();
      c.delay = std::min(730, c.delay + 1 + poisson(rng, 10.0));
    } else {
      draw_service(rng, cx, chronic, c);
      c.day = days[static_cast<std::size_t>(k)];
    }
    c.member = m;
    c.seq = k;
    c.payer = payer;
    c.age = static_cast<int>(age);
    c.same = 0;
    for (std::size_t j = first; j < out.size(); ++j) {
      const Claim& e = out[j];
      if (e.day == c.day && e.provider == c.provider && e.procedure == c.procedure) ++c.same;
    }
    c.u_outcome = rng.uniform();
    out.push_back(c);
  }
}

// The class scores of docs/datasets.md (paid = 0) and their softmax.
void class_probabilities(const Claim& c, const Context& cx, std::int64_t cut_day, double* prob) {
  const Provider& prov = cx.providers[static_cast<std::size_t>(c.provider)];
  const auto proc = static_cast<std::size_t>(c.procedure);
  const double L = std::log(c.amount) - 5.0;
  const double no_pa = c.pa ? 0.0 : 1.0;
  const double req = cx.requires_pa[proc] ? 1.0 : 0.0;
  const double g = cx.dx_effect[static_cast<std::size_t>(c.primary)];
  const double policy =
      (c.day >= cut_day && c.payer == kCommercialB && c.section == kRadiology) ? no_pa : 0.0;
  double s[kK];
  s[0] = 0.0;
  s[1] = kIntercept[1] + 3.2 * req * no_pa + 0.25 * L + kPayerPriorAuth[c.payer] +
         cx.p.drift_shift * policy;
  s[2] = kIntercept[2] + 0.30 * L - 0.8 * g + 0.4 * (c.secondary < 0) + kPayerNecessity[c.payer] +
         cx.necessity[proc];
  s[3] = kIntercept[3] + 0.35 * (c.units - 1) + 0.6 * (!c.place_missing && c.place == kTelehealth) +
         0.8 * c.place_missing + 2.0 * prov.coding_risk;
  s[4] = kIntercept[4] + 4.0 * (c.delay > kFilingLimit[c.payer]) + 0.004 * c.delay;
  s[5] = kIntercept[5] + 8.0 * (c.same >= 1) + 1.5 * prov.duplicate_risk;
  const double top = *std::max_element(s, s + kK);
  double total = 0;
  for (int k = 0; k < kK; ++k) total += (prob[k] = std::exp(s[k] - top));
  for (int k = 0; k < kK; ++k) prob[k] /= total;
}

Context make_context(const ClaimsParams& p) {
  Context cx{p, detail::make_code_list(p.n_codes, p.zipf_exponent), {}, {}, {}, {}, {}, {}};
  cx.provider_cdf = detail::zipf_cdf(p.n_providers, p.provider_zipf_exponent);
  cx.providers.reserve(static_cast<std::size_t>(p.n_providers));
  for (int r = 0; r < p.n_providers; ++r) cx.providers.push_back(make_provider(r));
  for (const auto& code : procedure_list().codes) {
    cx.requires_pa.push_back(ClaimsTable::requires_prior_authorization(code));
    // A prefix (subsection) effect and a rare-procedure effect, both from hashes of the code.
    const double prefix = 1.0 * (2 * code_hash_uniform("cpt3:" + code.substr(0, 3)) - 1);
    const bool rare = code_hash_uniform("cpt:" + code) < 0.03;
    cx.necessity.push_back(prefix + 2.0 * rare);
  }
  for (int s = 0; s < kSections; ++s)
    cx.procedure_cdf.push_back(detail::zipf_cdf(kSectionCodes[s], kProcedureZipf));
  for (const auto& code : cx.dx.codes)
    cx.dx_effect.push_back(ReadmissionCohort::diagnosis_code_effect(code));
  return cx;
}

}  // namespace

ClaimsTable make_claims(const ClaimsParams& params) {
  params.validate();
  const Context cx = make_context(params);
  std::vector<Claim> claims;
  claims.reserve(static_cast<std::size_t>(params.n_claims) + 48);
  for (std::int64_t m = 0; static_cast<Index>(claims.size()) < params.n_claims; ++m) {
    draw_member(m, cx, claims);
  }
  claims.resize(static_cast<std::size_t>(params.n_claims));  // drops the last member's latest
  std::stable_sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    if (a.day != b.day) return a.day < b.day;
    return a.member != b.member ? a.member < b.member : a.seq < b.seq;
  });

  const std::int64_t cut_day =
      static_cast<std::int64_t>(std::floor(params.drift_at * params.n_days));
  const ProcedureList& procs = procedure_list();
  ClaimsTable t;
  t.params = params;
  const std::size_t n = claims.size();
  t.probabilities.resize(n * kK);
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) {
    const Claim& c = claims[i];
    t.claim_id.push_back(static_cast<std::int64_t>(i));
    t.member_id.push_back(c.member);
    t.service_day.push_back(params.start_day + c.day);
    t.service_date.push_back(format_iso_date(params.start_day + c.day));
    t.payer.push_back(c.payer);
    t.member_age.push_back(c.age);
    const Provider& prov = cx.providers[static_cast<std::size_t>(c.provider)];
    t.provider_id.push_back(prov.id);
    t.specialty.push_back(prov.specialty);
    t.place_of_service.push_back(c.place_missing ? -1 : c.place);
    t.procedure_code.push_back(procs.codes[static_cast<std::size_t>(c.procedure)]);
    t.primary_dx.push_back(cx.dx.codes[static_cast<std::size_t>(c.primary)]);
    t.secondary_dx.push_back(c.secondary < 0 ? std::string()
                                             : cx.dx.codes[static_cast<std::size_t>(c.secondary)]);
    t.billed_amount.push_back(c.amount);
    t.units.push_back(c.units);
    t.prior_authorization.push_back(c.pa_missing ? kNaN : (c.pa ? 1.0 : 0.0));
    t.days_to_submission.push_back(c.delay);
    t.same_service_claims.push_back(c.same);
    double* prob = &t.probabilities[i * kK];
    class_probabilities(c, cx, cut_day, prob);
    int k = 0;
    double acc = prob[0];
    while (k + 1 < kK && c.u_outcome >= acc) acc += prob[++k];
    t.outcome.push_back(k);
  }
  return t;
}

Index ClaimsTable::n_members() const {
  return static_cast<Index>(std::set<std::int64_t>(member_id.begin(), member_id.end()).size());
}

std::vector<std::string> ClaimsTable::class_labels() {
  return std::vector<std::string>(kClassLabels, kClassLabels + kK);
}
std::vector<std::string> ClaimsTable::payer_labels() {
  return std::vector<std::string>(kPayerLabels, kPayerLabels + kPayers);
}
std::vector<std::string> ClaimsTable::specialty_labels() {
  return std::vector<std::string>(kSpecialtyLabels, kSpecialtyLabels + kSpecialties);
}
std::vector<std::string> ClaimsTable::place_of_service_labels() {
  return std::vector<std::string>(kPlaceLabels, kPlaceLabels + kPlaces);
}
std::vector<std::string> ClaimsTable::procedure_section_labels() {
  return std::vector<std::string>(kSectionLabels, kSectionLabels + kSections);
}
std::vector<std::string> ClaimsTable::procedure_code_list() { return procedure_list().codes; }

int ClaimsTable::procedure_section(const std::string& code) {
  const bool digits = code.size() == 5 && std::all_of(code.begin(), code.end(), [](char ch) {
                        return ch >= '0' && ch <= '9';
                      });
  const int v = digits ? std::stoi(code) : -1;
  for (int s = 0; digits && s < kSections; ++s) {
    if (v >= kSectionLo[s] && v <= kSectionHi[s]) return s;
  }
  throw InvalidInput("procedure_section: '" + printable(code) +
                     "' is not a procedure code of the claims table (five digits in a section's "
                     "range, e.g. 99213 or 00100; see docs/datasets.md).");
}

bool ClaimsTable::requires_prior_authorization(const std::string& code) {
  procedure_section(code);  // validates
  const int v = std::stoi(code);
  return (v >= 20000 && v <= 69990) || (v >= 70450 && v <= 76499) || (v >= 96360 && v <= 96549);
}

namespace {

template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

Column coded(const std::string& name, const std::vector<int>& v, std::vector<std::string> labels) {
  std::vector<double> codes;
  codes.reserve(v.size());
  for (int x : v) codes.push_back(x < 0 ? std::numeric_limits<double>::quiet_NaN() : x);
  return Column::categorical(name, std::move(codes), std::move(labels));
}

}  // namespace

Table ClaimsTable::to_table() const {
  Table t;
  t.add_column(Column::numeric("claim_id", as_doubles(claim_id)));
  t.add_column(Column::numeric("member_id", as_doubles(member_id)));
  t.add_column(Column::time_days("service_date", as_doubles(service_day)));
  t.add_column(coded("payer", payer, payer_labels()));
  t.add_column(Column::numeric("member_age", as_doubles(member_age)));
  t.add_column(detail::text_column("provider_id", provider_id));
  t.add_column(coded("specialty", specialty, specialty_labels()));
  t.add_column(coded("place_of_service", place_of_service, place_of_service_labels()));
  t.add_column(detail::text_column("procedure_code", procedure_code));
  t.add_column(detail::text_column("primary_dx", primary_dx));
  t.add_column(detail::text_column("secondary_dx", secondary_dx));
  t.add_column(Column::numeric("billed_amount", billed_amount));
  t.add_column(Column::numeric("units", as_doubles(units)));
  t.add_column(Column::numeric("prior_authorization", prior_authorization));
  t.add_column(Column::numeric("days_to_submission", as_doubles(days_to_submission)));
  t.add_column(Column::numeric("same_service_claims", as_doubles(same_service_claims)));
  t.add_column(coded("outcome", outcome, class_labels()));
  std::vector<double> denied;
  denied.reserve(outcome.size());
  for (int k : outcome) denied.push_back(k != 0 ? 1.0 : 0.0);
  t.add_column(Column::numeric("denied", std::move(denied)));
  const auto labels = class_labels();
  for (int k = 0; k < kK; ++k) {
    std::vector<double> p(outcome.size());
    for (std::size_t i = 0; i < p.size(); ++i)
      p[i] = probabilities[i * kK + static_cast<std::size_t>(k)];
    t.add_column(Column::numeric("p_" + labels[static_cast<std::size_t>(k)], std::move(p)));
  }
  return t;
}

}  // namespace calibrisk
