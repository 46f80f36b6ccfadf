// SPDX-License-Identifier: Apache-2.0
// The shared stable logistic helpers: finite for every finite or infinite argument, NaN kept.
#include <doctest/doctest.h>
#include <calibrisk/core/math.hpp>

#include <cmath>
#include <initializer_list>
#include <limits>

using namespace calibrisk;

TEST_CASE("math: sigmoid, softplus and log_sigmoid never overflow and keep NaN visible") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(sigmoid(0.0) == 0.5);
  CHECK(sigmoid(1000.0) == 1.0);  // 1 / (1 + exp(1000)) would give 0 / inf issues unguarded
  CHECK(sigmoid(-1000.0) == 0.0);
  CHECK(sigmoid(inf) == 1.0);
  CHECK(sigmoid(-inf) == 0.0);
  CHECK(sigmoid(-745.0) > 0.0);  // exp(-745) is the smallest subnormal, not flushed to 0 / inf
  CHECK(std::isnan(sigmoid(std::nan(""))));
  // Oracle: the textbook formulas where they are exact enough.
  for (double z : {-30.0, -3.0, -0.5, 0.25, 2.0, 30.0}) {
    CAPTURE(z);
    CHECK(sigmoid(z) == doctest::Approx(1.0 / (1.0 + std::exp(-z))).epsilon(1e-15));
    CHECK(softplus(z) == doctest::Approx(std::log(1.0 + std::exp(z))).epsilon(1e-14));
    CHECK(log_sigmoid(z) == doctest::Approx(std::log(1.0 / (1.0 + std::exp(-z)))).epsilon(1e-14));
  }
  CHECK(softplus(1000.0) == 1000.0);
  CHECK(softplus(-1000.0) == 0.0);
  CHECK(log_sigmoid(-1000.0) == -1000.0);
  CHECK(std::isfinite(log_sigmoid(1000.0)));
}
