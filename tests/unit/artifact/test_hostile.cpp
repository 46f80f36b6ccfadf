// SPDX-License-Identifier: Apache-2.0
// Hostile model files (issue 11): repeated keys, nesting bombs, non-canonical versions, category
// labels that contradict the schema or the trees, trees too deep or too large, files that are
// directories, unwritable save paths, thread counts in the file, and Ed25519 signatures.
#include <doctest/doctest.h>

#include "artifact/sha256.hpp"
#include "fixtures.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>

using namespace calibrisk;
using namespace calibrisk::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string reseal(json doc) {
  doc.erase("checksum");
  doc["checksum"] = "sha256:" + detail::sha256_hex(doc.dump());
  return doc.dump(1);
}

std::string edit(const std::string& text, const std::function<void(json&)>& fn) {
  json d = json::parse(text);
  fn(d);
  return reseal(d);
}

const Pipeline& gbdt_pipeline() {
  static const Pipeline p =
      make_pipeline(make_artifact_data(400, 5), ModelKind::kGBDT, CalKind::kIsotonic, 3);
  return p;
}
const Pipeline& lr_pipeline() {
  static const Pipeline p =
      make_pipeline(make_artifact_data(400, 5), ModelKind::kLR, CalKind::kPlattMargin);
  return p;
}

// A fresh directory under the system temp directory, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const char* name) : path(fs::temp_directory_path() / name) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const char* f) const { return (path / f).string(); }
};

void expect_format_error(const std::string& text, const char* fragment, const LoadOptions& o = {}) {
  CHECK_THROWS_WITH_AS(load_from_string(text, o), doctest::Contains(fragment), ModelFormatError);
}

}  // namespace

TEST_CASE("hostile: a repeated key is rejected, wherever it is") {
  const std::string text = to_string(lr_pipeline());
  // The example: the file shows one threshold and (last one wins) loads another.
  std::string twice = text;
  const auto at = twice.find("\"value\": ");
  REQUIRE(at != std::string::npos);
  twice.insert(at, "\"value\": 0.99,\n    ");
  expect_format_error(twice, "/threshold/value appears twice");
  LoadOptions unchecked;
  unchecked.verify_checksum = false;
  expect_format_error(twice, "/threshold/value appears twice", unchecked);
  // At the top level and inside arrays of objects.
  expect_format_error("{\"format\": \"calibrisk-pipeline\", \"format\": \"x\"}",
                      "/format appears twice");
  std::string in_array = text;
  const auto name = in_array.find("\"name\": ");
  in_array.insert(name, "\"name\": \"other\", ");
  expect_format_error(in_array, "/schema/features/0/name appears twice");
  // The same key in sibling objects is fine.
  CHECK_NOTHROW(load_from_string(text));
}

TEST_CASE("hostile: deep nesting is rejected before it costs memory") {
  // The example: 10 MB of '[' took 755 MB; now the parser stops at depth 64.
  const std::string bomb(10u << 20, '[');
  expect_format_error(bomb, "nests deeper than 64 levels");
  expect_format_error("{\"format\": " + std::string(100, '[') + "1" + std::string(100, ']') + "}",
                      "/format/0/0");
  LoadOptions o;
  o.max_json_depth = 2;
  expect_format_error(to_string(lr_pipeline()), "LoadOptions.max_json_depth", o);
}

TEST_CASE("hostile: only the canonical spelling of the format version is accepted") {
  const std::string text = to_string(lr_pipeline());
  for (const char* v : {"01.0", "1.00", "+1.0", " 1.0", "1.0 ", "1.-0", "1.0e0", "1..0", "1.0x",
                        "1.", ".0", "1.0000001"}) {
    CAPTURE(v);
    expect_format_error(edit(text, [&](json& d) { d["format_version"] = v; }), "canonical form");
  }
  CHECK_NOTHROW(load_from_string(edit(text, [](json& d) { d["format_version"] = "1.0"; })));
}

