// SPDX-License-Identifier: Apache-2.0
// Model and calibrator sections of the pipeline file: one encoder/decoder pair per State and
// Params struct. Decoders check structure and types only; from_state does the semantic checks.
#include "artifact/codec.hpp"
#include "artifact/params_codec.hpp"

#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace calibrisk::detail::artifact {
namespace {

const char* score_kind_name(ScoreKind k) { return enum_to_text(k); }
ScoreKind decode_score_kind(const Node& n) { return decode_enum<ScoreKind>(n); }

// ---- logistic regression ------------------------------------------------------------------------

json encode_lr(const LogisticRegression& m) {
  const LogisticRegressionParams& p = m.params();
  const LogisticRegressionState& s = m.state();
  json params = encode_params(p);
  json state = {{"n_features", static_cast<std::int64_t>(s.n_features)},
                {"coef", encode_doubles(s.coef)},
                {"intercept", encode_double(s.intercept)},
                {"impute_values", encode_doubles(s.impute_values)},
                {"indicator_features", encode_ints(s.indicator_features)},
                {"feature_mean", encode_doubles(s.feature_mean)},
                {"feature_scale", encode_doubles(s.feature_scale)},
                {"coef_std_error", encode_doubles(s.coef_std_error)},
                {"intercept_std_error", encode_double(s.intercept_std_error)},
                {"penalized", s.penalized},
                {"has_intercept", s.has_intercept}};
  // Format 1.4: the categorical expansion, written only when the model has one (so models
  // without categorical features keep their bytes).
  if (!s.categorical_features.empty()) {
    state["categorical_features"] = encode_ints(s.categorical_features);
    state["category_level_offsets"] = encode_ints(s.category_level_offsets);
    state["category_levels"] = encode_ints(s.category_levels);
    state["category_reference"] = encode_ints(s.category_reference);
    state["category_pooled_offsets"] = encode_ints(s.category_pooled_offsets);
    state["category_pooled"] = encode_ints(s.category_pooled);
    state["category_missing"] = encode_ints(s.category_missing);
  }
  // Format 1.5: the multinomial coefficients, written only by a K >= 3 class model.
  if (!s.class_intercept.empty()) {
    state["class_coef"] = encode_doubles(s.class_coef);
    state["class_intercept"] = encode_doubles(s.class_intercept);
  }
  return {{"type", "logistic_regression"}, {"params", params}, {"state", state}};
}

std::pair<LogisticRegressionState, LogisticRegressionParams> decode_lr(const Node& n) {
  const LogisticRegressionParams p = decode_params<LogisticRegressionParams>(n["params"]);

  const Node sn = n["state"];
  sn.expect_object(
      {"n_features", "coef", "intercept", "impute_values", "indicator_features", "feature_mean",
       "feature_scale", "coef_std_error", "intercept_std_error", "penalized", "has_intercept"},
      {"categorical_features", "category_level_offsets", "category_levels", "category_reference",
       "category_pooled_offsets", "category_pooled", "category_missing", "class_coef",
       "class_intercept"});
  LogisticRegressionState s;
  const auto cap = static_cast<std::int64_t>(n.ctx().text_size);
  s.n_features = sn["n_features"].as_int(1, cap);
  s.coef = sn["coef"].as_doubles(true);
  s.intercept = sn["intercept"].as_finite();
  s.impute_values = sn["impute_values"].as_doubles(true);
  s.indicator_features = sn["indicator_features"].as_ints<Index>(0, s.n_features - 1);
  s.feature_mean = sn["feature_mean"].as_doubles();
  s.feature_scale = sn["feature_scale"].as_doubles();
  s.coef_std_error = sn["coef_std_error"].as_doubles();
  s.intercept_std_error = sn["intercept_std_error"].as_double();
  s.penalized = sn["penalized"].as_bool();
  s.has_intercept = sn["has_intercept"].as_bool();
  // Format 1.4 (optional): the categorical expansion; semantic checks are in from_state.
  if (sn.raw().find("categorical_features") != sn.raw().end()) {
    const std::int64_t max_code = kMaxCategoryLevels - 1;
    s.categorical_features = sn["categorical_features"].as_ints<Index>(0, s.n_features - 1);
    s.category_level_offsets = sn["category_level_offsets"].as_ints<Index>(0, cap);
    s.category_levels = sn["category_levels"].as_ints<std::int64_t>(0, max_code);
    s.category_reference = sn["category_reference"].as_ints<std::int64_t>(-1, max_code);
    s.category_pooled_offsets = sn["category_pooled_offsets"].as_ints<Index>(0, cap);
    s.category_pooled = sn["category_pooled"].as_ints<std::int64_t>(0, max_code);
    s.category_missing = sn["category_missing"].as_ints<int>(0, 1);
    if (s.categorical_features.empty()) {
      sn["categorical_features"].fail_here("is empty; omit the categorical fields instead.");
    }
  }
  // Format 1.5 (optional): the multinomial state; sizes are checked by from_state.
  if (sn.raw().find("class_intercept") != sn.raw().end()) {
    s.class_coef = sn["class_coef"].as_doubles(true);
    s.class_intercept = sn["class_intercept"].as_doubles(true);
    if (s.class_intercept.empty()) {
      sn["class_intercept"].fail_here("is empty; omit the multinomial fields instead.");
    }
  }
  // With categorical levels the coefficient count is checked by from_state (it depends on them).
  const auto expect = static_cast<std::size_t>(s.n_features) + s.indicator_features.size();
  if (s.categorical_features.empty() && s.class_intercept.empty() && s.coef.size() != expect) {
    sn["coef"].fail_here("has " + std::to_string(s.coef.size()) + " values but n_features + " +
                         "indicators = " + std::to_string(expect) +
                         "; the sizes are inconsistent.");
  }
  if (s.impute_values.size() != static_cast<std::size_t>(s.n_features)) {
    sn["impute_values"].fail_here("has " + std::to_string(s.impute_values.size()) +
                                  " values but n_features is " + std::to_string(s.n_features) +
                                  ".");
  }
  return {std::move(s), p};
}

// ---- gradient-boosted trees ---------------------------------------------------------------------

json encode_tree(const Tree& t) {
  json j = {{"left", encode_ints(t.left)},
            {"right", encode_ints(t.right)},
            {"feature", encode_ints(t.feature)},
            {"threshold", encode_doubles(t.threshold)},
            {"missing_left", encode_ints(t.missing_left)},
            {"value", encode_doubles(t.value)},
            {"gain", encode_doubles(t.gain)},
            {"cover", encode_doubles(t.cover)}};
  // Format 1.4: category-set splits, written only by trees that have one.
  if (!t.cat_begin.empty()) {
    j["cat_begin"] = encode_ints(t.cat_begin);
    j["cat_end"] = encode_ints(t.cat_end);
    j["cat_bits"] = encode_ints(t.cat_bits);
  }
  return j;
}

json encode_gbdt_multiclass_state(const GBDTState& s);

json encode_gbdt(const GradientBoostedTrees& m) {
  const GBDTParams& p = m.params();
  if (m.is_fitted() && m.state().n_classes() > 2) {
    return {{"type", "gradient_boosted_trees"},
            {"params", encode_params(p)},
            {"state", encode_gbdt_multiclass_state(m.state())}};
  }
  const TreeEnsemble& e = m.state().ensemble;
  json params = encode_params(p);
  json trees = json::array();
  trees.get_ref<json::array_t&>().reserve(e.trees.size());
  for (const Tree& t : e.trees) trees.push_back(encode_tree(t));
  json state = {{"base_score", encode_double(e.base_score)},
                {"n_features", static_cast<std::int64_t>(e.n_features)},
                {"trees", trees}};
  if (!e.cardinality.empty()) state["cardinality"] = encode_ints(e.cardinality);  // 1.4
  return {{"type", "gradient_boosted_trees"}, {"params", params}, {"state", state}};
}

// Rejects a tree deeper than LoadOptions.max_tree_depth before anything walks it recursively
// (TreeSHAP, expected values). Children are range-checked; a node reached twice (a cycle or a
// shared subtree, rejected later by Tree::validate) is not walked again, so this terminates.
void check_depth(const Tree& t, const Node& n) {
  const int limit = n.ctx().max_tree_depth;
  std::vector<int> depth(t.left.size(), -1);
  std::vector<std::int32_t> stack{0};
  depth[0] = 0;
  while (!stack.empty()) {
    const auto u = static_cast<std::size_t>(stack.back());
    stack.pop_back();
    if (depth[u] > limit) {
      n["left"].fail_here("describes a tree more than " + std::to_string(limit) +
                          " levels deep (LoadOptions.max_tree_depth); raise the limit if it is "
                          "genuine.");
    }
    for (const std::int32_t c : {t.left[u], t.right[u]}) {
      if (c < 0 || depth[static_cast<std::size_t>(c)] >= 0) continue;
      depth[static_cast<std::size_t>(c)] = depth[u] + 1;
      stack.push_back(c);
    }
  }
}

Tree decode_tree(const Node& n, Index n_features) {
  n.expect_object(
      {"left", "right", "feature", "threshold", "missing_left", "value", "gain", "cover"},
      {"cat_begin", "cat_end", "cat_bits"});
  Tree t;
  const Node left = n["left"];
  const std::size_t size = left.array_size();
  if (size == 0) left.fail_here("is empty; a tree needs at least a root leaf.");
  if (static_cast<std::int64_t>(size) > n.ctx().max_tree_nodes) {
    left.fail_here("has " + std::to_string(size) +
                   " nodes, more than LoadOptions.max_tree_nodes (" +
                   std::to_string(n.ctx().max_tree_nodes) + "); raise the limit if it is genuine.");
  }
  const auto last = static_cast<std::int64_t>(size) - 1;
  // Child indices are range-checked here (with the JSON path); cycles and shared subtrees are
  // rejected by Tree::validate in from_state.
  t.left = left.as_ints<std::int32_t>(-1, std::min<std::int64_t>(last, INT32_MAX));
  t.right = n["right"].as_ints<std::int32_t>(-1, std::min<std::int64_t>(last, INT32_MAX));
  t.feature = n["feature"].as_ints<std::int32_t>(-1, n_features - 1);
  t.threshold = n["threshold"].as_doubles(true);
  t.missing_left = n["missing_left"].as_ints<std::uint8_t>(0, 1);
  t.value = n["value"].as_doubles(true);
  t.gain = n["gain"].as_doubles(true);
  t.cover = n["cover"].as_doubles(true);
  const char* names[] = {"right", "feature", "threshold", "missing_left", "value", "gain", "cover"};
  const std::size_t sizes[] = {t.right.size(),        t.feature.size(), t.threshold.size(),
                               t.missing_left.size(), t.value.size(),   t.gain.size(),
                               t.cover.size()};
  for (int k = 0; k < 7; ++k) {
    if (sizes[k] != size) {
      n[names[k]].fail_here("has " + std::to_string(sizes[k]) + " entries but left has " +
                            std::to_string(size) + "; every per-node array needs one per node.");
    }
  }
  const auto& raw = n.raw();
  const int n_cat =
      static_cast<int>(raw.count("cat_begin") + raw.count("cat_end") + raw.count("cat_bits"));
  if (n_cat != 0) {
    if (n_cat != 3) {
      n.fail_here(
          "has only some of cat_begin, cat_end and cat_bits; a tree with categorical "
          "splits needs all three.");
    }
    constexpr std::int64_t kMaxWord = 0xFFFFFFFF;
    t.cat_bits = n["cat_bits"].as_ints<std::uint32_t>(0, kMaxWord);
    const auto n_words = static_cast<std::int64_t>(t.cat_bits.size());
    t.cat_begin = n["cat_begin"].as_ints<std::uint32_t>(0, n_words);
    t.cat_end = n["cat_end"].as_ints<std::uint32_t>(0, n_words);
    if (t.cat_begin.size() != size || t.cat_end.size() != size) {
      n["cat_begin"].fail_here("and cat_end need one entry per node (" + std::to_string(size) +
                               ").");
    }
  }
  check_depth(t, n);
  return t;
}

GBDTState decode_gbdt_multiclass_state(const Node& sn, const GBDTParams& p, const Node& pn);

std::pair<GBDTState, GBDTParams> decode_gbdt(const Node& n) {
  const Node pn = n["params"];
  GBDTParams p = decode_params<GBDTParams>(pn);

  const Node sn = n["state"];
  if (sn.raw().is_object() && sn.raw().count("n_classes") != 0) {  // format 1.6
    GBDTState s = decode_gbdt_multiclass_state(sn, p, pn);
    return {std::move(s), std::move(p)};
  }
  sn.expect_object({"base_score", "n_features", "trees"}, {"cardinality"});
  GBDTState s;
  s.ensemble.base_score = sn["base_score"].as_finite();
  s.ensemble.n_features = sn["n_features"].as_int(1, static_cast<std::int64_t>(n.ctx().text_size));
  if (sn.raw().count("cardinality") != 0) {
    s.ensemble.cardinality = sn["cardinality"].as_ints<std::int32_t>(0, kMaxCategories);
    if (static_cast<Index>(s.ensemble.cardinality.size()) != s.ensemble.n_features) {
      sn["cardinality"].fail_here("has " + std::to_string(s.ensemble.cardinality.size()) +
                                  " entries but the model has " +
                                  std::to_string(s.ensemble.n_features) + " features.");
    }
  }
  if (!p.monotonic_cst.empty() &&
      static_cast<Index>(p.monotonic_cst.size()) != s.ensemble.n_features) {
    pn["monotonic_cst"].fail_here("has " + std::to_string(p.monotonic_cst.size()) +
                                  " entries but the model has " +
                                  std::to_string(s.ensemble.n_features) + " features.");
  }
  const Node trees = sn["trees"];
  const std::size_t n_trees = trees.array_size();
  s.ensemble.trees.reserve(n_trees);
  for (std::size_t t = 0; t < n_trees; ++t) {
    s.ensemble.trees.push_back(decode_tree(trees.at(t), s.ensemble.n_features));
  }
  return {std::move(s), std::move(p)};
}

// ---- multiclass gradient-boosted trees (format 1.6) ---------------------------------------------
// The state of a K-class model (K >= 3): {"n_features", "cardinality" (optional, as binary),
// "n_classes": K, "base_scores": [K initial raw scores], "class_trees": [K arrays of trees]},
// grouped by class: class_trees[k][t] is round t's tree of class k. A binary model's keys
// "base_score" and "trees" are absent, so a reader older than 1.6 refuses the file instead of
// reading a constant model.

json encode_gbdt_multiclass_state(const GBDTState& s) {
  const TreeEnsemble& e = s.ensemble;
  json bases = json::array();
  json class_trees = json::array();
  for (const TreeEnsemble& c : s.class_ensembles) {
    bases.push_back(encode_double(c.base_score));
    json trees = json::array();
    trees.get_ref<json::array_t&>().reserve(c.trees.size());
    for (const Tree& t : c.trees) trees.push_back(encode_tree(t));
    class_trees.push_back(std::move(trees));
  }
  json state = {{"n_features", static_cast<std::int64_t>(e.n_features)},
                {"n_classes", static_cast<std::int64_t>(s.class_ensembles.size())},
                {"base_scores", std::move(bases)},
                {"class_trees", std::move(class_trees)}};
  if (!e.cardinality.empty()) state["cardinality"] = encode_ints(e.cardinality);
  return state;
}

GBDTState decode_gbdt_multiclass_state(const Node& sn, const GBDTParams& p, const Node& pn) {
  sn.expect_object({"n_features", "n_classes", "base_scores", "class_trees"}, {"cardinality"});
  GBDTState s;
  TreeEnsemble& e = s.ensemble;
  e.n_features = sn["n_features"].as_int(1, static_cast<std::int64_t>(sn.ctx().text_size));
  if (sn.raw().count("cardinality") != 0) {
    e.cardinality = sn["cardinality"].as_ints<std::int32_t>(0, kMaxCategories);
    if (static_cast<Index>(e.cardinality.size()) != e.n_features) {
      sn["cardinality"].fail_here("has " + std::to_string(e.cardinality.size()) +
                                  " entries but the model has " + std::to_string(e.n_features) +
                                  " features.");
    }
  }
  if (!p.monotonic_cst.empty()) {
    pn["monotonic_cst"].fail_here(
        "is set but the model is multiclass; multiclass trees take no "
        "monotonic constraints.");
  }
  const auto K = static_cast<std::size_t>(sn["n_classes"].as_int(3, kMaxClasses));
  const std::vector<double> bases = sn["base_scores"].as_doubles(true);
  if (bases.size() != K) {
    sn["base_scores"].fail_here("has " + std::to_string(bases.size()) +
                                " entries but n_classes is " + std::to_string(K) +
                                "; give one initial raw score per class.");
  }
  const Node ct = sn["class_trees"];
  if (ct.array_size() != K) {
    ct.fail_here("has " + std::to_string(ct.array_size()) + " entries but n_classes is " +
                 std::to_string(K) + "; give one array of trees per class.");
  }
  for (std::size_t k = 0; k < K; ++k) {
    const Node trees = ct.at(k);
    TreeEnsemble c;
    c.n_features = e.n_features;
    c.cardinality = e.cardinality;
    c.base_score = bases[k];
    const std::size_t n_trees = trees.array_size();
    if (k > 0 && n_trees != s.class_ensembles[0].trees.size()) {
      trees.fail_here("has " + std::to_string(n_trees) + " trees but class 0 has " +
                      std::to_string(s.class_ensembles[0].trees.size()) +
                      "; every round grows one tree per class.");
    }
    c.trees.reserve(n_trees);
    for (std::size_t t = 0; t < n_trees; ++t) {
      c.trees.push_back(decode_tree(trees.at(t), e.n_features));
    }
    s.class_ensembles.push_back(std::move(c));
  }
  return s;
}

// ---- calibrators --------------------------------------------------------------------------------

json encode_platt(const PlattCalibrator& c) {
  const PlattParams& p = c.params();
  const PlattState& s = c.state();
  return {{"params", encode_params(p)},
          {"state",
           {{"a", encode_double(s.a)},
            {"b", encode_double(s.b)},
            {"input", score_kind_name(s.input)},
            {"eps", encode_double(s.eps)}}}};
}

std::pair<PlattState, PlattParams> decode_platt(const Node& n) {
  const PlattParams p = decode_params<PlattParams>(n["params"]);
  const Node sn = n["state"];
  sn.expect_object({"a", "b", "input", "eps"});
  PlattState s;
  s.a = sn["a"].as_finite();
  s.b = sn["b"].as_finite();
  s.input = decode_score_kind(sn["input"]);
  s.eps = sn["eps"].as_double();
  return {s, p};
}

json encode_isotonic(const IsotonicCalibrator& c) {
  const IsotonicParams& p = c.params();
  const IsotonicState& s = c.state();
  return {{"params", encode_params(p)},
          {"state", {{"x", encode_doubles(s.x)}, {"y", encode_doubles(s.y)}}}};
}

std::pair<IsotonicState, IsotonicParams> decode_isotonic(const Node& n) {
  const IsotonicParams p = decode_params<IsotonicParams>(n["params"]);
  const Node sn = n["state"];
  sn.expect_object({"x", "y"});
  IsotonicState s;
  s.x = sn["x"].as_doubles(true);
  s.y = sn["y"].as_doubles(true);
  if (s.x.size() != s.y.size()) {
    sn["y"].fail_here("has " + std::to_string(s.y.size()) + " values but x has " +
                      std::to_string(s.x.size()) + " knots; they must be the same length.");
  }
  if (s.x.empty()) sn["x"].fail_here("is empty; an isotonic map needs at least one knot.");
  return {std::move(s), p};
}

json encode_beta(const BetaCalibrator& c) {
  const BetaParams& p = c.params();
  const BetaState& s = c.state();
  return {{"params", encode_params(p)},
          {"state",
           {{"a", encode_double(s.a)},
            {"b", encode_double(s.b)},
            {"c", encode_double(s.c)},
            {"eps", encode_double(s.eps)}}}};
}

std::pair<BetaState, BetaParams> decode_beta(const Node& n) {
  const BetaParams p = decode_params<BetaParams>(n["params"]);
  const Node sn = n["state"];
  sn.expect_object({"a", "b", "c", "eps"});
  BetaState s;
  s.a = sn["a"].as_finite();
  s.b = sn["b"].as_finite();
  s.c = sn["c"].as_finite();
  s.eps = sn["eps"].as_double();
  return {s, p};
}

// from_state throws InvalidInput naming the field; report it at the section's path.
template <class Fn>
auto with_path(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const InvalidInput& e) {
    fail(path, std::string("is invalid: ") + e.what());
  }
}

}  // namespace

