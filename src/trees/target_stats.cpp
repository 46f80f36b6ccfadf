// SPDX-License-Identifier: Apache-2.0
// Target statistics of categorical codes (out-of-fold and ordered) and the conversion of a split on
// them into a category set. Every column is computed serially in row (or permutation) order, and
// columns run in parallel, so results are bit-identical for any thread count.
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/target_stats.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

namespace calibrisk {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string num(double v) {
  std::string s = std::to_string(v);
  // std::to_string prints 6 decimals; trim trailing zeros so codes read as integers.
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

// Code of row i as a level index, -1 when missing (NaN). Throws on anything else that is not an
// integer in [0, kMaxTargetStatLevels): at fitting such a code is a data error, not "unseen".
Index level_of(double c, Index column, Index row) {
  if (std::isnan(c)) return -1;
  if (!(c >= 0.0) || c >= static_cast<double>(kMaxTargetStatLevels) || c != std::floor(c)) {
    throw InvalidInput(
        "target statistics: column " + std::to_string(column) + " has code " + num(c) + " at row " +
        std::to_string(row) + "; categorical codes must be integers in [0, " +
        std::to_string(kMaxTargetStatLevels) + ") or NaN (missing). Encode labels to codes first.");
  }
  return static_cast<Index>(c);
}

double weight_of(VectorView<const double> w, Index i) { return w.empty() ? 1.0 : w[i]; }

// One past the largest code of the column (validating every code).
Index n_levels_of(VectorView<const double> codes, Index column) {
  Index k = 0;
  for (Index i = 0; i < codes.size(); ++i) k = std::max(k, level_of(codes[i], column, i) + 1);
  return k;
}

double smoothed(double wy, double w, double a, double prior) { return (wy + a * prior) / (w + a); }

// The SplitMix64 finaliser applied to a (seed, key) pair: a fixed function, so folds are the same
// on every platform and for every partition of the rows.
std::uint64_t hash_key(std::uint64_t seed, std::uint64_t key) {
  std::uint64_t x = seed ^ (key * 0x9E3779B97F4A7C15ULL);
  std::uint64_t h = Rng::splitmix64(x);
  return Rng::splitmix64(h);
}

std::uint64_t group_key(double g, Index row) {
  if (!std::isfinite(g)) {
    throw InvalidInput("target statistics: groups[" + std::to_string(row) + "] = " + num(g) +
                       " is not finite; pass one finite group (patient) id per row.");
  }
  if (g == 0.0) g = 0.0;  // -0 and +0 are the same group
  std::uint64_t bits = 0;
  std::memcpy(&bits, &g, sizeof bits);
  return bits;
}

void check_sizes(Index n, VectorView<const double> y, VectorView<const double> w,
                 VectorView<double> out) {
  if (y.size() != n || (!w.empty() && w.size() != n) || out.size() != n) {
    throw InvalidInput(
        "target statistics: codes, y, weights and output must have one entry per row"
        " (codes " +
        std::to_string(n) + ", y " + std::to_string(y.size()) + ", weights " +
        std::to_string(w.size()) + ", output " + std::to_string(out.size()) + ").");
  }
}

}  // namespace

void TargetStatParams::validate() const {
  if (n_folds < 2) {
    throw InvalidParams("TargetStatParams.n_folds must be >= 2, got " + std::to_string(n_folds) +
                        "; 5 is the default.");
  }
  if (!(std::isfinite(smoothing) && smoothing >= 0.0)) {
    throw InvalidParams("TargetStatParams.smoothing must be finite and >= 0, got " +
                        num(smoothing) + "; 1 is the default.");
  }
  class_weight.validate("TargetStatParams.class_weight");
  detail::resolve_threads(n_threads);
}

std::vector<int> target_stat_folds(Index n_rows, VectorView<const double> groups, int n_folds,
                                   std::uint64_t seed) {
  if (n_folds < 2) {
    throw InvalidParams("target statistics: n_folds must be >= 2, got " + std::to_string(n_folds) +
                        ".");
  }
  if (!groups.empty() && groups.size() != n_rows) {
    throw InvalidInput("target statistics: groups has " + std::to_string(groups.size()) +
                       " entries for " + std::to_string(n_rows) + " rows; pass one per row.");
  }
  std::vector<int> folds(static_cast<std::size_t>(n_rows));
  for (Index i = 0; i < n_rows; ++i) {
    const std::uint64_t key =
        groups.empty() ? static_cast<std::uint64_t>(i) : group_key(groups[i], i);
    // Lemire's multiply-shift maps the hash to [0, K) with a bias below K / 2^64.
    const auto h = static_cast<__uint128_t>(hash_key(seed, key)) * static_cast<unsigned>(n_folds);
    folds[static_cast<std::size_t>(i)] = static_cast<int>(h >> 64);
  }
  return folds;
}

TargetStatTable target_stat_table(VectorView<const double> codes, VectorView<const double> y,
                                  VectorView<const double> w, double smoothing, Index column) {
  const Index n = codes.size();
  if (y.size() != n || (!w.empty() && w.size() != n)) {
    throw InvalidInput(
        "target statistics: codes, y and weights must have one entry per row (codes " +
        std::to_string(n) + ", y " + std::to_string(y.size()) + ", weights " +
        std::to_string(w.size()) + ").");
  }
  TargetStatTable t;
  t.smoothing = smoothing;
  const auto k = static_cast<std::size_t>(n_levels_of(codes, column));
  t.weight.assign(k, 0.0);
  t.weighted_y.assign(k, 0.0);
  t.value.assign(k, kNaN);
  double sw = 0.0, swy = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double wi = weight_of(w, i);
    sw += wi;
    swy += wi * y[i];
    const Index l = level_of(codes[i], column, i);
    if (l < 0) continue;
    t.weight[static_cast<std::size_t>(l)] += wi;
    t.weighted_y[static_cast<std::size_t>(l)] += wi * y[i];
  }
  t.prior = sw > 0.0 ? swy / sw : kNaN;
  for (std::size_t l = 0; l < k; ++l) {
    if (t.weight[l] > 0.0) t.value[l] = smoothed(t.weighted_y[l], t.weight[l], smoothing, t.prior);
  }
  return t;
}

