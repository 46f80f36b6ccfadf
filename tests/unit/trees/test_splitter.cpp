// SPDX-License-Identifier: Apache-2.0
// Split finding on hand-made histograms: the gain formula by hand, the missing direction, the
// minimum-leaf rules, min_gain_to_split, monotonic constraints and constant features.
#include <doctest/doctest.h>

#include "trees/splitter.hpp"

#include <cmath>
#include <vector>

using namespace calibrisk;
using detail::LeafBounds;
using detail::SplitInfo;
using detail::SplitRules;

namespace {

// One feature with 4 value bins (edges 1, 2, 3) and a missing bin.
BinMapper one_feature(int n_value_bins = 4) {
  BinMapper m;
  std::vector<double> e;
  for (int k = 1; k < n_value_bins; ++k) e.push_back(k);
  m.edges = {e};
  m.has_missing = {1};
  m.is_constant = {0};
  m.offsets = {0, n_value_bins + 1};
  return m;
}

HistBin sum(const std::vector<HistBin>& h) {
  HistBin t;
  for (const auto& b : h) {
    t.g += b.g;
    t.h += b.h;
    t.n += b.n;
  }
  return t;
}

SplitInfo best(const BinMapper& m, const std::vector<HistBin>& h, const SplitRules& r,
               const std::int8_t* mono = nullptr, LeafBounds b = {}) {
  const std::int32_t f = 0;
  return detail::find_best_split(m, h.data(), sum(h), &f, 1, r, mono, b, 1);
}

}  // namespace

TEST_CASE("splitter: gain and split point of a hand-made histogram match the formula") {
  // Bins (g, h, n): the first two bins pull up (g < 0), the last two pull down.
  const std::vector<HistBin> h = {{-4, 2, 10}, {-2, 2, 10}, {3, 2, 10}, {5, 2, 10}, {0, 0, 0}};
  SplitRules r;
  r.l2 = 1.0;
  r.min_samples_leaf = 1;
  const SplitInfo s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  CHECK(s.feature == 0);
  CHECK(s.bin == 1);
  // By hand: G_L = -6, H_L = 4; G_R = 8, H_R = 4; G = 2, H = 8, lambda = 1.
  const double gain = 36.0 / 5.0 + 64.0 / 5.0 - 4.0 / 9.0;
  CHECK(s.gain == doctest::Approx(gain).epsilon(1e-12));
  CHECK(s.left_value == doctest::Approx(6.0 / 5.0).epsilon(1e-12));
  CHECK(s.right_value == doctest::Approx(-8.0 / 5.0).epsilon(1e-12));
  CHECK(s.left.n == 20);
  CHECK(s.right.n == 20);
  // No missing rows: NaN follows the child with more hessian (a tie goes left).
  CHECK(s.missing_left);
}

TEST_CASE("splitter: missing rows go to the side whose gradients they resemble") {
  // Missing rows have strongly negative gradients like the left bins.
  std::vector<HistBin> h = {{-4, 2, 10}, {-2, 2, 10}, {3, 2, 10}, {5, 2, 10}, {-6, 2, 10}};
  SplitRules r;
  r.min_samples_leaf = 1;
  SplitInfo s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  CHECK(s.bin == 1);
  CHECK(s.missing_left);
  CHECK(s.left.n == 30);
  // Mirror: missing rows like the right bins.
  h[4] = {6, 2, 10};
  s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  CHECK_FALSE(s.missing_left);
  CHECK(s.right.n == 30);
}

TEST_CASE("splitter: a split on missingness itself is found") {
  // All value bins alike, the missing bin very different.
  const std::vector<HistBin> h = {{1, 2, 10}, {1, 2, 10}, {1, 2, 10}, {1, 2, 10}, {-20, 2, 10}};
  SplitRules r;
  r.min_samples_leaf = 1;
  const SplitInfo s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  CHECK(s.bin == 3);  // every value bin left
  CHECK_FALSE(s.missing_left);
  CHECK(s.right.n == 10);
}

