// SPDX-License-Identifier: Apache-2.0
// The declared-once parameter framework (core/params.hpp): generic validation messages, range
// texts, enum text tables (canonical spellings and deprecated aliases), and the field lists.
#include <doctest/doctest.h>

#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/calibrated.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/calibration/venn_abers.hpp>
#include <calibrisk/core/params.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/trees/booster.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

template <class P>
std::vector<std::string> names_of() {
  std::vector<std::string> out;
  for_each_field_info<P>(
      [&](const char* name, const ParamSpec&, const char*) { out.emplace_back(name); });
  return out;
}

}  // namespace

TEST_CASE("params: range texts are stated as the messages state them") {
  CHECK(range_text(at_least(1)) == ">= 1");
  CHECK(range_text(finite_at_least(0)) == "finite and >= 0");
  CHECK(range_text(finite_above(0)) == "finite and > 0");
  CHECK(range_text(open_closed(0, 1)) == "in (0, 1]");
  CHECK(range_text(open_open(0, 0.5)) == "in (0, 0.5)");
  CHECK(range_text(in_range(2, 65535)) == "in [2, 65535]");
  CHECK(range_text(at_least(0).with_note("(0 = all rows)")) == ">= 0 (0 = all rows)");
  CHECK(range_text(any_value()) == "any value");
}

TEST_CASE("params: a spec accepts exactly its range; NaN never passes a checked field") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(open_closed(0, 1).accepts(1.0));
  CHECK_FALSE(open_closed(0, 1).accepts(0.0));
  CHECK_FALSE(open_closed(0, 1).accepts(nan));
  CHECK(above(0).accepts(inf));  // LogisticRegressionParams.C = +inf: no penalty
  CHECK_FALSE(finite_above(0).accepts(inf));
  CHECK(closed_open(-inf, inf).accepts(-inf));
  CHECK_FALSE(closed_open(-inf, inf).accepts(inf));
  CHECK(any_value().accepts(nan));
}

TEST_CASE("params: generic validation names struct, field, range, value and the default") {
  GBDTParams g;
  g.learning_rate = 0.0;
  CHECK_THROWS_WITH_AS(validate_params(g),
                       "GBDTParams.learning_rate must be in (0, 1], got 0; 0.1 is the default.",
                       InvalidParams);
  LogisticRegressionParams l;
  l.tol = std::nan("");
  CHECK_THROWS_WITH_AS(l.validate(),
                       doctest::Contains("LogisticRegressionParams.tol must be finite and >= 0"),
                       InvalidParams);
  l = LogisticRegressionParams{};
  l.missing = static_cast<MissingStrategy>(7);
  CHECK_THROWS_WITH_AS(l.validate(), doctest::Contains("use mean or mean_with_indicator"),
                       InvalidParams);
  IsotonicParams i;
  i.y_max = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(i.validate(),
                       doctest::Contains("IsotonicParams.y_max must be finite or +inf"),
                       InvalidParams);
  CalibratedParams c;
  c.calibration_fraction = 1.0;
  CHECK_THROWS_WITH_AS(c.validate(),
                       doctest::Contains("CalibratedParams.calibration_fraction must be in (0, 1)"),
                       InvalidParams);
  BetaParams b;
  b.max_iter = 0;
  CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("BetaParams.max_iter must be >= 1, got 0"),
                       InvalidParams);
  // Defaults are valid.
  CHECK_NOTHROW(GBDTParams{}.validate());
  CHECK_NOTHROW(LogisticRegressionParams{}.validate());
  CHECK_NOTHROW(PlattParams{}.validate());
  CHECK_NOTHROW(IsotonicParams{}.validate());
  CHECK_NOTHROW(BetaParams{}.validate());
  CHECK_NOTHROW(CalibratedParams{}.validate());
  CHECK_NOTHROW(VennAbersParams{}.validate());
}

TEST_CASE("params: one text table per enum; old spellings are aliases of the canonical one") {
  CHECK(std::string(enum_to_text(MissingStrategy::kMeanWithIndicator)) == "mean_with_indicator");
  CHECK(std::string(enum_to_text(ScoreKind::kProbability)) == "probability");
  CHECK(std::string(enum_to_text(ClassWeight::Kind::kBalanced)) == "balanced");
  CHECK(std::string(enum_to_text(CrossFitSplit::kTime)) == "time");
  MissingStrategy m = MissingStrategy::kMean;
  std::string canonical;
  REQUIRE(enum_from_text("mean_indicator", m, canonical));  // the old Python spelling
  CHECK(m == MissingStrategy::kMeanWithIndicator);
  CHECK(canonical == "mean_with_indicator");
  REQUIRE(enum_from_text("mean", m, canonical));
  CHECK(canonical.empty());
  CHECK_FALSE(enum_from_text("median", m, canonical));
  CHECK(enum_choices<ClassWeight::Kind>("\"") == "\"none\", \"balanced\" or \"explicit\"");
}

TEST_CASE("params: every field is declared once, in the documented order") {
  const auto g = names_of<GBDTParams>();
  CHECK(g.front() == "n_estimators");
  CHECK(std::set<std::string>(g.begin(), g.end()).size() == g.size());
  CHECK(g.size() == 35);
  const auto l = names_of<LogisticRegressionParams>();
  CHECK(l == std::vector<std::string>{"C", "fit_intercept", "max_iter", "tol", "class_weight",
                                      "missing", "standardize", "n_threads", "newton_max_columns",
                                      "categorical_features", "min_category_count",
                                      "hessian_subsample", "penalty_scale"});
  CHECK(names_of<PlattParams>().size() == 5);
  CHECK(names_of<IsotonicParams>().size() == 3);
  CHECK(names_of<BetaParams>().size() == 3);
  CHECK(names_of<CalibratedParams>().size() == 5);
  CHECK(names_of<VennAbersParams>().empty());
  // Execution settings and limits are flagged (not stored in model files).
  std::set<std::string> exec;
  for_each_field_info<GBDTParams>([&](const char* name, const ParamSpec& s, const char*) {
    if (s.is_execution()) exec.insert(name);
  });
  CHECK(exec == std::set<std::string>{"max_model_nodes", "n_threads"});
}
