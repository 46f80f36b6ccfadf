// SPDX-License-Identifier: Apache-2.0
// --param tables of LogisticRegressionParams and GBDTParams (see model_params.hpp).
#include "cli/model_params.hpp"

#include "cli/errors.hpp"

#include <calibrisk/io/text.hpp>

#include <sstream>

namespace calibrisk::cli {
namespace {

ParamField class_weight_field(ClassWeight& cw) {
  return {"class_weight", "none|balanced|W0:W1",
          [&cw](const std::string& v) {
            if (v == "none" || v == "None" || v.empty()) {
              cw = ClassWeight::none();
            } else if (v == "balanced") {
              cw = ClassWeight::balanced();
            } else {
              const auto colon = v.find(':');
              if (colon == std::string::npos) {
                throw UsageError(
                    "--param class_weight must be none, balanced or W0:W1 (the "
                    "weights of class 0 and class 1, e.g. 1:5), got " +
                    quote_for_message(v) + ".");
              }
              cw = ClassWeight::explicit_weights(
                  parse_double(v.substr(0, colon), "--param class_weight (class 0 weight)"),
                  parse_double(v.substr(colon + 1), "--param class_weight (class 1 weight)"));
            }
          },
          [&cw]() -> std::string {
            switch (cw.kind) {
              case ClassWeight::Kind::kBalanced:
                return "balanced";
              case ClassWeight::Kind::kExplicit:
                return format_double(cw.w0) + ":" + format_double(cw.w1);
              case ClassWeight::Kind::kNone:
                break;
            }
            return "none";
          }};
}

}  // namespace

std::vector<ParamField> lr_param_fields(LogisticRegressionParams& p) {
  std::vector<ParamField> f;
  f.push_back(double_field("C", p.C));
  f.push_back(bool_field("fit_intercept", p.fit_intercept));
  f.push_back(int_field("max_iter", p.max_iter));
  f.push_back(double_field("tol", p.tol));
  f.push_back(class_weight_field(p.class_weight));
  f.push_back({"missing", "mean|mean_with_indicator",
               [&p](const std::string& v) {
                 if (v == "mean") {
                   p.missing = MissingStrategy::kMean;
                 } else if (v == "mean_with_indicator") {
                   p.missing = MissingStrategy::kMeanWithIndicator;
                 } else {
                   throw UsageError("--param missing must be mean or mean_with_indicator, got " +
                                    quote_for_message(v) + ".");
                 }
               },
               [&p]() -> std::string {
                 return p.missing == MissingStrategy::kMean ? "mean" : "mean_with_indicator";
               }});
  f.push_back(bool_field("standardize", p.standardize));
  f.push_back(index_field("newton_max_columns", p.newton_max_columns));
  f.push_back(int_field("n_threads", p.n_threads));
  return f;
}

std::vector<ParamField> gbdt_param_fields(GBDTParams& p) {
  std::vector<ParamField> f;
  f.push_back(int_field("n_estimators", p.n_estimators));
  f.push_back(double_field("learning_rate", p.learning_rate));
  f.push_back(int_field("max_leaf_nodes", p.max_leaf_nodes));
  f.push_back(int_field("max_depth", p.max_depth));
  f.push_back(int_field("max_bins", p.max_bins));
  f.push_back(int_field("min_samples_leaf", p.min_samples_leaf));
  f.push_back(double_field("min_child_weight", p.min_child_weight));
  f.push_back(double_field("l2_regularization", p.l2_regularization));
  f.push_back(double_field("min_gain_to_split", p.min_gain_to_split));
  f.push_back(double_field("subsample", p.subsample));
  f.push_back(double_field("colsample_bytree", p.colsample_bytree));
  f.push_back(class_weight_field(p.class_weight));
  f.push_back(double_field("scale_pos_weight", p.scale_pos_weight));
  f.push_back({"monotonic_cst", "list of -1/0/1",
               [&p](const std::string& v) {
                 p.monotonic_cst.clear();
                 std::istringstream is(v);
                 std::string item;
                 while (std::getline(is, item, ',')) {
                   p.monotonic_cst.push_back(
                       static_cast<int>(parse_integer(item, "--param monotonic_cst entry", -1, 1)));
                 }
               },
               [&p]() {
                 std::string s;
                 for (int c : p.monotonic_cst) s += (s.empty() ? "" : ",") + std::to_string(c);
                 return s;
               }});
  f.push_back(bool_field("early_stopping", p.early_stopping));
  f.push_back(double_field("validation_fraction", p.validation_fraction));
  f.push_back(int_field("n_iter_no_change", p.n_iter_no_change));
  f.push_back(double_field("tol", p.tol));
  f.push_back(index_field("bin_subsample", p.bin_subsample));
  f.push_back(index_field("max_model_nodes", p.max_model_nodes));
  f.push_back(uint64_field("random_state", p.random_state));
  f.push_back(int_field("n_threads", p.n_threads));
  return f;
}

bool param_given(const std::vector<std::string>& assignments, const std::string& key) {
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    std::string k = a.substr(0, eq);
    while (!k.empty() && k.back() == ' ') k.pop_back();
    while (!k.empty() && k.front() == ' ') k.erase(k.begin());
    if (k == key) return true;
  }
  return false;
}

}  // namespace calibrisk::cli
