// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the review-queue sources (src/threshold/review*.cpp): weighted proportion
// intervals and the checks of options and inputs. Internal.
#pragma once

#include <calibrisk/threshold/review.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

namespace calibrisk::detail::review {

/// Clopper-Pearson and Wilson intervals of num / den with weights: Kish's effective n from the sum
/// of squared weights `sq`, p-hat * n_eff successes (unweighted: exactly the counts), as the binary
/// operating point does. den <= 0 gives [0, 1].
struct Intervals {
  metrics::ProportionInterval cp, wilson;
};
inline Intervals intervals(double num, double den, double sq, double confidence) {
  if (!(den > 0.0)) return {};
  const double neff = metrics::effective_sample_size(den, sq);
  const double x = std::clamp(num / den * neff, 0.0, neff);
  return {metrics::clopper_pearson_interval(x, neff, confidence),
          metrics::wilson_interval(x, neff, confidence)};
}

/// Lower Clopper-Pearson bound alone (the conservative measure).
inline double cp_lower(double num, double den, double sq, double confidence) {
  if (!(den > 0.0)) return 0.0;
  const double neff = metrics::effective_sample_size(den, sq);
  const double x = std::clamp(num / den * neff, 0.0, neff);
  return metrics::clopper_pearson_interval(x, neff, confidence).lower;
}

inline void check_unit(const std::optional<double>& v, const char* name, const std::string& where) {
  if (v && !(*v >= 0.0 && *v <= 1.0)) {
    throw InvalidParams(where + ": " + name + " must be in [0, 1], got " + fmt_value(*v) + ".");
  }
}

inline std::string fmt(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

inline std::string percent(double level) { return fmt(std::round(level * 1e4) / 100.0) + "%"; }

/// Sample weights: empty or one finite value >= 0 per row, not all zero.
inline void check_weights(VectorView<const double> w, Index n, const std::string& where) {
  validate_sample_weight(w, n, where);
}

inline double weight_of(VectorView<const double> w, Index i) { return w.empty() ? 1.0 : w[i]; }

}  // namespace calibrisk::detail::review
