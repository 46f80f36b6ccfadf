// SPDX-License-Identifier: Apache-2.0
// The pipeline file format: writing (canonical JSON + SHA-256 checksum, then an indented rendering)
// and strict loading (parse -> structural decode with JSON paths -> checksum -> semantic
// validation through each part's from_state). Field-by-field specification: docs/artifact.md.
#include <calibrisk/artifact/io.hpp>

#include "artifact/codec.hpp"
#include "artifact/file_io.hpp"
#include "artifact/json_read.hpp"
#include "artifact/sha256.hpp"
#include "artifact/signature.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace calibrisk {
namespace {

using detail::artifact::encode_double;
using detail::artifact::encode_doubles;
using detail::artifact::encode_ints;
using detail::artifact::fail;
using detail::artifact::json;
using detail::artifact::Node;
using detail::artifact::PublicKey;
using detail::artifact::read_public_key;
using detail::artifact::read_secret_key;
using detail::artifact::ReadContext;
using detail::artifact::SecretKey;
using detail::artifact::sign_hex;
using detail::artifact::signed_message;
using detail::artifact::verify_hex;

constexpr const char* kChecksumPrefix = "sha256:";
constexpr const char* kCategoriesPrefix = "data.categories.";

// ---- parsing -----------------------------------------------------------------------------------

// One open object or array while parsing: its keys (objects) or element count (arrays), for
// duplicate detection and for the JSON path in messages.
struct Frame {
  bool object = false;
  std::set<std::string> keys;
  std::string key;
  std::size_t index = 0;
};

std::string frames_path(const std::vector<Frame>& frames) {
  std::string p;
  for (const Frame& f : frames) {
    if (&f == &frames.back()) break;
    p += "/" + (f.object ? f.key : std::to_string(f.index));
  }
  if (p.size() > 100) p = p.substr(0, 100) + "...";
  return p.empty() ? "/" : p;
}

std::string quote_data(const std::string& s) {
  return "\"" + (s.size() > 100 ? s.substr(0, 100) + "..." : s) + "\"";
}

// nlohmann's parser with a callback that (a) rejects nesting deeper than `max_depth` before the
// nested value is allocated, so `[[[[...` cannot amplify memory, and (b) rejects a key repeated
// within one object (nlohmann keeps the last one, so a file could show one value and load
// another). Throws ModelFormatError (syntax errors too); `what` prefixes the paths in messages
// (empty for the document itself).
json parse_strict(std::string_view text, int max_depth, const std::string& what) {
  std::vector<Frame> frames;
  const auto close_value = [&frames] {
    if (!frames.empty() && !frames.back().object) ++frames.back().index;
  };
  const json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& v) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (static_cast<int>(frames.size()) >= max_depth) {
          throw ModelFormatError("load: " + what + frames_path(frames) + " nests deeper than " +
                                 std::to_string(max_depth) +
                                 " levels (LoadOptions.max_json_depth); a pipeline file nests at "
                                 "most 6 levels, so it is corrupt or not a pipeline file.");
        }
        frames.emplace_back();
        frames.back().object = ev == json::parse_event_t::object_start;
        break;
      case json::parse_event_t::key: {
        const std::string key = v.get<std::string>();
        frames.back().key = key;
        if (!frames.back().keys.insert(key).second) {
          // An empty frame so that frames_path ends with the repeated key (this may reallocate
          // `frames`: no reference into it is held across the call).
          frames.emplace_back();
          throw ModelFormatError("load: " + what + frames_path(frames) +
                                 " appears twice (the key " + quote_data(key) +
                                 " is repeated in one object); a key may appear once, otherwise "
                                 "a reader silently keeps one of the values, so the file was "
                                 "edited or is corrupt.");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        close_value();
        break;
      case json::parse_event_t::value:
        close_value();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    throw ModelFormatError("load: " + what + "invalid JSON at byte " + std::to_string(e.byte) +
                           " of " + std::to_string(text.size()) + " (" + e.what() +
                           "); the file is truncated or corrupt.");
  } catch (const json::exception& e) {
    // out_of_range 406: a number literal overflows (e.g. 1e99999); the parser names it.
    throw ModelFormatError("load: " + what + "invalid JSON (" + e.what() +
                           "); the file is corrupt.");
  }
}

// ---- schema, threshold, provenance ------------------------------------------------------------

json encode_schema(const FeatureSchema& s) {
  json features = json::array();
  for (const FeatureInfo& f : s.features) {
    features.push_back({{"name", f.name},
                        {"min", encode_double(f.min)},
                        {"max", encode_double(f.max)},
                        {"missing_rate", encode_double(f.missing_rate)},
                        {"categorical", f.categorical},
                        {"categories", encode_ints(f.categories)},
                        {"unseen_as_missing", f.unseen_as_missing}});
    // Format 1.4: the level table (and the code hierarchy) of a labelled categorical feature,
    // written only when present so that files without labels keep their bytes.
    if (!f.labels.empty()) {
      features.back()["labels"] = f.labels;
      if (f.hierarchy.declared) {
        features.back()["code_hierarchy"] = {{"prefix_lengths", f.hierarchy.prefix_lengths},
                                             {"pooled", f.pooled_labels}};
      }
    }
  }
  return {{"n_train_rows", static_cast<std::int64_t>(s.n_train_rows)}, {"features", features}};
}

FeatureSchema decode_schema(const Node& n) {
  n.expect_object({"n_train_rows", "features"});
  FeatureSchema s;
  s.n_train_rows = n["n_train_rows"].as_int(0, std::numeric_limits<std::int64_t>::max());
  const Node fs = n["features"];
  const std::size_t count = fs.array_size();
  if (count == 0) fs.fail_here("is empty; a pipeline needs at least one feature.");
  s.features.resize(count);
  for (std::size_t j = 0; j < count; ++j) {
    const Node f = fs.at(j);
    // unseen_as_missing: required from format 1.1; a 1.0 file derives it from its labels (see
    // mark_labelled_categories).
    const bool v11 = f.ctx().minor >= 1;
    const bool v14 = f.ctx().minor >= kFormatVersionMinorLabels;
    if (v14) {
      f.expect_object(
          {"name", "min", "max", "missing_rate", "categorical", "categories", "unseen_as_missing"},
          {"labels", "code_hierarchy"});
    } else if (v11) {
      f.expect_object(
          {"name", "min", "max", "missing_rate", "categorical", "categories", "unseen_as_missing"});
    } else {
      f.expect_object({"name", "min", "max", "missing_rate", "categorical", "categories"},
                      {"unseen_as_missing"});
    }
    FeatureInfo& fi = s.features[j];
    fi.name = f["name"].as_string(4096);
    fi.min = f["min"].as_double();
    fi.max = f["max"].as_double();
    fi.missing_rate = f["missing_rate"].as_double();
    fi.categorical = f["categorical"].as_bool();
    if (f.raw().contains("unseen_as_missing")) {
      fi.unseen_as_missing = f["unseen_as_missing"].as_bool();
    }
    fi.categories = f["categories"].as_ints<std::int64_t>(std::numeric_limits<std::int64_t>::min(),
                                                          std::numeric_limits<std::int64_t>::max());
    if (f.raw().contains("labels")) {
      const Node l = f["labels"];
      const std::size_t k = l.array_size();
      if (k == 0) l.fail_here("is empty; a feature without labels has no \"labels\" member.");
      if (k > static_cast<std::size_t>(kMaxCategoryLevels)) {
        l.fail_here("has " + std::to_string(k) + " labels, more than the limit of " +
                    std::to_string(kMaxCategoryLevels) + ".");
      }
      fi.labels.reserve(k);
      for (std::size_t i = 0; i < k; ++i) fi.labels.push_back(l.at(i).as_string(1 << 16));
    }
    if (f.raw().contains("code_hierarchy")) {
      const Node h = f["code_hierarchy"];
      h.expect_object({"prefix_lengths", "pooled"});
      fi.hierarchy.declared = true;
      fi.hierarchy.prefix_lengths = h["prefix_lengths"].as_ints<int>(1, 1000);
      const Node pooled = h["pooled"];
      const std::size_t np = pooled.array_size();
      for (std::size_t i = 0; i < np; ++i) {
        fi.pooled_labels.push_back(pooled.at(i).as_string(1 << 16));
      }
    }
  }
  try {
    s.validate("schema");
  } catch (const InvalidInput& e) {
    n.fail_here(std::string("is inconsistent: ") + e.what());
  }
  return s;
}

// ---- monitoring reference (format 1.3, written only when present) ------------------------------

json encode_reference(const MonitoringReference& r, const FeatureSchema& schema) {
  json features = json::array();
  for (std::size_t j = 0; j < r.features.size(); ++j) {
    const FeatureReference& f = r.features[j];
    features.push_back({{"name", schema.features[j].name},
                        {"edges", encode_doubles(f.edges)},
                        {"shares", encode_doubles(f.shares)},
                        {"missing_share", encode_double(f.missing_share)}});
  }
  const ScoreReference& sc = r.score;
  return {{"features", features},
          {"score",
           {{"edges", encode_doubles(sc.edges)},
            {"shares", encode_doubles(sc.shares)},
            {"n_rows", static_cast<std::int64_t>(sc.n_rows)},
            {"alert_rate", encode_double(sc.alert_rate)}}}};
}

MonitoringReference decode_reference(const Node& n, const FeatureSchema& schema) {
  n.expect_object({"features", "score"});
  MonitoringReference r;
  const Node fs = n["features"];
  const std::size_t count = fs.array_size();
  for (std::size_t j = 0; j < count; ++j) {
    const Node f = fs.at(j);
    f.expect_object({"name", "edges", "shares", "missing_share"});
    const std::string name = f["name"].as_string(4096);
    if (j < schema.features.size() && name != schema.features[j].name) {
      f["name"].fail_here("is " + quote_data(name) + " but schema feature " + std::to_string(j) +
                          " is " + quote_data(schema.features[j].name) +
                          "; the reference must list the features in schema order.");
    }
    FeatureReference fr;
    fr.edges = f["edges"].as_doubles(true);
    fr.shares = f["shares"].as_doubles(true);
    fr.missing_share = f["missing_share"].as_finite();
    r.features.push_back(std::move(fr));
  }
  const Node sc = n["score"];
  sc.expect_object({"edges", "shares", "n_rows", "alert_rate"});
  r.score.edges = sc["edges"].as_doubles(true);
  r.score.shares = sc["shares"].as_doubles(true);
  r.score.n_rows = sc["n_rows"].as_int(1, std::numeric_limits<std::int64_t>::max());
  r.score.alert_rate = sc["alert_rate"].as_finite();
  if (r.features.empty()) fs.fail_here("is empty; a reference lists every schema feature.");
  try {
    r.validate(schema, "reference");
  } catch (const InvalidInput& e) {
    n.fail_here(std::string("is inconsistent: ") + e.what());
  }
  return r;
}

json encode_threshold(const OperatingPointRecord& op) {
  json figures = json::object();
  for (const auto& f : op.figures) figures[f.first] = encode_double(f.second);
  return {{"value", encode_double(op.threshold)}, {"policy", op.policy}, {"figures", figures}};
}

OperatingPointRecord decode_threshold(const Node& n) {
  n.expect_object({"value", "policy", "figures"});
  OperatingPointRecord op;
  const Node v = n["value"];
  op.threshold = v.as_double();
  if (!(op.threshold >= 0.0 && op.threshold <= 1.0)) {
    v.fail_here("is " + Node::describe(op.threshold) +
                " but the threshold must be a probability in [0, 1].");
  }
  op.policy = n["policy"].as_string(4096);
  if (op.policy.empty())
    n["policy"].fail_here("is empty; name the policy that chose the threshold.");
  const Node figs = n["figures"];
  if (!figs.raw().is_object()) figs.wrong_type("an object");
  for (auto it = figs.raw().begin(); it != figs.raw().end(); ++it) {
    const Node f(it.value(), figs.path() + "/" + it.key(), figs.ctx());
    op.figures.emplace_back(it.key(), f.as_double());
  }
  return op;
}

json encode_provenance(const Provenance& p, const std::string& format_version) {
  json params = json::object();
  for (const auto& kv : p.parameters) params[kv.first] = kv.second;
  const DataFingerprint& d = p.training_data;
  return {{"library_version", p.library_version},
          {"format_version", format_version},
          {"parameters", params},
          {"seed", p.seed},
          {"created_at", p.created_at},
          {"training_data",
           {{"rows", static_cast<std::int64_t>(d.rows)},
            {"cols", static_cast<std::int64_t>(d.cols)},
            {"prevalence", encode_double(d.prevalence)},
            {"sha256", d.sha256}}}};
}

Provenance decode_provenance(const Node& n) {
  n.expect_object(
      {"library_version", "format_version", "parameters", "seed", "created_at", "training_data"});
  Provenance p;
  p.library_version = n["library_version"].as_string(256);
  (void)n["format_version"].as_string(64);
  const Node params = n["parameters"];
  if (!params.raw().is_object()) params.wrong_type("an object");
  for (auto it = params.raw().begin(); it != params.raw().end(); ++it) {
    const Node v(it.value(), params.path() + "/" + it.key(), params.ctx());
    p.parameters.emplace_back(it.key(), v.as_string());
  }
  p.seed = n["seed"].as_uint64();
  p.created_at = n["created_at"].as_string(256);
  const Node d = n["training_data"];
  d.expect_object({"rows", "cols", "prevalence", "sha256"});
  const auto big = std::numeric_limits<std::int64_t>::max();
  p.training_data.rows = d["rows"].as_int(0, big);
  p.training_data.cols = d["cols"].as_int(0, big);
  const Node prev = d["prevalence"];
  p.training_data.prevalence = prev.as_double();
  const double pv = p.training_data.prevalence;
  if (!std::isnan(pv) && !(pv >= 0.0 && pv <= 1.0)) {
    prev.fail_here("is " + Node::describe(pv) + " but must be in [0, 1] or \"NaN\" (unknown).");
  }
  const Node sha = d["sha256"];
  p.training_data.sha256 = sha.as_string(64);
  for (char c : p.training_data.sha256) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      sha.fail_here("is not lower-case hexadecimal.");
    }
  }
  if (!p.training_data.sha256.empty() && p.training_data.sha256.size() != 64) {
    sha.fail_here("must be empty or 64 hex digits.");
  }
  return p;
}