json encode_model(const LogisticRegression& m) { return encode_lr(m); }
json encode_model(const GradientBoostedTrees& m) { return encode_gbdt(m); }
json encode_model(const PipelineModel& m) {
  return std::visit([](const auto& model) { return encode_model(model); }, m);
}

int format_minor_needed(const PipelineModel& m, const PipelineCalibrator& c, int floor_minor) {
  int minor = std::visit(
      [floor_minor](const auto& model) { return minor_needed(model.params(), floor_minor); }, m);
  std::visit(
      [&minor](const auto& cal) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(cal)>, std::monostate>) {
          minor = minor_needed(cal.params(), minor);
        }
      },
      c);
  // Category-set splits and cardinalities (format 1.4) may come from a state built by hand.
  if (const auto* g = std::get_if<GradientBoostedTrees>(&m)) {
    if (g->is_fitted() && !g->state().ensemble.cardinality.empty()) minor = std::max(minor, 4);
    if (!g->params().class_weight.per_class.empty()) minor = std::max(minor, 5);
    if (g->is_fitted() && g->state().n_classes() > 2) minor = std::max(minor, 6);  // multiclass
  }
  // Multinomial logistic regression and per-class weights (format 1.5).
  if (const auto* lr = std::get_if<LogisticRegression>(&m)) {
    if (!lr->params().class_weight.per_class.empty()) minor = std::max(minor, 5);
    if (lr->is_fitted() && !lr->state().class_intercept.empty()) minor = std::max(minor, 5);
  }
  return minor;
}

