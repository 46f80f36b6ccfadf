// SPDX-License-Identifier: Apache-2.0
// The command-line tool's flag parsers: --split, --policy, --param.
#include <doctest/doctest.h>

#include "cli/errors.hpp"
#include "cli/options.hpp"

#include <cmath>
#include <cstdint>

using namespace calibrisk;
using namespace calibrisk::cli;

TEST_CASE("cli split: full, abbreviated and completed forms") {
  SUBCASE("all three") {
    const SplitFractions f = parse_split("train=0.6,calibration=0.2,test=0.2");
    CHECK(f.train == doctest::Approx(0.6));
    CHECK(f.calibration == doctest::Approx(0.2));
    CHECK(f.test == doctest::Approx(0.2));
  }
  SUBCASE("one left out is completed to sum 1") {
    const SplitFractions f = parse_split("train=0.7, cal=0.1");
    CHECK(f.test == doctest::Approx(0.2));
  }
}

TEST_CASE("cli split: bad fractions are usage errors naming the fix") {
  CHECK_THROWS_WITH_AS(parse_split("train=0.6,calibration=0.3,test=0.3"),
                       doctest::Contains("sum to 1"), UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train=0.8,calibration=0.2"),
                       doctest::Contains("leaving nothing for test"), UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train=1.2,calibration=0.2"), doctest::Contains("(0, 1)"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train=0.6,valid=0.2,test=0.2"),
                       doctest::Contains("unknown part"), UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train=0.6"), doctest::Contains("at least two"), UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train=abc,test=0.2"), doctest::Contains("must be a number"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train"), doctest::Contains("no '='"), UsageError);
  CHECK_THROWS_WITH_AS(parse_split("train=0.5,train=0.2"), doctest::Contains("twice"), UsageError);
}

TEST_CASE("cli policy: every documented form parses and prints back canonically") {
  ThresholdPolicy p = parse_policy("min-recall=0.8");
  CHECK(p.kind == PolicyKind::kMinRecall);
  CHECK(p.value == 0.8);
  CHECK(policy_text(p) == "min-recall=0.8");
  p = parse_policy("min-precision=0.3");
  CHECK(p.kind == PolicyKind::kMinPrecision);
  CHECK(p.value == 0.3);
  p = parse_policy("max-alert-rate=0.1");
  CHECK(p.kind == PolicyKind::kMaxAlertRate);
  CHECK(p.value == 0.1);
  p = parse_policy("cost-fp=1,cost-fn=10");
  CHECK(p.kind == PolicyKind::kMinCost);
  CHECK(p.cost_fp == 1.0);
  CHECK(p.cost_fn == 10.0);
  CHECK(policy_text(p) == "cost-fp=1,cost-fn=10");
  p = parse_policy("cost-fn=10,cost-fp=2");  // either order
  CHECK(p.cost_fp == 2.0);
  p = parse_policy("max-f=2");
  CHECK(p.kind == PolicyKind::kMaxFBeta);
  CHECK(p.value == 2.0);
}

TEST_CASE("cli policy: PolicyKind's one text table gives --policy keys and the stored text") {
  // The spellings written into model files and provenance are fixed (golden files).
  CHECK(std::string(enum_to_text(PolicyKind::kMinRecall)) == "min-recall");
  CHECK(std::string(enum_to_text(PolicyKind::kMinPrecision)) == "min-precision");
  CHECK(std::string(enum_to_text(PolicyKind::kMaxAlertRate)) == "max-alert-rate");
  CHECK(std::string(enum_to_text(PolicyKind::kMaxFBeta)) == "max-f");
  CHECK(policy_text(parse_policy("max-f=2")) == "max-f=2");
  CHECK(policy_text(parse_policy("min-precision=0.3")) == "min-precision=0.3");
  CHECK(policy_text(parse_policy("max-alert-rate=0.1")) == "max-alert-rate=0.1");
  // Aliases (underscore forms, Python's keyword names) parse to the same kind.
  CHECK(policy_text(parse_policy("min_recall=0.8")) == "min-recall=0.8");
  CHECK(policy_text(parse_policy("MAX_ALERT_RATE=0.2")) == "max-alert-rate=0.2");
  CHECK(policy_text(parse_policy("fbeta=1")) == "max-f=1");
  PolicyKind k{};
  std::string alias;
  REQUIRE(enum_from_text("min_precision", k, alias));
  CHECK(k == PolicyKind::kMinPrecision);
  CHECK(alias == "min-precision");
  // min-cost has no single value: it is given as its two costs.
  CHECK_THROWS_WITH_AS(parse_policy("min-cost=1"), doctest::Contains("not a policy"), UsageError);
  CHECK_THROWS_WITH_AS(parse_policy("cost=1"), doctest::Contains("not a policy"), UsageError);
}

