// SPDX-License-Identifier: Apache-2.0
/// @file prior.hpp
/// Prior correction (King & Zeng, "Logistic regression in rare events data", Political Analysis
/// 2001): returns probabilities of a model trained with class weights, `scale_pos_weight` or
/// resampling to the population's prevalence, without a calibration set.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/core/matrix.hpp>

#include <Eigen/Core>

#include <cmath>
#include <string>

namespace calibrisk {

/// Logit shift that undoes training weights w0 (class 0) and w1 (class 1): -ln(w1 / w0).
/// A model trained with weights (or with class 1 oversampled w1/w0 times) estimates odds
/// inflated by w1/w0; subtracting ln(w1/w0) from its logit removes that factor exactly for a
/// correctly specified logistic model (King & Zeng 2001, eq. 7). Throws InvalidParams unless both
/// weights are finite and > 0.
inline double prior_shift(double w0, double w1) {
  if (!(std::isfinite(w0) && w0 > 0.0) || !(std::isfinite(w1) && w1 > 0.0)) {
    throw InvalidParams("prior_correction: class weights must be finite and > 0, got w0 = " +
                        detail::fmt_value(w0) + ", w1 = " + detail::fmt_value(w1) +
                        "; pass the weights the model was trained with.");
  }
  return -std::log(w1 / w0);
}

/// The shift for a model trained on a sample with prevalence `sample_prevalence` when the
/// population's is `population_prevalence` (both in (0, 1)): -ln[(ybar / (1 - ybar)) *
/// ((1 - tau) / tau)] (King & Zeng 2001, eq. 7). Throws InvalidParams outside (0, 1).
inline double prior_shift_from_prevalence(double sample_prevalence, double population_prevalence) {
  auto ok = [](double v) { return std::isfinite(v) && v > 0.0 && v < 1.0; };
  if (!ok(sample_prevalence) || !ok(population_prevalence)) {
    throw InvalidParams("prior_shift_from_prevalence: prevalences must be in (0, 1), got " +
                        detail::fmt_value(sample_prevalence) + " and " +
                        detail::fmt_value(population_prevalence) + ".");
  }
  return -std::log((sample_prevalence / (1.0 - sample_prevalence)) *
                   ((1.0 - population_prevalence) / population_prevalence));
}

/// p' = sigmoid(logit(p) + shift) for one probability p in [0, 1] (0 and 1 stay 0 and 1).
/// Allocation-free. NaN in gives NaN out.
inline double prior_correct_one(double p, double shift) noexcept {
  if (p <= 0.0 || p >= 1.0) return p;
  return sigmoid(std::log(p) - std::log1p(-p) + shift);
}

/// Prior-corrected probabilities of a model trained with class weights (w0, w1): the logit
/// shifted by -ln(w1 / w0). Throws InvalidInput for p outside [0, 1] or NaN, InvalidParams for
/// bad weights. O(n).
inline Eigen::VectorXd prior_correction(VectorView<const double> p, double w0, double w1) {
  const double shift = prior_shift(w0, w1);
  Eigen::VectorXd out(p.size());
  for (Index i = 0; i < p.size(); ++i) {
    if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
      throw InvalidInput("prior_correction: p[" + std::to_string(i) + "] is " +
                         detail::fmt_value(p[i]) + "; pass probabilities in [0, 1].");
    }
    out[i] = prior_correct_one(p[i], shift);
  }
  return out;
}

}  // namespace calibrisk