void out_of_fold_target_stats(VectorView<const double> codes, VectorView<const double> y,
                              VectorView<const double> w, const std::vector<int>& folds,
                              int n_folds, double smoothing, VectorView<double> out, Index column) {
  const Index n = codes.size();
  check_sizes(n, y, w, out);
  if (static_cast<Index>(folds.size()) != n) {
    throw InvalidInput("target statistics: folds has " + std::to_string(folds.size()) +
                       " entries for " + std::to_string(n) + " rows.");
  }
  const auto kf = static_cast<std::size_t>(n_folds);
  const auto k = static_cast<std::size_t>(n_levels_of(codes, column));
  // Per (level, fold) sums, then per row the sum over the other folds taken in fold order (not
  // total minus own fold: a subtraction would leave rounding residue of the row's own label).
  std::vector<double> fw(k * kf, 0.0), fwy(k * kf, 0.0);
  std::vector<double> all_w(kf, 0.0), all_wy(kf, 0.0);
  for (Index i = 0; i < n; ++i) {
    const int f = folds[static_cast<std::size_t>(i)];
    if (f < 0 || f >= n_folds) {
      throw InvalidInput("target statistics: fold " + std::to_string(f) + " of row " +
                         std::to_string(i) + " is outside [0, " + std::to_string(n_folds) + ").");
    }
    const double wi = weight_of(w, i);
    all_w[static_cast<std::size_t>(f)] += wi;
    all_wy[static_cast<std::size_t>(f)] += wi * y[i];
    const Index l = level_of(codes[i], column, i);
    if (l < 0) continue;
    fw[static_cast<std::size_t>(l) * kf + static_cast<std::size_t>(f)] += wi;
    fwy[static_cast<std::size_t>(l) * kf + static_cast<std::size_t>(f)] += wi * y[i];
  }
  std::vector<double> prior(kf, kNaN);
  std::vector<char> has_rows(kf, 0);
  for (Index i = 0; i < n; ++i)
    has_rows[static_cast<std::size_t>(folds[static_cast<std::size_t>(i)])] = 1;
  for (std::size_t f = 0; f < kf; ++f) {
    double ow = 0.0, owy = 0.0;
    for (std::size_t g = 0; g < kf; ++g) {
      if (g == f) continue;
      ow += all_w[g];
      owy += all_wy[g];
    }
    if (has_rows[f] && !(ow > 0.0)) {
      throw InvalidInput("target statistics: fold " + std::to_string(f) +
                         " holds all the weight, so its rows have no out-of-fold data; pass more "
                         "groups (patients) or rows, or use fewer folds.");
    }
    prior[f] = owy / ow;
  }
  // Each row's value is a function of (level, fold): compute the K * n_folds values once.
  std::vector<double> val(k * kf, kNaN);
  for (std::size_t l = 0; l < k; ++l) {
    for (std::size_t f = 0; f < kf; ++f) {
      if (!has_rows[f]) continue;
      double ow = 0.0, owy = 0.0;
      for (std::size_t g = 0; g < kf; ++g) {
        if (g == f) continue;
        ow += fw[l * kf + g];
        owy += fwy[l * kf + g];
      }
      val[l * kf + f] = smoothed(owy, ow, smoothing, prior[f]);
    }
  }
  for (Index i = 0; i < n; ++i) {
    const Index l = level_of(codes[i], column, i);
    out[i] = l < 0 ? kNaN
                   : val[static_cast<std::size_t>(l) * kf +
                         static_cast<std::size_t>(folds[static_cast<std::size_t>(i)])];
  }
}

