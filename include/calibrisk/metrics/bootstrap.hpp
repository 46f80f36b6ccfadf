// SPDX-License-Identifier: Apache-2.0
/// @file bootstrap.hpp
/// Percentile bootstrap confidence intervals for any metric of this module: seeded, stratified by
/// class, optionally grouped (clusters resampled whole), parallel and deterministic for any thread
/// count. Replicates reuse the one sort: a replicate is a vector of multiplicities over the sorted
/// order, never a re-sorted copy (Efron & Tibshirani 1993, ch. 13; Field & Welsh 2007 for the
/// cluster bootstrap).
#pragma once

#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/ranking.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::metrics {

/// The built-in metrics the bootstrap knows by name.
enum class Metric {
  kRocAuc,                    ///< "roc_auc"
  kAveragePrecision,          ///< "average_precision"
  kLogLoss,                   ///< "log_loss"
  kBrierScore,                ///< "brier_score"
  kExpectedCalibrationError,  ///< "ece"
  kMaxCalibrationError,       ///< "mce"
  kCalibrationIntercept,      ///< "calibration_intercept"
  kCalibrationSlope,          ///< "calibration_slope"
  kSpiegelhalterZ,            ///< "spiegelhalter_z"
};

/// All built-in metrics with their names, in enum order.
const std::vector<std::pair<Metric, const char*>>& metric_names();

/// The name of a metric ("roc_auc", ...).
std::string metric_name(Metric m);

/// Parses a metric name; throws InvalidParams listing the known names.
Metric metric_from_name(const std::string& name);

/// A metric evaluated on sorted scores under optional per-position multiplicities; returns NaN
/// when undefined on a replicate. Must be thread-safe (called concurrently).
using MetricFunction = std::function<double(const SortedScores&, const double* replicate_weight)>;

/// The evaluation function of a built-in metric (ECE/MCE use `binning`).
MetricFunction metric_function(Metric m, const CalibrationBinning& binning = {});

/// Settings of `bootstrap`.
struct BootstrapParams {
  static constexpr const char* kName = "BootstrapParams";
  int n_replicates = 1000;         ///< replicates, in [1, 10^7]
  double confidence = 0.95;        ///< two-sided level of the percentile interval, in (0, 1)
  bool stratified = true;          ///< keep each class's row count (group count with groups) fixed
  std::uint64_t random_state = 0;  ///< seed; replicate r uses the stream Rng(random_state, r)
  int n_threads = 0;               ///< 0 = all threads OpenMP allows; results do not depend on it
  CalibrationBinning binning;      ///< bins of ECE / MCE (its own fields and validation)
  template <class V>
  static void fields(V& v) {
    using P = BootstrapParams;
    v("n_replicates", &P::n_replicates, in_range(1, 10000000).fix("1000 is the usual choice."),
      "Bootstrap replicates.");
    v("confidence", &P::confidence, open_open(0, 1).fix("use e.g. 0.95."),
      "Two-sided level of the percentile interval.");
    v("stratified", &P::stratified, any_value(),
      "Keep each class's row count (group count with groups) fixed in every replicate.");
    v("random_state", &P::random_state, any_value(),
      "Seed; replicate r uses the stream Rng(random_state, r).");
    v("n_threads", &P::n_threads, at_least(0).with_note("(0 = all)").execution(),
      "Threads; 0 = all OpenMP allows. Results do not depend on it.");
  }
  /// Throws InvalidParams naming the field, the value and the range.
  void validate() const {
    validate_params(*this);
    binning.validate();
  }
};

/// The bootstrap distribution of one metric.
struct BootstrapResult {
  std::string metric;      ///< its name
  double point = 0.0;      ///< the metric on the full data
  double lower = 0.0;      ///< percentile (1 - confidence) / 2 of the valid replicates
  double upper = 0.0;      ///< percentile (1 + confidence) / 2 of the valid replicates
  double std_error = 0.0;  ///< standard deviation of the valid replicates
  std::vector<double>
      replicates;       ///< one value per replicate, in replicate order (NaN = undefined)
  Index n_invalid = 0;  ///< replicates where the metric was undefined (excluded)
};

/// Bootstrap distributions and percentile intervals of several metrics at once.
///
/// @param s        the data, sorted once.
/// @param metrics  (name, function) pairs; each function is evaluated on the full data (the
///                 point estimate; it may throw, e.g. one class) and on every replicate (NaN =
///                 undefined on that replicate; such replicates are excluded and counted).
/// @param params   replicates, confidence, stratification, seed, threads.
/// @param groups   empty, or one integer group key per original row (patients, hospitals):
///                 whole groups are resampled with replacement; with `stratified`, groups with
///                 and without a positive are resampled separately.
/// Replicate r draws from `Rng(random_state, r)` only, and replicates are independent, so the
/// result is bit-identical for any `n_threads`. Cost per replicate: O(n) draws plus one O(n) pass
/// per metric over the pre-sorted order (no sort). Throws InvalidParams / InvalidInput.
std::vector<BootstrapResult> bootstrap(
    const SortedScores& s, const std::vector<std::pair<std::string, MetricFunction>>& metrics,
    const BootstrapParams& params, VectorView<const std::int64_t> groups = {});

/// Several quantities computed together on one replicate (e.g. a curve on a grid, or numbers
/// that share an expensive fit): returns one value per name, NaN = undefined on that replicate.
/// Must be thread-safe (called concurrently).
using VectorMetricFunction =
    std::function<std::vector<double>(const SortedScores&, const double* replicate_weight)>;

/// Bootstrap of a vector-valued function: like the MetricFunction overload (same replicates for
/// the same params and groups), with one result per entry of `names`. `fn` must return
/// `names.size()` values (InvalidInput otherwise).
std::vector<BootstrapResult> bootstrap_vector(const SortedScores& s,
                                              const std::vector<std::string>& names,
                                              const VectorMetricFunction& fn,
                                              const BootstrapParams& params,
                                              VectorView<const std::int64_t> groups = {});

/// Bootstrap of built-in metrics (see the MetricFunction overload).
std::vector<BootstrapResult> bootstrap(const SortedScores& s, const std::vector<Metric>& metrics,
                                       const BootstrapParams& params = {},
                                       VectorView<const std::int64_t> groups = {});

}  // namespace calibrisk::metrics
