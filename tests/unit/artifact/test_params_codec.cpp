// SPDX-License-Identifier: Apache-2.0
// The params objects of the model file are written and read by one visitor over each Params
// declaration: execution settings are never written, a field added in a later minor version
// (max_delta_step, format 1.2) is written only when it differs from its default and is optional
// when read, so models keeping the default give the same bytes as earlier releases.
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <nlohmann/json.hpp>

#include <string>

using namespace calibrisk;

namespace {

Pipeline gbdt_pipeline(double max_delta_step) {
  const test::ArtifactData d = test::make_artifact_data(300, 3);
  GBDTParams p;
  p.n_estimators = 5;
  p.max_leaf_nodes = 4;
  p.n_threads = 1;
  p.max_delta_step = max_delta_step;
  GradientBoostedTrees gb(p);
  gb.fit(Dataset(view(d.X), VectorView<const double>(d.y.data(), d.X.rows())));
  FeatureSchema schema =
      FeatureSchema::from_data(view(d.X), {"age_z", "lab_b", "bp", "admission_source", "flag"});
  return Pipeline(std::move(schema), PipelineModel(std::move(gb)), PipelineCalibrator{},
                  OperatingPointRecord{}, Provenance{});
}

}  // namespace

TEST_CASE("params codec: the default max_delta_step is not written; a set one round-trips") {
  const std::string plain = to_string(gbdt_pipeline(0.0));
  const auto j = nlohmann::json::parse(plain);
  const auto& params = j["model"]["params"];
  CHECK(params.find("max_delta_step") == params.end());
  CHECK(params.find("n_threads") == params.end());        // execution setting
  CHECK(params.find("max_model_nodes") == params.end());  // limit
  CHECK(params.size() == 20);                             // the 1.0 / 1.1 field set

  const std::string clamped = to_string(gbdt_pipeline(0.5));
  const auto jc = nlohmann::json::parse(clamped);
  CHECK(jc["model"]["params"]["max_delta_step"] == 0.5);
  const Pipeline back = load_from_string(clamped);
  const auto& gb = std::get<GradientBoostedTrees>(back.model());
  CHECK(gb.params().max_delta_step == 0.5);
  CHECK(to_string(back) == clamped);
  // Read without the key (as every earlier file): the documented default 0.
  const Pipeline back0 = load_from_string(plain);  // kept alive: gb0 refers into it
  const auto& gb0 = std::get<GradientBoostedTrees>(back0.model());
  CHECK(gb0.params().max_delta_step == 0.0);
}

TEST_CASE("params codec: a bad max_delta_step in a file names its path") {
  auto j = nlohmann::json::parse(to_string(gbdt_pipeline(0.5)));
  j["model"]["params"]["max_delta_step"] = "big";
  CHECK_THROWS_WITH_AS(
      load_from_string(j.dump()),
      doctest::Contains("/model/params/max_delta_step is a string but must be a number"),
      ModelFormatError);
}

TEST_CASE("params codec: the file says 1.2 only when it carries a field added in 1.2") {
  // Issue 10 §1: a file with max_delta_step != 0 was stamped "1.1", so a 1.1 reader rejected it
  // naming an unknown field; a file without it must keep the bytes of earlier releases.
  const auto plain = nlohmann::json::parse(to_string(gbdt_pipeline(0.0)));
  CHECK(plain["format_version"] == "1.1");
  CHECK(plain["provenance"]["format_version"] == "1.1");
  const std::string clamped_text = to_string(gbdt_pipeline(0.5));
  const auto clamped = nlohmann::json::parse(clamped_text);
  CHECK(clamped["format_version"] == "1.2");
  CHECK(clamped["provenance"]["format_version"] == "1.2");
  LoadOptions unchecked;
  unchecked.verify_checksum = false;  // the edits below change the content
  // 1.2 is read strictly: every field known, an unknown one rejected.
  auto extra = clamped;
  extra["model"]["params"]["surprise"] = 1;
  CHECK_THROWS_WITH_AS(load_from_string(extra.dump(), unchecked), doctest::Contains("surprise"),
                       ModelFormatError);
  // 1.0 - 1.2 are accepted; a 1.1 file with the field (written before the stamping) still loads.
  auto as11 = clamped;
  as11["format_version"] = "1.1";
  const Pipeline loaded11 = load_from_string(as11.dump(), unchecked);  // gb refers into it
  const auto& gb = std::get<GradientBoostedTrees>(loaded11.model());
  CHECK(gb.params().max_delta_step == 0.5);
  CHECK(to_string(load_from_string(clamped_text)) == clamped_text);
}
