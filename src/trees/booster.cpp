// SPDX-License-Identifier: Apache-2.0
// Stage 5 of tree training: the boosting loop for the weighted binary log-loss (Friedman 2001,
// second-order steps as in Chen & Guestrin 2016) and the K-class softmax loss, early stopping and
// the public model class.
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/split/split.hpp>
#include <calibrisk/trees/booster.hpp>

#include "trees/grower.hpp"
#include "trees/holdout.hpp"
#include "trees/rounds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace calibrisk {

namespace {

constexpr const char* kFit = "GradientBoostedTrees::fit";

std::string num(double v) { return detail::fmt_value(v); }

double log_loss(double y, double m) noexcept { return detail::margin_log_loss(y, m); }

// Refuses, before any work, a model that could outgrow memory: every tree has at most
// min(max_leaf_nodes, 2^max_depth, rows / min_samples_leaf) leaves and 2 leaves - 1 nodes.
void check_model_size(const GBDTParams& p, Index n_train, int trees_per_round = 1) {
  double leaves = p.max_leaf_nodes;
  if (p.max_depth > 0) leaves = std::min(leaves, std::ldexp(1.0, std::min(p.max_depth, 60)));
  leaves = std::min(leaves, std::max(1.0, std::floor(static_cast<double>(n_train) /
                                                     static_cast<double>(p.min_samples_leaf))));
  const double nodes = static_cast<double>(p.n_estimators) * trees_per_round * (2.0 * leaves - 1.0);
  if (nodes <= static_cast<double>(p.max_model_nodes)) return;
  throw InvalidParams(
      std::string(kFit) + ": n_estimators = " + std::to_string(p.n_estimators) +
      (trees_per_round > 1 ? " rounds of " + std::to_string(trees_per_round) + " trees"
                           : " trees") +
      " of up to " + num(leaves) + " leaves could grow " + num(nodes) + " nodes (about " +
      num(nodes * 80.0 / 1e9) + " GB in memory, more as a model file), above the limit " +
      "max_model_nodes = " + std::to_string(p.max_model_nodes) +
      ". Lower n_estimators (early_stopping stops at the best round) or max_leaf_nodes, or raise "
      "max_model_nodes if the machine has the memory.");
}

}  // namespace

void GBDTParams::validate() const {
  validate_params(*this);
  std::vector<int> cats = categorical_features;
  std::sort(cats.begin(), cats.end());
  const auto dup = std::adjacent_find(cats.begin(), cats.end());
  if (dup != cats.end()) {
    throw InvalidParams("GBDTParams.categorical_features lists column " + std::to_string(*dup) +
                        " twice; list each categorical column once.");
  }
  for (const int f : cats) {
    if (f < static_cast<int>(monotonic_cst.size()) &&
        monotonic_cst[static_cast<std::size_t>(f)] != 0) {
      throw InvalidParams("GBDTParams.monotonic_cst[" + std::to_string(f) + "] is " +
                          std::to_string(monotonic_cst[static_cast<std::size_t>(f)]) +
                          " but column " + std::to_string(f) +
                          " is in categorical_features; category codes have no order, so a "
                          "monotonic constraint on them is refused. Set it to 0.");
    }
  }
}

GradientBoostedTrees::GradientBoostedTrees(GBDTParams params) : params_(std::move(params)) {}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train) {
  return fit_impl(train, nullptr, GBDTFitContext{});
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, const Dataset& valid) {
  return fit_impl(train, &valid, GBDTFitContext{});
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train,
                                                const GBDTFitContext& context) {
  return fit_impl(train, nullptr, context);
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, const Dataset& valid,
                                                const GBDTFitContext& context) {
  return fit_impl(train, &valid, context);
}

