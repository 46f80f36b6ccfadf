// SPDX-License-Identifier: Apache-2.0
// K-class pipelines (format 1.6): scores equal the composition of the model's K logits and the
// multiclass calibrator (computed here by hand), routes follow the review policy (hand-computed),
// the file round-trips bit-identically, and inconsistent parts or files are rejected.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/io/table.hpp>
#include <calibrisk/serve.hpp>

#include <doctest/doctest.h>

#include "unit/artifact/golden.hpp"
#include "unit/artifact/golden_rows.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

struct McData {
  RowMatrixXd X;
  std::vector<double> y;
};

// Three classes from known softmax logits of four numeric features (feature 1 sometimes missing).
McData make_mc(Index n, std::uint64_t seed) {
  McData d;
  d.X.resize(n, 4);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < 4; ++j) d.X(i, j) = rng.normal();
    const double z[3] = {0.0, 1.5 * d.X(i, 0) - d.X(i, 1), -d.X(i, 0) + 1.2 * d.X(i, 2) + 0.3};
    if (rng.uniform() < 0.1) d.X(i, 1) = std::numeric_limits<double>::quiet_NaN();
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double u = rng.uniform() * s;
    d.y[static_cast<std::size_t>(i)] = u < e[0] ? 0.0 : (u < e[0] + e[1] ? 1.0 : 2.0);
  }
  return d;
}

FeatureSchema schema4() {
  FeatureSchema s;
  for (const char* name : {"a", "b", "c", "d"}) {
    FeatureInfo f;
    f.name = name;
    s.features.push_back(f);
  }
  return s;
}

struct McFixture {
  McData train = make_mc(600, 7), cal = make_mc(400, 8), test = make_mc(50, 9);
  LogisticRegression lr;
  TemperatureScaling temp;
  McFixture() {
    lr.fit(Dataset(view(train.X), train.y), 3);
    RowMatrixXd z(cal.X.rows(), 3);
    lr.decision_matrix(FeatureMatrix(view(cal.X)), view_mut(z));
    temp.fit(view(z), VectorView<const double>(cal.y.data(), cal.X.rows()));
  }
  PipelineParts parts() const {
    PipelineParts p;
    p.schema = schema4();
    p.model = lr;
    p.multiclass_calibrator = temp;
    p.classes = {"paid", "denied: coding", "denied, \"auth\""};
    ReviewPolicyRecord r;
    r.policy = "min_accuracy=0.9";
    r.thresholds = {0.6};
    p.review = r;
    return p;
  }
};

}  // namespace

TEST_CASE("K-class pipeline: probabilities are softmax(beta * z) of the model's logits") {
  const McFixture f;
  const Pipeline pipe(f.parts());
  CHECK(pipe.n_classes() == 3);
  CHECK(std::string(pipe.calibrator_type()) == "temperature");
  const RowMatrixXd P = pipe.predict_proba_matrix(FeatureMatrix(view(f.test.X)));
  const LogisticRegressionState& st = f.lr.state();
  const double beta = f.temp.inverse_temperature();
  for (Index i = 0; i < f.test.X.rows(); ++i) {
    // Oracle by hand: z_k = b_k + sum_j B[k, j] x_j (missing imputed by the training mean).
    double z[3], mx = -1e300, s = 0.0;
    for (int k = 0; k < 3; ++k) {
      z[k] = st.class_intercept[static_cast<std::size_t>(k)];
      for (Index j = 0; j < 4; ++j) {
        const double x = f.test.X(i, j);
        z[k] += st.class_coef[static_cast<std::size_t>(k * 4 + j)] *
                (std::isnan(x) ? st.impute_values[static_cast<std::size_t>(j)] : x);
      }
      mx = std::max(mx, beta * z[k]);
    }
    for (int k = 0; k < 3; ++k) s += std::exp(beta * z[k] - mx);
    for (int k = 0; k < 3; ++k) {
      CHECK(P(i, k) == doctest::Approx(std::exp(beta * z[k] - mx) / s).epsilon(1e-12));
    }
    // The single-row method gives the batch's bits.
    double row[3];
    pipe.predict_proba_matrix_row(f.test.X.row(i).data(), row);
    for (int k = 0; k < 3; ++k) CHECK(row[k] == P(i, k));
  }
}

