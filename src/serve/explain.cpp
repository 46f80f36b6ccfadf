// SPDX-License-Identifier: Apache-2.0
// Pipeline::explain and its relatives (declared in artifact/pipeline.hpp): the one implementation
// of per-feature contributions behind Pipeline, ScoringPipeline, `calibrisk predict --explain`,
// the scoring service and Python. docs/serving.md ("Explanations") states the attribution.
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/trees/explain.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace calibrisk {
namespace {

/// Isotonic probabilities of exactly 0 or 1 have infinite log-odds: they are clipped to
/// [kLogOddsClip, 1 - kLogOddsClip] (log-odds +-27.63).
constexpr double kLogOddsClip = 1e-12;

/// Below this share of sum_j |phi_j| the sum of a row's margin contributions counts as zero and
/// the calibrated difference is split in proportion to |phi_j| (docs/serving.md).
constexpr double kZeroSum = 1e-9;

/// Margin contributions of trees into phi (n, p); returns the bias (phi_0).
double tree_contributions(const TreeExplainer& ex, const FeatureMatrix& X, MatrixView<double> phi) {
  const Index n = X.rows(), p = X.cols();
  std::vector<double> full(static_cast<std::size_t>(n * (p + 1)));
  ex.contributions(X, MatrixView<double>::row_major(full.data(), n, p + 1));
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) phi(i, j) = full[static_cast<std::size_t>(i * (p + 1) + j)];
  }
  return ex.bias();
}

/// Reference of logistic regression's missing indicator k: the training missing rate of its
/// feature from the schema; when the schema does not know it, the centre the fit recorded for the
/// indicator (the weighted missing rate when the model standardised), else 0.
double indicator_reference(const LogisticRegressionState& st, const FeatureSchema& schema,
                           std::size_t k) {
  const auto j = static_cast<std::size_t>(st.indicator_features[k]);
  const double rate = j < schema.features.size() ? schema.features[j].missing_rate
                                                 : std::numeric_limits<double>::quiet_NaN();
  if (std::isfinite(rate)) return rate;
  const std::size_t c = static_cast<std::size_t>(st.n_features) + k;
  return st.feature_mean.size() == st.coef.size() ? st.feature_mean[c] : 0.0;
}

/// phi_0 of logistic regression: the margin of the reference row.
double linear_baseline(const LogisticRegressionState& st, const FeatureSchema& schema) {
  double b = st.intercept;
  for (Index j = 0; j < st.n_features; ++j) {
    const auto u = static_cast<std::size_t>(j);
    b += st.coef[u] * st.impute_values[u];
  }
  for (std::size_t k = 0; k < st.indicator_features.size(); ++k) {
    b += st.coef[static_cast<std::size_t>(st.n_features) + k] * indicator_reference(st, schema, k);
  }
  return b;
}

/// Contributions of logistic regression: coef_j * (x_j - impute_j) per numeric feature, plus its
/// missing indicator's term; a categorical feature contributes its level's coefficient (the
/// reference row holds the reference level, whose term is 0).
template <class T>
void linear_contributions(const LogisticRegression& m, const FeatureSchema& schema,
                          const MatrixView<const T>& X, MatrixView<double> phi) {
  const LogisticRegressionState& st = m.state();
  const Index n = X.rows(), p = X.cols();
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) {
      const auto u = static_cast<std::size_t>(j);
      const double x = static_cast<double>(X(i, j));
      const double v = std::isnan(x) ? st.impute_values[u] : x;
      phi(i, j) = st.coef[u] * (v - st.impute_values[u]);
    }
    for (std::size_t k = 0; k < st.indicator_features.size(); ++k) {
      const Index j = st.indicator_features[k];
      const double ind = std::isnan(static_cast<double>(X(i, j))) ? 1.0 : 0.0;
      phi(i, j) +=
          st.coef[static_cast<std::size_t>(p) + k] * (ind - indicator_reference(st, schema, k));
    }
    for (Index j : st.categorical_features) {
      phi(i, j) = m.categorical_term(j, static_cast<double>(X(i, j)));
    }
  }
}

/// Rescales one row's margin contributions phi[0..p) in place so that they sum to
/// `target` = L(x) - L(phi_0): by the common factor target / sum_j phi_j, or, when that sum is
/// ~0, by shares of |phi_j| (equal shares when every phi_j is 0).
void rescale_row(MatrixView<double> phi, Index i, double target) {
  const Index p = phi.cols();
  double sum = 0.0, abs_sum = 0.0;
  for (Index j = 0; j < p; ++j) {
    sum += phi(i, j);
    abs_sum += std::abs(phi(i, j));
  }
  if (std::abs(sum) > kZeroSum * (1.0 + abs_sum)) {
    const double r = target / sum;
    for (Index j = 0; j < p; ++j) phi(i, j) *= r;
  } else if (abs_sum > 0.0) {
    for (Index j = 0; j < p; ++j) phi(i, j) = target * (std::abs(phi(i, j)) / abs_sum);
  } else if (p > 0) {
    for (Index j = 0; j < p; ++j) phi(i, j) = target / static_cast<double>(p);
  }
}

}  // namespace