// ---- the document ------------------------------------------------------------------------------

std::string version_string() {
  return std::to_string(kFormatVersionMajor) + "." + std::to_string(kFormatVersionMinorNewest);
}

json build_document(const Pipeline& p) {
  // The lowest minor that can read the file: 1.1 unless a field added later is written (1.2: a
  // params field; 1.3: the monitoring reference; 1.4: category labels in the schema).
  int minor = detail::artifact::format_minor_needed(p.model(), p.calibrator(), kFormatVersionMinor);
  if (!p.reference().empty()) minor = std::max(minor, kFormatVersionMinorReference);
  for (const FeatureInfo& f : p.schema().features) {
    if (!f.labels.empty()) minor = std::max(minor, kFormatVersionMinorLabels);
  }
  if (p.n_classes() > 2) minor = std::max(minor, kFormatVersionMinorMulticlass);
  if (!p.parts().expansion.empty()) minor = std::max(minor, kFormatVersionMinorExpansion);
  // A K-class reference (top-label confidence, review rate) is new in 1.7.
  if (p.n_classes() > 2 && !p.reference().empty()) {
    minor = std::max(minor, kFormatVersionMinorExpansion);
  }
  const std::string version = std::to_string(kFormatVersionMajor) + "." + std::to_string(minor);
  json doc = json::object();
  doc["format"] = kFormatName;
  doc["format_version"] = version;
  doc["schema"] = encode_schema(p.schema());
  doc["model"] = detail::artifact::encode_model(p.model());
  doc["calibrator"] = detail::artifact::encode_calibrator(p.calibrator(), p.calibrator_input());
  doc["threshold"] = encode_threshold(p.operating_point());
  doc["provenance"] = encode_provenance(p.provenance(), version);
  if (!p.reference().empty()) doc["reference"] = encode_reference(p.reference(), p.schema());
  detail::artifact::encode_multiclass_sections(p, doc);
  return doc;
}

