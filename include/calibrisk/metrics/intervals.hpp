// SPDX-License-Identifier: Apache-2.0
/// @file intervals.hpp
/// Confidence intervals for a binomial proportion (Wilson score; Clopper-Pearson exact) and the
/// normal quantiles they need, computed with Boost.Math under an explicit per-call policy (compiled
/// in the library, so Boost stays out of this header).
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace calibrisk::metrics {

/// A two-sided interval [lower, upper] for a proportion.
struct ProportionInterval {
  double lower = 0.0;
  double upper = 1.0;
};

namespace detail {

inline void check_confidence(double confidence, const std::string& where) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw InvalidParams(where + ": confidence must be in (0, 1), got " +
                        calibrisk::detail::fmt_value(confidence) + "; use e.g. 0.95.");
  }
}

inline void check_counts(double successes, double n, const std::string& where) {
  if (!(n >= 0.0) || !(successes >= 0.0) || successes > n * (1.0 + 1e-12) || !std::isfinite(n)) {
    throw InvalidInput(where + ": need 0 <= successes <= n, got successes = " +
                       calibrisk::detail::fmt_value(successes) +
                       ", n = " + calibrisk::detail::fmt_value(n) + ".");
  }
}

}  // namespace detail

/// Standard normal quantile Phi^-1(q), q in (0, 1) (Boost.Math, per-call policy).
double normal_quantile(double q);

/// Two-sided p-value 2 * (1 - Phi(|z|)) of a standard normal statistic (Boost.Math complement,
/// accurate far in the tail).
double normal_two_sided_p(double z);

/// Wilson score interval (Wilson 1927) for `successes` out of `n` trials at `confidence`.
///
/// Same formula as statsmodels' `proportion_confint(method="wilson")`. Counts may be non-integer
/// (weighted data: pass the effective sample size and p-hat * n). n == 0 gives [0, 1].
/// Throws InvalidParams for confidence outside (0, 1), InvalidInput for successes outside [0, n].
ProportionInterval wilson_interval(double successes, double n, double confidence = 0.95);

/// Clopper-Pearson "exact" interval (Clopper & Pearson 1934) from beta quantiles:
/// lower = B^-1(alpha/2; x, n - x + 1) (0 when x = 0), upper = B^-1(1 - alpha/2; x + 1, n - x)
/// (1 when x = n). Same as statsmodels' `proportion_confint(method="beta")`. Boost.Math
/// `ibeta_inv` with a per-call policy; real-valued counts are accepted (weighted data).
ProportionInterval clopper_pearson_interval(double successes, double n, double confidence = 0.95);

/// Kish's effective sample size (sum w)^2 / sum w^2: the n that weighted intervals use.
inline double effective_sample_size(double sum_w, double sum_w2) noexcept {
  return sum_w2 > 0.0 ? sum_w * sum_w / sum_w2 : 0.0;
}

}  // namespace calibrisk::metrics
