// SPDX-License-Identifier: Apache-2.0
// Smoothed calibration (declared in metrics/smooth_calibration.hpp): statsmodels' lowess (it=0,
// delta=0) on points that are tie blocks (exact) or equal-count bins (large data), the summary
// numbers ICI / E50 / E90 / Emax, the bootstrap band and Van Calster's hierarchy.
#include <calibrisk/metrics/smooth_calibration.hpp>

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The points the lowess runs on, in increasing prediction: point b holds the rows at ascending
/// positions [start[b], start[b + 1]) (ascending position a is sorted index n - 1 - a) and sits at
/// x[b] (their common value for tie blocks, their mean for bins). `nodes` are the predictions
/// where the curve is evaluated before rows are interpolated (exact mode: x itself).
struct Layout {
  std::vector<double> x;
  std::vector<Index> start;
  std::vector<double> nodes;
  bool binned = false;
  Index n = 0;
  const double* desc = nullptr;  ///< the sorted scores (decreasing), for the window's end rows
  double row(Index a) const { return desc[n - 1 - a]; }  ///< score at ascending position a
};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

Layout make_layout(const SortedScores& s, int max_points, double frac) {
  Layout L;
  const Index n = s.size();
  L.n = n;
  const double* sc = s.score().data();
  L.desc = sc;
  auto asc = [&](Index a) { return sc[n - 1 - a]; };
  L.start.push_back(0);
  for (Index a = 1; a < n; ++a) {
    if (asc(a) != asc(a - 1)) L.start.push_back(a);
  }
  L.start.push_back(n);
  const Index distinct = static_cast<Index>(L.start.size()) - 1;
  if (max_points == 0 || distinct <= max_points) {
    // d points times a window of about frac * n rows: refuse what would run for minutes.
    const double cost = static_cast<double>(distinct) * frac * static_cast<double>(n);
    if (cost > 2e10) {
      throw InvalidParams("smoothed calibration: an exact lowess on " + std::to_string(distinct) +
                          " distinct predictions needs about " + fmt(cost) +
                          " kernel evaluations; set max_points to at most 100000 (1000 is the "
                          "default) to fit on bins.");
    }
    for (Index b = 0; b < distinct; ++b) L.x.push_back(asc(L.start[b]));
    L.nodes = L.x;
    return L;
  }
  L.binned = true;
  // A bin closes after ceil(n / max_points) rows or once it spans (max p - min p) / max_points,
  // so it is narrow where the data are sparse too: at most 2 max_points + 1 bins.
  const Index per_bin = (n + max_points - 1) / max_points;
  const double width = (asc(n - 1) - asc(0)) / max_points;
  L.start.assign(1, 0);
  for (Index a = 1; a < n; ++a) {
    const Index b0 = L.start.back();
    if (a - b0 >= per_bin || asc(a) - asc(b0) > width) L.start.push_back(a);
  }
  L.start.push_back(n);
  const Index M = static_cast<Index>(L.start.size()) - 1;
  L.nodes.push_back(asc(0));
  for (Index j = 0; j < M; ++j) {
    double sum = 0.0;
    for (Index a = L.start[j]; a < L.start[j + 1]; ++a) sum += asc(a);
    const double mean =
        std::min(std::max(sum / static_cast<double>(L.start[j + 1] - L.start[j]), asc(L.start[j])),
                 asc(L.start[j + 1] - 1));
    L.x.push_back(mean);
    if (mean > L.nodes.back()) L.nodes.push_back(mean);
  }
  if (asc(n - 1) > L.nodes.back()) L.nodes.push_back(asc(n - 1));
  return L;
}

/// Per-point sums of weight and weight x y under the sample weights times the multiplicities.
struct PointSums {
  std::vector<double> sw, swy;
  std::vector<double> rw;           ///< binned mode: each row's weight, by ascending position
  const std::uint8_t* y = nullptr;  ///< labels in decreasing-score order
};

