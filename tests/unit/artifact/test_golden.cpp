// SPDX-License-Identifier: Apache-2.0
// Model files written by earlier releases (tests/golden/v<release>/, see make_golden.py there) load
// and score bit-identically to the scores that release stored beside them. The CLI-trained files
// are also scored end to end through `calibrisk predict` in tests/python/test_golden.py.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/table.hpp>

#include <doctest/doctest.h>

#include "unit/artifact/golden.hpp"
#include "unit/artifact/golden_rows.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

using calibrisk::test::kGolden;
using calibrisk::test::read_csv;

std::vector<std::filesystem::path> golden_models() {
  std::vector<std::filesystem::path> out;
  for (const auto& release : std::filesystem::directory_iterator(kGolden)) {
    if (!release.is_directory()) continue;
    for (const auto& f : std::filesystem::directory_iterator(release.path()))
      if (f.path().extension() == ".json") out.push_back(f.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("golden files: every model file of an earlier release loads") {
  const auto models = golden_models();
  REQUIRE(models.size() >= 10);  // v0.1.0 alone has 10
  for (const auto& path : models) {
    INFO(path.string());
    const Pipeline pipe = load(path.string());
    CHECK(pipe.n_features() > 0);
    CHECK(pipe.threshold() >= 0.0);
    CHECK(pipe.threshold() <= 1.0);
  }
}

TEST_CASE("golden files: numeric-feature pipelines score bit-identically to their release") {
  int checked = 0;
  for (const auto& path : golden_models()) {
    auto scores = path;
    scores.replace_extension(".scores.csv");
    const auto rows_path = path.parent_path() / "rows_numeric.csv";
    if (path.filename().string().rfind("py_", 0) != 0) continue;  // CLI files: see test_golden.py
    INFO(path.string());
    const Pipeline pipe = load(path.string());
    const auto rows = read_csv(rows_path);
    const auto expected = read_csv(scores);
    REQUIRE(rows.size() == expected.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(rows[i].size() == static_cast<std::size_t>(pipe.n_features()));
      const double got = pipe.predict_proba_row(rows[i].data());
      CHECK_MESSAGE(got == expected[i][0], "row " << i);  // exact: same bits, not approximately
    }
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("golden 1.8: the workflow LR with the standardized penalty scores bit-identically") {
  // tests/golden/format-1.8/README.md: written by `calibrisk train --model lr` when the workflow's
  // logistic regression took penalty_scale = standardized; the scores by `calibrisk predict`.
  const auto dir = kGolden / "format-1.8";
  std::ifstream in((dir / "lr_standardized.json").string(), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Pipeline pipe = load_from_string(text);
  CHECK(to_string(pipe) == text);  // loading and saving again gives the same bytes
  CHECK(text.find("\"format_version\": \"1.8\"") != std::string::npos);
  const auto* lr = std::get_if<LogisticRegression>(&pipe.model());
  REQUIRE(lr != nullptr);
  CHECK(lr->params().penalty_scale == PenaltyScale::kStandardized);
  const RowMatrixXd X = calibrisk::test::encode_golden_rows(pipe, dir / "rows.csv");
  const auto want = read_csv(dir / "lr_standardized.scores.csv");
  REQUIRE(want.size() == static_cast<std::size_t>(X.rows()));
  REQUIRE(X.rows() >= 20);
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double got = pipe.predict_proba_row(X.row(static_cast<Index>(i)).data());
    REQUIRE(want[i].size() == 3);  // row, risk, flag as `calibrisk predict` wrote them
    CHECK_MESSAGE(got == want[i][1], "row " << i);  // exact: same bits
    CHECK(want[i][2] == (got >= pipe.threshold() ? 1.0 : 0.0));
  }
}

TEST_CASE("penalty_scale: written (format 1.8) only when standardized") {
  // An older file has no penalty_scale: it loads as raw and is saved again without it.
  const Pipeline old = load((kGolden / "v0.1.0" / "lr_platt.json").string());
  const auto* lr = std::get_if<LogisticRegression>(&old.model());
  REQUIRE(lr != nullptr);
  CHECK(lr->params().penalty_scale == PenaltyScale::kRaw);
  CHECK(to_string(old).find("penalty_scale") == std::string::npos);
  CHECK(kFormatVersionMinorNewest == 8);
}