TargetStatOrder target_stat_order(Index n_rows, VectorView<const double> groups,
                                  std::uint64_t seed) {
  if (!groups.empty() && groups.size() != n_rows) {
    throw InvalidInput("target statistics: groups has " + std::to_string(groups.size()) +
                       " entries for " + std::to_string(n_rows) + " rows; pass one per row.");
  }
  TargetStatOrder o;
  Rng rng(seed, /*stream=*/0x7453);  // "tS": a stream of its own
  const auto n = static_cast<std::size_t>(n_rows);
  if (groups.empty()) {
    o.rows.resize(n);
    for (std::size_t i = 0; i < n; ++i) o.rows[i] = static_cast<Index>(i);
    rng.shuffle(o.rows.data(), n_rows);
    o.block_start.resize(n + 1);
    for (std::size_t i = 0; i <= n; ++i) o.block_start[i] = static_cast<Index>(i);
    return o;
  }
  // Dense group ids by first appearance (a hash map keyed by the id's bits), then a shuffle of
  // the groups and a counting sort of the rows by the shuffled group rank: O(n) expected.
  std::unordered_map<std::uint64_t, Index> id;
  id.reserve(n);
  std::vector<Index> gid(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto key = group_key(groups[static_cast<Index>(i)], static_cast<Index>(i));
    auto it = id.emplace(key, static_cast<Index>(id.size())).first;
    gid[i] = it->second;
  }
  const auto ng = static_cast<std::size_t>(id.size());
  std::vector<Index> perm(ng);
  for (std::size_t g = 0; g < ng; ++g) perm[g] = static_cast<Index>(g);
  rng.shuffle(perm.data(), static_cast<Index>(ng));
  std::vector<Index> rank(ng);
  for (std::size_t r = 0; r < ng; ++r)
    rank[static_cast<std::size_t>(perm[r])] = static_cast<Index>(r);
  o.block_start.assign(ng + 1, 0);
  for (std::size_t i = 0; i < n; ++i)
    ++o.block_start[static_cast<std::size_t>(rank[static_cast<std::size_t>(gid[i])]) + 1];
  for (std::size_t r = 0; r < ng; ++r) o.block_start[r + 1] += o.block_start[r];
  std::vector<Index> cursor(o.block_start.begin(), o.block_start.end() - 1);
  o.rows.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = static_cast<std::size_t>(rank[static_cast<std::size_t>(gid[i])]);
    o.rows[static_cast<std::size_t>(cursor[r]++)] = static_cast<Index>(i);
  }
  return o;
}