PointSums point_sums(const SortedScores& s, const Layout& L, const double* mult) {
  PointSums ps;
  const std::size_t B = L.x.size();
  ps.sw.assign(B, 0.0);
  ps.swy.assign(B, 0.0);
  const Index n = s.size();
  const std::uint8_t* y = s.label().data();
  s.visit_weights(mult, [&](auto w) {
    for (std::size_t b = 0; b < B; ++b) {
      double a0 = 0.0, a1 = 0.0;
      for (Index a = L.start[b]; a < L.start[b + 1]; ++a) {
        const Index i = n - 1 - a;
        const double wi = w(i);
        a0 += wi;
        a1 += y[i] ? wi : 0.0;
      }
      ps.sw[b] = a0;
      ps.swy[b] = a1;
    }
    if (L.binned) {
      ps.rw.resize(static_cast<std::size_t>(n));
      for (Index a = 0; a < n; ++a) ps.rw[a] = w(n - 1 - a);
    }
    return 0;
  });
  ps.y = y;
  return ps;
}

inline double cube(double v) noexcept { return v * v * v; }

/// statsmodels' lowess evaluated at increasing x0: the window of k rows slides right exactly as
/// `update_neighborhood` slides it (a jump covers rows whose point does not change).
class Smoother {
 public:
  Smoother(const Layout& L, const PointSums& ps, double frac) : L_(L), ps_(ps) {
    const Index n = L.n;
    k_ = static_cast<Index>(frac * static_cast<double>(n) + 1e-10);
    k_ = std::min(std::max<Index>(k_, 2), n);
    right_ = k_;
    br_ = block_of(right_, 0);
  }

  double at(double x0) {
    slide(x0);
    const Index be = right_ == L_.n ? static_cast<Index>(L_.x.size()) - 1
                                    : (L_.start[br_] <= right_ - 1 ? br_ : br_ - 1);
    // the window's end rows themselves (not their bin's mean): the exact statsmodels radius
    const double radius = std::max(x0 - L_.row(left_), L_.row(right_ - 1) - x0);
    x_.clear();
    w_.clear();
    wy_.clear();
    double total = 0.0, total_y = 0.0, nonzero = 0.0;
    const double inv_r = radius > 0.0 ? 1.0 / radius : 0.0;
    auto tricube = [&](double x) {
      return radius > 0.0 ? cube(1.0 - cube(std::fabs(x - x0) * inv_r)) : 1.0;
    };
    auto add = [&](double x, double wb, double wyb, Index rows) {
      if (wb > 1e-12 * static_cast<double>(rows)) nonzero += static_cast<double>(rows);
      x_.push_back(x);
      w_.push_back(wb);
      wy_.push_back(wyb);
      total += wb;
      total_y += wyb;
    };
    for (Index b = bl_; b <= be; ++b) {
      const Index lo = L_.start[b], hi = L_.start[b + 1];
      const Index m = std::min(hi, right_) - std::max(lo, left_);
      if (L_.binned && (b == bl_ || b == be)) {
        // the bins at the window's ends, row by row (their rows sit where the kernel is steep)
        for (Index a = std::max(lo, left_); a < std::min(hi, right_); ++a) {
          const double t = tricube(L_.row(a)), wa = t * ps_.rw[a];
          add(L_.row(a), wa, ps_.y[L_.n - 1 - a] ? wa : 0.0, 1);
        }
        continue;
      }
      // rows of a tie block cut by the window edge count by their share (exact)
      const double share =
          m == hi - lo ? 1.0 : static_cast<double>(m) / static_cast<double>(hi - lo);
      const double t = tricube(L_.x[b]);
      add(L_.x[b], t * ps_.sw[b] * share, t * ps_.swy[b] * share, m);
    }
    if (!(total > 0.0)) return kNaN;
    if (nonzero < 2.0 || radius == 0.0) return total_y / total;  // no slope: the weighted mean
    const double inv_t = 1.0 / total;
    const std::size_t B = w_.size();
    double xbar = 0.0;
    for (std::size_t j = 0; j < B; ++j) xbar += (w_[j] * inv_t) * x_[j];
    double var = 0.0, sxy = 0.0, my = 0.0;
    for (std::size_t j = 0; j < B; ++j) {
      const double d = x_[j] - xbar, wn = w_[j] * inv_t, wyn = wy_[j] * inv_t;
      var += wn * d * d;
      sxy += wyn * d;
      my += wyn;
    }
    var = std::max(var, 1e-12);
    return my + (x0 - xbar) * sxy / var;
  }

