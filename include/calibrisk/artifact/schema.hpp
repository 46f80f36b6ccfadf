// SPDX-License-Identifier: Apache-2.0
/// @file schema.hpp
/// The feature schema a pipeline was trained on, and the input checks (drift and consistency
/// signals) a serving or monitoring job runs against it.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/io/categories.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace calibrisk {

/// What training saw of one feature (column). Statistics ignore missing values (NaN).
struct FeatureInfo {
  std::string name;  ///< Column name, non-empty, unique within the schema.
  /// Smallest / largest non-missing training value; both NaN when the column was entirely
  /// missing or the statistics are unknown (then range checks are skipped for this feature).
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  /// Fraction of training rows where the value was missing, in [0, 1]; NaN when unknown.
  double missing_rate = std::numeric_limits<double>::quiet_NaN();
  /// True for an integer-coded category; `categories` then lists the codes seen in training.
  bool categorical = false;
  std::vector<std::int64_t> categories;  ///< Sorted, unique; empty unless `categorical`.
  /// True for a categorical feature that was declared as such (a labelled CSV column, or listed
  /// in SchemaOptions::categorical): scoring treats a value outside `categories` as missing.
  /// False for columns detected automatically as small-integer codes (counts, flags): the model
  /// reads those as ordinal numbers, so a new value is scored as the number it is. Stored in the
  /// model file from format 1.1; a 1.0 file sets it for the features that carry labels.
  bool unseen_as_missing = false;
  /// The level table of a labelled categorical feature: code k stands for `labels[k]` (sorted by
  /// bytes, unique, trimmed, UTF-8; see calibrisk/io/categories.hpp and docs/categorical.md).
  /// Empty for numeric features, detected small-integer codes, and models saved before format
  /// 1.4 (whose labels, when any, are the provenance's "data.categories.<name>"). Non-empty
  /// requires `categorical` and `unseen_as_missing`. Stored in the model file from format 1.4,
  /// only when non-empty.
  std::vector<std::string> labels;
  /// The code hierarchy declared for the column (only with `labels`): a label that is not a
  /// level is scored as its nearest ancestor that is one. Stored from format 1.4 with `labels`.
  CodeHierarchy hierarchy;
  /// Training labels pooled into an ancestor level by the hierarchy back-off (sorted by bytes):
  /// they are seen labels, not unseen ones. Stored from format 1.4 with the hierarchy.
  std::vector<std::string> pooled_labels;

  /// The encoder of this feature's labels (`labels` and `hierarchy`); throws InvalidInput when
  /// the labels are invalid (see CategoryLevels::from_levels).
  CategoryLevels levels() const {
    return CategoryLevels::from_levels(name, labels, hierarchy, pooled_labels);
  }

  /// True when x is a finite value of a categorical feature that is not one of the training
  /// `categories` (a new code, the CSV reader's kUnseenCategory = -1, or a non-integer). Scoring
  /// treats such a value as missing when `unseen_as_missing` (see Pipeline); NaN and +-inf (an
  /// error) are not categories.
  /// O(log categories), allocation-free.
  bool is_unseen_category(double x) const noexcept {
    if (!categorical || !std::isfinite(x)) return false;
    if (!(x == std::floor(x) && std::fabs(x) <= 9.0e15)) return true;
    return !std::binary_search(categories.begin(), categories.end(), static_cast<std::int64_t>(x));
  }
};

/// Options of `FeatureSchema::from_data`.
struct SchemaOptions {
  /// Columns to treat as integer-coded categories (indices into X); their values must be
  /// integers (or NaN) in training.
  std::vector<Index> categorical;
  /// Also treat as categorical every column whose non-missing values are all integers with at
  /// most `max_auto_categories` distinct values (flags, codes). Set false to use only
  /// `categorical`.
  bool auto_categorical = true;
  /// Bound of the automatic detection, in [1, 10000].
  int max_auto_categories = 20;
};