json encode_venn_abers(const VennAbersCalibrator& c) {
  const VennAbersState& s = c.state();
  return {
      {"type", "venn_abers"},
      {"state",
       {{"x", encode_doubles(s.x)}, {"f0", encode_doubles(s.f0)}, {"f1", encode_doubles(s.f1)}}}};
}

VennAbersCalibrator decode_venn_abers(const Node& n) {
  n.expect_object({"type", "state"});
  const Node type = n["type"];
  const std::string t = type.as_string(64);
  if (t != "venn_abers") type.fail_here("is \"" + t + "\" but must be \"venn_abers\".");
  const Node sn = n["state"];
  sn.expect_object({"x", "f0", "f1"});
  VennAbersState s;
  s.x = sn["x"].as_doubles(true);
  s.f0 = sn["f0"].as_doubles(true);
  s.f1 = sn["f1"].as_doubles(true);
  return with_path(sn.path(), [&] { return VennAbersCalibrator::from_state(std::move(s)); });
}

json encode_calibrator(const PipelineCalibrator& c, CalibratorInput input) {
  json j;
  switch (c.index()) {
    case 0:
      return {{"type", "none"}};
    case 1:
      j = encode_platt(std::get<1>(c));
      j["type"] = "platt";
      break;
    case 2:
      j = encode_isotonic(std::get<2>(c));
      j["type"] = "isotonic";
      break;
    default:
      j = encode_beta(std::get<3>(c));
      j["type"] = "beta";
      break;
  }
  j["input"] = input == CalibratorInput::kMargin ? "margin" : "probability";
  return j;
}

