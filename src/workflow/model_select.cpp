// SPDX-License-Identifier: Apache-2.0
// ModelKind::kAuto: the workflow's choice between logistic regression and boosted trees by
// held-out log loss on the training part (select_model in train.hpp; docs/defaults.md).
#include <calibrisk/workflow/train.hpp>

#include "workflow/stages.hpp"

#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/ranking.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>
#include <variant>

namespace calibrisk {
namespace {

// The rows of `train` at positions `idx` (its table rows, features and labels).
TrainPart sub_part(const TrainPart& train, const std::vector<Index>& idx) {
  TrainPart d;
  for (const Index k : idx) d.rows.push_back(train.rows[static_cast<std::size_t>(k)]);
  d.X = take_rows(train.X, idx);
  d.y = take(train.y, idx);
  return d;
}

// Fold (0..k-1) of each position of `train`: groups (patients; each row its own group without a
// group column) ordered by entry -- their earliest time key, ties by first appearance (file order
// without a time column) -- and cut into k contiguous blocks by the midpoint of each group's rows
// on the cumulative row count, as split_by_time_and_group cuts the three parts.
std::vector<int> entry_order_folds(const Table& table, const ColumnRoles& roles,
                                   const TrainPart& train, int k) {
  const std::size_t n = train.rows.size();
  std::vector<double> group(n), time(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = static_cast<std::size_t>(train.rows[i]);
    group[i] = roles.group.empty() ? static_cast<double>(i) : table.column(roles.group).values[r];
    time[i] = roles.time.empty() ? static_cast<double>(i) : table.column(roles.time).values[r];
  }
  // Group id -> dense index in order of first appearance; its entry time and row count.
  std::vector<std::size_t> gid(n);
  std::vector<double> entry;
  std::vector<Index> first, count;
  {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return group[a] < group[b];  // NaN-free: the split already rejected NaN keys
    });
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = order[j];
      if (j == 0 || group[i] != group[order[j - 1]]) {
        entry.push_back(time[i]);
        first.push_back(static_cast<Index>(i));
        count.push_back(0);
      }
      const std::size_t g = entry.size() - 1;
      gid[i] = g;
      entry[g] = std::min(entry[g], time[i]);
      first[g] = std::min(first[g], static_cast<Index>(i));
      ++count[g];
    }
  }
  std::vector<std::size_t> by_entry(entry.size());
  std::iota(by_entry.begin(), by_entry.end(), std::size_t{0});
  std::sort(by_entry.begin(), by_entry.end(), [&](std::size_t a, std::size_t b) {
    return entry[a] != entry[b] ? entry[a] < entry[b] : first[a] < first[b];
  });
  std::vector<int> fold_of_group(entry.size());
  double before = 0.0;
  for (const std::size_t g : by_entry) {
    const double mid = before + 0.5 * static_cast<double>(count[g]);
    fold_of_group[g] = std::min(k - 1, static_cast<int>(mid * k / static_cast<double>(n)));
    before += static_cast<double>(count[g]);
  }
  std::vector<int> fold(n);
  for (std::size_t i = 0; i < n; ++i) fold[i] = fold_of_group[gid[i]];
  return fold;
}

// The held-out parts of the choice: (fit positions, held-out positions) pairs into `train`, and
// the sentence that describes them. One holdout (the early-stopping validation part) when the
// final fit stops early, else the entry-order folds.
struct HeldOut {
  std::vector<std::pair<std::vector<Index>, std::vector<Index>>> parts;
  std::string method;
  bool stops_early = false;
};

