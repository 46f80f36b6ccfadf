// SPDX-License-Identifier: Apache-2.0
// K-class pipelines (declared in artifact/pipeline.hpp): validation of the parts only K-class
// pipelines carry (multiclass calibrator, class labels, review policy), K-class scoring, routing
// and the per-class explanation of a multinomial logistic regression.
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/trees/explain.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace calibrisk {
namespace {

// What a multiclass calibrator consumes: the model's K logits or its K probabilities.
ScoreKind mc_input(const MulticlassCalibrator& c) {
  return std::visit([](const auto& m) { return m.state().input; }, c);
}

int calibrator_classes(const MulticlassCalibrator& c) {
  return std::visit([](const auto& m) { return m.state().n_classes; }, c);
}

// Rows of scores z (n, K) replaced by softmax(z), max-shifted (the K-class tree hook's
// probabilities; logistic regression uses its own predict_proba_matrix).
[[maybe_unused]] void softmax_rows(MatrixView<double> z) {
  for (Index i = 0; i < z.rows(); ++i) {
    double mx = -std::numeric_limits<double>::infinity();
    for (Index k = 0; k < z.cols(); ++k) mx = std::max(mx, z(i, k));
    double sum = 0.0;
    for (Index k = 0; k < z.cols(); ++k) sum += (z(i, k) = std::exp(z(i, k) - mx));
    for (Index k = 0; k < z.cols(); ++k) z(i, k) /= sum;
  }
}

void validate_review(const ReviewPolicyRecord& r, int k, const std::string& where) {
  if (r.kind == "threshold") {
    const std::size_t want = r.per_class ? static_cast<std::size_t>(k) : 1;
    if (r.thresholds.size() != want) {
      throw InvalidInput(where + ": review has " + std::to_string(r.thresholds.size()) +
                         " thresholds but " + std::to_string(want) + " are needed (" +
                         (r.per_class ? "one per class" : "one") + ").");
    }
    for (std::size_t c = 0; c < r.thresholds.size(); ++c) {
      const double t = r.thresholds[c];
      if (!((t >= 0.0 && t <= 1.0) || t == std::numeric_limits<double>::infinity())) {
        throw InvalidInput(where + ": review threshold " + std::to_string(c) + " is " +
                           std::to_string(t) +
                           "; a confidence threshold is in [0, 1] or +inf (route nothing).");
      }
    }
  } else if (r.kind == "conformal") {
    if (r.conformal.n_classes() != k) {
      throw InvalidInput(where + ": the conformal review policy was calibrated for " +
                         std::to_string(r.conformal.n_classes()) + " classes but the model has " +
                         std::to_string(k) + ".");
    }
  } else {
    throw InvalidInput(where + ": review kind \"" + r.kind +
                       "\" cannot route a K-class pipeline; use a confidence threshold "
                       "(select_review_threshold) or conformal sets.");
  }
}

void validate_classes(const std::vector<std::string>& classes, int k, const std::string& where) {
  if (classes.empty()) return;
  if (static_cast<int>(classes.size()) != k) {
    throw InvalidInput(where + ": classes lists " + std::to_string(classes.size()) +
                       " labels but the model has " + std::to_string(k) +
                       " classes; give one label per class, in class-index order.");
  }
  std::set<std::string> seen;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].empty() || classes[c].size() > 4096 || !seen.insert(classes[c]).second) {
      throw InvalidInput(where + ": class label " + std::to_string(c) +
                         " is empty, longer than 4096 bytes or repeated; labels must be unique.");
    }
  }
}

}  // namespace

void Pipeline::validate_multiclass() const {
  const std::string where = "Pipeline";
  const int k = model_classes();
  if (k <= 2) {
    if (p_.multiclass_calibrator) {
      throw InvalidInput(where +
                         ": a multiclass calibrator needs a K-class model (K >= 3) but the model "
                         "is binary; use a Platt, isotonic or beta calibrator.");
    }
    if (!p_.classes.empty()) {
      throw InvalidInput(where +
                         ": classes are given but the model is binary; a binary pipeline's "
                         "classes are 0 and 1 (leave classes empty).");
    }
    if (p_.review) {
      throw InvalidInput(where +
                         ": a review policy routes K-class pipelines; this model is binary (use "
                         "the operating point's threshold).");
    }
    return;
  }
  if (k > kMaxClasses) {
    throw InvalidInput(where + ": the model has " + std::to_string(k) + " classes, more than " +
                       std::to_string(kMaxClasses) + " (kMaxClasses).");
  }
  if (p_.calibrator.index() != 0) {
    throw InvalidInput(where + ": the model has " + std::to_string(k) +
                       " classes but the calibrator is binary; calibrate a K-class model with "
                       "multiclass_calibrator (temperature, one-vs-rest or Dirichlet).");
  }
  if (p_.multiclass_calibrator) {
    const bool fitted =
        std::visit([](const auto& c) { return c.is_fitted(); }, *p_.multiclass_calibrator);
    if (!fitted) {
      throw NotFitted(where +
                      ": the multiclass calibrator is not fitted; fit it on held-out scores.");
    }
    const int kc = calibrator_classes(*p_.multiclass_calibrator);
    if (kc != k) {
      throw InvalidInput(where + ": the multiclass calibrator was fitted on " + std::to_string(kc) +
                         " classes but the model has " + std::to_string(k) +
                         "; fit the calibrator on this model's scores.");
    }
  }
  validate_classes(p_.classes, k, where);
  if (p_.review) validate_review(*p_.review, k, where);
}