 private:
  Index block_of(Index pos, Index from) const {
    Index b = from;
    const Index last = static_cast<Index>(L_.x.size()) - 1;
    while (b < last && L_.start[b + 1] <= pos) ++b;
    return b;
  }
  void slide(double x0) {
    // The window moves as statsmodels moves it, row by row; within tie blocks (exact mode) the
    // end rows do not change, so it jumps to the next block boundary.
    while (right_ < L_.n && x0 > (L_.row(left_) + L_.row(right_)) / 2.0) {
      const Index step =
          L_.binned ? 1 : std::min(L_.start[bl_ + 1] - left_, L_.start[br_ + 1] - right_);
      left_ += step;
      right_ += step;
      bl_ = block_of(left_, bl_);
      br_ = block_of(right_, br_);
    }
  }

  const Layout& L_;
  const PointSums& ps_;
  Index k_ = 2, left_ = 0, right_ = 2, bl_ = 0, br_ = 0;
  std::vector<double> x_, w_, wy_;
};

/// The curve at ascending `xs`.
std::vector<double> fit_ascending(const Layout& L, const PointSums& ps, double frac,
                                  const std::vector<double>& xs) {
  Smoother sm(L, ps, frac);
  std::vector<double> f(xs.size());
  for (std::size_t j = 0; j < xs.size(); ++j) f[j] = sm.at(xs[j]);
  return f;
}

/// The curve at every sorted position of s (aligned with s.score(), i.e. decreasing p).
std::vector<double> fit_rows(const SortedScores& s, const Layout& L, const PointSums& ps,
                             double frac) {
  const std::vector<double> f = fit_ascending(L, ps, frac, L.nodes);
  const Index n = s.size();
  const double* sc = s.score().data();
  std::vector<double> out(n);
  std::size_t j = 0;
  for (Index a = 0; a < n; ++a) {
    const double v = sc[n - 1 - a];
    while (j + 1 < L.nodes.size() && L.nodes[j + 1] <= v) ++j;
    double r;
    if (v == L.nodes[j] || j + 1 == L.nodes.size()) {
      r = f[j];
    } else {
      const double t = (v - L.nodes[j]) / (L.nodes[j + 1] - L.nodes[j]);
      r = t * f[j + 1] + (1.0 - t) * f[j];
    }
    out[n - 1 - a] = r;
  }
  return out;
}

/// The value at 0-based position t of the weight-expanded sorted values: the v with
/// W(< v) <= t < W(<= v) (the largest value when t >= the total). Weighted quickselect, expected
/// O(n); reorders `vw`. The answer depends only on the multiset, so it is deterministic.
double weighted_select(std::vector<std::pair<double, double>>& vw, double t) {
  auto lo = vw.begin(), hi = vw.end();
  double last = -std::numeric_limits<double>::infinity();
  while (lo != hi) {
    const double pv = (lo + (hi - lo) / 2)->first;
    const auto m1 = std::partition(lo, hi, [pv](const auto& e) { return e.first < pv; });
    const auto m2 = std::partition(m1, hi, [pv](const auto& e) { return e.first == pv; });
    double wl = 0.0, we = 0.0;
    for (auto it = lo; it != m1; ++it) wl += it->second;
    for (auto it = m1; it != m2; ++it) we += it->second;
    if (t < wl) {
      hi = m1;
    } else if (t < wl + we) {
      return pv;
    } else {
      t -= wl + we;
      last = pv;
      lo = m2;
    }
  }
  return last;  // t beyond the total weight: the largest value
}

/// numpy.percentile(100 q) of the weight-expanded values (exact for integer weights); weights
/// > 0, `total` their sum. Reorders `vw`.
double weighted_quantile(std::vector<std::pair<double, double>>& vw, double total, double q) {
  const double h = std::max(0.0, q * (total - 1.0));
  const double lo = std::floor(h);
  const double a = weighted_select(vw, lo), b = weighted_select(vw, lo + 1.0);
  return detail::numpy_lerp(a, b, h - lo);
}

