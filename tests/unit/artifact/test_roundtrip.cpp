// SPDX-License-Identifier: Apache-2.0
// Save -> load gives bit-identical probabilities for every model x calibrator, the same bytes on a
// second save, and exact round trips of any double (random bit patterns, NaN, infinities).
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>

using namespace calibrisk;
using namespace calibrisk::test;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

void check_identical_scores(const Pipeline& a, const Pipeline& b, const RowMatrixXd& X) {
  const Eigen::VectorXd pa = a.predict_proba(view(X)), pb = b.predict_proba(view(X));
  const Eigen::VectorXd da = a.decision_function(view(X)), db = b.decision_function(view(X));
  REQUIRE(pa.size() == X.rows());
  Index mismatches = 0, row_mismatches = 0;
  for (Index i = 0; i < X.rows(); ++i) {
    mismatches += !same_bits(pa[i], pb[i]) || !same_bits(da[i], db[i]);
    // The row path gives the same bits as the batch path.
    row_mismatches += !same_bits(b.predict_proba_row(X.row(i).data()), pb[i]);
    row_mismatches += !same_bits(b.decision_function_row(X.row(i).data()), db[i]);
    row_mismatches += b.predict_row(X.row(i).data()) != (pb[i] >= b.threshold());
  }
  CHECK(mismatches == 0);
  CHECK(row_mismatches == 0);
  const auto flags = b.predict(view(X));
  for (Index i = 0; i < X.rows(); ++i) CHECK(flags[i] == (pa[i] >= a.threshold() ? 1 : 0));
}

}  // namespace

TEST_CASE("artifact: round trip is bit-identical for every model and calibrator") {
  const ArtifactData d = make_artifact_data(600, 11);
  const ArtifactData test = make_artifact_data(300, 12);
  for (ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    for (CalKind ck : {CalKind::kNone, CalKind::kPlattMargin, CalKind::kPlattProba,
                       CalKind::kIsotonic, CalKind::kBeta}) {
      CAPTURE(static_cast<int>(mk));
      CAPTURE(cal_name(ck));
      const Pipeline pipe = make_pipeline(d, mk, ck);
      const std::string text = to_string(pipe);
      const Pipeline loaded = load_from_string(text);
      check_identical_scores(pipe, loaded, test.X);
      // Saving the loaded pipeline reproduces the file byte for byte.
      CHECK(to_string(loaded) == text);
      CHECK(loaded.calibrator_type() == std::string(pipe.calibrator_type()));
      CHECK(loaded.calibrator_input() == pipe.calibrator_input());
      CHECK(loaded.schema().features[3].categories == pipe.schema().features[3].categories);
      CHECK(loaded.provenance().training_data.sha256 == pipe.provenance().training_data.sha256);
      CHECK(std::isnan(loaded.operating_point().figure("npv")));
      CHECK(loaded.operating_point().policy == "min_recall=0.8");
    }
  }
}

TEST_CASE("artifact: save and load through a file; float32 rows score like float64 rows") {
  const ArtifactData d = make_artifact_data(500, 21);
  const Pipeline pipe = make_pipeline(d, ModelKind::kGBDT, CalKind::kIsotonic);
  const auto path =
      (std::filesystem::temp_directory_path() / "calibrisk_artifact_test.json").string();
  save(pipe, path);
  const Pipeline loaded = load(path);
  std::remove(path.c_str());
  check_identical_scores(pipe, loaded, d.X);
  // float32 rows holding the same values give the same probabilities (values exactly
  // representable in float are used, so the comparison is meaningful).
  RowMatrixXf Xf = d.X.cast<float>();
  const RowMatrixXd Xd = Xf.cast<double>();
  const Eigen::VectorXd pf = loaded.predict_proba(view(Xf)), pd = loaded.predict_proba(view(Xd));
  for (Index i = 0; i < Xd.rows(); ++i) {
    CHECK(same_bits(pf[i], pd[i]));
    CHECK(same_bits(loaded.predict_proba_row(Xf.row(i).data()), pd[i]));
  }
  CHECK_THROWS_WITH_AS(load(path + ".does-not-exist"), doctest::Contains("cannot open"),
                       ModelFormatError);
}

TEST_CASE("artifact: any double round-trips exactly, including NaN, infinities and -0") {
  const ArtifactData d = make_artifact_data(300, 31);
  const Pipeline base = make_pipeline(d, ModelKind::kLR, CalKind::kNone);
  PipelineParts parts = base.parts();
  Rng rng(99);
  std::vector<double> values = {0.0,
                                -0.0,
                                std::numeric_limits<double>::denorm_min(),
                                -std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::lowest(),
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(),
                                0.1,
                                1.0 / 3.0};
  while (values.size() < 4000) {
    const std::uint64_t bits = rng.next();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    values.push_back(v);
  }
  parts.operating_point.figures.clear();
  for (std::size_t k = 0; k < values.size(); ++k) {
    parts.operating_point.figures.emplace_back("f" + std::to_string(100000 + k), values[k]);
  }
  const Pipeline pipe(parts);
  const Pipeline loaded = load_from_string(to_string(pipe));
  Index bad = 0;
  for (std::size_t k = 0; k < values.size(); ++k) {
    const double got = loaded.operating_point().figure("f" + std::to_string(100000 + k));
    // NaN payloads are not preserved (JSON has one "NaN"); every other bit pattern is.
    bad += std::isnan(values[k]) ? !std::isnan(got) : !same_bits(got, values[k]);
  }
  CHECK(bad == 0);
}