HeldOut held_out_parts(const Table& table, const TrainSpec& spec, const TrainPart& train) {
  HeldOut h;
  const Index n = static_cast<Index>(train.y.size());
  const std::string unit = spec.columns.group.empty() ? " rows" : " groups";
  if (spec.gbdt.early_stopping && n >= spec.early_stopping_min_rows) {
    Index groups = 0;
    auto rows = detail::early_stopping_rows(table, spec.columns, train,
                                            spec.gbdt.validation_fraction, groups);
    if (rows) {
      h.stops_early = true;
      h.method = "holdout: the latest-entering " + std::to_string(groups) + unit +
                 " of the training part (" + std::to_string(rows->second.size()) +
                 " rows; the final fit's early-stopping validation part)";
      h.parts.push_back(std::move(*rows));
      return h;
    }
  }
  const int k = spec.selection.folds;
  const std::vector<int> fold = entry_order_folds(table, spec.columns, train, k);
  for (int f = 0; f < k; ++f) {
    std::vector<Index> fit, out;
    for (Index i = 0; i < n; ++i) (fold[static_cast<std::size_t>(i)] == f ? out : fit).push_back(i);
    if (!out.empty()) h.parts.emplace_back(std::move(fit), std::move(out));
  }
  h.method = std::to_string(k) + " folds of whole" + unit +
             " of the training part, contiguous in order of entry (by " +
             (spec.columns.time.empty() ? std::string("file order") : spec.columns.time) + ")";
  return h;
}

// The log loss of each row (probabilities clipped to [1e-15, 1 - 1e-15]).
std::vector<double> row_log_loss(const std::vector<double>& y, const std::vector<double>& p) {
  constexpr double kEps = 1e-15;
  std::vector<double> l(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double v = std::min(std::max(p[i], kEps), 1.0 - kEps);
    l[i] = -(y[i] * std::log(v) + (1.0 - y[i]) * std::log(1.0 - v));
  }
  return l;
}

// One class only among `y`: the candidate cannot be fitted there.
bool one_class(const std::vector<double>& y) {
  return std::all_of(y.begin(), y.end(), [&](double v) { return v == y.front(); });
}

// The candidate's probabilities on every held-out row (in `train` positions; each row is held out
// once). The inner fits stop early exactly when the final fit does.
std::vector<double> held_out_scores(const Table& table, TrainSpec cand, const TrainPart& train,
                                    const HeldOut& h, const std::vector<std::string>& features,
                                    const std::vector<int>& categorical) {
  cand.early_stopping_min_rows = h.stops_early ? 0 : std::numeric_limits<Index>::max();
  std::vector<double> p(train.y.size(), std::numeric_limits<double>::quiet_NaN());
  for (const auto& [fit_idx, out_idx] : h.parts) {
    const TrainPart fit = sub_part(train, fit_idx), out = sub_part(train, out_idx);
    EarlyStoppingRecord rec;
    const PipelineModel m = detail::fit_model(table, cand, fit, features, categorical, rec);
    const Eigen::VectorXd q = std::visit(
        [&](const auto& model) {
          return Eigen::VectorXd(model.predict_proba(FeatureMatrix(view(out.X))));
        },
        m);
    for (std::size_t j = 0; j < out_idx.size(); ++j) {
      p[static_cast<std::size_t>(out_idx[j])] = q[static_cast<Index>(j)];
    }
  }
  return p;
}

// The probabilities of `method` fitted on (s, y) at `fit` positions, predicted at `out`
// positions; "none" returns the scores themselves.
std::vector<double> recalibrated(CalibrationMethod method, const std::vector<double>& s,
                                 const std::vector<double>& y, const std::vector<Index>& fit,
                                 const std::vector<Index>& out) {
  const std::vector<double> sf = take(s, fit), yf = take(y, fit), so = take(s, out);
  const VectorView<const double> a(sf), b(yf), c(so);
  Eigen::VectorXd q;
  if (method == CalibrationMethod::kNone) {
    return so;
  } else if (method == CalibrationMethod::kPlatt) {
    PlattParams pp;
    pp.input = ScoreKind::kProbability;
    q = PlattCalibrator(pp).fit(a, b).predict(c);
  } else if (method == CalibrationMethod::kBeta) {
    q = BetaCalibrator().fit(a, b).predict(c);
  } else {
    q = IsotonicCalibrator().fit(a, b).predict(c);
  }
  return std::vector<double>(q.data(), q.data() + q.size());
}

std::vector<Index> rows_index(const std::vector<std::size_t>& rows) {
  return std::vector<Index>(rows.begin(), rows.end());
}

