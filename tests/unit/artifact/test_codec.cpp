// SPDX-License-Identifier: Apache-2.0
// The public codec (encode_* / decode_* of calibrisk/artifact/io.hpp): its bytes are exactly the
// sections of a saved pipeline file, decoding round-trips bit-identically, and damaged or hostile
// bytes give ModelFormatError naming the JSON path, as load does.
#include <doctest/doctest.h>

#include <calibrisk/calibration/venn_abers.hpp>

#include "fixtures.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <string>

using namespace calibrisk;
using namespace calibrisk::test;
using nlohmann::json;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

// The canonical (compact, sorted-key) text of one section of a saved pipeline file: the oracle
// the codec's bytes must equal.
std::string file_section(const Pipeline& p, const char* key) {
  return json::parse(to_string(p))[key].dump();
}

template <class M>
void check_same_margins(const M& a, const M& b, const RowMatrixXd& X) {
  const Eigen::VectorXd da = a.decision_function(view(X)), db = b.decision_function(view(X));
  Index mismatches = 0;
  for (Index i = 0; i < X.rows(); ++i) mismatches += !same_bits(da[i], db[i]);
  CHECK(mismatches == 0);
}

// `text` with the first `from` replaced by `to` (which must occur).
std::string damaged(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("codec: section bytes equal the pipeline file's sections; decoding is bit-identical") {
  const ArtifactData d = make_artifact_data(600, 21);
  for (ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    for (CalKind ck : {CalKind::kNone, CalKind::kPlattMargin, CalKind::kPlattProba,
                       CalKind::kIsotonic, CalKind::kBeta}) {
      const std::string cal_kind = cal_name(ck);
      CAPTURE(cal_kind);
      const Pipeline p = make_pipeline(d, mk, ck, 6);
      const std::string model = encode_model(p.model());
      CHECK(model == file_section(p, "model"));
      CHECK(encode_calibrator(p.calibrator(), p.calibrator_input()) ==
            file_section(p, "calibrator"));
      CHECK(encode_operating_point(p.operating_point()) == file_section(p, "threshold"));

      // Decoding and re-encoding gives the same bytes and the same scores.
      const PipelineModel back = decode_model(model);
      CHECK(encode_model(back) == model);
      if (mk == ModelKind::kLR) {
        check_same_margins(std::get<LogisticRegression>(p.model()),
                           std::get<LogisticRegression>(back), d.X);
        CHECK(encode_model(std::get<LogisticRegression>(p.model())) == model);
      } else {
        check_same_margins(std::get<GradientBoostedTrees>(p.model()),
                           std::get<GradientBoostedTrees>(back), d.X);
        CHECK(encode_model(std::get<GradientBoostedTrees>(p.model())) == model);
      }
      CalibratorInput input = CalibratorInput::kProbability;
      const std::string cal = encode_calibrator(p.calibrator(), p.calibrator_input());
      const PipelineCalibrator cal_back = decode_calibrator(cal, &input);
      CHECK(encode_calibrator(cal_back, input) == cal);
      CHECK(input == p.calibrator_input());
      const OperatingPointRecord op = decode_operating_point(file_section(p, "threshold"));
      CHECK(same_bits(op.threshold, p.operating_point().threshold));
      CHECK(op.figures.size() == p.operating_point().figures.size());
      for (const auto& [name, value] : op.figures) {
        if (name == "npv") CHECK(std::isnan(value));  // NaN, encoded as "NaN"
      }
    }
  }
}

TEST_CASE("codec: Venn-ABERS round-trips through its own section") {
  const ArtifactData d = make_artifact_data(300, 4);
  std::vector<double> scores(d.y.size());
  for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = d.X(static_cast<Index>(i), 0);
  VennAbersCalibrator c;
  c.fit(VectorView<const double>(scores.data(), static_cast<Index>(scores.size())),
        VectorView<const double>(d.y.data(), static_cast<Index>(d.y.size())));
  const std::string text = encode_venn_abers(c);
  CHECK(json::parse(text)["type"] == "venn_abers");
  const VennAbersCalibrator back = decode_venn_abers(text);
  CHECK(encode_venn_abers(back) == text);
  CHECK_THROWS_WITH_AS(decode_venn_abers(damaged(text, "\"f0\":[0.0", "\"f0\":[0.5")),
                       doctest::Contains("/calibrator/state is invalid"), ModelFormatError);
  CHECK_THROWS_WITH_AS(encode_venn_abers(VennAbersCalibrator{}), doctest::Contains("not fitted"),
                       NotFitted);
}

TEST_CASE("codec: damaged section bytes name the JSON path, as load does") {
  const ArtifactData d = make_artifact_data(400, 5);
  const Pipeline lr = make_pipeline(d, ModelKind::kLR, CalKind::kIsotonic);
  const Pipeline gb = make_pipeline(d, ModelKind::kGBDT, CalKind::kPlattMargin, 4);
  const std::string lr_text = encode_model(lr.model());
  const std::string gb_text = encode_model(gb.model());
  const std::string iso_text = encode_calibrator(lr.calibrator(), lr.calibrator_input());

  CHECK_THROWS_WITH_AS(decode_model(damaged(lr_text, "\"penalized\":true", "\"penalized\":1234")),
                       doctest::Contains("load: /model/state/penalized is an integer but must be"),
                       ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_model(damaged(lr_text, "\"intercept\":", "\"intercept_\":")),
                       doctest::Contains("/model/state/intercept is missing"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_model(damaged(gb_text, "\"left\":[1", "\"left\":[9999")),
                       doctest::Contains("/model/state/trees/0/left/0"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_model(damaged(gb_text, "\"type\":\"gradient_boosted_trees\"",
                                            "\"type\":\"random_forest\"")),
                       doctest::Contains("/model/type is \"random_forest\""), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_calibrator(damaged(iso_text, "\"x\":[", "\"x\":[\"NaN\",")),
                       doctest::Contains("/calibrator/state/"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_operating_point(R"({"value":1.5,"policy":"p","figures":{}})"),
                       doctest::Contains("/threshold/value is 1.5"), ModelFormatError);
}

TEST_CASE("codec: hostile bytes give ModelFormatError, never a crash") {
  const std::string deep(10000, '[');
  CHECK_THROWS_WITH_AS(decode_model(deep), doctest::Contains("LoadOptions.max_json_depth"),
                       ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_model(""), doctest::Contains("/model section is empty"),
                       ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_model("{\"type\":\"none\",\"type\":\"none\"}"),
                       doctest::Contains("appears twice"), ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_model("{\"type\": tru"), doctest::Contains("invalid JSON at byte"),
                       ModelFormatError);
  CHECK_THROWS_WITH_AS(decode_calibrator("[1, 2]"), doctest::Contains("/calibrator is an array"),
                       ModelFormatError);
  LoadOptions small;
  small.max_bytes = 8;
  CHECK_THROWS_WITH_AS(decode_model("{\"type\": \"logistic_regression\"}", small),
                       doctest::Contains("LoadOptions.max_bytes"), ModelFormatError);

  // Every truncation of a real section is rejected cleanly.
  const ArtifactData d = make_artifact_data(300, 6);
  const Pipeline gb = make_pipeline(d, ModelKind::kGBDT, CalKind::kBeta, 2);
  const std::string text = encode_model(gb.model());
  for (std::size_t n = 0; n < text.size(); n += 7) {
    CHECK_THROWS_AS(decode_model(text.substr(0, n)), ModelFormatError);
  }
}

TEST_CASE("codec: an unfitted model or calibrator is not encoded") {
  CHECK_THROWS_WITH_AS(encode_model(LogisticRegression{}), doctest::Contains("not fitted"),
                       NotFitted);
  CHECK_THROWS_WITH_AS(encode_model(GradientBoostedTrees{}), doctest::Contains("not fitted"),
                       NotFitted);
  CHECK_THROWS_AS(encode_calibrator(PipelineCalibrator(PlattCalibrator{})), NotFitted);
}
