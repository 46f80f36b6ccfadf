// SPDX-License-Identifier: Apache-2.0
// The synthetic readmission cohort: patients, encounters, labs missing not at random, and the
// outcome drawn from the nonlinear risk function of docs/datasets.md (keep the two in sync).
#include <calibrisk/core/random.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/text.hpp>

#include "datasets/codes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>

namespace calibrisk {

using detail::code_hash_uniform;
using detail::CodeList;
using detail::kChapters;
using detail::poisson;
using detail::text_column;
using detail::zipf_rank;

namespace {

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_range(bool ok, const char* field, double value, const char* range) {
  if (!ok) {
    throw InvalidParams(std::string("ReadmissionCohortParams.") + field + " must be in " + range +
                        ", got " + num(value) + ".");
  }
}

}  // namespace

void ReadmissionCohortParams::validate() const {
  check_range(n_patients >= 1, "n_patients", static_cast<double>(n_patients), "[1, inf)");
  check_range(n_encounters >= 0, "n_encounters", static_cast<double>(n_encounters),
              "[0, inf) (0 = use n_patients)");
  check_range(n_sites >= 2 && n_sites <= 26, "n_sites", n_sites, "[2, 26]");
  check_range(shifted_site >= 0 && shifted_site < n_sites, "shifted_site", shifted_site,
              "[0, n_sites)");
  check_range(std::isfinite(site_shift) && std::abs(site_shift) <= 5, "site_shift", site_shift,
              "[-5, 5]");
  check_range(std::isfinite(drift_per_year) && std::abs(drift_per_year) <= 5, "drift_per_year",
              drift_per_year, "[-5, 5]");
  check_range(target_prevalence >= 0.01 && target_prevalence <= 0.5, "target_prevalence",
              target_prevalence, "[0.01, 0.5]");
  check_range(n_days >= 30 && n_days <= 365 * 100, "n_days", n_days, "[30, 36500]");
  check_range(n_codes >= 20 && n_codes <= 5000, "n_codes", n_codes, "[20, 5000]");
  check_range(std::isfinite(zipf_exponent) && zipf_exponent >= 0.5 && zipf_exponent <= 3,
              "zipf_exponent", zipf_exponent, "[0.5, 3]");
  check_range(code_update_at > 0 && code_update_at <= 1, "code_update_at", code_update_at,
              "(0, 1]");
  check_range(start_day >= -719468 && start_day <= 2932896, "start_day",
              static_cast<double>(start_day), "[0000-01-01, 9999-12-31] as days since 1970-01-01");
}

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double clamp(double v, double lo, double hi) { return std::min(std::max(v, lo), hi); }
double round_to(double v, double step) { return std::round(v / step) * step; }

// Everything the risk function needs about one encounter, including what is never observed.
struct Encounter {
  std::int64_t patient = 0;
  std::int64_t day = 0;  // offset from start_day
  int site = 0;
  double age = 0;
  int sex = 0;
  int los = 1, prior_adm = 0, prior_ed = 0, n_dx = 1, n_med = 0;
  double hba1c = 0, creat = 0, hgb = 0, na = 0;                        // true lab values
  bool m_hba1c = false, m_creat = false, m_hgb = false, m_na = false;  // measured?
  int disposition = 0, adm_type = 0;
  double hidden = 0;                              // unmeasured part of the log-odds
  int primary = -1, secondary = -1, source = -1;  // with_codes: indices into the code list
  double u_outcome = 0;
  double f = 0;  // log-odds without the intercept
};

constexpr double kDisposition[5] = {0.0, 0.25, 0.55, 0.30, 0.90};
constexpr double kAdmission[3] = {-0.35, 0.0, 0.20};

// The risk function of docs/datasets.md, without the intercept. `t_years` is the time since the
// start of the window.
double log_odds(const Encounter& e, double t_years, const ReadmissionCohortParams& p) {
  const double a = e.age - 65.0;
  double f = 0.55 * std::log1p(e.prior_adm) + 0.20 * std::log1p(e.prior_ed) + 0.012 * a +
             0.0006 * a * a + 0.30 * std::log(static_cast<double>(e.los)) + 0.035 * e.n_dx +
             0.45 * std::max(0.0, e.creat - 1.3) + 0.15 * std::max(0.0, e.hba1c - 7.0) +
             0.20 * std::max(0.0, 12.0 - e.hgb) + 0.06 * std::abs(e.na - 140.0) +
             kDisposition[e.disposition] + kAdmission[e.adm_type];
  if (e.age >= 75 && e.n_med >= 10) f += 0.35;
  f += e.hidden;
  f += p.drift_per_year * t_years;
  if (e.site == p.shifted_site) f += p.site_shift;
  return f;
}

// ---- Diagnosis codes (docs/datasets.md, "Diagnosis codes"; keep the two in sync) ----

// Chapter effects C[letter], in the order of kChapters.
constexpr double kChapterEffect[19] = {0.25,  0.15, 0.55,  0.30, 0.20,  0.30,  0.10,
                                       -0.45, 0.30, 0.25,  0.15, -0.10, -0.25, 0.35,
                                       -0.60, 0.00, -0.30, 0.10, -0.35};
constexpr int kSources = 6;
const char* const kSourceLabels[kSources] = {"emergency_department", "physician_referral",
                                             "clinic_referral",      "transfer_from_hospital",
                                             "transfer_from_snf",    "other"};
constexpr double kSourceEffect[kSources] = {0.0, -0.10, -0.05, 0.25, 0.40, 0.0};
// P(source | admission type), rows elective, urgent, emergency.
constexpr double kSourceProb[3][kSources] = {{0.02, 0.60, 0.28, 0.05, 0.02, 0.03},
                                             {0.20, 0.35, 0.25, 0.10, 0.07, 0.03},
                                             {0.84, 0.03, 0.02, 0.06, 0.04, 0.01}};
constexpr double kChronicShare = 0.4;  // P(primary = the patient's chronic code)
// Per-patient code streams: Rng(seed, kCodeStream + patient), apart from the main streams.
constexpr std::uint64_t kCodeStream = 0x4000000000000000ULL;

// The code of a drawn rank on day `day`: after the update a split leaf is one of its children.
int code_on_day(Rng& rng, const CodeList& list, int rank, bool updated) {
  const int first_child = list.split[static_cast<std::size_t>(rank)];
  if (!updated || first_child < 0) return rank;
  return first_child + static_cast<int>(rng.below(3));
}

// Draws one encounter's codes from the patient's code stream and returns g (its log-odds part).
double draw_codes(Rng& rng, const CodeList& list, const std::vector<double>& effect, int chronic,
                  bool updated, Encounter& e) {
  const int r1 = rng.uniform() < kChronicShare ? chronic : zipf_rank(rng, list);
  int r2 = zipf_rank(rng, list);
  if (r2 == r1) r2 = zipf_rank(rng, list);  // a second, different diagnosis (usually)
  e.primary = code_on_day(rng, list, r1, updated);
  e.secondary = code_on_day(rng, list, r2, updated);
  if (e.n_dx < 2) e.secondary = -1;
  double us = rng.uniform();
  e.source = kSources - 1;
  for (int c = 0; c < kSources; ++c) {
    if (us < kSourceProb[e.adm_type][c]) {
      e.source = c;
      break;
    }
    us -= kSourceProb[e.adm_type][c];
  }
  double g = effect[static_cast<std::size_t>(e.primary)] + kSourceEffect[e.source];
  if (e.secondary >= 0) g += 0.5 * effect[static_cast<std::size_t>(e.secondary)];
  return g;
}

// What draw_patient needs about the codes (null when with_codes is off).
struct CodeContext {
  CodeList list;
  std::vector<double> effect;  // G(code) of each code of the list
  std::int64_t update_day = 0;
};

// One patient's encounters from its own stream (see docs/datasets.md, "Generative process").
void draw_patient(std::int64_t pid, const ReadmissionCohortParams& p,
                  const std::vector<double>& site_cdf, const CodeContext* codes,
                  std::vector<Encounter>& out) {
  Rng rng(p.seed, static_cast<std::uint64_t>(pid));
  // The codes' own stream: drawing them leaves every other draw of the patient unchanged.
  Rng code_rng(p.seed, kCodeStream + static_cast<std::uint64_t>(pid));
  const int chronic = codes ? zipf_rank(code_rng, codes->list) : -1;
  const double z = rng.normal();          // frailty
  const double u_patient = rng.normal();  // unmeasured patient factor
  const bool diabetic = rng.bernoulli(sigmoid(-1.2 + 0.5 * z));
  const int sex = rng.bernoulli(0.52) ? 1 : 0;
  const double age = clamp(std::round(62.0 + 6.0 * z + 15.0 * rng.normal()), 18.0, 100.0);
  const double us = rng.uniform();
  int site = 0;
  while (site + 1 < p.n_sites && us >= site_cdf[static_cast<std::size_t>(site)]) ++site;
  const int n_enc = std::min(1 + poisson(rng, 0.45 * std::exp(0.45 * z)), 8);
  const double rate_adm = 0.35 * std::exp(0.6 * z);
  const double rate_ed = 0.6 * std::exp(0.5 * z);

  std::vector<std::int64_t> days(static_cast<std::size_t>(n_enc));
  for (auto& d : days)
    d = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(p.n_days)));
  std::sort(days.begin(), days.end());

  for (int k = 0; k < n_enc; ++k) {
    Encounter e;
    e.patient = pid;
    e.day = days[static_cast<std::size_t>(k)];
    e.site = site;
    e.age = std::min(100.0, age + std::floor(static_cast<double>(e.day) / 365.25));
    e.sex = sex;
    const double acute = rng.normal();
    const double s = 0.7 * z + 0.5 * acute;  // severity of this encounter
    // Admission type: emergency more likely when severe; the rest split elective/urgent.
    const double p_emerg = sigmoid(0.3 + 0.8 * s);
    const double ua = rng.uniform();
    e.adm_type = ua < p_emerg ? 2 : (ua < p_emerg + (1 - p_emerg) * 0.45 ? 0 : 1);
    e.los = 1 + poisson(rng, std::exp(0.9 + 0.35 * s + 0.25 * (e.adm_type == 2)));
    e.n_dx = std::min(1 + poisson(rng, std::exp(1.4 + 0.2 * z + 0.006 * (e.age - 60))), 30);
    e.n_med = std::min(
        poisson(rng, std::exp(1.7 + 0.25 * z + 0.5 * diabetic + 0.008 * (e.age - 60))), 40);
    int earlier = 0;  // this patient's own admissions in the previous 365 days
    for (int j = 0; j < k; ++j) {
      if (e.day - days[static_cast<std::size_t>(j)] <= 365) ++earlier;
    }
    e.prior_adm = poisson(rng, rate_adm) + earlier;
    e.prior_ed = poisson(rng, rate_ed);
    // True lab values exist for everyone; only some are measured.
    e.hba1c = round_to(clamp(5.4 + 1.9 * diabetic + 0.25 * z + 0.5 * rng.normal(), 4.0, 15.0), 0.1);
    e.creat = round_to(clamp(std::exp(std::log(0.95) + 0.18 * z + 0.006 * (e.age - 60) +
                                      0.1 * (sex == 0) + 0.25 * rng.normal()),
                             0.3, 12.0),
                       0.01);
    e.hgb = round_to(clamp(13.8 - 1.1 * sex - 0.55 * s + 1.2 * rng.normal(), 5.0, 19.0), 0.1);
    e.na = std::round(clamp(139.5 - 1.0 * s + 2.8 * rng.normal(), 115.0, 160.0));
    // Missing not at random: sicker patients (and abnormal sodium) are tested more.
    e.m_hba1c = rng.bernoulli(sigmoid(-1.6 + 2.2 * diabetic + 0.5 * s));
    e.m_creat = rng.bernoulli(sigmoid(0.6 + 1.0 * s + 0.6 * (e.adm_type == 2)));
    e.m_hgb = rng.bernoulli(sigmoid(0.9 + 0.9 * s));
    e.m_na = rng.bernoulli(sigmoid(0.4 + 0.9 * s + 0.1 * std::abs(e.na - 140.0)));
    // Discharge disposition: multinomial logit, home as the reference.
    const double a = e.age - 65;
    const double score[5] = {0.0, -1.2 + 0.5 * s + 0.03 * a, -2.2 + 0.7 * s + 0.06 * a,
                             -2.6 + 0.4 * s + 0.02 * a, -3.6 + 0.3 * s - 0.03 * a};
    double w[5], total = 0;
    for (int c = 0; c < 5; ++c) total += (w[c] = std::exp(score[c]));
    double ud = rng.uniform() * total;
    e.disposition = 4;
    for (int c = 0; c < 5; ++c) {
      if (ud < w[c]) {
        e.disposition = c;
        break;
      }
      ud -= w[c];
    }
    e.hidden = 0.5 * u_patient + 0.25 * acute;
    e.u_outcome = rng.uniform();
    e.f = log_odds(e, static_cast<double>(e.day) / 365.0, p);
    if (codes) {
      e.f +=
          draw_codes(code_rng, codes->list, codes->effect, chronic, e.day >= codes->update_day, e);
    }
    out.push_back(e);
  }
}

