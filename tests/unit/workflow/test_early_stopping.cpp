// SPDX-License-Identifier: Apache-2.0
// The workflow's defaults (docs/defaults.md): early stopping on the latest-entering patients of the
// training part when it is large enough, checked against a validation part built here from the
// patients' entry dates and a GradientBoostedTrees fitted by hand on it; the estimator defaults
// stay scikit-learn's.
#include <doctest/doctest.h>

#include "cli/model_params.hpp"
#include "cli/progress.hpp"
#include "cli/train_flow.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/workflow/data.hpp>
#include <calibrisk/workflow/train.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// 1,200 rows: 300 patients of 4 visits whose entry day grows with the patient id (ties broken by
// a shuffle of the first visit), one informative feature and a noise feature.
std::string cohort_csv() {
  Rng rng(5, 0);
  std::string s = "pid,day,x1,x2,y\n";
  for (int i = 0; i < 1200; ++i) {
    const int pid = (i * 7) % 300;  // visits of a patient are spread over the file
    const int day = pid + 30 * (i / 300);
    const double x1 = rng.normal(), x2 = rng.normal();
    const int y = rng.uniform() < 1.0 / (1.0 + std::exp(-(1.5 * x1 - 0.5))) ? 1 : 0;
    s += std::to_string(pid) + "," + std::to_string(day) + "," + std::to_string(x1) + "," +
         std::to_string(x2) + "," + std::to_string(y) + "\n";
  }
  return s;
}

ColumnRoles roles() {
  ColumnRoles r;
  r.label = "y";
  r.group = "pid";
  r.time = "day";
  return r;
}

Table table() {
  return parse_csv(cohort_csv(), training_read_options(roles(), {"pid", "day", "x1", "x2", "y"}));
}

std::string prov(const TrainResult& r, const char* key) {
  return cli::provenance_value(*r.pipeline, key);
}

}  // namespace

TEST_CASE("defaults: the estimator keeps scikit-learn's defaults; the workflow stops early") {
  const GBDTParams est;  // HistGradientBoostingClassifier: max_iter 100, lr 0.1, leaf 20, l2 0
  CHECK(est.n_estimators == 100);
  CHECK(est.learning_rate == 0.1);
  CHECK(est.min_samples_leaf == 20);
  CHECK(est.l2_regularization == 0.0);
  CHECK_FALSE(est.early_stopping);
  const TrainSpec spec;
  CHECK(parameter_text(spec.gbdt) == parameter_text(workflow_gbdt_defaults()));
  CHECK(spec.gbdt.early_stopping);
  // The benchmark's choice (docs/defaults.md); everything else as the estimator.
  CHECK(spec.gbdt.min_samples_leaf == 100);
  GBDTParams same = spec.gbdt;
  same.min_samples_leaf = est.min_samples_leaf;
  same.early_stopping = est.early_stopping;
  CHECK(parameter_text(same) == parameter_text(est));
  CHECK(spec.early_stopping_min_rows == 10000);
  CHECK(spec.early_stopping_max_rounds == 300);  // the cap of early-stopped fits
  CHECK(spec.early_stopping_patience == 20);     // their patience (estimator: 10)
  CHECK(est.n_iter_no_change == 10);
}

