// SPDX-License-Identifier: Apache-2.0
// Cross-fitted calibration: fold properties (stratified, grouped never leaks, time-ordered) with a
// tiny test model.
#include <doctest/doctest.h>
#include <calibrisk/calibration/calibrated.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/core/random.hpp>

#include <map>
#include <set>
#include <vector>

using namespace calibrisk;

namespace {
// Nearest-class-mean direction model: score = (mu1 - mu0) . x, squashed by a sigmoid. It counts
// how often it was fitted and remembers the largest "time" column value it saw (column 1).
struct TinyModel {
  Eigen::VectorXd dir;
  double mid = 0.0;
  double max_seen_col1 = -1e300;
  std::set<double> seen_col2;
  TinyModel& fit(const Dataset& d) {
    const Index p = d.n_features();
    Eigen::VectorXd m0 = Eigen::VectorXd::Zero(p), m1 = Eigen::VectorXd::Zero(p);
    double n0 = 0, n1 = 0;
    d.X.visit([&](const auto& X) {
      for (Index i = 0; i < X.rows(); ++i) {
        for (Index j = 0; j < p; ++j) (d.y[i] == 1 ? m1 : m0)[j] += X(i, j);
        (d.y[i] == 1 ? n1 : n0) += 1;
        max_seen_col1 = std::max(max_seen_col1, static_cast<double>(X(i, 1)));
        seen_col2.insert(static_cast<double>(X(i, 2)));
      }
    });
    dir = m1 / n1 - m0 / n0;
    mid = 0.5 * dir.dot(m1 / n1 + m0 / n0);
    return *this;
  }
  Eigen::VectorXd predict_proba(const FeatureMatrix& X) const {
    Eigen::VectorXd out(X.rows());
    X.visit([&](const auto& M) {
      for (Index i = 0; i < M.rows(); ++i) {
        double z = -mid;
        for (Index j = 0; j < M.cols(); ++j) z += dir[j] * static_cast<double>(M(i, j));
        out[i] = calibrisk::sigmoid(z);
      }
    });
    return out;
  }
};

struct Problem {
  RowMatrixXd X;
  std::vector<double> y, groups, time;
};
Problem make_problem(int n, std::uint64_t seed) {
  Rng rng(seed);
  Problem p;
  p.X.resize(n, 3);
  for (int i = 0; i < n; ++i) {
    const double x0 = rng.normal();
    p.y.push_back(rng.uniform() < calibrisk::sigmoid(2.0 * x0) ? 1.0 : 0.0);
    p.time.push_back(static_cast<double>(i / 3));  // ties in time
    p.groups.push_back(static_cast<double>(rng.below(40)));
    p.X(i, 0) = x0;
    p.X(i, 1) = p.time.back();
    p.X(i, 2) = p.groups.back();
  }
  return p;
}
}  // namespace

TEST_CASE("calibrated: grouped cross-fitting never puts a group on both sides") {
  const Problem pr = make_problem(600, 3);
  Dataset d(view(pr.X), pr.y);
  CalibratedParams cp;
  cp.split = CrossFitSplit::kGrouped;
  cp.cv = 4;
  CalibratedModel<TinyModel, IsotonicCalibrator> cm(TinyModel{}, IsotonicCalibrator{}, cp);
  cm.fit(d, pr.groups);
  REQUIRE(cm.members().size() == 4);
  std::map<double, int> fold_of_group;
  for (std::size_t i = 0; i < pr.y.size(); ++i) {
    auto [it, fresh] = fold_of_group.emplace(pr.groups[i], cm.fold_of_row()[i]);
    CHECK(it->second == cm.fold_of_row()[i]);
  }
  // Member f's model never saw a group calibrated in fold f.
  for (int f = 0; f < 4; ++f) {
    for (const auto& [g, fg] : fold_of_group) {
      if (fg == f) CHECK(cm.members()[static_cast<std::size_t>(f)].first.seen_col2.count(g) == 0);
    }
  }
  const auto p = cm.predict_proba(d.X);
  for (Index i = 0; i < p.size(); ++i) CHECK((p[i] >= 0.0 && p[i] <= 1.0));
  CHECK_THROWS_WITH_AS(cm.fit(d), doctest::Contains("no groups were passed"), InvalidInput);
}