void ordered_target_stats(VectorView<const double> codes, VectorView<const double> y,
                          VectorView<const double> w, const TargetStatOrder& order,
                          double smoothing, VectorView<double> out, Index column) {
  const Index n = codes.size();
  check_sizes(n, y, w, out);
  if (static_cast<Index>(order.rows.size()) != n || order.block_start.empty() ||
      order.block_start.back() != n) {
    throw InvalidInput("target statistics: the order does not list every row once.");
  }
  const auto k = static_cast<std::size_t>(n_levels_of(codes, column));
  std::vector<double> sw(k, 0.0), swy(k, 0.0);
  // The running prior starts from one pseudo-observation of weight 1 at 0.5.
  double pw = 1.0, pwy = 0.5;
  const std::size_t nb = order.block_start.size() - 1;
  for (std::size_t b = 0; b < nb; ++b) {
    const auto lo = static_cast<std::size_t>(order.block_start[b]);
    const auto hi = static_cast<std::size_t>(order.block_start[b + 1]);
    const double prior = pwy / pw;
    // First every row of the block reads the state before the block, then the block is added.
    for (std::size_t p = lo; p < hi; ++p) {
      const Index i = order.rows[p];
      const Index l = level_of(codes[i], column, i);
      out[i] = l < 0 ? kNaN
                     : smoothed(swy[static_cast<std::size_t>(l)], sw[static_cast<std::size_t>(l)],
                                smoothing, prior);
    }
    for (std::size_t p = lo; p < hi; ++p) {
      const Index i = order.rows[p];
      const double wi = weight_of(w, i);
      pw += wi;
      pwy += wi * y[i];
      const Index l = level_of(codes[i], column, i);
      if (l < 0) continue;
      sw[static_cast<std::size_t>(l)] += wi;
      swy[static_cast<std::size_t>(l)] += wi * y[i];
    }
  }
}

TargetStatEncoding encode_target_stats(MatrixView<const double> codes, VectorView<const double> y,
                                       VectorView<const double> sample_weight,
                                       VectorView<const double> groups,
                                       const TargetStatParams& params) {
  params.validate();
  const Index n = codes.rows();
  const Index c = codes.cols();
  if (y.size() != n) {
    throw InvalidInput("target statistics: y has " + std::to_string(y.size()) + " labels for " +
                       std::to_string(n) + " rows; pass one label per row.");
  }
  if (!sample_weight.empty() && sample_weight.size() != n) {
    throw InvalidInput("target statistics: sample_weight has " +
                       std::to_string(sample_weight.size()) + " entries for " + std::to_string(n) +
                       " rows.");
  }
  if (n == 0) throw InvalidInput("target statistics: no rows.");
  for (Index i = 0; i < n; ++i) {
    if (!(y[i] == 0.0 || y[i] == 1.0)) {
      throw InvalidInput("target statistics: y[" + std::to_string(i) + "] = " + num(y[i]) +
                         "; labels must be 0 or 1.");
    }
    if (!sample_weight.empty() && !(std::isfinite(sample_weight[i]) && sample_weight[i] >= 0.0)) {
      throw InvalidInput("target statistics: sample_weight[" + std::to_string(i) +
                         "] = " + num(sample_weight[i]) + "; weights must be finite and >= 0.");
    }
  }
  const Eigen::VectorXd w = effective_weights(y, sample_weight, params.class_weight);
  const VectorView<const double> wv(w);

  std::vector<int> folds;
  TargetStatOrder order;
  if (params.scheme == TargetStatScheme::kOutOfFold) {
    folds = target_stat_folds(n, groups, params.n_folds, params.seed);
  } else {
    order = target_stat_order(n, groups, params.seed);
  }
  TargetStatEncoding enc;
  enc.train.resize(n, c);
  enc.tables.resize(static_cast<std::size_t>(c));
  detail::parallel_for_dynamic(0, c, params.n_threads, [&](Index j) {
    const VectorView<const double> col(codes.data() + j * codes.col_stride(), n,
                                       codes.row_stride());
    VectorView<double> out(enc.train.col(j).data(), n);
    enc.tables[static_cast<std::size_t>(j)] = target_stat_table(col, y, wv, params.smoothing, j);
    if (params.scheme == TargetStatScheme::kOutOfFold) {
      out_of_fold_target_stats(col, y, wv, folds, params.n_folds, params.smoothing, out, j);
    } else {
      ordered_target_stats(col, y, wv, order, params.smoothing, out, j);
    }
  });
  return enc;
}