/// Options of the input checks.
struct InputCheckOptions {
  /// A feature's missing rate is flagged when it departs from training by more than this
  /// absolute amount AND the departure is significant (two-proportion z-test, |z| > `missing_z`).
  double missing_rate_tolerance = 0.05;
  double missing_z = 3.0;  ///< Critical |z|; 3.0 is a two-sided p of about 0.0027.
  Index max_examples = 5;  ///< Example row indices kept per signal.
};

/// Per-feature drift signals over a batch of rows.
struct FeatureDrift {
  Index feature = 0;  ///< Column index.
  std::string name;
  Index n_below_min = 0;  ///< Non-missing values < training min (not categorical).
  Index n_above_max = 0;  ///< Non-missing values > training max (not categorical).
  /// Categorical: codes not seen in training (or non-integers), scored as missing. Each such value
  /// is counted here only, never also as below / above the training range.
  Index n_unseen_category = 0;
  Index n_missing = 0;              ///< NaN values.
  Index n_non_finite = 0;           ///< +-inf values (an error: models reject them).
  double missing_rate = 0.0;        ///< n_missing / rows checked.
  double train_missing_rate = 0.0;  ///< From the schema (NaN when unknown).
  double missing_rate_z = 0.0;      ///< Two-proportion z statistic (0 when not computable).
  bool missing_rate_drift = false;  ///< See InputCheckOptions.
  std::vector<Index> example_rows;  ///< A few rows showing a signal (out of range / unseen).

  bool any() const noexcept {
    return n_below_min + n_above_max + n_unseen_category + n_non_finite > 0 || missing_rate_drift;
  }
};

/// The result of `check_inputs`: errors (rows the model cannot score) and drift warnings.
/// Checking never changes scores; it reports what a monitoring job needs.
struct InputReport {
  Index n_rows = 0;               ///< Rows examined.
  Index n_features_expected = 0;  ///< From the schema.
  /// Rows whose length differs from the schema (ragged input) or, for a matrix, all rows when
  /// the column count is wrong: an error, these rows are not scored.
  Index n_wrong_length = 0;
  std::vector<Index> wrong_length_examples;
  std::vector<std::string> errors;     ///< Human-readable errors (wrong length, +-inf values).
  std::vector<FeatureDrift> features;  ///< Only features with at least one signal.

  /// True when every row can be scored (no wrong length, no infinite values).
  bool ok() const noexcept { return errors.empty(); }
  /// True when any drift signal (range, category, missing rate) was raised.
  bool has_drift() const noexcept {
    for (const auto& f : features)
      if (f.any()) return true;
    return false;
  }
  /// A multi-line summary, one line per error and per drifting feature.
  std::string summary() const {
    std::string s =
        "checked " + std::to_string(n_rows) + " rows against " +
        std::to_string(n_features_expected) +
        " features: " + (ok() ? "no errors" : std::to_string(errors.size()) + " error(s)") + ", " +
        (has_drift() ? "drift in " + std::to_string(features.size()) + " feature(s)" : "no drift") +
        "\n";
    for (const auto& e : errors) s += "error: " + e + "\n";
    for (const auto& f : features) {
      s += "drift: " + f.name + ":";
      if (f.n_below_min) s += " " + std::to_string(f.n_below_min) + " below training min;";
      if (f.n_above_max) s += " " + std::to_string(f.n_above_max) + " above training max;";
      if (f.n_unseen_category)
        s += " " + std::to_string(f.n_unseen_category) +
             " unseen category codes (scored as missing);";
      if (f.missing_rate_drift)
        s += " missing rate " + std::to_string(f.missing_rate) + " vs " +
             std::to_string(f.train_missing_rate) +
             " in training (z = " + std::to_string(f.missing_rate_z) + ");";
      if (f.n_non_finite) s += " " + std::to_string(f.n_non_finite) + " infinite values;";
      s += "\n";
    }
    return s;
  }
};

/// Names, order and training statistics of the features a pipeline expects.
struct FeatureSchema {
  std::vector<FeatureInfo> features;  ///< In column order.
  Index n_train_rows = 0;  ///< Rows the statistics came from (0 = unknown; disables the z-test).

  Index n_features() const noexcept { return static_cast<Index>(features.size()); }

