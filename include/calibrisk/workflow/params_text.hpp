// SPDX-License-Identifier: Apache-2.0
/// @file params_text.hpp
/// The text forms the workflow records in a pipeline's provenance (and reads from the CLI's
/// `--param key=value` and Python's `params={...}`): model parameters by their C++ field names,
/// the threshold policy, and numbers in the shortest form that reads back exactly.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

struct GBDTParams;
struct LogisticRegressionParams;
struct ThresholdPolicy;

/// The shortest text of `v` that reads back to the same double ("inf" / "-inf" for infinities).
std::string format_double(double v);

/// The canonical text of a threshold policy, as `calibrisk train --policy` takes it and the model
/// file records it: "min-recall=0.8", "min-precision=0.3", "max-alert-rate=0.1",
/// "cost-fp=1,cost-fn=10", "max-f=1".
std::string policy_text(const ThresholdPolicy& p);

/// Every declared field of the Params struct (its `fields`, core/params.hpp), except the thread
/// count and a field added after format 1.0 that keeps its default, as
/// (C++ field name, text): numbers as format_double, booleans "true"/"false", class_weight
/// "none" | "balanced" | "W0:W1", monotonic_cst "1,0,-1", missing "mean" | "mean_with_indicator".
/// These are the "model.<name>" provenance entries of a trained pipeline.
std::vector<std::pair<std::string, std::string>> parameter_text(const GBDTParams& p);
std::vector<std::pair<std::string, std::string>> parameter_text(const LogisticRegressionParams& p);

/// Sets field `name` of the Params struct from its text form (the forms parameter_text writes;
/// n_threads included). Throws InvalidParams naming the field, the text and the valid keys or
/// the expected form. Range checks are left to the struct's validate().
void set_parameter(GBDTParams& p, const std::string& name, const std::string& text);
void set_parameter(LogisticRegressionParams& p, const std::string& name, const std::string& text);

}  // namespace calibrisk