// The intercept b with mean(sigmoid(b + f_i)) = target: the mean is increasing in b, so
// bisection on [-30, 30] converges to the double nearest the root in a fixed number of steps.
double solve_intercept(const std::vector<Encounter>& enc, double target) {
  double lo = -30, hi = 30;
  for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
    const double mid = 0.5 * (lo + hi);
    double sum = 0;
    for (const auto& e : enc) sum += sigmoid(mid + e.f);
    if (sum / static_cast<double>(enc.size()) < target)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

ReadmissionCohort make_readmission_cohort(const ReadmissionCohortParams& params) {
  params.validate();
  // Site sizes fall linearly: weights n_sites, n_sites - 1, ..., 1.
  std::vector<double> site_cdf(static_cast<std::size_t>(params.n_sites));
  const double total = params.n_sites * (params.n_sites + 1) / 2.0;
  double acc = 0;
  for (int k = 0; k < params.n_sites; ++k) {
    acc += (params.n_sites - k) / total;
    site_cdf[static_cast<std::size_t>(k)] = acc;
  }

  std::unique_ptr<CodeContext> codes;
  if (params.with_codes) {
    codes = std::make_unique<CodeContext>();
    codes->list = detail::make_code_list(params.n_codes, params.zipf_exponent);
    for (const auto& code : codes->list.codes)
      codes->effect.push_back(ReadmissionCohort::diagnosis_code_effect(code));
    codes->update_day =
        static_cast<std::int64_t>(std::floor(params.code_update_at * params.n_days));
  }
  std::vector<Encounter> enc;
  if (params.n_encounters > 0) {
    enc.reserve(static_cast<std::size_t>(params.n_encounters) + 8);
    for (std::int64_t pid = 0; static_cast<Index>(enc.size()) < params.n_encounters; ++pid) {
      draw_patient(pid, params, site_cdf, codes.get(), enc);
    }
    enc.resize(static_cast<std::size_t>(params.n_encounters));  // drops the last patient's latest
  } else {
    enc.reserve(static_cast<std::size_t>(params.n_patients) * 2);
    for (std::int64_t pid = 0; pid < params.n_patients; ++pid) {
      draw_patient(pid, params, site_cdf, codes.get(), enc);
    }
  }
  std::stable_sort(enc.begin(), enc.end(), [](const Encounter& a, const Encounter& b) {
    return a.day != b.day ? a.day < b.day : a.patient < b.patient;
  });

  ReadmissionCohort c;
  c.params = params;
  c.intercept = solve_intercept(enc, params.target_prevalence);
  const std::size_t n = enc.size();
  auto reserve = [n](auto&... v) { (v.reserve(n), ...); };
  reserve(c.encounter_id, c.patient_id, c.encounter_day, c.encounter_date, c.site, c.age, c.sex,
          c.length_of_stay, c.prior_admissions, c.prior_ed_visits, c.n_diagnoses, c.n_medications,
          c.hba1c, c.creatinine, c.haemoglobin, c.sodium, c.discharge_disposition, c.admission_type,
          c.readmitted, c.true_risk);
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) {
    const Encounter& e = enc[i];
    c.encounter_id.push_back(static_cast<std::int64_t>(i));
    c.patient_id.push_back(e.patient);
    c.encounter_day.push_back(params.start_day + e.day);
    c.encounter_date.push_back(format_iso_date(params.start_day + e.day));
    c.site.push_back(e.site);
    c.age.push_back(e.age);
    c.sex.push_back(e.sex);
    c.length_of_stay.push_back(e.los);
    c.prior_admissions.push_back(e.prior_adm);
    c.prior_ed_visits.push_back(e.prior_ed);
    c.n_diagnoses.push_back(e.n_dx);
    c.n_medications.push_back(e.n_med);
    c.hba1c.push_back(e.m_hba1c ? e.hba1c : kNaN);
    c.creatinine.push_back(e.m_creat ? e.creat : kNaN);
    c.haemoglobin.push_back(e.m_hgb ? e.hgb : kNaN);
    c.sodium.push_back(e.m_na ? e.na : kNaN);
    c.discharge_disposition.push_back(e.disposition);
    c.admission_type.push_back(e.adm_type);
    const double risk = sigmoid(c.intercept + e.f);
    c.true_risk.push_back(risk);
    c.readmitted.push_back(e.u_outcome < risk ? 1 : 0);
  }
  if (codes) {
    const auto& names = codes->list.codes;
    for (auto* v : {&c.primary_dx, &c.secondary_dx, &c.admission_source}) v->reserve(n);
    for (const Encounter& e : enc) {
      c.primary_dx.push_back(names[static_cast<std::size_t>(e.primary)]);
      c.secondary_dx.push_back(e.secondary < 0 ? std::string()
                                               : names[static_cast<std::size_t>(e.secondary)]);
      c.admission_source.emplace_back(kSourceLabels[e.source]);
    }
  }
  return c;
}