// The canonical content: nlohmann's compact serialisation (keys sorted, shortest round-trip
// numbers, minimal string escapes) of the document without its "checksum" member.
std::string canonical_checksum(const json& doc_without_checksum) {
  return kChecksumPrefix + detail::sha256_hex(doc_without_checksum.dump());
}

bool all_scalars(const json& a) {
  for (const auto& e : a)
    if (e.is_structured()) return false;
  return true;
}

// Indented rendering: objects one member per line, arrays of scalars on one line (trees stay
// readable and diffable), keys in sorted order.
void render(const json& j, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (j.is_object()) {
    if (j.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t k = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++k) {
      out += pad + "  ";
      out += json(it.key()).dump();
      out += ": ";
      render(it.value(), indent + 1, out);
      out += k + 1 < j.size() ? ",\n" : "\n";
    }
    out += pad + "}";
  } else if (j.is_array()) {
    if (j.empty()) {
      out += "[]";
    } else if (all_scalars(j)) {
      out += "[";
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i) out += ", ";
        out += j[i].dump();
      }
      out += "]";
    } else {
      out += "[\n";
      for (std::size_t i = 0; i < j.size(); ++i) {
        out += pad + "  ";
        render(j[i], indent + 1, out);
        out += i + 1 < j.size() ? ",\n" : "\n";
      }
      out += pad + "]";
    }
  } else {
    out += j.dump();
  }
}