TEST_CASE("splitter: min_samples_leaf and min_child_weight reject small children") {
  // The best split isolates bin 0 (5 rows, hessian 0.5): sums in units of 1/2.
  const std::vector<HistBin> h = {{-20, 1, 5}, {2, 4, 30}, {2, 4, 30}, {2, 4, 30}, {0, 0, 0}};
  SplitRules r;
  r.g_unit = r.h_unit = 0.5;
  r.min_samples_leaf = 1;
  r.min_child_weight = 0.0;
  CHECK(best(one_feature(), h, r).bin == 0);
  r.min_samples_leaf = 6;
  SplitInfo s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  CHECK(s.bin > 0);
  CHECK(s.left.n >= 6);
  CHECK(s.right.n >= 6);
  r.min_samples_leaf = 1;
  r.min_child_weight = 1.0;
  s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  CHECK(0.5 * static_cast<double>(s.left.h) >= 1.0);
  r.min_samples_leaf = 60;  // no split leaves 60 rows on both sides
  CHECK_FALSE(best(one_feature(), h, r).valid);
}

TEST_CASE("splitter: min_gain_to_split and constant features") {
  const std::vector<HistBin> h = {{-4, 2, 10}, {-2, 2, 10}, {3, 2, 10}, {5, 2, 10}, {0, 0, 0}};
  SplitRules r;
  r.min_samples_leaf = 1;
  const SplitInfo s = best(one_feature(), h, r);
  REQUIRE(s.valid);
  r.min_gain = s.gain;  // gain must exceed it strictly
  CHECK_FALSE(best(one_feature(), h, r).valid);
  r.min_gain = 0.0;
  BinMapper m = one_feature();
  m.is_constant[0] = 1;
  CHECK_FALSE(best(m, h, r).valid);
}

TEST_CASE("splitter: monotonic constraints forbid splits in the wrong direction") {
  // Unconstrained best: left output > right output (decreasing).
  const std::vector<HistBin> h = {{-4, 2, 10}, {-2, 2, 10}, {3, 2, 10}, {5, 2, 10}, {0, 0, 0}};
  SplitRules r;
  r.min_samples_leaf = 1;
  const std::int8_t inc = 1, dec = -1;
  const SplitInfo sd = best(one_feature(), h, r, &dec);
  REQUIRE(sd.valid);
  CHECK(sd.left_value >= sd.right_value);
  const SplitInfo si = best(one_feature(), h, r, &inc);
  if (si.valid) CHECK(si.left_value <= si.right_value);
  // Bounds clip the outputs and the gain is computed at the clipped outputs.
  LeafBounds b;
  b.lower = -0.5;
  b.upper = 0.5;
  const SplitInfo sc = best(one_feature(), h, r, nullptr, b);
  REQUIRE(sc.valid);
  CHECK(sc.left_value <= 0.5);
  CHECK(sc.right_value >= -0.5);
  const double w = detail::leaf_output(sum(h).g, sum(h).h, 0.0, b);
  const double expect = detail::output_gain(sc.left.g, sc.left.h, 0.0, sc.left_value) +
                        detail::output_gain(sc.right.g, sc.right.h, 0.0, sc.right_value) -
                        detail::output_gain(sum(h).g, sum(h).h, 0.0, w);
  CHECK(sc.gain == doctest::Approx(expect).epsilon(1e-12));
}

TEST_CASE("splitter: leaf_output and output_gain closed forms") {
  CHECK(detail::leaf_output(-3.0, 2.0, 1.0, {}) == doctest::Approx(1.0));
  CHECK(detail::output_gain(-3.0, 2.0, 1.0, 1.0) == doctest::Approx(3.0));  // G^2 / (H + l2)
  CHECK(detail::leaf_output(1.0, 0.0, 0.0, {}) == 0.0);                     // no curvature
  LeafBounds b;
  b.upper = 0.25;
  CHECK(detail::leaf_output(-3.0, 2.0, 1.0, b) == 0.25);
}