TEST_CASE("K-class pipeline: binary-only methods refuse or return NaN") {
  const McFixture f;
  const Pipeline pipe(f.parts());
  CHECK(std::isnan(pipe.predict_proba_row(f.test.X.row(0).data())));
  CHECK(std::isnan(pipe.decision_function_row(f.test.X.row(0).data())));
  CHECK_THROWS_WITH_AS(pipe.predict_proba(FeatureMatrix(view(f.test.X))),
                       doctest::Contains("predict_proba_matrix"), InvalidInput);
}

TEST_CASE("K-class pipeline: routes follow the confidence thresholds (hand-computed)") {
  const McFixture f;
  PipelineParts parts = f.parts();
  parts.multiclass_calibrator.reset();
  // P rows chosen by hand: confidences 0.7 (class 0), 0.5 (class 1), 0.6 (class 2, tie at the
  // threshold routes automatically), 0.34 (class 0 by the lowest-index tie rule).
  const double p[] = {0.7, 0.2, 0.1, 0.3, 0.5, 0.2, 0.1, 0.3, 0.6, 0.34, 0.34, 0.32};
  const auto P = MatrixView<const double>::row_major(p, 4, 3);
  const Pipeline one(parts);
  CHECK(one.predict_label(P) == std::vector<std::int32_t>{0, 1, 2, 0});
  CHECK(one.route(P) == std::vector<std::uint8_t>{1, 0, 1, 0});
  parts.review->per_class = true;
  parts.review->thresholds = {0.8, 0.5, std::numeric_limits<double>::infinity()};
  const Pipeline per(parts);
  CHECK(per.route(P) == std::vector<std::uint8_t>{0, 1, 0, 0});
  parts.review.reset();
  CHECK(Pipeline(parts).route(P) == std::vector<std::uint8_t>{1, 1, 1, 1});
}

TEST_CASE("K-class pipeline: the 1.6 file round-trips bit-identically") {
  const McFixture f;
  for (bool calibrated : {true, false}) {
    PipelineParts parts = f.parts();
    if (!calibrated) parts.multiclass_calibrator.reset();
    const Pipeline pipe(parts);
    const std::string text = to_string(pipe);
    CHECK(text.find("\"format_version\": \"1.6\"") != std::string::npos);
    CHECK(text.find("\"classes\": [\"paid\"") != std::string::npos);
    const Pipeline back = load_from_string(text);
    CHECK(to_string(back) == text);
    CHECK(back.class_labels() == parts.classes);
    const RowMatrixXd a = pipe.predict_proba_matrix(FeatureMatrix(view(f.test.X)));
    const RowMatrixXd b = back.predict_proba_matrix(FeatureMatrix(view(f.test.X)));
    for (Index i = 0; i < a.rows(); ++i)
      for (Index k = 0; k < 3; ++k) CHECK(a(i, k) == b(i, k));
    // Serving gives the same bits, the label and the route.
    const ScoringPipeline s = ScoringPipeline::from_string(text);
    std::vector<double> P(static_cast<std::size_t>(a.rows() * 3));
    std::vector<ScoringPipeline::ClassDecision> d(static_cast<std::size_t>(a.rows()));
    s.predict_classes(RowBlock<double>::row_major(f.test.X.data(), a.rows(), 4), P.data(),
                      d.data());
    for (Index i = 0; i < a.rows(); ++i) {
      const auto u = static_cast<std::size_t>(i);
      Index best = 0;
      for (Index k = 0; k < 3; ++k) {
        CHECK(P[u * 3 + static_cast<std::size_t>(k)] == a(i, k));
        if (a(i, k) > a(i, best)) best = k;
      }
      CHECK(d[u].label == best);
      CHECK(d[u].review == !(a(i, best) >= 0.6));
    }
    CHECK(s.classes() == parts.classes);
    CHECK(s.review_policy() == "min_accuracy=0.9");
  }
}

TEST_CASE("K-class pipeline: explain_class sums to the predicted class's logit") {
  const McFixture f;
  const Pipeline pipe(f.parts());
  RowMatrixXd z(f.test.X.rows(), 3);
  pipe.decision_matrix(FeatureMatrix(view(f.test.X)), view_mut(z));
  std::vector<double> phi(4);
  for (Index i = 0; i < f.test.X.rows(); ++i) {
    for (int k = 0; k < 3; ++k) {
      const double base = pipe.explain_class(f.test.X.row(i).data(), k, phi.data());
      const double sum = base + phi[0] + phi[1] + phi[2] + phi[3];
      CHECK(sum == doctest::Approx(z(i, k)).epsilon(1e-12));
      if (std::isnan(f.test.X(i, 1))) CHECK(phi[1] == 0.0);  // missing = the reference value
    }
  }
  CHECK_THROWS_AS(pipe.explain_class(f.test.X.row(0).data(), 3, phi.data()), InvalidInput);
}

