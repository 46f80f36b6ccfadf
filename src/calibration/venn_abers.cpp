// SPDX-License-Identifier: Apache-2.0
// VennAbersCalibrator: the cumulative-sum-diagram sweeps of the fit, batch prediction and
// rebuilding from a state (declared in calibration/venn_abers.hpp).
#include <calibrisk/calibration/venn_abers.hpp>

#include "calibration/common.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

VennAbersCalibrator& VennAbersCalibrator::fit(VectorView<const double> scores,
                                              VectorView<const double> y,
                                              VectorView<const double> sample_weight) {
  detail::validate_calibration_fit(scores, y, sample_weight, "VennAbersCalibrator::fit");
  detail::PooledScores p = detail::pool_sorted_scores(scores, y, sample_weight);
  const std::size_t k = p.x.size();
  std::vector<Pt> P(k + 1);
  P[0] = Pt{0.0L, 0.0L};
  for (std::size_t j = 1; j <= k; ++j) {
    const long double w = p.w[j - 1];
    P[j] = Pt{P[j - 1].x + w, P[j - 1].y + w * static_cast<long double>(p.y[j - 1])};
  }
  VennAbersState s;
  s.x = std::move(p.x);
  s.f0.assign(k + 1, 0.0);
  s.f1.assign(k + 1, 1.0);
  const std::vector<double> g0 = p0_tied(P);
  const std::vector<double> g1 = p1_tied(P);
  for (std::size_t j = 1; j <= k; ++j) {
    s.f0[j] = g0[j];      // j calibration scores <= s: tied to t_j
    s.f1[j - 1] = g1[j];  // j - 1 calibration scores < s: tied to t_j
  }
  state_ = std::move(s);
  fitted_ = true;
  return *this;
}

void VennAbersCalibrator::predict(VectorView<const double> scores, VectorView<double> p,
                                  VectorView<double> p0, VectorView<double> p1) const {
  const std::string where = "VennAbersCalibrator::predict";
  require_fitted(where.c_str());
  detail::validate_scores(scores, where);
  detail::validate_out(scores, p, where);
  if (!p0.empty()) detail::validate_out(scores, p0, where);
  if (!p1.empty()) detail::validate_out(scores, p1, where);
  for (Index i = 0; i < scores.size(); ++i) {
    const VennAbersPrediction r = eval(scores[i]);
    p[i] = r.p;
    if (!p0.empty()) p0[i] = r.p0;
    if (!p1.empty()) p1[i] = r.p1;
  }
}

VennAbersCalibrator VennAbersCalibrator::from_state(VennAbersState s, VennAbersParams p) {
  const std::string where = "VennAbersCalibrator::from_state";
  const std::size_t k = s.x.size();
  if (k == 0) throw InvalidInput(where + ": state.x is empty.");
  if (s.f0.size() != k + 1 || s.f1.size() != k + 1) {
    throw InvalidInput(where + ": state.f0 and state.f1 must have " + std::to_string(k + 1) +
                       " values (one more than state.x), got " + std::to_string(s.f0.size()) +
                       " and " + std::to_string(s.f1.size()) + ".");
  }
  for (std::size_t i = 0; i < k; ++i) {
    if (!std::isfinite(s.x[i]) || (i > 0 && !(s.x[i] > s.x[i - 1]))) {
      throw InvalidInput(where + ": state.x[" + std::to_string(i) +
                         "] is not finite or not above the previous score.");
    }
  }
  for (std::size_t i = 0; i <= k; ++i) {
    if (!(s.f0[i] >= 0.0 && s.f0[i] <= 1.0)) {
      throw InvalidInput(where + ": state.f0[" + std::to_string(i) + "] is not in [0, 1].");
    }
    if (!(s.f1[i] >= 0.0 && s.f1[i] <= 1.0)) {
      throw InvalidInput(where + ": state.f1[" + std::to_string(i) + "] is not in [0, 1].");
    }
  }
  if (s.f0[0] != 0.0) throw InvalidInput(where + ": state.f0[0] must be 0.");
  if (s.f1[k] != 1.0)
    throw InvalidInput(where + ": state.f1[" + std::to_string(k) + "] must be 1.");
  VennAbersCalibrator c(p);
  c.state_ = std::move(s);
  c.fitted_ = true;
  return c;
}

std::vector<double> VennAbersCalibrator::p1_tied(const std::vector<Pt>& P) {
  const std::size_t k = P.size() - 1;
  std::vector<double> g(k + 1, 1.0);
  std::vector<Pt> S = lower_hull(k + 2, [&](std::size_t i) {
    return i == 0 ? Pt{P[0].x - 1.0L, P[0].y - 1.0L} : P[i - 1];
  });
  std::reverse(S.begin(), S.end());
  for (std::size_t i = 1; i <= k; ++i) {
    g[i] = edge_slope(S.back(), S[S.size() - 2]);
    if (i == k) break;
    const Pt q{P[i].x - 1.0L, P[i].y - 1.0L};
    if (cross(S.back(), S[S.size() - 2], q) >= 0.0L) continue;  // q on or above the hull
    S.pop_back();  // q is a new hull vertex: everything left of it is never needed again
    while (S.size() >= 2 && cross(q, S.back(), S[S.size() - 2]) <= 0.0L) S.pop_back();
    S.push_back(q);
  }
  return g;
}

std::vector<double> VennAbersCalibrator::p0_tied(const std::vector<Pt>& P) {
  const std::size_t k = P.size() - 1;
  std::vector<double> g(k + 1, 0.0);
  std::vector<Pt> S = lower_hull(k + 2, [&](std::size_t i) {
    return i <= k ? P[i] : Pt{P[k].x + 1.0L, P[k].y};
  });
  for (std::size_t i = k; i >= 1; --i) {
    g[i] = edge_slope(S[S.size() - 2], S.back());
    if (i == 1) break;
    const Pt q{P[i - 1].x + 1.0L, P[i - 1].y};
    if (cross(S[S.size() - 2], S.back(), q) >= 0.0L) continue;  // q on or above the hull
    S.pop_back();
    while (S.size() >= 2 && cross(q, S.back(), S[S.size() - 2]) >= 0.0L) S.pop_back();
    S.push_back(q);
  }
  return g;
}

}  // namespace calibrisk
