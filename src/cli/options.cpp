// SPDX-License-Identifier: Apache-2.0
// Parsers for --split, --policy and --param (see options.hpp).
#include "cli/options.hpp"

#include "cli/errors.hpp"

#include <calibrisk/io/text.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

namespace calibrisk::cli {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

const char* kPolicyForms =
    "min-recall=0.8, min-precision=0.3, max-alert-rate=0.1, cost-fp=1,cost-fn=10 or max-f=1";

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_key_values(const std::string& text,
                                                                  const std::string& flag) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  std::string item;
  std::istringstream is(text);
  while (std::getline(is, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      throw UsageError(flag + " " + quote_for_message(text) + ": " + quote_for_message(item) +
                       " has no '='; write key=value items separated by commas.");
    }
    std::string key = trim(item.substr(0, eq));
    std::string value = trim(item.substr(eq + 1));
    if (key.empty()) {
      throw UsageError(flag + " " + quote_for_message(text) +
                       ": an item has an empty key; write key=value.");
    }
    if (!seen.insert(key).second) {
      throw UsageError(flag + " " + quote_for_message(text) + ": " + quote_for_message(key) +
                       " is given twice; give it once.");
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  if (out.empty()) throw UsageError(flag + " is empty; write key=value items separated by commas.");
  return out;
}

double parse_double(const std::string& text, const std::string& what) {
  const std::string t = trim(text);
  if (t.empty()) throw UsageError(what + " is empty; give a number.");
  const std::string l = lower(t);
  if (l == "inf" || l == "+inf" || l == "infinity") return std::numeric_limits<double>::infinity();
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE || std::isnan(v) || std::isinf(v)) {
    throw UsageError(what + " must be a number, got " + quote_for_message(text) + ".");
  }
  return v;
}

long long parse_integer(const std::string& text, const std::string& what, long long lo,
                        long long hi) {
  std::string t = trim(text);
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  long long v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  const bool whole = !t.empty() && r.ptr == t.data() + t.size();
  if (!whole || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) {
    throw UsageError(what + " must be a whole number, got " + quote_for_message(text) + ".");
  }
  if (r.ec == std::errc::result_out_of_range || v < lo || v > hi) {
    throw UsageError(what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "], got " + printable(t) + ".");
  }
  return v;
}

std::uint64_t parse_unsigned(const std::string& text, const std::string& what, std::uint64_t hi) {
  std::string t = trim(text);
  const bool negative = !t.empty() && t[0] == '-';
  if (!t.empty() && (t[0] == '+' || negative)) t.erase(0, 1);
  std::uint64_t v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  const bool whole = !t.empty() && t[0] != '-' && t[0] != '+' && r.ptr == t.data() + t.size();
  if (!whole || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) {
    throw UsageError(what + " must be a whole number >= 0, got " + quote_for_message(text) + ".");
  }
  if (r.ec == std::errc::result_out_of_range || v > hi || (negative && v != 0)) {
    throw UsageError(what + " must be in [0, " + std::to_string(hi) + "], got " +
                     printable(trim(text)) + ".");
  }
  return v;
}

bool parse_bool(const std::string& text, const std::string& what) {
  const std::string l = lower(trim(text));
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  throw UsageError(what + " must be true or false, got " + quote_for_message(text) + ".");
}

SplitFractions parse_split(const std::string& text) {
  const auto kv = parse_key_values(text, "--split");
  double f[3] = {-1.0, -1.0, -1.0};
  const char* names[3] = {"train", "calibration", "test"};
  for (const auto& [key, value] : kv) {
    const std::string k = lower(key);
    int idx = -1;
    if (k == "train") idx = 0;
    if (k == "calibration" || k == "cal" || k == "calib") idx = 1;
    if (k == "test") idx = 2;
    if (idx < 0) {
      throw UsageError("--split " + quote_for_message(text) + ": unknown part " +
                       quote_for_message(key) +
                       "; the parts are train, calibration and test "
                       "(e.g. --split train=0.6,calibration=0.2,test=0.2).");
    }
    if (f[idx] >= 0.0) {
      throw UsageError("--split " + quote_for_message(text) + ": " + names[idx] +
                       " is given twice.");
    }
    const double v = parse_double(value, std::string("--split ") + names[idx]);
    if (!(v > 0.0 && v < 1.0)) {
      throw UsageError(std::string("--split ") + names[idx] + " must be in (0, 1), got " +
                       printable(value) + "; every part needs some rows.");
    }
    f[idx] = v;
  }
  int missing = 0;
  double sum = 0.0;
  for (double v : f) {
    if (v < 0.0) {
      ++missing;
    } else {
      sum += v;
    }
  }
  if (missing == 1) {
    for (double& v : f) {
      if (v < 0.0) v = 1.0 - sum;
    }
    for (int i = 0; i < 3; ++i) {
      if (!(f[i] > 1e-12)) {
        throw UsageError("--split " + quote_for_message(text) + ": the given fractions sum to " +
                         fmt(sum) + ", leaving nothing for " + names[i] + "; they must sum to 1.");
      }
    }
  } else if (missing > 1) {
    throw UsageError("--split " + quote_for_message(text) +
                     ": give at least two of train, calibration and test "
                     "(e.g. --split train=0.6,calibration=0.2,test=0.2).");
  } else if (std::abs(sum - 1.0) > 1e-6) {
    throw UsageError("--split " + quote_for_message(text) + ": the fractions sum to " + fmt(sum) +
                     "; they must sum to 1.");
  }
  return {f[0], f[1], f[2]};
}

namespace {

// "a, b" -> {"a", "b"}: exactly two non-empty items of `flag`.
std::vector<std::string> two_items(const std::string& text, const std::string& flag) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream is(text);
  while (std::getline(is, item, ',')) items.push_back(trim(item));
  if (items.size() != 2 || items[0].empty() || items[1].empty()) {
    throw UsageError(flag + " " + quote_for_message(text) +
                     ": give two cuts separated by a comma (training ends at the first, the test "
                     "part starts at the second), e.g. --cut 2023-01-01,2023-07-01 or "
                     "--cut-fractions 0.6,0.8.");
  }
  return items;
}

}  // namespace