Index ReadmissionCohort::n_patients() const {
  return static_cast<Index>(std::set<std::int64_t>(patient_id.begin(), patient_id.end()).size());
}

std::vector<std::string> ReadmissionCohort::feature_names() {
  return {"age",
          "sex",
          "length_of_stay",
          "prior_admissions",
          "prior_ed_visits",
          "n_diagnoses",
          "n_medications",
          "hba1c",
          "creatinine",
          "haemoglobin",
          "sodium",
          "discharge_disposition",
          "admission_type"};
}

RowMatrixXd ReadmissionCohort::feature_matrix() const {
  const Index n = rows();
  RowMatrixXd X(n, 13);
  for (Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const double row[13] = {age[k],
                            static_cast<double>(sex[k]),
                            static_cast<double>(length_of_stay[k]),
                            static_cast<double>(prior_admissions[k]),
                            static_cast<double>(prior_ed_visits[k]),
                            static_cast<double>(n_diagnoses[k]),
                            static_cast<double>(n_medications[k]),
                            hba1c[k],
                            creatinine[k],
                            haemoglobin[k],
                            sodium[k],
                            static_cast<double>(discharge_disposition[k]),
                            static_cast<double>(admission_type[k])};
    for (Index j = 0; j < 13; ++j) X(i, j) = row[j];
  }
  return X;
}

