// SPDX-License-Identifier: Apache-2.0
// Normal quantiles and binomial proportion intervals with Boost.Math (declared in
// metrics/intervals.hpp; Boost stays inside the library).
#include <calibrisk/metrics/intervals.hpp>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/beta.hpp>

#include <algorithm>
#include <cmath>

namespace calibrisk::metrics {

namespace detail {
/// Boost.Math policy passed on every call: report domain/overflow problems by throwing (we convert
/// them to our own messages) and never promote double to long double (same numbers everywhere).
using MathPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::throw_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::throw_on_error>,
    boost::math::policies::promote_double<false>>;

}  // namespace detail

double normal_quantile(double q) {
  return boost::math::quantile(boost::math::normal_distribution<double, detail::MathPolicy>(), q);
}

double normal_two_sided_p(double z) {
  const boost::math::normal_distribution<double, detail::MathPolicy> nd;
  return 2.0 * boost::math::cdf(boost::math::complement(nd, std::fabs(z)));
}

ProportionInterval wilson_interval(double successes, double n, double confidence) {
  detail::check_confidence(confidence, "wilson_interval");
  detail::check_counts(successes, n, "wilson_interval");
  if (n <= 0.0) return {0.0, 1.0};
  const double z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
  const double z2 = z * z;
  const double phat = std::min(1.0, successes / n);
  const double denom = 1.0 + z2 / n;
  const double center = (phat + z2 / (2.0 * n)) / denom;
  const double half = z * std::sqrt(phat * (1.0 - phat) / n + z2 / (4.0 * n * n)) / denom;
  // The Wilson interval is the set of p with |phat - p| <= z sqrt(p (1 - p) / n), so it always
  // holds phat (and reaches 0 or 1 exactly when phat does); rounding of center +- half can miss
  // by 1 ulp, e.g. an upper bound of 1 - 1e-16 for phat = 1.
  return {std::max(0.0, std::min(phat, center - half)),
          std::min(1.0, std::max(phat, center + half))};
}

ProportionInterval clopper_pearson_interval(double successes, double n, double confidence) {
  detail::check_confidence(confidence, "clopper_pearson_interval");
  detail::check_counts(successes, n, "clopper_pearson_interval");
  if (n <= 0.0) return {0.0, 1.0};
  const double x = std::min(successes, n);
  const double alpha = 1.0 - confidence;
  ProportionInterval r;
  r.lower =
      x <= 0.0 ? 0.0 : boost::math::ibeta_inv(x, n - x + 1.0, alpha / 2.0, detail::MathPolicy());
  r.upper = x >= n
                ? 1.0
                : boost::math::ibeta_inv(x + 1.0, n - x, 1.0 - alpha / 2.0, detail::MathPolicy());
  return r;
}

}  // namespace calibrisk::metrics
