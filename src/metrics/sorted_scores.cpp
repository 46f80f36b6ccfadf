// SPDX-License-Identifier: Apache-2.0
// SortedScores construction: validation and the one radix sort every metric shares (declared in
// metrics/sorted_scores.hpp).
#include <calibrisk/metrics/sorted_scores.hpp>

#include "core/radix_sort.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::metrics {

SortedScores::SortedScores(VectorView<const double> y, VectorView<const double> scores,
                           VectorView<const double> sample_weight, const std::string& where) {
  detail::check_same_length(y.size(), scores.size(), where, "the scores");
  detail::check_labels(y, where);
  detail::check_scores(scores, where, "scores");
  detail::check_weights(sample_weight, y.size(), where);
  build(y, scores, sample_weight);
}

void SortedScores::build(VectorView<const double> y, VectorView<const double> s,
                         VectorView<const double> w) {
  const Index n = y.size();
  if (n > static_cast<Index>(kMaxRows)) {
    throw InvalidInput("SortedScores: " + std::to_string(n) + " rows exceed the supported " +
                       std::to_string(kMaxRows) + "; split the data.");
  }
  score_.resize(n);
  label_.resize(n);
  order_.resize(n);
  if (!w.empty()) weight_.resize(n);
  // The row index takes 31 bits and the label rides in the top bit, so the labels come out of
  // the sort in sorted order without a random-access gather over y.
  double w0 = 0.0, w1 = 0.0;
  Index n1 = 0;
  {
    using calibrisk::detail::KeyRow;
    std::vector<KeyRow> a(n);
    for (Index i = 0; i < n; ++i) {
      a[i].key = calibrisk::detail::descending_key(s[i] + 0.0);  // + 0.0 turns -0.0 into +0.0
      a[i].row = static_cast<std::uint32_t>(i) | (y[i] == 1.0 ? kLabelBit : 0u);
    }
    calibrisk::detail::radix_sort<64>(a, [](const KeyRow& r) { return r.key; });
    for (Index k = 0; k < n; ++k) {
      const std::uint32_t r = a[k].row;
      const bool pos = (r & kLabelBit) != 0;
      order_[k] = r & ~kLabelBit;
      score_[k] = calibrisk::detail::from_descending_key(a[k].key);
      label_[k] = pos ? 1 : 0;
      n1 += pos;
    }
  }
  if (w.empty()) {
    w1 = static_cast<double>(n1);
    w0 = static_cast<double>(n - n1);
  } else {
    for (Index k = 0; k < n; ++k) {
      const double wk = w[order_[k]];
      weight_[k] = wk;
      (label_[k] ? w1 : w0) += wk;
    }
  }
  w0_ = w0;
  w1_ = w1;
  n1_ = n1;
}

}  // namespace calibrisk::metrics
