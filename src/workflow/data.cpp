// SPDX-License-Identifier: Apache-2.0
// Column roles, features, labels and category labels of a training table (see data.hpp).
#include <calibrisk/workflow/data.hpp>

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/report/evaluate.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <unordered_set>

namespace calibrisk {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// label_values of a label column of one or two text labels.
std::vector<double> text_label_values(const Column& c, const std::string& label, bool require_both,
                                      const std::string& positive, const std::string& negative) {
  // Scoring a model trained on text labels: a file coded 0/1 is read as its numbers.
  const bool coded =
      !negative.empty() && std::all_of(c.categories.begin(), c.categories.end(),
                                       [](const auto& l) { return l == "0" || l == "1"; });
  if (!negative.empty() && !coded) {
    for (const auto& l : c.categories) {
      if (l != positive && l != negative) {
        throw InvalidInput(
            "label column " + quote_for_message(label) + " holds " + quote_for_message(l) +
            ", which the model was not trained on: its "
            "labels are " +
            quote_for_message(negative) + " (0) and " + quote_for_message(positive) + " (1).");
      }
    }
  }
  const std::string event = coded ? std::string("1")
                            : negative.empty()
                                ? binary_positive_label(c.categories, positive, label)
                                : positive;
  std::vector<double> y(c.values.size());
  Index n1 = 0;
  for (std::size_t i = 0; i < c.values.size(); ++i) {
    const double v = c.values[i];
    if (std::isnan(v) || v < 0) {
      throw InvalidInput("label column " + quote_for_message(label) + " is missing at data row " +
                         std::to_string(i + 1) +
                         "; every row needs a label (remove unlabelled rows first).");
    }
    y[i] = c.categories[static_cast<std::size_t>(v)] == event ? 1.0 : 0.0;
    n1 += y[i] == 1.0;
  }
  const Index n = static_cast<Index>(y.size());
  if (require_both && (n1 == 0 || n1 == n)) {
    throw InvalidInput("label column " + quote_for_message(label) + " holds only " +
                       quote_for_message(c.categories.front()) + " in all " + std::to_string(n) +
                       " rows; both classes are needed to train and evaluate.");
  }
  return y;
}

}  // namespace

CsvReadOptions training_read_options(const ColumnRoles& roles,
                                     const std::vector<std::string>& header) {
  auto require = [&](const std::string& col, const std::string& flag) {
    if (!col.empty() && !contains(header, col)) {
      throw InvalidInput(flag + " " + printable(col) + ": the file has no column " +
                         quote_for_message(col) + "; its columns are: " + list_for_message(header) +
                         ".");
    }
  };
  require(roles.label, "--label");
  require(roles.group, "--group-column");
  require(roles.time, "--time-column");
  for (const auto& c : roles.categorical) require(c, "--categorical");
  for (const auto& c : roles.drop) require(c, "--drop");
  for (const auto& kv : roles.code_hierarchy) require(kv.first, "--code-hierarchy");
  // A subgroup spec is a column or columns joined by '*' (an intersection; calibrisk/report/
  // evaluate.hpp): each column it names must exist.
  std::vector<std::string> subgroup_columns;
  for (const auto& spec : roles.subgroups) {
    for (auto& c : subgroup_spec_columns(spec, header, "--subgroup " + printable(spec))) {
      if (!contains(subgroup_columns, c)) subgroup_columns.push_back(std::move(c));
    }
  }

  auto clash = [&](const std::string& a, const std::string& what_a, const std::string& what_b) {
    throw InvalidParams("column " + quote_for_message(a) + " is given as both " + what_a + " and " +
                        what_b + "; give each column one role.");
  };
  if (!roles.group.empty() && roles.group == roles.label)
    clash(roles.label, "--label", "--group-column");
  if (!roles.time.empty() && roles.time == roles.label)
    clash(roles.label, "--label", "--time-column");
  if (!roles.time.empty() && roles.time == roles.group)
    clash(roles.time, "--time-column", "--group-column");
  if (contains(roles.drop, roles.label)) clash(roles.label, "--label", "--drop");
  if (contains(roles.categorical, roles.label)) clash(roles.label, "--label", "--categorical");
  if (!roles.time.empty() && contains(roles.categorical, roles.time)) {
    clash(roles.time, "--time-column", "--categorical");
  }
  for (const auto& [c, h] : roles.code_hierarchy) {
    if (c == roles.label) clash(c, "--label", "--code-hierarchy");
    if (c == roles.time) clash(c, "--time-column", "--code-hierarchy");
    if (c == roles.group) clash(c, "--group-column", "--code-hierarchy");
    if (contains(roles.drop, c)) clash(c, "--drop", "--code-hierarchy");
    h.validate(c);
  }
  if (roles.hierarchy_min_count < 1) {
    throw InvalidParams("--hierarchy-min-count must be >= 1 (1 pools nothing), got " +
                        std::to_string(roles.hierarchy_min_count) + ".");
  }

  CsvReadOptions o;
  o.required_columns.push_back(roles.label);
  o.time_column = roles.time;
  std::set<std::string> cat(roles.categorical.begin(), roles.categorical.end());
  if (!roles.group.empty()) cat.insert(roles.group);
  for (const auto& d : roles.drop) {
    if (d != roles.time) cat.insert(d);
  }
  for (const auto& s : subgroup_columns) {
    // A subgroup column that is not a feature may hold text; a feature keeps its kind.
    const bool is_feature =
        s != roles.label && s != roles.group && s != roles.time && !contains(roles.drop, s);
    if (!is_feature && s != roles.time && s != roles.label) cat.insert(s);
  }
  for (const auto& kv : roles.code_hierarchy) cat.insert(kv.first);
  if (roles.label_as_text) cat.insert(roles.label);
  o.categorical.assign(cat.begin(), cat.end());
  o.code_hierarchies.insert(roles.code_hierarchy.begin(), roles.code_hierarchy.end());
  o.hierarchy_min_count = roles.hierarchy_min_count;
  o.infer_categorical = roles.infer_categorical;
  if (!roles.label_as_text) o.numeric_columns.push_back(roles.label);
  return o;
}

