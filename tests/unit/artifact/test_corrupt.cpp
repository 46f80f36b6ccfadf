// SPDX-License-Identifier: Apache-2.0
// The loader rejects damaged files with ModelFormatError naming the JSON path or byte offset, and
// never crashes: a generated corpus of truncated, bit-flipped, field-deleted, type-changed and
// field-added variants of valid files (CI also runs it under AddressSanitizer), plus targeted
// semantic damage (tree cycles, children out of range, NaN thresholds, newer versions).
#include <doctest/doctest.h>

#include "artifact/sha256.hpp"
#include "fixtures.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <functional>

using namespace calibrisk;
using namespace calibrisk::test;
using json = nlohmann::json;

namespace {

// Rewrites the checksum so that a test reaches the structural / semantic checks behind it.
std::string reseal(json doc) {
  doc.erase("checksum");
  const std::string sum = "sha256:" + detail::sha256_hex(doc.dump());
  doc["checksum"] = sum;
  return doc.dump(1);
}

struct Outcome {
  int rejected = 0;
  int accepted_identical = 0;
};

// Loads `text`; it must either throw ModelFormatError or (for damage that happens to be
// meaning-preserving, e.g. "1e-05" -> "1E-05") load a pipeline scoring exactly like `ref`.
void expect_rejected_or_identical(const std::string& text, const Pipeline& ref,
                                  const RowMatrixXd& X, Outcome& out) {
  try {
    const Pipeline p = load_from_string(text);
    const Eigen::VectorXd a = p.predict_proba(view(X)), b = ref.predict_proba(view(X));
    CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) ==
          0);
    CHECK(p.threshold() == ref.threshold());
    ++out.accepted_identical;
  } catch (const ModelFormatError& e) {
    CHECK(std::string(e.what()).rfind("load: ", 0) == 0);
    ++out.rejected;
  }
}

void expect_rejected(const std::string& text, const std::string& what, int& count) {
  CAPTURE(what);
  CHECK_THROWS_AS(load_from_string(text), ModelFormatError);
  ++count;
}

// Every (JSON pointer) path of the document, depth-first.
void collect_paths(const json& j, const json::json_pointer& at,
                   std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) collect_paths(it.value(), at / it.key(), out);
  } else if (j.is_array()) {
    // Arrays: the first two elements are representative (the rest are the same code path).
    for (std::size_t i = 0; i < j.size() && i < 2; ++i) collect_paths(j[i], at / i, out);
  }
}

std::vector<json> wrong_type_values(const json& v) {
  if (v.is_number()) return {nullptr, true, "x", json::array(), json::object()};
  if (v.is_string()) {
    // "NaN" / "Infinity" encode doubles, for which a number is a valid replacement.
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN" || s == "Infinity" || s == "-Infinity")
      return {"nan", nullptr, json::array(), true};
    return {7, nullptr, json::array({1}), false};
  }
  if (v.is_boolean()) return {0, "true", nullptr};
  if (v.is_array()) return {json::object(), 3, "[]"};
  if (v.is_object()) return {json::array(), "x", 1.5};
  return {};
}

struct Corpus {
  std::vector<std::pair<std::string, Pipeline>> files;
  RowMatrixXd X;
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus k;
    const ArtifactData d = make_artifact_data(400, 5);
    k.X = make_artifact_data(50, 6).X;
    for (auto [mk, ck] :
         {std::pair{ModelKind::kLR, CalKind::kPlattMargin},
          std::pair{ModelKind::kGBDT, CalKind::kIsotonic},
          std::pair{ModelKind::kLR, CalKind::kBeta}, std::pair{ModelKind::kGBDT, CalKind::kNone}}) {
      Pipeline p = make_pipeline(d, mk, ck, 3);
      k.files.emplace_back(to_string(p), std::move(p));
    }
    return k;
  }();
  return c;
}

}  // namespace