double Pipeline::calibrated_log_odds(double m) const noexcept {
  const bool margin_in = p_.calibrator_input == CalibratorInput::kMargin;
  switch (p_.calibrator.index()) {
    case 0:
      return m;
    case 1: {
      const PlattState& s = std::get<PlattCalibrator>(p_.calibrator).state();
      const double z = s.input == ScoreKind::kProbability
                           ? detail::clipped_logit(margin_in ? m : sigmoid(m), s.eps)
                           : (margin_in ? m : sigmoid(m));
      return s.a * z + s.b;
    }
    case 2: {
      const double q =
          std::get<IsotonicCalibrator>(p_.calibrator).predict_one(margin_in ? m : sigmoid(m));
      return detail::clipped_logit(q, kLogOddsClip);
    }
    default: {
      const BetaState& s = std::get<BetaCalibrator>(p_.calibrator).state();
      const double q = std::min(std::max(sigmoid(m), s.eps), 1.0 - s.eps);
      return s.a * std::log(q) - s.b * std::log1p(-q) + s.c;
    }
  }
}

double Pipeline::explain_baseline(ExplainScale scale, const TreeExplainer* explainer) const {
  require_binary("Pipeline::explain_baseline (K-class: explain_class)");
  double phi0 = 0.0;
  if (const auto* gb = std::get_if<GradientBoostedTrees>(&p_.model)) {
    phi0 = explainer != nullptr ? explainer->bias() : TreeExplainer(gb->ensemble()).bias();
  } else {
    phi0 = linear_baseline(std::get<LogisticRegression>(p_.model).state(), p_.schema);
  }
  if (scale == ExplainScale::kMargin || p_.calibrator.index() == 0) return phi0;
  return calibrated_log_odds(phi0);
}

double Pipeline::explain(const FeatureMatrix& X, MatrixView<double> out, ExplainScale scale,
                         const TreeExplainer* explainer) const {
  const char* where = "Pipeline::explain";
  require_binary("Pipeline::explain (K-class: explain_class)");
  check_shape(X, out.rows(), where);
  if (out.cols() != n_features()) {
    throw InvalidInput(std::string(where) + ": out has " + std::to_string(out.cols()) +
                       " columns but one per feature (" + std::to_string(n_features()) +
                       ") is needed.");
  }
  const auto* gb = std::get_if<GradientBoostedTrees>(&p_.model);
  if (gb != nullptr && explainer != nullptr &&
      explainer->n_features() != gb->ensemble().n_features) {
    throw InvalidInput(std::string(where) +
                       ": the TreeExplainer was built for another model; build it from this "
                       "pipeline's ensemble or pass nullptr.");
  }
  // The margins validate the values (+-inf) before any contribution is computed.
  const Eigen::VectorXd margin = decision_function(X);
  std::optional<TreeExplainer> own;
  if (gb != nullptr && explainer == nullptr) explainer = &own.emplace(gb->ensemble());
  double phi0 = 0.0;
  X.visit([&](const auto& v) {
    std::vector<typename std::decay_t<decltype(v)>::value_type> copy;
    const FeatureMatrix Xs = categorical_.empty() ? FeatureMatrix(v) : unseen_as_missing(v, copy);
    if (gb != nullptr) {
      phi0 = tree_contributions(*explainer, Xs, out);
    } else {
      const auto& lr = std::get<LogisticRegression>(p_.model);
      Xs.visit([&](const auto& w) { linear_contributions(lr, p_.schema, w, out); });
      phi0 = linear_baseline(lr.state(), p_.schema);
    }
  });
  if (scale == ExplainScale::kMargin || p_.calibrator.index() == 0) return phi0;
  const Index n = X.rows(), p = n_features();
  const auto* platt = std::get_if<PlattCalibrator>(&p_.calibrator);
  if (platt != nullptr && p_.calibrator_input == CalibratorInput::kMargin &&
      platt->state().input == ScoreKind::kMargin) {
    // Exact: the calibrated log-odds a * margin + b is linear in the margin.
    const double a = platt->state().a;
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j < p; ++j) out(i, j) *= a;
    }
    return a * phi0 + platt->state().b;
  }
  const double base = calibrated_log_odds(phi0);
  for (Index i = 0; i < n; ++i) rescale_row(out, i, calibrated_log_odds(margin[i]) - base);
  return base;
}

std::vector<double> Pipeline::mean_abs_contributions(const FeatureMatrix& X,
                                                     ExplainScale scale) const {
  const Index n = X.rows(), p = n_features();
  check_shape(X, n, "Pipeline::mean_abs_contributions");
  std::vector<double> acc(static_cast<std::size_t>(p), 0.0);
  if (n == 0) return acc;
  std::optional<TreeExplainer> ex;
  if (const auto* gb = std::get_if<GradientBoostedTrees>(&p_.model)) ex.emplace(gb->ensemble());
  constexpr Index kBlock = 4096;
  std::vector<double> buf(static_cast<std::size_t>(std::min(n, kBlock) * p));
  X.visit([&](const auto& v) {
    for (Index lo = 0; lo < n; lo += kBlock) {
      const Index rows = std::min(kBlock, n - lo);
      const auto out = MatrixView<double>::row_major(buf.data(), rows, p);
      explain(FeatureMatrix(v.middle_rows(lo, rows)), out, scale, ex ? &*ex : nullptr);
      for (Index i = 0; i < rows; ++i) {
        for (Index j = 0; j < p; ++j) acc[static_cast<std::size_t>(j)] += std::abs(out(i, j));
      }
    }
  });
  for (double& a : acc) a /= static_cast<double>(n);
  return acc;
}

}  // namespace calibrisk
