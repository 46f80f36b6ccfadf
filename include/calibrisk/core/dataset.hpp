// SPDX-License-Identifier: Apache-2.0
/// @file dataset.hpp
/// A training set (features, labels, weights) and the input validation shared by every model.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/weights.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace calibrisk {

/// What a model is trained on. All members are non-owning views over the caller's memory.
///
/// - `X`: `(n_samples, n_features)`, float32 or float64, any strides; NaN means "missing",
///   ±inf is rejected.
/// - `y`: one label per row, each exactly 0 or 1.
/// - `sample_weight`: empty (all ones) or one finite, non-negative weight per row, not all zero.
///
/// Class weighting is a hyper-parameter of the model (`<Model>Params::class_weight`, as in
/// scikit-learn), folded with `sample_weight` by `effective_weights` inside `fit`.
struct Dataset {
  FeatureMatrix X;
  VectorView<const double> y;
  VectorView<const double> sample_weight;

  Dataset() = default;
  Dataset(FeatureMatrix X_, VectorView<const double> y_, VectorView<const double> w_ = {})
      : X(X_), y(y_), sample_weight(w_) {}

  Index n_samples() const noexcept { return X.rows(); }
  Index n_features() const noexcept { return X.cols(); }
  /// sample_weight x class multipliers of `cw`, one per row (see weights.hpp).
  Eigen::VectorXd weights(const ClassWeight& cw = {}) const {
    return effective_weights(y, sample_weight, cw);
  }
};

/// Counts of each class in a validated label vector.
struct ClassCounts {
  Index n0 = 0;
  Index n1 = 0;
};