// ---- version, signature, category labels -------------------------------------------------------

// The canonical spelling of a version part: "0" or digits without a leading zero (at most 6).
bool parse_version_part(const std::string& s, int& out) {
  if (s.empty() || s.size() > 6 || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = std::stoi(s);
  return true;
}

// Reads /format_version ("MAJOR.MINOR", canonical spelling only) and sets ctx.strict.
void check_version(const Node& root, ReadContext& ctx, int& minor) {
  const Node ver = root["format_version"];
  const std::string v = ver.as_string(32);
  int major = -1;
  const auto dot = v.find('.');
  if (dot == std::string::npos || !parse_version_part(v.substr(0, dot), major) ||
      !parse_version_part(v.substr(dot + 1), minor)) {
    ver.fail_here("is " + quote_data(v) +
                  " but must be \"MAJOR.MINOR\" in canonical form (decimal " +
                  "digits, no sign, spaces or leading zeros; e.g. \"" + version_string() + "\").");
  }
  if (major > kFormatVersionMajor) {
    ver.fail_here("is " + v + ", a newer major format version than this calibrisk reads (" +
                  version_string() + "); upgrade calibrisk to load this file.");
  }
  if (major < 1) ver.fail_here("is " + v + "; no such format version exists.");
  ctx.strict = minor <= kFormatVersionMinorNewest;
  ctx.minor = minor;
}

bool is_hex(const std::string& s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The optional /signature member (format 1.1): checked, removed from `doc` and returned (null
// when the document is unsigned).
json take_signature(json& doc, const Node& root) {
  if (doc.find("signature") == doc.end()) return json();
  const Node sig = root["signature"];
  sig.expect_object({"algorithm", "key_id", "value"});
  if (sig["algorithm"].as_string(32) != "ed25519") {
    sig["algorithm"].fail_here("is not \"ed25519\", the only signature algorithm of this format.");
  }
  const std::string id = sig["key_id"].as_string(16);
  if (id.size() != 16 || !is_hex(id)) sig["key_id"].fail_here("must be 16 lower-case hex digits.");
  const std::string value = sig["value"].as_string(128);
  if (value.size() != 128 || !is_hex(value)) {
    sig["value"].fail_here("must be 128 lower-case hex digits (an Ed25519 signature).");
  }
  json s = doc["signature"];
  doc.erase("signature");
  return s;
}

// A feature with labels ("data.categories.<feature>", written by `calibrisk train`) was declared
// categorical: its unseen codes are scored as missing. Format 1.0 files do not store the flag, so
// it is derived here; a name that is not a categorical feature is rejected by
// check_category_labels.
void mark_labelled_categories(PipelineParts& parts) {
  const std::size_t prefix = std::strlen(kCategoriesPrefix);
  for (const auto& kv : parts.provenance.parameters) {
    if (kv.first.compare(0, prefix, kCategoriesPrefix) != 0) continue;
    for (FeatureInfo& f : parts.schema.features) {
      if (f.categorical && f.name == kv.first.substr(prefix)) f.unseen_as_missing = true;
    }
  }
}

// The provenance parameters "data.categories.<feature>" (written by `calibrisk train`: a JSON
// array of labels, code k = label k) must agree with the schema and with the trees' splits.
void check_category_labels(const Pipeline& p, int max_json_depth) {
  const std::size_t prefix = std::strlen(kCategoriesPrefix);
  const auto* gbdt = std::get_if<GradientBoostedTrees>(&p.model());
  for (const auto& [key, value] : p.provenance().parameters) {
    if (key.compare(0, prefix, kCategoriesPrefix) != 0) continue;
    const std::string at = "/provenance/parameters/" + key;
    const json j = parse_strict(value, max_json_depth, at + ": ");
    if (!j.is_array()) fail(at, "is not a JSON array of category labels.");
    std::vector<std::string> labels;
    for (const json& e : j) {
      if (!e.is_string()) fail(at, "holds a label that is not a string.");
      labels.push_back(e.get<std::string>());
    }
    const std::string name = key.substr(prefix);
    Index feature = -1;
    try {
      feature = p.schema().validate_category_labels(name, labels, at);
    } catch (const InvalidInput& e) {
      throw ModelFormatError(std::string("load: ") + e.what());
    }
    if (gbdt == nullptr) continue;
    const auto& trees = gbdt->state().ensemble.trees;
    const double hi = static_cast<double>(labels.size()) - 1.0;
    for (std::size_t t = 0; t < trees.size(); ++t) {
      for (std::size_t i = 0; i < trees[t].feature.size(); ++i) {
        const double thr = trees[t].threshold[i];
        if (trees[t].feature[i] == feature && !(thr >= -1.0 && thr <= hi)) {
          fail("/model/state/trees/" + std::to_string(t) + "/threshold/" + std::to_string(i),
               "splits feature " + quote_data(name) + " at " + Node::describe(thr) +
                   " but its category codes are 0.." + Node::describe(hi) + " (" + at +
                   "); the model and its category labels do not belong together.");
        }
      }
    }
  }
}

// Verifies `signature` (null = unsigned) over the canonical content with `key`. Throws
// ModelFormatError, or with `check` records the outcome there.
void check_signature(const json& signature, const std::string& canonical, const PublicKey& key,
                     const LoadOptions& options, SignatureCheck* check) {
  SignatureCheck c;
  c.signed_file = !signature.is_null();
  if (!c.signed_file) {
    c.message = "the file is not signed; sign it with `calibrisk sign --key SECRET_KEY`.";
  } else {
    c.key_id = signature["key_id"].get<std::string>();
    c.valid = verify_hex(signed_message(canonical), signature["value"].get<std::string>(), key);
    if (c.valid) {
      c.message = "signature valid (Ed25519, key id " + c.key_id + ").";
    } else if (c.key_id != key.key_id) {
      c.message = "/signature was made with key id " + c.key_id + " but " +
                  options.public_key_file + " has key id " + key.key_id +
                  "; check that the public key belongs to the signer.";
    } else {
      c.message = "/signature does not match the content (key id " + c.key_id +
                  "); the file was modified after it was signed.";
    }
  }
  if (check != nullptr) {
    *check = c;
  } else if (!c.valid) {
    throw ModelFormatError("load: signature required by LoadOptions.require_signature, but " +
                           c.message);
  }
}

// Everything of load_from_string; with `check` the signature outcome is recorded there instead
// of being required.
Pipeline load_impl(std::string_view text, const LoadOptions& options, SignatureCheck* check) {
  if (text.size() > options.max_bytes) {
    throw ModelFormatError("load: the document has " + std::to_string(text.size()) +
                           " bytes, more than LoadOptions.max_bytes (" +
                           std::to_string(options.max_bytes) +
                           "); raise the limit if it is genuine.");
  }
  if (text.empty()) throw ModelFormatError("load: the document is empty (0 bytes).");
  const bool want_signature = options.require_signature || !options.public_key_file.empty();
  if (want_signature && options.public_key_file.empty()) {
    throw InvalidParams(
        "LoadOptions.require_signature is set but public_key_file is empty; name the public key "
        "file that must have signed the model.");
  }
  // Read the key first: a missing key file is the caller's problem, whatever the document.
  PublicKey key;
  if (want_signature) key = read_public_key(options.public_key_file);

  json doc = parse_strict(text, options.max_json_depth, "");
  ReadContext ctx;
  ctx.text_size = text.size();
  ctx.max_tree_depth = options.max_tree_depth;
  ctx.max_tree_nodes = options.max_tree_nodes;
  const Node root(doc, "", ctx);
  if (!doc.is_object()) root.wrong_type("an object (a calibrisk pipeline document)");

  // Identify the format and version before anything else, so a newer file gets the right message.
  const std::string format = root["format"].as_string(256);
  if (format != kFormatName) {
    root["format"].fail_here("is " + quote_data(format) + " but must be \"" + kFormatName +
                             "\"; this is not a calibrisk pipeline file.");
  }
  int minor = 0;
  check_version(root, ctx, minor);
  if (minor >= kFormatVersionMinorExpansion) {
    root.expect_object({"format", "format_version", "checksum", "schema", "model", "calibrator",
                        "threshold", "provenance"},
                       {"signature", "reference", "classes", "review", "encoding"});
  } else if (minor >= kFormatVersionMinorMulticlass) {
    root.expect_object({"format", "format_version", "checksum", "schema", "model", "calibrator",
                        "threshold", "provenance"},
                       {"signature", "reference", "classes", "review"});
  } else if (minor >= kFormatVersionMinorReference) {
    root.expect_object({"format", "format_version", "checksum", "schema", "model", "calibrator",
                        "threshold", "provenance"},
                       {"signature", "reference"});
  } else if (minor >= 1) {
    root.expect_object({"format", "format_version", "checksum", "schema", "model", "calibrator",
                        "threshold", "provenance"},
                       {"signature"});
  } else {
    root.expect_object({"format", "format_version", "checksum", "schema", "model", "calibrator",
                        "threshold", "provenance"});
  }
  const Node sum = root["checksum"];
  const std::string stored_sum = sum.as_string(128);
  if (stored_sum.rfind(kChecksumPrefix, 0) != 0 || stored_sum.size() != 7 + 64) {
    sum.fail_here("must be \"sha256:\" followed by 64 hex digits.");
  }
  json signature = take_signature(doc, root);

  PipelineParts parts;
  parts.schema = decode_schema(root["schema"]);
  detail::artifact::DecodedModel model = detail::artifact::decode_model(root["model"]);
  // A K-class pipeline (format 1.6) may hold a multiclass calibrator instead of a binary one.
  const bool multiclass = minor >= kFormatVersionMinorMulticlass;
  if (multiclass) detail::artifact::decode_multiclass_sections(root, parts);
  detail::artifact::DecodedCalibrator cal;
  if (!parts.multiclass_calibrator) {
    cal = detail::artifact::decode_calibrator(root["calibrator"]);
  }
  parts.operating_point = decode_threshold(root["threshold"]);
  parts.provenance = decode_provenance(root["provenance"]);
  if (minor >= kFormatVersionMinorReference && doc.find("reference") != doc.end()) {
    parts.reference = decode_reference(root["reference"], parts.schema);
  }

  // The structure is known to be the fixed, shallow schema now, so serialising it is safe.
  doc.erase("checksum");
  const std::string canonical = doc.dump();  // without checksum and signature
  if (options.verify_checksum) {
    if (!signature.is_null()) doc["signature"] = signature;
    const std::string actual =
        kChecksumPrefix + detail::sha256_hex(signature.is_null() ? canonical : doc.dump());
    if (actual != stored_sum) {
      throw ModelFormatError("load: /checksum does not match the content (stored " + stored_sum +
                             ", computed " + actual +
                             "); the file was modified or corrupted after it was written.");
    }
  }
  if (want_signature) check_signature(signature, canonical, key, options, check);

  // Semantic validation: each part's from_state checks its own invariants (tree structure,
  // monotone knots, finite coefficients, ...).
  parts.model = detail::artifact::build_model(std::move(model));
  parts.calibrator = detail::artifact::build_calibrator(std::move(cal), parts.calibrator_input);
  mark_labelled_categories(parts);
  std::optional<Pipeline> p;
  try {
    p.emplace(std::move(parts));
  } catch (const Error& e) {
    throw ModelFormatError(std::string("load: the parts are inconsistent: ") + e.what());
  }
  check_category_labels(*p, options.max_json_depth);
  return std::move(*p);
}

// ---- the codec of single sections --------------------------------------------------------------

// Parses `text` as the section found at `path` of a pipeline file (same limits, duplicate-key and
// depth checks as load) and hands its Node to `decode`.
template <class Decode>
auto decode_section(std::string_view text, const LoadOptions& options, const std::string& path,
                    Decode&& decode) -> decltype(decode(std::declval<const Node&>())) {
  if (text.size() > options.max_bytes) {
    throw ModelFormatError("load: the " + path + " section has " + std::to_string(text.size()) +
                           " bytes, more than LoadOptions.max_bytes (" +
                           std::to_string(options.max_bytes) +
                           "); raise the limit if it is genuine.");
  }
  if (text.empty()) throw ModelFormatError("load: the " + path + " section is empty (0 bytes).");
  const json doc = parse_strict(text, options.max_json_depth, path + " section: ");
  ReadContext ctx;
  ctx.text_size = text.size();
  ctx.minor = kFormatVersionMinor;
  ctx.max_tree_depth = options.max_tree_depth;
  ctx.max_tree_nodes = options.max_tree_nodes;
  return decode(Node(doc, path, ctx));
}

// The compact text of an encoded section; a string that is not UTF-8 is the caller's input.
std::string dump_section(const json& j, const char* what) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    throw InvalidInput(std::string("encode_") + what + ": cannot encode the " + what +
                       " as JSON (" + e.what() + "); its strings must be valid UTF-8.");
  }
}

template <class M>
std::string encode_fitted_model(const M& model, const char* type) {
  if (!model.is_fitted()) {
    throw NotFitted(std::string("encode_model: the ") + type +
                    " is not fitted; call fit first (only a fitted model has state to save).");
  }
  return dump_section(detail::artifact::encode_model(model), "model");
}

}  // namespace

