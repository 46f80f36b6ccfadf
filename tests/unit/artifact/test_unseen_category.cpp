// SPDX-License-Identifier: Apache-2.0
// Unseen categories (issue 11, section 4): a code a categorical feature never had in training is
// scored exactly as a missing value, by every model and calibrator, on the row and batch paths;
// the drift report counts it once.
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <cmath>
#include <limits>
#include <vector>

using namespace calibrisk;
using namespace calibrisk::test;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr Index kSource = 3;  // "admission_source": integer codes 0..3 in training

// The drift signals of one feature in a report, or nullptr.
const FeatureDrift* drift_of(const InputReport& r, Index feature) {
  for (const auto& f : r.features)
    if (f.feature == feature) return &f;
  return nullptr;
}
}  // namespace

TEST_CASE("pipeline: an unseen category code is scored as missing, not as the lowest code") {
  const ArtifactData d = make_artifact_data(600, 17);
  for (ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    for (CalKind ck : {CalKind::kNone, CalKind::kPlattMargin, CalKind::kIsotonic}) {
      CAPTURE(cal_name(ck));
      const Pipeline pipe = make_pipeline(d, mk, ck);
      REQUIRE(pipe.schema().features[kSource].categorical);
      REQUIRE(pipe.schema().features[kSource].categories == std::vector<std::int64_t>{0, 1, 2, 3});
      // Four copies of one row; the source is missing, -1 (the CSV reader's kUnseenCategory),
      // a new code above the training range, and a non-integer.
      RowMatrixXd Z(4, d.X.cols());
      for (Index r = 0; r < 4; ++r) Z.row(r) = d.X.row(0);
      Z(0, kSource) = kNaN;
      Z(1, kSource) = -1.0;
      Z(2, kSource) = 7.0;
      Z(3, kSource) = 1.5;
      const double missing = pipe.predict_proba_row(Z.row(0).data());
      const Eigen::VectorXd batch = pipe.predict_proba(view(Z));
      const Eigen::VectorXd margins = pipe.decision_function(view(Z));
      const RowMatrixXf Zf = Z.cast<float>();
      for (Index r = 1; r < 4; ++r) {
        CAPTURE(r);
        CHECK(pipe.predict_proba_row(Z.row(r).data()) == missing);
        CHECK(pipe.predict_proba_row(Zf.row(r).data()) == pipe.predict_proba_row(Zf.row(0).data()));
        CHECK(pipe.decision_function_row(Z.row(r).data()) == margins[0]);
        CHECK(batch[r] == missing);
        CHECK(margins[r] == margins[0]);
      }
      CHECK(batch[0] == missing);
      // Seen codes are untouched: code 0 is scored as the model scores it.
      Z(1, kSource) = 0.0;
      const double m0 = std::visit(
          [&](const auto& m) { return m.decision_function(view(Z).middle_rows(1, 1))[0]; },
          pipe.model());
      CHECK(pipe.decision_function_row(Z.row(1).data()) == m0);
    }
  }
}

TEST_CASE("pipeline: the unseen-as-missing rule also holds for rows wider than the stack buffer") {
  // 300 features: the row path copies into a per-thread buffer instead of the stack.
  const Index n = 400, p = 300;
  RowMatrixXd X(n, p);
  std::vector<double> y(static_cast<std::size_t>(n));
  Rng rng(5);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) X(i, j) = rng.normal();
    X(i, 0) = static_cast<double>(rng.below(3));
    if (rng.uniform() < 0.2) X(i, 0) = kNaN;
    y[static_cast<std::size_t>(i)] = rng.uniform() < (std::isnan(X(i, 0)) ? 0.7 : 0.2) ? 1.0 : 0.0;
  }
  GBDTParams gp;
  gp.n_estimators = 10;
  gp.n_threads = 1;
  GradientBoostedTrees gb(gp);
  gb.fit(Dataset(view(X), VectorView<const double>(y)));
  SchemaOptions so;
  so.categorical = {0};
  const Pipeline pipe(FeatureSchema::from_data(view(X), {}, so), std::move(gb));
  REQUIRE(pipe.schema().features[0].categorical);
  std::vector<double> row(X.row(0).data(), X.row(0).data() + p);
  row[0] = kNaN;
  const double missing = pipe.predict_proba_row(row.data());
  row[0] = 9.0;
  CHECK(pipe.predict_proba_row(row.data()) == missing);
}

TEST_CASE("schema: an unseen code below the training minimum is counted once, as unseen") {
  const ArtifactData d = make_artifact_data(300, 3);
  SchemaOptions so;
  so.categorical = {kSource};
  const FeatureSchema s = FeatureSchema::from_data(view(d.X), {}, so);
  RowMatrixXd Z(3, d.X.cols());
  for (Index r = 0; r < 3; ++r) Z.row(r) = d.X.row(r);
  Z(0, kSource) = -1.0;  // below the training minimum 0 and not seen
  Z(1, kSource) = 9.0;   // above the maximum 3 and not seen
  const InputReport r = s.check(view(Z));
  const FeatureDrift* drift = drift_of(r, kSource);
  REQUIRE(drift != nullptr);
  CHECK(drift->n_unseen_category == 2);
  CHECK(drift->n_below_min == 0);
  CHECK(drift->n_above_max == 0);
  CHECK(drift->example_rows == std::vector<Index>{0, 1});
  CHECK(r.summary().find("2 unseen category codes") != std::string::npos);
  CHECK(r.summary().find("below training min") == std::string::npos);
}

TEST_CASE("schema: automatically detected integer codes stay ordinal numbers at scoring") {
  // A count column (admission_source here, 0..3) that nobody declared categorical is detected as
  // small-integer codes for the drift checks, but the model reads it as a number: a new value
  // is scored as that number (not as missing) and reported once, as out of range when it is.
  const ArtifactData d = make_artifact_data(600, 17);
  GBDTParams gp;
  gp.n_estimators = 20;
  gp.n_threads = 1;
  GradientBoostedTrees gb(gp);
  gb.fit(Dataset(view(d.X), VectorView<const double>(d.y)));
  const GradientBoostedTrees bare = gb;
  const Pipeline pipe(FeatureSchema::from_data(view(d.X)), std::move(gb));
  REQUIRE(pipe.schema().features[kSource].categorical);
  CHECK_FALSE(pipe.schema().features[kSource].unseen_as_missing);
  std::vector<double> row(d.X.row(0).data(), d.X.row(0).data() + d.X.cols());
  for (double v : {-1.0, 2.5, 7.0}) {
    row[kSource] = v;
    CHECK(pipe.predict_proba_row(row.data()) == bare.predict_proba_row(row.data()));
  }
  RowMatrixXd Z(3, d.X.cols());
  for (Index r = 0; r < 3; ++r) Z.row(r) = d.X.row(r);
  Z(0, kSource) = -1.0;  // below the minimum
  Z(1, kSource) = 9.0;   // above the maximum
  Z(2, kSource) = 2.5;   // inside the range, not a training code
  const InputReport r = pipe.check_inputs(view(Z));
  const FeatureDrift* drift = drift_of(r, kSource);
  REQUIRE(drift != nullptr);
  CHECK(drift->n_below_min == 1);
  CHECK(drift->n_above_max == 1);
  CHECK(drift->n_unseen_category == 1);
}