DecodedModel decode_model(const Node& n) {
  if (!n.raw().is_object()) n.wrong_type("an object");
  const Node type = n["type"];
  const std::string t = type.as_string(64);
  DecodedModel d;
  d.path = n.path();
  n.expect_object({"type", "params", "state"});
  if (t == "logistic_regression") {
    d.v = decode_lr(n);
  } else if (t == "gradient_boosted_trees") {
    d.v = decode_gbdt(n);
  } else {
    type.fail_here("is \"" + t +
                   "\" but must be \"logistic_regression\" or "
                   "\"gradient_boosted_trees\".");
  }
  return d;
}

DecodedCalibrator decode_calibrator(const Node& n) {
  if (!n.raw().is_object()) n.wrong_type("an object");
  const Node type = n["type"];
  const std::string t = type.as_string(64);
  DecodedCalibrator d;
  d.path = n.path();
  if (t == "none") {
    n.expect_object({"type"});
    return d;
  }
  n.expect_object({"type", "input", "params", "state"});
  const Node in = n["input"];
  const std::string input = in.as_string(32);
  if (input == "margin") {
    d.input = CalibratorInput::kMargin;
  } else if (input == "probability") {
    d.input = CalibratorInput::kProbability;
  } else {
    in.fail_here("is \"" + input + "\" but must be \"margin\" or \"probability\".");
  }
  if (t == "platt") {
    d.v = decode_platt(n);
  } else if (t == "isotonic") {
    d.v = decode_isotonic(n);
  } else if (t == "beta") {
    d.v = decode_beta(n);
  } else {
    type.fail_here("is \"" + t + "\" but must be \"none\", \"platt\", \"isotonic\" or \"beta\".");
  }
  return d;
}