std::string encode_model(const LogisticRegression& model) {
  return encode_fitted_model(model, "LogisticRegression");
}

std::string encode_model(const GradientBoostedTrees& model) {
  return encode_fitted_model(model, "GradientBoostedTrees");
}

std::string encode_model(const PipelineModel& model) {
  return std::visit([](const auto& m) { return encode_model(m); }, model);
}

PipelineModel decode_model(std::string_view text, const LoadOptions& options) {
  return decode_section(text, options, "/model", [](const Node& n) {
    return detail::artifact::build_model(detail::artifact::decode_model(n));
  });
}

std::string encode_calibrator(const PipelineCalibrator& calibrator, CalibratorInput input) {
  return dump_section(detail::artifact::encode_calibrator(calibrator, input), "calibrator");
}

PipelineCalibrator decode_calibrator(std::string_view text, CalibratorInput* input,
                                     const LoadOptions& options) {
  return decode_section(text, options, "/calibrator", [input](const Node& n) {
    CalibratorInput in = CalibratorInput::kProbability;
    PipelineCalibrator c =
        detail::artifact::build_calibrator(detail::artifact::decode_calibrator(n), in);
    if (input != nullptr) *input = in;
    return c;
  });
}

std::string encode_operating_point(const OperatingPointRecord& operating_point) {
  return dump_section(encode_threshold(operating_point), "operating_point");
}

