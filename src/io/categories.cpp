// SPDX-License-Identifier: Apache-2.0
// The categorical level table: fitting (distinct labels, code-hierarchy back-off), validation and
// the allocation-free label lookup (binary search over the byte-sorted levels).
#include <calibrisk/io/categories.hpp>
#include <calibrisk/io/text.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <unordered_map>

namespace calibrisk {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string col(const std::string& column) { return "column " + quote_for_message(column); }

}  // namespace

CodeHierarchy CodeHierarchy::by_prefix(std::vector<int> lengths) {
  CodeHierarchy h;
  h.declared = true;
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  h.prefix_lengths = std::move(lengths);
  return h;
}

void CodeHierarchy::validate(const std::string& column) const {
  if (!declared && !prefix_lengths.empty()) {
    throw InvalidParams("code hierarchy of " + col(column) +
                        " lists prefix lengths but is not declared; set declared = true.");
  }
  for (std::size_t k = 0; k < prefix_lengths.size(); ++k) {
    const int n = prefix_lengths[k];
    if (n < 1 || n > 1000 || (k > 0 && n <= prefix_lengths[k - 1])) {
      throw InvalidParams("code hierarchy of " + col(column) + ": prefix length " +
                          std::to_string(n) +
                          " is not in [1, 1000] or the lengths are not ascending and unique; "
                          "give lengths such as 3,4 (ICD-9 categories and subcategories).");
    }
  }
}

std::vector<std::string_view> CodeHierarchy::ancestors(std::string_view label) const {
  std::vector<std::string_view> out;
  for_each_ancestor(label, [&](std::string_view a) {
    out.push_back(a);
    return false;
  });
  return out;
}

void CategoryOptions::validate(const std::string& column) const {
  hierarchy.validate(column);
  if (min_count < 1) {
    throw InvalidParams("min_count of " + col(column) + " must be >= 1 (1 pools nothing), got " +
                        std::to_string(min_count) + ".");
  }
  if (max_levels < 1 || max_levels > kMaxCategoryLevels) {
    throw InvalidParams("max_levels of " + col(column) + " must be in [1, " +
                        std::to_string(kMaxCategoryLevels) + "], got " +
                        std::to_string(max_levels) + ".");
  }
}

namespace {

// Code-hierarchy back-off (see CategoryLevels::fit): the level each training label of `n_of`
// (label -> rows) encodes to.
std::map<std::string, std::string> pool_rare_labels(const std::map<std::string, Index>& n_of,
                                                    const CategoryOptions& options) {
  std::map<std::string, std::string> level_of;
  // Code-hierarchy back-off. A pending item is a rare label with the list of its ancestors
  // and the position of the next one to try.
  struct Pending {
    std::string label;
    std::vector<std::string> ancestors;
    std::size_t next = 0;
  };
  std::vector<Pending> pending;
  for (const auto& [l, n] : n_of) {
    if (n >= options.min_count) {
      level_of.emplace(l, l);
      continue;
    }
    Pending p;
    p.label = l;
    for (std::string_view a : options.hierarchy.ancestors(l)) p.ancestors.emplace_back(a);
    pending.push_back(std::move(p));
  }
  // Longest next ancestor first (bytes, then the ancestor text: a deterministic order).
  while (true) {
    std::size_t longest = 0;
    bool any = false;
    for (const Pending& p : pending) {
      if (p.next < p.ancestors.size()) {
        longest = std::max(longest, p.ancestors[p.next].size());
        any = true;
      }
    }
    if (!any) break;
    // Groups of this length, by ancestor.
    std::map<std::string, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      const Pending& p = pending[i];
      if (p.next < p.ancestors.size() && p.ancestors[p.next].size() == longest) {
        groups[p.ancestors[p.next]].push_back(i);
      }
    }
    std::vector<char> done(pending.size(), 0);
    std::unordered_map<std::string_view, std::size_t> pending_at;
    for (std::size_t i = 0; i < pending.size(); ++i) pending_at.emplace(pending[i].label, i);
    for (const auto& [a, members] : groups) {
      Index rows = 0;
      for (std::size_t i : members) rows += n_of.at(pending[i].label);
      // A training label equal to the ancestor: a frequent one (a level already) or a rare one
      // still pending joins the group.
      std::size_t self = pending.size();
      const auto at = pending_at.find(a);
      if (at != pending_at.end() && !done[at->second]) self = at->second;
      const auto own = n_of.find(a);
      const bool frequent_self = own != n_of.end() && own->second >= options.min_count;
      if (frequent_self) rows += own->second;
      if (self < pending.size()) rows += n_of.at(a);
      if (rows < options.min_count) {
        for (std::size_t i : members) ++pending[i].next;
        continue;
      }
      for (std::size_t i : members) {
        level_of[pending[i].label] = a;
        done[i] = 1;
      }
      if (self < pending.size()) {
        level_of[a] = a;
        done[self] = 1;
      }
    }
    std::vector<Pending> keep;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (!done[i]) keep.push_back(std::move(pending[i]));
    }
    pending = std::move(keep);
  }
  for (const Pending& p : pending) level_of[p.label] = p.label;  // no ancestor reached min_count
  return level_of;
}

}  // namespace