TEST_CASE("artifact: the fingerprint does not depend on storage order or float width") {
  const ArtifactData d = make_artifact_data(50, 41);
  const Eigen::MatrixXd col = d.X;  // column-major copy
  RowMatrixXf Xf = d.X.cast<float>();
  const RowMatrixXd back = Xf.cast<double>();
  const VectorView<const double> y(d.y);
  const DataFingerprint a = fingerprint_data(view(d.X), y), b = fingerprint_data(view(col), y);
  CHECK(a.sha256 == b.sha256);
  CHECK(fingerprint_data(view(Xf), y).sha256 == fingerprint_data(view(back), y).sha256);
  CHECK(a.rows == 50);
  CHECK(a.cols == 5);
  double pos = 0;
  for (double v : d.y) pos += v;
  CHECK(a.prevalence == doctest::Approx(pos / 50.0));
  RowMatrixXd changed = d.X;
  changed(10, 2) += 1e-12;
  CHECK(fingerprint_data(view(changed), y).sha256 != a.sha256);
  CHECK(fingerprint_data(view(d.X)).sha256 != a.sha256);  // labels are hashed when given
  CHECK(std::isnan(fingerprint_data(view(d.X)).prevalence));
}

TEST_CASE("artifact: to_string rejects strings that are not UTF-8") {
  const ArtifactData d = make_artifact_data(300, 51);
  PipelineParts parts = make_pipeline(d, ModelKind::kLR, CalKind::kNone).parts();
  parts.schema.features[0].name = std::string("bad\xff", 4);
  CHECK_THROWS_WITH_AS(to_string(Pipeline(parts)), doctest::Contains("valid UTF-8"), InvalidInput);
}

TEST_CASE("pipeline: assembling checks the parts") {
  const ArtifactData d = make_artifact_data(300, 61);
  const Pipeline good = make_pipeline(d, ModelKind::kLR, CalKind::kBeta);
  {
    PipelineParts parts = good.parts();
    parts.schema = FeatureSchema::from_names({"a", "b"});
    CHECK_THROWS_WITH_AS(Pipeline{parts},
                         doctest::Contains("expects 5 features but the schema lists 2"),
                         InvalidInput);
  }
  {
    PipelineParts parts = good.parts();
    parts.calibrator_input = CalibratorInput::kMargin;
    CHECK_THROWS_WITH_AS(Pipeline{parts}, doctest::Contains("beta calibration maps probabilities"),
                         InvalidInput);
  }
  {
    PipelineParts parts = good.parts();
    parts.operating_point.threshold = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(Pipeline{parts}, doctest::Contains("NaN is not allowed"), InvalidInput);
  }
  {
    PipelineParts parts = good.parts();
    parts.model = LogisticRegression();
    CHECK_THROWS_AS(Pipeline{parts}, NotFitted);
  }
  {
    PipelineParts parts = good.parts();
    parts.calibrator = IsotonicCalibrator::from_state(IsotonicState{{0.0, 1.0}, {0.5, 1.5}});
    parts.calibrator_input = CalibratorInput::kProbability;
    CHECK_THROWS_WITH_AS(Pipeline{parts}, doctest::Contains("is not a probability"), InvalidInput);
  }
  {
    PipelineParts parts = good.parts();
    parts.calibrator =
        PlattCalibrator::from_state(PlattState{1.0, 0.0, ScoreKind::kProbability, 1e-12});
    parts.calibrator_input = CalibratorInput::kMargin;
    CHECK_THROWS_WITH_AS(Pipeline{parts}, doctest::Contains("fitted on probabilities"),
                         InvalidInput);
  }
  RowMatrixXd wrong(3, 4);
  wrong.setZero();
  CHECK_THROWS_WITH_AS(good.predict_proba(view(wrong)), doctest::Contains("4 columns"),
                       InvalidInput);
  CHECK_FALSE(good.check_inputs(view(wrong)).ok());
}

TEST_CASE("artifact: an operating point from select_threshold is stored with every figure") {
  const ArtifactData d = make_artifact_data(600, 81);
  const Pipeline base = make_pipeline(d, ModelKind::kLR, CalKind::kIsotonic);
  const Eigen::VectorXd p = base.predict_proba(view(d.X));
  const OperatingPoint op = select_threshold(VectorView<const double>(d.y),
                                             VectorView<const double>(p), policy::min_recall(0.75));
  PipelineParts parts = base.parts();
  parts.operating_point = OperatingPointRecord::from(op);
  const Pipeline loaded = load_from_string(to_string(Pipeline(parts)));
  const OperatingPointRecord& r = loaded.operating_point();
  CHECK(r.threshold == op.threshold);
  CHECK(r.policy == op.policy);
  CHECK(r.figure("recall") == op.recall);
  CHECK(r.figure("precision") == op.precision);
  CHECK(r.figure("tp") == op.tp);
  CHECK(r.figure("recall_ci_lower") == op.recall_wilson.lower);
  CHECK(r.figure("precision_ci_clopper_pearson_upper") == op.precision_cp.upper);
  CHECK(std::isnan(r.figure("bayes_threshold")));
  // The flags reproduce the operating point's confusion counts on the data it was chosen on.
  const auto flags = loaded.predict(view(d.X));
  double tp = 0;
  for (Index i = 0; i < flags.size(); ++i)
    tp += flags[i] == 1 && d.y[static_cast<std::size_t>(i)] == 1.0;
  CHECK(tp == op.tp);
}