// The calibration choice of ModelSelectionSpec::calibration on the model's probabilities `p` of
// the calibration part (labels `y`), cross-fitted over 5 interleaved folds (position mod 5): each
// method is fitted on four folds and scored by the log loss of its probabilities on the fifth;
// "none" scores the model's own probabilities. Returns the simplest method whose mean loss is
// within one standard error (of the per-row difference) of the lowest; from `ece_min_rows` scored
// rows, the method of none, platt and beta with the lowest ECE (10 equal-width bins) of the
// cross-fitted probabilities instead.
CalibrationMethod choose_calibration(const std::vector<double>& p, const std::vector<double>& y,
                                     Index ece_min_rows, ModelSelectionRecord& record) {
  const Index n = static_cast<Index>(p.size());
  const Index k = 5;
  const CalibrationMethod methods[] = {CalibrationMethod::kNone, CalibrationMethod::kPlatt,
                                       CalibrationMethod::kBeta, CalibrationMethod::kIsotonic};
  constexpr double kEps = 1e-15;
  std::vector<std::vector<double>> loss(4, std::vector<double>(static_cast<std::size_t>(n), 0.0));
  std::vector<double> times(static_cast<std::size_t>(n), 0.0);
  std::vector<std::vector<double>> prob(4, std::vector<double>(static_cast<std::size_t>(n), 0.0));
  for (Index f = 0; f < k; ++f) {
    std::vector<Index> fit, out;
    for (Index i = 0; i < n; ++i) (i % k == f ? out : fit).push_back(i);
    if (one_class(take(y, fit))) continue;  // nothing to fit here; the row keeps the others
    for (const Index i : out) times[static_cast<std::size_t>(i)] += 1.0;
    for (std::size_t m = 0; m < 4; ++m) {
      const std::vector<double> q = recalibrated(methods[m], p, y, fit, out);
      for (std::size_t j = 0; j < out.size(); ++j) {
        const auto i = static_cast<std::size_t>(out[j]);
        const double v = std::min(std::max(q[j], kEps), 1.0 - kEps);
        loss[m][i] += -(y[i] * std::log(v) + (1.0 - y[i]) * std::log(1.0 - v));
        prob[m][i] = q[j];
      }
    }
  }
  // Per-row losses of the rows scored at least once.
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (times[i] > 0.0) rows.push_back(i);
  }
  if (rows.empty()) return CalibrationMethod::kBeta;  // cannot happen with two classes in y
  for (std::size_t m = 0; m < 4; ++m) {
    std::vector<double> l;
    for (const std::size_t i : rows) l.push_back(loss[m][i] / times[i]);
    loss[m] = std::move(l);
  }
  // The simplest method within one standard error (of the per-row difference) of the best.
  const detail::OneSe rule = detail::one_standard_error(loss);
  const std::vector<double>& mean = rule.mean;
  std::size_t chosen = rule.chosen;
  for (std::size_t m = 0; m < 4; ++m) {
    record.calibration_log_loss.emplace_back(calibration_method_name(methods[m]), mean[m]);
  }
  // A large calibration part: the lowest cross-fitted ECE among the monotone maps none, platt and
  // beta (the first of equal ECEs), which leave the ranking and the AUC as they are.
  const std::vector<double> ys = take(y, rows_index(rows));
  std::vector<double> ece(4);
  for (std::size_t m = 0; m < 4; ++m) {
    const std::vector<double> q = take(prob[m], rows_index(rows));
    ece[m] = metrics::expected_calibration_error(VectorView<const double>(ys),
                                                 VectorView<const double>(q));
    record.calibration_ece.emplace_back(calibration_method_name(methods[m]), ece[m]);
  }
  record.calibration_ece_min_rows = ece_min_rows;
  record.calibration_by_ece = static_cast<Index>(rows.size()) >= ece_min_rows;
  if (record.calibration_by_ece) {
    chosen = 0;
    for (std::size_t m = 1; m < 3; ++m) {
      if (ece[m] < ece[chosen]) chosen = m;
    }
  }
  record.calibration_chosen = calibration_method_name(methods[chosen]);
  return methods[chosen];
}

// Collects the field names of a Params struct (its `fields` visitor, core/params.hpp).
struct FieldNames {
  std::vector<std::string> v;
  template <class... A>
  void operator()(const char* name, A&&...) {
    v.emplace_back(name);
  }
};

std::string figure_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

}  // namespace