CategoryLevels CategoryLevels::fit(std::string column, const std::vector<std::string_view>& labels,
                                   const CategoryOptions& options) {
  options.validate(column);
  std::unordered_map<std::string_view, Index> counts;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string_view l = trim(labels[i]);
    if (l.empty()) continue;
    auto it = counts.find(l);
    if (it != counts.end()) {
      ++it->second;
      continue;
    }
    const std::size_t bad = first_invalid_utf8(l);
    if (bad != std::string_view::npos) {
      throw InvalidInput(col(column) + " has a label that is not valid UTF-8 at row " +
                         std::to_string(i + 1) + " (byte " + std::to_string(bad) + " of " +
                         quote_for_message(l) +
                         "); category labels must be UTF-8 text: convert the data (e.g. decode "
                         "Latin-1 bytes) first.");
    }
    counts.emplace(l, 1);
    if (static_cast<Index>(counts.size()) > options.max_levels && !options.hierarchy.declared) {
      throw InvalidInput(col(column) + " has more than " + std::to_string(options.max_levels) +
                         " distinct labels; that is above the limit of a categorical column "
                         "(is it an identifier? drop it, or declare a code hierarchy to pool "
                         "rare codes).");
    }
  }
  std::vector<std::pair<std::string, Index>> c;
  c.reserve(counts.size());
  for (const auto& [l, n] : counts) c.emplace_back(std::string(l), n);
  return fit_counts(std::move(column), c, options);
}

CategoryLevels CategoryLevels::fit_counts(std::string column,
                                          const std::vector<std::pair<std::string, Index>>& counts,
                                          const CategoryOptions& options) {
  options.validate(column);
  // Distinct trimmed labels, byte-sorted (std::map's order is std::string's operator<).
  std::map<std::string, Index> n_of;
  for (const auto& [raw, n] : counts) {
    const std::string_view l = trim(raw);
    if (l.empty() || n < 1) continue;
    const std::size_t bad = first_invalid_utf8(l);
    if (bad != std::string_view::npos) {
      throw InvalidInput(col(column) + " has the label " + quote_for_message(l) +
                         ", which is not valid UTF-8 (byte " + std::to_string(bad) +
                         "); category labels must be UTF-8 text.");
    }
    n_of[std::string(l)] += n;
  }
  CategoryLevels out;
  out.column_ = std::move(column);
  out.hierarchy_ = options.hierarchy;
  // level[label] = the level a training label encodes to.
  std::map<std::string, std::string> level_of;
  if (!options.hierarchy.declared || options.min_count <= 1) {
    for (const auto& kv : n_of) level_of.emplace(kv.first, kv.first);
  } else {
    level_of = pool_rare_labels(n_of, options);
  }
  std::map<std::string, Index> level_rows;
  for (const auto& [l, lev] : level_of) level_rows[lev] += n_of.at(l);
  if (static_cast<Index>(level_rows.size()) > options.max_levels) {
    throw InvalidInput(col(out.column_) + " has " + std::to_string(level_rows.size()) +
                       " distinct levels, more than the limit of " +
                       std::to_string(options.max_levels) +
                       " for a categorical column (is it an identifier? drop it, or declare a "
                       "code hierarchy to pool rare codes).");
  }
  for (const auto& [l, lev] : level_of) {
    if (l != lev) out.pooled_.push_back(l);  // std::map order: sorted by bytes
  }
  out.labels_.reserve(level_rows.size());
  out.counts_.reserve(level_rows.size());
  for (const auto& [lev, n] : level_rows) {
    out.labels_.push_back(lev);
    out.counts_.push_back(n);
  }
  // The contract of scoring: every training label encodes to the level it was assigned to (the
  // nearest formed ancestor is also the nearest level ancestor; see fit's comment).
  for (const auto& [l, lev] : level_of) {
    const double code = out.encode(l);
    if (std::isnan(code) || out.labels_[static_cast<std::size_t>(code)] != lev) {
      throw Error("internal error: CategoryLevels::fit: training label " + quote_for_message(l) +
                  " of " + col(out.column_) + " does not encode to its level " +
                  quote_for_message(lev) + "; please report this.");
    }
  }
  return out;
}