SplitRule parse_split_rule(const std::string& rule, const std::string& cut,
                           const std::string& cut_fractions, const std::string& patients,
                           CalendarSpec& calendar) {
  SplitRule r{};
  std::string alias;
  if (!enum_from_text(lower(trim(rule)), r, alias)) {
    throw UsageError("--split-rule must be entry or calendar, got " + quote_for_message(rule) +
                     ".");
  }
  if (!enum_from_text(lower(trim(patients)), calendar.patients, alias)) {
    throw UsageError("--calendar-patients must be exclude or later-only, got " +
                     quote_for_message(patients) + ".");
  }
  const bool given = !trim(cut).empty() || !trim(cut_fractions).empty();
  if (r == SplitRule::kEntry) {
    if (given) {
      throw UsageError(
          "--cut / --cut-fractions apply to --split-rule calendar; add --split-rule calendar "
          "(or drop the cuts to split by patient entry with --split).");
    }
    return r;
  }
  if (!trim(cut).empty() && !trim(cut_fractions).empty()) {
    throw UsageError("give --cut or --cut-fractions, not both.");
  }
  if (!given) {
    throw UsageError(
        "--split-rule calendar needs the two cuts: --cut 2023-01-01,2023-07-01 (dates or numbers "
        "of the time column) or --cut-fractions 0.6,0.8 (of its range).");
  }
  if (!trim(cut).empty()) {
    calendar.cuts = two_items(cut, "--cut");
  } else {
    for (const auto& f : two_items(cut_fractions, "--cut-fractions")) {
      calendar.cut_fractions.push_back(parse_double(f, "--cut-fractions"));
    }
  }
  return r;
}

