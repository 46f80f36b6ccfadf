// SPDX-License-Identifier: Apache-2.0
// Declared categorical features in the multinomial logistic regression of the workflow: the
// pipeline scores exactly as a multinomial model fitted by hand on the reference-coded (one-hot)
// design of the training part, built here independently (reference = most frequent level, rare
// levels pooled into "other", NaN its own indicator); unseen codes at scoring take the missing
// indicator; the format-1.7 file round-trips bit-identically; explain_class sums to the logit.
#include <doctest/doctest.h>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/workflow/train.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Numeric `a`, categorical `site` (codes 0..4: "e", "n", "s", "w" and the rare "x" on 6 rows,
// some rows missing), label from a softmax in which each site has its own, non-ordinal effect.
Table site_table(Index n) {
  Rng rng(17);
  std::vector<double> a(static_cast<std::size_t>(n)), site(a.size()), y(a.size());
  const double effect1[5] = {0.0, 1.5, -1.0, 0.8, 0.5}, effect2[5] = {0.0, -1.2, 1.4, 0.9, 0.2};
  for (Index i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    a[u] = rng.normal();
    const double r = rng.uniform();
    int s = r < 0.4 ? 1 : (r < 0.6 ? 0 : (r < 0.8 ? 2 : 3));
    if (i % 211 == 5) s = 4;
    site[u] = rng.uniform() < 0.05 ? kNaN : static_cast<double>(s);
    const double z[3] = {0.0, a[u] + (std::isnan(site[u]) ? 0.3 : effect1[s]),
                         -a[u] + (std::isnan(site[u]) ? -0.4 : effect2[s])};
    double e[3], tot = 0.0;
    for (int k = 0; k < 3; ++k) tot += (e[k] = std::exp(z[k]));
    const double q = rng.uniform() * tot;
    y[u] = q < e[0] ? 0.0 : (q < e[0] + e[1] ? 1.0 : 2.0);
  }
  Table t;
  t.add_column(Column::numeric("a", a));
  t.add_column(Column::categorical("site", site, {"e", "n", "s", "w", "x"}));
  t.add_column(Column::numeric("y", y));
  return t;
}

// The hand-built design of rows X (a, site): [a, site = each kept level except the reference,
// site = other, site = missing] with the levels of `train_site` (kept: >= 10 rows).
struct HandDesign {
  double reference = -1;
  std::vector<double> kept, pooled;
  bool missing = false;
  explicit HandDesign(const RowMatrixXd& train) {
    std::map<double, int> n;
    for (Index i = 0; i < train.rows(); ++i) {
      if (std::isnan(train(i, 1))) {
        missing = true;
      } else {
        ++n[train(i, 1)];
      }
    }
    int best = -1;
    for (const auto& [code, c] : n)
      if (c > best) best = c, reference = code;
    for (const auto& [code, c] : n) {
      if (code == reference) continue;
      (c >= 10 ? kept : pooled).push_back(code);
    }
  }
  Index width() const {
    return 1 + static_cast<Index>(kept.size()) + (pooled.empty() ? 0 : 1) + (missing ? 1 : 0);
  }
  RowMatrixXd design(const RowMatrixXd& X) const {
    RowMatrixXd D = RowMatrixXd::Zero(X.rows(), width());
    for (Index i = 0; i < X.rows(); ++i) {
      D(i, 0) = X(i, 0);
      const double s = X(i, 1);
      Index col = 1;
      for (const double k : kept) D(i, col++) = s == k ? 1.0 : 0.0;
      if (!pooled.empty()) {
        for (const double k : pooled) D(i, col) += s == k ? 1.0 : 0.0;
        ++col;
      }
      if (missing) D(i, col) = std::isnan(s) ? 1.0 : 0.0;
    }
    return D;
  }
};

}  // namespace

