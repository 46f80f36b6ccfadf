// SPDX-License-Identifier: Apache-2.0
// Bootstrap confidence intervals of the metrics (declared in metrics/bootstrap.hpp): metric names,
// the resampler and the replicate loop.
#include <calibrisk/metrics/bootstrap.hpp>

#include "metrics/resampler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::metrics {

namespace detail {

/// numpy.percentile(v, 100 q) with linear interpolation; v sorted ascending, non-empty.
inline double sorted_percentile(const std::vector<double>& v, double q) {
  const double h = q * static_cast<double>(v.size() - 1);
  const double lo = std::floor(h);
  const std::size_t i = static_cast<std::size_t>(lo);
  const std::size_t j = std::min(i + 1, v.size() - 1);
  return numpy_lerp(v[i], v[j], h - lo);
}

/// The resampler of sorted scores: rows are sorted positions, strata the two labels; a group's
/// stratum is whether it holds a positive.
inline Resampler make_resampler(const SortedScores& s, bool stratified,
                                VectorView<const std::int64_t> groups) {
  const Index n = s.size();
  const auto& y = s.label();
  auto row_stratum = [&y](Index k) { return static_cast<int>(y[k]); };
  auto has_positive = [&y](const std::uint32_t* rows, std::size_t count) {
    for (std::size_t k = 0; k < count; ++k)
      if (y[rows[k]]) return 1;
    return 0;
  };
  if (groups.empty()) return make_resampler(n, 2, stratified, nullptr, row_stratum, has_positive);
  std::vector<std::int64_t> keys = group_keys(groups, n, "bootstrap");
  // Keys in sorted order: unit rows are sorted positions.
  std::vector<std::int64_t> sorted_keys(keys.size());
  for (Index k = 0; k < n; ++k) sorted_keys[static_cast<std::size_t>(k)] = keys[s.order()[k]];
  return make_resampler(n, 2, stratified, &sorted_keys, row_stratum, has_positive);
}

}  // namespace detail

const std::vector<std::pair<Metric, const char*>>& metric_names() {
  static const std::vector<std::pair<Metric, const char*>> names = {
      {Metric::kRocAuc, "roc_auc"},
      {Metric::kAveragePrecision, "average_precision"},
      {Metric::kLogLoss, "log_loss"},
      {Metric::kBrierScore, "brier_score"},
      {Metric::kExpectedCalibrationError, "ece"},
      {Metric::kMaxCalibrationError, "mce"},
      {Metric::kCalibrationIntercept, "calibration_intercept"},
      {Metric::kCalibrationSlope, "calibration_slope"},
      {Metric::kSpiegelhalterZ, "spiegelhalter_z"},
  };
  return names;
}

std::string metric_name(Metric m) {
  for (const auto& [k, v] : metric_names())
    if (k == m) return v;
  return "unknown";
}

Metric metric_from_name(const std::string& name) {
  std::string known;
  for (const auto& [k, v] : metric_names()) {
    if (name == v) return k;
    known += known.empty() ? v : std::string(", ") + v;
  }
  throw InvalidParams("bootstrap: unknown metric \"" + name + "\"; use one of " + known + ".");
}

MetricFunction metric_function(Metric m, const CalibrationBinning& binning) {
  switch (m) {
    case Metric::kRocAuc:
      return [](const SortedScores& s, const double* r) { return roc_auc_score(s, r); };
    case Metric::kAveragePrecision:
      return [](const SortedScores& s, const double* r) { return average_precision_score(s, r); };
    case Metric::kLogLoss:
      return [](const SortedScores& s, const double* r) { return log_loss(s, r); };
    case Metric::kBrierScore:
      return [](const SortedScores& s, const double* r) { return brier_score_loss(s, r); };
    case Metric::kExpectedCalibrationError:
      return [binning](const SortedScores& s, const double* r) {
        return expected_calibration_error(s, binning, r);
      };
    case Metric::kMaxCalibrationError:
      return [binning](const SortedScores& s, const double* r) {
        return max_calibration_error(s, binning, r);
      };
    case Metric::kCalibrationIntercept:
      return [](const SortedScores& s, const double* r) {
        return calibration_intercept_slope(s, {}, r).intercept;
      };
    case Metric::kCalibrationSlope:
      return [](const SortedScores& s, const double* r) {
        return calibration_intercept_slope(s, {}, r).slope;
      };
    case Metric::kSpiegelhalterZ:
      return [](const SortedScores& s, const double* r) { return spiegelhalter_test(s, r).z; };
  }
  throw InvalidParams("bootstrap: unknown metric enumerator.");
}