TEST_CASE("defaults: early_stopping_max_rounds caps early-stopped fits, n_estimators the others") {
  const Table t = table();
  TrainSpec spec;
  spec.columns = roles();
  spec.gbdt.n_threads = 1;
  spec.early_stopping_min_rows = 100;  // the 720-row training part stops early
  spec.early_stopping_max_rounds = 7;  // binds: the signal keeps improving past 7 rounds
  const TrainResult r = train_pipeline(t, spec);
  REQUIRE(r.early_stopping.used);
  CHECK(r.early_stopping.max_rounds == 7);
  CHECK(r.early_stopping.rounds_run <= 7);
  CHECK(prov(r, "fit.max_rounds") == "7");
  CHECK(prov(r, "fit.patience") == "20");
  CHECK(prov(r, "model.n_estimators") == "100");  // the fixed count, unchanged
  // Oracle: the same run capped by n_estimators = 7 itself (early_stopping_max_rounds = 0),
  // whose early-stopped and refitted trees the other tests check against the estimator.
  TrainSpec by_n = spec;
  by_n.early_stopping_max_rounds = 0;
  by_n.gbdt.n_estimators = 7;
  by_n.early_stopping_patience = 0;
  by_n.gbdt.n_iter_no_change = 20;
  const TrainResult e = train_pipeline(t, by_n);
  CHECK(e.early_stopping.max_rounds == 7);
  CHECK(e.early_stopping.refit_rounds == r.early_stopping.refit_rounds);
  for (Index i = 0; i < e.test.p_model.size(); ++i) CHECK(r.test.p_model[i] == e.test.p_model[i]);
  // Without early stopping (a small part) the cap is unused: n_estimators trees.
  spec.early_stopping_min_rows = 10000;
  const TrainResult f = train_pipeline(t, spec);
  CHECK_FALSE(f.early_stopping.used);
  CHECK(f.early_stopping.rounds_kept == 100);
  CHECK(prov(f, "fit.max_rounds").empty());
  spec.early_stopping_max_rounds = -1;
  CHECK_THROWS_WITH_AS(train_pipeline(t, spec),
                       doctest::Contains("early_stopping_max_rounds must be >= 0, got -1"),
                       InvalidParams);
}

TEST_CASE("defaults: a small training part fits every tree on all its rows") {
  const Table t = table();
  TrainSpec spec;
  spec.columns = roles();
  spec.gbdt.n_threads = 1;
  const TrainResult r = train_pipeline(t, spec);
  CHECK_FALSE(r.early_stopping.used);
  CHECK(r.early_stopping.fit_rows == static_cast<Index>(r.train.rows.size()));
  CHECK(r.early_stopping.rounds_kept == spec.gbdt.n_estimators);
  CHECK(prov(r, "fit.early_stopping") == "off");
  CHECK(prov(r, "fit.early_stopping.reason").find("fewer than 10,000") != std::string::npos);
  // The same model as the estimator fitted on the training part without early stopping.
  GBDTParams p = spec.gbdt;
  p.early_stopping = false;
  GradientBoostedTrees m(p);
  m.fit(Dataset(FeatureMatrix(view(r.train.X)), VectorView<const double>(r.train.y)));
  const Eigen::VectorXd expect = m.predict_proba(FeatureMatrix(view(r.test.X)));
  for (Index i = 0; i < expect.size(); ++i) CHECK(r.test.p_model[i] == expect[i]);
}

