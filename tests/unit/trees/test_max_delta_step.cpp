// SPDX-License-Identifier: Apache-2.0
// GBDTParams::max_delta_step (XGBoost's): each leaf's raw Newton step -G / (H + lambda) is clamped
// to [-max_delta_step, +max_delta_step] before shrinkage; 0 = no clamp. Oracle: hand-computed
// gradient sums of a one-split tree.
#include <doctest/doctest.h>

#include <calibrisk/trees/booster.hpp>

#include <vector>

using namespace calibrisk;

namespace {

// Four rows, x = {0, 0, 1, 1}, y = {0, 0, 1, 1}: the base score is log(2 / 2) = 0, so p = 1/2 for
// every row, g = p - y = +1/2 (y = 0) or -1/2 (y = 1), h = p (1 - p) = 1/4. The one split x <= 0
// gives leaves with G = +1 / -1 and H = 1/2: raw Newton steps -G / H = -2 and +2.
struct Tiny {
  std::vector<double> X{0, 0, 1, 1};
  std::vector<double> y{0, 0, 1, 1};
  Dataset data() const {
    return Dataset(MatrixView<const double>::row_major(X.data(), 4, 1),
                   VectorView<const double>(y.data(), 4));
  }
};

GBDTParams one_split(double max_delta_step) {
  GBDTParams p;
  p.n_estimators = 1;
  p.learning_rate = 0.5;
  p.max_leaf_nodes = 2;
  p.min_samples_leaf = 1;
  p.max_delta_step = max_delta_step;
  return p;
}

std::vector<double> margins(const GradientBoostedTrees& m, const Tiny& t) {
  const Eigen::VectorXd d =
      m.decision_function(MatrixView<const double>::row_major(t.X.data(), 4, 1));
  return {d[0], d[1], d[2], d[3]};
}

}  // namespace

TEST_CASE("max_delta_step: 0 (the default) leaves the Newton step unclamped") {
  CHECK(GBDTParams{}.max_delta_step == 0.0);
  const Tiny t;
  GradientBoostedTrees m(one_split(0.0));
  m.fit(t.data());
  CHECK(m.ensemble().base_score == 0.0);
  // learning_rate 0.5 x raw step -/+2.
  CHECK(margins(m, t) == std::vector<double>{-1.0, -1.0, 1.0, 1.0});
}

TEST_CASE("max_delta_step: each leaf's step is clamped before shrinkage") {
  const Tiny t;
  GradientBoostedTrees m(one_split(0.5));
  m.fit(t.data());
  // clamp(-/+2, -0.5, 0.5) = -/+0.5, times learning_rate 0.5.
  CHECK(margins(m, t) == std::vector<double>{-0.25, -0.25, 0.25, 0.25});
  // A bound wider than the step changes nothing.
  GradientBoostedTrees wide(one_split(3.0));
  wide.fit(t.data());
  CHECK(margins(wide, t) == std::vector<double>{-1.0, -1.0, 1.0, 1.0});
}

TEST_CASE("max_delta_step: negative or non-finite values are rejected by name") {
  GBDTParams p;
  p.max_delta_step = -1.0;
  CHECK_THROWS_WITH_AS(p.validate(),
                       doctest::Contains("GBDTParams.max_delta_step must be finite and >= 0 (0 = "
                                         "no clamp), got -1"),
                       InvalidParams);
  p.max_delta_step = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(p.validate(), InvalidParams);
}
