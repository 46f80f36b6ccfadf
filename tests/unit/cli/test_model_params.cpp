// SPDX-License-Identifier: Apache-2.0
// --param tables generated from the Params declarations: every field of every type round-trips
// (set from text, read back as the same text), old enum spellings are accepted, and a field newer
// than format 1.0 is left out of provenance while it keeps its default.
#include <doctest/doctest.h>

#include "cli/errors.hpp"
#include "cli/model_params.hpp"
#include "cli/options.hpp"

#include <map>
#include <string>
#include <vector>

using namespace calibrisk::cli;

namespace {

std::map<std::string, std::string> texts(const std::vector<ParamField>& fields) {
  std::map<std::string, std::string> out;
  for (const auto& f : fields) out[f.name] = f.get();
  return out;
}

// Sets every field to `values` (one non-default text per field), then reads them back.
template <class P>
void round_trip(std::vector<ParamField> (*make)(P&),
                const std::map<std::string, std::string>& values) {
  P p;
  const auto fields = make(p);
  REQUIRE(fields.size() == values.size());  // a new field must be added to this test
  std::vector<std::string> assignments;
  for (const auto& [k, v] : values) assignments.push_back(k + "=" + v);
  apply_params(assignments, fields, "model");
  CHECK(texts(fields) == values);
  P q;  // and the text read back parses to the same values
  const auto again = make(q);
  std::vector<std::string> back;
  for (const auto& f : fields) back.push_back(f.name + "=" + f.get());
  apply_params(back, again, "model");
  CHECK(texts(again) == values);
}

}  // namespace

TEST_CASE("cli param: every GBDTParams field round-trips through --param text") {
  round_trip<calibrisk::GBDTParams>(&gbdt_param_fields, {{"n_estimators", "7"},
                                                         {"learning_rate", "0.25"},
                                                         {"max_leaf_nodes", "9"},
                                                         {"max_depth", "4"},
                                                         {"max_bins", "300"},
                                                         {"min_samples_leaf", "3"},
                                                         {"min_child_weight", "0.5"},
                                                         {"l2_regularization", "2"},
                                                         {"min_gain_to_split", "0.125"},
                                                         {"max_delta_step", "0.5"},
                                                         {"subsample", "0.75"},
                                                         {"colsample_bytree", "0.5"},
                                                         {"class_weight", "1:5"},
                                                         {"scale_pos_weight", "3"},
                                                         {"monotonic_cst", "0,1,-1"},
                                                         {"categorical_features", "0,2"},
                                                         {"min_data_per_category", "4"},
                                                         {"cat_smooth", "2.5"},
                                                         {"cat_l2", "0"},
                                                         {"max_cat_threshold", "8"},
                                                         {"max_cat_to_onehot", "6"},
                                                         {"cat_encoding", "target_stats"},
                                                         {"cat_ts_min_levels", "7"},
                                                         {"cat_ts_folds", "3"},
                                                         {"cat_ts_smoothing", "0.5"},
                                                         {"cat_ts_ordinal", "false"},
                                                         {"cat_ts_infer_hierarchy", "false"},
                                                         {"early_stopping", "true"},
                                                         {"validation_fraction", "0.2"},
                                                         {"n_iter_no_change", "4"},
                                                         {"tol", "0.001"},
                                                         {"bin_subsample", "0"},
                                                         {"random_state", "18446744073709551615"},
                                                         {"max_model_nodes", "123"},
                                                         {"n_threads", "2"}});
}

TEST_CASE("cli param: every LogisticRegressionParams field round-trips through --param text") {
  round_trip<calibrisk::LogisticRegressionParams>(&lr_param_fields,
                                                  {{"C", "inf"},
                                                   {"fit_intercept", "false"},
                                                   {"max_iter", "50"},
                                                   {"tol", "1e-08"},
                                                   {"class_weight", "balanced"},
                                                   {"missing", "mean_with_indicator"},
                                                   {"standardize", "false"},
                                                   {"n_threads", "3"},
                                                   {"newton_max_columns", "10"},
                                                   {"categorical_features", "2,5"},
                                                   {"min_category_count", "25"},
                                                   {"hessian_subsample", "false"},
                                                   {"penalty_scale", "standardized"}});
}

TEST_CASE("cli param: enums list their spellings; the old spelling is accepted") {
  calibrisk::LogisticRegressionParams p;
  const auto fields = lr_param_fields(p);
  apply_params({"missing=mean_indicator"}, fields, "lr");
  CHECK(p.missing == calibrisk::MissingStrategy::kMeanWithIndicator);
  CHECK_THROWS_WITH_AS(apply_params({"missing=median"}, fields, "lr"),
                       doctest::Contains("--param missing must be mean or mean_with_indicator"),
                       UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"penalty_scale=scaled"}, fields, "lr"),
                       doctest::Contains("--param penalty_scale must be raw or standardized"),
                       UsageError);
  CHECK_THROWS_WITH_AS(apply_params({"nope=1"}, fields, "lr"),
                       doctest::Contains("missing (mean|mean_with_indicator)"), UsageError);
}

TEST_CASE("cli param: max_delta_step is set by --param and kept out of provenance at 0") {
  calibrisk::GBDTParams p;
  const auto fields = gbdt_param_fields(p);
  const ParamField* mds = nullptr;
  for (const auto& f : fields) {
    if (f.name == "max_delta_step") mds = &f;
    // Fields of format 1.0 are always recorded.
    if (f.name == "learning_rate") CHECK_FALSE(f.omit_from_provenance);
  }
  REQUIRE(mds != nullptr);
  REQUIRE(mds->omit_from_provenance);
  CHECK(mds->omit_from_provenance());
  apply_params({"max_delta_step=0.5"}, fields, "gbdt");
  CHECK(p.max_delta_step == 0.5);
  CHECK_FALSE(mds->omit_from_provenance());
  CHECK(mds->get() == "0.5");
}