TEST_CASE("K-class pipeline: inconsistent parts are rejected with a clear message") {
  const McFixture f;
  SUBCASE("a binary calibrator on a K-class model") {
    PipelineParts p = f.parts();
    p.multiclass_calibrator.reset();
    const double s[] = {0.1, 0.9, 0.2, 0.8, 0.7};
    const double y[] = {0, 1, 0, 1, 1};
    p.calibrator =
        PlattCalibrator().fit(VectorView<const double>(s, 5), VectorView<const double>(y, 5));
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("multiclass_calibrator"), InvalidInput);
  }
  SUBCASE("a calibrator of another K") {
    PipelineParts p = f.parts();
    const double s[] = {0.1, 0.9, 0.8, 0.2, 0.4, 0.6, 0.7, 0.3};
    const double y[] = {0, 1, 1, 0};
    p.multiclass_calibrator = TemperatureScaling().fit(MatrixView<const double>::row_major(s, 4, 2),
                                                       VectorView<const double>(y, 4));
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("fitted on 2 classes"), InvalidInput);
  }
  SUBCASE("class labels") {
    PipelineParts p = f.parts();
    p.classes = {"a", "b"};
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("one label per class"), InvalidInput);
    p.classes = {"a", "b", "a"};
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("repeated"), InvalidInput);
  }
  SUBCASE("review policies") {
    PipelineParts p = f.parts();
    p.review->thresholds = {0.5, 0.6};
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("thresholds"), InvalidInput);
    p.review->thresholds = {std::numeric_limits<double>::quiet_NaN()};
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("[0, 1]"), InvalidInput);
    p.review->kind = "triage";
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("triage"), InvalidInput);
  }
  SUBCASE("K-class parts on a binary model") {
    PipelineParts p;
    p.schema = schema4();
    McData d = make_mc(200, 3);
    for (double& v : d.y) v = v > 0.0 ? 1.0 : 0.0;
    p.model = LogisticRegression().fit(Dataset(view(d.X), d.y));
    p.classes = {"no", "yes"};
    CHECK_THROWS_WITH_AS(Pipeline{p}, doctest::Contains("model is binary"), InvalidInput);
  }
}

TEST_CASE("K-class pipeline: files that break the 1.6 rules are rejected") {
  const McFixture f;
  const std::string text = to_string(Pipeline(f.parts()));
  LoadOptions o;
  o.verify_checksum = false;  // edited on purpose; the structural checks must still catch it
  SUBCASE("classes in a 1.5 file") {
    std::string t = text;
    t.replace(t.find("\"1.6\""), 5, "\"1.5\"");
    CHECK_THROWS_WITH_AS(load_from_string(t, o), doctest::Contains("/classes"), ModelFormatError);
  }
  SUBCASE("a repeated class label") {
    std::string t = text;
    t.replace(t.find("\"denied: coding\""), 16, "\"paid\"");
    CHECK_THROWS_WITH_AS(load_from_string(t, o), doctest::Contains("/classes/1"), ModelFormatError);
  }
  SUBCASE("the checksum covers the new sections") {
    std::string t = text;
    t.replace(t.find("\"paid\""), 6, "\"PAID\"");
    CHECK_THROWS_WITH_AS(load_from_string(t), doctest::Contains("checksum"), ModelFormatError);
  }
}

TEST_CASE("golden 1.6: the K-class claims model scores bit-identically to the stored scores") {
  // tests/golden/format-1.6/README.md: written by `calibrisk train` on the claims data; the
  // scores were written by `calibrisk predict` (shortest round-trip decimal text).
  const auto dir = calibrisk::test::kGolden / "format-1.6";
  const std::string model_path = (dir / "lr_claims_temperature.json").string();
  const Pipeline pipe = load(model_path);
  CHECK(pipe.n_classes() == 6);
  CHECK(std::string(pipe.calibrator_type()) == "temperature");
  REQUIRE(pipe.review_policy() != nullptr);
  const auto rows = calibrisk::test::read_csv(dir / "rows.csv");
  const auto want = calibrisk::test::read_csv(dir / "lr_claims_temperature.scores.csv");
  REQUIRE(rows.size() == want.size());
  REQUIRE(rows.size() >= 20);
  const double t = pipe.review_policy()->thresholds[0];
  for (std::size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == static_cast<std::size_t>(pipe.n_features()));
    std::vector<double> P(6);
    pipe.predict_proba_matrix_row(rows[i].data(), P.data());
    double mx = 0.0;
    for (std::size_t k = 0; k < 6; ++k) {
      CHECK_MESSAGE(P[k] == want[i][k], "row " << i << ", class " << k);  // exact: same bits
      mx = std::max(mx, P[k]);
    }
    // want[i][6] is the route written by predict (1 = review).
    CHECK(want[i][6] == (mx >= t ? 0.0 : 1.0));
  }
  // Loading and saving again gives the same bytes.
  std::ifstream in(model_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(to_string(load_from_string(text)) == text);
}

