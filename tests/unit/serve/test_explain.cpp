// SPDX-License-Identifier: Apache-2.0
// Explanations on the calibrated log-odds scale (Pipeline::explain, ScoringPipeline::explain):
// every row's contributions plus the baseline give logit(risk) for every model and calibrator;
// Platt is checked by hand (a * phi, a * phi_0 + b); logistic regression against
// coef * (x - training mean) computed here from the training rows; the margin scale against
// TreeExplainer (itself checked against brute-force Shapley sums in tests/unit/trees).
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/serve.hpp>
#include <calibrisk/trees/explain.hpp>

#include <doctest/doctest.h>

#include "unit/artifact/fixtures.hpp"

#include <cmath>
#include <limits>
#include <vector>

using namespace calibrisk;
using calibrisk::test::CalKind;
using calibrisk::test::ModelKind;

namespace {

const test::ArtifactData& data() {
  static const test::ArtifactData d = test::make_artifact_data(600, 11);
  return d;
}

/// logit(p) computed from the pipeline's own probability (the oracle of the calibrated scale),
/// with the documented clipping of probabilities 0 and 1.
double logit_of(double p) {
  p = std::min(std::max(p, 1e-12), 1.0 - 1e-12);
  return std::log(p) - std::log1p(-p);
}

RowMatrixXd explain_all(const Pipeline& pipe, const RowMatrixXd& X, ExplainScale s, double& base) {
  RowMatrixXd phi(X.rows(), X.cols());
  base = pipe.explain(FeatureMatrix(view(X)), view_mut(phi), s);
  return phi;
}

/// A pipeline whose isotonic calibrator reads the model's margin (the fixtures feed it
/// probabilities).
Pipeline isotonic_on_margin(const test::ArtifactData& d, ModelKind mk) {
  const Pipeline base = test::make_pipeline(d, mk, CalKind::kNone);
  const Index n = d.X.rows(), n_fit = n * 7 / 10;
  const auto X_cal = view(d.X).middle_rows(n_fit, n - n_fit);
  const Eigen::VectorXd m = base.decision_function(FeatureMatrix(X_cal));
  IsotonicCalibrator c;
  c.fit(VectorView<const double>(m), VectorView<const double>(d.y.data() + n_fit, n - n_fit));
  PipelineParts parts = base.parts();
  parts.calibrator = std::move(c);
  parts.calibrator_input = CalibratorInput::kMargin;
  return Pipeline(std::move(parts));
}

}  // namespace

TEST_CASE("explain: contributions plus the baseline give logit(risk) for every calibrator") {
  const auto& d = data();
  const RowMatrixXd X = d.X.topRows(200);
  for (const ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    std::vector<std::pair<std::string, Pipeline>> pipes;
    for (const CalKind ck : {CalKind::kNone, CalKind::kPlattMargin, CalKind::kPlattProba,
                             CalKind::kIsotonic, CalKind::kBeta}) {
      pipes.emplace_back(test::cal_name(ck), test::make_pipeline(d, mk, ck));
    }
    pipes.emplace_back("isotonic on the margin", isotonic_on_margin(d, mk));
    for (const auto& [name, pipe] : pipes) {
      INFO(pipe.model_type() << " + " << name);
      double base = 0.0;
      const RowMatrixXd phi = explain_all(pipe, X, ExplainScale::kCalibrated, base);
      const Eigen::VectorXd p = pipe.predict_proba(FeatureMatrix(view(X)));
      CHECK(base == pipe.explain_baseline(ExplainScale::kCalibrated));
      for (Index i = 0; i < X.rows(); ++i) {
        CHECK(std::abs(base + phi.row(i).sum() - logit_of(p[i])) <= 1e-9);
      }
      // The margin scale adds up to the model's margin.
      const RowMatrixXd mphi = explain_all(pipe, X, ExplainScale::kMargin, base);
      const Eigen::VectorXd m = pipe.decision_function(FeatureMatrix(view(X)));
      for (Index i = 0; i < X.rows(); ++i) {
        CHECK(std::abs(base + mphi.row(i).sum() - m[i]) <= 1e-9);
      }
      // Monotone calibrators keep each contribution's sign (one non-negative factor per row),
      // except on the documented fallback (sum of margin contributions ~0, not hit here).
      for (Index i = 0; i < X.rows(); ++i) {
        for (Index j = 0; j < X.cols(); ++j) CHECK(phi(i, j) * mphi(i, j) >= 0.0);
      }
    }
  }
}

