// SPDX-License-Identifier: Apache-2.0
// The --param tables of the two models: every field of LogisticRegressionParams and GBDTParams
// by its C++ (and scikit-learn) name, settable from the command line and recorded in provenance.
// Built by one visitor over each struct's `fields` declaration: a new field needs no edit here.
#pragma once

#include "cli/options.hpp"

#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/trees/booster.hpp>

#include <vector>

namespace calibrisk::cli {

/// Every declared field of LogisticRegressionParams (see its `fields`). Values: numbers as text
/// ("inf" allowed for doubles), bools as true/false, class_weight as none | balanced | W0:W1,
/// enums by their canonical spelling (old aliases warn on stderr), lists comma-separated.
/// The fields reference `p`, which must outlive them.
std::vector<ParamField> lr_param_fields(LogisticRegressionParams& p);

/// Every declared field of GBDTParams (see its `fields`), parsed as for lr_param_fields;
/// monotonic_cst is comma-separated -1/0/1 per feature.
std::vector<ParamField> gbdt_param_fields(GBDTParams& p);

/// True when `assignments` set `key` (so a command-line default such as --threads or --seed does
/// not override an explicit --param).
bool param_given(const std::vector<std::string>& assignments, const std::string& key);

}  // namespace calibrisk::cli
