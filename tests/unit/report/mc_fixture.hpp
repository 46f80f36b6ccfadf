// SPDX-License-Identifier: Apache-2.0
// A small K-class (3) pipeline for card and report tests: a multinomial logistic regression on
// four features from known softmax logits, temperature-scaled, with a review threshold, and
// class labels given by the test (hostile ones included).
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace calibrisk::test {

struct McData {
  RowMatrixXd X;
  std::vector<double> y;
};

// Labels drawn from softmax(z) by the Gumbel-max trick: argmax_k z_k - ln(-ln u_k).
inline McData make_mc_data(Index n, std::uint64_t seed) {
  McData d{RowMatrixXd(n, 4), std::vector<double>(static_cast<std::size_t>(n))};
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    auto x = d.X.row(i);
    for (Index j = 0; j < 4; ++j) x(j) = rng.normal();
    const double z[3] = {0.0, 1.5 * x(0) - x(1), -x(0) + 1.2 * x(2) + 0.3};
    int best = 0;
    double top = -1e300;
    for (int k = 0; k < 3; ++k) {
      const double g = z[k] - std::log(-std::log(std::max(rng.uniform(), 1e-300)));
      if (g > top) top = g, best = k;
    }
    d.y[static_cast<std::size_t>(i)] = best;
  }
  return d;
}

// The pipeline; `review` = false leaves the review policy out.
inline Pipeline make_mc_pipeline(const std::vector<std::string>& classes, bool review = true) {
  const McData train = make_mc_data(400, 7), cal = make_mc_data(300, 8);
  LogisticRegression lr;
  lr.fit(Dataset(view(train.X), train.y), 3);
  RowMatrixXd z(cal.X.rows(), 3);
  lr.decision_matrix(FeatureMatrix(view(cal.X)), view_mut(z));
  TemperatureScaling temp;
  temp.fit(view(z), VectorView<const double>(cal.y.data(), cal.X.rows()));
  PipelineParts p;
  for (const char* name : {"a", "b", "c", "d"}) {
    FeatureInfo f;
    f.name = name;
    p.schema.features.push_back(f);
  }
  p.model = lr;
  p.multiclass_calibrator = temp;
  p.classes = classes;
  if (review) {
    ReviewPolicyRecord r;
    r.policy = "min_accuracy=0.9";
    r.thresholds = {0.6};
    p.review = r;
  }
  return Pipeline(std::move(p));
}

}  // namespace calibrisk::test