ThresholdPolicy parse_policy(const std::string& text) {
  const auto kv = parse_key_values(text, "--policy");
  ThresholdPolicy p = policy::min_recall(0.8);
  auto rate = [&](const std::string& key, const std::string& value) {
    const double v = parse_double(value, "--policy " + key);
    if (!(v > 0.0 && v <= 1.0)) {
      throw UsageError("--policy " + key + " must be in (0, 1], got " + printable(value) + ".");
    }
    return v;
  };
  if (kv.size() == 1) {
    const std::string key = lower(kv[0].first);
    const std::string& value = kv[0].second;
    std::string alias;  // underscore forms are accepted silently, as always
    if (enum_from_text(key, p.kind, alias) && p.kind != PolicyKind::kMinCost) {
      if (p.kind != PolicyKind::kMaxFBeta) {
        p.value = rate(key, value);
        return p;
      }
      p.value = parse_double(value, "--policy max-f (beta)");
      if (!(p.value > 0.0) || std::isinf(p.value)) {
        throw UsageError("--policy max-f (beta) must be a finite number > 0, got " +
                         printable(value) + " (1 = F1; 2 weighs recall higher).");
      }
      return p;
    }
  }
  if (kv.size() == 2) {
    double fp = -1.0, fn = -1.0;
    for (const auto& [key, value] : kv) {
      const std::string k = lower(key);
      if (k == "cost-fp" || k == "cost_fp") fp = parse_double(value, "--policy cost-fp");
      if (k == "cost-fn" || k == "cost_fn") fn = parse_double(value, "--policy cost-fn");
    }
    if (fp != -1.0 && fn != -1.0) {
      if (!(fp > 0.0) || !(fn > 0.0) || std::isinf(fp) || std::isinf(fn)) {
        throw UsageError("--policy costs must be finite and > 0, got cost-fp=" + fmt(fp) +
                         ", cost-fn=" + fmt(fn) + ".");
      }
      p.kind = PolicyKind::kMinCost;
      p.cost_fp = fp;
      p.cost_fn = fn;
      p.value = 0.0;
      return p;
    }
  }
  throw UsageError("--policy " + quote_for_message(text) + " is not a policy; use one of " +
                   kPolicyForms + ".");
}

ParamField int_field(std::string name, int& field) {
  const std::string n = name;
  return {std::move(name), "int",
          [&field, n](const std::string& v) {
            field =
                static_cast<int>(parse_integer(v, "--param " + n, std::numeric_limits<int>::min(),
                                               std::numeric_limits<int>::max()));
          },
          [&field] { return std::to_string(field); }};
}

ParamField double_field(std::string name, double& field) {
  const std::string n = name;
  return {std::move(name), "double",
          [&field, n](const std::string& v) { field = parse_double(v, "--param " + n); },
          [&field] { return format_double(field); }};
}

ParamField bool_field(std::string name, bool& field) {
  const std::string n = name;
  return {std::move(name), "bool",
          [&field, n](const std::string& v) { field = parse_bool(v, "--param " + n); },
          [&field] { return std::string(field ? "true" : "false"); }};
}

ParamField uint64_field(std::string name, std::uint64_t& field) {
  const std::string n = name;
  return {std::move(name), "uint64",
          [&field, n](const std::string& v) { field = parse_unsigned(v, "--param " + n); },
          [&field] { return std::to_string(field); }};
}

ParamField index_field(std::string name, std::ptrdiff_t& field) {
  const std::string n = name;
  return {std::move(name), "int",
          [&field, n](const std::string& v) {
            field = static_cast<std::ptrdiff_t>(
                parse_integer(v, "--param " + n, std::numeric_limits<long long>::min(),
                              std::numeric_limits<long long>::max()));
          },
          [&field] { return std::to_string(field); }};
}

void apply_params(const std::vector<std::string>& assignments,
                  const std::vector<ParamField>& fields, const std::string& model) {
  std::set<std::string> seen;
  for (const std::string& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("--param " + quote_for_message(a) + " must be key=value (e.g. --param " +
                       (fields.empty() ? std::string("name") : fields.front().name) + "=...).");
    }
    const std::string key = trim(a.substr(0, eq));
    const std::string value = trim(a.substr(eq + 1));
    const auto it = std::find_if(fields.begin(), fields.end(),
                                 [&](const ParamField& f) { return f.name == key; });
    if (it == fields.end()) {
      std::string valid;
      for (const auto& f : fields)
        valid += (valid.empty() ? "" : ", ") + f.name + " (" + f.type + ")";
      throw UsageError("--param: " + quote_for_message(key) + " is not a parameter of " + model +
                       "; valid keys: " + valid + ".");
    }
    if (!seen.insert(key).second) {
      throw UsageError("--param " + key + " is given twice; give each parameter once.");
    }
    it->set(value);
  }
}

}  // namespace calibrisk::cli