TEST_CASE("defaults: early stopping holds out the latest-entering patients of the training part") {
  const Table t = table();
  TrainSpec spec;
  spec.columns = roles();
  spec.gbdt.n_threads = 1;
  spec.gbdt.n_estimators = 300;
  spec.early_stopping_min_rows = 100;                     // make the 720-row training part "large"
  spec.early_stopping_refit = EarlyStoppingRefit::kNone;  // the early-stopped trees themselves
  const TrainResult r = train_pipeline(t, spec);
  REQUIRE(r.early_stopping.used);
  const EarlyStoppingRecord& es = r.early_stopping;
  const Index n = static_cast<Index>(r.train.rows.size());
  CHECK(es.fit_rows + es.validation_rows == n);
  CHECK(es.refit == EarlyStoppingRefit::kNone);
  CHECK(prov(r, "fit.refit") == "none");
  CHECK(prov(r, "fit.refit_rounds").empty());
  CHECK(std::abs(static_cast<double>(es.validation_rows) - 0.1 * static_cast<double>(n)) <= 4.0);
  CHECK(es.rounds_kept < es.rounds_run);  // stopped before 300 on this easy one-feature signal
  CHECK(prov(r, "fit.early_stopping") == "on");
  CHECK(prov(r, "fit.validation_rows") == std::to_string(es.validation_rows));
  CHECK(prov(r, "fit.rounds_kept") == std::to_string(es.rounds_kept));

  // Oracle: the training part's patients ordered by entry (first day, ties by first row); the
  // last validation_groups of them are the validation part, every visit of theirs and no other.
  const std::vector<double>& pid = t.column("pid").values;
  const std::vector<double>& day = t.column("day").values;
  std::map<double, std::pair<double, Index>> entry;  // pid -> (first day, first position)
  for (Index k = 0; k < n; ++k) {
    const auto row = static_cast<std::size_t>(r.train.rows[static_cast<std::size_t>(k)]);
    auto it = entry.find(pid[row]);
    if (it == entry.end()) {
      entry[pid[row]] = {day[row], k};
    } else {
      it->second.first = std::min(it->second.first, day[row]);
    }
  }
  std::vector<std::pair<std::pair<double, Index>, double>> order;
  for (const auto& [p, e] : entry) order.push_back({e, p});
  std::sort(order.begin(), order.end());
  std::set<double> late;
  for (std::size_t g = order.size() - static_cast<std::size_t>(es.validation_groups);
       g < order.size(); ++g) {
    late.insert(order[g].second);
  }
  std::vector<Index> fit, valid;
  for (Index k = 0; k < n; ++k) {
    const double p = pid[static_cast<std::size_t>(r.train.rows[static_cast<std::size_t>(k)])];
    (late.count(p) ? valid : fit).push_back(k);
  }
  CHECK(static_cast<Index>(valid.size()) == es.validation_rows);
  // ... and the workflow's trees are the estimator's fitted on exactly these rows.
  const RowMatrixXd Xf = take_rows(r.train.X, fit), Xv = take_rows(r.train.X, valid);
  const std::vector<double> yf = take(r.train.y, fit), yv = take(r.train.y, valid);
  GradientBoostedTrees m(spec.gbdt);
  m.fit(Dataset(FeatureMatrix(view(Xf)), VectorView<const double>(yf)),
        Dataset(FeatureMatrix(view(Xv)), VectorView<const double>(yv)));
  CHECK(m.best_iteration() == es.rounds_kept);
  const Eigen::VectorXd expect = m.predict_proba(FeatureMatrix(view(r.test.X)));
  for (Index i = 0; i < expect.size(); ++i) CHECK(r.test.p_model[i] == expect[i]);
}

TEST_CASE("defaults: after early stopping the trees are refitted on every training row") {
  // The default (EarlyStoppingRefit::kSame): early stopping on the latest patients chooses the
  // number of rounds; the final trees are the estimator's without early stopping, with exactly
  // that many rounds, fitted on all training rows. kScaled scales the rounds by all / fitting rows.
  const Table t = table();
  TrainSpec spec;
  CHECK(spec.early_stopping_refit == EarlyStoppingRefit::kSame);  // the default
  spec.columns = roles();
  spec.gbdt.n_threads = 1;
  spec.gbdt.n_estimators = 300;
  spec.early_stopping_min_rows = 100;
  TrainSpec none = spec;
  none.early_stopping_refit = EarlyStoppingRefit::kNone;
  const TrainResult stopped = train_pipeline(t, none);  // its rounds and held-out rows
  const EarlyStoppingRecord& s0 = stopped.early_stopping;
  REQUIRE(s0.used);
  REQUIRE(s0.rounds_kept < spec.gbdt.n_estimators);
  const Index n = static_cast<Index>(stopped.train.rows.size());
  for (const EarlyStoppingRefit mode : {EarlyStoppingRefit::kSame, EarlyStoppingRefit::kScaled}) {
    INFO(enum_to_text(mode));
    spec.early_stopping_refit = mode;
    const TrainResult r = train_pipeline(t, spec);
    const EarlyStoppingRecord& es = r.early_stopping;
    REQUIRE(es.used);
    const int rounds = mode == EarlyStoppingRefit::kSame
                           ? s0.rounds_kept
                           : static_cast<int>(std::lround(s0.rounds_kept * static_cast<double>(n) /
                                                          static_cast<double>(s0.fit_rows)));
    CHECK(es.rounds_kept == s0.rounds_kept);
    CHECK(es.validation_rows == s0.validation_rows);
    CHECK(es.refit == mode);
    CHECK(es.refit_rounds == rounds);
    CHECK(es.fit_rows == n);
    CHECK(prov(r, "fit.rows") == std::to_string(n));
    CHECK(prov(r, "fit.refit") == enum_to_text(mode));
    CHECK(prov(r, "fit.refit_rounds") == std::to_string(rounds));
    CHECK(prov(r, "fit.rounds_kept") == std::to_string(s0.rounds_kept));
    // Oracle: the estimator fitted by hand on every training row with that many trees.
    GBDTParams p = spec.gbdt;
    p.early_stopping = false;
    p.n_estimators = rounds;
    GradientBoostedTrees m(p);
    m.fit(Dataset(FeatureMatrix(view(r.train.X)), VectorView<const double>(r.train.y)));
    CHECK(m.n_iter() == rounds);
    CHECK(encode_model(m) == encode_model(r.pipeline->model()));
    const Eigen::VectorXd expect = m.predict_proba(FeatureMatrix(view(r.test.X)));
    for (Index i = 0; i < expect.size(); ++i) CHECK(r.test.p_model[i] == expect[i]);
  }
}

