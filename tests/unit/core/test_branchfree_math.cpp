// SPDX-License-Identifier: Apache-2.0
// The branch-free exp and log1p of the logistic solver's loss (src/core/branchfree_math.hpp)
// against the C library's (the oracle): within 2 ulp over their whole domains, exact at the
// points where the true value is exact, and the clamp / subnormal ends handled.
#include <doctest/doctest.h>

#include "core/branchfree_math.hpp"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

using calibrisk::detail::exp_nonpositive;
using calibrisk::detail::log1p_unit;
using calibrisk::detail::pick;

namespace {

// Distance in units in the last place between two finite doubles of the same sign.
std::int64_t ulps(double a, double b) {
  const auto ia = static_cast<std::int64_t>(calibrisk::detail::to_bits(a));
  const auto ib = static_cast<std::int64_t>(calibrisk::detail::to_bits(b));
  return ia > ib ? ia - ib : ib - ia;
}

}  // namespace

TEST_CASE("branch-free math: pick selects by mask, both signs of zero and NaN kept") {
  CHECK(pick(true, 1.5, -2.0) == 1.5);
  CHECK(pick(false, 1.5, -2.0) == -2.0);
  CHECK(std::signbit(pick(true, -0.0, 0.0)));
  CHECK(std::isnan(pick(false, 1.0, std::nan(""))));
}

TEST_CASE("branch-free math: exp_nonpositive is within 2 ulp of std::exp on [-745, 0]") {
  CHECK(exp_nonpositive(0.0) == 1.0);
  CHECK(exp_nonpositive(-0.0) == 1.0);
  CHECK(exp_nonpositive(-std::log(2.0)) == doctest::Approx(0.5).epsilon(1e-16));
  std::int64_t worst = 0;
  double at = 0.0;
  // 2^21 points spread over the domain, plus a dense run near 0 where r is tiny.
  const int n = 1 << 21;
  for (int i = 0; i <= n; ++i) {
    const double x = -745.0 * static_cast<double>(i) / n;
    const double want = std::exp(x);
    const double got = exp_nonpositive(x);
    if (want < std::numeric_limits<double>::min()) {
      // Subnormal results: at most one subnormal step apart (their ulp is absolute).
      CHECK(std::abs(got - want) <= 2 * std::numeric_limits<double>::denorm_min());
      continue;
    }
    const std::int64_t u = ulps(got, want);
    if (u > worst) worst = u, at = x;
  }
  for (int i = 1; i <= 100000; ++i) {
    const double x = -1e-12 * i;
    const std::int64_t u = ulps(exp_nonpositive(x), std::exp(x));
    if (u > worst) worst = u, at = x;
  }
  CAPTURE(at);
  CHECK(worst <= 2);
  // Below the clamp exp underflows: the smallest subnormal or zero, never garbage or NaN.
  for (double x : {-745.0, -745.2, -800.0, -1e6, -std::numeric_limits<double>::max(),
                   -std::numeric_limits<double>::infinity()}) {
    CAPTURE(x);
    const double got = exp_nonpositive(x);
    CHECK(got >= 0.0);
    CHECK(got <= std::numeric_limits<double>::denorm_min());
  }
}

TEST_CASE("branch-free math: log1p_unit is within 2 ulp of std::log1p on [0, 1]") {
  CHECK(log1p_unit(0.0) == 0.0);
  CHECK(log1p_unit(1.0) == doctest::Approx(std::log(2.0)).epsilon(1e-16));
  std::int64_t worst = 0;
  double at = 0.0;
  const int n = 1 << 21;
  auto check = [&](double x) {
    const std::int64_t u = ulps(log1p_unit(x), std::log1p(x));
    if (u > worst) worst = u, at = x;
  };
  for (int i = 1; i <= n; ++i) check(static_cast<double>(i) / n);
  // Tiny arguments (log1p(x) ~ x) and both sides of the two branch points, sqrt(2) - 1 for x and
  // sqrt(2) for 1 + x, where the formula changes.
  for (double x = 1e-300; x < 1e-3; x *= 1.37) check(x);
  for (double c : {std::sqrt(2.0) - 1.0, 0.41421353816986084, 0.41421356237309503}) {
    double x = c;
    for (int i = 0; i < 64; ++i) x = std::nextafter(x, 0.0);
    for (int i = 0; i < 128; ++i, x = std::nextafter(x, 1.0)) check(x);
  }
  CAPTURE(at);
  CHECK(worst <= 2);
}