std::vector<std::string> feature_columns(const Table& table, const ColumnRoles& roles) {
  std::vector<std::string> f;
  for (const auto& c : table.columns()) {
    if (c.name == roles.label || c.name == roles.group || c.name == roles.time) continue;
    if (contains(roles.drop, c.name)) continue;
    f.push_back(c.name);
  }
  if (f.empty()) {
    throw InvalidInput(
        "no feature columns are left after removing the label, group, time and "
        "dropped columns; the file's columns are: " +
        list_for_message(table.names()) + ".");
  }
  return f;
}

std::string binary_positive_label(const std::vector<std::string>& labels,
                                  const std::string& positive, const std::string& column) {
  std::string shown;
  for (const auto& l : labels) shown += (shown.empty() ? "" : " and ") + quote_for_message(l);
  if (!positive.empty()) {
    if (!contains(labels, positive)) {
      throw InvalidInput("--positive " + quote_for_message(positive) + ": label column " +
                         quote_for_message(column) + " holds " + shown +
                         ", not that label; name the event's label exactly as the file writes "
                         "it.");
    }
    return positive;
  }
  auto lower = [](std::string t) {
    for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return t;
  };
  static const std::pair<const char*, const char*> kPairs[] = {
      {"yes", "no"}, {"y", "n"}, {"true", "false"}, {"t", "f"}};
  for (const auto& [yes, no] : kPairs) {
    std::string event;
    bool all = true;
    for (const auto& l : labels) {
      const std::string k = lower(l);
      if (k == yes) {
        event = l;
      } else if (k != no) {
        all = false;
      }
    }
    if (all && !event.empty()) return event;
  }
  throw InvalidInput("label column " + quote_for_message(column) + " holds the text labels " +
                     shown +
                     "; say which is the event (coded 1) with --positive LABEL (Python "
                     "positive=\"LABEL\"), or code the column 0/1.");
}

