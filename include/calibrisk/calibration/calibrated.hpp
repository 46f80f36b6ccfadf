// SPDX-License-Identifier: Apache-2.0
/// @file calibrated.hpp
/// Cross-fitted calibration of any model: the model is fitted on one part of the data and the
/// calibrator on the model's scores on another (stratified, grouped by patient, or time-ordered),
/// as scikit-learn's CalibratedClassifierCV (Platt 2000; Zadrozny & Elkan 2002). The folds and
/// the time cut come from the split module (<calibrisk/split/split.hpp>).
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/split/split.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

/// How `CalibratedModel` splits the data.
enum class CrossFitSplit {
  kStratified,  ///< k folds with each class spread evenly (groups ignored).
  kGrouped,     ///< k folds of whole groups (a patient is never on both sides), classes balanced.
  kTime,        ///< one split: the model on the earlier rows, the calibrator on the later ones.
};

/// Spellings of CrossFitSplit (Python's cv="group"/"time" map onto these).
inline const EnumTable<CrossFitSplit>& enum_table(CrossFitSplit) {
  static const EnumText<CrossFitSplit> e[] = {{CrossFitSplit::kStratified, "stratified"},
                                              {CrossFitSplit::kGrouped, "grouped"},
                                              {CrossFitSplit::kTime, "time"}};
  static const EnumTable<CrossFitSplit> t{e, 3, "CrossFitSplit"};
  return t;
}

/// Hyper-parameters of `CalibratedModel`, declared once in `fields`.
struct CalibratedParams {
  static constexpr const char* kName = "CalibratedParams";
  CrossFitSplit split = CrossFitSplit::kStratified;
  int cv = 5;
  bool ensemble = true;
  double calibration_fraction = 0.2;
  std::uint64_t random_state = 0;

  template <class V>
  static void fields(V& v) {
    using P = CalibratedParams;
    v("split", &P::split, any_value(), "How the data are split: stratified, grouped or time.");
    v("cv", &P::cv, at_least(2), "Number of folds for stratified / grouped splits.");
    v("ensemble", &P::ensemble, any_value(),
      "true: one (model, calibrator) per fold, probabilities averaged (as scikit-learn); false: "
      "out-of-fold scores fit one calibrator and the model is refitted on all rows. Ignored for "
      "time splits.");
    v("calibration_fraction", &P::calibration_fraction, open_open(0, 1),
      "time split: share of rows (the latest) used for calibration; rows sharing the cut time all "
      "go to the calibration part.");
    v("random_state", &P::random_state, any_value(), "Seed of the fold shuffling.");
  }

  void validate() const { validate_params(*this); }
};

namespace detail {

/// Rows of a Dataset copied into owned storage (the element type of X is kept).
struct OwnedRows {
  RowMatrixXd Xd;
  RowMatrixXf Xf;
  bool is_float = false;
  std::vector<double> y, w;
  Dataset view() const {
    Dataset d;
    d.X = is_float
              ? FeatureMatrix(MatrixView<const float>::row_major(Xf.data(), Xf.rows(), Xf.cols()))
              : FeatureMatrix(MatrixView<const double>::row_major(Xd.data(), Xd.rows(), Xd.cols()));
    d.y = VectorView<const double>(y);
    if (!w.empty()) d.sample_weight = VectorView<const double>(w);
    return d;
  }
};

inline OwnedRows take_rows(const Dataset& d, const std::vector<Index>& rows) {
  OwnedRows o;
  o.is_float = d.X.is_float();
  const Index n = static_cast<Index>(rows.size()), p = d.X.cols();
  d.X.visit([&](const auto& m) {
    using T = typename std::decay_t<decltype(m)>::value_type;
    auto& dst = [&]() -> auto& {
      if constexpr (std::is_same_v<T, float>) {
        return o.Xf;
      } else {
        return o.Xd;
      }
    }
    ();
    dst.resize(n, p);
    for (Index r = 0; r < n; ++r) {
      for (Index j = 0; j < p; ++j) dst(r, j) = m(rows[static_cast<std::size_t>(r)], j);
    }
  });
  o.y.resize(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) o.y[r] = d.y[rows[r]];
  if (!d.sample_weight.empty()) {
    o.w.resize(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) o.w[r] = d.sample_weight[rows[r]];
  }
  return o;
}

inline void require_both_classes(const std::vector<double>& y, const std::string& what) {
  bool has0 = false, has1 = false;
  for (const double v : y) (v == 1.0 ? has1 : has0) = true;
  if (!has0 || !has1) {
    throw InvalidInput("CalibratedModel::fit: the " + what + " contains only class " +
                       (has1 ? "1" : "0") +
                       "; use fewer folds, another seed, or more rows of the rare class.");
  }
}

}  // namespace detail

/// A model plus calibrator(s) fitted by cross-fitting.
///
/// `Model` needs: copy construction (the unfitted prototype is copied per fold),
/// `fit(const Dataset&)` and `Eigen::VectorXd predict_proba(const FeatureMatrix&) const`
/// (P(y = 1) per row). `Calibrator` needs `fit(scores, y, sample_weight)` and
/// `Eigen::VectorXd predict(VectorView<const double>) const`; it receives the model's
/// probabilities (so use ScoreKind::kProbability with PlattCalibrator for the logit).
///
/// Thread-safety: predict_proba is const and thread-safe if the members' are. Complexity: k model
/// fits (k + 1 with ensemble = false) plus k (or 1) calibrator fits.
template <class Model, class Calibrator>
class CalibratedModel {
 public:
  CalibratedModel(Model model, Calibrator calibrator, CalibratedParams params = {})
      : model_(std::move(model)), calibrator_(std::move(calibrator)), params_(params) {
    params_.validate();
  }