OperatingPointRecord decode_operating_point(std::string_view text, const LoadOptions& options) {
  return decode_section(text, options, "/threshold",
                        [](const Node& n) { return decode_threshold(n); });
}

std::string encode_venn_abers(const VennAbersCalibrator& calibrator) {
  return dump_section(detail::artifact::encode_venn_abers(calibrator), "venn_abers");
}

VennAbersCalibrator decode_venn_abers(std::string_view text, const LoadOptions& options) {
  return decode_section(text, options, "/calibrator",
                        [](const Node& n) { return detail::artifact::decode_venn_abers(n); });
}

std::string encode_review_policy(const ReviewPolicyRecord& policy) {
  return dump_section(detail::artifact::encode_review_policy(policy), "review");
}

ReviewPolicyRecord decode_review_policy(std::string_view text, const LoadOptions& options) {
  return decode_section(text, options, "/review",
                        [](const Node& n) { return detail::artifact::decode_review_policy(n); });
}

std::string encode_multiclass_calibrator(const MulticlassCalibrator& calibrator) {
  return dump_section(detail::artifact::encode_multiclass_calibrator(calibrator), "calibrator");
}

MulticlassCalibrator decode_multiclass_calibrator(std::string_view text,
                                                  const LoadOptions& options) {
  return decode_section(text, options, "/calibrator", [](const Node& n) {
    return detail::artifact::decode_multiclass_calibrator(n);
  });
}