/// {ici, e50, e90, emax, mean_y, mean_p} from the per-row curve under the weights.
std::vector<double> summary_numbers(const SortedScores& s, const std::vector<double>& f,
                                    const double* mult) {
  const Index n = s.size();
  const double* sc = s.score().data();
  const std::uint8_t* y = s.label().data();
  std::vector<std::pair<double, double>> vw;
  vw.reserve(static_cast<std::size_t>(n));
  double sw = 0.0, se = 0.0, sy = 0.0, sp = 0.0, emax = 0.0;
  bool undefined = false;
  s.visit_weights(mult, [&](auto w) {
    for (Index i = 0; i < n; ++i) {
      const double wi = w(i);
      if (!(wi > 0.0)) continue;
      if (!std::isfinite(f[i])) undefined = true;
      const double e = std::fabs(f[i] - sc[i]);
      vw.emplace_back(e, wi);
      sw += wi;
      se += wi * e;
      sy += y[i] ? wi : 0.0;
      sp += wi * sc[i];
      emax = std::max(emax, e);
    }
    return 0;
  });
  if (!(sw > 0.0)) return std::vector<double>(6, kNaN);
  std::vector<double> out{kNaN, kNaN, kNaN, kNaN, sy / sw, sp / sw};
  if (undefined) return out;
  out[0] = se / sw;
  out[1] = weighted_quantile(vw, sw, 0.5);
  out[2] = weighted_quantile(vw, sw, 0.9);
  out[3] = emax;
  return out;
}

std::vector<double> make_grid(const SortedScores& s, int points) {
  const double lo = s.score().back(), hi = s.score().front();
  std::vector<double> g(static_cast<std::size_t>(points));
  for (int j = 0; j < points; ++j) g[j] = lo + (hi - lo) * (static_cast<double>(j) / (points - 1));
  g.back() = hi;
  return g;
}

void check_inputs(const SortedScores& s, const SmoothCalibrationParams& prm, const char* where) {
  prm.validate();
  s.require_probabilities(where);
}

/// Everything one replicate needs: {ici, e50, e90, emax, citl, curve on the grid...}.
std::vector<double> replicate_values(const SortedScores& s, const Layout& L,
                                     const SmoothCalibrationParams& prm,
                                     const std::vector<double>& grid, const double* mult) {
  const PointSums ps = point_sums(s, L, mult);
  const std::vector<double> f = fit_rows(s, L, ps, prm.frac);
  const std::vector<double> sn = summary_numbers(s, f, mult);
  std::vector<double> out{sn[0], sn[1], sn[2], sn[3], sn[4] - sn[5]};
  const std::vector<double> c = fit_ascending(L, ps, prm.frac, grid);
  out.insert(out.end(), c.begin(), c.end());
  return out;
}

/// Simultaneous (sup-t) band: f +- c se, with se the bootstrap standard error at each grid point
/// and c the `confidence` quantile over replicates of max_j |f*_j - f_j| / se_j (Montiel Olea &
/// Plagborg-Moller 2019). NaN where a point or its se is undefined.
void simultaneous_band(const std::vector<double>& f, const std::vector<BootstrapResult>& curve,
                       double confidence, std::vector<double>& lower, std::vector<double>& upper) {
  const std::size_t G = f.size();
  lower.assign(G, kNaN);
  upper.assign(G, kNaN);
  if (curve.size() != G || G == 0) return;
  const std::size_t R = curve[0].replicates.size();
  std::vector<double> worst;
  for (std::size_t b = 0; b < R; ++b) {
    double m = 0.0;
    bool ok = true;
    for (std::size_t j = 0; j < G && ok; ++j) {
      const double se = curve[j].std_error, v = curve[j].replicates[b];
      if (!(se > 0.0)) continue;  // no spread at this point: it cannot widen the band
      ok = std::isfinite(v) && std::isfinite(f[j]);
      m = std::max(m, std::fabs(v - f[j]) / se);
    }
    if (ok) worst.push_back(m);
  }
  if (worst.empty()) return;
  std::sort(worst.begin(), worst.end());
  const double h = confidence * static_cast<double>(worst.size() - 1);
  const std::size_t i = static_cast<std::size_t>(std::floor(h));
  const double c =
      detail::numpy_lerp(worst[i], worst[std::min(i + 1, worst.size() - 1)], h - std::floor(h));
  for (std::size_t j = 0; j < G; ++j) {
    const double se = std::isfinite(curve[j].std_error) ? curve[j].std_error : kNaN;
    lower[j] = f[j] - c * se;
    upper[j] = f[j] + c * se;
  }
}

}  // namespace

std::vector<double> smoothed_observed(const SortedScores& s, const SmoothCalibrationParams& prm,
                                      const double* replicate_weight) {
  check_inputs(s, prm, "smoothed_observed");
  const Layout L = make_layout(s, prm.max_points, prm.frac);
  return fit_rows(s, L, point_sums(s, L, replicate_weight), prm.frac);
}