namespace {

// Row blocks of the per-row loops of a round (fixed: results do not depend on the thread count).
constexpr Index kBlock = 1 << 14;

// Checks of the data against the parameters and of the optional validation set.
void check_fit_data(const GBDTParams& p, const Dataset& train, const Dataset* valid) {
  validate_dataset(train, kFit);
  const Index n = train.n_samples();
  const Index nf = train.n_features();
  if (!p.monotonic_cst.empty() && static_cast<Index>(p.monotonic_cst.size()) != nf) {
    throw InvalidParams("GBDTParams.monotonic_cst has " + std::to_string(p.monotonic_cst.size()) +
                        " entries but X has " + std::to_string(nf) +
                        " features; pass one constraint per feature (or none).");
  }
  for (const int f : p.categorical_features) {
    if (f >= nf) {
      throw InvalidParams("GBDTParams.categorical_features lists column " + std::to_string(f) +
                          " but X has " + std::to_string(nf) +
                          " columns; categorical_features holds 0-based column indices of X.");
    }
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
}

// Row weights: sample_weight x class multipliers (from the training counts) x scale_pos_weight.
struct RowWeights {
  double m0 = 1.0, m1 = 1.0;  // multipliers of class 0 and class 1

  std::vector<double> of(const Dataset& d) const {
    std::vector<double> w(static_cast<std::size_t>(d.n_samples()));
    for (Index i = 0; i < d.n_samples(); ++i) {
      const double sw = d.sample_weight.empty() ? 1.0 : d.sample_weight[i];
      w[static_cast<std::size_t>(i)] = sw * (d.y[i] == 1.0 ? m1 : m0);
    }
    return w;
  }
};

RowWeights row_weights(const GBDTParams& p, const Dataset& train) {
  const Index n = train.n_samples();
  Index n1 = 0;
  for (Index i = 0; i < n; ++i) n1 += train.y[i] == 1.0 ? 1 : 0;
  const std::pair<double, double> m = detail::binary_class_multipliers(p, n - n1, n1);
  return {m.first, m.second};
}

// Total weight of each class over the training rows, summed exactly (the same bits for any
// order or partitioning of the rows); throws when a class has none.
std::pair<double, double> class_totals(const Dataset& train, const std::vector<double>& w,
                                       const std::vector<Index>& train_rows) {
  detail::ExactSum s0, s1;
  for (const Index i : train_rows)
    (train.y[i] == 1.0 ? s1 : s0).add(w[static_cast<std::size_t>(i)]);
  const double sw0 = s0.value(), sw1 = s1.value();
  if (!(sw0 > 0.0) || !(sw1 > 0.0)) {
    throw InvalidInput(std::string(kFit) + ": after holding out the validation share, class " +
                       (sw1 > 0.0 ? "0" : "1") +
                       " has zero total weight in the training rows; pass more rows of that class "
                       "or an explicit validation set.");
  }
  return {sw0, sw1};
}

// The features a tree may split on (ascending); a note names the constant ones.
// Derived target-statistic columns (index >= n_named) are not named in the note.
std::vector<std::int32_t> splittable_features(const BinMapper& mapper, Index nf, FitInfo& info,
                                              Index n_named) {
  std::vector<std::int32_t> allowed;
  std::string constant;
  Index n_const = 0;
  for (Index f = 0; f < nf; ++f) {
    if (mapper.is_constant[static_cast<std::size_t>(f)]) {
      if (f >= n_named) continue;
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
  return allowed;
}

// The fixed-point scale of a fit: from the largest weight of the training rows (a global
// quantity; both losses have |g| <= w and h <= w / 4).
GradScale gradient_scale(const std::vector<double>& w, const std::vector<Index>& train_rows) {
  double w_max = 0.0;
  for (const Index i : train_rows) w_max = std::max(w_max, w[static_cast<std::size_t>(i)]);
  return GradScale::for_max_weight(w_max);
}

// Validation rows (an explicit set, or the held-out share of the training rows) with their
// labels, weights and running margins.
struct ValidationRows {
  std::vector<Index> rows;
  std::vector<double> y, w, margin;
  double w_sum = 0.0;
};

ValidationRows validation_rows(const Dataset& train, const Dataset* valid,
                               const std::vector<Index>& inner_valid_rows, bool inner_valid,
                               const RowWeights& weights, const std::vector<double>& w,
                               double base_score) {
  ValidationRows v;
  if (valid != nullptr) {
    const std::vector<double> w_valid = weights.of(*valid);
    for (Index i = 0; i < valid->n_samples(); ++i) {
      v.rows.push_back(i);
      v.y.push_back(valid->y[i]);
      v.w.push_back(w_valid[static_cast<std::size_t>(i)]);
    }
  } else if (inner_valid) {
    v.rows = inner_valid_rows;
    for (const Index i : v.rows) {
      v.y.push_back(train.y[i]);
      v.w.push_back(w[static_cast<std::size_t>(i)]);
    }
  }
  detail::ExactSum w_sum;  // exact: the same bits for any partitioning of the validation rows
  for (const double x : v.w) w_sum.add(x);
  v.w_sum = w_sum.value();
  if (!v.rows.empty() && !(v.w_sum > 0.0)) {
    throw InvalidInput(std::string(kFit) +
                       ": the validation rows have zero total weight; pass validation rows with "
                       "positive sample weight.");
  }
  v.margin.assign(v.rows.size(), base_score);
  return v;
}

// Gradients and hessians of the weighted log-loss at the current margins, quantised.
void compute_gradients(const std::vector<Index>& train_rows, const std::vector<double>& margin,
                       const std::vector<double>& w, VectorView<const double> y,
                       const GradScale& scale, std::vector<GradPair>& gh, int nt) {
  detail::parallel_blocks(
      static_cast<Index>(train_rows.size()), kBlock, nt, [&](Index, Index lo, Index hi) {
        for (Index k = lo; k < hi; ++k) {
          const auto i = static_cast<std::size_t>(train_rows[static_cast<std::size_t>(k)]);
          const double pr = sigmoid(margin[i]);
          const double wi = w[i];
          gh[i] = scale.quantise(wi * (pr - y[static_cast<Index>(i)]), wi * pr * (1.0 - pr));
        }
      });
}

// Row subsample of round t (detail::bag_rows: a hash of the seed, the round and the global row
// index) into `rows`; returns whether `rows` is every row of X.
bool sample_rows(const GBDTParams& p, int t, const std::vector<Index>& train_rows, bool all_rows,
                 std::vector<RowIndex>& rows) {
  if (!(p.subsample < 1.0)) {
    rows.assign(train_rows.begin(), train_rows.end());
    return all_rows;
  }
  detail::bag_rows(p, t, train_rows, rows);
  return false;
}

// Adds the new tree's leaf values to the margins of the in-bag rows by their leaf ranges. The
// leaves' row ranges tile rows[0, n); fixed blocks of positions balance the threads whatever the
// leaf sizes.
void add_to_in_bag_margins(const detail::GrownTree& grown, const std::vector<RowIndex>& rows,
                           std::vector<double>& margin, int nt) {
  const Tree& tree = grown.tree;
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
}

// Adds the new tree's values to the margins of the training rows left out of its row subsample,
// by walking the binned tree.
void add_to_out_of_bag_margins(const detail::GrownTree& grown, const BinnedMatrix& bins,
                               const BinMapper& mapper, const std::vector<Index>& train_rows,
                               const std::vector<RowIndex>& rows, std::vector<std::uint8_t>& in_bag,
                               std::vector<double>& margin, int nt_rows) {
  const Tree& tree = grown.tree;
  in_bag.assign(margin.size(), 0);
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

// Adds tree `kept` (split bins `bin`) to the validation margins; returns their weighted mean
// log-loss, summed in block order so that it does not depend on the thread count.
double add_to_validation_margins(const Tree& kept, const std::vector<std::int32_t>& bin,
                                 const std::vector<detail::BinSet>& cat_left,
                                 const BinnedMatrix& vb, const BinMapper& mapper, ValidationRows& v,
                                 int nt_valid) {
  std::vector<detail::ExactSum> part(
      static_cast<std::size_t>(detail::n_blocks(static_cast<Index>(v.rows.size()), kBlock)));
  detail::parallel_blocks(
      static_cast<Index>(v.rows.size()), kBlock, nt_valid, [&](Index b, Index lo, Index hi) {
        detail::ExactSum s;
        for (Index k = lo; k < hi; ++k) {
          const auto uk = static_cast<std::size_t>(k);
          const auto leaf = detail::binned_leaf(kept, bin, cat_left, vb, mapper, v.rows[uk]);
          v.margin[uk] += kept.value[static_cast<std::size_t>(leaf)];
          s.add(v.w[uk] * log_loss(v.y[uk], v.margin[uk]));
        }
        part[static_cast<std::size_t>(b)] = std::move(s);
      });
  // Exact: independent of the thread count and of any partitioning of the validation rows.
  detail::ExactSum loss;
  for (const detail::ExactSum& s : part) loss.add(s);
  return loss.value() / v.w_sum;
}

// Best validation loss so far and the rounds since it improved by more than tol.
struct EarlyStopping {
  double best_loss = std::numeric_limits<double>::infinity();
  int best_iter = 0, since_best = 0;

  void record(double loss, int t, double tol) {
    if (loss < best_loss - tol) {
      best_loss = loss;
      best_iter = t + 1;
      since_best = 0;
    } else {
      ++since_best;
    }
  }
};

// The categorical features encoded by target statistics (ascending): every categorical feature
// with cat_encoding=target_stats; with auto, those with more than cat_ts_min_levels distinct
// codes among the training rows.
std::vector<int> target_stat_features(const GBDTParams& p, const FeatureMatrix& X,
                                      const std::vector<Index>& train_rows) {
  std::vector<int> out;
  if (p.cat_encoding == CategoricalEncoding::kPartition) return out;
  for (const int f : p.categorical_features) {
    if (p.cat_encoding == CategoricalEncoding::kTargetStats) {
      out.push_back(f);
      continue;
    }
    const auto levels = X.visit([&](const auto& m) {
      std::vector<double> codes;
      codes.reserve(train_rows.size());
      for (const Index i : train_rows) {
        const double c = static_cast<double>(m(i, f));
        if (!std::isnan(c)) codes.push_back(c);
      }
      std::sort(codes.begin(), codes.end());
      return static_cast<Index>(std::unique(codes.begin(), codes.end()) - codes.begin());
    });
    if (levels > p.cat_ts_min_levels) out.push_back(f);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Adds tree `kept` (over the original columns) to the validation margins, routing the raw rows of
// X; returns their weighted mean log-loss, summed in block order.
double add_to_validation_margins_raw(const Tree& kept, const std::vector<std::int32_t>& card,
                                     const FeatureMatrix& X, ValidationRows& v, int nt_valid) {
  std::vector<detail::ExactSum> part(
      static_cast<std::size_t>(detail::n_blocks(static_cast<Index>(v.rows.size()), kBlock)));
  X.visit([&](const auto& m) {
    detail::parallel_blocks(
        static_cast<Index>(v.rows.size()), kBlock, nt_valid, [&](Index b, Index lo, Index hi) {
          detail::ExactSum s;
          for (Index k = lo; k < hi; ++k) {
            const auto uk = static_cast<std::size_t>(k);
            const Index i = v.rows[uk];
            std::int32_t node = 0;
            while (!kept.is_leaf(node)) {
              const auto u = static_cast<std::size_t>(node);
              const std::int32_t f = kept.feature[u];
              const double x = static_cast<double>(m(i, f));
              const std::int32_t kf = card.empty() ? 0 : card[static_cast<std::size_t>(f)];
              node = kept.goes_left(node, x, kf) ? kept.left[u] : kept.right[u];
            }
            v.margin[uk] += kept.value[static_cast<std::size_t>(node)];
            s.add(v.w[uk] * log_loss(v.y[uk], v.margin[uk]));
          }
          part[static_cast<std::size_t>(b)] = std::move(s);
        });
  });
  detail::ExactSum loss;
  for (const detail::ExactSum& s : part) loss.add(s);
  return loss.value() / v.w_sum;
}

// The target-statistic features of a fit, their derived matrix and the features left to native
// partitions (all of categorical_features when there is no target-statistic feature).
struct TargetStatSetup {
  std::vector<int> features;
  DerivedCategoricalMatrix derived;
  std::vector<int> native;
};

TargetStatSetup target_stat_setup(const GBDTParams& p, const Dataset& train,
                                  const GBDTFitContext& context,
                                  const std::vector<Index>& train_rows, bool all_rows,
                                  const std::vector<double>& w, int nt) {
  const Index n = train.n_samples();
  if (!context.groups.empty() && context.groups.size() != n) {
    throw InvalidInput(std::string(kFit) + ": groups has " + std::to_string(context.groups.size()) +
                       " entries but X has " + std::to_string(n) +
                       " rows; pass one group (patient) id per row.");
  }
  TargetStatSetup ts;
  ts.features = target_stat_features(p, train.X, train_rows);
  ts.native = p.categorical_features;
  if (ts.features.empty()) return ts;
  DerivedCategoricalSpec spec;
  spec.features = ts.features;
  spec.ancestry = context.code_ancestry;
  spec.ordinal = p.cat_ts_ordinal;
  spec.n_folds = p.cat_ts_folds;
  spec.smoothing = p.cat_ts_smoothing;
  spec.seed = p.random_state;
  ts.derived =
      derive_categorical_columns(train.X, all_rows ? std::vector<Index>{} : train_rows, train.y,
                                 VectorView<const double>(w.data(), n), context.groups, spec, nt);
  ts.native.erase(
      std::remove_if(
          ts.native.begin(), ts.native.end(),
          [&](int f) { return std::binary_search(ts.features.begin(), ts.features.end(), f); }),
      ts.native.end());
  return ts;
}

// Stage 1 of the binary and the softmax fit: bin edges from the bin sample of the training rows,
// level tables of the `native` categorical features, codes of every row of X (and of the
// validation rows when given), the splittable features and the fixed-point gradient scale.
struct FitBins {
  BinMapper mapper;
  BinnedMatrix bins, valid_bins;
  std::vector<std::int32_t> allowed;
  GradScale scale;
};

FitBins fit_bins(const GBDTParams& p, const FeatureMatrix& X, const FeatureMatrix* valid_X,
                 const std::vector<Index>& train_rows, bool all_rows,
                 const std::vector<int>& native, const std::vector<double>& w, Index n_named,
                 FitInfo& info, int nt) {
  FitBins b;
  const std::vector<Index> bin_rows = all_rows ? std::vector<Index>{} : train_rows;
  b.mapper = detail::fit_bin_mapper(X, bin_rows, p.max_bins, p.bin_subsample, p.random_state, nt);
  detail::make_categorical(b.mapper, X, bin_rows, {native, p.min_data_per_category}, nt);
  b.bins = detail::bin_matrix(b.mapper, X, nt, /*row_major_copy=*/!b.mapper.wide());
  if (valid_X != nullptr) b.valid_bins = detail::bin_matrix(b.mapper, *valid_X, nt);
  b.allowed = splittable_features(b.mapper, X.cols(), info, n_named);
  b.scale = gradient_scale(w, train_rows);
  return b;
}

// The saved model's cardinality per original feature: the mapper's (native categorical
// features), and K of each target-statistic feature.
std::vector<std::int32_t> model_cardinality(const BinMapper& mapper, const TargetStatSetup& ts,
                                            Index nf) {
  std::vector<std::int32_t> card = mapper.cardinality;
  if (ts.features.empty()) return card;
  card.resize(static_cast<std::size_t>(nf), 0);
  for (const int f : ts.features) {
    card[static_cast<std::size_t>(f)] = ts.derived.cardinality[static_cast<std::size_t>(f)];
  }
  return card;
}

}  // namespace

GradientBoostedTrees& GradientBoostedTrees::fit_impl(const Dataset& train, const Dataset* valid,
                                                     const GBDTFitContext& context) {
  const GBDTParams& p = params_;
  p.validate();
  check_fit_data(p, train, valid);
  const Index n = train.n_samples();
  const int nt = detail::resolve_threads(p.n_threads);
  FitInfo info;
  const RowWeights weights = row_weights(p, train);
  const std::vector<double> w = weights.of(train);

  // Rows used for training and (internal) validation.
  std::vector<Index> train_rows, inner_valid_rows;
  const bool inner_valid = p.early_stopping && valid == nullptr;
  if (inner_valid) {
    // Hashed by (seed, row): a distributed fit draws the same rows (trees/holdout.hpp).
    Holdout h = detail::hashed_holdout(train.y, p.validation_fraction, p.random_state);
    train_rows = std::move(h.train);
    inner_valid_rows = std::move(h.valid);
  } else {
    train_rows.resize(static_cast<std::size_t>(n));
    std::iota(train_rows.begin(), train_rows.end(), Index{0});
  }
  const bool all_rows = !inner_valid;
  const auto [sw0, sw1] = class_totals(train, w, train_rows);
  check_model_size(p, static_cast<Index>(train_rows.size()));

  // Target statistics: derived columns of high-cardinality categorical features (docs/trees.md).
  const TargetStatSetup ts = target_stat_setup(p, train, context, train_rows, all_rows, w, nt);
  const bool use_ts = !ts.features.empty();
  const FeatureMatrix Xfit = use_ts ? FeatureMatrix(view(ts.derived.X)) : train.X;

  // Stage 1: bin edges from the bin sample of the training rows; codes for every row of X.
  const FitBins fb = fit_bins(p, Xfit, valid != nullptr && !use_ts ? &valid->X : nullptr,
                              train_rows, all_rows, ts.native, w, train.n_features(), info, nt);
  const BinMapper& mapper = fb.mapper;
  const BinnedMatrix& bins = fb.bins;
  const BinnedMatrix& vb = valid != nullptr ? fb.valid_bins : bins;
  const std::vector<std::int32_t>& allowed = fb.allowed;
  const GradScale& scale = fb.scale;

  TreeEnsemble ens;
  ens.n_features = train.n_features();
  ens.cardinality = model_cardinality(mapper, ts, train.n_features());
  ens.base_score = std::log(sw1 / sw0);  // weighted log-odds: the best constant margin
  detail::GrowerParams gparams = detail::grower_params(p, scale, nt);
  if (!gparams.monotone.empty()) gparams.monotone.resize(static_cast<std::size_t>(Xfit.cols()), 0);
  detail::TreeGrower grower(bins, mapper, std::move(gparams));
  ValidationRows vset =
      validation_rows(train, valid, inner_valid_rows, inner_valid, weights, w, ens.base_score);
  const bool has_valid = !vset.rows.empty();

  std::vector<double> margin(static_cast<std::size_t>(n), ens.base_score);
  std::vector<GradPair> gh(static_cast<std::size_t>(n));
  std::vector<RowIndex> rows;
  std::vector<std::uint8_t> in_bag;
  std::vector<std::int32_t> feats;
  valid_loss_.clear();
  EarlyStopping stopping;
  // Per-row loops of a round are a few ns per row: below ~128k rows one thread beats the cost of
  // a parallel region.
  const int nt_rows = train_rows.size() < (std::size_t{1} << 17) ? 1 : nt;
  const int nt_valid = vset.rows.size() < (std::size_t{1} << 17) ? 1 : nt;

  for (int t = 0; t < p.n_estimators; ++t) {
    compute_gradients(train_rows, margin, w, train.y, scale, gh, nt_rows);
    const bool rows_are_all = sample_rows(p, t, train_rows, all_rows, rows);
    detail::sample_features(p, t, allowed, feats);
    detail::GrownTree grown = grower.grow(rows, rows_are_all, gh.data(), feats);
    add_to_in_bag_margins(grown, rows, margin, nt);
    if (p.subsample < 1.0) {
      add_to_out_of_bag_margins(grown, bins, mapper, train_rows, rows, in_bag, margin, nt_rows);
    }
    ens.trees.push_back(use_ts ? to_categorical_tree(grown.tree, ts.derived)
                               : std::move(grown.tree));
    const Tree& kept = ens.trees.back();
    const bool stump = kept.n_nodes() == 1;

    if (has_valid) {
      // With target statistics: the converted tree on the raw codes, as the saved model scores.
      const double loss =
          use_ts ? add_to_validation_margins_raw(
                       kept, ens.cardinality, valid != nullptr ? valid->X : train.X, vset, nt_valid)
                 : add_to_validation_margins(kept, grown.bin, grown.cat_left, vb, mapper, vset,
                                             nt_valid);
      valid_loss_.push_back(loss);
      stopping.record(loss, t, p.tol);
      if (p.early_stopping && stopping.since_best >= p.n_iter_no_change) {
        info.notes.push_back("early stopping after round " + std::to_string(t + 1) +
                             ": no validation improvement > tol in " +
                             std::to_string(p.n_iter_no_change) + " rounds; kept " +
                             std::to_string(stopping.best_iter) + " trees.");
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
    best_iteration_ = std::max(stopping.best_iter, 1);
    ens.trees.resize(static_cast<std::size_t>(best_iteration_));
  } else {
    best_iteration_ = n_iter_;
  }
  info.n_iter = n_iter_;
  info.converged = true;

  state_ = GBDTState{std::move(ens), {}};  // no class ensembles (a refit of a multiclass model)
  build_predictors();
  info_ = std::move(info);
  fitted_ = true;
  return *this;
}

// ---- multiclass (softmax) boosting --------------------------------------------------------------
// K trees per round on the softmax loss, as scikit-learn's HistGradientBoostingClassifier and
// LightGBM's "multiclass" objective: tree k fits the gradient p_k - [y = k] with hessian
// p_k (1 - p_k) (the diagonal of the softmax Hessian), all K trees of a round at the raw scores the
// round started from.

namespace {

// Checks of a multiclass fit: features, class-index labels (every class present), weights, the
// validation set and the parameters that have no K-class meaning.
std::vector<Index> check_multiclass_data(const GBDTParams& p, const Dataset& train,
                                         const Dataset* valid, int K) {
  const std::string where = kFit;
  validate_features(train.X, where);
  const Index n = train.n_samples();
  const Index nf = train.n_features();
  std::vector<Index> counts = validate_class_labels(train.y, K, n, where, true);
  validate_sample_weight(train.sample_weight, n, where);
  for (std::size_t f = 0; f < p.monotonic_cst.size(); ++f) {
    if (p.monotonic_cst[f] != 0) {
      throw InvalidParams(
          "GBDTParams.monotonic_cst[" + std::to_string(f) + "] is " +
          std::to_string(p.monotonic_cst[f]) + " but y has " + std::to_string(K) +
          " classes; monotonic constraints are supported for binary models only (a constraint on "
          "one class's raw score does not make its softmax probability monotone). Set every "
          "entry to 0, or train one-vs-rest binary models.");
    }
  }
  const std::size_t n_weights = p.class_weight.per_class.size();
  if (n_weights != 0 && n_weights != static_cast<std::size_t>(K)) {
    throw InvalidParams("GBDTParams.class_weight has " + std::to_string(n_weights) +
                        " per-class weights but y has " + std::to_string(K) +
                        " classes; give one weight per class.");
  }
  if (p.scale_pos_weight != 1.0) {
    throw InvalidParams("GBDTParams.scale_pos_weight is " + num(p.scale_pos_weight) +
                        " but y has " + std::to_string(K) +
                        " classes; it weights the positive class of a binary model. Use "
                        "class_weight (balanced or one weight per class) instead.");
  }
  for (const int f : p.categorical_features) {
    if (f >= nf) {
      throw InvalidParams("GBDTParams.categorical_features lists column " + std::to_string(f) +
                          " but X has " + std::to_string(nf) +
                          " columns; categorical_features holds 0-based column indices of X.");
    }
  }
  if (valid != nullptr) {
    const std::string vw = where + " (validation set)";
    validate_features(valid->X, nf, vw);
    if (valid->X.rows() == 0) {
      throw InvalidInput(vw + ": X has 0 rows; pass at least one validation sample.");
    }
    validate_class_labels(valid->y, K, valid->X.rows(), vw, /*require_all_classes=*/false);
    validate_sample_weight(valid->sample_weight, valid->X.rows(), vw);
  }
  if (static_cast<std::uint64_t>(n) > std::numeric_limits<RowIndex>::max()) {
    throw InvalidInput(where + ": X has " + std::to_string(n) +
                       " rows; tree training supports at most " +
                       std::to_string(std::numeric_limits<RowIndex>::max()) +
                       " rows. Train on a sample of the rows.");
  }
  return counts;
}

// sample_weight x the class multiplier of each row's class.
std::vector<double> multiclass_row_weights(const Dataset& d, const std::vector<double>& mult) {
  std::vector<double> w(static_cast<std::size_t>(d.n_samples()));
  for (Index i = 0; i < d.n_samples(); ++i) {
    const double sw = d.sample_weight.empty() ? 1.0 : d.sample_weight[i];
    w[static_cast<std::size_t>(i)] = sw * mult[static_cast<std::size_t>(d.y[i])];
  }
  return w;
}

// One tree-less ensemble per class with its initial raw score.
std::vector<TreeEnsemble> empty_class_ensembles(const std::vector<double>& base, Index nf,
                                                const BinMapper& mapper) {
  std::vector<TreeEnsemble> ens(base.size());
  for (std::size_t k = 0; k < base.size(); ++k) {
    ens[k].n_features = nf;
    ens[k].cardinality = mapper.cardinality;
    ens[k].base_score = base[k];
  }
  return ens;
}

// Training and (inner) validation rows of a multiclass fit: a per-class stratified hold-out with
// early stopping and no validation set, else every row for training.
Holdout multiclass_rows(const GBDTParams& p, VectorView<const double> y, int K, bool inner_valid) {
  if (inner_valid) {
    // The binary rule per class: hashed by (seed, row) (trees/holdout.hpp).
    return detail::hashed_holdout_classes(y, K, p.validation_fraction, p.random_state);
  }
  Holdout h;
  h.train.resize(static_cast<std::size_t>(y.size()));
  std::iota(h.train.begin(), h.train.end(), Index{0});
  return h;
}

// Total weight of each class over the training rows; throws when a class has none.
std::vector<double> multiclass_totals(const Dataset& train, const std::vector<double>& w,
                                      const std::vector<Index>& train_rows, int K) {
  std::vector<double> tot(static_cast<std::size_t>(K), 0.0);
  for (const Index i : train_rows) {
    tot[static_cast<std::size_t>(train.y[i])] += w[static_cast<std::size_t>(i)];
  }
  for (int c = 0; c < K; ++c) {
    if (!(tot[static_cast<std::size_t>(c)] > 0.0)) {
      throw InvalidInput(std::string(kFit) + ": class " + std::to_string(c) +
                         " has zero total weight in the training rows (after holding out the "
                         "validation share, if any); pass rows of that class with positive "
                         "sample weight, or an explicit validation set.");
    }
  }
  return tot;
}

// Initial raw scores: the weighted class priors, clipped to [eps, 1 - eps], as centred logs
// (scikit-learn's HalfMultinomialLoss.fit_intercept_only with the symmetric multinomial link).
std::vector<double> multiclass_base_scores(const std::vector<double>& totals) {
  double sum = 0.0;
  for (const double t : totals) sum += t;
  const double eps = std::numeric_limits<double>::epsilon();
  std::vector<double> z(totals.size());
  double mean = 0.0;
  for (std::size_t k = 0; k < totals.size(); ++k) {
    z[k] = std::log(std::min(std::max(totals[k] / sum, eps), 1.0 - eps));
    mean += z[k];
  }
  mean /= static_cast<double>(z.size());
  for (double& v : z) v -= mean;
  return z;
}

// Softmax probabilities of the training rows at the current raw scores (class-major arrays).
void softmax_rows(const std::vector<Index>& train_rows, const std::vector<std::vector<double>>& z,
                  std::vector<std::vector<double>>& prob, int nt) {
  const std::size_t K = z.size();
  detail::parallel_blocks(
      static_cast<Index>(train_rows.size()), kBlock, nt, [&](Index, Index lo, Index hi) {
        double buf[kMaxClasses];
        for (Index r = lo; r < hi; ++r) {
          const auto i = static_cast<std::size_t>(train_rows[static_cast<std::size_t>(r)]);
          double mx = -std::numeric_limits<double>::infinity();
          for (std::size_t k = 0; k < K; ++k) {
            buf[k] = z[k][i];
            mx = std::max(mx, buf[k]);
          }
          detail::softmax_in_place(buf, K, mx);
          for (std::size_t k = 0; k < K; ++k) prob[k][i] = buf[k];
        }
      });
}

// Gradients and hessians of the weighted softmax loss for class k, quantised.
void class_gradients(const std::vector<Index>& train_rows, const std::vector<double>& pk,
                     const std::vector<double>& w, VectorView<const double> y, double k,
                     const GradScale& scale, std::vector<GradPair>& gh, int nt) {
  detail::parallel_blocks(
      static_cast<Index>(train_rows.size()), kBlock, nt, [&](Index, Index lo, Index hi) {
        for (Index r = lo; r < hi; ++r) {
          const auto i = static_cast<std::size_t>(train_rows[static_cast<std::size_t>(r)]);
          const double pr = pk[i];
          const double wi = w[i];
          const double yk = y[static_cast<Index>(i)] == k ? 1.0 : 0.0;
          gh[i] = scale.quantise(wi * (pr - yk), wi * pr * (1.0 - pr));
        }
      });
}

// Validation rows of a multiclass fit with their running raw scores (class-major).
struct MulticlassValidation {
  std::vector<Index> rows;
  std::vector<double> y, w;
  std::vector<std::vector<double>> z;
  double w_sum = 0.0;
};

MulticlassValidation multiclass_validation(const Dataset& train, const Dataset* valid,
                                           const std::vector<Index>& inner_rows,
                                           const std::vector<double>& mult,
                                           const std::vector<double>& w,
                                           const std::vector<double>& base) {
  MulticlassValidation v;
  if (valid != nullptr) {
    const std::vector<double> wv = multiclass_row_weights(*valid, mult);
    for (Index i = 0; i < valid->n_samples(); ++i) {
      v.rows.push_back(i);
      v.y.push_back(valid->y[i]);
      v.w.push_back(wv[static_cast<std::size_t>(i)]);
    }
  } else {
    v.rows = inner_rows;
    for (const Index i : v.rows) {
      v.y.push_back(train.y[i]);
      v.w.push_back(w[static_cast<std::size_t>(i)]);
    }
  }
  for (const double x : v.w) v.w_sum += x;
  if (!v.rows.empty() && !(v.w_sum > 0.0)) {
    throw InvalidInput(std::string(kFit) +
                       ": the validation rows have zero total weight; pass validation rows with "
                       "positive sample weight.");
  }
  for (const double b : base) v.z.emplace_back(v.rows.size(), b);
  return v;
}

// Adds class k's new tree to the validation raw scores by walking the binned tree.
void add_class_tree_to_validation(const detail::GrownTree& grown, const BinnedMatrix& vb,
                                  const BinMapper& mapper, MulticlassValidation& v,
                                  std::vector<double>& zk, int nt) {
  detail::parallel_blocks(static_cast<Index>(v.rows.size()), kBlock, nt,
                          [&](Index, Index lo, Index hi) {
                            for (Index r = lo; r < hi; ++r) {
                              const auto u = static_cast<std::size_t>(r);
                              const auto leaf = detail::binned_leaf(grown, vb, mapper, v.rows[u]);
                              zk[u] += grown.tree.value[static_cast<std::size_t>(leaf)];
                            }
                          });
}

// Weighted mean multiclass log-loss sum_i w_i (logsumexp_k z_ik - z_i,y_i) / sum_i w_i, summed
// in block order (independent of the thread count).
double multiclass_validation_loss(const MulticlassValidation& v, int nt) {
  const std::size_t K = v.z.size();
  std::vector<double> part(
      static_cast<std::size_t>(detail::n_blocks(static_cast<Index>(v.rows.size()), kBlock)));
  detail::parallel_blocks(
      static_cast<Index>(v.rows.size()), kBlock, nt, [&](Index b, Index lo, Index hi) {
        double s = 0.0;
        for (Index r = lo; r < hi; ++r) {
          const auto u = static_cast<std::size_t>(r);
          double mx = -std::numeric_limits<double>::infinity();
          for (std::size_t k = 0; k < K; ++k) mx = std::max(mx, v.z[k][u]);
          double se = 0.0;
          for (std::size_t k = 0; k < K; ++k) se += std::exp(v.z[k][u] - mx);
          s += v.w[u] * (mx + std::log(se) - v.z[static_cast<std::size_t>(v.y[u])][u]);
        }
        part[static_cast<std::size_t>(b)] = s;
      });
  double loss = 0.0;
  for (const double s : part) loss += s;
  return loss / v.w_sum;
}

// Class ensembles of a multiclass state: K in [3, kMaxClasses], each valid, with the shared
// n_features / cardinality of `ensemble` and the same number of trees.
void check_class_ensembles(const GBDTState& s, const std::string& where) {
  const std::size_t K = s.class_ensembles.size();
  if (K < 3 || K > static_cast<std::size_t>(kMaxClasses)) {
    throw InvalidInput(where + ": class_ensembles has " + std::to_string(K) +
                       " entries; a multiclass model has 3 to " + std::to_string(kMaxClasses) +
                       " classes (a binary model keeps it empty).");
  }
  s.ensemble.validate(where + ": ensemble");
  if (!s.ensemble.trees.empty()) {
    throw InvalidInput(where + ": ensemble holds " + std::to_string(s.ensemble.trees.size()) +
                       " trees but the model is multiclass; the trees belong in class_ensembles.");
  }
  for (std::size_t k = 0; k < K; ++k) {
    const TreeEnsemble& e = s.class_ensembles[k];
    const std::string w = where + ": class_ensembles[" + std::to_string(k) + "]";
    if (e.n_features != s.ensemble.n_features || e.cardinality != s.ensemble.cardinality) {
      throw InvalidInput(w +
                         " has other features (n_features or cardinality) than the model; "
                         "every class scores the same columns.");
    }
    if (e.trees.size() != s.class_ensembles[0].trees.size()) {
      throw InvalidInput(w + " has " + std::to_string(e.trees.size()) + " trees but class 0 has " +
                         std::to_string(s.class_ensembles[0].trees.size()) +
                         "; every boosting round grows one tree per class.");
    }
    e.validate(w);
  }
}

}  // namespace

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, int n_classes) {
  return fit(train, GBDTFitContext{}, n_classes);
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, const Dataset& valid,
                                                int n_classes) {
  return fit(train, valid, GBDTFitContext{}, n_classes);
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, const GBDTFitContext& context,
                                                int n_classes) {
  if (n_classes == 2) return fit_impl(train, nullptr, context);
  return fit_multiclass(train, nullptr, context, n_classes);
}

GradientBoostedTrees& GradientBoostedTrees::fit(const Dataset& train, const Dataset& valid,
                                                const GBDTFitContext& context, int n_classes) {
  if (n_classes == 2) return fit_impl(train, &valid, context);
  return fit_multiclass(train, &valid, context, n_classes);
}

GradientBoostedTrees& GradientBoostedTrees::fit_multiclass(const Dataset& train,
                                                           const Dataset* valid,
                                                           const GBDTFitContext& context, int K) {
  const GBDTParams& p = params_;
  p.validate();
  const std::vector<Index> counts = check_multiclass_data(p, train, valid, K);
  const Index n = train.n_samples();
  const int nt = detail::resolve_threads(p.n_threads);
  FitInfo info;
  // Class multipliers from the training row counts, as the binary fit (balanced: n / (K n_c)).
  const std::vector<double> mult =
      p.class_weight.class_multipliers(std::vector<double>(counts.begin(), counts.end()));
  const std::vector<double> w = multiclass_row_weights(train, mult);

  const bool inner_valid = p.early_stopping && valid == nullptr;
  const Holdout split = multiclass_rows(p, train.y, K, inner_valid);
  const std::vector<Index>& train_rows = split.train;
  const bool all_rows = !inner_valid;
  const std::vector<double> totals = multiclass_totals(train, w, train_rows, K);
  check_model_size(p, static_cast<Index>(train_rows.size()), K);
  if (!context.groups.empty() && context.groups.size() != n) {
    throw InvalidInput(std::string(kFit) + ": groups has " + std::to_string(context.groups.size()) +
                       " entries but X has " + std::to_string(n) +
                       " rows; pass one group (patient) id per row.");
  }
  // Target statistics encode a binary target: K-class models split every categorical feature
  // by native partitions (docs/trees.md "Multiclass").
  if (!target_stat_features(p, train.X, train_rows).empty()) {
    info.notes.push_back(
        "multiclass: categorical features use native partition splits (target statistics, "
        "cat_encoding=" +
        std::string(enum_to_text(p.cat_encoding)) + ", are for binary models).");
  }

  // Stage 1: bins; every categorical feature is native.
  const FitBins fb = fit_bins(p, train.X, valid != nullptr ? &valid->X : nullptr, train_rows,
                              all_rows, p.categorical_features, w, train.n_features(), info, nt);
  const BinMapper& mapper = fb.mapper;
  const BinnedMatrix& bins = fb.bins;
  const BinnedMatrix& vb = valid != nullptr ? fb.valid_bins : bins;
  const std::vector<std::int32_t>& allowed = fb.allowed;
  const GradScale& scale = fb.scale;

  const std::vector<double> base = multiclass_base_scores(totals);
  std::vector<TreeEnsemble> ens = empty_class_ensembles(base, train.n_features(), mapper);
  detail::TreeGrower grower(bins, mapper, detail::grower_params(p, scale, nt));
  MulticlassValidation vset = inner_valid || valid != nullptr
                                  ? multiclass_validation(train, valid, split.valid, mult, w, base)
                                  : MulticlassValidation{};
  const bool has_valid = !vset.rows.empty();

  std::vector<std::vector<double>> z, prob(static_cast<std::size_t>(K));
  for (const double b : base) z.emplace_back(static_cast<std::size_t>(n), b);
  for (auto& pk : prob) pk.assign(static_cast<std::size_t>(n), 0.0);
  std::vector<GradPair> gh(static_cast<std::size_t>(n));
  std::vector<RowIndex> round_rows, rows;
  std::vector<std::uint8_t> in_bag;
  std::vector<std::int32_t> feats;
  valid_loss_.clear();
  EarlyStopping stopping;
  const int nt_rows = train_rows.size() < (std::size_t{1} << 17) ? 1 : nt;
  const int nt_valid = vset.rows.size() < (std::size_t{1} << 17) ? 1 : nt;

  for (int t = 0; t < p.n_estimators; ++t) {
    softmax_rows(train_rows, z, prob, nt_rows);
    const bool rows_are_all = sample_rows(p, t, train_rows, all_rows, round_rows);
    bool all_stumps = true;
    for (int k = 0; k < K; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      class_gradients(train_rows, prob[uk], w, train.y, static_cast<double>(k), scale, gh, nt_rows);
      rows = round_rows;  // the grower partitions its rows in place
      detail::sample_features(p, t * K + k, allowed, feats);
      detail::GrownTree grown = grower.grow(rows, rows_are_all, gh.data(), feats);
      add_to_in_bag_margins(grown, rows, z[uk], nt);
      if (p.subsample < 1.0) {
        add_to_out_of_bag_margins(grown, bins, mapper, train_rows, rows, in_bag, z[uk], nt_rows);
      }
      if (has_valid) add_class_tree_to_validation(grown, vb, mapper, vset, vset.z[uk], nt_valid);
      all_stumps = all_stumps && grown.tree.n_nodes() == 1;
      ens[uk].trees.push_back(std::move(grown.tree));
    }
    if (has_valid) {
      const double loss = multiclass_validation_loss(vset, nt_valid);
      valid_loss_.push_back(loss);
      stopping.record(loss, t, p.tol);
      if (p.early_stopping && stopping.since_best >= p.n_iter_no_change) {
        info.notes.push_back("early stopping after round " + std::to_string(t + 1) +
                             ": no validation improvement > tol in " +
                             std::to_string(p.n_iter_no_change) + " rounds; kept " +
                             std::to_string(stopping.best_iter) + " rounds.");
        break;
      }
    }
    if (all_stumps) {
      info.notes.push_back("stopped after round " + std::to_string(t + 1) +
                           ": no leaf of any class could be split under the growth rules "
                           "(min_samples_leaf, min_child_weight, min_gain_to_split, constant "
                           "features).");
      break;
    }
  }

  n_iter_ = static_cast<int>(ens[0].trees.size());
  best_iteration_ = p.early_stopping && has_valid ? std::max(stopping.best_iter, 1) : n_iter_;
  for (TreeEnsemble& e : ens) e.trees.resize(static_cast<std::size_t>(best_iteration_));
  info.n_iter = n_iter_;
  info.converged = true;

  state_ = GBDTState{};
  state_.ensemble.n_features = train.n_features();
  state_.ensemble.cardinality = mapper.cardinality;
  state_.class_ensembles = std::move(ens);
  build_predictors();
  info_ = std::move(info);
  fitted_ = true;
  return *this;
}

int GradientBoostedTrees::n_classes() const {
  require_fitted("n_classes");
  return state_.n_classes();
}

namespace {

VectorView<double> col_view(MatrixView<double> m, Index k) {
  return VectorView<double>(m.col_ptr(k), m.rows(), m.row_stride());
}

void check_matrix_out(const FeatureMatrix& X, MatrixView<double> out, Index cols,
                      const std::string& where) {
  if (out.rows() != X.rows() || out.cols() != cols) {
    throw InvalidInput(where + ": out is " + std::to_string(out.rows()) + " x " +
                       std::to_string(out.cols()) + " but must be " + std::to_string(X.rows()) +
                       " x " + std::to_string(cols) + " (one row per row of X, one column per " +
                       (cols == 1 ? "margin" : "class") + ").");
  }
}

}  // namespace

void GradientBoostedTrees::decision_matrix(const FeatureMatrix& X, MatrixView<double> out) const {
  require_fitted("decision_matrix");
  const std::string where = "GradientBoostedTrees::decision_matrix";
  validate_features(X, state_.ensemble.n_features, where);
  const auto K = static_cast<Index>(class_predictors_.size());
  check_matrix_out(X, out, K == 0 ? 1 : K, where);
  if (K == 0) {
    predictor_.predict_margin(X, col_view(out, 0), params_.n_threads, where);
    return;
  }
  for (Index k = 0; k < K; ++k) {
    class_predictors_[static_cast<std::size_t>(k)].predict_margin(X, col_view(out, k),
                                                                  params_.n_threads, where);
  }
}

void GradientBoostedTrees::predict_proba_matrix(const FeatureMatrix& X,
                                                MatrixView<double> out) const {
  require_fitted("predict_proba_matrix");
  const std::string where = "GradientBoostedTrees::predict_proba_matrix";
  validate_features(X, state_.ensemble.n_features, where);
  const auto K = static_cast<Index>(state_.n_classes());
  check_matrix_out(X, out, K, where);
  const Index n = X.rows();
  if (class_predictors_.empty()) {
    predictor_.predict_proba(X, col_view(out, 1), params_.n_threads, where);
    for (Index i = 0; i < n; ++i) out(i, 0) = 1.0 - out(i, 1);
    return;
  }
  for (Index k = 0; k < K; ++k) {
    class_predictors_[static_cast<std::size_t>(k)].predict_margin(X, col_view(out, k),
                                                                  params_.n_threads, where);
  }
  const int threads = n * K < (Index{1} << 16) ? 1 : params_.n_threads;
  detail::parallel_blocks(n, kBlock, threads, [&](Index, Index lo, Index hi) {
    double buf[kMaxClasses];
    for (Index i = lo; i < hi; ++i) {
      double mx = -std::numeric_limits<double>::infinity();
      for (Index k = 0; k < K; ++k) {
        buf[k] = out(i, k);
        mx = std::max(mx, buf[k]);
      }
      detail::softmax_in_place(buf, static_cast<std::size_t>(K), mx);
      for (Index k = 0; k < K; ++k) out(i, k) = buf[k];
    }
  });
}

const TreeEnsemble& GradientBoostedTrees::class_ensemble(int k) const {
  require_fitted("class_ensemble");
  const int K = state_.n_classes();
  if (k < 0 || k >= K || (K == 2 && k != 1)) {
    throw InvalidInput("GradientBoostedTrees::class_ensemble: class " + std::to_string(k) +
                       " is not available; the model has " + std::to_string(K) +
                       " classes (a binary model has one ensemble, class 1's log-odds).");
  }
  return K == 2 ? state_.ensemble : state_.class_ensembles[static_cast<std::size_t>(k)];
}

const TreePredictor& GradientBoostedTrees::class_predictor(int k) const {
  class_ensemble(k);  // checks
  return class_predictors_.empty() ? predictor_ : class_predictors_[static_cast<std::size_t>(k)];
}

void GradientBoostedTrees::require_fitted(const char* where) const {
  if (!fitted_) {
    throw NotFitted(std::string("GradientBoostedTrees::") + where +
                    ": the model is not fitted; call fit() first (or from_state()).");
  }
}

void GradientBoostedTrees::require_binary(const char* where) const {
  require_fitted(where);
  if (!class_predictors_.empty()) {
    throw InvalidInput(std::string("GradientBoostedTrees::") + where + ": the model has " +
                       std::to_string(class_predictors_.size()) +
                       " classes; this method is for binary models. Use predict_proba_matrix / "
                       "decision_matrix / class_ensemble(k).");
  }
}

Eigen::VectorXd GradientBoostedTrees::decision_function(const FeatureMatrix& X) const {
  require_binary("decision_function");
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
  require_binary("predict_proba");
  const std::string where = "GradientBoostedTrees::predict_proba";
  validate_features(X, state_.ensemble.n_features, where);
  predictor_.predict_proba(X, out, params_.n_threads, where);
}

const TreeEnsemble& GradientBoostedTrees::ensemble() const {
  require_binary("ensemble");
  return state_.ensemble;
}

const TreePredictor& GradientBoostedTrees::predictor() const {
  require_binary("predictor");
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

void GradientBoostedTrees::build_predictors() {
  class_predictors_.clear();
  if (state_.class_ensembles.empty()) {
    predictor_ = TreePredictor(state_.ensemble);
    return;
  }
  predictor_ = TreePredictor();
  class_predictors_.reserve(state_.class_ensembles.size());
  for (const TreeEnsemble& e : state_.class_ensembles) class_predictors_.emplace_back(e);
}

GradientBoostedTrees GradientBoostedTrees::from_state(GBDTState s, GBDTParams p) {
  p.validate();
  const std::string where = "GradientBoostedTrees::from_state";
  if (s.class_ensembles.empty()) {
    s.ensemble.validate(where + ": ensemble");
  } else {
    check_class_ensembles(s, where);
  }
  GradientBoostedTrees m(std::move(p));
  m.state_ = std::move(s);
  m.build_predictors();
  m.n_iter_ = m.best_iteration_ = static_cast<int>(
      m.state_.class_ensembles.empty() ? m.state_.ensemble.trees.size()
                                       : m.state_.class_ensembles.front().trees.size());
  m.info_.n_iter = m.n_iter_;
  m.fitted_ = true;
  return m;
}

namespace detail {

void check_model_size(const GBDTParams& p, Index n_train) {
  calibrisk::check_model_size(p, n_train);
}

GrowerParams grower_params(const GBDTParams& p, const GradScale& scale, int nt) {
  GrowerParams gp;
  gp.rules.g_unit = scale.g_unit;
  gp.rules.h_unit = scale.h_unit;
  gp.max_leaf_nodes = p.max_leaf_nodes;
  gp.max_depth = p.max_depth;
  gp.learning_rate = p.learning_rate;
  gp.max_delta_step = p.max_delta_step;
  gp.rules.l2 = p.l2_regularization;
  gp.rules.min_gain = p.min_gain_to_split;
  gp.rules.min_child_weight = p.min_child_weight;
  gp.rules.min_samples_leaf = p.min_samples_leaf;
  gp.rules.cat_smooth = p.cat_smooth;
  gp.rules.cat_l2 = p.cat_l2;
  gp.rules.max_cat_threshold = p.max_cat_threshold;
  gp.rules.max_cat_to_onehot = p.max_cat_to_onehot;
  for (const int c : p.monotonic_cst) gp.monotone.push_back(static_cast<std::int8_t>(c));
  gp.n_threads = nt;
  return gp;
}

std::pair<double, double> binary_class_multipliers(const GBDTParams& p, Index n0, Index n1) {
  const std::pair<double, double> m = p.class_weight.resolve(n0, n1);
  return {m.first, m.second * p.scale_pos_weight};
}

std::uint64_t bag_key(std::uint64_t seed, int round, Index row) noexcept {
  // The bin-sample hash keyed by a per-round stream of the seed (splitmix64 of seed and round).
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<std::uint64_t>(round) + 1000);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return bin_sample_key(z ^ (z >> 31), row);
}

void bag_rows(const GBDTParams& p, int t, const std::vector<Index>& train_rows,
              std::vector<RowIndex>& rows) {
  rows.clear();
  std::uint64_t min_key = std::numeric_limits<std::uint64_t>::max();
  Index min_row = train_rows.empty() ? 0 : train_rows.front();
  for (const Index i : train_rows) {
    const std::uint64_t key = bag_key(p.random_state, t, i);
    if (in_bag(key, p.subsample)) rows.push_back(static_cast<RowIndex>(i));
    if (key < min_key) {
      min_key = key;
      min_row = i;
    }
  }
  if (rows.empty() && !train_rows.empty()) rows.push_back(static_cast<RowIndex>(min_row));
}

void sample_features(const GBDTParams& p, int t, const std::vector<std::int32_t>& allowed,
                     std::vector<std::int32_t>& feats) {
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
}

}  // namespace detail

}  // namespace calibrisk