TEST_CASE("multiclass workflow: categorical features are one-hot coded for the multinomial LR") {
  const Table t = site_table(2400);
  TrainSpec spec;
  spec.columns.label = "y";
  spec.model = ModelKind::kLogisticRegression;
  spec.multiclass_calibration = MulticlassCalibration::kNone;
  spec.review.min_accuracy = 0.6;
  const TrainResult r = train_pipeline(t, spec);
  REQUIRE(r.n_classes == 3);
  REQUIRE(r.categorical_features == std::vector<int>{1});
  const Pipeline& pipe = *r.pipeline;
  CHECK(!pipe.parts().expansion.empty());

  // Oracle: the multinomial model fitted by hand on the hand-built design of the training part.
  const HandDesign h(r.train.X);
  CHECK(h.reference == 1.0);                    // "n", the most frequent site
  CHECK(h.pooled == std::vector<double>{4.0});  // "x": fewer than 10 training rows
  CHECK(h.missing);
  CHECK(pipe.parts().expansion.width() == h.width());  // a, e, s, w, other, missing
  LogisticRegressionParams lp = spec.lr;
  lp.categorical_features.clear();
  LogisticRegression oracle(lp);
  const RowMatrixXd Dtrain = h.design(r.train.X);
  // The workflow's LR has penalty_scale = standardized: the numeric column 0 is standardized,
  // the level indicators (columns 1...) keep the raw penalty.
  CHECK(lp.penalty_scale == PenaltyScale::kStandardized);
  oracle.fit(Dataset(FeatureMatrix(view(Dtrain)), VectorView<const double>(r.train.y)), 3, 1);

  // Test rows, plus rows with an unseen site code (9: not in the schema) and the pooled code.
  RowMatrixXd X = r.test.X;
  X.conservativeResize(X.rows() + 2, Eigen::NoChange);
  X.row(X.rows() - 2) << 0.3, 9.0;
  X.row(X.rows() - 1) << -0.7, 4.0;
  const RowMatrixXd P = pipe.predict_proba_matrix(FeatureMatrix(view(X)));
  RowMatrixXd Xh = X;
  Xh(X.rows() - 2, 1) = kNaN;  // the pipeline scores an unseen code as missing
  const RowMatrixXd D = h.design(Xh);
  RowMatrixXd Q(X.rows(), 3);
  oracle.predict_proba_matrix(FeatureMatrix(view(D)), view_mut(Q));
  for (Index i = 0; i < X.rows(); ++i) {
    for (Index k = 0; k < 3; ++k) CHECK(P(i, k) == doctest::Approx(Q(i, k)).epsilon(1e-12));
  }
  // The site effects are per level, not a slope over the codes: relative to the reference n
  // (code 1), both e (code 0) and s (code 2) lower class 1 (simulated -1.5 and -2.5), which no
  // ordinal coefficient on the codes can express.
  const LogisticRegressionState& st = oracle.state();
  const Index w = h.width();
  const auto rel = [&](int k, Index c) {
    return st.class_coef[static_cast<std::size_t>(k * w + c)] -
           st.class_coef[static_cast<std::size_t>(c)];
  };
  CHECK(rel(1, 1) < -0.5);  // site = e
  CHECK(rel(1, 2) < -0.5);  // site = s
  CHECK(rel(2, 2) > 1.0);   // site = s raises class 2 (simulated +2.6)

  // Single rows: bit-identical to the batch.
  for (Index i = 0; i < X.rows(); ++i) {
    double row[3];
    pipe.predict_proba_matrix_row(X.row(i).data(), row);
    for (Index k = 0; k < 3; ++k) CHECK(row[k] == P(i, k));
  }

  // The file: format 1.7 with the encoding (1.8: the standardized penalty), bit-identical scores
  // after loading.
  const std::string text = to_string(pipe);
  CHECK(text.find("\"format_version\": \"1.8\"") != std::string::npos);
  CHECK(text.find("\"encoding\"") != std::string::npos);
  const Pipeline back = load_from_string(text);
  const RowMatrixXd P2 = back.predict_proba_matrix(FeatureMatrix(view(X)));
  CHECK((P2.array() == P.array()).all());

  // explain_class: the features' contributions plus the baseline give the logit of the class.
  RowMatrixXd Z(X.rows(), 3);
  pipe.decision_matrix(FeatureMatrix(view(X)), view_mut(Z));
  for (Index i = 0; i < X.rows(); i += 7) {
    for (int k = 0; k < 3; ++k) {
      double out[2];
      const double base = pipe.explain_class(X.row(i).data(), k, out);
      CHECK(base + out[0] + out[1] == doctest::Approx(Z(i, k)).epsilon(1e-10));
    }
  }
}

TEST_CASE("categorical expansion: inconsistent parts and files are rejected") {
  const Table t = site_table(1200);
  TrainSpec spec;
  spec.columns.label = "y";
  spec.model = ModelKind::kLogisticRegression;
  spec.review.min_accuracy = 0.6;
  spec.lr.penalty_scale = PenaltyScale::kRaw;  // a 1.7 file (penalty_scale is 1.8)
  const TrainResult r = train_pipeline(t, spec);
  PipelineParts parts = r.pipeline->parts();
  parts.expansion.levels[0].back() = parts.expansion.reference[0];  // the reference kept
  CHECK_THROWS_WITH_AS(Pipeline{parts}, doctest::Contains("differ from the reference"),
                       InvalidInput);
  parts = r.pipeline->parts();
  parts.expansion = CategoricalExpansion{};  // the model's width no longer matches the schema
  CHECK_THROWS_AS(Pipeline{parts}, InvalidInput);
  // A 1.6 file cannot carry the encoding: stamped 1.6, the reader refuses the member.
  std::string text = to_string(*r.pipeline);
  const auto at = text.find("\"1.7\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, 5, "\"1.6\"");
  LoadOptions o;
  o.verify_checksum = false;
  CHECK_THROWS_WITH_AS(load_from_string(text, o), doctest::Contains("encoding"), ModelFormatError);
}