TEST_CASE("cli policy: bad policies list the valid forms") {
  CHECK_THROWS_WITH_AS(parse_policy("min-recall=1.5"), doctest::Contains("(0, 1]"), UsageError);
  CHECK_THROWS_WITH_AS(parse_policy("min-recall=0"), doctest::Contains("(0, 1]"), UsageError);
  CHECK_THROWS_WITH_AS(parse_policy("recall=0.8"), doctest::Contains("max-alert-rate=0.1"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_policy("cost-fp=1"), doctest::Contains("not a policy"), UsageError);
  CHECK_THROWS_WITH_AS(parse_policy("cost-fp=0,cost-fn=1"), doctest::Contains("> 0"), UsageError);
  CHECK_THROWS_WITH_AS(parse_policy("max-f=-1"), doctest::Contains("> 0"), UsageError);
  CHECK_THROWS_WITH_AS(parse_policy(""), doctest::Contains("empty"), UsageError);
}

namespace {
struct DummyParams {
  int n_estimators = 100;
  double learning_rate = 0.1;
  double C = 1.0;
  bool early_stopping = false;
  std::uint64_t random_state = 0;
};
std::vector<ParamField> dummy_fields(DummyParams& p) {
  return {int_field("n_estimators", p.n_estimators), double_field("learning_rate", p.learning_rate),
          double_field("C", p.C), bool_field("early_stopping", p.early_stopping),
          uint64_field("random_state", p.random_state)};
}
}  // namespace

TEST_CASE("cli param: assignments set the named fields with their types") {
  DummyParams p;
  apply_params(
      {"n_estimators=300", "learning_rate=0.05", "C=inf", "early_stopping=true", "random_state=42"},
      dummy_fields(p), "gbdt");
  CHECK(p.n_estimators == 300);
  CHECK(p.learning_rate == 0.05);
  CHECK(std::isinf(p.C));
  CHECK(p.early_stopping);
  CHECK(p.random_state == 42u);
}

TEST_CASE("cli param: unknown keys list the valid ones; bad values name the key and type") {
  DummyParams p;
  const auto fields = dummy_fields(p);
  CHECK_THROWS_WITH_AS(apply_params({"num_leaves=31"}, fields, "gbdt"),
                       doctest::Contains("valid keys: n_estimators (int), learning_rate (double)"),
                       UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"n_estimators=1.5"}, fields, "gbdt"),
                       doctest::Contains("--param n_estimators must be a whole number"),
                       UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"early_stopping=maybe"}, fields, "gbdt"),
                       doctest::Contains("true or false"), UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"learning_rate"}, fields, "gbdt"),
                       doctest::Contains("key=value"), UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"C=1", "C=2"}, fields, "gbdt"), doctest::Contains("twice"),
                       UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"random_state=-1"}, fields, "gbdt"),
                       doctest::Contains("must be in [0,"), UsageError);
}

TEST_CASE("cli errors: exceptions map to the documented exit codes") {
  CHECK(classify(UsageError("x")).code == 2);
  CHECK(classify(calibrisk::InvalidParams("x")).code == 2);
  CHECK(classify(calibrisk::InvalidInput("x")).code == 3);
  CHECK(classify(calibrisk::ModelFormatError("x")).code == 4);
  CHECK(classify(ModelFileError("x")).code == 4);
  CHECK(classify(calibrisk::NotFitted("x")).code == 1);
  CHECK(classify(std::runtime_error("x")).code == 1);
  CHECK_THROWS_WITH_AS(
      as_model_file_error("m.json", []() -> int { throw calibrisk::InvalidInput("bad"); }),
      doctest::Contains("cannot use model file 'm.json': bad"), ModelFileError);
}

TEST_CASE("cli param: current values read back as text for provenance") {
  DummyParams p;
  const auto fields = dummy_fields(p);
  apply_params({"learning_rate=0.05", "C=inf"}, fields, "gbdt");
  CHECK(fields[0].get() == "100");
  CHECK(fields[1].get() == "0.05");
  CHECK(fields[2].get() == "inf");
  CHECK(fields[3].get() == "false");
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(1.0 / 3.0) == "0.3333333333333333");  // shortest exact form
  CHECK(std::stod(format_double(1.0 / 3.0)) == 1.0 / 3.0);
}

#include "cli/model_params.hpp"