Eigen::MatrixXd apply_target_stats(const std::vector<TargetStatTable>& tables,
                                   MatrixView<const double> codes, int n_threads) {
  if (static_cast<std::size_t>(codes.cols()) != tables.size()) {
    throw InvalidInput("target statistics: codes have " + std::to_string(codes.cols()) +
                       " columns but " + std::to_string(tables.size()) +
                       " tables were fitted; pass the same columns as at fitting.");
  }
  Eigen::MatrixXd out(codes.rows(), codes.cols());
  detail::parallel_for(0, codes.cols(), n_threads, [&](Index j) {
    const auto& t = tables[static_cast<std::size_t>(j)];
    for (Index i = 0; i < codes.rows(); ++i) out(i, j) = t.lookup(codes(i, j));
  });
  return out;
}

std::vector<int> ts_threshold_to_codes(const TargetStatTable& table, double t, bool missing_left) {
  std::vector<int> left;
  for (Index k = 0; k < table.n_levels(); ++k) {
    const double v = table.value[static_cast<std::size_t>(k)];
    if (std::isnan(v) ? missing_left : v <= t) left.push_back(static_cast<int>(k));
  }
  return left;
}

TargetStatTable compose_target_stat_table(const TargetStatTable& ancestor,
                                          const std::vector<int>& parent_of) {
  TargetStatTable t;
  t.prior = ancestor.prior;
  t.smoothing = ancestor.smoothing;
  t.value.assign(parent_of.size(), kNaN);
  t.weight.assign(parent_of.size(), 0.0);
  t.weighted_y.assign(parent_of.size(), 0.0);
  for (std::size_t k = 0; k < parent_of.size(); ++k) {
    const int p = parent_of[k];
    if (p < 0 || p >= ancestor.n_levels()) continue;
    t.value[k] = ancestor.value[static_cast<std::size_t>(p)];
    t.weight[k] = ancestor.weight[static_cast<std::size_t>(p)];
    t.weighted_y[k] = ancestor.weighted_y[static_cast<std::size_t>(p)];
  }
  return t;
}

std::vector<std::uint32_t> ts_threshold_to_bitset(const TargetStatTable& table, double t,
                                                  bool missing_left) {
  std::vector<std::uint32_t> words(static_cast<std::size_t>((table.n_levels() + 31) / 32), 0u);
  for (int k : ts_threshold_to_codes(table, t, missing_left)) {
    words[static_cast<std::size_t>(k) / 32] |= 1u << (static_cast<unsigned>(k) % 32);
  }
  return words;
}

// ---- target statistics inside the booster ------------------------------------------------------

std::vector<std::vector<int>> code_ancestor_levels(const std::vector<std::string>& labels,
                                                   const CodeHierarchy& hierarchy, int max_levels) {
  std::vector<std::vector<int>> out;
  if (!hierarchy.declared || labels.empty() || max_levels <= 0) return out;
  std::vector<std::vector<std::string_view>> chains(labels.size());
  std::size_t depth = 0;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    chains[k] = hierarchy.ancestors(labels[k]);
    depth = std::max(depth, chains[k].size());
  }
  for (std::size_t l = 0; l < depth && static_cast<int>(out.size()) < max_levels; ++l) {
    std::map<std::string_view, int> id;
    std::vector<int> group(labels.size());
    for (std::size_t k = 0; k < labels.size(); ++k) {
      const auto& a = chains[k];
      const std::string_view key = l < a.size() ? a[a.size() - 1 - l] : std::string_view(labels[k]);
      group[k] = id.emplace(key, static_cast<int>(id.size())).first->second;
    }
    if (id.size() == labels.size()) break;  // no pooling at this level nor any finer one
    out.push_back(std::move(group));
  }
  return out;
}