TEST_CASE("explain: Platt on the margin maps the margin contributions exactly (by hand)") {
  const auto& d = data();
  const RowMatrixXd X = d.X.topRows(50);
  for (const ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    const Pipeline pipe = test::make_pipeline(d, mk, CalKind::kPlattMargin);
    const auto& platt = std::get<PlattCalibrator>(pipe.calibrator());
    const double a = platt.a(), b = platt.b();
    double mbase = 0.0, cbase = 0.0;
    const RowMatrixXd mphi = explain_all(pipe, X, ExplainScale::kMargin, mbase);
    const RowMatrixXd cphi = explain_all(pipe, X, ExplainScale::kCalibrated, cbase);
    CHECK(cbase == a * mbase + b);
    for (Index i = 0; i < X.rows(); ++i) {
      for (Index j = 0; j < X.cols(); ++j) CHECK(cphi(i, j) == a * mphi(i, j));
      // a * margin + b is the calibrated log-odds the Platt calibrator applies.
      const double m = pipe.decision_function_row(&X(i, 0));
      CHECK(pipe.calibrated_log_odds(m) == a * m + b);
    }
  }
}

TEST_CASE("explain: logistic regression is coef * (x - training mean), computed from the data") {
  const auto& d = data();
  const Pipeline pipe = test::make_pipeline(d, ModelKind::kLR, CalKind::kNone);
  const auto& lr = std::get<LogisticRegression>(pipe.model());
  const Index n_fit = d.X.rows() * 7 / 10, p = d.X.cols();
  // Training means of the observed values and the missing rate of feature 1 (the fixture's
  // indicator), from the training rows themselves.
  std::vector<double> mean(static_cast<std::size_t>(p), 0.0), count(mean.size(), 0.0);
  double missing = 0.0;
  for (Index i = 0; i < n_fit; ++i) {
    for (Index j = 0; j < p; ++j) {
      if (std::isnan(d.X(i, j))) {
        missing += j == 1;
        continue;
      }
      mean[static_cast<std::size_t>(j)] += d.X(i, j);
      count[static_cast<std::size_t>(j)] += 1.0;
    }
  }
  for (std::size_t j = 0; j < mean.size(); ++j) mean[j] /= count[j];
  const double miss_rate = missing / static_cast<double>(n_fit);
  REQUIRE(lr.coef().size() == static_cast<std::size_t>(p + 1));  // one indicator, feature 1
  double base = 0.0;
  const RowMatrixXd phi = explain_all(pipe, d.X, ExplainScale::kCalibrated, base);
  double expected_base = lr.intercept() + lr.coef()[static_cast<std::size_t>(p)] * miss_rate;
  for (Index j = 0; j < p; ++j) {
    expected_base += lr.coef()[static_cast<std::size_t>(j)] * mean[static_cast<std::size_t>(j)];
  }
  CHECK(base == doctest::Approx(expected_base).epsilon(1e-12));
  for (Index i = 0; i < d.X.rows(); ++i) {
    for (Index j = 0; j < p; ++j) {
      const auto u = static_cast<std::size_t>(j);
      const double x = std::isnan(d.X(i, j)) ? mean[u] : d.X(i, j);
      double want = lr.coef()[u] * (x - mean[u]);
      if (j == 1) {
        want += lr.coef()[static_cast<std::size_t>(p)] *
                ((std::isnan(d.X(i, j)) ? 1.0 : 0.0) - miss_rate);
      }
      CHECK(phi(i, j) == doctest::Approx(want).epsilon(1e-12).scale(1.0));
    }
  }
}