  /// Cross-fits with params().split = kStratified, or kGrouped with one group id per row in
  /// `groups` (required then). Validates the data; throws InvalidInput on bad input or when a
  /// fold lacks a class.
  CalibratedModel& fit(const Dataset& d, VectorView<const double> groups = {}) {
    params_.validate();
    validate_dataset(d, "CalibratedModel::fit");
    std::vector<int> fold;
    if (params_.split == CrossFitSplit::kGrouped) {
      if (groups.empty()) {
        throw InvalidInput(
            "CalibratedModel::fit: split is kGrouped but no groups were passed; "
            "pass one group id per row.");
      }
      fold = grouped_folds(d.y, groups, params_.cv, params_.random_state);
    } else if (params_.split == CrossFitSplit::kStratified) {
      fold = stratified_folds(d.y, params_.cv, params_.random_state);
    } else {
      throw InvalidInput("CalibratedModel::fit: split is kTime; call fit_time_ordered(d, time).");
    }
    fold_ = fold;
    members_.clear();
    const Index n = d.n_samples();
    std::vector<double> oof_scores, oof_y, oof_w;
    std::vector<Index> oof_rows;
    for (int f = 0; f < params_.cv; ++f) {
      std::vector<Index> tr, ca;
      for (Index i = 0; i < n; ++i) (fold[static_cast<std::size_t>(i)] == f ? ca : tr).push_back(i);
      detail::OwnedRows train = detail::take_rows(d, tr), calib = detail::take_rows(d, ca);
      detail::require_both_classes(train.y, "fitting part of fold " + std::to_string(f));
      Model m = model_;
      m.fit(train.view());
      Eigen::VectorXd s = m.predict_proba(calib.view().X);
      if (params_.ensemble) {
        detail::require_both_classes(calib.y, "calibration part of fold " + std::to_string(f));
        Calibrator c = calibrator_;
        c.fit(VectorView<const double>(s), VectorView<const double>(calib.y),
              calib.w.empty() ? VectorView<const double>() : VectorView<const double>(calib.w));
        members_.emplace_back(std::move(m), std::move(c));
      } else {
        for (std::size_t r = 0; r < ca.size(); ++r) {
          oof_scores.push_back(s[static_cast<Index>(r)]);
          oof_y.push_back(calib.y[r]);
          if (!calib.w.empty()) oof_w.push_back(calib.w[r]);
        }
      }
    }
    if (!params_.ensemble) {
      Calibrator c = calibrator_;
      c.fit(VectorView<const double>(oof_scores), VectorView<const double>(oof_y),
            oof_w.empty() ? VectorView<const double>() : VectorView<const double>(oof_w));
      Model m = model_;
      m.fit(d);
      members_.emplace_back(std::move(m), std::move(c));
    }
    return *this;
  }

  /// Time-ordered split: the model is fitted on the rows before the cut and the calibrator on
  /// the later rows only (params().calibration_fraction of them). `time` is one finite-or-inf
  /// stamp per row (any unit). Throws InvalidInput on bad input or a part lacking a class.
  CalibratedModel& fit_time_ordered(const Dataset& d, VectorView<const double> time) {
    params_.validate();
    validate_dataset(d, "CalibratedModel::fit_time_ordered");
    if (time.size() != d.n_samples()) {
      throw InvalidInput("CalibratedModel::fit_time_ordered: time has " +
                         std::to_string(time.size()) + " values but X has " +
                         std::to_string(d.n_samples()) + " rows; pass one time per row.");
    }
    fold_ = time_split(time, params_.calibration_fraction);
    std::vector<Index> tr, ca;
    for (Index i = 0; i < d.n_samples(); ++i)
      (fold_[static_cast<std::size_t>(i)] ? ca : tr).push_back(i);
    detail::OwnedRows train = detail::take_rows(d, tr), calib = detail::take_rows(d, ca);
    detail::require_both_classes(train.y, "earlier (fitting) part");
    detail::require_both_classes(calib.y, "later (calibration) part");
    members_.clear();
    Model m = model_;
    m.fit(train.view());
    Eigen::VectorXd s = m.predict_proba(calib.view().X);
    Calibrator c = calibrator_;
    c.fit(VectorView<const double>(s), VectorView<const double>(calib.y),
          calib.w.empty() ? VectorView<const double>() : VectorView<const double>(calib.w));
    members_.emplace_back(std::move(m), std::move(c));
    return *this;
  }

  /// Calibrated P(y = 1) per row: the average over members of calibrator(model(X)).
  /// Throws NotFitted before fit.
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const {
    if (members_.empty()) {
      throw NotFitted("CalibratedModel::predict_proba: not fitted; call fit first.");
    }
    Eigen::VectorXd acc = Eigen::VectorXd::Zero(X.rows());
    for (const auto& [m, c] : members_) {
      const Eigen::VectorXd s = m.predict_proba(X);
      acc += c.predict(VectorView<const double>(s));
    }
    return acc / static_cast<double>(members_.size());
  }

  /// The fitted (model, calibrator) pairs: k with ensemble = true, else one.
  const std::vector<std::pair<Model, Calibrator>>& members() const noexcept { return members_; }
  /// Per training row: the fold whose calibrator saw it (k-fold), or 0 = fitting part /
  /// 1 = calibration part (time split). Empty before fit.
  const std::vector<int>& fold_of_row() const noexcept { return fold_; }
  bool is_fitted() const noexcept { return !members_.empty(); }
  const CalibratedParams& params() const noexcept { return params_; }

 private:
  Model model_;
  Calibrator calibrator_;
  CalibratedParams params_;
  std::vector<std::pair<Model, Calibrator>> members_;
  std::vector<int> fold_;
};

}  // namespace calibrisk