CodeHierarchy inferred_code_hierarchy(const std::vector<std::string>& labels) {
  std::size_t dotted = 0;
  for (const std::string& l : labels) {
    const std::size_t dot = l.find('.');
    dotted += dot != std::string::npos && dot > 0 ? 1 : 0;
  }
  if (labels.empty() || 2 * dotted < labels.size()) return {};
  CodeHierarchy h = CodeHierarchy::dotted();
  return code_ancestor_levels(labels, h).empty() ? CodeHierarchy{} : h;
}

namespace {

// Validates every code of column f of X (any row): NaN or an integer in [0, kMaxCategories).
template <class M>
void check_codes(const M& m, Index f) {
  for (Index i = 0; i < m.rows(); ++i) {
    const double c = static_cast<double>(m(i, f));
    if (std::isnan(c)) continue;
    if (!(c >= 0.0) || c >= static_cast<double>(kMaxCategories) || c != std::floor(c)) {
      throw InvalidInput("GradientBoostedTrees::fit: categorical feature " + std::to_string(f) +
                         " has value " + num(c) + " at row " + std::to_string(i) +
                         "; categorical codes must be integers in [0, " +
                         std::to_string(kMaxCategories) +
                         ") or NaN (missing). Encode labels to codes first (the data layer and "
                         "the Python estimators do it).");
    }
  }
}

// A table of length k: `t` padded with levels without weight (NaN) or truncated.
void resize_table(TargetStatTable& t, Index k) {
  t.value.resize(static_cast<std::size_t>(k), kNaN);
  t.weight.resize(static_cast<std::size_t>(k), 0.0);
  t.weighted_y.resize(static_cast<std::size_t>(k), 0.0);
}

}  // namespace