std::vector<double> ReadmissionCohort::labels() const {
  return std::vector<double>(readmitted.begin(), readmitted.end());
}

std::vector<std::string> ReadmissionCohort::age_band_labels() {
  return {"18-44", "45-64", "65-79", "80+"};
}

std::vector<double> ReadmissionCohort::age_band() const {
  std::vector<double> out;
  out.reserve(age.size());
  for (double a : age) out.push_back(a < 45 ? 0.0 : a < 65 ? 1.0 : a < 80 ? 2.0 : 3.0);
  return out;
}

std::vector<std::string> ReadmissionCohort::code_feature_names() {
  return {"primary_dx", "secondary_dx", "admission_source"};
}

std::vector<std::string> ReadmissionCohort::admission_source_labels() {
  return std::vector<std::string>(kSourceLabels, kSourceLabels + kSources);
}

std::vector<std::string> ReadmissionCohort::diagnosis_code_list(
    const ReadmissionCohortParams& params) {
  params.validate();
  return detail::make_code_list(params.n_codes, params.zipf_exponent).codes;
}

double ReadmissionCohort::diagnosis_code_effect(const std::string& code) {
  const char* chapter =
      code.empty() ? nullptr : std::strchr(kChapters, static_cast<unsigned char>(code[0]));
  auto digit = [&](std::size_t i) { return code[i] >= '0' && code[i] <= '9'; };
  const bool ok = chapter != nullptr && code[0] != '\0' &&
                  (code.size() == 3 || code.size() == 5 || code.size() == 6) && digit(1) &&
                  digit(2) && (code.size() == 3 || (code[3] == '.' && digit(4))) &&
                  (code.size() < 6 || digit(5));
  if (!ok) {
    throw InvalidInput("diagnosis_code_effect: '" + printable(code) +
                       "' is not a code of the cohort's form (a chapter letter of " + kChapters +
                       ", two digits, optional .d or .dd, e.g. E11.65).");
  }
  // G = C[chapter] + 0.5 (2 u(X99) - 1) + 0.4 (2 u(X99.d) - 1) + 0.3 (2 u(X99.dd) - 1): each
  // level of the hierarchy refines its parent's risk, so a rare code borrows from its prefixes.
  double g = kChapterEffect[chapter - kChapters];
  g += 0.5 * (2 * code_hash_uniform(code.substr(0, 3)) - 1);
  if (code.size() >= 5) g += 0.4 * (2 * code_hash_uniform(code.substr(0, 5)) - 1);
  if (code.size() == 6) g += 0.3 * (2 * code_hash_uniform(code) - 1);
  return g;
}

