// SPDX-License-Identifier: Apache-2.0
/// @file weights.hpp
/// Class weights and their folding with sample weights into one weight vector.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>

#include <Eigen/Core>

#include <cmath>
#include <string>
#include <vector>

namespace calibrisk {

/// How the two classes are weighted during training.
///
/// - `none()`: every row keeps its sample weight.
/// - `balanced()`: class c gets n / (2 * n_c), as scikit-learn's `class_weight="balanced"`, where
///   n and n_c are sample-weight totals (row counts without sample weights), as scikit-learn >= 1.8
///   computes them (`compute_class_weight(..., sample_weight=...)`).
/// - `explicit_weights(w0, w1)`: class 0 rows are multiplied by w0, class 1 rows by w1.
/// - `per_class_weights({w_0, ..., w_{K-1}})` (multiclass): class c rows are multiplied by w_c;
///   `balanced()` gives class c the weight n / (K * n_c) with K classes (`class_multipliers`).
struct ClassWeight {
  enum class Kind { kNone, kBalanced, kExplicit };
  Kind kind = Kind::kNone;
  double w0 = 1.0;  ///< Weight of class 0 when kind == kExplicit, > 0 and finite.
  double w1 = 1.0;  ///< Weight of class 1 when kind == kExplicit, > 0 and finite.
  /// Explicit weight of each class 0..K-1 (kind == kExplicit), or empty (then w0, w1 apply to
  /// classes 0 and 1 and any other class gets 1). Saved in model files only when non-empty.
  std::vector<double> per_class;

  static ClassWeight none() noexcept { return {}; }
  static ClassWeight balanced() noexcept { return {Kind::kBalanced, 1.0, 1.0, {}}; }
  static ClassWeight explicit_weights(double w0, double w1) noexcept {
    return {Kind::kExplicit, w0, w1, {}};
  }
  /// Explicit weights of classes 0..K-1 (w0/w1 mirror the first two, for binary code paths).
  static ClassWeight per_class_weights(std::vector<double> w) {
    ClassWeight c{Kind::kExplicit, w.size() > 0 ? w[0] : 1.0, w.size() > 1 ? w[1] : 1.0, {}};
    c.per_class = std::move(w);
    return c;
  }

  /// Throws InvalidParams when explicit weights are not finite and positive.
  void validate(const char* where) const {
    if (kind != Kind::kExplicit) return;
    if (!(std::isfinite(w0) && w0 > 0.0) || !(std::isfinite(w1) && w1 > 0.0)) {
      throw InvalidParams(std::string(where) + ": class weights must be finite and > 0, got {0: " +
                          std::to_string(w0) + ", 1: " + std::to_string(w1) +
                          "}; pass positive weights or class_weight=None.");
    }
    for (std::size_t c = 0; c < per_class.size(); ++c) {
      if (!(std::isfinite(per_class[c]) && per_class[c] > 0.0)) {
        throw InvalidParams(std::string(where) + ": the weight of class " + std::to_string(c) +
                            " is " + std::to_string(per_class[c]) +
                            "; class weights must be finite and > 0.");
      }
    }
  }

  /// The multiplier of each of K = totals.size() classes given each class's total sample weight
  /// (row count without sample weights): balanced n / (K n_c) (1 for an empty class), explicit
  /// per_class (or w0, w1 and 1 for the others), else 1.
  std::vector<double> class_multipliers(const std::vector<double>& totals) const {
    const std::size_t K = totals.size();
    std::vector<double> m(K, 1.0);
    double n = 0.0;
    for (double t : totals) n += t;
    for (std::size_t c = 0; c < K; ++c) {
      if (kind == Kind::kBalanced) {
        m[c] = totals[c] > 0.0 ? n / (static_cast<double>(K) * totals[c]) : 1.0;
      } else if (kind == Kind::kExplicit) {
        m[c] = !per_class.empty() ? (c < per_class.size() ? per_class[c] : 1.0)
               : c == 0           ? w0
               : c == 1           ? w1
                                  : 1.0;
      }
    }
    return m;
  }

  /// The multipliers (for class 0, class 1) given the number of rows of each class.
  std::pair<double, double> resolve(Index n0, Index n1) const noexcept {
    return resolve_weighted(static_cast<double>(n0), static_cast<double>(n1));
  }
  /// The multipliers given the total sample weight (or row count) of each class.
  std::pair<double, double> resolve_weighted(double n0, double n1) const noexcept {
    switch (kind) {
      case Kind::kBalanced: {
        const double n = n0 + n1;
        return {n0 > 0 ? n / (2.0 * n0) : 1.0, n1 > 0 ? n / (2.0 * n1) : 1.0};
      }
      case Kind::kExplicit:
        return {w0, w1};
      case Kind::kNone:
      default:
        return {1.0, 1.0};
    }
  }
};

/// Spellings of ClassWeight::Kind (model file "kind", CLI, Python).
inline const EnumTable<ClassWeight::Kind>& enum_table(ClassWeight::Kind) {
  static const EnumText<ClassWeight::Kind> e[] = {{ClassWeight::Kind::kNone, "none"},
                                                  {ClassWeight::Kind::kBalanced, "balanced"},
                                                  {ClassWeight::Kind::kExplicit, "explicit"}};
  static const EnumTable<ClassWeight::Kind> t{e, 3, "ClassWeight::Kind"};
  return t;
}

/// One weight per row: sample_weight[i] (1 when empty) times the class multiplier of y[i].
///
/// @param y              labels in {0, 1} (validated beforehand)
/// @param sample_weight  empty, or one non-negative weight per row
/// Complexity O(n). Does not validate; call `validate_dataset` first.
inline Eigen::VectorXd effective_weights(VectorView<const double> y,
                                         VectorView<const double> sample_weight,
                                         const ClassWeight& class_weight) {
  const Index n = y.size();
  double s0 = 0.0, s1 = 0.0;  // per-class sample-weight totals (row counts when unweighted)
  for (Index i = 0; i < n; ++i) {
    const double sw = sample_weight.empty() ? 1.0 : sample_weight[i];
    (y[i] == 1.0 ? s1 : s0) += sw;
  }
  const auto [m0, m1] = class_weight.resolve_weighted(s0, s1);
  Eigen::VectorXd w(n);
  for (Index i = 0; i < n; ++i) {
    const double sw = sample_weight.empty() ? 1.0 : sample_weight[i];
    w[i] = sw * (y[i] == 1.0 ? m1 : m0);
  }
  return w;
}

/// One weight per row for K-class labels (class indices 0..K-1, validated beforehand):
/// sample_weight[i] (1 when empty) times `class_weight.class_multipliers` of y[i]. O(n).
inline Eigen::VectorXd effective_class_weights(VectorView<const double> y,
                                               VectorView<const double> sample_weight,
                                               const ClassWeight& class_weight, int n_classes) {
  const Index n = y.size();
  std::vector<double> totals(static_cast<std::size_t>(n_classes), 0.0);
  for (Index i = 0; i < n; ++i) {
    totals[static_cast<std::size_t>(y[i])] += sample_weight.empty() ? 1.0 : sample_weight[i];
  }
  const std::vector<double> m = class_weight.class_multipliers(totals);
  Eigen::VectorXd w(n);
  for (Index i = 0; i < n; ++i) {
    w[i] = (sample_weight.empty() ? 1.0 : sample_weight[i]) * m[static_cast<std::size_t>(y[i])];
  }
  return w;
}

}  // namespace calibrisk
