// SPDX-License-Identifier: Apache-2.0
/// @file common.hpp
/// Input validation, the (score, index) argsort and the tie pooling shared by the calibrators.
#pragma once

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/math.hpp>
#include <calibrisk/core/matrix.hpp>
#include "core/radix_sort.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk {
namespace detail {

/// Validates the three inputs of every calibrator's `fit`: `scores` finite, `y` in {0, 1} with
/// both classes, `sample_weight` empty or finite and >= 0, lengths equal, positive total weight per
/// class. Throws InvalidInput naming `where`, the offending index and the fix.
inline ClassCounts validate_calibration_fit(VectorView<const double> scores,
                                            VectorView<const double> y,
                                            VectorView<const double> sample_weight,
                                            const std::string& where) {
  if (scores.size() == 0) {
    throw InvalidInput(where + ": scores is empty; pass at least one score per class.");
  }
  if (y.size() != scores.size()) {
    throw InvalidInput(where + ": scores has " + std::to_string(scores.size()) +
                       " values but y has " + std::to_string(y.size()) +
                       "; pass one label per score.");
  }
  if (!sample_weight.empty() && sample_weight.size() != scores.size()) {
    throw InvalidInput(where + ": scores has " + std::to_string(scores.size()) +
                       " values but sample_weight has " + std::to_string(sample_weight.size()) +
                       "; pass one weight per score (or none).");
  }
  for (Index i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw InvalidInput(where + ": scores[" + std::to_string(i) + "] is " + fmt_value(scores[i]) +
                         "; scores must be finite (impute or drop rows whose model output is "
                         "NaN or infinite).");
    }
  }
  const ClassCounts c = validate_labels(y, scores.size(), where);
  validate_sample_weight(sample_weight, scores.size(), where);
  if (!sample_weight.empty()) {
    double w0 = 0.0, w1 = 0.0;
    for (Index i = 0; i < y.size(); ++i) (y[i] == 1.0 ? w1 : w0) += sample_weight[i];
    if (!(w0 > 0.0) || !(w1 > 0.0)) {
      throw InvalidInput(where + ": every row of class " + (w1 > 0.0 ? "0" : "1") +
                         " has zero sample weight; both classes need positive total weight.");
    }
  }
  return c;
}

/// Throws InvalidInput when a score passed to `predict` is NaN or infinite.
inline void validate_scores(VectorView<const double> scores, const std::string& where) {
  for (Index i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw InvalidInput(where + ": scores[" + std::to_string(i) + "] is " + fmt_value(scores[i]) +
                         "; scores must be finite.");
    }
  }
}

/// Throws InvalidInput when `out` does not have one slot per score.
inline void validate_out(VectorView<const double> scores, VectorView<double> out,
                         const std::string& where) {
  if (out.size() != scores.size()) {
    throw InvalidInput(where + ": out has " + std::to_string(out.size()) + " slots but there are " +
                       std::to_string(scores.size()) + " scores; pass one slot per score.");
  }
}

/// Returns the indices of `scores` (finite) in ascending score order; equal scores keep their
/// input order (stable). O(n) for n >= 4096 (radix), O(n log n) below.
inline std::vector<std::uint32_t> argsort_scores(VectorView<const double> scores) {
  const Index n = scores.size();
  CALIBRISK_ASSERT(n < static_cast<Index>(std::numeric_limits<std::uint32_t>::max()));
  std::vector<KeyRow> a(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    a[static_cast<std::size_t>(i)] =
        KeyRow{ascending_key(scores[i]), static_cast<std::uint32_t>(i)};
  }
  radix_sort<64>(a, [](const KeyRow& r) { return r.key; });
  std::vector<std::uint32_t> order(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) order[i] = a[i].row;
  return order;
}

/// Scores pooled by value: `x` ascending, `y` the weighted mean label of each pooled group and `w`
/// its summed weight.
struct PooledScores {
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> w;
};

/// Sorts (scores, y, w), drops zero-weight rows and pools ties exactly as scikit-learn's
/// `IsotonicRegression._build_y` / `_make_unique`: a score joins the current group when it exceeds
/// the group's first score by less than 1e-15 (numpy's `finfo(float64).resolution`, an absolute
/// difference), the group keeps its first score, the label is the weighted
/// mean and the weights are summed. Within a group rows are summed in input order (scikit-learn's
/// `lexsort((y, X))` sums in ascending-label order: the difference is rounding only). Inputs are
/// validated beforehand.
inline PooledScores pool_sorted_scores(VectorView<const double> scores, VectorView<const double> y,
                                       VectorView<const double> sample_weight) {
  const Index n = scores.size();
  // The label rides in the top bit of `row`, so unweighted pooling reads the sorted items
  // only (the score is decoded from its key): no random gathers over the inputs.
  CALIBRISK_ASSERT(n < (Index{1} << 31));
  std::vector<KeyRow> items;
  items.reserve(static_cast<std::size_t>(n));
  const bool weighted = !sample_weight.empty();
  for (Index i = 0; i < n; ++i) {
    if (weighted && !(sample_weight[i] > 0.0)) continue;  // scikit-learn drops zero weights
    items.push_back(KeyRow{ascending_key(scores[i]),
                           static_cast<std::uint32_t>(i) | (y[i] == 1.0 ? 0x80000000u : 0u)});
  }
  radix_sort<64>(items, [](const KeyRow& r) { return r.key; });
  constexpr double kResolution = 1e-15;
  PooledScores out;
  bool open = false;
  double cur_x = 0.0, sum_w = 0.0, sum_wy = 0.0;
  auto flush = [&] {
    out.x.push_back(cur_x);
    out.w.push_back(sum_w);
    out.y.push_back(sum_wy / sum_w);
  };
  std::uint64_t last_key = 0;
  for (const KeyRow& it : items) {
    const bool positive = (it.row & 0x80000000u) != 0;
    const double w = weighted ? sample_weight[it.row & 0x7fffffffu] : 1.0;
    if (!open || it.key != last_key) {
      const double s = from_ascending_key<double>(it.key);
      if (!open || !(s - cur_x < kResolution)) {
        if (open) flush();
        open = true;
        cur_x = s;
        sum_w = 0.0;
        sum_wy = 0.0;
      }
      last_key = it.key;
    }
    sum_w += w;
    if (positive) sum_wy += w;
  }
  if (open) flush();
  return out;
}

/// Throws InvalidInput when a score passed to a probability calibrator is outside [0, 1].
inline void validate_probabilities(VectorView<const double> p, const std::string& where) {
  for (Index i = 0; i < p.size(); ++i) {
    if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
      throw InvalidInput(where + ": scores[" + std::to_string(i) + "] is " + fmt_value(p[i]) +
                         " but the calibrator expects probabilities in [0, 1]; pass "
                         "predict_proba output or set input = ScoreKind::kMargin.");
    }
  }
}

// The shared stable helpers (core/math.hpp), under the names the calibrators use.
using calibrisk::sigmoid;
using calibrisk::softplus;

}  // namespace detail
}  // namespace calibrisk