  /// A schema with names only (no statistics: range and missing-rate checks are skipped).
  /// Empty `names` gives "x0", "x1", ... for `n_features` columns.
  static FeatureSchema from_names(std::vector<std::string> names, Index n_features = -1) {
    FeatureSchema s;
    if (names.empty()) {
      if (n_features < 1) {
        throw InvalidInput(
            "FeatureSchema::from_names: no names and n_features = " + std::to_string(n_features) +
            "; pass the feature names or a positive feature count.");
      }
      for (Index j = 0; j < n_features; ++j) names.push_back("x" + std::to_string(j));
    } else if (n_features >= 0 && n_features != static_cast<Index>(names.size())) {
      throw InvalidInput("FeatureSchema::from_names: " + std::to_string(names.size()) +
                         " names for " + std::to_string(n_features) +
                         " features; pass one name per column.");
    }
    for (auto& n : names) {
      FeatureInfo f;
      f.name = std::move(n);
      s.features.push_back(std::move(f));
    }
    s.validate();
    return s;
  }

  /// Computes the schema from training data X (n_rows, n_features), NaN = missing.
  /// @param names  one per column, or empty for "x0", "x1", ...
  /// Throws InvalidInput on a shape mismatch, an infinite value, or a non-integer value in a
  /// column declared categorical. Complexity O(n_rows * n_features + distinct codes).
  static FeatureSchema from_data(const FeatureMatrix& X, std::vector<std::string> names = {},
                                 const SchemaOptions& options = {}) {
    const Index n = X.rows(), p = X.cols();
    if (n < 1 || p < 1) {
      throw InvalidInput("FeatureSchema::from_data: X has shape (" + std::to_string(n) + ", " +
                         std::to_string(p) +
                         "); pass the training rows (at least one row and "
                         "one column).");
    }
    if (options.max_auto_categories < 1 || options.max_auto_categories > 10000) {
      throw InvalidParams("SchemaOptions.max_auto_categories must be in [1, 10000], got " +
                          std::to_string(options.max_auto_categories) + ".");
    }
    FeatureSchema s = from_names(std::move(names), p);
    s.n_train_rows = n;
    std::vector<char> declared(static_cast<std::size_t>(p), 0);
    for (Index j : options.categorical) {
      if (j < 0 || j >= p) {
        throw InvalidInput("FeatureSchema::from_data: categorical column " + std::to_string(j) +
                           " is outside [0, " + std::to_string(p) + ").");
      }
      declared[static_cast<std::size_t>(j)] = 1;
    }
    X.visit([&](const auto& v) {
      for (Index j = 0; j < p; ++j) {
        FeatureInfo& f = s.features[static_cast<std::size_t>(j)];
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        Index missing = 0;
        bool integral = true;
        std::set<std::int64_t> codes;
        const bool want_codes = declared[static_cast<std::size_t>(j)] || options.auto_categorical;
        const std::size_t code_cap = declared[static_cast<std::size_t>(j)]
                                         ? static_cast<std::size_t>(n)
                                         : static_cast<std::size_t>(options.max_auto_categories);
        for (Index i = 0; i < n; ++i) {
          const double x = static_cast<double>(v(i, j));
          if (std::isnan(x)) {
            ++missing;
            continue;
          }
          if (std::isinf(x)) {
            throw InvalidInput("FeatureSchema::from_data: X[" + std::to_string(i) + ", " +
                               std::to_string(j) + "] is infinite; use NaN for missing values.");
          }
          lo = std::min(lo, x);
          hi = std::max(hi, x);
          if (want_codes && integral) {
            if (x != std::floor(x) || std::fabs(x) > 9.0e15) {
              integral = false;
            } else if (codes.size() <= code_cap) {
              codes.insert(static_cast<std::int64_t>(x));
            }
          }
        }
        if (missing < n) {
          f.min = lo;
          f.max = hi;
        }
        f.missing_rate = static_cast<double>(missing) / static_cast<double>(n);
        if (declared[static_cast<std::size_t>(j)]) {
          if (!integral) {
            throw InvalidInput("FeatureSchema::from_data: column " + std::to_string(j) + " (" +
                               f.name +
                               ") is declared categorical but holds non-integer values;"
                               " encode categories as integer codes.");
          }
          f.unseen_as_missing = true;
          f.categorical = true;
        } else if (options.auto_categorical && integral && missing < n &&
                   codes.size() <= static_cast<std::size_t>(options.max_auto_categories)) {
          f.categorical = true;
        }
        if (f.categorical) f.categories.assign(codes.begin(), codes.end());
      }
    });
    return s;
  }

