// SPDX-License-Identifier: Apache-2.0
// Category labels in the schema (format 1.4): written only when present, read back unchanged
// (hostile text included), validated; rows given as text encoded allocation-free by
// Pipeline::encode_row with the unseen policy, and counted as drift by check_inputs.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/io/table.hpp>

#include <doctest/doctest.h>

#include "artifact/sha256.hpp"
#include "fixtures.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace calibrisk;
using namespace calibrisk::test;
using json = nlohmann::json;

namespace {

const Pipeline& plain() {
  static const Pipeline p =
      make_pipeline(make_artifact_data(400, 5), ModelKind::kGBDT, CalKind::kIsotonic, 3);
  return p;
}

// `plain()` with feature 3 (codes 0..3) declared categorical with `labels`.
Pipeline labelled(std::vector<std::string> labels, CodeHierarchy h = {}) {
  PipelineParts parts = plain().parts();
  FeatureInfo& f = parts.schema.features[3];
  f.categorical = true;
  f.unseen_as_missing = true;
  f.labels = std::move(labels);
  f.hierarchy = std::move(h);
  return Pipeline(std::move(parts));
}

std::vector<double> row_of(const std::vector<std::string>& texts, const Pipeline& p,
                           Pipeline::RowEncoding* enc = nullptr) {
  std::vector<std::string_view> f(texts.begin(), texts.end());
  std::vector<double> out(texts.size());
  const auto r = p.encode_row(f.data(), out.data());
  if (enc) *enc = r;
  return out;
}

std::string reseal(json doc) {
  doc.erase("checksum");
  doc["checksum"] = "sha256:" + detail::sha256_hex(doc.dump());
  return doc.dump(1);
}

}  // namespace

TEST_CASE("category labels: a model without labels keeps its format version and bytes") {
  const std::string text = to_string(plain());
  CHECK(json::parse(text)["format_version"] != "1.4");
  CHECK(text.find("\"labels\"") == std::string::npos);
  CHECK(to_string(load_from_string(text)) == text);
}

TEST_CASE("category labels: stored in the schema from format 1.4 and read back unchanged") {
  // Hostile labels stay data: HTML, quotes, a line break, a comma, non-ASCII, byte-sorted.
  const std::vector<std::string> labels{"\"quoted\"", "<b>bold</b>", "a,b", "line\nbreak"};
  const Pipeline p = labelled(labels, CodeHierarchy::by_prefix({3}));
  const std::string text = to_string(p);
  const json doc = json::parse(text);
  CHECK(doc["format_version"] == "1.4");
  CHECK(doc["schema"]["features"][3]["labels"].get<std::vector<std::string>>() == labels);
  CHECK(doc["schema"]["features"][3]["code_hierarchy"]["prefix_lengths"] == json::array({3}));
  CHECK(doc["schema"]["features"][0].find("labels") == doc["schema"]["features"][0].end());
  const Pipeline q = load_from_string(text);
  CHECK(q.schema().features[3].labels == labels);
  CHECK(q.schema().features[3].hierarchy == CodeHierarchy::by_prefix({3}));
  CHECK(to_string(q) == text);
  REQUIRE(q.category_levels(3) != nullptr);
  CHECK(q.category_levels(3)->encode("<b>bold</b>") == 1.0);
  CHECK(q.category_levels(0) == nullptr);
}

TEST_CASE("category labels: inconsistent labels are rejected when building or loading") {
  SUBCASE("fewer labels than training codes") {
    CHECK_THROWS_WITH_AS(labelled({"a", "b"}), doctest::Contains("do not belong together"),
                         InvalidInput);
  }
  SUBCASE("unsorted labels") {
    CHECK_THROWS_WITH_AS(labelled({"d", "c", "b", "a"}), doctest::Contains("not sorted"),
                         InvalidInput);
  }
  SUBCASE("a file whose labels were edited out of order") {
    json doc = json::parse(to_string(labelled({"a", "b", "c", "d"})));
    doc["schema"]["features"][3]["labels"] = json::array({"b", "a", "c", "d"});
    CHECK_THROWS_WITH_AS(load_from_string(reseal(doc)), doctest::Contains("not sorted"),
                         ModelFormatError);
  }
  SUBCASE("a 1.3 file may not carry labels") {
    json doc = json::parse(to_string(labelled({"a", "b", "c", "d"})));
    doc["format_version"] = "1.3";
    CHECK_THROWS_WITH_AS(load_from_string(reseal(doc)), doctest::Contains("labels"),
                         ModelFormatError);
  }
}

