// SPDX-License-Identifier: Apache-2.0
// The synthetic claims table: schema and ranges, probabilities that are a softmax (rows sum to 1,
// outcome frequencies match their means), the drift after the cut, determinism, the members'
// independent streams, the fixed lists and parameter checks. The documented score function is
// re-implemented and checked in tests/python/test_datasets_claims.py.
#include <calibrisk/datasets/claims.hpp>
#include <calibrisk/io/date.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

using namespace calibrisk;

namespace {

const ClaimsTable& big_table() {
  static const ClaimsTable t = [] {
    ClaimsParams p;
    p.n_claims = 40000;
    p.seed = 42;
    return make_claims(p);
  }();
  return t;
}

}  // namespace

TEST_CASE("claims: shapes, ranges, sort order and missing values") {
  const ClaimsTable& t = big_table();
  const auto n = static_cast<std::size_t>(t.rows());
  REQUIRE(n == 40000);
  CHECK(t.probabilities.size() == n * ClaimsTable::kClasses);
  CHECK(t.n_members() > 8000);
  CHECK(t.n_members() < 16000);  // several claims per member (mean ~4.2)
  std::set<std::string> providers;
  int pa_missing = 0, place_missing = 0;
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(t.claim_id[i] == static_cast<std::int64_t>(i));
    if (i) CHECK(t.service_day[i - 1] <= t.service_day[i]);
    CHECK(t.service_date[i] == format_iso_date(t.service_day[i]));
    CHECK(t.service_day[i] >= 19358);
    CHECK(t.service_day[i] < 19358 + 730);
    CHECK(t.procedure_code[i].size() == 5);
    CHECK(t.billed_amount[i] >= 1.0);
    CHECK(t.units[i] >= 1);
    CHECK(t.days_to_submission[i] >= 0);
    CHECK(t.days_to_submission[i] <= 730);
    CHECK(t.member_age[i] >= 0);
    CHECK(t.member_age[i] <= 95);
    double sum = 0;
    for (int k = 0; k < ClaimsTable::kClasses; ++k) {
      CHECK(t.probability(static_cast<Index>(i), k) > 0);
      sum += t.probability(static_cast<Index>(i), k);
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-12));
    providers.insert(t.provider_id[i]);
    pa_missing += std::isnan(t.prior_authorization[i]);
    place_missing += t.place_of_service[i] < 0;
  }
  CHECK(providers.size() > 700);  // high cardinality, Zipf: most providers are rare
  CHECK(pa_missing == doctest::Approx(0.03 * n).epsilon(0.2));
  CHECK(place_missing == doctest::Approx(0.02 * n).epsilon(0.2));
}

TEST_CASE("claims: outcome frequencies match the mean true probabilities (4 standard errors)") {
  const ClaimsTable& t = big_table();
  const double n = static_cast<double>(t.rows());
  for (int k = 0; k < ClaimsTable::kClasses; ++k) {
    double observed = 0, mean = 0, var = 0;
    for (Index i = 0; i < t.rows(); ++i) {
      const double p = t.probability(i, k);
      observed += t.outcome[static_cast<std::size_t>(i)] == k;
      mean += p;
      var += p * (1 - p);
    }
    MESSAGE(ClaimsTable::class_labels()[static_cast<std::size_t>(k)]
            << ": observed " << observed / n << ", mean p " << mean / n);
    CHECK(std::abs(observed - mean) < 4 * std::sqrt(var));
    if (k == 0) {
      CHECK(observed / n > 0.72);  // most claims are paid
      CHECK(observed / n < 0.88);
    } else {
      CHECK(observed / n > 0.005);  // every denial reason occurs
    }
  }
}

