// SPDX-License-Identifier: Apache-2.0
// IsotonicCalibrator: pool-adjacent-violators fitting, batch prediction and rebuilding from a state
// (declared in calibration/isotonic.hpp).
#include <calibrisk/calibration/isotonic.hpp>

#include <calibrisk/core/parallel.hpp>

#include "calibration/common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

namespace detail {

/// Weighted pool-adjacent-violators on values `y` (in order) with positive weights `w`, in place:
/// on return `y` is the non-decreasing least-squares fit. Adjacent blocks with equal means are
/// pooled (a block is only kept apart when its mean is strictly below the next one), as
/// scikit-learn/scipy do. One pass with a stack of blocks: O(n) amortised.
static void pav_inplace(std::vector<double>& y, const std::vector<double>& w) {
  const std::size_t n = y.size();
  // Blocks as (end index exclusive, weighted sum, weight), kept on a stack.
  std::vector<std::size_t> end;
  std::vector<double> sum, weight;
  end.reserve(n);
  sum.reserve(n);
  weight.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    double s = w[i] * y[i], ww = w[i];
    // Merge with the previous block while it violates (mean >= this block's mean).
    while (!sum.empty() && sum.back() / weight.back() >= s / ww) {
      s += sum.back();
      ww += weight.back();
      sum.pop_back();
      weight.pop_back();
      end.pop_back();
    }
    sum.push_back(s);
    weight.push_back(ww);
    end.push_back(i + 1);
  }
  std::size_t begin = 0;
  for (std::size_t b = 0; b < end.size(); ++b) {
    const double mean = sum[b] / weight[b];
    for (std::size_t i = begin; i < end[b]; ++i) y[i] = mean;
    begin = end[b];
  }
}

}  // namespace detail

IsotonicCalibrator& IsotonicCalibrator::fit(VectorView<const double> scores,
                                            VectorView<const double> y,
                                            VectorView<const double> sample_weight) {
  params_.validate();
  detail::validate_calibration_fit(scores, y, sample_weight, "IsotonicCalibrator::fit");
  detail::PooledScores p = detail::pool_sorted_scores(scores, y, sample_weight);
  detail::pav_inplace(p.y, p.w);
  for (double& v : p.y) v = std::min(std::max(v, params_.y_min), params_.y_max);
  state_ = compact(std::move(p.x), std::move(p.y));
  build_guide();
  fitted_ = true;
  return *this;
}

void IsotonicCalibrator::predict(VectorView<const double> scores, VectorView<double> out) const {
  require_fitted("IsotonicCalibrator::predict");
  detail::validate_scores(scores, "IsotonicCalibrator::predict");
  detail::validate_out(scores, out, "IsotonicCalibrator::predict");
  detail::parallel_blocks(scores.size(), 1 << 16, params_.n_threads,
                          [&](Index, Index lo, Index hi) {
                            for (Index i = lo; i < hi; ++i) out[i] = eval(scores[i]);
                          });
}

IsotonicCalibrator IsotonicCalibrator::from_state(IsotonicState s, IsotonicParams p) {
  const std::string where = "IsotonicCalibrator::from_state";
  if (s.x.empty()) throw InvalidInput(where + ": state.x is empty; at least one knot is needed.");
  if (s.y.size() != s.x.size()) {
    throw InvalidInput(where + ": state.x has " + std::to_string(s.x.size()) +
                       " knots but state.y has " + std::to_string(s.y.size()) + " values.");
  }
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
      throw InvalidInput(where + ": state." + (std::isfinite(s.x[i]) ? "y[" : "x[") +
                         std::to_string(i) + "] is not finite.");
    }
    if (i > 0 && !(s.x[i] > s.x[i - 1])) {
      throw InvalidInput(where + ": state.x[" + std::to_string(i) +
                         "] is not greater than state.x[" + std::to_string(i - 1) +
                         "]; knots must be strictly increasing.");
    }
    if (i > 0 && s.y[i] < s.y[i - 1]) {
      throw InvalidInput(where + ": state.y[" + std::to_string(i) + "] is below state.y[" +
                         std::to_string(i - 1) + "]; an isotonic map is non-decreasing.");
    }
  }
  IsotonicCalibrator c(std::move(p));
  c.state_ = std::move(s);
  c.build_guide();
  c.fitted_ = true;
  return c;
}

IsotonicState IsotonicCalibrator::compact(std::vector<double> x, std::vector<double> y) {
  const std::size_t n = y.size();
  IsotonicState s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0 || i + 1 == n || y[i] != y[i - 1] || y[i] != y[i + 1]) {
      s.x.push_back(x[i]);
      s.y.push_back(y[i]);
    }
  }
  return s;
}

void IsotonicCalibrator::build_guide() {
  const std::vector<double>& x = state_.x;
  guide_.clear();
  if (x.size() < 2) return;
  const std::size_t cells = std::min<std::size_t>(2 * x.size(), std::size_t{1} << 20);
  guide_lo_ = x.front();
  const double span = x.back() - x.front();
  guide_scale_ = static_cast<double>(cells) / span;
  if (!std::isfinite(guide_scale_)) {  // span underflows: plain binary search
    guide_.clear();
    return;
  }
  guide_.resize(cells + 1);
  std::size_t k = 0;
  for (std::size_t c = 0; c <= cells; ++c) {
    const double edge = guide_lo_ + static_cast<double>(c) / guide_scale_;
    while (k < x.size() && x[k] < edge) ++k;
    guide_[c] = static_cast<std::uint32_t>(k);
  }
}

}  // namespace calibrisk
