// SPDX-License-Identifier: Apache-2.0
// The --param tables of the two models: every field of LogisticRegressionParams and GBDTParams
// by its C++ (and scikit-learn) name, settable from the command line and recorded in provenance.
#pragma once

#include "cli/options.hpp"

#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/trees/booster.hpp>

#include <vector>

namespace calibrisk::cli {

/// Fields of LogisticRegressionParams: C, fit_intercept, max_iter, tol, class_weight
/// (none | balanced | W0:W1), missing (mean | mean_with_indicator), standardize, n_threads.
/// The fields reference `p`, which must outlive them.
std::vector<ParamField> lr_param_fields(LogisticRegressionParams& p);

/// Fields of GBDTParams: n_estimators, learning_rate, max_leaf_nodes, max_depth, max_bins,
/// min_samples_leaf, min_child_weight, l2_regularization, min_gain_to_split, subsample,
/// colsample_bytree, class_weight, scale_pos_weight, monotonic_cst (comma-separated -1/0/1 per
/// feature), early_stopping, validation_fraction, n_iter_no_change, tol, bin_subsample,
/// random_state, n_threads.
std::vector<ParamField> gbdt_param_fields(GBDTParams& p);

/// True when `assignments` set `key` (so a command-line default such as --threads or --seed does
/// not override an explicit --param).
bool param_given(const std::vector<std::string>& assignments, const std::string& key);

}  // namespace calibrisk::cli