std::vector<BootstrapResult> bootstrap_vector(const SortedScores& s,
                                              const std::vector<std::string>& names,
                                              const VectorMetricFunction& fn,
                                              const BootstrapParams& params,
                                              VectorView<const std::int64_t> groups) {
  params.validate();
  if (names.empty()) throw InvalidParams("bootstrap: no metric requested; pass at least one.");
  const Index n = s.size();
  const std::size_t M = names.size();
  auto checked = [&](const double* mult) {
    std::vector<double> v = fn(s, mult);
    if (v.size() != M) {
      throw InvalidInput("bootstrap: the metric function returned " + std::to_string(v.size()) +
                         " values for " + std::to_string(M) + " names; return one per name.");
    }
    return v;
  };
  std::vector<BootstrapResult> out(M);
  const std::vector<double> point = checked(nullptr);
  for (std::size_t j = 0; j < M; ++j) {
    out[j].metric = names[j];
    out[j].point = point[j];
    out[j].replicates.assign(params.n_replicates, 0.0);
  }
  const detail::Resampler rs = detail::make_resampler(s, params.stratified, groups);
  constexpr Index kChunk = 8;  // replicates per task; scratch is allocated once per task
  const Index R = params.n_replicates;
  calibrisk::detail::parallel_for_dynamic(
      0, calibrisk::detail::n_blocks(R, kChunk), params.n_threads, [&](Index b) {
        std::vector<double> mult(n);
        for (Index r = b * kChunk; r < std::min(R, (b + 1) * kChunk); ++r) {
          Rng rng(params.random_state, static_cast<std::uint64_t>(r));
          rs.draw(rng, mult);
          const std::vector<double> v = checked(mult.data());
          for (std::size_t j = 0; j < M; ++j) out[j].replicates[r] = v[j];
        }
      });
  const double alpha = 1.0 - params.confidence;
  for (auto& res : out) {
    std::vector<double> v;
    v.reserve(res.replicates.size());
    for (double x : res.replicates)
      if (std::isfinite(x)) v.push_back(x);
    res.n_invalid = static_cast<Index>(res.replicates.size() - v.size());
    if (v.empty()) {
      res.lower = res.upper = res.std_error = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    std::sort(v.begin(), v.end());
    res.lower = detail::sorted_percentile(v, alpha / 2.0);
    res.upper = detail::sorted_percentile(v, 1.0 - alpha / 2.0);
    double mean = 0.0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double ss = 0.0;
    for (double x : v) ss += (x - mean) * (x - mean);
    res.std_error = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  }
  return out;
}

std::vector<BootstrapResult> bootstrap(
    const SortedScores& s, const std::vector<std::pair<std::string, MetricFunction>>& metrics,
    const BootstrapParams& params, VectorView<const std::int64_t> groups) {
  std::vector<std::string> names;
  for (const auto& m : metrics) names.push_back(m.first);
  return bootstrap_vector(
      s, names,
      [&metrics](const SortedScores& ss, const double* mult) {
        std::vector<double> v(metrics.size());
        for (std::size_t j = 0; j < metrics.size(); ++j) v[j] = metrics[j].second(ss, mult);
        return v;
      },
      params, groups);
}

std::vector<BootstrapResult> bootstrap(const SortedScores& s, const std::vector<Metric>& metrics,
                                       const BootstrapParams& params,
                                       VectorView<const std::int64_t> groups) {
  std::vector<std::pair<std::string, MetricFunction>> fns;
  for (Metric m : metrics) fns.emplace_back(metric_name(m), metric_function(m, params.binning));
  return bootstrap(s, fns, params, groups);
}

}  // namespace calibrisk::metrics