  /// Checks names (non-empty, unique), statistics (min <= max, both NaN or both finite,
  /// missing_rate in [0, 1] or NaN) and categories (sorted, unique, only when categorical).
  /// Throws InvalidInput naming the feature and field.
  void validate(const std::string& where = "FeatureSchema::validate") const {
    if (features.empty()) {
      throw InvalidInput(where + ": the schema has no features; a pipeline needs at least one.");
    }
    if (n_train_rows < 0) {
      throw InvalidInput(where + ": n_train_rows is negative (" + std::to_string(n_train_rows) +
                         ").");
    }
    std::set<std::string> seen;
    for (std::size_t j = 0; j < features.size(); ++j) {
      const FeatureInfo& f = features[j];
      const std::string at = where + ": features[" + std::to_string(j) + "]";
      if (f.name.empty()) throw InvalidInput(at + ".name is empty; every feature needs a name.");
      if (!seen.insert(f.name).second) {
        throw InvalidInput(at + ".name \"" + f.name + "\" is used twice; names must be unique.");
      }
      if (std::isnan(f.min) != std::isnan(f.max) || std::isinf(f.min) || std::isinf(f.max) ||
          f.min > f.max) {
        throw InvalidInput(at + " (" + f.name + ") has min = " + std::to_string(f.min) +
                           " and max = " + std::to_string(f.max) +
                           "; both must be finite with min <= max, or both NaN (unknown).");
      }
      if (!std::isnan(f.missing_rate) && !(f.missing_rate >= 0.0 && f.missing_rate <= 1.0)) {
        throw InvalidInput(at + " (" + f.name + ") has missing_rate " +
                           std::to_string(f.missing_rate) + "; it must be in [0, 1] or NaN.");
      }
      if (!f.categorical && !f.categories.empty()) {
        throw InvalidInput(at + " (" + f.name +
                           ") lists categories but is not categorical; set categorical = true.");
      }
      if (!f.categorical && f.unseen_as_missing) {
        throw InvalidInput(at + " (" + f.name +
                           ") has unseen_as_missing but is not categorical; set categorical = "
                           "true or unseen_as_missing = false.");
      }
      for (std::size_t k = 1; k < f.categories.size(); ++k) {
        if (f.categories[k] <= f.categories[k - 1]) {
          throw InvalidInput(at + " (" + f.name +
                             ") categories are not sorted and unique at "
                             "position " +
                             std::to_string(k) + ".");
        }
      }
      if (f.hierarchy.declared && f.labels.empty()) {
        throw InvalidInput(at + " (" + f.name +
                           ") declares a code hierarchy but has no labels; a hierarchy applies to "
                           "labelled categorical features.");
      }
      if (!f.labels.empty()) {
        if (!f.categorical || !f.unseen_as_missing) {
          throw InvalidInput(at + " (" + f.name +
                             ") has labels but is not a declared categorical feature; set "
                             "categorical and unseen_as_missing.");
        }
        try {
          CategoryLevels::check_levels(f.name, f.labels, f.hierarchy, f.pooled_labels);
        } catch (const Error& e) {
          throw InvalidInput(at + ".labels: " + e.what());
        }
        const auto k = static_cast<std::int64_t>(f.labels.size());
        if ((!std::isnan(f.min) && (f.min < 0.0 || f.max > static_cast<double>(k - 1))) ||
            (!f.categories.empty() && (f.categories.front() < 0 || f.categories.back() >= k))) {
          throw InvalidInput(at + " (" + f.name + ") has " + std::to_string(k) +
                             " labels but training codes outside 0.." + std::to_string(k - 1) +
                             "; the labels and the schema do not belong together.");
        }
      }
    }
  }

