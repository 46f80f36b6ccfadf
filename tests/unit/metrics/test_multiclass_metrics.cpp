// SPDX-License-Identifier: Apache-2.0
// Multiclass metrics on hand-computed cases: log loss, Brier, top-label and classwise ECE,
// confusion matrix, per-class scores, bootstrap determinism.
#include <doctest/doctest.h>
#include <calibrisk/metrics/multiclass.hpp>

#include <cmath>
#include <string>
#include <vector>

using calibrisk::Index;
using calibrisk::MatrixView;
using V = std::vector<double>;
namespace cm = calibrisk::metrics;

namespace {
MatrixView<const double> mat(const V& v, Index k) {
  return MatrixView<const double>::row_major(v.data(), static_cast<Index>(v.size()) / k, k);
}
const V kP = {0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.05, 0.9, 0.05, 0.3, 0.3, 0.4};
const V kY = {0, 1, 1, 2};
}  // namespace

TEST_CASE("multiclass metrics: log loss and Brier by hand") {
  // -(ln 0.7 + ln 0.3 + ln 0.9 + ln 0.4) / 4
  const double ll = -(std::log(0.7) + std::log(0.3) + std::log(0.9) + std::log(0.4)) / 4;
  CHECK(cm::multiclass_log_loss(kY, mat(kP, 3)) == doctest::Approx(ll).epsilon(1e-15));
  // rows: 0.09+0.04+0.01, 0.36+0.49+0.01, 0.0025+0.01+0.0025, 0.09+0.09+0.36
  const double brier = (0.14 + 0.86 + 0.015 + 0.54) / 4;
  CHECK(cm::multiclass_brier_score(kY, mat(kP, 3)) == doctest::Approx(brier).epsilon(1e-14));
}

TEST_CASE("multiclass metrics: top-label ECE by hand") {
  // confidences 0.7 (right), 0.6 (wrong), 0.9 (right), 0.4 (right): (0.3 + 0.6 + 0.1 + 0.6) / 4
  CHECK(cm::top_label_ece(kY, mat(kP, 3)) == doctest::Approx(0.4).epsilon(1e-14));
}

TEST_CASE("multiclass metrics: classwise ECE by hand (two classes, five bins)") {
  const V P = {0.8, 0.2, 0.2, 0.8, 0.2, 0.8, 0.6, 0.4};
  const V y = {0, 1, 0, 1};
  cm::CalibrationBinning b;
  b.n_bins = 5;
  CHECK(cm::classwise_ece(y, mat(P, 2), {}, b) == doctest::Approx(0.35).epsilon(1e-14));
}

TEST_CASE("multiclass metrics: confusion matrix and per-class scores, weighted") {
  const V yt = {0, 0, 1, 2, 2, 2};
  const V yp = {0, 1, 1, 2, 0, 2};
  const V w = {1, 2, 1, 1, 3, 1};
  const Eigen::MatrixXd c = cm::confusion_matrix(yt, yp, 3, w);
  CHECK(c(0, 0) == 1);
  CHECK(c(0, 1) == 2);
  CHECK(c(2, 0) == 3);
  CHECK(c(2, 2) == 2);
  CHECK(c.sum() == 9);
  const auto s = cm::per_class_scores(yt, yp, 3, w);
  CHECK(s[0].precision == doctest::Approx(1.0 / 4.0));  // tp 1, fp 3
  CHECK(s[0].recall == doctest::Approx(1.0 / 3.0));     // tp 1, fn 2
  CHECK(s[1].f1 == doctest::Approx(2.0 / 4.0));         // 2 tp / (2 tp + fp + fn) = 2 / 4
  CHECK(s[2].support == 5);
  CHECK(s[0].precision_ci.lower < s[0].precision);
  CHECK(s[0].precision_ci.upper > s[0].precision);
  CHECK_THROWS_WITH_AS(cm::confusion_matrix(yt, V{0, 1, 1, 2, 3, 2}, 3),
                       doctest::Contains("labels must be class indices 0..2"),
                       calibrisk::InvalidInput);
}

TEST_CASE("multiclass metrics: bootstrap is the same for 1 and 2 threads") {
  V P, y;
  for (int i = 0; i < 60; ++i) {
    P.insert(P.end(), kP.begin() + 3 * (i % 4), kP.begin() + 3 * (i % 4) + 3);
    y.push_back(kY[i % 4] == 2 && i % 3 == 0 ? 0 : kY[i % 4]);
  }
  cm::BootstrapParams p;
  p.n_replicates = 50;
  p.n_threads = 1;
  const auto a = cm::multiclass_bootstrap(y, mat(P, 3), {"classwise_ece", "f1_2"}, p);
  p.n_threads = 2;
  const auto b = cm::multiclass_bootstrap(y, mat(P, 3), {"classwise_ece", "f1_2"}, p);
  for (std::size_t j = 0; j < a.size(); ++j) {
    for (std::size_t r = 0; r < a[j].replicates.size(); ++r) {
      const double x = a[j].replicates[r], z = b[j].replicates[r];
      CHECK(((std::isnan(x) && std::isnan(z)) || x == z));
    }
  }
  CHECK(a[0].point == doctest::Approx(cm::classwise_ece(y, mat(P, 3))).epsilon(1e-15));
  CHECK_THROWS_AS(cm::multiclass_bootstrap(y, mat(P, 3), {"f1_3"}, p), calibrisk::InvalidParams);
}