TEST_CASE("load corpus: truncated files are rejected with the byte offset") {
  int count = 0;
  for (const auto& [text, ref] : corpus().files) {
    // The document ends with "}\n": every strict prefix shorter than size - 1 is incomplete.
    const std::size_t n = text.size() - 1;
    for (std::size_t k = 0; k < 60; ++k) {
      const std::size_t cut = k * n / 60;
      try {
        load_from_string(text.substr(0, cut));
        FAIL("a truncated file loaded");
      } catch (const ModelFormatError& e) {
        const std::string m = e.what();
        CHECK((m.find("byte") != std::string::npos || m.find("empty") != std::string::npos));
      }
      ++count;
    }
  }
  CHECK(count >= 200);
}

TEST_CASE("load corpus: bit flips are rejected (or provably harmless)") {
  Rng rng(2024);
  Outcome out;
  for (const auto& [text, ref] : corpus().files) {
    for (int k = 0; k < 150; ++k) {
      std::string t = text;
      const std::size_t pos = static_cast<std::size_t>(rng.below(t.size()));
      t[pos] = static_cast<char>(t[pos] ^ (1 << rng.below(8)));
      expect_rejected_or_identical(t, ref, corpus().X, out);
    }
  }
  MESSAGE("bit flips: " << out.rejected << " rejected, " << out.accepted_identical
                        << " accepted with identical scores");
  CHECK(out.rejected + out.accepted_identical == 600);
  CHECK(out.rejected >= 550);
}

TEST_CASE(
    "load corpus: deleted, retyped and added fields are rejected even with a valid checksum") {
  int deleted = 0, retyped = 0, added = 0;
  for (const auto& [text, ref] : corpus().files) {
    const json doc = json::parse(text);
    std::vector<json::json_pointer> paths;
    collect_paths(doc, json::json_pointer(), paths);
    for (const auto& p : paths) {
      if (p.empty()) continue;
      const std::string where = p.to_string();
      const json& v = doc.at(p);
      const json& parent = doc.at(p.parent_pointer());
      const std::string parent_key = p.parent_pointer().empty() ? "" : p.parent_pointer().back();
      if (parent.is_object() && p.back() != "checksum" &&
          !(parent_key == "figures" || parent_key == "parameters")) {
        // Figures and parameters are open-ended maps: deleting one entry is a valid file.
        json d = doc;
        d.at(p.parent_pointer()).erase(p.back());
        expect_rejected(reseal(d), "delete " + where, deleted);
        expect_rejected(d.dump(), "delete without reseal " + where, deleted);
      }
      for (const json& w : wrong_type_values(v)) {
        if (p.back() == "checksum") continue;
        json d = doc;
        d.at(p) = w;
        expect_rejected(reseal(d), "retype " + where + " to " + w.dump(), retyped);
      }
      if (v.is_object() && p.back() != "figures" && p.back() != "parameters") {
        json d = doc;
        d.at(p)["unexpected_field"] = 1;
        expect_rejected(reseal(d), "add a field to " + where, added);
      }
    }
  }
  MESSAGE("deleted " << deleted << ", retyped " << retyped << ", added " << added);
  CHECK(deleted + retyped + added >= 300);
}