std::string sha256_hex(std::string_view bytes) { return detail::sha256_hex(bytes); }

std::string to_string(const Pipeline& pipeline, const SaveOptions& options) {
  json doc;
  try {
    doc = build_document(pipeline);
    // Dumping validates the strings as UTF-8 before anything is signed.
    const std::string canonical = doc.dump();
    if (!options.signing_key_file.empty()) {
      const SecretKey key = read_secret_key(options.signing_key_file);
      doc["signature"] = {{"algorithm", "ed25519"},
                          {"key_id", key.key_id},
                          {"value", sign_hex(signed_message(canonical), key)}};
    }
  } catch (const json::exception& e) {
    // type_error 316: a string (feature name, parameter, policy) is not valid UTF-8.
    throw InvalidInput(std::string("save: cannot encode the pipeline as JSON (") + e.what() +
                       "); feature names, parameters and the policy must be valid UTF-8.");
  }
  doc["checksum"] = canonical_checksum(doc);
  std::string out;
  render(doc, 0, out);
  out += "\n";
  return out;
}

void save(const Pipeline& pipeline, const std::string& path, const SaveOptions& options) {
  const std::string text = to_string(pipeline, options);
  detail::artifact::write_file(path, text, 0644, /*exclusive=*/false, "save");
}

void generate_key_pair(const std::string& secret_key_file, const std::string& public_key_file) {
  detail::artifact::write_key_pair(secret_key_file, public_key_file);
}

