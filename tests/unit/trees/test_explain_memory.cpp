// SPDX-License-Identifier: Apache-2.0
// TreeSHAP in O(depth) memory (issue 11 §6): the explainer must give bit-identical values to the
// previous O(depth^2) layout (kept below, verbatim in its arithmetic, as the oracle) on random
// trees, shallow and deeper than TreeExplainer::kShallowLevels (where paths are rebuilt), and
// must explain a 10,000-deep chain tree in modest memory. test_shap.cpp checks the explainer
// against brute-force Shapley values.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/trees/explain.hpp>

#include "support/random_trees.hpp"

#include <cstring>
#include <vector>

using namespace calibrisk;

namespace {

// ---- the previous implementation (one path slice of depth + 2 elements per recursion level) ----
struct OldPath {
  std::int32_t feature;
  double zero_fraction, one_fraction, weight;
};

void old_extend(OldPath* m, int len, double pz, double po, std::int32_t feature) {
  m[len] = {feature, pz, po, len == 0 ? 1.0 : 0.0};
  const double inv = 1.0 / static_cast<double>(len + 1);
  for (int i = len - 1; i >= 0; --i) {
    m[i + 1].weight += po * m[i].weight * static_cast<double>(i + 1) * inv;
    m[i].weight = pz * m[i].weight * static_cast<double>(len - i) * inv;
  }
}

void old_unwind(OldPath* m, int last, int k) {
  const double po = m[k].one_fraction, pz = m[k].zero_fraction;
  double next = m[last].weight;
  const double n1 = static_cast<double>(last + 1);
  for (int i = last - 1; i >= 0; --i) {
    if (po != 0.0) {
      const double tmp = m[i].weight;
      m[i].weight = next * n1 / (static_cast<double>(i + 1) * po);
      next = tmp - m[i].weight * pz * static_cast<double>(last - i) / n1;
    } else {
      m[i].weight = m[i].weight * n1 / (pz * static_cast<double>(last - i));
    }
  }
  for (int i = k; i < last; ++i) {
    m[i].feature = m[i + 1].feature;
    m[i].zero_fraction = m[i + 1].zero_fraction;
    m[i].one_fraction = m[i + 1].one_fraction;
  }
}

double old_unwound_sum(const OldPath* m, int last, int k) {
  const double po = m[k].one_fraction, pz = m[k].zero_fraction;
  double next = m[last].weight, total = 0.0;
  const double n1 = static_cast<double>(last + 1);
  for (int i = last - 1; i >= 0; --i) {
    if (po != 0.0) {
      const double w = next * n1 / (static_cast<double>(i + 1) * po);
      total += w;
      next = m[i].weight - w * pz * static_cast<double>(last - i) / n1;
    } else {
      total += m[i].weight * n1 / (pz * static_cast<double>(last - i));
    }
  }
  return total;
}

struct OldShap {
  const Tree& t;
  std::vector<double> fr;
  std::size_t stride;
  std::vector<OldPath> scratch;

  explicit OldShap(const Tree& tree) : t(tree), fr(tree.left.size(), 1.0) {
    for (std::size_t i = 0; i < t.left.size(); ++i) {
      if (t.left[i] < 0) continue;
      const auto l = static_cast<std::size_t>(t.left[i]), r = static_cast<std::size_t>(t.right[i]);
      const double s = t.cover[l] + t.cover[r];
      fr[l] = s > 0.0 ? t.cover[l] / s : 0.5;
      fr[r] = s > 0.0 ? t.cover[r] / s : 0.5;
    }
    stride = static_cast<std::size_t>(t.max_depth() + 2);
    scratch.resize(stride * stride);
  }

