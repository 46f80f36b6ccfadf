// SPDX-License-Identifier: Apache-2.0
// Bootstrap confidence intervals of the metrics (declared in metrics/bootstrap.hpp): metric names,
// the resampler and the replicate loop.
#include <calibrisk/metrics/bootstrap.hpp>

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

/// Draws one replicate's multiplicities into `mult` (size n, overwritten).
struct Resampler {
  // strata: lists of sampling units; a unit is a sorted position, or a group (rows in CSR form).
  std::vector<std::vector<std::uint32_t>> strata;
  std::vector<std::size_t> group_start;   // CSR over groups (empty when not grouped)
  std::vector<std::uint32_t> group_rows;  // sorted positions of each group's rows

  void draw(Rng& rng, std::vector<double>& mult) const {
    std::fill(mult.begin(), mult.end(), 0.0);
    const bool grouped = !group_start.empty();
    for (const auto& units : strata) {
      const std::uint64_t m = units.size();
      for (std::uint64_t d = 0; d < m; ++d) {
        const std::uint32_t u = units[rng.below(m)];
        if (!grouped) {
          mult[u] += 1.0;
        } else {
          for (std::size_t k = group_start[u]; k < group_start[u + 1]; ++k)
            mult[group_rows[k]] += 1.0;
        }
      }
    }
  }
};

inline Resampler make_resampler(const SortedScores& s, bool stratified,
                                VectorView<const std::int64_t> groups) {
  Resampler r;
  const Index n = s.size();
  const auto& y = s.label();
  if (groups.empty()) {
    if (!stratified) {
      r.strata.resize(1);
      r.strata[0].resize(n);
      for (Index k = 0; k < n; ++k) r.strata[0][k] = static_cast<std::uint32_t>(k);
    } else {
      r.strata.resize(2);
      for (Index k = 0; k < n; ++k) r.strata[y[k]].push_back(static_cast<std::uint32_t>(k));
      if (r.strata[1].empty()) r.strata.erase(r.strata.begin() + 1);
      if (r.strata[0].empty()) r.strata.erase(r.strata.begin());
    }
    return r;
  }
  if (groups.size() != n) {
    throw InvalidInput("bootstrap: groups has " + std::to_string(groups.size()) +
                       " values but y has " + std::to_string(n) + "; pass one group key per row.");
  }
  // Dense group ids by sorting the distinct keys (deterministic, independent of hashing).
  std::vector<std::int64_t> keys(n);
  for (Index k = 0; k < n; ++k) keys[k] = groups[s.order()[k]];
  std::vector<std::int64_t> uniq = keys;
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  const std::size_t G = uniq.size();
  std::vector<std::uint32_t> gid(n);
  r.group_start.assign(G + 1, 0);
  for (Index k = 0; k < n; ++k) {
    gid[k] = static_cast<std::uint32_t>(std::lower_bound(uniq.begin(), uniq.end(), keys[k]) -
                                        uniq.begin());
    ++r.group_start[gid[k] + 1];
  }
  for (std::size_t g = 0; g < G; ++g) r.group_start[g + 1] += r.group_start[g];
  r.group_rows.resize(n);
  std::vector<std::size_t> fill(r.group_start.begin(), r.group_start.end() - 1);
  std::vector<std::uint8_t> has_pos(G, 0);
  for (Index k = 0; k < n; ++k) {
    r.group_rows[fill[gid[k]]++] = static_cast<std::uint32_t>(k);
    if (y[k]) has_pos[gid[k]] = 1;
  }
  if (!stratified) {
    r.strata.resize(1);
    for (std::size_t g = 0; g < G; ++g) r.strata[0].push_back(static_cast<std::uint32_t>(g));
  } else {
    // Groups are stratified by whether they contain a positive, so each replicate keeps the same
    // number of groups with and without events.
    r.strata.resize(2);
    for (std::size_t g = 0; g < G; ++g)
      r.strata[has_pos[g]].push_back(static_cast<std::uint32_t>(g));
    if (r.strata[1].empty()) r.strata.erase(r.strata.begin() + 1);
    if (r.strata[0].empty()) r.strata.erase(r.strata.begin());
  }
  return r;
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