std::vector<double> label_values(const Table& table, const std::string& label, bool require_both,
                                 const std::string& positive, const std::string& negative) {
  const Column& c = table.column(label);
  if (c.kind == ColumnKind::kCategorical && c.categories.size() <= 2) {
    return text_label_values(c, label, require_both, positive, negative);
  }
  if (c.kind != ColumnKind::kNumeric) {
    throw InvalidInput(
        "label column " + quote_for_message(label) + " must hold the numbers 0 and 1" +
        (c.kind == ColumnKind::kCategorical
             ? " or two text labels; it holds " + std::to_string(c.categories.size()) +
                   " (a label of more classes is a multiclass task: --task "
                   "multiclass)."
             : "."));
  }
  if (!positive.empty() && positive != "1") {
    throw InvalidInput("--positive " + quote_for_message(positive) + ": label column " +
                       quote_for_message(label) +
                       " holds numbers, whose event is 1; --positive names the event of a label "
                       "of two text values.");
  }
  std::vector<double> y(c.values.size());
  Index n1 = 0;
  for (std::size_t i = 0; i < c.values.size(); ++i) {
    const double v = c.values[i];
    if (std::isnan(v)) {
      throw InvalidInput("label column " + quote_for_message(label) + " is missing at data row " +
                         std::to_string(i + 1) +
                         "; every row needs a 0/1 label (remove "
                         "unlabelled rows first).");
    }
    if (v != 0.0 && v != 1.0) {
      throw InvalidInput(
          "label column " + quote_for_message(label) + " has value " +
          printable(c.text(static_cast<Index>(i))) + " at data row " + std::to_string(i + 1) +
          "; labels must be 0 or 1 (encode the positive class as 1; a label of more classes is "
          "a multiclass task: --task multiclass).");
    }
    y[i] = v;
    n1 += v == 1.0;
  }
  const Index n = static_cast<Index>(y.size());
  if (require_both && (n1 == 0 || n1 == n)) {
    throw InvalidInput("label column " + quote_for_message(label) + " holds only class " +
                       (n1 == 0 ? "0" : "1") + " in all " + std::to_string(n) +
                       " rows; both classes 0 and 1 are needed to train and evaluate.");
  }
  return y;
}

RowMatrixXd take_rows(const RowMatrixXd& X, const std::vector<Index>& rows) {
  RowMatrixXd out(static_cast<Index>(rows.size()), X.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Index>(i)) = X.row(rows[i]);
  return out;
}

std::vector<double> take(const std::vector<double>& v, const std::vector<Index>& rows) {
  std::vector<double> out(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) out[i] = v[static_cast<std::size_t>(rows[i])];
  return out;
}

std::map<std::string, std::vector<std::string>> feature_category_labels(
    const Table& table, const std::vector<std::string>& features) {
  std::map<std::string, std::vector<std::string>> m;
  for (const auto& f : features) {
    const Column& c = table.column(f);
    if (c.kind == ColumnKind::kCategorical) m[f] = c.categories;
  }
  return m;
}

std::vector<int> declared_categorical_features(const Table& table,
                                               const std::vector<std::string>& features) {
  std::vector<int> out;
  for (std::size_t j = 0; j < features.size(); ++j) {
    if (table.column(features[j]).kind == ColumnKind::kCategorical) {
      out.push_back(static_cast<int>(j));
    }
  }
  return out;
}

std::pair<std::string, CodeHierarchy> parse_code_hierarchy(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return InvalidParams("--code-hierarchy " + printable(text) + ": " + why +
                         "; give COLUMN (dotted codes: 250.01 -> 250.0 -> 250) or "
                         "COLUMN:LENGTHS with prefix lengths such as dx1:3,4.");
  };
  const auto colon = text.rfind(':');
  std::string column = text;
  CodeHierarchy h = CodeHierarchy::dotted();
  if (colon != std::string::npos) {
    const std::string tail = text.substr(colon + 1);
    bool numeric = !tail.empty();
    for (char c : tail) numeric = numeric && ((c >= '0' && c <= '9') || c == ',' || c == ' ');
    if (numeric) {
      column = text.substr(0, colon);
      std::vector<int> lengths;
      std::size_t start = 0;
      while (start <= tail.size()) {
        const auto comma = tail.find(',', start);
        std::string part =
            tail.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        part.erase(std::remove(part.begin(), part.end(), ' '), part.end());
        if (part.empty() || part.size() > 4) throw bad("a prefix length is empty or too long");
        lengths.push_back(std::stoi(part));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      h = CodeHierarchy::by_prefix(std::move(lengths));
    }
  }
  if (column.empty()) throw bad("the column name is empty");
  h.validate(column);
  return {column, h};
}

std::vector<std::string> identifier_like_columns(const Table& table,
                                                 const std::vector<std::string>& features) {
  std::vector<std::string> out;
  if (table.rows() <= 100) return out;
  for (const auto& f : features) {
    const Column& c = table.column(f);
    if (c.kind == ColumnKind::kTime) continue;
    std::unordered_set<double> seen;
    bool ok = true;
    for (double v : c.values) {
      if (std::isnan(v) || v != std::floor(v) || !seen.insert(v).second) {
        ok = false;
        break;
      }
    }
    if (ok) out.push_back(f);
  }
  return out;
}

}  // namespace calibrisk