namespace {

template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace

Table ReadmissionCohort::to_table() const {
  Table t;
  t.add_column(Column::numeric("encounter_id", as_doubles(encounter_id)));
  t.add_column(Column::numeric("patient_id", as_doubles(patient_id)));
  t.add_column(Column::time_days("encounter_date", as_doubles(encounter_day)));
  std::vector<std::string> site_names;
  for (int k = 0; k < params.n_sites; ++k) site_names.emplace_back(1, static_cast<char>('A' + k));
  t.add_column(Column::categorical("site", as_doubles(site), std::move(site_names)));
  t.add_column(Column::numeric("age", age));
  t.add_column(Column::numeric("sex", as_doubles(sex)));
  t.add_column(Column::numeric("length_of_stay", as_doubles(length_of_stay)));
  t.add_column(Column::numeric("prior_admissions", as_doubles(prior_admissions)));
  t.add_column(Column::numeric("prior_ed_visits", as_doubles(prior_ed_visits)));
  t.add_column(Column::numeric("n_diagnoses", as_doubles(n_diagnoses)));
  t.add_column(Column::numeric("n_medications", as_doubles(n_medications)));
  t.add_column(Column::numeric("hba1c", hba1c));
  t.add_column(Column::numeric("creatinine", creatinine));
  t.add_column(Column::numeric("haemoglobin", haemoglobin));
  t.add_column(Column::numeric("sodium", sodium));
  t.add_column(Column::numeric("discharge_disposition", as_doubles(discharge_disposition)));
  t.add_column(Column::numeric("admission_type", as_doubles(admission_type)));
  if (params.with_codes) {
    t.add_column(text_column("primary_dx", primary_dx));
    t.add_column(text_column("secondary_dx", secondary_dx));
    t.add_column(text_column("admission_source", admission_source));
  }
  t.add_column(Column::categorical("age_band", age_band(), age_band_labels()));
  t.add_column(Column::numeric("readmitted", as_doubles(readmitted)));
  t.add_column(Column::numeric("true_risk", true_risk));
  return t;
}

}  // namespace calibrisk