CategoryLevels CategoryLevels::from_levels(std::string column, std::vector<std::string> labels,
                                           CodeHierarchy hierarchy,
                                           std::vector<std::string> pooled) {
  check_levels(column, labels, hierarchy, pooled);
  CategoryLevels out;
  out.column_ = std::move(column);
  out.labels_ = std::move(labels);
  out.hierarchy_ = std::move(hierarchy);
  out.pooled_ = std::move(pooled);
  return out;
}

void CategoryLevels::check_levels(const std::string& column, const std::vector<std::string>& labels,
                                  const CodeHierarchy& hierarchy,
                                  const std::vector<std::string>& pooled) {
  hierarchy.validate(column);
  if (!pooled.empty()) {
    if (!hierarchy.declared) {
      throw InvalidInput(col(column) + " lists pooled labels but declares no code hierarchy.");
    }
    CategoryLevels probe;  // the levels alone, to check where each pooled label goes
    probe.labels_ = labels;
    probe.hierarchy_ = hierarchy;
    for (std::size_t k = 0; k < pooled.size(); ++k) {
      const std::string& l = pooled[k];
      if ((k > 0 && !(pooled[k - 1] < l)) || !is_valid_utf8(l) ||
          probe.lookup(l).second != CategoryMatch::kAncestor) {
        throw InvalidInput(col(column) + ": pooled label " + quote_for_message(l) +
                           " is out of order, repeated, a level, or has no level ancestor; the "
                           "pooled labels and the levels do not belong together.");
      }
    }
  }
  if (static_cast<Index>(labels.size()) > kMaxCategoryLevels) {
    throw InvalidInput(col(column) + " has " + std::to_string(labels.size()) +
                       " levels, more than the limit of " + std::to_string(kMaxCategoryLevels) +
                       ".");
  }
  for (std::size_t k = 0; k < labels.size(); ++k) {
    const std::string& l = labels[k];
    if (l.empty() || trim(l).size() != l.size()) {
      throw InvalidInput(col(column) + ": level " + std::to_string(k) + " (" +
                         quote_for_message(l) +
                         ") is empty or has spaces at an end; levels are trimmed, non-empty "
                         "labels.");
    }
    if (!is_valid_utf8(l)) {
      throw InvalidInput(col(column) + ": level " + std::to_string(k) + " (" +
                         quote_for_message(l) + ") is not valid UTF-8.");
    }
    if (k > 0 && !(labels[k - 1] < l)) {
      throw InvalidInput(col(column) + ": levels are not sorted by bytes and unique at position " +
                         std::to_string(k) + " (" + quote_for_message(labels[k - 1]) + ", " +
                         quote_for_message(l) + ").");
    }
  }
}

Index CategoryLevels::find(std::string_view label) const noexcept {
  label = trim(label);
  const auto it = std::lower_bound(labels_.begin(), labels_.end(), label,
                                   [](const std::string& a, std::string_view b) { return a < b; });
  if (it == labels_.end() || *it != label) return -1;
  return static_cast<Index>(it - labels_.begin());
}

std::pair<double, CategoryMatch> CategoryLevels::lookup(std::string_view label) const noexcept {
  label = trim(label);
  if (label.empty()) return {kNaN, CategoryMatch::kMissing};
  const Index k = find(label);
  if (k >= 0) return {static_cast<double>(k), CategoryMatch::kLevel};
  // A training label pooled into an ancestor: seen, encoded as that ancestor.
  const bool pooled = std::binary_search(
      pooled_.begin(), pooled_.end(), label,
      [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
  Index found = -1;
  hierarchy_.for_each_ancestor(label, [&](std::string_view a) {
    found = find(a);
    return found >= 0;
  });
  if (found >= 0) {
    return {static_cast<double>(found), pooled ? CategoryMatch::kLevel : CategoryMatch::kAncestor};
  }
  return {kNaN, CategoryMatch::kUnseen};
}

std::string number_label(double x) {
  if (std::isnan(x)) return {};
  if (x == 0.0) return "0";  // -0.0 too: one label for zero
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

}  // namespace calibrisk