TEST_CASE("defaults: --param early_stopping=false turns it off; a bad threshold is refused") {
  const Table t = table();
  cli::TrainConfig cfg;
  cfg.roles = roles();
  cfg.model = "gbdt";  // the trees' setting (the CLI's default, auto, may pick lr)
  cfg.params = {"early_stopping=false"};
  cli::Progress quiet(true);
  const cli::TrainOutcome out = cli::train_on_table(t, cfg, quiet);
  CHECK(cli::provenance_value(*out.pipeline, "fit.early_stopping.reason") ==
        "early_stopping=false");
  TrainSpec spec;
  spec.columns = roles();
  spec.early_stopping_min_rows = -1;
  CHECK_THROWS_WITH_AS(train_pipeline(t, spec),
                       doctest::Contains("early_stopping_min_rows must be >= 0, got -1"),
                       InvalidParams);
  spec.model = ModelKind::kLogisticRegression;
  spec.early_stopping_min_rows = 0;
  const TrainResult lr = train_pipeline(t, spec);
  CHECK(cli::provenance_value(*lr.pipeline, "fit.early_stopping").empty());
}

TEST_CASE("defaults: too few patients for a validation part: no early stopping, with a note") {
  // 5 patients of 200 rows: the training part holds 3 of them, too few to hold out 10% by patient.
  Rng rng(9, 0);
  std::string csv = "pid,day,x1,y\n";
  for (int i = 0; i < 1000; ++i) {
    const double x1 = rng.normal();
    const int y = rng.uniform() < 1.0 / (1.0 + std::exp(-x1)) ? 1 : 0;
    csv += std::to_string(i / 200) + "," + std::to_string(i) + "," + std::to_string(x1) + "," +
           std::to_string(y) + "\n";
  }
  const Table t = parse_csv(csv, training_read_options(roles(), {"pid", "day", "x1", "y"}));
  TrainSpec spec;
  spec.columns = roles();
  spec.gbdt.n_threads = 1;
  spec.early_stopping_min_rows = 100;
  const TrainResult r = train_pipeline(t, spec);
  CHECK_FALSE(r.early_stopping.used);
  CHECK(r.early_stopping.fit_rows == static_cast<Index>(r.train.rows.size()));
  CHECK(r.early_stopping.reason.find("cannot give a validation part") != std::string::npos);
  bool noted = false;
  for (const auto& n : r.notes) noted |= n.find("no early stopping") != std::string::npos;
  CHECK(noted);
}