  /// Checks the text labels of an integer-coded categorical feature (code k = `labels[k]`, as
  /// `calibrisk train` records them) against the schema: the feature exists and is categorical,
  /// each label appears once, and every training code (and the training min / max) is a code of
  /// the list. Returns the feature's column index. Throws InvalidInput naming `where`.
  Index validate_category_labels(const std::string& name, const std::vector<std::string>& labels,
                                 const std::string& where = "category labels") const {
    const auto it = std::find_if(features.begin(), features.end(),
                                 [&](const FeatureInfo& f) { return f.name == name; });
    const std::string shown = name.size() > 100 ? name.substr(0, 100) + "..." : name;
    if (it == features.end()) {
      throw InvalidInput(where + " lists category labels for \"" + shown +
                         "\", which is not a feature of the schema.");
    }
    if (!it->categorical) {
      throw InvalidInput(where + " lists category labels for \"" + shown +
                         "\", a numeric feature in the schema; only categorical features carry "
                         "labels.");
    }
    std::set<std::string> seen;
    for (const auto& l : labels) {
      if (!seen.insert(l).second) {
        throw InvalidInput(where + " lists the label \"" + l.substr(0, 100) +
                           "\" twice; each label must have exactly one code.");
      }
    }
    const auto n = static_cast<std::int64_t>(labels.size());
    const bool range_ok = std::isnan(it->min) || (it->min >= 0.0 && it->max <= double(n - 1));
    if (!range_ok ||
        (!it->categories.empty() && (it->categories.front() < 0 || it->categories.back() >= n))) {
      throw InvalidInput(where + " has " + std::to_string(n) + " labels (codes 0.." +
                         std::to_string(n - 1) + ") but the schema's feature \"" + shown +
                         "\" was trained on codes outside that range; the labels and the schema "
                         "do not belong together.");
    }
    return static_cast<Index>(it - features.begin());
  }

  /// Drift and consistency checks of a batch of rows (see InputReport). A matrix with the
  /// wrong number of columns gives one error and no per-feature signals. Never throws on data.
  /// Complexity O(rows * features * log(categories)).
  InputReport check(const FeatureMatrix& X, const InputCheckOptions& options = {}) const {
    InputReport r;
    r.n_features_expected = n_features();
    r.n_rows = X.rows();
    if (X.cols() != n_features()) {
      r.n_wrong_length = X.rows();
      for (Index i = 0; i < std::min(X.rows(), options.max_examples); ++i)
        r.wrong_length_examples.push_back(i);
      r.errors.push_back("X has " + std::to_string(X.cols()) +
                         " columns but the pipeline expects " + std::to_string(n_features()) +
                         " features (" + names_preview() + "); pass the columns in schema order.");
      return r;
    }
    std::vector<FeatureDrift> acc(features.size());
    X.visit([&](const auto& v) {
      for (Index i = 0; i < X.rows(); ++i) {
        for (Index j = 0; j < X.cols(); ++j)
          observe(acc, j, static_cast<double>(v(i, j)), i, options);
      }
    });
    finish(acc, r, X.rows(), options);
    return r;
  }

