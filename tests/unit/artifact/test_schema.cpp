// SPDX-License-Identifier: Apache-2.0
// Feature schema statistics and the input checks (drift and consistency signals).
#include <doctest/doctest.h>

#include <calibrisk/artifact/schema.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace calibrisk;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// 10 rows x 3 columns: numeric with one NaN, an integer code in {1, 2, 5}, a constant.
RowMatrixXd train_table() {
  RowMatrixXd X(10, 3);
  const double col0[] = {0.5, 1.5, -2.0, 3.0, kNaN, 0.0, 1.0, 2.0, -1.0, 0.25};
  const double col1[] = {1, 2, 5, 1, 2, 5, 1, 1, 2, 5};
  for (int i = 0; i < 10; ++i) {
    X(i, 0) = col0[i];
    X(i, 1) = col1[i];
    X(i, 2) = 7.0;
  }
  return X;
}
}  // namespace

TEST_CASE("schema: from_data records range, missing rate and seen category codes") {
  const RowMatrixXd X = train_table();
  SchemaOptions o;
  o.auto_categorical = false;
  o.categorical = {1};
  const FeatureSchema s = FeatureSchema::from_data(view(X), {"lab", "source", "const"}, o);
  REQUIRE(s.n_features() == 3);
  CHECK(s.n_train_rows == 10);
  CHECK(s.features[0].min == -2.0);
  CHECK(s.features[0].max == 3.0);
  CHECK(s.features[0].missing_rate == doctest::Approx(0.1));
  CHECK_FALSE(s.features[0].categorical);
  CHECK(s.features[1].categorical);
  CHECK(s.features[1].categories == std::vector<std::int64_t>{1, 2, 5});
  CHECK_FALSE(s.features[2].categorical);  // auto detection off
}

TEST_CASE("schema: automatic categorical detection takes small integer columns only") {
  const RowMatrixXd X = train_table();
  const FeatureSchema s = FeatureSchema::from_data(view(X));
  CHECK(s.features[0].name == "x0");
  CHECK_FALSE(s.features[0].categorical);  // non-integers
  CHECK(s.features[1].categorical);
  CHECK(s.features[2].categorical);
  CHECK(s.features[2].categories == std::vector<std::int64_t>{7});
  SchemaOptions few;
  few.max_auto_categories = 2;
  CHECK_FALSE(FeatureSchema::from_data(view(X), {}, few).features[1].categorical);
}

TEST_CASE("schema: bad inputs are rejected with the place and the fix") {
  RowMatrixXd X = train_table();
  SchemaOptions o;
  o.categorical = {0};
  CHECK_THROWS_WITH_AS(FeatureSchema::from_data(view(X), {}, o),
                       doctest::Contains("declared categorical but holds non-integer"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(FeatureSchema::from_data(view(X), {"a", "b"}),
                       doctest::Contains("2 names for 3 features"), InvalidInput);
  CHECK_THROWS_WITH_AS(FeatureSchema::from_data(view(X), {"a", "a", "b"}),
                       doctest::Contains("used twice"), InvalidInput);
  X(3, 2) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(FeatureSchema::from_data(view(X)), doctest::Contains("X[3, 2] is infinite"),
                       InvalidInput);
  FeatureSchema bad = FeatureSchema::from_names({"a"});
  bad.features[0].min = 2.0;
  bad.features[0].max = 1.0;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("min <= max"), InvalidInput);
}

TEST_CASE("schema: check flags out-of-range values and unseen codes with example rows") {
  const RowMatrixXd X = train_table();
  const FeatureSchema s = FeatureSchema::from_data(view(X), {"lab", "source", "const"});
  RowMatrixXd Z(4, 3);
  Z << 0.0, 1, 7,    //
      4.0, 3, 7,     // above max, unseen code 3
      -5.0, 2, 7,    // below min
      kNaN, 2.5, 7;  // missing, non-integer code
  const InputReport r = s.check(view(Z));
  CHECK(r.ok());
  CHECK(r.has_drift());
  REQUIRE(r.features.size() == 2);
  CHECK(r.features[0].name == "lab");
  CHECK(r.features[0].n_above_max == 1);
  CHECK(r.features[0].n_below_min == 1);
  CHECK(r.features[0].example_rows == std::vector<Index>{1, 2});
  CHECK(r.features[1].name == "source");
  CHECK(r.features[1].n_unseen_category == 2);
  CHECK(r.summary().find("unseen category codes") != std::string::npos);
}

TEST_CASE("schema: wrong column count and ragged rows are errors, infinities too") {
  const RowMatrixXd X = train_table();
  const FeatureSchema s = FeatureSchema::from_data(view(X));
  RowMatrixXd W(2, 4);
  W.setZero();
  const InputReport r = s.check(view(W));
  CHECK_FALSE(r.ok());
  CHECK(r.n_wrong_length == 2);
  CHECK(r.errors.at(0).find("4 columns but the pipeline expects 3") != std::string::npos);

  const std::vector<std::vector<double>> rows = {
      {0.0, 1, 7}, {0.0, 1}, {0.0, 1, 7, 9}, {std::numeric_limits<double>::infinity(), 1, 7}};
  const InputReport q = s.check(rows);
  CHECK(q.n_rows == 4);
  CHECK(q.n_wrong_length == 2);
  CHECK(q.wrong_length_examples == std::vector<Index>{1, 2});
  REQUIRE(q.errors.size() == 2);
  CHECK(q.errors[1].find("infinite") != std::string::npos);
}

TEST_CASE("schema: missing-rate drift needs both the tolerance and a significant z") {
  // Training: 1000 rows, 10% missing in the only feature.
  FeatureSchema s = FeatureSchema::from_names({"lab"});
  s.n_train_rows = 1000;
  s.features[0].missing_rate = 0.10;
  auto batch = [](int n, int missing) {
    RowMatrixXd Z(n, 1);
    for (int i = 0; i < n; ++i) Z(i, 0) = i < missing ? kNaN : 1.0;
    return Z;
  };
  {  // 30% missing in 500 rows: far beyond tolerance and z.
    const RowMatrixXd Z = batch(500, 150);
    const InputReport r = s.check(view(Z));
    REQUIRE(r.features.size() == 1);
    CHECK(r.features[0].missing_rate_drift);
    // Pooled two-proportion z by hand: p = (100 + 150) / 1500.
    const double p = 250.0 / 1500.0;
    const double z = (0.30 - 0.10) / std::sqrt(p * (1 - p) * (1.0 / 1000 + 1.0 / 500));
    CHECK(r.features[0].missing_rate_z == doctest::Approx(z).epsilon(1e-12));
  }
  {  // 12% missing: inside the 0.05 tolerance.
    const RowMatrixXd Z = batch(500, 60);
    CHECK_FALSE(s.check(view(Z)).has_drift());
  }
  {  // 40% of 5 rows: beyond tolerance but not significant with so few rows.
    const RowMatrixXd Z = batch(5, 2);
    const InputReport r = s.check(view(Z));
    CHECK_FALSE(r.has_drift());
  }
}
