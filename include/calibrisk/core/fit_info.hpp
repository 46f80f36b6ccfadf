// SPDX-License-Identifier: Apache-2.0
/// @file fit_info.hpp
/// Non-fatal outcomes of a fit (iterations, convergence, notes); the library never prints them.
#pragma once

#include <string>
#include <vector>

namespace calibrisk {

/// What happened during `fit`. The Python layer turns `notes` into warnings.
struct FitInfo {
  int n_iter = 0;         ///< Solver iterations or boosting rounds actually run.
  bool converged = true;  ///< False when the solver stopped at max_iter.
  std::vector<std::string>
      notes;  ///< Human-readable, non-fatal remarks (e.g. "constant feature 3").
};

}  // namespace calibrisk