std::vector<std::string> Pipeline::class_labels() const {
  if (!p_.classes.empty()) return p_.classes;
  std::vector<std::string> out;
  for (int k = 0; k < n_classes_; ++k) out.push_back(std::to_string(k));
  return out;
}

void Pipeline::decision_matrix(const FeatureMatrix& X, MatrixView<double> out) const {
  const char* where = "Pipeline::decision_matrix";
  check_shape(X, out.rows(), where);
  if (out.cols() != n_classes_) {
    throw InvalidInput(std::string(where) + ": out has " + std::to_string(out.cols()) +
                       " columns for " + std::to_string(n_classes_) + " classes.");
  }
  if (n_classes_ == 2) {
    const Eigen::VectorXd m = decision_function(X);
    for (Index i = 0; i < m.size(); ++i) {
      out(i, 0) = 0.0;
      out(i, 1) = m[i];
    }
    return;
  }
  const auto raw = [&](const FeatureMatrix& Xc) {
    if (const auto* lr = std::get_if<LogisticRegression>(&p_.model)) {
      lr->decision_matrix(Xc, out);
      return;
    }
    std::get<GradientBoostedTrees>(p_.model).decision_matrix(Xc, out);
  };
  if (categorical_.empty()) return raw(X);
  X.visit([&](const auto& v) {
    std::vector<typename std::decay_t<decltype(v)>::value_type> copy;
    raw(unseen_as_missing(v, copy));
  });
}

void Pipeline::proba_matrix_raw(const FeatureMatrix& X, MatrixView<double> out) const {
  const Index n = X.rows();
  const int k = n_classes_;
  const bool calibrated = p_.multiclass_calibrator.has_value();
  const bool want_margin = calibrated && mc_input(*p_.multiclass_calibrator) == ScoreKind::kMargin;
  RowMatrixXd z(n, k);
  if (want_margin || !std::holds_alternative<LogisticRegression>(p_.model)) {
    decision_matrix(X, view_mut(z));
    if (!want_margin) softmax_rows(view_mut(z));  // the tree hook's probabilities
  } else {
    const auto& lr = std::get<LogisticRegression>(p_.model);
    const auto probs = [&](const FeatureMatrix& Xc) { lr.predict_proba_matrix(Xc, view_mut(z)); };
    if (categorical_.empty()) {
      probs(X);
    } else {
      X.visit([&](const auto& v) {
        std::vector<typename std::decay_t<decltype(v)>::value_type> copy;
        probs(unseen_as_missing(v, copy));
      });
    }
  }
  if (!calibrated) {
    for (Index i = 0; i < n; ++i)
      for (Index c = 0; c < k; ++c) out(i, c) = z(i, c);
    return;
  }
  // Calibrators map rows independently: fixed row blocks in parallel give the same bits for any
  // thread count (and a single row the bits of its batch).
  const MatrixView<const double> zv = view(z);
  detail::parallel_blocks(n, 4096, 0, [&](Index, Index lo, Index hi) {
    std::visit(
        [&](const auto& c) {
          c.predict_proba(zv.middle_rows(lo, hi - lo), out.middle_rows(lo, hi - lo));
        },
        *p_.multiclass_calibrator);
  });
}

void Pipeline::predict_proba_matrix(const FeatureMatrix& X, MatrixView<double> out) const {
  const char* where = "Pipeline::predict_proba_matrix";
  check_shape(X, out.rows(), where);
  if (out.cols() != n_classes_) {
    throw InvalidInput(std::string(where) + ": out has " + std::to_string(out.cols()) +
                       " columns for " + std::to_string(n_classes_) + " classes.");
  }
  if (n_classes_ == 2) {
    Eigen::VectorXd p(X.rows());
    predict_proba(X, VectorView<double>(p));
    for (Index i = 0; i < p.size(); ++i) {
      out(i, 0) = 1.0 - p[i];
      out(i, 1) = p[i];
    }
    return;
  }
  proba_matrix_raw(X, out);
}

RowMatrixXd Pipeline::predict_proba_matrix(const FeatureMatrix& X) const {
  RowMatrixXd out(X.rows(), n_classes_);
  predict_proba_matrix(X, view_mut(out));
  return out;
}

void Pipeline::predict_proba_matrix_row(const double* row, double* out) const {
  if (row == nullptr || out == nullptr) {
    throw InvalidInput("Pipeline::predict_proba_matrix_row: row and out must not be null.");
  }
  predict_proba_matrix(FeatureMatrix(MatrixView<const double>::row_major(row, 1, n_features())),
                       MatrixView<double>::row_major(out, 1, n_classes_));
}

