// SPDX-License-Identifier: Apache-2.0
// A loaded pipeline scored from 8 threads at once gives exactly the single-threaded results (run
// under ThreadSanitizer by `make tsan`).
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <cstring>
#include <thread>

using namespace calibrisk;
using namespace calibrisk::test;

TEST_CASE("pipeline: 8 threads scoring concurrently equal single-threaded scoring") {
  const ArtifactData d = make_artifact_data(500, 71);
  const ArtifactData test = make_artifact_data(400, 72);
  for (ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    const Pipeline pipe = load_from_string(to_string(make_pipeline(d, mk, CalKind::kIsotonic)));
    const Eigen::VectorXd want = pipe.predict_proba(view(test.X));
    std::vector<Eigen::VectorXd> row_results(8), batch_results(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        Eigen::VectorXd r(test.X.rows());
        for (int rep = 0; rep < 3; ++rep) {
          for (Index i = 0; i < test.X.rows(); ++i)
            r[i] = pipe.predict_proba_row(test.X.row(i).data());
        }
        row_results[static_cast<std::size_t>(t)] = r;
        batch_results[static_cast<std::size_t>(t)] = pipe.predict_proba(view(test.X));
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < 8; ++t) {
      const auto& r = row_results[static_cast<std::size_t>(t)];
      const auto& b = batch_results[static_cast<std::size_t>(t)];
      CHECK(std::memcmp(r.data(), want.data(),
                        sizeof(double) * static_cast<std::size_t>(want.size())) == 0);
      CHECK(std::memcmp(b.data(), want.data(),
                        sizeof(double) * static_cast<std::size_t>(want.size())) == 0);
    }
  }
}
