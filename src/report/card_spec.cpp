// SPDX-License-Identifier: Apache-2.0
// The user-written part of a model card: a small JSON object parsed strictly (unknown keys are
// named with the closest known one, wrong types are named), so a typo never silently drops a
// field that a compliance reviewer expects to see.
#include <calibrisk/io/text.hpp>
#include <calibrisk/report/card.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace calibrisk {

namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxSpecBytes = 1u << 20;

// Levenshtein distance (small strings only: spec keys).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The known name nearest to `key` (case-insensitive, '-' and ' ' read as '_'), or "" when none
// is within a third of its length (at least 2 edits).
std::string closest_field(const std::string& key) {
  std::string k = key.substr(0, 64);
  for (char& c : k) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '-' || c == ' ') c = '_';
  }
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, k.size() / 3) + 1;
  for (const auto& name : CardSpec::field_names()) {
    const std::size_t d = edit_distance(k, name);
    if (d < best_d) best_d = d, best = name;
  }
  return best;
}

[[noreturn]] void bad(const std::string& what) {
  throw InvalidInput("card spec: " + what + " See docs/card.md for the fields of a card spec.");
}

std::string known_fields() {
  std::string s;
  for (const auto& n : CardSpec::field_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void check_unknown(const json& j) {
  std::vector<std::string> unknown;
  const auto& names = CardSpec::field_names();
  for (const auto& item : j.items()) {
    if (std::find(names.begin(), names.end(), item.key()) == names.end())
      unknown.push_back(item.key());
  }
  if (unknown.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < unknown.size() && i < 10; ++i) {
    list += (i ? ", " : "") + quote_for_message(unknown[i], 60);
    const std::string near = closest_field(unknown[i]);
    if (!near.empty()) list += " (did you mean '" + near + "'?)";
  }
  if (unknown.size() > 10) list += ", ... (" + std::to_string(unknown.size()) + " in all)";
  bad("unknown field" + std::string(unknown.size() > 1 ? "s " : " ") + list +
      "; the known fields are " + known_fields() + ".");
}

std::string text_field(const json& v, const std::string& key) {
  if (v.is_null()) return {};
  if (!v.is_string()) {
    bad("field '" + key + "' is a " + v.type_name() + "; it must be a string.");
  }
  return v.get<std::string>();
}

std::vector<std::string> list_field(const json& v, const std::string& key) {
  if (v.is_null()) return {};
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) {
    bad("field '" + key + "' is a " + v.type_name() +
        "; it must be an array of strings (or one string).");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      bad("field '" + key + "' item " + std::to_string(i) + " is a " + v[i].type_name() +
          "; every item must be a string.");
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

// Parses with duplicate top-level keys refused (nlohmann would keep the last one silently).
json parse_spec(const std::string& text) {
  std::set<std::string> seen;
  std::string duplicate;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() &&
        !seen.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  try {
    json j = json::parse(text, cb);
    if (!duplicate.empty())
      bad("field " + quote_for_message(duplicate, 60) + " appears twice; give it once.");
    return j;
  } catch (const json::parse_error& e) {
    bad("the text is not valid JSON (" + printable(e.what(), 200) +
        "); write one JSON object, e.g. {\"intended_use\": \"...\"}.");
  }
}

}  // namespace

const std::vector<std::string>& CardSpec::field_names() {
  static const std::vector<std::string> names = {
      "model_name",   "version",        "date",        "summary",
      "intended_use", "intended_users", "population",  "out_of_scope_uses",
      "owners",       "contact",        "limitations", "ethical_considerations",
      "references"};
  return names;
}

CardSpec card_spec_from_json(const std::string& text) {
  if (text.size() > kMaxSpecBytes) {
    bad("the text has " + std::to_string(text.size()) + " bytes; a card spec is at most " +
        std::to_string(kMaxSpecBytes) + " bytes.");
  }
  const json j = parse_spec(text);
  if (!j.is_object()) {
    bad(std::string("the document is a ") + j.type_name() +
        "; it must be one JSON object of fields, e.g. {\"intended_use\": \"...\"}.");
  }
  check_unknown(j);
  CardSpec s;
  auto str = [&](const char* key, std::string& out) {
    if (j.contains(key)) out = text_field(j.at(key), key);
  };
  auto list = [&](const char* key, std::vector<std::string>& out) {
    if (j.contains(key)) out = list_field(j.at(key), key);
  };
  str("model_name", s.model_name);
  str("version", s.version);
  str("date", s.date);
  str("summary", s.summary);
  str("intended_use", s.intended_use);
  str("intended_users", s.intended_users);
  str("population", s.population);
  list("out_of_scope_uses", s.out_of_scope_uses);
  list("owners", s.owners);
  str("contact", s.contact);
  list("limitations", s.limitations);
  list("ethical_considerations", s.ethical_considerations);
  list("references", s.references);
  return s;
}

}  // namespace calibrisk