TrainSpec select_model(const Table& table, const TrainSpec& spec, const TrainPart& train,
                       const std::vector<std::string>& features,
                       const std::vector<int>& categorical, ModelSelectionRecord& record) {
  if (spec.model != ModelKind::kAuto) {
    throw InvalidParams("select_model: spec.model must be auto, got " +
                        std::string(model_kind_name(spec.model)) + ".");
  }
  const auto start = std::chrono::steady_clock::now();
  const HeldOut h = held_out_parts(table, spec, train);
  record = ModelSelectionRecord{};
  record.used = true;
  // Too few events to fit every candidate on every part (e.g. all positives in one fold): no
  // choice; the workflow's trees, as an explicit --model gbdt, with the reason recorded.
  for (const auto& part : h.parts) {
    if (!one_class(take(train.y, part.first))) continue;
    record.method = "not run: the training rows outside one held-out part hold only one class (" +
                    h.method + "); the boosted trees were trained";
    record.chosen = "gbdt";
    TrainSpec gbdt = spec;
    gbdt.model = ModelKind::kGradientBoostedTrees;
    return gbdt;
  }
  // Scored rows: those held out (all of them with folds; the validation part with a holdout).
  std::vector<Index> scored;
  for (const auto& part : h.parts)
    scored.insert(scored.end(), part.second.begin(), part.second.end());
  std::sort(scored.begin(), scored.end());
  const std::vector<double> y = take(train.y, scored);
  record.method = h.method;
  record.held_out_rows = static_cast<Index>(scored.size());
  std::vector<std::pair<std::string, TrainSpec>> cands =
      detail::selection_candidates(spec, h.stops_early);
  std::vector<std::vector<double>> loss;  // per scored row, per candidate
  for (auto& [name, cand] : cands) {
    const std::vector<double> all = held_out_scores(table, cand, train, h, features, categorical);
    const std::vector<double> p = take(all, scored);
    SelectionCandidate c;
    c.name = name;
    c.kind = cand.model;
    c.log_loss = metrics::log_loss(VectorView<const double>(y), VectorView<const double>(p));
    c.auc = one_class(y)
                ? std::numeric_limits<double>::quiet_NaN()
                : metrics::roc_auc_score(VectorView<const double>(y), VectorView<const double>(p));
    record.candidates.push_back(std::move(c));
    loss.push_back(row_log_loss(y, p));
  }
  if (cands.empty()) throw Error("internal error: select_model scored no candidate.");
  // The lowest log loss (strict: the earlier, simpler candidate wins a tie) and, with the
  // one-standard-error rule, the simplest candidate within one standard error of it.
  std::size_t lowest = 0;
  for (std::size_t c = 1; c < cands.size(); ++c) {
    if (record.candidates[c].log_loss < record.candidates[lowest].log_loss) lowest = c;
  }
  const bool one_se = spec.selection.one_standard_error;
  const detail::OneSe rule = detail::one_standard_error(loss);
  for (std::size_t c = 0; c < cands.size(); ++c) record.candidates[c].log_loss_se = rule.se[c];
  const std::size_t chosen = one_se && rule.best == lowest ? rule.chosen : lowest;
  record.one_standard_error = one_se;
  record.lowest = cands[lowest].first;
  record.chosen = cands[chosen].first;
  const TrainSpec best = cands[chosen].second;
  record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return best;
}

void set_auto_parameter(TrainSpec& spec, const std::string& name, const std::string& text) {
  FieldNames lr, gbdt;
  LogisticRegressionParams::fields(lr);
  GBDTParams::fields(gbdt);
  const auto has = [&](const FieldNames& s) {
    return std::find(s.v.begin(), s.v.end(), name) != s.v.end();
  };
  const bool in_lr = has(lr), in_gbdt = has(gbdt);
  if (!in_lr && !in_gbdt) {
    throw InvalidParams(quote_for_message(name) +
                        " is not a parameter of lr (LogisticRegressionParams) or gbdt "
                        "(GBDTParams), the candidates of model auto; set model='lr' or 'gbdt' "
                        "to see the valid keys.");
  }
  if (in_lr) set_parameter(spec.lr, name, text);
  if (in_gbdt) set_parameter(spec.gbdt, name, text);
  user_parameter_given(spec, name);
}