TEST_CASE("explain: trees on the margin scale are the TreeExplainer's TreeSHAP values") {
  const auto& d = data();
  const Pipeline pipe = test::make_pipeline(d, ModelKind::kGBDT, CalKind::kIsotonic);
  const TreeExplainer ex(std::get<GradientBoostedTrees>(pipe.model()).ensemble());
  const RowMatrixXd X = d.X.topRows(40);
  RowMatrixXd full(X.rows(), X.cols() + 1);
  ex.contributions(FeatureMatrix(view(X)), view_mut(full));
  double base = 0.0;
  const RowMatrixXd phi = explain_all(pipe, X, ExplainScale::kMargin, base);
  CHECK(base == ex.bias());
  CHECK(phi == full.leftCols(X.cols()));
  CHECK(pipe.explain_baseline(ExplainScale::kCalibrated) == pipe.calibrated_log_odds(ex.bias()));
}

TEST_CASE("explain: an unseen category is explained as missing, as it is scored") {
  const auto& d = data();
  for (const ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    const Pipeline pipe = test::make_pipeline(d, mk, CalKind::kBeta);
    RowMatrixXd X = d.X.topRows(2);
    X(0, 3) = 17.0;  // admission_source: declared categorical, code 17 never seen
    X(1, 3) = std::numeric_limits<double>::quiet_NaN();
    X.row(1).head(3) = X.row(0).head(3);
    X(1, 4) = X(0, 4);
    double base = 0.0;
    const RowMatrixXd phi = explain_all(pipe, X, ExplainScale::kCalibrated, base);
    CHECK(phi.row(0) == phi.row(1));
    CHECK(std::abs(base + phi.row(0).sum() - logit_of(pipe.predict_proba_row(&X(0, 0)))) <= 1e-9);
  }
}

TEST_CASE("explain: a row whose margin contributions cancel falls back to shares of |phi|") {
  const auto& d = data();
  const Pipeline pipe = test::make_pipeline(d, ModelKind::kLR, CalKind::kIsotonic);
  const auto& st = std::get<LogisticRegression>(pipe.model()).state();
  // Every feature at its reference except features 0 and 2, which move the margin by +t and -t.
  RowMatrixXd X(1, d.X.cols());
  for (Index j = 0; j < X.cols(); ++j) X(0, j) = st.impute_values[static_cast<std::size_t>(j)];
  X(0, 1) = 0.25;  // observed (the indicator term is then coef * (0 - rate), cancelled below)
  double mbase = 0.0;
  const RowMatrixXd m0 = explain_all(pipe, X, ExplainScale::kMargin, mbase);
  const double t = 2.0;
  X(0, 0) = st.impute_values[0] + (t - m0(0, 1)) / st.coef[0];
  X(0, 2) = st.impute_values[2] - t / st.coef[2];
  const RowMatrixXd mphi = explain_all(pipe, X, ExplainScale::kMargin, mbase);
  REQUIRE(std::abs(mphi.row(0).sum()) < 1e-9);
  double base = 0.0;
  const RowMatrixXd phi = explain_all(pipe, X, ExplainScale::kCalibrated, base);
  const double target = logit_of(pipe.predict_proba_row(&X(0, 0))) - base;
  CHECK(std::abs(phi.row(0).sum() - target) <= 1e-12);
  const double abs_sum = mphi.row(0).cwiseAbs().sum();
  for (Index j = 0; j < X.cols(); ++j) {
    CHECK(phi(0, j) == doctest::Approx(target * std::abs(mphi(0, j)) / abs_sum).scale(1.0));
  }
}

