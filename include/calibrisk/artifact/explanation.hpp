// SPDX-License-Identifier: Apache-2.0
/// @file explanation.hpp
/// The scale of per-feature explanations and the top-K selection shared by every explain surface
/// (`Pipeline::explain`, `ScoringPipeline::explain`, `calibrisk predict --explain`, the scoring
/// service's `explain=K`, Python `Pipeline.explain`). Standard library only, so the scoring-only
/// header can include it. docs/serving.md ("Explanations") documents the attribution.
#pragma once

#include <calibrisk/core/error.hpp>

#include <cmath>
#include <cstddef>
#include <string>

namespace calibrisk {

/// What per-feature contributions add up to.
enum class ExplainScale {
  /// The calibrated log-odds logit(p) of the risk the pipeline outputs (the default): baseline +
  /// sum of contributions = logit(calibrated p). Exact for Platt scaling on the margin (a linear
  /// map: contributions a * phi_j, baseline a * phi_0 + b) and for uncalibrated pipelines; for
  /// beta, isotonic and Platt on probabilities the margin contributions are rescaled by one
  /// common factor per row (see docs/serving.md).
  kCalibrated,
  /// The model's raw margin (log-odds before calibration): baseline + sum = margin.
  kMargin,
};

/// "calibrated log-odds" or "margin log-odds": the `scale` field of every explain output.
inline const char* explain_scale_label(ExplainScale s) noexcept {
  return s == ExplainScale::kMargin ? "margin log-odds" : "calibrated log-odds";
}

/// The option spelling: "calibrated" or "margin".
inline const char* explain_scale_name(ExplainScale s) noexcept {
  return s == ExplainScale::kMargin ? "margin" : "calibrated";
}

/// Parses "calibrated" or "margin" (the spelling of the CLI, the service and Python). Throws
/// InvalidInput naming `where` and the accepted values otherwise.
inline ExplainScale parse_explain_scale(const std::string& text, const std::string& where) {
  if (text == "calibrated") return ExplainScale::kCalibrated;
  if (text == "margin") return ExplainScale::kMargin;
  std::string shown = text.substr(0, 40);
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  throw InvalidInput(where + ": explain scale \"" + shown + (text.size() > 40 ? "..." : "") +
                     "\" is not known; use \"calibrated\" (the default: calibrated log-odds) or "
                     "\"margin\" (the model's log-odds before calibration).");
}

/// Indices of the `k` contributions of largest |phi_j| among phi[0..p), largest first, into
/// idx[0..min(k, p)); ties keep the lower index first, NaN counts as smallest. Returns
/// min(k, p). O(p * k), allocation-free.
inline std::ptrdiff_t top_contributions(const double* phi, std::ptrdiff_t p, std::ptrdiff_t k,
                                        std::ptrdiff_t* idx) noexcept {
  if (k > p) k = p;
  if (k <= 0) return 0;
  const auto mag = [&](std::ptrdiff_t j) {
    const double a = std::fabs(phi[j]);
    return std::isnan(a) ? -1.0 : a;
  };
  std::ptrdiff_t n = 0;  // entries of idx filled so far, sorted by decreasing magnitude
  for (std::ptrdiff_t j = 0; j < p; ++j) {
    const double m = mag(j);
    if (n == k && !(m > mag(idx[n - 1]))) continue;
    std::ptrdiff_t pos = n < k ? n++ : k - 1;
    while (pos > 0 && m > mag(idx[pos - 1])) {
      idx[pos] = idx[pos - 1];
      --pos;
    }
    idx[pos] = j;
  }
  return k;
}

}  // namespace calibrisk