  void recurse(const double* row, double* phi, int level, std::int32_t node, int len, double pz,
               double po, std::int32_t pfeature) {
    OldPath* m = scratch.data() + static_cast<std::size_t>(level) * stride;
    if (level > 0) std::copy(m - stride, m - stride + len, m);
    old_extend(m, len, pz, po, pfeature);
    const int last = len;
    const auto u = static_cast<std::size_t>(node);
    if (t.left[u] < 0) {
      for (int i = 1; i <= last; ++i) {
        phi[m[i].feature] +=
            old_unwound_sum(m, last, i) * (m[i].one_fraction - m[i].zero_fraction) * t.value[u];
      }
      return;
    }
    const std::int32_t f = t.feature[u];
    const double x = row[f];
    const bool go_left = std::isnan(x) ? t.missing_left[u] == 1 : x <= t.threshold[u];
    const std::int32_t hot = go_left ? t.left[u] : t.right[u];
    const std::int32_t cold = go_left ? t.right[u] : t.left[u];
    double iz = 1.0, io = 1.0;
    int new_len = last + 1;
    for (int k = 1; k <= last; ++k) {
      if (m[k].feature == f) {
        iz = m[k].zero_fraction;
        io = m[k].one_fraction;
        old_unwind(m, last, k);
        new_len = last;
        break;
      }
    }
    const double hz = iz * fr[static_cast<std::size_t>(hot)];
    const double cz = iz * fr[static_cast<std::size_t>(cold)];
    if (hz > 0.0 || io > 0.0) recurse(row, phi, level + 1, hot, new_len, hz, io, f);
    if (cz > 0.0) recurse(row, phi, level + 1, cold, new_len, cz, 0.0, f);
  }
};

// phi (n_features values, no bias) of an ensemble by the previous implementation.
std::vector<double> old_contributions(const TreeEnsemble& e, const double* row) {
  std::vector<double> phi(static_cast<std::size_t>(e.n_features), 0.0);
  for (const Tree& t : e.trees) OldShap(t).recurse(row, phi.data(), 0, 0, 0, 1.0, 1.0, -1);
  return phi;
}

// A random tree that grows deep: each step splits the deepest leaf with probability `deep`,
// else a random leaf. Few features give repeated features on a path (UNWIND), zero covers give
// skipped children.
Tree deep_random_tree(Rng& rng, int n_leaves, Index n_features, double deep) {
  Tree t;
  t.add_node();
  t.cover[0] = 1000.0;
  std::vector<std::int32_t> leaves{0};
  std::vector<int> depth{0};
  for (int s = 1; s < n_leaves; ++s) {
    std::size_t a = static_cast<std::size_t>(rng.below(leaves.size()));
    if (rng.uniform() < deep) {
      for (std::size_t k = 0; k < leaves.size(); ++k) {
        if (depth[static_cast<std::size_t>(leaves[k])] > depth[static_cast<std::size_t>(leaves[a])])
          a = k;
      }
    }
    const std::int32_t id = leaves[a];
    const auto uid = static_cast<std::size_t>(id);
    const std::int32_t l = t.add_node(), r = t.add_node();
    depth.resize(t.left.size());
    depth[static_cast<std::size_t>(l)] = depth[static_cast<std::size_t>(r)] = depth[uid] + 1;
    t.left[uid] = l;
    t.right[uid] = r;
    t.feature[uid] = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(n_features)));
    t.threshold[uid] = 4.0 * rng.uniform() - 2.0;
    t.missing_left[uid] = static_cast<std::uint8_t>(rng.below(2));
    const double frac = rng.uniform() < 0.05 ? 0.0 : rng.uniform();
    t.cover[static_cast<std::size_t>(l)] = t.cover[uid] * frac;
    t.cover[static_cast<std::size_t>(r)] = t.cover[uid] - t.cover[static_cast<std::size_t>(l)];
    t.value[static_cast<std::size_t>(l)] = 2.0 * rng.uniform() - 1.0;
    t.value[static_cast<std::size_t>(r)] = 2.0 * rng.uniform() - 1.0;
    leaves[a] = l;
    leaves.push_back(r);
  }
  return t;
}

}  // namespace

TEST_CASE("shap memory: bit-identical to the O(depth^2) layout on shallow and deep random trees") {
  Rng rng(20260311);
  int deep_trees = 0;
  for (int rep = 0; rep < 24; ++rep) {
    const Index nf = rep % 3 == 0 ? 3 : (rep % 3 == 1 ? 8 : 60);
    TreeEnsemble e;
    e.n_features = nf;
    e.base_score = 0.25;
    for (int k = 0; k < 3; ++k) {
      const int leaves = 2 + static_cast<int>(rng.below(rep < 8 ? 40 : 160));
      e.trees.push_back(deep_random_tree(rng, leaves, nf, rep < 8 ? 0.2 : 0.9));
      deep_trees += e.trees.back().max_depth() > TreeExplainer::kShallowLevels ? 1 : 0;
    }
    const TreeExplainer ex(e);
    const auto rows = testing::random_rows<double>(rng.next(), 20, nf, 0.1);
    std::vector<double> phi(static_cast<std::size_t>(nf + 1));
    for (Index i = 0; i < 20; ++i) {
      const double* row = rows.data() + i * nf;
      ex.contributions_row(row, phi.data());
      const std::vector<double> ref = old_contributions(e, row);
      for (Index j = 0; j < nf; ++j) {
        CAPTURE(rep);
        CAPTURE(j);
        CHECK(std::memcmp(&phi[static_cast<std::size_t>(j)], &ref[static_cast<std::size_t>(j)],
                          sizeof(double)) == 0);
      }
    }
  }
  CHECK(deep_trees >= 20);  // the rebuild path was exercised
}

TEST_CASE("shap memory: a 10,000-deep chain tree is explained (additivity holds)") {
  // The example: TreeSHAP memory grew with depth^2 (3.1 GB at depth 10,000).
  const int depth = 10000;
  Tree t;
  t.add_node();
  t.cover[0] = 1.0;
  std::int32_t node = 0;
  for (int k = 0; k < depth; ++k) {
    const std::int32_t l = t.add_node(), r = t.add_node();
    const auto u = static_cast<std::size_t>(node);
    t.left[u] = l;
    t.right[u] = r;
    t.feature[u] = k % 4;
    t.threshold[u] = static_cast<double>(k % 7) - 3.0;
    t.cover[static_cast<std::size_t>(l)] = 0.5;
    t.cover[static_cast<std::size_t>(r)] = 0.5;
    t.value[static_cast<std::size_t>(l)] = 0.001 * static_cast<double>(k % 5);
    node = r;
  }
  TreeEnsemble e;
  e.n_features = 4;
  e.trees.push_back(t);
  const TreeExplainer ex(e);
  const double row[4] = {0.5, -1.0, 2.0, std::numeric_limits<double>::quiet_NaN()};
  double phi[5];
  ex.contributions_row(row, phi);
  const double margin = testing::reference_margin(e, row);
  CHECK(phi[0] + phi[1] + phi[2] + phi[3] + phi[4] == doctest::Approx(margin).epsilon(1e-9));
}
