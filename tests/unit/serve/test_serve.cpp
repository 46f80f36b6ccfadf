// SPDX-License-Identifier: Apache-2.0
// ScoringPipeline (serve.hpp): the scoring-only interface gives exactly the
// Pipeline's scores (the golden files' stored scores are the oracle), explains
// rows with contributions that add up to the model's margin, checks inputs, and
// rejects bad arguments with calibrisk's exceptions.
#include <calibrisk/serve.hpp>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/trees/explain.hpp>

#include <doctest/doctest.h>

#include "unit/artifact/fixtures.hpp"
#include "unit/artifact/golden.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace calibrisk;
using calibrisk::test::CalKind;
using calibrisk::test::ModelKind;

namespace {

using calibrisk::test::kGolden;
using calibrisk::test::read_csv;

bool same_bits(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

const test::ArtifactData& data() {
  static const test::ArtifactData d = test::make_artifact_data(600, 11);
  return d;
}

}  // namespace

TEST_CASE(
    "serve: golden files score through ScoringPipeline exactly as their "
    "release stored") {
  for (const char* name : {"py_lr_nocal_noop", "py_gbdt_isotonic_noop"}) {
    INFO(name);
    const auto dir = kGolden / "v0.1.0";
    const ScoringPipeline model =
        ScoringPipeline::load((dir / (std::string(name) + ".json")).string());
    const auto rows = read_csv(dir / "rows_numeric.csv");
    const auto expected = read_csv(dir / (std::string(name) + ".scores.csv"));
    REQUIRE(rows.size() == expected.size());
    std::vector<double> flat;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(rows[i].size() == static_cast<std::size_t>(model.n_features()));
      CHECK_MESSAGE(model.predict_proba_row(rows[i].data()) == expected[i][0], "row " << i);
      flat.insert(flat.end(), rows[i].begin(), rows[i].end());
    }
    const std::vector<double> batch = model.predict_proba(flat);
    REQUIRE(batch.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(batch[i] == expected[i][0]);
  }
}

TEST_CASE("serve: every model and calibrator scores bit-identically to Pipeline") {
  const auto& d = data();
  const Index n = d.X.rows(), p = d.X.cols();
  for (ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    for (CalKind ck : {CalKind::kNone, CalKind::kPlattMargin, CalKind::kPlattProba,
                       CalKind::kIsotonic, CalKind::kBeta}) {
      INFO(test::cal_name(ck) << (mk == ModelKind::kLR ? " lr" : " gbdt"));
      const Pipeline pipe = test::make_pipeline(d, mk, ck);
      const ScoringPipeline model = ScoringPipeline::from_string(to_string(pipe));
      const Eigen::VectorXd want = pipe.predict_proba(FeatureMatrix(view(d.X)));
      // Row-major batch, column-major batch (strided), float rows and single
      // rows.
      std::vector<double> got(static_cast<std::size_t>(n)), got_cm(static_cast<std::size_t>(n));
      model.predict_proba(RowBlock<double>::row_major(d.X.data(), n, p), got.data());
      const Eigen::MatrixXd cm = d.X;  // column-major copy
      model.predict_proba(RowBlock<double>::col_major(cm.data(), n, p), got_cm.data());
      for (Index i = 0; i < n; ++i) {
        const double* row = d.X.data() + i * p;
        REQUIRE(same_bits(got[static_cast<std::size_t>(i)], want[i]));
        REQUIRE(same_bits(got_cm[static_cast<std::size_t>(i)], want[i]));
        REQUIRE(same_bits(model.predict_proba_row(row), pipe.predict_proba_row(row)));
        CHECK(model.predict_row(row) == pipe.predict_row(row));
      }
      const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Xf =
          d.X.cast<float>();
      std::vector<double> got_f(static_cast<std::size_t>(n));
      model.predict_proba(RowBlock<float>::row_major(Xf.data(), n, p), got_f.data());
      const Eigen::VectorXd want_f = pipe.predict_proba(FeatureMatrix(view(Xf)));
      for (Index i = 0; i < n; ++i) {
        REQUIRE(same_bits(got_f[static_cast<std::size_t>(i)], want_f[i]));
        REQUIRE(same_bits(model.predict_proba_row(Xf.data() + i * p),
                          pipe.predict_proba_row(Xf.data() + i * p)));
      }
      // Schema and operating point.
      REQUIRE(model.n_features() == p);
      for (Index j = 0; j < p; ++j) {
        CHECK(model.feature_names()[static_cast<std::size_t>(j)] ==
              pipe.schema().features[static_cast<std::size_t>(j)].name);
        CHECK(model.is_categorical(j) ==
              pipe.schema().features[static_cast<std::size_t>(j)].categorical);
      }
      CHECK(model.threshold() == pipe.threshold());
      CHECK(model.policy() == pipe.operating_point().policy);
      CHECK(std::string(model.model_type()) == pipe.model_type());
      CHECK(std::string(model.calibrator_type()) == pipe.calibrator_type());
      CHECK(model.library_version() == pipe.provenance().library_version);
      CHECK(same_bits(model.operating_figure("recall"), pipe.operating_point().figure("recall")));
      CHECK(std::isnan(model.operating_figure("no such figure")));
    }
  }
}

TEST_CASE("serve: explain on the margin scale adds up to the model's margin") {
  const auto& d = data();
  const Index p = d.X.cols();
  SUBCASE("trees: TreeSHAP contributions plus the bias give the margin") {
    const Pipeline pipe = test::make_pipeline(d, ModelKind::kGBDT, CalKind::kIsotonic);
    const ScoringPipeline model(pipe);
    const TreeExplainer ex(std::get<GradientBoostedTrees>(pipe.model()).ensemble());
    CHECK(model.explain_baseline(ExplainScale::kMargin) == ex.bias());
    for (Index i = 0; i < 50; ++i) {
      const double* row = d.X.data() + i * p;
      const std::vector<double> phi = model.explain(row, ExplainScale::kMargin);
      REQUIRE(phi.size() == static_cast<std::size_t>(p));
      double sum = ex.bias();
      for (double v : phi) sum += v;
      CHECK(sum == doctest::Approx(pipe.decision_function_row(row)).epsilon(1e-9));
    }
  }
  SUBCASE("logistic regression: coef x (value - mean) plus the margin at the means") {
    const Pipeline pipe = test::make_pipeline(d, ModelKind::kLR, CalKind::kPlattMargin);
    const ScoringPipeline model(pipe);
    const double centre = model.explain_baseline(ExplainScale::kMargin);
    std::vector<double> all(static_cast<std::size_t>(50 * p));
    model.explain(RowBlock<double>::row_major(d.X.data(), 50, p), all.data(),
                  ExplainScale::kMargin);
    for (Index i = 0; i < 50; ++i) {
      const double* row = d.X.data() + i * p;
      const std::vector<double> phi = model.explain(row, ExplainScale::kMargin);
      double sum = centre;
      for (Index j = 0; j < p; ++j) {
        sum += phi[static_cast<std::size_t>(j)];
        CHECK(all[static_cast<std::size_t>(i * p + j)] == phi[static_cast<std::size_t>(j)]);
      }
      CHECK(sum == doctest::Approx(pipe.decision_function_row(row)).epsilon(1e-9));
    }
  }
}

TEST_CASE("serve: check_inputs reports errors and drift without throwing") {
  const auto& d = data();
  const Index p = d.X.cols();
  const ScoringPipeline model(test::make_pipeline(d, ModelKind::kLR, CalKind::kNone));
  std::vector<double> rows(d.X.data(), d.X.data() + 20 * p);
  const ScoringInputReport clean =
      model.check_inputs(RowBlock<double>::row_major(rows.data(), 20, p));
  CHECK(clean.ok);
  CHECK(clean.n_rows == 20);
  CHECK(clean.n_features_expected == p);
  rows[0] = 1e6;                                          // far above the training range
  rows[p + 2] = std::numeric_limits<double>::infinity();  // cannot be scored
  const ScoringInputReport bad =
      model.check_inputs(RowBlock<double>::row_major(rows.data(), 20, p));
  CHECK_FALSE(bad.ok);
  CHECK(bad.has_drift);
  REQUIRE_FALSE(bad.errors.empty());
  CHECK(bad.summary.find("error") != std::string::npos);
  bool above = false, inf = false;
  for (const auto& f : bad.features) {
    above = above || (f.feature == 0 && f.n_above_max == 1 && f.example_rows.at(0) == 0);
    inf = inf || (f.feature == 2 && f.n_non_finite == 1);
  }
  CHECK(above);
  CHECK(inf);
  const ScoringInputReport wrong =
      model.check_inputs(RowBlock<double>::row_major(rows.data(), 10, p - 1));
  CHECK_FALSE(wrong.ok);
}

TEST_CASE("serve: bad arguments and files throw calibrisk's exceptions") {
  const auto& d = data();
  const Index p = d.X.cols();
  ScoringPipeline model(test::make_pipeline(d, ModelKind::kGBDT, CalKind::kNone, 5));
  std::vector<double> out(10);
  CHECK_THROWS_WITH_AS(
      model.predict_proba(RowBlock<double>::row_major(d.X.data(), 10, p - 1), out.data()),
      doctest::Contains("columns but the pipeline expects 5"), InvalidInput);
  CHECK_THROWS_WITH_AS(model.predict_proba(RowBlock<double>{d.X.data(), -1, p, p, 1}, out.data()),
                       doctest::Contains("rows and cols must be >= 0"), InvalidInput);
  CHECK_THROWS_WITH_AS(model.predict_proba(RowBlock<double>{d.X.data(), 10, p, -p, 1}, out.data()),
                       doctest::Contains("strides must be >= 0"), InvalidInput);
  CHECK_THROWS_WITH_AS(model.predict_proba(RowBlock<double>::row_major(nullptr, 10, p), out.data()),
                       doctest::Contains("X.data is null"), InvalidInput);
  CHECK_THROWS_WITH_AS(model.predict_proba(RowBlock<double>::row_major(d.X.data(), 10, p), nullptr),
                       doctest::Contains("out is null"), InvalidInput);
  CHECK_THROWS_WITH_AS(model.predict_proba(std::vector<double>(7)),
                       doctest::Contains("not a whole number of rows of 5"), InvalidInput);
  std::vector<double> inf_row(d.X.data(), d.X.data() + p);
  inf_row[1] = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(model.predict_proba(inf_row), InvalidInput);
  CHECK_THROWS_WITH_AS(model.is_categorical(p), doctest::Contains("outside [0, 5)"), InvalidInput);
  CHECK_THROWS_WITH_AS(model.explain(nullptr), doctest::Contains("row is null"), InvalidInput);

  CHECK_THROWS_AS(ScoringPipeline::load("/nonexistent/model.calibrisk.json"), ModelFormatError);
  const std::string text = to_string(model.pipeline());
  CHECK_THROWS_AS(ScoringPipeline::from_string(text.substr(0, 200)), ModelFormatError);
  ScoringOptions strict;
  strict.max_bytes = 100;
  CHECK_THROWS_AS(ScoringPipeline::from_string(text, strict), ModelFormatError);
  ScoringOptions signed_only;
  signed_only.require_signature = true;
  CHECK_THROWS_AS(ScoringPipeline::from_string(text, signed_only), Error);
  // A key file the OS cannot read is a FileError, which serve.hpp users can name (core/error.hpp).
  ScoringOptions missing_key;
  missing_key.public_key_file = "/nonexistent/hospital.pub";
  CHECK_THROWS_WITH_AS(ScoringPipeline::from_string(text, missing_key),
                       doctest::Contains("/nonexistent/hospital.pub"), FileError);

  const ScoringPipeline moved = std::move(model);
  CHECK(moved.n_features() == p);
  CHECK_THROWS_WITH_AS(model.predict_proba_row(d.X.data()),  // NOLINT(bugprone-use-after-move)
                       doctest::Contains("moved from"), NotFitted);
}

TEST_CASE("serve: concurrent scoring and explaining from shared copies gives the serial bits") {
  const auto& d = data();
  const Index n = 200, p = d.X.cols();
  const ScoringPipeline model(test::make_pipeline(d, ModelKind::kGBDT, CalKind::kIsotonic, 10));
  std::vector<double> want(static_cast<std::size_t>(n)), want_phi;
  for (Index i = 0; i < n; ++i) {
    want[static_cast<std::size_t>(i)] = model.predict_proba_row(d.X.data() + i * p);
    const std::vector<double> phi = model.explain(d.X.data() + i * p);
    want_phi.insert(want_phi.end(), phi.begin(), phi.end());
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t, copy = model] {  // each thread holds its own copy (shared Impl)
      for (Index i = 0; i < n; ++i) {
        const double* row = d.X.data() + i * p;
        if (!(copy.predict_proba_row(row) == want[static_cast<std::size_t>(i)])) ++mismatches[t];
        const std::vector<double> phi = copy.explain(row);
        for (Index j = 0; j < p; ++j) {
          if (!(phi[static_cast<std::size_t>(j)] == want_phi[static_cast<std::size_t>(i * p + j)]))
            ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) CHECK(mismatches[t] == 0);
}

TEST_CASE("serve: encode_row of the format-1.4 golden file gives Pipeline's codes and scores") {
  const auto path = (kGolden / "format-1.4" / "gbdt_labels.json").string();
  const ScoringPipeline s = ScoringPipeline::load(path);
  const Pipeline p = load(path);
  // Features: age, dx (dotted hierarchy; levels 250.01 ... 401, 428, E11.65, V10.3), site.
  const std::string_view seen[] = {"64.5", "401.9", "North"};   // pooled into 401
  const std::string_view unseen[] = {"64.5", "428.9", "Mars"};  // 428.9 -> 428; Mars -> NaN
  const std::string_view bad[] = {"sixty", "V10.3", "North"};
  double a[3], b[3];
  const auto e1 = s.encode_row(seen, a);
  CHECK(e1.unseen_labels == 0);  // 401.9 was pooled into 401 at training: a seen label
  CHECK(a[1] == 5.0);
  const auto e2 = s.encode_row(unseen, b);
  CHECK(e2.unseen_labels == 2);
  CHECK(b[1] == 6.0);
  CHECK(std::isnan(b[2]));
  CHECK(s.predict_proba_row(b) == p.predict_proba_row(b));
  const auto e3 = s.encode_row(bad, a);
  CHECK(e3.bad_numbers == 1);
  CHECK(e3.first_bad_feature == 0);
}