TEST_CASE("hostile: category labels must agree with the schema and the trees") {
  // Feature 3 of the fixture data is an integer code column (codes 0..3, categorical in the
  // schema); feature 0 is numeric.
  const Pipeline& p = gbdt_pipeline();
  const FeatureInfo& code = p.schema().features[3];
  REQUIRE(code.categorical);
  const std::string text = to_string(p);
  auto with_param = [&](const std::string& key, const std::string& value) {
    return edit(text, [&](json& d) { d["provenance"]["parameters"][key] = value; });
  };
  const std::string cat_key = "data.categories." + code.name;
  const json good_labels = json::array({"a", "b", "c", "d", "e"});
  CHECK_NOTHROW(load_from_string(with_param(cat_key, good_labels.dump())));
  expect_format_error(with_param(cat_key, "[\"a\", \"b\", \"a\", \"c\", \"d\"]"),
                      "lists the label \"a\" twice");
  expect_format_error(with_param("data.categories." + p.schema().features[0].name, "[\"x\"]"),
                      "a numeric feature");
  expect_format_error(with_param("data.categories.nope", "[\"x\"]"), "not a feature");
  expect_format_error(with_param(cat_key, "[\"a\"]"), "do not belong together");
  expect_format_error(with_param(cat_key, "{\"a\": 1}"), "not a JSON array");
  expect_format_error(with_param(cat_key, std::string(1000, '[')), "nests deeper");
  // A split on the feature outside the codes the labels define.
  std::string bad_split = edit(with_param(cat_key, good_labels.dump()), [&](json& d) {
    auto& t = d["model"]["state"]["trees"][0];
    for (std::size_t i = 0; i < t["feature"].size(); ++i) {
      if (t["feature"][i] == -1) {
        continue;
      }
      t["feature"][i] = 3;
      t["threshold"][i] = 7.5;
      break;
    }
  });
  expect_format_error(bad_split, "do not belong together");
}

TEST_CASE("hostile: tree depth and node count are bounded by LoadOptions") {
  const std::string text = to_string(gbdt_pipeline());
  // A valid chain tree: node 2k splits, its left child 2k+1 is a leaf, its right child 2k+2
  // continues; depth `depth`.
  auto chain = [&](int depth) {
    return edit(text, [&](json& d) {
      json t;
      const int n = 2 * depth + 1;
      std::vector<int> left(n, -1), right(n, -1), feature(n, -1), ml(n, 0);
      std::vector<double> thr(n, 0.0), value(n, 0.0), gain(n, 0.0), cover(n, 1.0);
      for (int k = 0; k < depth; ++k) {
        left[2 * k] = 2 * k + 1;
        right[2 * k] = 2 * k + 2;
        feature[2 * k] = 0;
        thr[2 * k] = static_cast<double>(k);
        value[2 * k + 1] = 0.01;
      }
      t["left"] = left;
      t["right"] = right;
      t["feature"] = feature;
      t["threshold"] = thr;
      t["missing_left"] = ml;
      t["value"] = value;
      t["gain"] = gain;
      t["cover"] = cover;
      d["model"]["state"]["trees"].push_back(t);
    });
  };
  CHECK_NOTHROW(load_from_string(chain(1024)));
  expect_format_error(chain(1025), "more than 1024 levels deep (LoadOptions.max_tree_depth)");
  LoadOptions deep;
  deep.max_tree_depth = 20000;
  // The example: a valid 10,000-deep chain. It loads when allowed, and TreeSHAP runs in
  // O(depth) memory (tests/unit/trees/test_shap.cpp compares its values).
  const Pipeline p = load_from_string(chain(10000), deep);
  LoadOptions small;
  small.max_tree_nodes = 10;
  expect_format_error(text, "more than LoadOptions.max_tree_nodes (10)", small);
}

TEST_CASE("hostile: a directory is not a model file; save reports the operating system's error") {
  TempDir dir("calibrisk_hostile_dir");
  CHECK_THROWS_WITH_AS(load(dir.path.string()), doctest::Contains("is a directory"),
                       ModelFormatError);
  // save() onto a directory, into a missing directory: FileError with errno and the path.
  try {
    save(lr_pipeline(), dir.path.string());
    FAIL("save onto a directory succeeded");
  } catch (const FileError& e) {
    CHECK(e.error_code() == EISDIR);
    CHECK(std::string(e.what()).find("Is a directory") != std::string::npos);
  }
  try {
    save(lr_pipeline(), dir / "missing/model.json");
    FAIL("save into a missing directory succeeded");
  } catch (const FileError& e) {
    CHECK(e.error_code() == ENOENT);
    CHECK(std::string(e.what()).find("missing/model.json.tmp") != std::string::npos);
  }
  save(lr_pipeline(), dir / "ok.json");
  CHECK(to_string(load(dir / "ok.json")) == to_string(lr_pipeline()));
}