namespace detail {

inline std::string fmt_value(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace detail

/// Checks that X has at least one row and one column and no ±inf (NaN is allowed: missing).
/// `where` starts each message, e.g. "LogisticRegression::fit".
/// Throws InvalidInput naming the first offending row and column.
inline void validate_features(const FeatureMatrix& X, const std::string& where) {
  if (X.rows() <= 0) {
    throw InvalidInput(where + ": X has 0 rows; pass at least one sample.");
  }
  if (X.cols() <= 0) {
    throw InvalidInput(where + ": X has 0 columns; pass at least one feature.");
  }
  X.visit([&](const auto& m) {
    for (Index i = 0; i < m.rows(); ++i) {
      for (Index j = 0; j < m.cols(); ++j) {
        const double v = static_cast<double>(m(i, j));
        if (std::isinf(v)) {
          throw InvalidInput(where + ": X[" + std::to_string(i) + ", " + std::to_string(j) +
                             "] is " + (v > 0 ? "+inf" : "-inf") +
                             "; replace infinite values (NaN is accepted and means missing).");
        }
      }
    }
  });
}

/// Checks that X has the number of columns the model was fitted with, and no ±inf.
inline void validate_features(const FeatureMatrix& X, Index expected_cols,
                              const std::string& where) {
  if (X.cols() != expected_cols) {
    throw InvalidInput(where + ": X has " + std::to_string(X.cols()) +
                       " features but the model was fitted with " + std::to_string(expected_cols) +
                       "; pass the same columns, in the same order, as at fit time.");
  }
  if (X.rows() == 0) return;  // predicting on zero rows is allowed and returns nothing
  validate_features(X, where);
}

/// Checks labels: `expected_rows` values, each exactly 0 or 1, both classes present.
/// Returns the class counts.
inline ClassCounts validate_labels(VectorView<const double> y, Index expected_rows,
                                   const std::string& where, bool require_both_classes = true) {
  if (y.size() != expected_rows) {
    throw InvalidInput(where + ": X has " + std::to_string(expected_rows) + " rows but y has " +
                       std::to_string(y.size()) + " values; pass one label per row of X.");
  }
  ClassCounts c;
  for (Index i = 0; i < y.size(); ++i) {
    const double v = y[i];
    if (v == 0.0) {
      ++c.n0;
    } else if (v == 1.0) {
      ++c.n1;
    } else {
      throw InvalidInput(where + ": y[" + std::to_string(i) + "] is " + detail::fmt_value(v) +
                         "; labels must be 0 or 1 (encode the positive class as 1).");
    }
  }
  if (require_both_classes && (c.n0 == 0 || c.n1 == 0)) {
    throw InvalidInput(where + ": y contains only class " + (c.n1 == 0 ? "0" : "1") +
                       "; both classes 0 and 1 are needed to train.");
  }
  return c;
}

/// The largest number of classes a multiclass model, calibrator or metric accepts. Above it a
/// label column is more likely an identifier than an outcome; the error says so.
inline constexpr int kMaxClasses = 1000;

/// Checks multiclass labels: `expected_rows` values, each an integer class index in
/// [0, n_classes) (Python maps its labels to the indices of the sorted `classes_`). With
/// `require_all_classes`, every class must occur (training); without, a class may be absent
/// (evaluation, a cross-fitting fold). Returns the row count of each class. Throws InvalidInput
/// naming the first bad row, InvalidParams when n_classes is not in [2, kMaxClasses].
inline std::vector<Index> validate_class_labels(VectorView<const double> y, int n_classes,
                                                Index expected_rows, const std::string& where,
                                                bool require_all_classes = true) {
  if (n_classes < 2 || n_classes > kMaxClasses) {
    throw InvalidParams(where + ": " + std::to_string(n_classes) +
                        " classes; a classifier needs between 2 and " +
                        std::to_string(kMaxClasses) +
                        " classes (a label with more values is likely an identifier, not an "
                        "outcome).");
  }
  if (y.size() != expected_rows) {
    throw InvalidInput(where + ": expected " + std::to_string(expected_rows) +
                       " labels but y has " + std::to_string(y.size()) +
                       " values; pass one label per row.");
  }
  std::vector<Index> counts(static_cast<std::size_t>(n_classes), 0);
  for (Index i = 0; i < y.size(); ++i) {
    const double v = y[i];
    if (!(v >= 0.0 && v < n_classes) || v != std::floor(v)) {
      throw InvalidInput(where + ": y[" + std::to_string(i) + "] is " + detail::fmt_value(v) +
                         "; labels must be class indices 0.." + std::to_string(n_classes - 1) +
                         ".");
    }
    ++counts[static_cast<std::size_t>(v)];
  }
  if (require_all_classes) {
    for (int c = 0; c < n_classes; ++c) {
      if (counts[static_cast<std::size_t>(c)] == 0) {
        throw InvalidInput(where + ": class " + std::to_string(c) + " of " +
                           std::to_string(n_classes) +
                           " has no rows; every class needs training rows (drop the class or "
                           "gather data for it).");
      }
    }
  }
  return counts;
}

/// Checks sample weights: empty, or `expected_rows` finite non-negative values not all zero.
inline void validate_sample_weight(VectorView<const double> w, Index expected_rows,
                                   const std::string& where) {
  if (w.empty()) return;
  if (w.size() != expected_rows) {
    throw InvalidInput(where + ": sample_weight has " + std::to_string(w.size()) +
                       " values but X has " + std::to_string(expected_rows) +
                       " rows; pass one weight per row.");
  }
  double total = 0.0;
  for (Index i = 0; i < w.size(); ++i) {
    const double v = w[i];
    if (!std::isfinite(v) || v < 0.0) {
      throw InvalidInput(where + ": sample_weight[" + std::to_string(i) + "] is " +
                         detail::fmt_value(v) + "; weights must be finite and >= 0.");
    }
    total += v;
  }
  if (!(total > 0.0)) {
    throw InvalidInput(where + ": all sample weights are zero; at least one row needs weight > 0.");
  }
}

/// Validates a whole training set (features, labels, weights) once, before the unchecked kernels
/// run. Also requires each class to keep a positive total weight.
inline ClassCounts validate_dataset(const Dataset& d, const std::string& where) {
  validate_features(d.X, where);
  const ClassCounts c = validate_labels(d.y, d.X.rows(), where);
  validate_sample_weight(d.sample_weight, d.X.rows(), where);
  if (!d.sample_weight.empty()) {
    double w0 = 0.0, w1 = 0.0;
    for (Index i = 0; i < d.y.size(); ++i) (d.y[i] == 1.0 ? w1 : w0) += d.sample_weight[i];
    if (!(w0 > 0.0) || !(w1 > 0.0)) {
      throw InvalidInput(where + ": every row of class " + (w1 > 0.0 ? "0" : "1") +
                         " has zero sample weight; both classes need positive total weight.");
    }
  }
  return c;
}

}  // namespace calibrisk
