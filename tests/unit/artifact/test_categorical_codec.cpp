// SPDX-License-Identifier: Apache-2.0
// Format 1.4: GBDT category-set splits and cardinalities round-trip through the one codec, are
// written only when present (numeric models keep their bytes and version), and hostile edits of
// the new fields are refused with their JSON path.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "unit/artifact/fixtures.hpp"

#include <string>

using namespace calibrisk;
using calibrisk::test::make_artifact_data;

namespace {

Pipeline categorical_pipeline(const test::ArtifactData& d) {
  GBDTParams p;
  p.n_estimators = 12;
  p.max_leaf_nodes = 8;
  p.min_samples_leaf = 5;
  p.categorical_features = {3};
  p.min_data_per_category = 3;
  p.max_cat_to_onehot = 2;
  p.n_threads = 1;
  GradientBoostedTrees gb(p);
  const auto X = view(d.X);
  gb.fit(Dataset(X, VectorView<const double>(d.y.data(), X.rows())));
  FeatureSchema schema =
      FeatureSchema::from_data(X, {"age_z", "lab_b", "bp", "admission_source", "flag"});
  return Pipeline(std::move(schema), std::move(gb));
}

}  // namespace

TEST_CASE("categorical codec: a categorical model round-trips bit-identically as format 1.4") {
  const auto d = make_artifact_data(800, 4);
  const Pipeline pipe = categorical_pipeline(d);
  const std::string text = to_string(pipe);
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["format_version"] == "1.4");
  const auto& state = doc["model"]["state"];
  CHECK(state["cardinality"] == nlohmann::json::array({0, 0, 0, 4, 0}));
  bool any_cat = false;
  for (const auto& t : state["trees"]) any_cat = any_cat || t.contains("cat_bits");
  CHECK(any_cat);
  CHECK(doc["model"]["params"]["categorical_features"] == nlohmann::json::array({3}));

  const Pipeline back = load_from_string(text);
  CHECK(to_string(back) == text);  // same bytes on re-save
  for (Index i = 0; i < d.X.rows(); ++i) {
    const double* row = d.X.data() + i * d.X.cols();
    CHECK(back.predict_proba_row(row) == pipe.predict_proba_row(row));
  }
}

TEST_CASE("categorical codec: numeric models write no categorical field and keep version 1.1") {
  const auto d = make_artifact_data(400, 5);
  const Pipeline pipe = test::make_pipeline(d, test::ModelKind::kGBDT, test::CalKind::kNone, 5);
  const std::string text = to_string(pipe);
  CHECK(text.find("cat_") == std::string::npos);
  CHECK(text.find("cardinality") == std::string::npos);
  CHECK(text.find("categorical_features") == std::string::npos);
  CHECK(nlohmann::json::parse(text)["format_version"] == "1.1");
}

TEST_CASE("categorical codec: hostile category fields are refused with their path") {
  const auto d = make_artifact_data(800, 4);
  const auto doc = nlohmann::json::parse(to_string(categorical_pipeline(d)));
  std::size_t t_cat = 0;
  while (!doc["model"]["state"]["trees"][t_cat].contains("cat_bits")) ++t_cat;
  // Edits made without re-computing the checksum: load with verification off.
  LoadOptions lo;
  lo.verify_checksum = false;
  auto edited = [&](auto edit) {
    nlohmann::json j = doc;
    edit(j["model"]["state"]);
    return j.dump();
  };
  SUBCASE("cardinality of the wrong length") {
    const auto s = edited([](nlohmann::json& st) { st["cardinality"].push_back(0); });
    CHECK_THROWS_WITH_AS(load_from_string(s, lo), doctest::Contains("cardinality"),
                         ModelFormatError);
  }
  SUBCASE("a category bit past the cardinality") {
    const auto s = edited([&](nlohmann::json& st) {
      auto& t = st["trees"][t_cat];
      for (auto& w : t["cat_bits"]) w = 0xFFFFFFFFu;
    });
    CHECK_THROWS_WITH_AS(load_from_string(s, lo), doctest::Contains("bits at codes >= K"),
                         ModelFormatError);
  }
  SUBCASE("only some of the category arrays") {
    const auto s = edited([&](nlohmann::json& st) { st["trees"][t_cat].erase("cat_end"); });
    CHECK_THROWS_WITH_AS(load_from_string(s, lo), doctest::Contains("needs all three"),
                         ModelFormatError);
  }
  SUBCASE("a range outside cat_bits") {
    const auto s = edited([&](nlohmann::json& st) {
      auto& t = st["trees"][t_cat];
      t["cat_end"][0] = t["cat_bits"].size() + 1;
    });
    CHECK_THROWS_AS(load_from_string(s, lo), ModelFormatError);
  }
  SUBCASE("a categorical feature declared numeric") {
    const auto s = edited([](nlohmann::json& st) { st["cardinality"][3] = 0; });
    CHECK_THROWS_WITH_AS(load_from_string(s, lo),
                         doctest::Contains("by a category set but the feature is numeric"),
                         ModelFormatError);
  }
}