PipelineModel build_model(DecodedModel d) {
  const std::string path = d.path + "/state";
  if (auto* lr = std::get_if<0>(&d.v)) {
    return with_path(path, [&] {
      return PipelineModel(LogisticRegression::from_state(std::move(lr->first), lr->second));
    });
  }
  auto& g = std::get<1>(d.v);
  return with_path(path, [&] {
    return PipelineModel(GradientBoostedTrees::from_state(std::move(g.first), std::move(g.second)));
  });
}

PipelineCalibrator build_calibrator(DecodedCalibrator d, CalibratorInput& input) {
  input = d.input;
  const std::string path = d.path + "/state";
  switch (d.v.index()) {
    case 0:
      return PipelineCalibrator{};
    case 1: {
      auto& c = std::get<1>(d.v);
      return with_path(
          path, [&] { return PipelineCalibrator(PlattCalibrator::from_state(c.first, c.second)); });
    }
    case 2: {
      auto& c = std::get<2>(d.v);
      return with_path(path, [&] {
        return PipelineCalibrator(IsotonicCalibrator::from_state(std::move(c.first), c.second));
      });
    }
    default: {
      auto& c = std::get<3>(d.v);
      return with_path(
          path, [&] { return PipelineCalibrator(BetaCalibrator::from_state(c.first, c.second)); });
    }
  }
}

