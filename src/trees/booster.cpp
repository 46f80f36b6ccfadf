// SPDX-License-Identifier: Apache-2.0
// Stage 5 of tree training: the boosting loop for the weighted binary log-loss (Friedman 2001,
// second-order steps as in Chen & Guestrin 2016), early stopping and the public model class.
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/booster.hpp>

#include "trees/grower.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace calibrisk {

namespace {

constexpr const char* kFit = "GradientBoostedTrees::fit";

std::string num(double v) { return detail::fmt_value(v); }

// log(1 + exp(-|m|)) + max(m, 0) - y m: the log-loss of margin m, stable for any m.
double log_loss(double y, double m) noexcept {
  return std::log1p(std::exp(-std::abs(m))) + std::max(m, 0.0) - y * m;
}

// Refuses, before any work, a model that could outgrow memory: every tree has at most
// min(max_leaf_nodes, 2^max_depth, rows / min_samples_leaf) leaves and 2 leaves - 1 nodes.
void check_model_size(const GBDTParams& p, Index n_train) {
  double leaves = p.max_leaf_nodes;
  if (p.max_depth > 0) leaves = std::min(leaves, std::ldexp(1.0, std::min(p.max_depth, 60)));
  leaves = std::min(leaves, std::max(1.0, std::floor(static_cast<double>(n_train) /
                                                     static_cast<double>(p.min_samples_leaf))));
  const double nodes = static_cast<double>(p.n_estimators) * (2.0 * leaves - 1.0);
  if (nodes <= static_cast<double>(p.max_model_nodes)) return;
  throw InvalidParams(
      std::string(kFit) + ": n_estimators = " + std::to_string(p.n_estimators) +
      " trees of up to " + num(leaves) + " leaves could grow " + num(nodes) + " nodes (about " +
      num(nodes * 80.0 / 1e9) + " GB in memory, more as a model file), above the limit " +
      "max_model_nodes = " + std::to_string(p.max_model_nodes) +
      ". Lower n_estimators (early_stopping stops at the best round) or max_leaf_nodes, or raise "
      "max_model_nodes if the machine has the memory.");
}

// Stratified, seeded split of [0, n) into (train, valid) keeping each class's share.
void stratified_split(VectorView<const double> y, double fraction, std::uint64_t seed,
                      std::vector<Index>& train, std::vector<Index>& valid) {
  std::vector<Index> cls[2];
  for (Index i = 0; i < y.size(); ++i) cls[y[i] == 1.0 ? 1 : 0].push_back(i);
  for (int c = 0; c < 2; ++c) {
    auto& v = cls[c];
    Rng rng(seed, /*stream=*/0x5A11 + static_cast<std::uint64_t>(c));
    rng.shuffle(v.data(), static_cast<Index>(v.size()));
    const auto n = static_cast<Index>(v.size());
    // At least one row of each class stays in training; at least one goes to validation when
    // the class has two rows or more.
    Index n_val = static_cast<Index>(std::llround(fraction * static_cast<double>(n)));
    n_val = std::min(std::max<Index>(n_val, n >= 2 ? 1 : 0), n - 1);
    valid.insert(valid.end(), v.begin(), v.begin() + n_val);
    train.insert(train.end(), v.begin() + n_val, v.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(valid.begin(), valid.end());
}

}  // namespace

void GBDTParams::validate() const { validate_params(*this); }

GradientBoostedTrees::GradientBoostedTrees(GBDTParams params) : params_(std::move(params)) {}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train) {
  return fit_impl(train, nullptr);
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, const Dataset& valid) {
  return fit_impl(train, &valid);
}

GradientBoostedTrees& GradientBoostedTrees::fit_impl(const Dataset& train, const Dataset* valid) {
  const GBDTParams& p = params_;
  p.validate();
  validate_dataset(train, kFit);
  const Index n = train.n_samples();
  const Index nf = train.n_features();
  if (!p.monotonic_cst.empty() && static_cast<Index>(p.monotonic_cst.size()) != nf) {
    throw InvalidParams("GBDTParams.monotonic_cst has " + std::to_string(p.monotonic_cst.size()) +
                        " entries but X has " + std::to_string(nf) +
                        " features; pass one constraint per feature (or none).");
  }
  if (valid != nullptr) {
    const std::string where = std::string(kFit) + " (validation set)";
    validate_features(valid->X, nf, where);
    if (valid->X.rows() == 0) {
      throw InvalidInput(where + ": X has 0 rows; pass at least one validation sample.");
    }
    validate_labels(valid->y, valid->X.rows(), where, /*require_both_classes=*/false);
    validate_sample_weight(valid->sample_weight, valid->X.rows(), where);
  }
  if (static_cast<std::uint64_t>(n) > std::numeric_limits<RowIndex>::max()) {
    throw InvalidInput(std::string(kFit) + ": X has " + std::to_string(n) +
                       " rows; tree training supports at most " +
                       std::to_string(std::numeric_limits<RowIndex>::max()) +
                       " rows. Train on a sample of the rows.");
  }
  const int nt = detail::resolve_threads(p.n_threads);
  FitInfo info;

  // Weights: sample_weight x class multipliers (from the training counts) x scale_pos_weight.
  Index n1 = 0;
  for (Index i = 0; i < n; ++i) n1 += train.y[i] == 1.0 ? 1 : 0;
  // Not a structured binding: C++17 lambdas cannot capture those (clang rejects it).
  const std::pair<double, double> multipliers = p.class_weight.resolve(n - n1, n1);
  const double m0 = multipliers.first;
  const double m1 = multipliers.second * p.scale_pos_weight;
  auto weights_of = [&](const Dataset& d) {
    std::vector<double> w(static_cast<std::size_t>(d.n_samples()));
    for (Index i = 0; i < d.n_samples(); ++i) {
      const double sw = d.sample_weight.empty() ? 1.0 : d.sample_weight[i];
      w[static_cast<std::size_t>(i)] = sw * (d.y[i] == 1.0 ? m1 : m0);
    }
    return w;
  };
  const std::vector<double> w = weights_of(train);

  // Rows used for training and (internal) validation.
  std::vector<Index> train_rows, inner_valid_rows;
  const bool inner_valid = p.early_stopping && valid == nullptr;
  if (inner_valid) {
    stratified_split(train.y, p.validation_fraction, p.random_state, train_rows, inner_valid_rows);
  } else {
    train_rows.resize(static_cast<std::size_t>(n));
    std::iota(train_rows.begin(), train_rows.end(), Index{0});
  }
  const bool all_rows = !inner_valid;
  double sw0 = 0.0, sw1 = 0.0;
  for (const Index i : train_rows)
    (train.y[i] == 1.0 ? sw1 : sw0) += w[static_cast<std::size_t>(i)];
  if (!(sw0 > 0.0) || !(sw1 > 0.0)) {
    throw InvalidInput(std::string(kFit) + ": after holding out the validation share, class " +
                       (sw1 > 0.0 ? "0" : "1") +
                       " has zero total weight in the training rows; pass more rows of that class "
                       "or an explicit validation set.");
  }

  check_model_size(p, static_cast<Index>(train_rows.size()));

  // Stage 1: bin edges from (a sample of) the training rows; codes for every row of X.
  const BinMapper mapper =
      detail::fit_bin_mapper(train.X, all_rows ? std::vector<Index>{} : train_rows, p.max_bins,
                             p.bin_subsample, p.random_state, nt);
  const BinnedMatrix bins =
      detail::bin_matrix(mapper, train.X, nt, /*row_major_copy=*/!mapper.wide());
  BinnedMatrix valid_bins;
  if (valid != nullptr) valid_bins = detail::bin_matrix(mapper, valid->X, nt);

  std::vector<std::int32_t> allowed;
  {
    std::string constant;
    Index n_const = 0;
    for (Index f = 0; f < nf; ++f) {
      if (mapper.is_constant[static_cast<std::size_t>(f)]) {
        if (n_const < 10) constant += (n_const ? ", " : "") + std::to_string(f);
        ++n_const;
      } else {
        allowed.push_back(static_cast<std::int32_t>(f));
      }
    }
    if (n_const > 0) {
      info.notes.push_back(std::to_string(n_const) +
                           " feature(s) have fewer than two distinct values in the training rows "
                           "and are never split (feature " +
                           constant + (n_const > 10 ? ", ..." : "") + ").");
    }
  }

  TreeEnsemble ens;
  ens.n_features = nf;
  ens.base_score = std::log(sw1 / sw0);  // weighted log-odds: the best constant margin

  detail::GrowerParams gp;
  gp.max_leaf_nodes = p.max_leaf_nodes;
  gp.max_depth = p.max_depth;
  gp.learning_rate = p.learning_rate;
  gp.max_delta_step = p.max_delta_step;
  gp.rules.l2 = p.l2_regularization;
  gp.rules.min_gain = p.min_gain_to_split;
  gp.rules.min_child_weight = p.min_child_weight;
  gp.rules.min_samples_leaf = p.min_samples_leaf;
  for (const int c : p.monotonic_cst) gp.monotone.push_back(static_cast<std::int8_t>(c));
  gp.n_threads = nt;
  detail::TreeGrower grower(bins, mapper, gp);

  // Validation rows and their running margins.
  const BinnedMatrix& vb = valid != nullptr ? valid_bins : bins;
  std::vector<Index> vrows;
  std::vector<double> vy, vw;
  if (valid != nullptr) {
    const std::vector<double> w_valid = weights_of(*valid);
    for (Index i = 0; i < valid->n_samples(); ++i) {
      vrows.push_back(i);
      vy.push_back(valid->y[i]);
      vw.push_back(w_valid[static_cast<std::size_t>(i)]);
    }
  } else if (inner_valid) {
    vrows = inner_valid_rows;
    for (const Index i : vrows) {
      vy.push_back(train.y[i]);
      vw.push_back(w[static_cast<std::size_t>(i)]);
    }
  }
  const bool has_valid = !vrows.empty();
  double vw_sum = 0.0;
  for (const double x : vw) vw_sum += x;
  if (has_valid && !(vw_sum > 0.0)) {
    throw InvalidInput(std::string(kFit) +
                       ": the validation rows have zero total weight; pass validation rows with "
                       "positive sample weight.");
  }
  std::vector<double> vmargin(vrows.size(), ens.base_score);

  std::vector<double> margin(static_cast<std::size_t>(n), ens.base_score);
  std::vector<GradPair> gh(static_cast<std::size_t>(n));
  std::vector<RowIndex> rows;
  std::vector<std::uint8_t> in_bag;
  std::vector<std::int32_t> feats;
  valid_loss_.clear();
  double best_loss = std::numeric_limits<double>::infinity();
  int best_iter = 0, since_best = 0;
  constexpr Index kBlock = 1 << 14;
  // Per-row loops of a round are a few ns per row: below ~128k rows one thread beats the cost of
  // a parallel region.
  const int nt_rows = train_rows.size() < (std::size_t{1} << 17) ? 1 : nt;
  const int nt_valid = vrows.size() < (std::size_t{1} << 17) ? 1 : nt;

  for (int t = 0; t < p.n_estimators; ++t) {
    // Gradients and hessians of the weighted log-loss at the current margins.
    detail::parallel_blocks(
        static_cast<Index>(train_rows.size()), kBlock, nt_rows, [&](Index, Index lo, Index hi) {
          for (Index k = lo; k < hi; ++k) {
            const auto i = static_cast<std::size_t>(train_rows[static_cast<std::size_t>(k)]);
            const double pr = sigmoid(margin[i]);
            const double wi = w[i];
            gh[i].g = static_cast<float>(wi * (pr - train.y[static_cast<Index>(i)]));
            gh[i].h = static_cast<float>(wi * pr * (1.0 - pr));
          }
        });
    // Row subsample (Bernoulli per row, seeded per round) and per-tree feature subsample.
    bool rows_are_all = all_rows;
    if (p.subsample < 1.0) {
      Rng rng(p.random_state, 1000 + static_cast<std::uint64_t>(t));
      rows.clear();
      for (const Index i : train_rows) {
        if (rng.uniform() < p.subsample) rows.push_back(static_cast<RowIndex>(i));
      }
      if (rows.empty()) {
        rows.push_back(static_cast<RowIndex>(
            train_rows[static_cast<std::size_t>(rng.below(train_rows.size()))]));
      }
      rows_are_all = false;
    } else {
      rows.assign(train_rows.begin(), train_rows.end());
    }
    feats = allowed;
    if (p.colsample_bytree < 1.0 && !feats.empty()) {
      Rng rng(p.random_state, 2000000 + static_cast<std::uint64_t>(t));
      const auto k = static_cast<std::size_t>(std::max<long long>(
          1, std::llround(p.colsample_bytree * static_cast<double>(feats.size()))));
      for (std::size_t a = 0; a < k; ++a) {
        const std::size_t b = a + static_cast<std::size_t>(rng.below(feats.size() - a));
        std::swap(feats[a], feats[b]);
      }
      feats.resize(k);
      std::sort(feats.begin(), feats.end());
    }

    detail::GrownTree grown = grower.grow(rows, rows_are_all, gh.data(), feats);
    const Tree& tree = grown.tree;

    // Update margins: in-bag rows by their leaf ranges, the others by walking the binned tree.
    // The leaves' row ranges tile rows[0, n); fixed blocks of positions balance the threads
    // whatever the leaf sizes.
    std::vector<std::int32_t> leaves;
    for (Index node = 0; node < tree.n_nodes(); ++node) {
      if (tree.is_leaf(node)) leaves.push_back(static_cast<std::int32_t>(node));
    }
    std::sort(leaves.begin(), leaves.end(), [&](std::int32_t a, std::int32_t b) {
      return grown.begin[static_cast<std::size_t>(a)] < grown.begin[static_cast<std::size_t>(b)];
    });
    const int nt_margin = rows.size() < (std::size_t{1} << 16) ? 1 : nt;
    detail::parallel_blocks(
        static_cast<Index>(rows.size()), kBlock, nt_margin, [&](Index, Index lo, Index hi) {
          for (const std::int32_t leaf : leaves) {
            const auto u = static_cast<std::size_t>(leaf);
            const Index a = std::max(lo, grown.begin[u]), b = std::min(hi, grown.end[u]);
            const double v = tree.value[u];
            for (Index k = a; k < b; ++k) {
              margin[static_cast<std::size_t>(rows[static_cast<std::size_t>(k)])] += v;
            }
          }
        });
    if (p.subsample < 1.0) {
      in_bag.assign(static_cast<std::size_t>(n), 0);
      for (const RowIndex i : rows) in_bag[i] = 1;
      detail::parallel_blocks(
          static_cast<Index>(train_rows.size()), kBlock, nt_rows, [&](Index, Index lo, Index hi) {
            for (Index k = lo; k < hi; ++k) {
              const Index i = train_rows[static_cast<std::size_t>(k)];
              if (in_bag[static_cast<std::size_t>(i)]) continue;
              const auto leaf = detail::binned_leaf(grown, bins, mapper, i);
              margin[static_cast<std::size_t>(i)] += tree.value[static_cast<std::size_t>(leaf)];
            }
          });
    }
    ens.trees.push_back(std::move(grown.tree));
    const Tree& kept = ens.trees.back();
    const bool stump = kept.n_nodes() == 1;

    if (has_valid) {
      std::vector<double> part(
          static_cast<std::size_t>(detail::n_blocks(static_cast<Index>(vrows.size()), kBlock)));
      detail::parallel_blocks(
          static_cast<Index>(vrows.size()), kBlock, nt_valid, [&](Index b, Index lo, Index hi) {
            double s = 0.0;
            for (Index k = lo; k < hi; ++k) {
              const auto uk = static_cast<std::size_t>(k);
              const auto leaf = detail::binned_leaf(kept, grown.bin, vb, mapper, vrows[uk]);
              vmargin[uk] += kept.value[static_cast<std::size_t>(leaf)];
              s += vw[uk] * log_loss(vy[uk], vmargin[uk]);
            }
            part[static_cast<std::size_t>(b)] = s;
          });
      double loss = 0.0;
      for (const double s : part) loss += s;  // block order: independent of the thread count
      loss /= vw_sum;
      valid_loss_.push_back(loss);
      if (loss < best_loss - p.tol) {
        best_loss = loss;
        best_iter = t + 1;
        since_best = 0;
      } else {
        ++since_best;
      }
      if (p.early_stopping && since_best >= p.n_iter_no_change) {
        info.notes.push_back("early stopping after round " + std::to_string(t + 1) +
                             ": no validation improvement > tol in " +
                             std::to_string(p.n_iter_no_change) + " rounds; kept " +
                             std::to_string(best_iter) + " trees.");
        break;
      }
    }
    if (stump) {
      info.notes.push_back("stopped after round " + std::to_string(t + 1) +
                           ": no leaf could be split under the growth rules (min_samples_leaf, "
                           "min_child_weight, min_gain_to_split, constant features).");
      break;
    }
  }

  n_iter_ = static_cast<int>(ens.trees.size());
  if (p.early_stopping && has_valid) {
    best_iteration_ = std::max(best_iter, 1);
    ens.trees.resize(static_cast<std::size_t>(best_iteration_));
  } else {
    best_iteration_ = n_iter_;
  }
  info.n_iter = n_iter_;
  info.converged = true;

  state_.ensemble = std::move(ens);
  predictor_ = TreePredictor(state_.ensemble);
  info_ = std::move(info);
  fitted_ = true;
  return *this;
}

void GradientBoostedTrees::require_fitted(const char* where) const {
  if (!fitted_) {
    throw NotFitted(std::string("GradientBoostedTrees::") + where +
                    ": the model is not fitted; call fit() first (or from_state()).");
  }
}

Eigen::VectorXd GradientBoostedTrees::decision_function(const FeatureMatrix& X) const {
  require_fitted("decision_function");
  const std::string where = "GradientBoostedTrees::decision_function";
  validate_features(X, state_.ensemble.n_features, where);
  Eigen::VectorXd out(X.rows());
  predictor_.predict_margin(X, VectorView<double>(out.data(), out.size()), params_.n_threads,
                            where);
  return out;
}

Eigen::VectorXd GradientBoostedTrees::predict_proba(const FeatureMatrix& X) const {
  Eigen::VectorXd out(X.rows());
  predict_proba(X, VectorView<double>(out.data(), out.size()));
  return out;
}

void GradientBoostedTrees::predict_proba(const FeatureMatrix& X, VectorView<double> out) const {
  require_fitted("predict_proba");
  const std::string where = "GradientBoostedTrees::predict_proba";
  validate_features(X, state_.ensemble.n_features, where);
  predictor_.predict_proba(X, out, params_.n_threads, where);
}

const TreeEnsemble& GradientBoostedTrees::ensemble() const {
  require_fitted("ensemble");
  return state_.ensemble;
}

const TreePredictor& GradientBoostedTrees::predictor() const {
  require_fitted("predictor");
  return predictor_;
}

const FitInfo& GradientBoostedTrees::fit_info() const {
  require_fitted("fit_info");
  return info_;
}

int GradientBoostedTrees::n_iter() const {
  require_fitted("n_iter");
  return n_iter_;
}

int GradientBoostedTrees::best_iteration() const {
  require_fitted("best_iteration");
  return best_iteration_;
}

const GBDTState& GradientBoostedTrees::state() const {
  require_fitted("state");
  return state_;
}

GradientBoostedTrees GradientBoostedTrees::from_state(GBDTState s, GBDTParams p) {
  p.validate();
  s.ensemble.validate("GradientBoostedTrees::from_state: ensemble");
  GradientBoostedTrees m(std::move(p));
  m.state_ = std::move(s);
  m.predictor_ = TreePredictor(m.state_.ensemble);
  m.n_iter_ = m.best_iteration_ = static_cast<int>(m.state_.ensemble.trees.size());
  m.info_.n_iter = m.n_iter_;
  m.fitted_ = true;
  return m;
}

}  // namespace calibrisk
