// SPDX-License-Identifier: Apache-2.0
// K-class pipelines (declared in artifact/pipeline.hpp): validation of the parts only K-class
// pipelines carry (multiclass calibrator, class labels, review policy), K-class scoring, routing
// and the per-class explanation of a multinomial logistic regression.
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/random.hpp>
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

// Expanded rows (K-class LR with a categorical expansion) up to this width live on the stack.
constexpr Index kStackExpanded = 256;

// Throws InvalidInput on a +-inf value of X (the expansion would hide it from the model's check).
void check_finite(const FeatureMatrix& X, const char* where) {
  X.visit([&](const auto& v) {
    for (Index i = 0; i < v.rows(); ++i) {
      for (Index j = 0; j < v.cols(); ++j) {
        if (std::isinf(static_cast<double>(v(i, j)))) {
          throw InvalidInput(std::string(where) + ": X[" + std::to_string(i) + ", " +
                             std::to_string(j) +
                             "] is infinite; infinite values cannot be scored (use NaN for "
                             "missing).");
        }
      }
    }
  });
}

double* thread_scratch(int k) {
  thread_local std::vector<double> wide;
  if (static_cast<int>(wide.size()) < 2 * k) wide.resize(static_cast<std::size_t>(2 * k));
  return wide.data();
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

// explain_class's copy of a row: an infinite value is an error naming the feature, an unseen
// category becomes NaN (as scoring does).
std::vector<double> explain_class_input(const FeatureSchema& schema, const double* row) {
  const std::size_t p = schema.features.size();
  std::vector<double> x(row, row + p);
  for (std::size_t u = 0; u < p; ++u) {
    if (std::isinf(x[u])) {
      throw InvalidInput("Pipeline::explain_class: feature " +
                         quote_for_message(schema.features[u].name) +
                         " is infinite; it cannot be scored.");
    }
    if (schema.features[u].is_unseen_category(x[u])) {
      x[u] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  return x;
}

}  // namespace

void Pipeline::validate_multiclass() const {
  const std::string where = "Pipeline";
  const int k = model_classes();
  if (k <= 2) {
    if (!p_.expansion.empty()) {
      throw InvalidInput(where +
                         ": a categorical expansion belongs to a K-class logistic regression; a "
                         "binary model expands its categorical features itself.");
    }
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
  if (!p_.expansion.empty() && !std::holds_alternative<LogisticRegression>(p_.model)) {
    throw InvalidInput(where +
                       ": a categorical expansion feeds a K-class logistic regression; trees "
                       "split on category codes themselves (leave the expansion empty).");
  }
  p_.expansion.validate(p_.schema.n_features(), where);
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
      if (p_.expansion.empty()) {
        lr->decision_matrix(Xc, out);
      } else {
        check_finite(Xc, where);
        const RowMatrixXd E = p_.expansion.expand(Xc);
        lr->decision_matrix(FeatureMatrix(view(E)), out);
      }
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
    const auto probs = [&](const FeatureMatrix& Xc) {
      if (p_.expansion.empty()) return lr.predict_proba_matrix(Xc, view_mut(z));
      check_finite(Xc, "Pipeline::predict_proba_matrix");
      const RowMatrixXd E = p_.expansion.expand(Xc);
      lr.predict_proba_matrix(FeatureMatrix(view(E)), view_mut(z));
    };
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

namespace {

// Row scratch of K doubles: on the stack up to kStackClasses, else a per-thread buffer that grows
// once (never per row).
constexpr int kStackClasses = 64;
// softmax of z (K values) into q exactly as the multiclass calibrators' softmax_into.
void calibrator_softmax(const double* z, int k, double* q) noexcept {
  double m = z[0];
  for (int j = 1; j < k; ++j) m = std::max(m, z[j]);
  double s = 0.0;
  for (int j = 0; j < k; ++j) {
    q[j] = std::exp(z[j] - m);
    s += q[j];
  }
  for (int j = 0; j < k; ++j) q[j] /= s;
}

// The K-class calibrators' maps of one row of scores `s` (K values) into `out`, bit-identical
// to their batch predict_proba; `z` is K values of scratch.
void calibrate_row(const TemperatureScaling& c, const double* s, double* z, double* out) noexcept {
  const TemperatureState& st = c.state();
  for (int j = 0; j < st.n_classes; ++j) {
    z[j] = st.beta * (st.input == ScoreKind::kProbability ? std::log(s[j] + st.eps) : s[j]);
  }
  calibrator_softmax(z, st.n_classes, out);
}

void calibrate_row(const OneVsRestCalibrator& c, const double* s, double*, double* out) noexcept {
  const int k = c.state().n_classes;
  double sum = 0.0;
  for (int j = 0; j < k; ++j) {
    out[j] = c.calibrated(static_cast<std::size_t>(j), s[j]);
    sum += out[j];
  }
  for (int j = 0; j < k; ++j) out[j] = sum != 0.0 ? out[j] / sum : 1.0 / k;
  for (int j = 0; j < k; ++j) {
    if (out[j] > 1.0 && out[j] <= 1.0 + 1e-5) out[j] = 1.0;
  }
}

void calibrate_row(const DirichletCalibrator& c, const double* s, double* z, double* out) noexcept {
  const DirichletState& st = c.state();
  const int k = st.n_classes;
  // ln p: log(max(p, eps)) of probabilities, z - logsumexp(z) of logits (into out).
  if (st.input == ScoreKind::kProbability) {
    for (int j = 0; j < k; ++j) out[j] = std::log(std::max(s[j], st.eps));
  } else {
    double m = s[0];
    for (int j = 1; j < k; ++j) m = std::max(m, s[j]);
    double sum = 0.0;
    for (int j = 0; j < k; ++j) sum += std::exp(s[j] - m);
    const double lse = m + std::log(sum);
    for (int j = 0; j < k; ++j) out[j] = s[j] - lse;
  }
  for (int a = 0; a < k; ++a) {
    double v = st.intercept[static_cast<std::size_t>(a)];
    for (int j = 0; j < k; ++j) v += st.coef[static_cast<std::size_t>(a * k + j)] * out[j];
    z[a] = v;
  }
  calibrator_softmax(z, k, out);
}

// Logits of one row of a multinomial logistic regression, as LogisticRegression::matrix_into.
void lr_logits_row(const LogisticRegressionState& s, const double* row, double* z) noexcept {
  const Index k = static_cast<Index>(s.class_intercept.size());
  const Index p = s.n_features;
  for (Index c = 0; c < k; ++c) z[c] = s.class_intercept[static_cast<std::size_t>(c)];
  for (Index j = 0; j < p; ++j) {
    double v = row[j];
    if (v != v) v = s.impute_values[static_cast<std::size_t>(j)];
    for (Index c = 0; c < k; ++c) z[c] += s.class_coef[static_cast<std::size_t>(c * p + j)] * v;
  }
}

// LogisticRegression's softmax of its logits (to_proba).
void lr_softmax(const double* z, int k, double* o) noexcept {
  double m = z[0];
  for (int c = 1; c < k; ++c) m = std::max(m, z[c]);
  double s = 0.0;
  for (int c = 0; c < k; ++c) s += std::exp(z[c] - m);
  for (int c = 0; c < k; ++c) o[c] = std::exp(z[c] - m) / s;
}

}  // namespace

void Pipeline::proba_row_classes(const double* row, double* z, double* out) const noexcept {
  const int k = n_classes_;
  const bool calibrated = p_.multiclass_calibrator.has_value();
  const bool want_margin = calibrated && mc_input(*p_.multiclass_calibrator) == ScoreKind::kMargin;
  // The model's scores into `z` (batch: decision_matrix, or the LR's probabilities).
  if (const auto* lr = std::get_if<LogisticRegression>(&p_.model)) {
    double buf[kStackExpanded];
    lr_logits_row(lr->state(), expanded_row(row, buf), want_margin ? z : out);
    if (!want_margin) lr_softmax(out, k, z);
  } else {
    const auto& gb = std::get<GradientBoostedTrees>(p_.model);
    for (int c = 0; c < k; ++c) z[c] = gb.class_predictor(c).predict_margin_row(row);
    if (!want_margin) softmax_rows(MatrixView<double>::row_major(z, 1, k));
  }
  if (!calibrated) {
    std::copy(z, z + k, out);
    return;
  }
  // The scores are z[0, K); z[K, 2K) is the calibrator's scratch (decide_row gives 2K values).
  std::visit([&](const auto& c) { calibrate_row(c, z, z + k, out); }, *p_.multiclass_calibrator);
}

const double* Pipeline::expanded_row(const double* row, double* buf) const noexcept {
  if (p_.expansion.empty()) return row;
  const Index w = p_.expansion.width();
  double* out = buf;
  if (w > kStackExpanded) {
    thread_local std::vector<double> wide;  // grows once per thread, never per row
    if (static_cast<Index>(wide.size()) < w) wide.resize(static_cast<std::size_t>(w));
    out = wide.data();
  }
  p_.expansion.expand_row(row, out);
  return out;
}

void Pipeline::predict_proba_matrix_row(const double* row, double* out) const {
  (void)decide_row(row, out);
}

Pipeline::RowDecision Pipeline::decide_row(const double* row, double* out) const {
  const char* where = "Pipeline::decide_row";
  if (row == nullptr || out == nullptr) {
    throw InvalidInput(std::string(where) + ": row and out must not be null.");
  }
  const Index p = n_features();
  for (Index j = 0; j < p; ++j) {
    if (std::isinf(row[j])) {
      throw InvalidInput(std::string(where) + ": feature " +
                         quote_for_message(p_.schema.features[static_cast<std::size_t>(j)].name) +
                         " is " + (row[j] > 0 ? "+inf" : "-inf") +
                         "; infinite values cannot be scored (use NaN for missing).");
    }
  }
  const int k = n_classes_;
  if (k == 2) {
    const double q = predict_proba_row(row);
    out[0] = 1.0 - q;
    out[1] = q;
  } else {
    // Scratch: the model's scores and the calibrator's logits (2K values).
    double stack[2 * kStackClasses];
    double* z = k <= kStackClasses ? stack : thread_scratch(k);
    unseen_as_missing(row, [&](const double* r) {
      proba_row_classes(r, z, out);
      return 0.0;
    });
  }
  RowDecision d;
  for (int c = 1; c < k; ++c)
    if (out[c] > out[d.label]) d.label = c;
  d.confidence = out[d.label];
  d.auto_routed = route_row(out, d.label);
  return d;
}

bool Pipeline::route_row(const double* P, int label) const noexcept {
  if (!p_.review) return true;
  const ReviewPolicyRecord& r = *p_.review;
  const int k = n_classes_;
  if (r.kind != "conformal") {
    const double t = r.per_class ? r.thresholds[static_cast<std::size_t>(label)] : r.thresholds[0];
    return P[label] >= t;
  }
  const ConformalSets& cs = r.conformal;
  const double q = cs.quantile();
  if (cs.method() == ConformalMethod::kLac) {
    int size = 0;
    for (int c = 0; c < k; ++c) size += (1.0 - P[c]) <= q;
    return size == 1;
  }
  // APS: scores grow along the classes ranked by decreasing probability (ties to the lowest
  // index), so the set is a prefix of that ranking and holds exactly one label when the first
  // class's score is <= q and the second's > q (the same sums as ConformalSets::predict_sets).
  int second = label == 0 ? 1 : 0;
  for (int c = 0; c < k; ++c)
    if (c != label && P[c] > P[second]) second = c;
  const double u =
      cs.method() == ConformalMethod::kApsRandomized ? Rng(cs.random_state(), 1).uniform() : 1.0;
  const double above = 0.0 + P[label];
  const double s1 = cs.method() == ConformalMethod::kAps ? 0.0 + P[label] : 0.0 + u * P[label];
  const double s2 =
      cs.method() == ConformalMethod::kAps ? above + P[second] : above + u * P[second];
  return s1 <= q && s2 > q;
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
  if (!p_.expansion.empty()) return explain_class_expanded(row, k, out);
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
  std::vector<double> x = explain_class_input(p_.schema, row);
  std::vector<double> phi(static_cast<std::size_t>(p + 1));
  (*class_explainers_)[static_cast<std::size_t>(k)].contributions_row(x.data(), phi.data());
  std::copy(phi.begin(), phi.begin() + p, out);
  return phi[static_cast<std::size_t>(p)];
}

}  // namespace calibrisk

namespace calibrisk {

// K-class LR behind a categorical expansion: the contributions B[k, e] (x_e - m_e) of the
// expanded columns summed per input column (a categorical feature's indicators add up to its
// contribution), with the baseline b_k + sum_e B[k, e] m_e.
double Pipeline::explain_class_expanded(const double* row, int k, double* out) const {
  const Index p = n_features();
  const std::vector<double> x = explain_class_input(p_.schema, row);
  const CategoricalExpansion& e = p_.expansion;
  const Index w = e.width();
  std::vector<double> xe(static_cast<std::size_t>(w));
  e.expand_row(x.data(), xe.data());
  const LogisticRegressionState& st = std::get<LogisticRegression>(p_.model).state();
  const double* beta = st.class_coef.data() + static_cast<std::size_t>(k) * w;
  double base = st.class_intercept[static_cast<std::size_t>(k)];
  std::fill(out, out + p, 0.0);
  for (Index c = 0; c < w; ++c) {
    const auto u = static_cast<std::size_t>(c);
    const double m = st.impute_values[u];
    out[e.source(c)] += std::isnan(xe[u]) ? 0.0 : beta[c] * (xe[u] - m);
    base += beta[c] * m;
  }
  return base;
}

}  // namespace calibrisk