// ---- review policy (format 1.5) ----------------------------------------------------------------

json encode_review_policy(const ReviewPolicyRecord& r) {
  if (r.kind == "threshold") {
    return {{"kind", "threshold"},
            {"policy", r.policy},
            {"per_class", r.per_class},
            {"thresholds", encode_doubles(r.thresholds)}};
  }
  if (r.kind == "conformal") {
    const ConformalSets& c = r.conformal;
    if (c.n_classes() < 2) {
      throw NotFitted(
          "encode_review_policy: the conformal sets are not calibrated; call "
          "conformal_calibrate first.");
    }
    return {{"kind", "conformal"},
            {"policy", r.policy},
            {"method", conformal_method_name(c.method())},
            {"alpha", encode_double(c.alpha())},
            {"quantile", encode_double(c.quantile())},
            {"n_classes", c.n_classes()},
            {"n_calibration", static_cast<std::int64_t>(c.n_calibration())},
            {"random_state", c.random_state()}};
  }
  if (r.kind == "triage") {
    return {{"kind", "triage"},
            {"policy", r.policy},
            {"t_low", encode_double(r.t_low)},
            {"t_high", encode_double(r.t_high)}};
  }
  throw InvalidInput("encode_review_policy: kind is \"" + r.kind +
                     "\"; use \"threshold\", \"conformal\" or \"triage\".");
}