namespace {

// The checks of derive_categorical_columns' arguments.
void check_derived_spec(const DerivedCategoricalSpec& spec, Index n, Index nf,
                        VectorView<const double> y, VectorView<const double> w,
                        VectorView<const double> groups) {
  if (spec.n_folds < 2) {
    throw InvalidParams("GBDTParams.cat_ts_folds must be >= 2, got " +
                        std::to_string(spec.n_folds) + "; 5 is the default.");
  }
  if (!(std::isfinite(spec.smoothing) && spec.smoothing >= 0.0)) {
    throw InvalidParams("GBDTParams.cat_ts_smoothing must be finite and >= 0, got " +
                        num(spec.smoothing) + "; 1 is the default.");
  }
  if (y.size() != n || (!w.empty() && w.size() != n) || (!groups.empty() && groups.size() != n)) {
    throw InvalidInput(
        "GradientBoostedTrees::fit: y, weights and groups need one entry per row "
        "of X (" +
        std::to_string(n) + " rows; y " + std::to_string(y.size()) + ", weights " +
        std::to_string(w.size()) + ", groups " + std::to_string(groups.size()) + ").");
  }
  for (const CodeAncestry& a : spec.ancestry) {
    if (a.feature < 0 || a.feature >= nf) {
      throw InvalidParams("code hierarchy of feature " + std::to_string(a.feature) +
                          ": the feature is out of range (X has " + std::to_string(nf) +
                          " columns).");
    }
  }
}

// The column layout of the derived matrix (tables still empty); `first_extra[f]` = the first
// extra column of target-statistic feature f; `anc[f]` = its ancestry or null.
DerivedCategoricalMatrix derived_layout(const DerivedCategoricalSpec& spec, Index nf,
                                        std::vector<int>& is_ts,
                                        std::vector<const CodeAncestry*>& anc,
                                        std::vector<Index>& first_extra) {
  is_ts.assign(static_cast<std::size_t>(nf), 0);
  for (const int f : spec.features) {
    if (f < 0 || f >= nf || is_ts[static_cast<std::size_t>(f)]) {
      throw InvalidParams("target statistics: feature " + std::to_string(f) +
                          " is out of range or listed twice.");
    }
    is_ts[static_cast<std::size_t>(f)] = 1;
  }
  anc.assign(static_cast<std::size_t>(nf), nullptr);
  for (const CodeAncestry& a : spec.ancestry) {
    if (is_ts[static_cast<std::size_t>(a.feature)]) anc[static_cast<std::size_t>(a.feature)] = &a;
  }
  DerivedCategoricalMatrix d;
  d.cardinality.assign(static_cast<std::size_t>(nf), 0);
  for (Index f = 0; f < nf; ++f) {
    DerivedColumn c;
    c.feature = static_cast<int>(f);
    c.kind = is_ts[static_cast<std::size_t>(f)] ? DerivedKind::kCodeStat : DerivedKind::kOriginal;
    d.columns.push_back(std::move(c));
  }
  first_extra.assign(static_cast<std::size_t>(nf), -1);
  for (const int f : spec.features) {
    first_extra[static_cast<std::size_t>(f)] = static_cast<Index>(d.columns.size());
    if (spec.ordinal) d.columns.push_back({f, DerivedKind::kOrdinal, -1, {}});
    if (const CodeAncestry* a = anc[static_cast<std::size_t>(f)]) {
      for (std::size_t l = 0; l < a->levels.size(); ++l) {
        d.columns.push_back({f, DerivedKind::kAncestorStat, static_cast<int>(l), {}});
      }
    }
  }
  return d;
}

}  // namespace

