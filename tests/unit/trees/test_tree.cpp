// SPDX-License-Identifier: Apache-2.0
// Tests of the flat-array Tree: construction and the structural validation that guards loading.
#include <doctest/doctest.h>
#include <calibrisk/trees/tree.hpp>

#include <limits>

#include "support/random_trees.hpp"

using namespace calibrisk;

namespace {

// root: x0 <= 0.5 ? leaf(-1) : leaf(+1)
Tree stump() {
  Tree t;
  t.add_node();
  const auto l = t.add_node(), r = t.add_node();
  t.left[0] = l;
  t.right[0] = r;
  t.feature[0] = 0;
  t.threshold[0] = 0.5;
  t.value[1] = -1.0;
  t.value[2] = 1.0;
  t.cover = {2.0, 1.0, 1.0};
  return t;
}

}  // namespace

TEST_CASE("tree: add_node appends a leaf and the accessors see it") {
  Tree t;
  CHECK(t.n_nodes() == 0);
  CHECK(t.add_node() == 0);
  CHECK(t.add_node() == 1);
  CHECK(t.n_nodes() == 2);
  CHECK(t.is_leaf(0));
  CHECK(t.feature[1] == -1);
  const Tree s = stump();
  CHECK_FALSE(s.is_leaf(0));
  CHECK(s.n_leaves() == 2);
  CHECK(s.max_depth() == 1);
  CHECK_NOTHROW(s.validate(1));
}

TEST_CASE("tree: validate accepts random trees, also with shuffled node ids") {
  Rng rng(3);
  testing::RandomTreeOptions o;
  o.shuffle_ids = true;
  for (int k = 0; k < 20; ++k) {
    const Tree t = testing::random_tree(rng, o);
    CHECK(t.n_leaves() == 31);
    CHECK_NOTHROW(t.validate(o.n_features));
  }
}

TEST_CASE("tree: validate names the node and field of structural errors") {
  SUBCASE("empty tree") {
    CHECK_THROWS_WITH_AS(Tree().validate(1), doctest::Contains("no nodes"), InvalidInput);
  }
  SUBCASE("inconsistent array sizes") {
    Tree t = stump();
    t.gain.pop_back();
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("gain has 2 entries"), InvalidInput);
  }
  SUBCASE("child index out of range") {
    Tree t = stump();
    t.right[0] = 7;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("node 0 has a child index out of range"),
                         InvalidInput);
  }
  SUBCASE("only one child") {
    Tree t = stump();
    t.right[0] = -1;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("needs two children"), InvalidInput);
  }
  SUBCASE("cycle back to the root") {
    Tree t = stump();
    t.left[1] = 0;
    t.right[1] = 2;
    t.feature[1] = 0;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("reached twice"), InvalidInput);
  }
  SUBCASE("self loop") {
    Tree t = stump();
    t.left[0] = 0;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("reached twice"), InvalidInput);
  }
  SUBCASE("shared subtree") {
    Tree t = stump();
    t.right[0] = 1;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("reached twice"), InvalidInput);
  }
  SUBCASE("orphan node") {
    Tree t = stump();
    t.add_node();
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("node 3 is not reachable"), InvalidInput);
  }
  SUBCASE("NaN and infinite thresholds") {
    Tree t = stump();
    t.threshold[0] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("node 0 has a non-finite threshold"),
                         InvalidInput);
    t.threshold[0] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("non-finite threshold"), InvalidInput);
  }
  SUBCASE("feature out of range") {
    Tree t = stump();
    t.feature[0] = 3;
    CHECK_THROWS_WITH_AS(t.validate(3), doctest::Contains("splits on feature 3"), InvalidInput);
    t.feature[0] = -2;
    CHECK_THROWS_WITH_AS(t.validate(3), doctest::Contains("splits on feature -2"), InvalidInput);
  }
  SUBCASE("leaf with a feature, bad missing flag, NaN value, negative cover") {
    Tree t = stump();
    t.feature[1] = 0;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("node 1 is a leaf but has feature"),
                         InvalidInput);
    t = stump();
    t.missing_left[0] = 2;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("missing_left = 2"), InvalidInput);
    t = stump();
    t.value[2] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("node 2 has a non-finite value"),
                         InvalidInput);
    t = stump();
    t.cover[1] = -1.0;
    CHECK_THROWS_WITH_AS(t.validate(1), doctest::Contains("node 1 has cover"), InvalidInput);
  }
}

TEST_CASE("tree ensemble: validate names the tree and checks n_features and base_score") {
  TreeEnsemble e;
  e.n_features = 1;
  e.trees = {stump(), stump()};
  CHECK_NOTHROW(e.validate());
  e.trees[1].threshold[0] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("trees[1]: node 0"), InvalidInput);
  e.trees[1] = stump();
  e.base_score = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("base_score"), InvalidInput);
  e.base_score = 0.0;
  e.n_features = 0;
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("n_features is 0"), InvalidInput);
}