namespace {

/// A threshold: a probability in [0, 1] or +inf (route nothing).
double decode_review_threshold(const Node& n) {
  const double t = n.as_double();
  if (!((t >= 0.0 && t <= 1.0) || t == std::numeric_limits<double>::infinity())) {
    n.fail_here("is " + Node::describe(t) +
                " but must be a probability in [0, 1] or \"Infinity\".");
  }
  return t;
}

}  // namespace

ReviewPolicyRecord decode_review_policy(const Node& n) {
  if (!n.raw().is_object()) n.wrong_type("an object");
  const std::string kind = n["kind"].as_string(64);
  ReviewPolicyRecord r;
  r.kind = kind;
  if (kind == "threshold") {
    n.expect_object({"kind", "policy", "per_class", "thresholds"});
    r.per_class = n["per_class"].as_bool();
    const Node t = n["thresholds"];
    const std::size_t k = t.array_size();
    if (r.per_class ? (k < 2 || k > static_cast<std::size_t>(kMaxClasses)) : k != 1) {
      t.fail_here("has " + std::to_string(k) + " values but must have " +
                  (r.per_class ? "one per class (2 to " + std::to_string(kMaxClasses) + ")"
                               : std::string("exactly one")) +
                  ".");
    }
    for (std::size_t i = 0; i < k; ++i) r.thresholds.push_back(decode_review_threshold(t.at(i)));
  } else if (kind == "conformal") {
    n.expect_object({"kind", "policy", "method", "alpha", "quantile", "n_classes", "n_calibration",
                     "random_state"});
    const std::string method = n["method"].as_string(64);
    const double alpha = n["alpha"].as_finite();
    const double q = n["quantile"].as_double();
    const int k = static_cast<int>(n["n_classes"].as_int(2, kMaxClasses));
    const auto m =
        static_cast<Index>(n["n_calibration"].as_int(1, std::numeric_limits<std::int64_t>::max()));
    const std::uint64_t seed = n["random_state"].as_uint64();
    r.conformal = with_path(n.path(), [&] {
      return ConformalSets(conformal_method_from_name(method), alpha, q, k, m, seed);
    });
  } else if (kind == "triage") {
    n.expect_object({"kind", "policy", "t_low", "t_high"});
    r.t_low = decode_review_threshold(n["t_low"]);
    r.t_high = decode_review_threshold(n["t_high"]);
    if (r.t_high < r.t_low)
      n["t_high"].fail_here("is below t_low; the band must have t_low <= t_high.");
  } else {
    n["kind"].fail_here("is \"" + kind +
                        "\" but must be \"threshold\", \"conformal\" or \"triage\".");
  }
  r.policy = n["policy"].as_string();
  return r;
}

}  // namespace calibrisk::detail::artifact

// ---- multiclass calibrators (format 1.5) --------------------------------------------------------

