// SPDX-License-Identifier: Apache-2.0
// The sections only K-class pipelines write (format 1.6; docs/artifact.md "K-class pipelines"):
// top-level `classes` (the K labels) and `review` (the review policy), and a `calibrator` section
// holding a multiclass calibrator; from format 1.7 `encoding` (the categorical expansion before a
// K-class logistic regression). Kept apart from codec.cpp so that binary files never reach it.
#include "artifact/codec.hpp"

#include <set>
#include <string>
#include <utility>

namespace calibrisk::detail::artifact {

bool is_multiclass_calibrator(const Node& calibrator) {
  const json& j = calibrator.raw();
  if (!j.is_object()) return false;
  const auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return false;
  const std::string& s = t->get_ref<const std::string&>();
  return s == "temperature" || s == "one_vs_rest" || s == "dirichlet";
}

void encode_multiclass_sections(const Pipeline& p, json& doc) {
  if (p.n_classes() <= 2) return;
  json classes = json::array();
  for (const std::string& c : p.class_labels()) classes.push_back(c);
  doc["classes"] = std::move(classes);
  if (p.parts().multiclass_calibrator) {
    doc["calibrator"] = encode_multiclass_calibrator(*p.parts().multiclass_calibrator);
  }
  if (p.review_policy() != nullptr) doc["review"] = encode_review_policy(*p.review_policy());
  const CategoricalExpansion& e = p.parts().expansion;
  if (!e.empty()) {  // format 1.7
    json enc = json::object();
    enc["n_inputs"] = e.n_inputs;
    enc["columns"] = e.columns;
    enc["levels"] = e.levels;
    enc["reference"] = e.reference;
    enc["pooled"] = e.pooled;
    enc["missing"] = e.missing;
    doc["encoding"] = std::move(enc);
  }
}

CategoricalExpansion decode_expansion(const Node& n, Index n_features) {
  n.expect_object({"n_inputs", "columns", "levels", "reference", "pooled", "missing"});
  constexpr std::int64_t kMaxCode = 9000000000000000;
  CategoricalExpansion e;
  e.n_inputs = static_cast<Index>(n["n_inputs"].as_int(1, n_features));
  e.columns = n["columns"].as_ints<Index>(0, e.n_inputs - 1);
  if (e.columns.empty()) n["columns"].fail_here("is empty; an encoding lists its columns.");
  const auto lists = [&](const char* key) {
    const Node a = n[key];
    if (a.array_size() != e.columns.size()) {
      a.fail_here("holds " + std::to_string(a.array_size()) + " lists for " +
                  std::to_string(e.columns.size()) + " columns.");
    }
    std::vector<std::vector<std::int64_t>> out;
    for (std::size_t c = 0; c < e.columns.size(); ++c) {
      out.push_back(a.at(c).as_ints<std::int64_t>(0, kMaxCode));
    }
    return out;
  };
  e.levels = lists("levels");
  e.pooled = lists("pooled");
  e.reference = n["reference"].as_ints<std::int64_t>(-1, kMaxCode);
  e.missing = n["missing"].as_ints<int>(0, 1);
  try {
    e.validate(n_features, "encoding");
  } catch (const InvalidInput& err) {
    n.fail_here(err.what());
  }
  return e;
}

void decode_multiclass_sections(const Node& root, PipelineParts& parts) {
  const json& doc = root.raw();
  if (doc.find("classes") != doc.end()) {
    const Node c = root["classes"];
    const std::size_t n = c.array_size();
    if (n < 3 || n > static_cast<std::size_t>(kMaxClasses)) {
      c.fail_here("holds " + std::to_string(n) + " labels; a K-class pipeline has 3 to " +
                  std::to_string(kMaxClasses) + " classes.");
    }
    std::set<std::string> seen;
    for (std::size_t k = 0; k < n; ++k) {
      const Node e = c.at(k);
      std::string label = e.as_string(4096);
      if (label.empty() || !seen.insert(label).second) {
        e.fail_here("is empty or repeats an earlier label; class labels are unique.");
      }
      parts.classes.push_back(std::move(label));
    }
  }
  if (doc.find("review") != doc.end()) parts.review = decode_review_policy(root["review"]);
  if (doc.find("encoding") != doc.end()) {
    parts.expansion = decode_expansion(root["encoding"], parts.schema.n_features());
  }
  if (is_multiclass_calibrator(root["calibrator"])) {
    parts.multiclass_calibrator = decode_multiclass_calibrator(root["calibrator"]);
  }
}

}  // namespace calibrisk::detail::artifact