TEST_CASE("explain: mean |contribution| is the mean of the explained matrix's absolute values") {
  const auto& d = data();
  for (const ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    const Pipeline pipe = test::make_pipeline(d, mk, CalKind::kIsotonic);
    double base = 0.0;
    const RowMatrixXd phi = explain_all(pipe, d.X, ExplainScale::kCalibrated, base);
    const std::vector<double> imp = pipe.mean_abs_contributions(FeatureMatrix(view(d.X)));
    REQUIRE(imp.size() == static_cast<std::size_t>(d.X.cols()));
    for (Index j = 0; j < d.X.cols(); ++j) {
      CHECK(imp[static_cast<std::size_t>(j)] ==
            doctest::Approx(phi.col(j).cwiseAbs().mean()).epsilon(1e-12));
    }
    const RowMatrixXd none(0, d.X.cols());
    CHECK(pipe.mean_abs_contributions(FeatureMatrix(view(none))) ==
          std::vector<double>(static_cast<std::size_t>(d.X.cols()), 0.0));
  }
}

TEST_CASE("explain: ScoringPipeline gives the Pipeline's numbers, row and batch") {
  const auto& d = data();
  const Index p = d.X.cols();
  for (const ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    const Pipeline pipe = test::make_pipeline(d, mk, CalKind::kBeta);
    const ScoringPipeline model(pipe);
    for (const ExplainScale s : {ExplainScale::kCalibrated, ExplainScale::kMargin}) {
      double base = 0.0;
      const RowMatrixXd phi = explain_all(pipe, d.X.topRows(30), s, base);
      CHECK(model.explain_baseline(s) == base);
      std::vector<double> all(static_cast<std::size_t>(30 * p));
      model.explain(RowBlock<double>::row_major(d.X.data(), 30, p), all.data(), s);
      for (Index i = 0; i < 30; ++i) {
        const std::vector<double> row = model.explain(d.X.data() + i * p, s);
        for (Index j = 0; j < p; ++j) {
          CHECK(row[static_cast<std::size_t>(j)] == phi(i, j));
          CHECK(all[static_cast<std::size_t>(i * p + j)] == phi(i, j));
        }
      }
    }
    // The default is the calibrated scale.
    CHECK(model.explain(d.X.data()) == model.explain(d.X.data(), ExplainScale::kCalibrated));
  }
}

TEST_CASE("explain: bad arguments are refused with a message") {
  const auto& d = data();
  const Pipeline pipe = test::make_pipeline(d, ModelKind::kGBDT, CalKind::kPlattMargin);
  const RowMatrixXd X = d.X.topRows(3);
  RowMatrixXd narrow(3, X.cols() - 1);
  CHECK_THROWS_WITH_AS(pipe.explain(FeatureMatrix(view(X)), view_mut(narrow)),
                       doctest::Contains("columns but one per feature"), InvalidInput);
  RowMatrixXd out(3, X.cols());
  CHECK_THROWS_WITH_AS(pipe.explain(FeatureMatrix(view(narrow)), view_mut(out)),
                       doctest::Contains("pipeline expects"), InvalidInput);
  RowMatrixXd bad = X;
  bad(1, 2) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(pipe.explain(FeatureMatrix(view(bad)), view_mut(out)), InvalidInput);
  CHECK_THROWS_WITH_AS(parse_explain_scale("probability", "--explain-scale"),
                       doctest::Contains("\"calibrated\""), InvalidInput);
  CHECK(parse_explain_scale("margin", "x") == ExplainScale::kMargin);
}

TEST_CASE("explain: top_contributions orders by |value|, ties by index, NaN last") {
  const double phi[] = {0.5, -2.0, 0.0, 2.0, std::nan(""), -0.7};
  std::ptrdiff_t idx[6] = {};
  REQUIRE(top_contributions(phi, 6, 3, idx) == 3);
  CHECK(idx[0] == 1);
  CHECK(idx[1] == 3);
  CHECK(idx[2] == 5);
  REQUIRE(top_contributions(phi, 6, 10, idx) == 6);
  const std::ptrdiff_t want[] = {1, 3, 5, 0, 2, 4};
  for (int r = 0; r < 6; ++r) CHECK(idx[r] == want[r]);
  CHECK(top_contributions(phi, 6, 0, idx) == 0);
}