std::vector<double> smoothed_observed(VectorView<const double> y, VectorView<const double> p,
                                      VectorView<const double> sample_weight,
                                      const SmoothCalibrationParams& prm) {
  const SortedScores s(y, p, sample_weight, "smoothed_observed");
  const std::vector<double> f = smoothed_observed(s, prm);
  std::vector<double> out(f.size());
  for (std::size_t k = 0; k < f.size(); ++k) out[s.order()[k]] = f[k];
  return out;
}

std::vector<double> smoothed_curve_at(const SortedScores& s, const std::vector<double>& grid,
                                      const SmoothCalibrationParams& prm,
                                      const double* replicate_weight) {
  check_inputs(s, prm, "smoothed_curve_at");
  for (std::size_t j = 0; j < grid.size(); ++j) {
    if (!std::isfinite(grid[j])) {
      throw InvalidInput("smoothed_curve_at: grid[" + std::to_string(j) + "] is " +
                         calibrisk::detail::fmt_value(grid[j]) + "; pass finite grid points.");
    }
  }
  std::vector<std::size_t> idx(grid.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return grid[a] < grid[b]; });
  std::vector<double> xs(grid.size());
  for (std::size_t j = 0; j < idx.size(); ++j) xs[j] = grid[idx[j]];
  const Layout L = make_layout(s, prm.max_points, prm.frac);
  const std::vector<double> f = fit_ascending(L, point_sums(s, L, replicate_weight), prm.frac, xs);
  std::vector<double> out(grid.size());
  for (std::size_t j = 0; j < idx.size(); ++j) out[idx[j]] = f[j];
  return out;
}

SmoothCalibration smoothed_calibration(const SortedScores& s, const SmoothCalibrationParams& prm) {
  check_inputs(s, prm, "smoothed_calibration");
  const Layout L = make_layout(s, prm.max_points, prm.frac);
  SmoothCalibration r;
  r.curve.grid = make_grid(s, prm.grid_points);
  const PointSums ps = point_sums(s, L, nullptr);
  const std::vector<double> sn = summary_numbers(s, fit_rows(s, L, ps, prm.frac), nullptr);
  r.ici = sn[0];
  r.e50 = sn[1];
  r.e90 = sn[2];
  r.emax = sn[3];
  r.mean_observed = sn[4];
  r.mean_predicted = sn[5];
  r.calibration_in_the_large = sn[4] - sn[5];
  r.curve.observed = fit_ascending(L, ps, prm.frac, r.curve.grid);
  r.n = s.size();
  r.n_events = s.n_positive();
  r.n_nonevents = s.n_negative();
  r.binned = L.binned;
  r.n_fit_points = static_cast<Index>(L.x.size());
  if (s.positive_weight() > 0.0 && s.negative_weight() > 0.0) {
    r.fit = calibration_intercept_slope(s);
  } else {
    r.fit.intercept = r.fit.intercept_se = r.fit.slope = r.fit.slope_se = kNaN;
    r.fit.slope_intercept = kNaN;
    r.fit.converged = r.fit.intercept_converged = r.fit.slope_converged = false;
  }
  const Index fewest = std::min(r.n_events, r.n_nonevents);
  if (fewest < prm.min_events) {
    const bool ev = r.n_events <= r.n_nonevents;
    r.warnings.push_back("smoothed calibration: only " + std::to_string(fewest) +
                         (ev ? " events" : " non-events") + " (at least " +
                         std::to_string(prm.min_events) +
                         " of each are needed for a stable curve); treat the curve, ICI and "
                         "E-statistics as rough, and the hierarchy verdict is 'insufficient "
                         "data'.");
  }
  return r;
}

SmoothCalibration smoothed_calibration(VectorView<const double> y, VectorView<const double> p,
                                       VectorView<const double> sample_weight,
                                       const SmoothCalibrationParams& prm) {
  return smoothed_calibration(SortedScores(y, p, sample_weight, "smoothed_calibration"), prm);
}