DerivedCategoricalMatrix derive_categorical_columns(
    const FeatureMatrix& X, const std::vector<Index>& rows, VectorView<const double> y,
    VectorView<const double> w, VectorView<const double> groups, const DerivedCategoricalSpec& spec,
    int n_threads) {
  const Index n = X.rows(), nf = X.cols();
  check_derived_spec(spec, n, nf, y, w, groups);
  std::vector<int> is_ts;
  std::vector<const CodeAncestry*> anc;
  std::vector<Index> first_extra;
  DerivedCategoricalMatrix d = derived_layout(spec, nf, is_ts, anc, first_extra);
  d.X.resize(n, static_cast<Index>(d.columns.size()));

  // Training rows, their labels, weights and folds.
  std::vector<Index> train = rows;
  if (train.empty()) {
    train.resize(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) train[static_cast<std::size_t>(i)] = i;
  }
  const auto nr = static_cast<Index>(train.size());
  Eigen::VectorXd yr(nr), wr(nr), gr(groups.empty() ? 0 : nr);
  for (Index r = 0; r < nr; ++r) {
    const Index i = train[static_cast<std::size_t>(r)];
    yr[r] = y[i];
    wr[r] = w.empty() ? 1.0 : w[i];
    if (!groups.empty()) gr[r] = groups[i];
  }
  const std::vector<int> folds = target_stat_folds(
      nr, VectorView<const double>(gr.data(), gr.size()), spec.n_folds, spec.seed);
  const VectorView<const double> yv(yr.data(), nr), wv(wr.data(), nr);

  X.visit([&](const auto& m) {
    // Original columns (copied for every column: the grower reads one matrix).
    detail::parallel_for(0, nf, n_threads, [&](Index f) {
      if (is_ts[static_cast<std::size_t>(f)]) return;
      for (Index i = 0; i < n; ++i) d.X(i, f) = static_cast<double>(m(i, f));
    });
    // Target-statistic features, one task each: every value is computed serially, so the bits
    // do not depend on the thread count.
    detail::parallel_for_dynamic(
        0, static_cast<Index>(spec.features.size()), n_threads, [&](Index s) {
          const int f = spec.features[static_cast<std::size_t>(s)];
          check_codes(m, f);
          Eigen::VectorXd code(nr);
          for (Index r = 0; r < nr; ++r) {
            code[r] = static_cast<double>(m(train[static_cast<std::size_t>(r)], f));
          }
          const VectorView<const double> cv(code.data(), nr);
          const CodeAncestry* a = anc[static_cast<std::size_t>(f)];
          Index k = 0;
          for (Index r = 0; r < nr; ++r) {
            if (!std::isnan(code[r])) k = std::max(k, static_cast<Index>(code[r]) + 1);
          }
          if (a != nullptr) {
            for (const auto& lv : a->levels) k = std::max(k, static_cast<Index>(lv.size()));
          }
          d.cardinality[static_cast<std::size_t>(f)] = static_cast<std::int32_t>(k);
          Eigen::VectorXd oof(nr);
          // Fills column j: the out-of-fold values on the training rows, the table elsewhere.
          auto fill = [&](Index j, const Eigen::VectorXd* train_values) {
            const TargetStatTable& t = d.columns[static_cast<std::size_t>(j)].table;
            for (Index i = 0; i < n; ++i) d.X(i, j) = t.lookup(static_cast<double>(m(i, f)));
            if (train_values == nullptr) return;
            for (Index r = 0; r < nr; ++r) {
              d.X(train[static_cast<std::size_t>(r)], j) = (*train_values)[r];
            }
          };
          // The code's own statistic.
          TargetStatTable table = target_stat_table(cv, yv, wv, spec.smoothing, f);
          resize_table(table, k);
          out_of_fold_target_stats(cv, yv, wv, folds, spec.n_folds, spec.smoothing,
                                   VectorView<double>(oof.data(), nr), f);
          d.columns[static_cast<std::size_t>(f)].table = table;
          fill(f, &oof);
          Index j = first_extra[static_cast<std::size_t>(f)];
          if (spec.ordinal) {
            TargetStatTable ord = table;
            for (Index c = 0; c < k; ++c) {
              const auto u = static_cast<std::size_t>(c);
              ord.value[u] = ord.weight[u] > 0.0 ? static_cast<double>(c) : kNaN;
            }
            d.columns[static_cast<std::size_t>(j)].table = std::move(ord);
            fill(j, nullptr);  // the training rows' values are their codes: no label enters
            ++j;
          }
          if (a == nullptr) return;
          Eigen::VectorXd group(nr);
          for (const auto& lv : a->levels) {
            std::vector<int> parent(lv);
            parent.resize(static_cast<std::size_t>(k), -1);
            for (Index r = 0; r < nr; ++r) {
              const double c = code[r];
              const int g = std::isnan(c) ? -1 : parent[static_cast<std::size_t>(c)];
              group[r] = g < 0 ? kNaN : static_cast<double>(g);
            }
            const VectorView<const double> gv(group.data(), nr);
            const TargetStatTable at = target_stat_table(gv, yv, wv, spec.smoothing, f);
            out_of_fold_target_stats(gv, yv, wv, folds, spec.n_folds, spec.smoothing,
                                     VectorView<double>(oof.data(), nr), f);
            d.columns[static_cast<std::size_t>(j)].table = compose_target_stat_table(at, parent);
            fill(j, &oof);
            ++j;
          }
        });
  });
  return d;
}

Tree to_categorical_tree(const Tree& tree, const DerivedCategoricalMatrix& d) {
  Tree out = tree;
  for (Index u = 0; u < tree.n_nodes(); ++u) {
    if (tree.is_leaf(u)) continue;
    const auto uu = static_cast<std::size_t>(u);
    const DerivedColumn& c = d.columns.at(static_cast<std::size_t>(tree.feature[uu]));
    if (c.kind == DerivedKind::kOriginal) continue;
    out.feature[uu] = c.feature;
    out.set_categories(
        u, ts_threshold_to_bitset(c.table, tree.threshold[uu], tree.missing_left[uu] != 0));
  }
  return out;
}

}  // namespace calibrisk