std::vector<std::int32_t> Pipeline::predict_label(MatrixView<const double> P) const {
  std::vector<std::int32_t> out(static_cast<std::size_t>(P.rows()));
  for (Index i = 0; i < P.rows(); ++i) {
    Index best = 0;
    for (Index c = 1; c < P.cols(); ++c)
      if (P(i, c) > P(i, best)) best = c;
    out[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
  }
  return out;
}

std::vector<std::uint8_t> Pipeline::route(MatrixView<const double> P) const {
  if (P.cols() != n_classes_) {
    throw InvalidInput("Pipeline::route: P has " + std::to_string(P.cols()) + " columns for " +
                       std::to_string(n_classes_) + " classes; pass predict_proba_matrix output.");
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(P.rows()), 1);
  if (!p_.review) return out;
  const ReviewPolicyRecord& r = *p_.review;
  if (r.kind == "conformal") {
    const std::vector<std::uint8_t> sets = r.conformal.predict_sets(P);
    for (Index i = 0; i < P.rows(); ++i) {
      int size = 0;
      for (Index c = 0; c < P.cols(); ++c) size += sets[static_cast<std::size_t>(i * P.cols() + c)];
      out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(size == 1);
    }
    return out;
  }
  const std::vector<std::int32_t> label = predict_label(P);
  for (Index i = 0; i < P.rows(); ++i) {
    const std::int32_t k = label[static_cast<std::size_t>(i)];
    const double t = r.per_class ? r.thresholds[static_cast<std::size_t>(k)] : r.thresholds[0];
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(P(i, k) >= t);
  }
  return out;
}

void Pipeline::init_class_explainers() {
  const auto* gb = std::get_if<GradientBoostedTrees>(&p_.model);
  if (gb == nullptr || n_classes_ <= 2) return;
  auto e = std::make_shared<std::vector<TreeExplainer>>();
  e->reserve(static_cast<std::size_t>(n_classes_));
  for (int k = 0; k < n_classes_; ++k) e->emplace_back(gb->class_ensemble(k));
  class_explainers_ = std::move(e);
}

double Pipeline::explain_class(const double* row, int k, double* out) const {
  const char* where = "Pipeline::explain_class";
  const auto* lr = std::get_if<LogisticRegression>(&p_.model);
  if (n_classes_ <= 2) {
    throw InvalidInput(std::string(where) +
                       ": needs a K-class pipeline (use explain for binary models).");
  }
  if (k < 0 || k >= n_classes_) {
    throw InvalidInput(std::string(where) + ": class " + std::to_string(k) + " is outside [0, " +
                       std::to_string(n_classes_) + ").");
  }
  if (row == nullptr || out == nullptr) {
    throw InvalidInput(std::string(where) + ": row and out must not be null.");
  }
  if (lr == nullptr) return explain_class_trees(row, k, out);
  const LogisticRegressionState& st = lr->state();
  const Index p = n_features();
  const double* beta = st.class_coef.data() + static_cast<std::size_t>(k) * p;
  double base = st.class_intercept[static_cast<std::size_t>(k)];
  for (Index j = 0; j < p; ++j) {
    const auto u = static_cast<std::size_t>(j);
    double x = row[j];
    if (std::isinf(x)) {
      throw InvalidInput(std::string(where) + ": feature " +
                         quote_for_message(p_.schema.features[u].name) +
                         " is infinite; it cannot be scored.");
    }
    if (p_.schema.features[u].is_unseen_category(x)) x = std::numeric_limits<double>::quiet_NaN();
    const double m = st.impute_values[u];
    out[j] = std::isnan(x) ? 0.0 : beta[j] * (x - m);
    base += beta[j] * m;
  }
  return base;
}

}  // namespace calibrisk

namespace calibrisk {

// K-class trees: TreeSHAP of class k's ensemble on the row (unseen category codes as missing, as
// scoring does); the contributions sum to class k's raw score minus the returned baseline.
double Pipeline::explain_class_trees(const double* row, int k, double* out) const {
  const Index p = n_features();
  std::vector<double> x(row, row + p), phi(static_cast<std::size_t>(p + 1));
  for (Index j = 0; j < p; ++j) {
    const auto u = static_cast<std::size_t>(j);
    if (std::isinf(x[u])) {
      throw InvalidInput("Pipeline::explain_class: feature " +
                         quote_for_message(p_.schema.features[u].name) +
                         " is infinite; it cannot be scored.");
    }
    if (p_.schema.features[u].is_unseen_category(x[u])) {
      x[u] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  (*class_explainers_)[static_cast<std::size_t>(k)].contributions_row(x.data(), phi.data());
  std::copy(phi.begin(), phi.begin() + p, out);
  return phi[static_cast<std::size_t>(p)];
}

}  // namespace calibrisk