TEST_CASE("calibrated: stratified folds balance classes; ensemble=false refits on all rows") {
  const Problem pr = make_problem(500, 5);
  Dataset d(view(pr.X), pr.y);
  CalibratedParams cp;
  cp.cv = 5;
  cp.ensemble = false;
  PlattParams pp;
  pp.input = ScoreKind::kProbability;
  CalibratedModel<TinyModel, PlattCalibrator> cm(TinyModel{}, PlattCalibrator(pp), cp);
  cm.fit(d);
  REQUIRE(cm.members().size() == 1);
  CHECK(cm.members()[0].first.max_seen_col1 == pr.time.back());  // refit saw every row
  int pos[5] = {0, 0, 0, 0, 0}, all[5] = {0, 0, 0, 0, 0};
  for (std::size_t i = 0; i < pr.y.size(); ++i) {
    all[cm.fold_of_row()[i]] += 1;
    pos[cm.fold_of_row()[i]] += pr.y[i] == 1.0;
  }
  for (int f = 0; f < 5; ++f) {
    CHECK(all[f] == 100);
    CHECK(std::abs(pos[f] - pos[0]) <= 1);
  }
  // Deterministic for a seed.
  CalibratedModel<TinyModel, PlattCalibrator> again(TinyModel{}, PlattCalibrator(pp), cp);
  again.fit(d);
  CHECK(again.fold_of_row() == cm.fold_of_row());
  CHECK(again.members()[0].second.a() == cm.members()[0].second.a());
}

TEST_CASE("calibrated: time split fits the model on earlier rows and calibrates on later ones") {
  const Problem pr = make_problem(601, 8);
  Dataset d(view(pr.X), pr.y);
  CalibratedParams cp;
  cp.split = CrossFitSplit::kTime;
  cp.calibration_fraction = 0.25;
  CalibratedModel<TinyModel, IsotonicCalibrator> cm(TinyModel{}, IsotonicCalibrator{}, cp);
  cm.fit_time_ordered(d, pr.time);
  REQUIRE(cm.members().size() == 1);
  double earliest_calibration = 1e300;
  Index n_cal = 0;
  for (std::size_t i = 0; i < pr.y.size(); ++i) {
    if (cm.fold_of_row()[i] == 1) {
      earliest_calibration = std::min(earliest_calibration, pr.time[i]);
      ++n_cal;
    }
  }
  CHECK(cm.members()[0].first.max_seen_col1 < earliest_calibration);  // strictly earlier
  CHECK(n_cal >= 150);
  CHECK(n_cal <= 153);
  CHECK_THROWS_WITH_AS(cm.fit(d), doctest::Contains("fit_time_ordered"), InvalidInput);
}

TEST_CASE("calibrated: too few rows of a class for the folds is a clear error") {
  RowMatrixXd X(6, 3);
  X.setRandom();
  std::vector<double> y{0, 0, 0, 0, 1, 1};
  CalibratedModel<TinyModel, IsotonicCalibrator> cm(TinyModel{}, IsotonicCalibrator{});
  CHECK_THROWS_WITH_AS(cm.fit(Dataset(view(X), y)), doctest::Contains("lower cv"), InvalidInput);
  CalibratedParams bad;
  bad.cv = 1;
  CHECK_THROWS_WITH_AS(
      (CalibratedModel<TinyModel, IsotonicCalibrator>(TinyModel{}, IsotonicCalibrator{}, bad)),
      doctest::Contains("cv must be >= 2"), InvalidParams);
}

#include <calibrisk/linear/logistic.hpp>

TEST_CASE(
    "calibrated: with calibrisk's LogisticRegression, ensemble=false equals a manual "
    "out-of-fold isotonic fit") {
  const Problem pr = make_problem(400, 12);
  Dataset d(view(pr.X), pr.y);
  CalibratedParams cp;
  cp.cv = 4;
  cp.ensemble = false;
  cp.random_state = 9;
  CalibratedModel<LogisticRegression, IsotonicCalibrator> cm(LogisticRegression{},
                                                             IsotonicCalibrator{}, cp);
  cm.fit(d);
  // Recompute the out-of-fold scores by hand with the same folds.
  std::vector<double> oof(pr.y.size());
  for (int f = 0; f < 4; ++f) {
    std::vector<Index> tr, ca;
    for (std::size_t i = 0; i < pr.y.size(); ++i) {
      (cm.fold_of_row()[i] == f ? ca : tr).push_back(static_cast<Index>(i));
    }
    const auto train = detail::take_rows(d, tr), calib = detail::take_rows(d, ca);
    LogisticRegression m;
    m.fit(train.view());
    const Eigen::VectorXd s = m.predict_proba(calib.view().X);
    for (std::size_t r = 0; r < ca.size(); ++r)
      oof[static_cast<std::size_t>(ca[r])] = s[static_cast<Index>(r)];
  }
  IsotonicCalibrator ref;
  ref.fit(oof, pr.y);
  LogisticRegression full;
  full.fit(d);
  const Eigen::VectorXd expect = ref.predict(VectorView<const double>(full.predict_proba(d.X)));
  const Eigen::VectorXd got = cm.predict_proba(d.X);
  for (Index i = 0; i < got.size(); ++i) CHECK(got[i] == expect[i]);
}