  /// The same checks for ragged rows (e.g. parsed from CSV or JSON): rows of the wrong length are
  /// counted as errors and skipped; the others are checked.
  InputReport check(const std::vector<std::vector<double>>& rows,
                    const InputCheckOptions& options = {}) const {
    InputReport r;
    r.n_features_expected = n_features();
    r.n_rows = static_cast<Index>(rows.size());
    std::vector<FeatureDrift> acc(features.size());
    Index good = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (static_cast<Index>(rows[i].size()) != n_features()) {
        if (r.n_wrong_length++ < options.max_examples)
          r.wrong_length_examples.push_back(static_cast<Index>(i));
        continue;
      }
      ++good;
      for (Index j = 0; j < n_features(); ++j)
        observe(acc, j, rows[i][static_cast<std::size_t>(j)], static_cast<Index>(i), options);
    }
    if (r.n_wrong_length > 0) {
      r.errors.push_back(std::to_string(r.n_wrong_length) + " row(s) do not have " +
                         std::to_string(n_features()) + " values (first: row " +
                         std::to_string(r.wrong_length_examples.front()) +
                         "); every row needs one value per feature in schema order.");
    }
    finish(acc, r, good, options);
    return r;
  }

 private:
  std::string names_preview() const {
    std::string s;
    for (std::size_t j = 0; j < features.size() && j < 5; ++j)
      s += (j ? ", " : "") + features[j].name;
    if (features.size() > 5) s += ", ...";
    return s;
  }

  void observe(std::vector<FeatureDrift>& acc, Index j, double x, Index row,
               const InputCheckOptions& o) const {
    const FeatureInfo& f = features[static_cast<std::size_t>(j)];
    FeatureDrift& d = acc[static_cast<std::size_t>(j)];
    bool example = false;
    if (std::isnan(x)) {
      ++d.n_missing;
      return;
    }
    if (std::isinf(x)) {
      ++d.n_non_finite;
      example = true;
    } else if (f.unseen_as_missing) {
      // A declared category: a code outside the training range is also unseen, and is scored as
      // missing; one signal, counted once.
      if (f.is_unseen_category(x)) ++d.n_unseen_category, example = true;
    } else if (!std::isnan(f.min) && x < f.min) {
      ++d.n_below_min, example = true;
    } else if (!std::isnan(f.max) && x > f.max) {
      ++d.n_above_max, example = true;
    } else if (f.is_unseen_category(x)) {
      ++d.n_unseen_category, example = true;  // a new value inside the range of automatic codes
    }
    if (example && static_cast<Index>(d.example_rows.size()) < o.max_examples &&
        (d.example_rows.empty() || d.example_rows.back() != row)) {
      d.example_rows.push_back(row);
    }
  }

  void finish(std::vector<FeatureDrift>& acc, InputReport& r, Index rows,
              const InputCheckOptions& o) const {
    Index non_finite = 0;
    for (std::size_t j = 0; j < acc.size(); ++j) {
      FeatureDrift& d = acc[j];
      const FeatureInfo& f = features[j];
      d.feature = static_cast<Index>(j);
      d.name = f.name;
      d.train_missing_rate = f.missing_rate;
      non_finite += d.n_non_finite;
      if (rows > 0) {
        d.missing_rate = static_cast<double>(d.n_missing) / static_cast<double>(rows);
        if (!std::isnan(f.missing_rate) && n_train_rows > 0) {
          // Two-proportion z-test with the pooled rate (the training count is rate * rows).
          const double n0 = static_cast<double>(n_train_rows), n1 = static_cast<double>(rows);
          const double pooled = (f.missing_rate * n0 + d.missing_rate * n1) / (n0 + n1);
          const double se = std::sqrt(pooled * (1.0 - pooled) * (1.0 / n0 + 1.0 / n1));
          d.missing_rate_z = se > 0.0 ? (d.missing_rate - f.missing_rate) / se : 0.0;
          d.missing_rate_drift =
              std::fabs(d.missing_rate - f.missing_rate) > o.missing_rate_tolerance &&
              std::fabs(d.missing_rate_z) > o.missing_z;
        }
      }
      if (d.any()) r.features.push_back(std::move(d));
    }
    if (non_finite > 0) {
      r.errors.push_back(std::to_string(non_finite) +
                         " infinite value(s); use NaN for a missing value.");
    }
  }
};

// ---- monitoring reference (format 1.3) ----------------------------------------------------------

/// The training distribution of one feature, for the population stability index (PSI).
/// Numeric features: `edges` are interior quantile cut points e_1 < ... < e_{k-1} of the
/// non-missing training values; bin b holds e_b < x <= e_{b+1} (e_0 = -inf, e_k = +inf), and
/// `shares` has k entries. Categorical features: `edges` is empty and `shares` has one entry per
/// schema category, in the order of FeatureInfo::categories. Shares are fractions of all rows,
/// so sum(shares) + missing_share = 1.
struct FeatureReference {
  std::vector<double> edges;
  std::vector<double> shares;
  double missing_share = 0.0;  ///< Share of training rows where the value was missing.
};

