// SPDX-License-Identifier: Apache-2.0
// Per-feature log-odds contributions of a pipeline's model (declared in serve/explain.hpp).
#include "serve/explain.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace calibrisk::detail {
namespace {

void tree_contributions(const TreeExplainer& ex, const FeatureMatrix& X, MatrixView<double> phi) {
  const Index n = X.rows(), p = X.cols();
  std::vector<double> full(static_cast<std::size_t>(n * (p + 1)));
  ex.contributions(X, MatrixView<double>::row_major(full.data(), n, p + 1));
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) phi(i, j) = full[static_cast<std::size_t>(i * (p + 1) + j)];
  }
}

template <class T>
void linear_contributions(const LogisticRegressionState& st, const MatrixView<const T>& X,
                          MatrixView<double> phi) {
  const Index n = X.rows(), p = X.cols();
  const bool centred = st.feature_mean.size() == st.coef.size();
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) {
      const double x = static_cast<double>(X(i, j));
      const double v = std::isnan(x) ? st.impute_values[static_cast<std::size_t>(j)] : x;
      const double m = centred ? st.feature_mean[static_cast<std::size_t>(j)] : 0.0;
      phi(i, j) = st.coef[static_cast<std::size_t>(j)] * (v - m);
    }
    for (std::size_t k = 0; k < st.indicator_features.size(); ++k) {
      const Index j = st.indicator_features[k];
      const std::size_t c = static_cast<std::size_t>(p) + k;
      const double ind = std::isnan(static_cast<double>(X(i, j))) ? 1.0 : 0.0;
      phi(i, j) += st.coef[c] * (ind - (centred ? st.feature_mean[c] : 0.0));
    }
  }
}

}  // namespace

void log_odds_contributions(const Pipeline& pipe, const TreeExplainer* explainer,
                            const FeatureMatrix& X, MatrixView<double> phi) {
  const Index p = pipe.n_features();
  if (X.cols() != p || phi.rows() != X.rows() || phi.cols() != p) {
    throw InvalidInput("explain: X has " + std::to_string(X.cols()) + " columns and out has (" +
                       std::to_string(phi.rows()) + ", " + std::to_string(phi.cols()) +
                       ") slots, but the pipeline expects " + std::to_string(p) +
                       " features per row; pass the columns in schema order.");
  }
  if (const auto* gb = std::get_if<GradientBoostedTrees>(&pipe.model())) {
    if (explainer != nullptr) return tree_contributions(*explainer, X, phi);
    return tree_contributions(TreeExplainer(gb->ensemble()), X, phi);
  }
  const auto& st = std::get<LogisticRegression>(pipe.model()).state();
  X.visit([&](const auto& m) { linear_contributions(st, m, phi); });
}

}  // namespace calibrisk::detail