TEST_CASE("claims: commercial_b radiology gains missing-authorisation denials after the cut") {
  const ClaimsTable& t = big_table();
  const std::int64_t cut = 19358 + static_cast<std::int64_t>(std::floor(0.75 * 730));
  double p_before = 0, p_after = 0, n_before = 0, n_after = 0;
  for (Index i = 0; i < t.rows(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (t.payer[k] != 1 || ClaimsTable::procedure_section(t.procedure_code[k]) != 3) continue;
    (t.service_day[k] >= cut ? p_after : p_before) += t.probability(i, 1);
    (t.service_day[k] >= cut ? n_after : n_before) += 1;
  }
  REQUIRE(n_before > 100);
  REQUIRE(n_after > 50);
  MESSAGE("mean P(missing_prior_auth), commercial_b radiology: " << p_before / n_before << " -> "
                                                                 << p_after / n_after);
  CHECK(p_after / n_after - p_before / n_before > 0.1);  // measured 0.10 -> 0.24
}

TEST_CASE("claims: same seed gives the same table; members do not depend on n_claims") {
  ClaimsParams p;
  p.n_claims = 3000;
  p.seed = 9;
  const ClaimsTable a = make_claims(p), b = make_claims(p);
  CHECK(a.provider_id == b.provider_id);
  CHECK(a.probabilities == b.probabilities);
  CHECK(a.outcome == b.outcome);
  CHECK(a.billed_amount == b.billed_amount);
  p.n_claims = 8000;
  const ClaimsTable big = make_claims(p);
  std::map<std::int64_t, std::vector<double>> small_rows, big_rows;
  for (Index i = 0; i < a.rows(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (a.member_id[k] < 20) small_rows[a.member_id[k]].push_back(a.billed_amount[k]);
  }
  for (Index i = 0; i < big.rows(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (big.member_id[k] < 20) big_rows[big.member_id[k]].push_back(big.billed_amount[k]);
  }
  CHECK(small_rows == big_rows);
  p.seed = 10;
  p.n_claims = 3000;
  CHECK(make_claims(p).billed_amount != a.billed_amount);
}

TEST_CASE("claims: fixed lists, procedure sections and prior-authorisation ranges") {
  CHECK(ClaimsTable::class_labels().size() == ClaimsTable::kClasses);
  CHECK(ClaimsTable::class_labels()[0] == "paid");
  const auto codes = ClaimsTable::procedure_code_list();
  CHECK(codes.size() == 600);
  CHECK(std::set<std::string>(codes.begin(), codes.end()).size() == 600);
  for (const auto& c : codes) CHECK_NOTHROW(ClaimsTable::procedure_section(c));
  CHECK(ClaimsTable::procedure_section("00100") == 1);
  CHECK(ClaimsTable::procedure_section("99213") == 0);
  CHECK(ClaimsTable::procedure_section("99199") == 5);
  CHECK(ClaimsTable::requires_prior_authorization("27447"));
  CHECK_FALSE(ClaimsTable::requires_prior_authorization("11042"));
  CHECK(ClaimsTable::requires_prior_authorization("70551"));
  CHECK_FALSE(ClaimsTable::requires_prior_authorization("77067"));
  CHECK_THROWS_WITH_AS(ClaimsTable::procedure_section("9921"),
                       doctest::Contains("not a procedure code"), InvalidInput);
  CHECK_THROWS_WITH_AS(ClaimsTable::procedure_section("05000"),
                       doctest::Contains("not a procedure code"), InvalidInput);
}

TEST_CASE("claims: the table has every documented column") {
  ClaimsParams p;
  p.n_claims = 300;
  const Table table = make_claims(p).to_table();
  const std::vector<std::string> expected = {"claim_id",
                                             "member_id",
                                             "service_date",
                                             "payer",
                                             "member_age",
                                             "provider_id",
                                             "specialty",
                                             "place_of_service",
                                             "procedure_code",
                                             "primary_dx",
                                             "secondary_dx",
                                             "billed_amount",
                                             "units",
                                             "prior_authorization",
                                             "days_to_submission",
                                             "same_service_claims",
                                             "outcome",
                                             "denied",
                                             "p_paid",
                                             "p_missing_prior_auth",
                                             "p_not_medically_necessary",
                                             "p_coding_error",
                                             "p_timely_filing",
                                             "p_duplicate"};
  CHECK(table.names() == expected);
  CHECK(table.rows() == 300);
  CHECK(table.column("outcome").kind == ColumnKind::kCategorical);
  CHECK(table.column("service_date").kind == ColumnKind::kTime);
}

TEST_CASE("claims: parameters are checked by name") {
  ClaimsParams p;
  p.n_claims = 0;
  CHECK_THROWS_WITH_AS(make_claims(p), doctest::Contains("ClaimsParams.n_claims must be in"),
                       InvalidParams);
  p = ClaimsParams{};
  p.n_providers = 3;
  CHECK_THROWS_WITH_AS(make_claims(p), doctest::Contains("n_providers"), InvalidParams);
  p = ClaimsParams{};
  p.drift_at = 0;
  CHECK_THROWS_WITH_AS(make_claims(p), doctest::Contains("drift_at"), InvalidParams);
  p = ClaimsParams{};
  p.drift_shift = std::nan("");
  CHECK_THROWS_WITH_AS(make_claims(p), doctest::Contains("drift_shift"), InvalidParams);
}