TEST_CASE("load: targeted damage gets a message naming the place") {
  const auto& files = corpus().files;
  const json lr = json::parse(files[0].first);    // LR + Platt
  const json gbdt = json::parse(files[1].first);  // GBDT + isotonic
  auto expect = [](const std::string& text, const char* fragment) {
    CHECK_THROWS_WITH_AS(load_from_string(text), doctest::Contains(fragment), ModelFormatError);
  };
  auto edit = [](json d, const std::function<void(json&)>& fn) {
    fn(d);
    return reseal(d);
  };
  // Checksum.
  {
    json d = lr;
    d["threshold"]["value"] = 0.41;
    expect(d.dump(), "/checksum does not match");
    LoadOptions o;
    o.verify_checksum = false;
    CHECK(load_from_string(d.dump(), o).threshold() == 0.41);
  }
  // Versions.
  expect(edit(lr, [](json& d) { d["format_version"] = "2.0"; }), "newer major format version");
  expect(edit(lr, [](json& d) { d["format_version"] = "1"; }), "MAJOR.MINOR");
  expect(edit(lr, [](json& d) { d["format"] = "something-else"; }), "not a calibrisk pipeline");
  {  // A newer minor version may add fields; they are ignored.
    const std::string t = edit(lr, [](json& d) {
      d["format_version"] = "1.9";
      d["future_section"] = {{"x", 1}};
      d["threshold"]["future_field"] = "y";
    });
    CHECK(load_from_string(t).threshold() == files[0].second.threshold());
  }
  // Trees: children out of range, cycles, NaN thresholds, inconsistent sizes.
  expect(edit(gbdt, [](json& d) { d["model"]["state"]["trees"][0]["left"][0] = 999; }),
         "/model/state/trees/0/left/0 is 999 but must be in [-1,");
  expect(edit(gbdt,
              [](json& d) {
                auto& t = d["model"]["state"]["trees"][1];
                // Point the root's right child back at the root: a cycle.
                t["right"][0] = 0;
              }),
         "reached twice");
  expect(edit(gbdt, [](json& d) { d["model"]["state"]["trees"][0]["threshold"][0] = "NaN"; }),
         "/model/state/trees/0/threshold/0 is NaN but must be finite");
  expect(edit(gbdt, [](json& d) { d["model"]["state"]["trees"][2]["value"].erase(0); }),
         "/model/state/trees/2/value has");
  expect(edit(gbdt, [](json& d) { d["model"]["state"]["trees"][0]["feature"][0] = 5; }),
         "/model/state/trees/0/feature/0 is 5 but must be in [-1, 4]");
  expect(edit(gbdt, [](json& d) { d["model"]["state"]["n_features"] = 1000000000000LL; }),
         "/model/state/n_features is 1000000000000 but must be in [1,");
  // Operating point and calibrators.
  expect(edit(lr, [](json& d) { d["threshold"]["value"] = "NaN"; }),
         "/threshold/value is NaN but the threshold must be a probability");
  expect(edit(lr, [](json& d) { d["threshold"]["value"] = 1.5; }), "/threshold/value is 1.5");
  expect(edit(gbdt, [](json& d) { d["calibrator"]["state"]["x"][1] = -100.0; }),
         "/calibrator/state is invalid");
  expect(edit(gbdt, [](json& d) { d["calibrator"]["state"]["y"].erase(0); }),
         "/calibrator/state/y has");
  expect(edit(lr, [](json& d) { d["calibrator"]["type"] = "venn"; }),
         "/calibrator/type is \"venn\"");
  expect(edit(lr, [](json& d) { d["model"]["state"]["coef"].erase(0); }), "/model/state/coef has");
  expect(edit(lr, [](json& d) { d["model"]["params"]["C"] = -1.0; }),
         "/model/params holds an invalid parameter");
  expect(edit(lr, [](json& d) { d["schema"]["features"].erase(0); }), "expects 5 features");
  expect(edit(lr, [](json& d) { d["schema"]["features"][1]["name"] = "age_z"; }), "used twice");
  expect(edit(lr, [](json& d) { d["model"]["state"]["coef"][0] = 1e308 * 10; }), "");
  // Not a document at all.
  expect("", "empty");
  expect("null", "must be an object");
  expect("[1, 2]", "must be an object");
  expect(std::string(200000, '['), "nests deeper than 64 levels");
  expect("{\"format\": \"calibrisk-pipeline\"}", "/format_version is missing");
  expect(files[0].first + "x", "invalid JSON at byte");
  // A number literal too large for a double is a parser out_of_range error, not a parse_error
  // (found by the fuzzer).
  expect("{\"format\": 1e82437}", "number overflow");
  expect(edit(lr, [](json&) {}).replace(0, 1, "{\"x\": -1e99999, "), "number overflow");
  LoadOptions small;
  small.max_bytes = 100;
  CHECK_THROWS_WITH_AS(load_from_string(files[0].first, small), doctest::Contains("max_bytes"),
                       ModelFormatError);
}