TEST_CASE("category labels: encode_row maps labels to codes with the unseen policy") {
  const Pipeline p = labelled({"250", "250.01", "401.9", "V10"}, CodeHierarchy::dotted());
  Pipeline::RowEncoding e;
  SUBCASE("a seen label scores exactly as its code") {
    const auto r = row_of({"0.5", "NA", "52", "250.01", "1"}, p, &e);
    CHECK(r[3] == 1.0);
    CHECK(std::isnan(r[1]));
    CHECK(e.unseen_labels == 0);
    CHECK(e.bad_numbers == 0);
    const std::vector<double> coded{0.5, NAN, 52, 1, 1};
    CHECK(p.predict_proba_row(r.data()) == p.predict_proba_row(coded.data()));
  }
  SUBCASE("an unseen code backs off to its nearest level ancestor") {
    const auto r = row_of({"0.5", "", "52", "250.07", "1"}, p, &e);
    CHECK(r[3] == 0.0);  // 250.07 -> 250.0 (not a level) -> 250 (code 0)
    CHECK(e.unseen_labels == 1);
  }
  SUBCASE("an unseen code without a level ancestor is missing, scored as NaN") {
    const auto r = row_of({"0.5", "", "52", "493.1", "1"}, p, &e);
    CHECK(std::isnan(r[3]));
    CHECK(e.unseen_labels == 1);
    const std::vector<double> missing{0.5, NAN, 52, NAN, 1};
    CHECK(p.predict_proba_row(r.data()) == p.predict_proba_row(missing.data()));
  }
  SUBCASE("text in a numeric feature is reported") {
    row_of({"abc", "", "52", "V10", "1"}, p, &e);
    CHECK(e.bad_numbers == 1);
    CHECK(e.first_bad_feature == 0);
    CHECK_THROWS_WITH_AS(p.encode_rows({{"abc", "", "52", "V10", "1"}}),
                         doctest::Contains("holds 'abc', which is not a number"), InvalidInput);
  }
  SUBCASE("check_inputs counts unseen labels (ancestor or missing) as unseen categories") {
    const InputReport r =
        p.check_inputs(std::vector<std::vector<std::string>>{{"0", "1", "50", "250.07", "0"},
                                                             {"0", "1", "50", "493.1", "0"},
                                                             {"0", "1", "50", "V10", "0"},
                                                             {"0", "1", "50", "", "0"}});
    CHECK(r.ok());
    REQUIRE(r.features.size() >= 1);
    const auto it = std::find_if(r.features.begin(), r.features.end(),
                                 [](const FeatureDrift& d) { return d.feature == 3; });
    REQUIRE(it != r.features.end());
    CHECK(it->n_unseen_category == 2);
    CHECK(it->n_missing == 1);
  }
}

TEST_CASE("golden format 1.4: labels and a hierarchy load, keep their bytes, score identically") {
  const std::filesystem::path dir = std::filesystem::path(CALIBRISK_GOLDEN_DIR) / "format-1.4";
  std::ifstream in(dir / "gbdt_labels.json", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Pipeline p = load_from_string(text);
  CHECK(to_string(p) == text);
  const CategoryLevels* dx = p.category_levels(1);
  REQUIRE(dx != nullptr);
  CHECK(dx->labels() == std::vector<std::string>{"250.01", "250.02", "250.03", "250.1", "250.9",
                                                 "401", "428", "E11.65", "V10.3"});
  CHECK(dx->encode("428.9") == 6.0);        // unseen -> ancestor 428
  CHECK(std::isnan(dx->encode("250.07")));  // 250.0 and 250 are not levels
  // Score rows.csv (text) through encode_rows and compare with the stored scores.
  CsvReadOptions o;
  o.categorical = {"age", "dx", "site"};  // everything as text, encoded below
  const Table t = read_csv((dir / "rows.csv").string(), o);
  std::vector<std::vector<std::string>> rows(static_cast<std::size_t>(t.rows()));
  for (Index i = 0; i < t.rows(); ++i) {
    for (const char* c : {"age", "dx", "site"})
      rows[static_cast<std::size_t>(i)].push_back(t.column(c).text(i));
  }
  const RowMatrixXd X = p.encode_rows(rows);
  const Eigen::VectorXd risk = p.predict_proba(FeatureMatrix(view(X)));
  std::ifstream sc(dir / "gbdt_labels.scores.csv");
  std::string line;
  std::getline(sc, line);
  Index i = 0;
  while (std::getline(sc, line)) {
    const auto a = line.find(','), b = line.find(',', a + 1);
    CHECK(risk[i] == std::strtod(line.substr(a + 1, b - a - 1).c_str(), nullptr));
    ++i;
  }
  CHECK(i == t.rows());
}