/// The distribution of the final (calibrated) risk on the calibration part: quantile `edges`
/// and `shares` as in FeatureReference (no missing bin), and the share of rows at or above the
/// operating threshold (`alert_rate`).
struct ScoreReference {
  std::vector<double> edges;
  std::vector<double> shares;
  Index n_rows = 0;  ///< Rows the score distribution came from.
  double alert_rate = std::numeric_limits<double>::quiet_NaN();
};

/// What `monitor` compares a batch with: one FeatureReference per schema feature (in schema
/// order) and the score distribution. Empty (no features) for models saved before format 1.3 or
/// built without reference data; the file then carries no "reference" section.
struct MonitoringReference {
  std::vector<FeatureReference> features;
  ScoreReference score;

  bool empty() const noexcept { return features.empty(); }

  /// The bin of x (not NaN) among `edges` (see FeatureReference): the number of edges < x.
  static std::size_t bin_of(const std::vector<double>& edges, double x) noexcept {
    return static_cast<std::size_t>(std::lower_bound(edges.begin(), edges.end(), x) -
                                    edges.begin());
  }

  /// Distinct interior cut points of the lower empirical quantiles (type 1) at 1/n_bins, ...,
  /// (n_bins-1)/n_bins of `sorted` (ascending, finite); cut points equal to the largest value are
  /// dropped, so every bin holds at least one training value.
  static std::vector<double> quantile_edges(const std::vector<double>& sorted, int n_bins) {
    std::vector<double> e;
    const std::size_t n = sorted.size();
    for (int q = 1; q < n_bins && n > 0; ++q) {
      const auto k = static_cast<std::size_t>(
          std::ceil(static_cast<double>(q) * static_cast<double>(n) / n_bins));
      const double v = sorted[std::max<std::size_t>(k, 1) - 1];
      if (v < sorted.back() && (e.empty() || v > e.back())) e.push_back(v);
    }
    return e;
  }

  /// Shares of `values` (finite) per bin of `edges`, as fractions of `n_total`.
  static std::vector<double> bin_shares(const std::vector<double>& edges,
                                        const std::vector<double>& values, double n_total) {
    std::vector<double> s(edges.size() + 1, 0.0);
    for (const double x : values) s[bin_of(edges, x)] += 1.0;
    for (double& v : s) v /= n_total;
    return s;
  }

  /// The reference of training rows X_train (the schema's columns) and of the calibrated
  /// `scores` of the calibration part at operating `threshold`, with `n_bins` quantile bins
  /// (in [2, 100]). Throws InvalidInput on a shape mismatch or a non-finite score.
  static MonitoringReference from_data(const FeatureSchema& schema, const FeatureMatrix& X_train,
                                       const std::vector<double>& scores, double threshold,
                                       int n_bins = 10) {
    if (n_bins < 2 || n_bins > 100) {
      throw InvalidParams("MonitoringReference::from_data: n_bins must be in [2, 100], got " +
                          std::to_string(n_bins) + ".");
    }
    if (X_train.cols() != schema.n_features() || X_train.rows() < 1 || scores.empty()) {
      throw InvalidInput(
          "MonitoringReference::from_data: X_train has " + std::to_string(X_train.cols()) +
          " columns and " + std::to_string(X_train.rows()) + " rows, with " +
          std::to_string(scores.size()) + " scores, for " + std::to_string(schema.n_features()) +
          " features; pass the training rows in schema order and the "
          "calibration part's scores.");
    }
    MonitoringReference r;
    const double n = static_cast<double>(X_train.rows());
    X_train.visit([&](const auto& v) {
      for (Index j = 0; j < X_train.cols(); ++j) {
        const FeatureInfo& f = schema.features[static_cast<std::size_t>(j)];
        std::vector<double> values;
        for (Index i = 0; i < X_train.rows(); ++i) {
          const double x = static_cast<double>(v(i, j));
          if (!std::isnan(x)) values.push_back(x);
        }
        FeatureReference fr;
        fr.missing_share = (n - static_cast<double>(values.size())) / n;
        if (f.categorical) {
          fr.shares.assign(f.categories.size(), 0.0);
          for (const double x : values) {
            if (f.is_unseen_category(x)) continue;
            const auto it = std::lower_bound(f.categories.begin(), f.categories.end(),
                                             static_cast<std::int64_t>(x));
            fr.shares[static_cast<std::size_t>(it - f.categories.begin())] += 1.0;
          }
          for (double& c : fr.shares) c /= n;
        } else {
          std::sort(values.begin(), values.end());
          fr.edges = quantile_edges(values, n_bins);
          fr.shares = bin_shares(fr.edges, values, n);
        }
        r.features.push_back(std::move(fr));
      }
    });
    std::vector<double> s = scores;
    for (const double x : s) {
      if (!std::isfinite(x)) {
        throw InvalidInput(
            "MonitoringReference::from_data: a score is not finite; pass "
            "calibrated probabilities.");
      }
    }
    std::sort(s.begin(), s.end());
    r.score.edges = quantile_edges(s, n_bins);
    r.score.shares = bin_shares(r.score.edges, s, static_cast<double>(s.size()));
    r.score.n_rows = static_cast<Index>(s.size());
    const auto alerts = s.end() - std::lower_bound(s.begin(), s.end(), threshold);
    r.score.alert_rate = static_cast<double>(alerts) / static_cast<double>(s.size());
    return r;
  }