void user_parameter_given(TrainSpec& spec, const std::string& name) {
  if (name == "min_samples_leaf") spec.selection.leaf_variant = false;  // the user's leaf size
  if (name == "min_samples_leaf" || name == "max_leaf_nodes") spec.selection.wide_variant = false;
  if (name == "max_depth" || name == "max_leaf_nodes") spec.selection.additive_variant = false;
  if (name == "n_estimators") spec.early_stopping_max_rounds = 0;    // the user's cap
  if (name == "n_iter_no_change") spec.early_stopping_patience = 0;  // the user's patience
}

namespace detail {

std::vector<std::pair<std::string, TrainSpec>> selection_candidates(const TrainSpec& spec,
                                                                    bool stops_early) {
  std::vector<std::pair<std::string, TrainSpec>> c;
  TrainSpec lr = spec, gbdt = spec;
  lr.model = ModelKind::kLogisticRegression;
  gbdt.model = ModelKind::kGradientBoostedTrees;
  c.emplace_back("lr", lr);
  c.emplace_back("gbdt", gbdt);
  // More capacity is only offered where early stopping bounds it (docs/defaults.md: with early
  // stopping, leaf 20 did as well or better than leaf 100 on both large datasets).
  if (stops_early && spec.selection.leaf_variant &&
      spec.gbdt.min_samples_leaf != kSelectionVariantLeaf) {
    TrainSpec v = gbdt;
    v.gbdt.min_samples_leaf = kSelectionVariantLeaf;
    c.emplace_back("gbdt_leaf" + std::to_string(kSelectionVariantLeaf), v);
  }
  // Still more (about XGBoost's default capacity): on randhie's person-years it beat the leaf-20
  // trees by 0.006 test AUC; elsewhere the held-out loss keeps it out (docs/defaults.md).
  if (stops_early && spec.selection.wide_variant) {
    TrainSpec v = gbdt;
    v.gbdt.min_samples_leaf = kSelectionWideLeaf;
    v.gbdt.max_leaf_nodes = kSelectionWideLeaves;
    c.emplace_back("gbdt_wide", v);
  }
  // Less: one split per tree, a sum of one step function per feature (no interactions). On the
  // tables whose signal is additive on the logit scale but not linear in the columns (the
  // readmission cohorts, fair) it beat both the logistic regression and the deeper trees
  // (docs/defaults.md); a tree moves one feature's function a step, hence more rounds.
  if (spec.selection.additive_variant) {
    TrainSpec v = gbdt;
    v.gbdt.max_depth = 1;
    if (!stops_early) {  // saturating: a user's n_estimators may be near INT_MAX
      const std::int64_t n =
          std::int64_t{kSelectionAdditiveRoundsFactor} * std::int64_t{gbdt.gbdt.n_estimators};
      v.gbdt.n_estimators =
          static_cast<int>(std::min<std::int64_t>(n, std::numeric_limits<int>::max()));
    }
    c.emplace_back("gbdt_additive", v);
  }
  return c;
}

OneSe one_standard_error(const std::vector<std::vector<double>>& loss) {
  OneSe r;
  for (const auto& l : loss) {
    double m = 0.0;
    for (const double v : l) m += v / static_cast<double>(l.size());
    r.mean.push_back(m);
  }
  r.best =
      static_cast<std::size_t>(std::min_element(r.mean.begin(), r.mean.end()) - r.mean.begin());
  r.chosen = r.best;
  r.se.assign(loss.size(), 0.0);
  for (std::size_t m = 0; m < loss.size(); ++m) {
    if (m == r.best) continue;
    double s1 = 0.0, s2 = 0.0;
    for (std::size_t i = 0; i < loss[m].size(); ++i) {
      const double d = loss[m][i] - loss[r.best][i];
      s1 += d;
      s2 += d * d;
    }
    const double nn = static_cast<double>(loss[m].size()), md = s1 / nn;
    r.se[m] = std::sqrt(std::max(0.0, s2 / nn - md * md) / std::max(1.0, nn - 1.0));
    if (m < r.chosen && md <= r.se[m]) r.chosen = m;
  }
  return r;
}

void validate_selection(const ModelSelectionSpec& s) {
  if (s.folds < 2 || s.folds > 20) {
    throw InvalidParams("TrainSpec.selection.folds must be in [2, 20], got " +
                        std::to_string(s.folds) + "; 5 is the default.");
  }
  if (s.calibration_ece_min_rows < 0) {
    throw InvalidParams("TrainSpec.selection.calibration_ece_min_rows must be >= 0, got " +
                        std::to_string(s.calibration_ece_min_rows) + "; the default is " +
                        std::to_string(kCalibrationEceMinRows) + ".");
  }
}

TrainSpec resolve_model(const Table& table, const TrainSpec& spec, TrainResult& out,
                        TrainObserver* observer) {
  if (spec.model != ModelKind::kAuto) return spec;
  // A multiclass label never reaches this point: train_pipeline sends it to train_multiclass,
  // which resolves kAuto to the multinomial logistic regression.
  if (observer) observer->begin("choosing the model (lr or gbdt) on the training part");
  TrainSpec chosen =
      select_model(table, spec, out.train, out.features, out.categorical_features, out.selection);
  if (out.selection.candidates.empty()) {
    out.notes.push_back("automatic model choice " + out.selection.method +
                        "; pass --model lr or gbdt to choose.");
  }
  if (observer) {
    std::string detail = out.selection.chosen + " (held-out log loss";
    for (const auto& c : out.selection.candidates) {
      detail += " " + c.name + " " + figure_text(c.log_loss);
    }
    observer->end(detail + ")");
  }
  return chosen;
}

void resolve_calibration(TrainSpec& fit_spec, const TrainSpec& spec, TrainResult& out) {
  if (spec.model != ModelKind::kAuto || !spec.selection.calibration ||
      out.selection.candidates.empty()) {
    return;
  }
  const TrainPart& c = out.calibration;
  const std::vector<double> p(c.p_model.data(), c.p_model.data() + c.p_model.size());
  fit_spec.calibration =
      choose_calibration(p, c.y, spec.selection.calibration_ece_min_rows, out.selection);
}

void add_model_selection(std::vector<std::pair<std::string, std::string>>& P,
                         const TrainResult& out) {
  const ModelSelectionRecord& r = out.selection;
  if (!r.used) return;
  std::string names;
  for (const auto& c : r.candidates) names += (names.empty() ? "" : ",") + c.name;
  P.emplace_back("selection",
                 r.one_standard_error
                     ? "auto: the simplest candidate (in the order of selection.candidates) within "
                       "one standard error of the lowest held-out log loss"
                     : "auto: the candidate with the lowest held-out log loss");
  P.emplace_back("selection.method", r.method);
  P.emplace_back("selection.held_out_rows", std::to_string(r.held_out_rows));
  P.emplace_back("selection.candidates", names);
  for (const auto& c : r.candidates) {
    P.emplace_back("selection." + c.name + ".log_loss", format_double(c.log_loss));
    P.emplace_back("selection." + c.name + ".auc", format_double(c.auc));
    if (r.one_standard_error) {
      P.emplace_back("selection." + c.name + ".log_loss_se", format_double(c.log_loss_se));
    }
  }
  P.emplace_back("selection.chosen", r.chosen);
  if (r.one_standard_error) P.emplace_back("selection.lowest", r.lowest);
  if (r.calibration_chosen.empty()) return;
  std::string methods;
  for (const auto& [m, loss] : r.calibration_log_loss) {
    methods += (methods.empty() ? "" : ",") + m;
    P.emplace_back("selection.calibration." + m + ".log_loss", format_double(loss));
  }
  for (const auto& [m, ece] : r.calibration_ece) {
    P.emplace_back("selection.calibration." + m + ".ece", format_double(ece));
  }
  P.emplace_back("selection.calibration",
                 r.calibration_by_ece
                     ? "auto: of none,platt,beta the lowest ECE (10 equal-width bins) on the "
                       "calibration part, cross-fitted over 5 folds (a part of at least " +
                           std::to_string(r.calibration_ece_min_rows) + " rows)"
                     : "auto: the simplest of " + methods +
                           " within one standard error of the lowest log loss on the calibration "
                           "part, cross-fitted over 5 folds");
  P.emplace_back("selection.calibration.chosen", r.calibration_chosen);
}

}  // namespace detail
}  // namespace calibrisk