TEST_CASE("K-class serving: hostile arguments get InvalidInput, explain_class sums to the logit") {
  const McFixture f;
  const ScoringPipeline s(Pipeline(f.parts()));
  CHECK(s.n_classes() == 3);
  std::vector<double> P(3);
  CHECK_THROWS_WITH_AS(
      s.predict_classes(RowBlock<double>::row_major(f.test.X.data(), 1, 4), nullptr),
      doctest::Contains("out is null"), InvalidInput);
  CHECK_THROWS_AS(s.predict_classes(RowBlock<double>::row_major(f.test.X.data(), 1, 3), P.data()),
                  InvalidInput);  // 3 columns for 4 features
  RowBlock<double> negative = RowBlock<double>::row_major(f.test.X.data(), 1, 4);
  negative.row_stride = -4;
  CHECK_THROWS_AS(s.predict_classes(negative, P.data()), InvalidInput);
  double inf_row[4] = {0.0, std::numeric_limits<double>::infinity(), 0.0, 0.0};
  CHECK_THROWS_AS(s.predict_classes(RowBlock<double>::row_major(inf_row, 1, 4), P.data()),
                  InvalidInput);
  std::ptrdiff_t k = -1;
  double base = 0.0;
  const std::vector<double> phi = s.explain_class(f.test.X.row(0).data(), &k, &base);
  RowMatrixXd z(1, 3);
  Pipeline(f.parts()).decision_matrix(FeatureMatrix(view(f.test.X).middle_rows(0, 1)), view_mut(z));
  double sum = base;
  for (double v : phi) sum += v;
  CHECK(sum == doctest::Approx(z(0, k)).epsilon(1e-12));
  CHECK_THROWS_AS(s.explain(f.test.X.row(0).data()), InvalidInput);  // binary-only method
}

TEST_CASE("golden 1.7: the K-class claims model with an encoding scores bit-identically") {
  // tests/golden/format-1.7/README.md: written by `calibrisk train` on the claims data with two
  // categorical features (reference-coded before the multinomial model: `encoding`), a conformal
  // review policy and the K-class monitoring reference; the scores by `calibrisk predict`.
  const auto dir = calibrisk::test::kGolden / "format-1.7";
  const std::string model_path = (dir / "lr_claims_encoding.json").string();
  std::ifstream in(model_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Pipeline pipe = load_from_string(text);
  CHECK(to_string(pipe) == text);  // loading and saving again gives the same bytes
  CHECK(text.find("\"format_version\": \"1.7\"") != std::string::npos);
  REQUIRE(!pipe.parts().expansion.empty());
  CHECK(!pipe.reference().empty());
  REQUIRE(pipe.review_policy() != nullptr);
  CHECK(pipe.review_policy()->kind == "conformal");
  const int k = pipe.n_classes();
  // rows.csv as text (the categorical features as labels), encoded in schema order.
  const RowMatrixXd X = calibrisk::test::encode_golden_rows(pipe, dir / "rows.csv");
  const auto want = calibrisk::test::read_csv(dir / "lr_claims_encoding.scores.csv");
  REQUIRE(want.size() == static_cast<std::size_t>(X.rows()));
  REQUIRE(X.rows() >= 20);
  std::vector<double> P(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < want.size(); ++i) {
    const Pipeline::RowDecision d = pipe.decide_row(X.row(static_cast<Index>(i)).data(), P.data());
    for (int c = 0; c < k; ++c) {
      CHECK_MESSAGE(P[static_cast<std::size_t>(c)] == want[i][static_cast<std::size_t>(c)],
                    "row " << i << ", class " << c);  // exact: same bits
    }
    CHECK(want[i][static_cast<std::size_t>(k)] == (d.auto_routed ? 0.0 : 1.0));
  }
}