CalibrationHierarchy calibration_hierarchy(const SmoothCalibration& pt,
                                           const std::vector<double>& band_lower,
                                           const std::vector<double>& band_upper, double confidence,
                                           int min_events) {
  CalibrationHierarchy h;
  if (std::min(pt.n_events, pt.n_nonevents) < min_events) {
    h.verdict = "insufficient data";
    const std::string why = std::to_string(pt.n_events) + " events and " +
                            std::to_string(pt.n_nonevents) + " non-events (at least " +
                            std::to_string(min_events) + " of each are needed)";
    h.mean.evidence = h.weak.evidence = h.moderate.evidence = why;
    return h;
  }
  const boost::math::normal_distribution<double> nd;
  const double z = boost::math::quantile(nd, 0.5 + confidence / 2.0);
  const std::string lvl = fmt(100.0 * confidence) + "% CI ";
  const CalibrationFit& f = pt.fit;
  const double a_lo = f.intercept - z * f.intercept_se, a_hi = f.intercept + z * f.intercept_se;
  h.mean.assessed = std::isfinite(a_lo) && std::isfinite(a_hi);
  h.mean.met = h.mean.assessed && a_lo <= 0.0 && 0.0 <= a_hi;
  h.mean.evidence = "calibration intercept " + fmt(f.intercept) + " (" + lvl + fmt(a_lo) + " to " +
                    fmt(a_hi) + (h.mean.met ? ") contains 0" : ") excludes 0") + "; observed " +
                    fmt(pt.mean_observed) + " vs predicted " + fmt(pt.mean_predicted);
  const double b_lo = f.slope - z * f.slope_se, b_hi = f.slope + z * f.slope_se;
  h.weak.assessed = f.slope_identifiable && f.slope_converged && std::isfinite(b_lo);
  h.weak.met = h.weak.assessed && b_lo <= 1.0 && 1.0 <= b_hi;
  h.weak.evidence = "calibration slope " + fmt(f.slope) + " (" + lvl + fmt(b_lo) + " to " +
                    fmt(b_hi) + (h.weak.met ? ") contains 1" : ") excludes 1");
  const std::size_t G = pt.curve.grid.size();
  h.moderate.assessed = band_lower.size() == G && band_upper.size() == G && G > 0;
  if (h.moderate.assessed) {
    std::size_t outside = 0;
    for (std::size_t j = 0; j < G; ++j) {
      const double g = pt.curve.grid[j];
      if (!(band_lower[j] <= g && g <= band_upper[j])) ++outside;
    }
    h.moderate.met = outside == 0;
    h.moderate.evidence =
        "the " + fmt(100.0 * confidence) + "% bootstrap band of the smoothed curve " +
        (outside == 0
             ? "contains the diagonal at all " + std::to_string(G)
             : "misses the diagonal at " + std::to_string(outside) + " of " + std::to_string(G)) +
        " grid points; ICI " + fmt(pt.ici) + ", Emax " + fmt(pt.emax);
  } else {
    h.moderate.evidence = "not assessed: needs the bootstrap band of the smoothed curve";
  }
  h.verdict = !h.mean.met ? "none" : !h.weak.met ? "mean" : !h.moderate.met ? "weak" : "moderate";
  return h;
}

SmoothCalibrationResult smoothed_calibration_bootstrap(const SortedScores& s,
                                                       const SmoothCalibrationParams& prm,
                                                       const BootstrapParams& boot,
                                                       VectorView<const std::int64_t> groups) {
  SmoothCalibrationResult r;
  r.point = smoothed_calibration(s, prm);
  r.confidence = boot.confidence;
  const Layout L = make_layout(s, prm.max_points, prm.frac);
  const std::vector<double>& grid = r.point.curve.grid;
  std::vector<std::string> names{"ici", "e50", "e90", "emax", "calibration_in_the_large"};
  for (std::size_t j = 0; j < grid.size(); ++j) names.push_back("curve_" + std::to_string(j));
  std::vector<BootstrapResult> all = bootstrap_vector(
      s, names,
      [&](const SortedScores& ss, const double* mult) {
        return replicate_values(ss, L, prm, grid, mult);
      },
      boot, groups);
  for (std::size_t j = 0; j < grid.size(); ++j) {
    r.band_lower.push_back(all[5 + j].lower);
    r.band_upper.push_back(all[5 + j].upper);
  }
  simultaneous_band(r.point.curve.observed,
                    std::vector<BootstrapResult>(all.begin() + 5, all.end()), boot.confidence,
                    r.simultaneous_lower, r.simultaneous_upper);
  all.resize(5);
  r.intervals = std::move(all);
  r.hierarchy = calibration_hierarchy(r.point, r.simultaneous_lower, r.simultaneous_upper,
                                      boot.confidence, prm.min_events);
  return r;
}

}  // namespace calibrisk::metrics