Pipeline load_from_string(std::string_view text, const LoadOptions& options) {
  return load_impl(text, options, nullptr);
}

SignatureCheck verify_signature(std::string_view text, const std::string& public_key_file) {
  LoadOptions o;
  o.public_key_file = public_key_file;
  SignatureCheck check;
  (void)load_impl(text, o, &check);
  return check;
}

Pipeline load(const std::string& path, const LoadOptions& options) {
  const std::string kind = detail::artifact::not_a_regular_file(path);
  if (kind == "is a directory") {
    throw ModelFormatError("load: " + path + " is a directory; name the model file in it.");
  }
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) {
    throw ModelFormatError("load: cannot open " + path + "; check the path and permissions.");
  }
  const std::streamoff size = f.tellg();
  if (size < 0) throw ModelFormatError("load: cannot read the size of " + path + ".");
  if (static_cast<std::uint64_t>(size) > options.max_bytes) {
    throw ModelFormatError("load: " + path + " has " + std::to_string(size) +
                           " bytes, more than LoadOptions.max_bytes (" +
                           std::to_string(options.max_bytes) + ").");
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  f.seekg(0);
  f.read(text.data(), size);
  if (f.gcount() != size) throw ModelFormatError("load: reading " + path + " failed.");
  return load_from_string(text, options);
}

DataFingerprint fingerprint_data(const FeatureMatrix& X, VectorView<const double> y) {
  if (!y.empty() && y.size() != X.rows()) {
    throw InvalidInput("fingerprint_data: X has " + std::to_string(X.rows()) + " rows but y has " +
                       std::to_string(y.size()) + " values; pass one label per row (or none).");
  }
  DataFingerprint fp;
  fp.rows = X.rows();
  fp.cols = X.cols();
  detail::Sha256 h;
  auto put_u64 = [&](std::uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    h.update(b, 8);
  };
  auto put_double = [&](double d) {
    std::uint64_t bits;
    if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
    std::memcpy(&bits, &d, 8);
    put_u64(bits);
  };
  put_u64(static_cast<std::uint64_t>(X.rows()));
  put_u64(static_cast<std::uint64_t>(X.cols()));
  X.visit([&](const auto& v) {
    for (Index i = 0; i < v.rows(); ++i)
      for (Index j = 0; j < v.cols(); ++j) put_double(static_cast<double>(v(i, j)));
  });
  if (!y.empty()) {
    double pos = 0.0;
    for (Index i = 0; i < y.size(); ++i) {
      put_double(y[i]);
      pos += y[i] == 1.0 ? 1.0 : 0.0;
    }
    fp.prevalence = y.size() > 0 ? pos / static_cast<double>(y.size()) : fp.prevalence;
  }
  fp.sha256 = h.finish_hex();
  return fp;
}

}  // namespace calibrisk