TEST_CASE("cli param: every LogisticRegressionParams / GBDTParams field is settable by name") {
  calibrisk::LogisticRegressionParams lr;
  apply_params({"C=0.5", "class_weight=balanced", "missing=mean_with_indicator", "max_iter=50",
                "standardize=false"},
               lr_param_fields(lr), "lr");
  CHECK(lr.C == 0.5);
  CHECK(lr.class_weight.kind == calibrisk::ClassWeight::Kind::kBalanced);
  CHECK(lr.missing == calibrisk::MissingStrategy::kMeanWithIndicator);
  CHECK(lr.max_iter == 50);
  CHECK_FALSE(lr.standardize);

  calibrisk::GBDTParams gb;
  const auto fields = gbdt_param_fields(gb);
  apply_params({"n_estimators=300", "max_leaf_nodes=15", "class_weight=1:5", "monotonic_cst=0,1,-1",
                "early_stopping=true", "bin_subsample=0", "random_state=7", "subsample=0.8"},
               fields, "gbdt");
  CHECK(gb.n_estimators == 300);
  CHECK(gb.max_leaf_nodes == 15);
  CHECK(gb.class_weight.kind == calibrisk::ClassWeight::Kind::kExplicit);
  CHECK(gb.class_weight.w1 == 5.0);
  CHECK(gb.monotonic_cst == std::vector<int>{0, 1, -1});
  CHECK(gb.early_stopping);
  CHECK(gb.bin_subsample == 0);
  CHECK(gb.random_state == 7u);
  CHECK(gb.subsample == 0.8);
  // Provenance text reads back what was set.
  for (const auto& f : fields) {
    if (f.name == "class_weight") CHECK(f.get() == "1:5");
    if (f.name == "monotonic_cst") CHECK(f.get() == "0,1,-1");
  }
  CHECK_THROWS_WITH_AS(apply_params({"class_weight=heavy"}, fields, "gbdt"),
                       doctest::Contains("none, balanced or W0:W1"), UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"monotonic_cst=0,2"}, fields, "gbdt"),
                       doctest::Contains("must be in [-1, 1]"), UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"C=1"}, fields, "gbdt (GBDTParams)"),
                       doctest::Contains("'C' is not a parameter of gbdt (GBDTParams); valid keys: "
                                         "n_estimators (int), learning_rate (double)"),
                       UsageError);
  // Range checks stay with the Params' validate(): parsing accepts, validate names the field.
  calibrisk::GBDTParams bad;
  apply_params({"learning_rate=5"}, gbdt_param_fields(bad), "gbdt");
  CHECK_THROWS_AS(bad.validate(), calibrisk::InvalidParams);
  CHECK(param_given({"n_threads = 2"}, "n_threads"));
  CHECK_FALSE(param_given({"n_threads_x=2"}, "n_threads"));
}

TEST_CASE("cli integers: the whole text, in range; no wrapping of -1 or 2^70") {
  CHECK(parse_unsigned("0", "--seed") == 0);
  CHECK(parse_unsigned("18446744073709551615", "--seed") == UINT64_MAX);
  CHECK(parse_unsigned("+7", "--seed") == 7);
  CHECK_THROWS_WITH_AS(parse_unsigned("-1", "--seed"),
                       doctest::Contains("--seed must be in [0, 18446744073709551615], got -1"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_unsigned("1180591620717411303424", "--seed"),  // 2^70
                       doctest::Contains("must be in [0, 18446744073709551615]"), UsageError);
  CHECK_THROWS_WITH_AS(parse_unsigned("12abc", "--seed"), doctest::Contains("whole number"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_unsigned("", "--seed"), doctest::Contains("whole number"), UsageError);
  CHECK_THROWS_WITH_AS(parse_unsigned("--5", "--seed"), doctest::Contains("whole number"),
                       UsageError);
  CHECK(parse_integer("-3", "--x", -5, 5) == -3);
  CHECK_THROWS_WITH_AS(parse_integer("99999999999999999999", "--rows", 10, 100),
                       doctest::Contains("must be in [10, 100]"), UsageError);
  CHECK_THROWS_WITH_AS(parse_integer("0x10", "--rows", 0, 100), doctest::Contains("whole number"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_integer("1.5", "--rows", 0, 100), doctest::Contains("whole number"),
                       UsageError);
  // Data quoted into messages is escaped and capped.
  CHECK_THROWS_WITH_AS(parse_integer(std::string(300, '9') + "\n", "--rows", 0, 100),
                       doctest::Contains("... (300 bytes)"), UsageError);
}