  /// Checks sizes and values against `schema` (one entry per feature, categorical entries sized
  /// like the categories, edges finite and strictly increasing, shares and missing shares in
  /// [0, 1] summing to 1 within 1e-6). An empty reference is valid. Throws InvalidInput.
  void validate(const FeatureSchema& schema,
                const std::string& where = "MonitoringReference::validate") const {
    if (empty()) return;
    if (features.size() != schema.features.size()) {
      throw InvalidInput(where + ": " + std::to_string(features.size()) +
                         " feature references for " + std::to_string(schema.features.size()) +
                         " schema features; there must be one per feature.");
    }
    for (std::size_t j = 0; j < features.size(); ++j) {
      const FeatureReference& f = features[j];
      const FeatureInfo& info = schema.features[j];
      const std::string at = where + ": features[" + std::to_string(j) + "] (" + info.name + ")";
      const std::size_t bins = info.categorical ? info.categories.size() : f.edges.size() + 1;
      if (info.categorical && !f.edges.empty()) {
        throw InvalidInput(at + " is categorical but has bin edges; categories are its bins.");
      }
      check_bins(f.edges, f.shares, bins, f.missing_share, at);
    }
    check_bins(score.edges, score.shares, score.edges.size() + 1, 0.0, where + ": score");
    if (score.n_rows < 1 || !(score.alert_rate >= 0.0 && score.alert_rate <= 1.0)) {
      throw InvalidInput(where + ": score has n_rows " + std::to_string(score.n_rows) +
                         " and alert_rate " + std::to_string(score.alert_rate) +
                         "; n_rows must be >= 1 and alert_rate in [0, 1].");
    }
  }

 private:
  static void check_bins(const std::vector<double>& edges, const std::vector<double>& shares,
                         std::size_t bins, double missing, const std::string& at) {
    for (std::size_t k = 0; k < edges.size(); ++k) {
      if (!std::isfinite(edges[k]) || (k > 0 && !(edges[k] > edges[k - 1]))) {
        throw InvalidInput(at + ": edges must be finite and strictly increasing (position " +
                           std::to_string(k) + ").");
      }
    }
    if (shares.size() != bins) {
      throw InvalidInput(at + ": " + std::to_string(shares.size()) + " shares for " +
                         std::to_string(bins) + " bins; there must be one share per bin.");
    }
    double total = missing;
    bool in_range = missing >= 0.0 && missing <= 1.0;
    for (const double s : shares) {
      in_range = in_range && s >= 0.0 && s <= 1.0;
      total += s;
    }
    if (!in_range || !(std::fabs(total - 1.0) <= 1e-6)) {
      throw InvalidInput(at +
                         ": shares (and the missing share) must lie in [0, 1] and sum to 1; "
                         "they sum to " +
                         std::to_string(total) + ".");
    }
  }
};

}  // namespace calibrisk
