// SPDX-License-Identifier: Apache-2.0
// The review policy section (format 1.5): every kind round-trips to the same bits and the same
// routing, +inf survives, and damaged sections are rejected at their JSON path.
#include <doctest/doctest.h>
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/threshold/review.hpp>

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;
using V = std::vector<double>;

namespace {

MatrixView<const double> view(const V& p, Index K) {
  return MatrixView<const double>(p.data(), static_cast<Index>(p.size()) / K, K, K, 1);
}

const V kP{0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.2, 0.2, 0.6,
           0.6, 0.3, 0.1, 0.3, 0.5, 0.2, 0.3, 0.3, 0.4};
const V kY{0, 1, 0, 0, 2, 2};

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("review codec: per-class thresholds (with +inf) round-trip and route identically") {
  ReviewOptions o;
  o.min_accuracy = 1.0;
  o.per_class = true;
  const ReviewThresholds r = select_review_threshold(kY, view(kP, 3), o);
  const ReviewPolicyRecord rec = ReviewPolicyRecord::from(r);
  const std::string text = encode_review_policy(rec);
  CHECK(text.find("\"Infinity\"") != std::string::npos);  // class 2 routes nothing
  const ReviewPolicyRecord back = decode_review_policy(text);
  REQUIRE(back.thresholds.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) CHECK(same_bits(back.thresholds[k], rec.thresholds[k]));
  CHECK(back.per_class);
  CHECK(back.policy == r.policy);
  CHECK(encode_review_policy(back) == text);
}

TEST_CASE("review codec: conformal sets and triage band round-trip bit-identically") {
  for (ConformalMethod m :
       {ConformalMethod::kLac, ConformalMethod::kAps, ConformalMethod::kApsRandomized}) {
    const ConformalSets cs = conformal_calibrate(kY, view(kP, 3), 0.3, m, 42);
    const std::string text = encode_review_policy(ReviewPolicyRecord::from(cs));
    const ReviewPolicyRecord back = decode_review_policy(text);
    CHECK(back.kind == "conformal");
    CHECK(same_bits(back.conformal.quantile(), cs.quantile()));
    CHECK(back.conformal.random_state() == 42);
    CHECK(back.conformal.predict_sets(view(kP, 3)) == cs.predict_sets(view(kP, 3)));
    CHECK(encode_review_policy(back) == text);
  }
  // alpha = 0.05 with 6 rows: rank 7 > 6, quantile +inf
  const ConformalSets inf = conformal_calibrate(kY, view(kP, 3), 0.05, ConformalMethod::kLac);
  CHECK(decode_review_policy(encode_review_policy(ReviewPolicyRecord::from(inf)))
            .conformal.quantile() == std::numeric_limits<double>::infinity());
  TriageOptions t;
  t.min_recall = 1.0;
  t.max_review_rate = 0.4;
  const TriageBand band =
      select_triage_band(V{0, 0, 1, 0, 1, 1}, V{0.1, 0.2, 0.4, 0.5, 0.7, 0.9}, t);
  const ReviewPolicyRecord b =
      decode_review_policy(encode_review_policy(ReviewPolicyRecord::from(band)));
  CHECK(b.kind == "triage");
  CHECK(same_bits(b.t_low, band.t_low));
  CHECK(same_bits(b.t_high, band.t_high));
}

TEST_CASE("review codec: damaged sections are rejected at their path") {
  ReviewOptions o;
  o.min_accuracy = 0.7;
  const std::string text =
      encode_review_policy(ReviewPolicyRecord::from(select_review_threshold(kY, view(kP, 3), o)));
  CHECK_THROWS_WITH_AS(
      decode_review_policy(replace(text, "\"kind\":\"threshold\"", "\"kind\":\"x\"")),
      doctest::Contains("/review/kind"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_review_policy(replace(text, "[0.6]", "[1.5]")),
                       doctest::Contains("/review/thresholds/0"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_review_policy(replace(text, "[0.6]", "[0.6,0.5]")),
                       doctest::Contains("exactly one"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_review_policy(replace(text, "\"per_class\":false,", "")),
                       doctest::Contains("/review/per_class is missing"), ModelFormatError);
  const std::string c = encode_review_policy(
      ReviewPolicyRecord::from(conformal_calibrate(kY, view(kP, 3), 0.3, ConformalMethod::kAps)));
  CHECK_THROWS_WITH_AS(decode_review_policy(replace(c, "\"alpha\":0.3", "\"alpha\":1.5")),
                       doctest::Contains("alpha must be in (0, 1)"), ModelFormatError);
  CHECK_THROWS_WITH_AS(
      decode_review_policy(replace(c, "\"method\":\"aps\"", "\"method\":\"raps\"")),
      doctest::Contains("/review"), ModelFormatError);
  CHECK_THROWS_WITH_AS(encode_review_policy(ReviewPolicyRecord::from(ConformalSets{})),
                       doctest::Contains("not calibrated"), NotFitted);
}