TEST_CASE("hostile: the thread count is not part of the model file") {
  // Files of format 1.0 carry params.n_threads; it is accepted (an integer) and ignored.
  const std::string text = to_string(gbdt_pipeline());
  CHECK(text.find("n_threads") == std::string::npos);
  const std::string with_threads = edit(text, [](json& d) {
    d["format_version"] = "1.0";
    d["model"]["params"]["n_threads"] = 7;
    d["calibrator"]["params"]["n_threads"] = 3;
  });
  const Pipeline p = load_from_string(with_threads);
  CHECK(to_string(p) == text);
  expect_format_error(edit(with_threads, [](json& d) { d["model"]["params"]["n_threads"] = "x"; }),
                      "/model/params/n_threads is a string");
  const std::string lr = to_string(lr_pipeline());
  CHECK(lr.find("n_threads") == std::string::npos);
  CHECK(to_string(load_from_string(edit(lr, [](json& d) {
          d["format_version"] = "1.0";
          d["model"]["params"]["n_threads"] = 2;
        }))) == lr);
}

TEST_CASE("signature: sign, verify, refuse unsigned, tampered and wrongly signed files") {
  TempDir dir("calibrisk_signature_test");
  const std::string sk = dir / "key", pk = dir / "key.pub";
  generate_key_pair(sk, pk);
  struct stat st {};
  REQUIRE(::stat(sk.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THROWS_AS(generate_key_pair(sk, dir / "other.pub"), FileError);  // never overwrites
  generate_key_pair(dir / "key2", dir / "key2.pub");

  const Pipeline& p = lr_pipeline();
  SaveOptions so;
  so.signing_key_file = sk;
  const std::string signed_text = to_string(p, so);
  const std::string unsigned_text = to_string(p);
  CHECK(signed_text.find("\"signature\"") != std::string::npos);
  // A signed file loads without a key (the signature is then just carried) and scores the same.
  CHECK(load_from_string(signed_text).threshold() == p.threshold());

  LoadOptions need;
  need.public_key_file = pk;
  CHECK(load_from_string(signed_text, need).threshold() == p.threshold());
  CHECK(verify_signature(signed_text, pk).valid);
  expect_format_error(unsigned_text, "the file is not signed", need);
  CHECK_FALSE(verify_signature(unsigned_text, pk).signed_file);
  // Tampering: change the threshold and recompute the checksum (anyone can) -> signature fails.
  const std::string tampered = edit(signed_text, [](json& d) { d["threshold"]["value"] = 0.01; });
  CHECK(load_from_string(tampered).threshold() == 0.01);  // the checksum cannot tell
  expect_format_error(tampered, "does not match the content", need);
  // Another key.
  LoadOptions other;
  other.public_key_file = dir / "key2.pub";
  expect_format_error(signed_text, "was made with key id", other);
  // Removing the signature does not help.
  const std::string stripped = edit(signed_text, [](json& d) { d.erase("signature"); });
  expect_format_error(stripped, "not signed", need);
  // Re-indenting keeps the signature valid (it covers the canonical content).
  CHECK_NOTHROW(load_from_string(json::parse(signed_text).dump(), need));
  // require_signature without a key is a usage error of the options.
  LoadOptions no_key;
  no_key.require_signature = true;
  CHECK_THROWS_AS(load_from_string(signed_text, no_key), InvalidParams);
  // Key files are checked: a public key is not a secret key and vice versa.
  SaveOptions wrong;
  wrong.signing_key_file = pk;
  CHECK_THROWS_WITH_AS(to_string(p, wrong), doctest::Contains("calibrisk-ed25519-secret-key"),
                       InvalidInput);
  LoadOptions wrong_pub;
  wrong_pub.public_key_file = sk;
  CHECK_THROWS_AS(load_from_string(signed_text, wrong_pub), InvalidInput);
  wrong_pub.public_key_file = dir / "missing.pub";
  CHECK_THROWS_AS(load_from_string(signed_text, wrong_pub), FileError);
  // Files saved through save() carry the same signature.
  save(p, dir / "m.json", so);
  CHECK(load(dir / "m.json", need).threshold() == p.threshold());
}