namespace calibrisk::detail::artifact {
namespace {

json encode_platt_state(const PlattState& s) {
  return {{"a", encode_double(s.a)},
          {"b", encode_double(s.b)},
          {"input", score_kind_name(s.input)},
          {"eps", encode_double(s.eps)}};
}

PlattState decode_platt_state(const Node& sn) {
  sn.expect_object({"a", "b", "input", "eps"});
  PlattState s;
  s.a = sn["a"].as_finite();
  s.b = sn["b"].as_finite();
  s.input = decode_score_kind(sn["input"]);
  s.eps = sn["eps"].as_double();
  return s;
}

json encode_temperature(const TemperatureScaling& c) {
  const TemperatureState& s = c.state();
  return {{"type", "temperature"},
          {"params", encode_params(c.params())},
          {"state",
           {{"beta", encode_double(s.beta)},
            {"input", score_kind_name(s.input)},
            {"eps", encode_double(s.eps)},
            {"n_classes", s.n_classes}}}};
}

TemperatureScaling decode_temperature(const Node& n) {
  const TemperatureParams p = decode_params<TemperatureParams>(n["params"]);
  const Node sn = n["state"];
  sn.expect_object({"beta", "input", "eps", "n_classes"});
  TemperatureState s;
  s.beta = sn["beta"].as_finite();
  s.input = decode_score_kind(sn["input"]);
  s.eps = sn["eps"].as_double();
  s.n_classes = static_cast<int>(sn["n_classes"].as_int(2, kMaxClasses));
  return with_path(sn.path(), [&] { return TemperatureScaling::from_state(s, p); });
}

json encode_one_vs_rest(const OneVsRestCalibrator& c) {
  const OneVsRestState& s = c.state();
  json per_class = json::array();
  for (const PlattState& p : s.platt) per_class.push_back(encode_platt_state(p));
  for (const IsotonicState& p : s.isotonic) {
    per_class.push_back({{"x", encode_doubles(p.x)}, {"y", encode_doubles(p.y)}});
  }
  for (const BetaState& p : s.beta) {
    per_class.push_back({{"a", encode_double(p.a)},
                         {"b", encode_double(p.b)},
                         {"c", encode_double(p.c)},
                         {"eps", encode_double(p.eps)}});
  }
  return {{"type", "one_vs_rest"},
          {"params", encode_params(c.params())},
          {"state",
           {{"method", enum_to_text(s.method)},
            {"input", score_kind_name(s.input)},
            {"n_classes", s.n_classes},
            {"calibrators", per_class}}}};
}

OneVsRestCalibrator decode_one_vs_rest(const Node& n) {
  decode_params<OneVsRestParams>(n["params"]);
  const Node sn = n["state"];
  sn.expect_object({"method", "input", "n_classes", "calibrators"});
  OneVsRestState s;
  s.method = decode_enum<OvrMethod>(sn["method"]);
  s.input = decode_score_kind(sn["input"]);
  s.n_classes = static_cast<int>(sn["n_classes"].as_int(2, kMaxClasses));
  const Node cals = sn["calibrators"];
  if (!cals.raw().is_array()) cals.wrong_type("an array");
  const std::size_t expected = s.n_classes == 2 ? 1 : static_cast<std::size_t>(s.n_classes);
  if (cals.array_size() != expected) {
    cals.fail_here("has " + std::to_string(cals.array_size()) + " calibrators for " +
                   std::to_string(s.n_classes) + " classes; expected " + std::to_string(expected) +
                   ".");
  }
  for (std::size_t i = 0; i < cals.array_size(); ++i) {
    const Node cn = cals.at(i);
    if (s.method == OvrMethod::kSigmoid) {
      s.platt.push_back(decode_platt_state(cn));
    } else if (s.method == OvrMethod::kIsotonic) {
      cn.expect_object({"x", "y"});
      IsotonicState is;
      is.x = cn["x"].as_doubles(true);
      is.y = cn["y"].as_doubles(true);
      s.isotonic.push_back(std::move(is));
    } else {
      cn.expect_object({"a", "b", "c", "eps"});
      BetaState bs;
      bs.a = cn["a"].as_finite();
      bs.b = cn["b"].as_finite();
      bs.c = cn["c"].as_finite();
      bs.eps = cn["eps"].as_double();
      s.beta.push_back(bs);
    }
  }
  return with_path(sn.path(), [&] { return OneVsRestCalibrator::from_state(std::move(s)); });
}

json encode_dirichlet(const DirichletCalibrator& c) {
  const DirichletState& s = c.state();
  return {{"type", "dirichlet"},
          {"params", encode_params(c.params())},
          {"state",
           {{"n_classes", s.n_classes},
            {"coef", encode_doubles(s.coef)},
            {"intercept", encode_doubles(s.intercept)},
            {"input", score_kind_name(s.input)},
            {"eps", encode_double(s.eps)}}}};
}

DirichletCalibrator decode_dirichlet(const Node& n) {
  const DirichletParams p = decode_params<DirichletParams>(n["params"]);
  const Node sn = n["state"];
  sn.expect_object({"n_classes", "coef", "intercept", "input", "eps"});
  DirichletState s;
  s.n_classes = static_cast<int>(sn["n_classes"].as_int(2, kMaxDirichletClasses));
  s.coef = sn["coef"].as_doubles(true);
  s.intercept = sn["intercept"].as_doubles(true);
  s.input = decode_score_kind(sn["input"]);
  s.eps = sn["eps"].as_double();
  return with_path(sn.path(), [&] { return DirichletCalibrator::from_state(std::move(s), p); });
}

}  // namespace

json encode_multiclass_calibrator(const MulticlassCalibrator& c) {
  return std::visit(
      [](const auto& cal) -> json {
        using T = std::decay_t<decltype(cal)>;
        if constexpr (std::is_same_v<T, TemperatureScaling>) {
          return encode_temperature(cal);
        } else if constexpr (std::is_same_v<T, OneVsRestCalibrator>) {
          return encode_one_vs_rest(cal);
        } else {
          return encode_dirichlet(cal);
        }
      },
      c);
}

MulticlassCalibrator decode_multiclass_calibrator(const Node& n) {
  n.expect_object({"type", "params", "state"});
  const Node type = n["type"];
  const std::string t = type.as_string(64);
  if (t == "temperature") return decode_temperature(n);
  if (t == "one_vs_rest") return decode_one_vs_rest(n);
  if (t == "dirichlet") return decode_dirichlet(n);
  type.fail_here("is \"" + t +
                 "\" but a multiclass calibrator is \"temperature\", \"one_vs_rest\" or "
                 "\"dirichlet\".");
}

}  // namespace calibrisk::detail::artifact
