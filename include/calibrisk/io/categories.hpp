// SPDX-License-Identifier: Apache-2.0
/// @file categories.hpp
/// The one label -> code encoder of categorical columns, shared by the CSV reader, the workflow,
/// the model file's schema and Python: the level table of a column fitted from its training
/// labels, the code of a label at scoring (allocation-free), the unseen-label policy, and the
/// optional code-hierarchy back-off for prefix-coded columns (ICD-9/10, CPT).
///
/// Reference: docs/categorical.md.
///
/// Example:
/// @code
///   calibrisk::CategoryOptions o;
///   o.hierarchy = calibrisk::CodeHierarchy::dotted();  // 250.01 -> 250.0 -> 250
///   o.min_count = 3;
///   auto levels = calibrisk::CategoryLevels::fit("dx1", labels, o);  // labels: string_views
///   double code = levels.encode("250.07");   // unseen: the code of its nearest level "250"
/// @endcode
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/core/matrix.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace calibrisk {

/// The default minimum number of training rows of a level when a code hierarchy is declared:
/// rarer labels are pooled into an ancestor (see CategoryLevels::fit).
inline constexpr Index kDefaultHierarchyMinCount = 10;

/// A code hierarchy by prefix, declared per column. The ancestors of a label, nearest first:
/// - `prefix_lengths` given (e.g. {3, 4} for ICD codes "2500" -> "250"): the label's first n
///   characters (Unicode code points) for each n in the list below the label's length, longest
///   first; a trailing '.' of a prefix is dropped ("250.01" at 4 -> "250."  -> "250") and repeated
///   ancestors are listed once;
/// - `prefix_lengths` empty (the dotted default): for a label with a '.', every prefix obtained by
///   removing one character at a time from the end down to the part before the first '.'
///   ("250.01" -> "250.0" -> "250"; "E11.65" -> "E11.6" -> "E11"); a label without '.' has no
///   ancestors.
struct CodeHierarchy {
  bool declared = false;            ///< false: no hierarchy (the column's labels are flat)
  std::vector<int> prefix_lengths;  ///< ascending, unique, each in [1, 1000]; empty = dotted

  /// The dotted default hierarchy.
  static CodeHierarchy dotted() {
    CodeHierarchy h;
    h.declared = true;
    return h;
  }
  /// A hierarchy by prefix lengths (sorted and deduplicated here; validated by `validate`).
  static CodeHierarchy by_prefix(std::vector<int> lengths);

  /// Throws InvalidParams naming `column` on a length outside [1, 1000] or lengths without
  /// `declared`.
  void validate(const std::string& column) const;

  /// The ancestors of `label`, nearest first, as views into `label` (see the struct comment).
  /// Empty when not declared. O(label length); allocates the result vector.
  std::vector<std::string_view> ancestors(std::string_view label) const;

  /// Calls `f(ancestor)` for each ancestor of `label`, nearest first, until `f` returns true;
  /// returns whether one did. Allocation-free (the scoring path).
  template <class F>
  bool for_each_ancestor(std::string_view label, const F& f) const;

  friend bool operator==(const CodeHierarchy& a, const CodeHierarchy& b) {
    return a.declared == b.declared && a.prefix_lengths == b.prefix_lengths;
  }
};

/// Options of `CategoryLevels::fit`.
struct CategoryOptions {
  CodeHierarchy hierarchy;  ///< none by default
  /// With a hierarchy: a label with fewer training rows is pooled into an ancestor (>= 1; 1
  /// pools nothing). Ignored without a hierarchy.
  Index min_count = kDefaultHierarchyMinCount;
  /// Most levels a column may have, in [1, kMaxCategoryLevels]; more is an InvalidInput.
  Index max_levels = kMaxCategoryLevels;
  void validate(const std::string& column) const;
};

/// How a label was encoded (see CategoryLevels::lookup).
enum class CategoryMatch : std::uint8_t {
  kMissing,   ///< empty after trimming: missing (NaN)
  kLevel,     ///< a level of the table (a training label or a pooled ancestor)
  kAncestor,  ///< not a level: encoded as its nearest ancestor that is a level (unseen label)
  kUnseen,    ///< not a level and no ancestor is: NaN, scored as missing (unseen label)
};

/// The levels of one categorical column: code k stands for `labels()[k]`.
///
/// Level order: labels sorted by their UTF-8 bytes (= Unicode code point order, the order of
/// `std::string` comparison), so the codes depend only on the set of training labels, never on
/// row order, thread count or the interface (CSV or Python). Codes are 0..size()-1 as doubles;
/// NaN is missing.
///
/// Labels: text as read, after removing spaces and tabs at both ends (the CSV reader's trimming);
/// an empty label is missing. Labels must be well-formed UTF-8 (an InvalidInput naming the
/// column otherwise).
///
/// Unseen policy at scoring: a label that is not a level encodes to the code of its nearest
/// ancestor that is a level when the column declares a hierarchy (kAncestor), otherwise to NaN
/// (kUnseen) so that models route it as a missing value; never to an arbitrary level.
///
/// Immutable after construction; const methods are thread-safe. Copyable and movable.
class CategoryLevels {
 public:
  CategoryLevels() = default;

  /// Fits the levels of column `column` from its training labels (one per row; empty = missing).
  ///
  /// Without a hierarchy the levels are the distinct non-missing labels. With one, a label with
  /// fewer than `options.min_count` rows is pooled (code-hierarchy back-off): pending rare labels
  /// are grouped by their next ancestor, longest ancestors first; a group whose rows (plus those
  /// of a training label equal to the ancestor, if any) reach `min_count` becomes one level
  /// named by the ancestor (a training label equal to it joins the level); a group that does
  /// not reach it moves on to the next shorter ancestor; a label that runs out of ancestors stays
  /// a level of its own. Every training label then encodes (through `encode`) to its level.
  ///
  /// Throws InvalidInput naming the column when a label is not well-formed UTF-8 (naming the row)
  /// or when there are more than `options.max_levels` levels; InvalidParams on bad options.
  /// Complexity O(rows + L log L) for L distinct labels (times the hierarchy depth).
  static CategoryLevels fit(std::string column, const std::vector<std::string_view>& labels,
                            const CategoryOptions& options = {});
  /// The same from distinct labels and their row counts (counts >= 1; labels need not be
  /// trimmed, duplicates after trimming are merged).
  static CategoryLevels fit_counts(std::string column,
                                   const std::vector<std::pair<std::string, Index>>& counts,
                                   const CategoryOptions& options = {});

  /// Levels read back from a model file or given by the caller: `labels` must be sorted by
  /// bytes, unique, non-empty, trimmed, well-formed UTF-8 and at most kMaxCategoryLevels.
  /// Throws InvalidInput naming the column otherwise. Counts are unknown (empty).
  /// `pooled`: the training labels that were pooled into an ancestor level (sorted by bytes,
  /// unique, not levels, each with a level ancestor); they encode to that level and count as seen.
  static CategoryLevels from_levels(std::string column, std::vector<std::string> labels,
                                    CodeHierarchy hierarchy = {},
                                    std::vector<std::string> pooled = {});

  /// The checks of `from_levels` without building the encoder (no copy of the labels).
  static void check_levels(const std::string& column, const std::vector<std::string>& labels,
                           const CodeHierarchy& hierarchy,
                           const std::vector<std::string>& pooled = {});

  /// The code of `label` under the unseen policy (NaN when missing or unseen without a level
  /// ancestor). O(log size() * hierarchy depth); allocation-free; noexcept.
  double encode(std::string_view label) const noexcept { return lookup(label).first; }
  /// The code and how it was found.
  std::pair<double, CategoryMatch> lookup(std::string_view label) const noexcept;
  /// The position of `label` (trimmed) among the levels, or -1. Allocation-free.
  Index find(std::string_view label) const noexcept;

  const std::string& column() const noexcept { return column_; }
  Index size() const noexcept { return static_cast<Index>(labels_.size()); }
  /// The level table: code k -> labels()[k].
  const std::vector<std::string>& labels() const noexcept { return labels_; }
  /// Training rows per level (after pooling); empty for `from_levels`.
  const std::vector<Index>& counts() const noexcept { return counts_; }
  const CodeHierarchy& hierarchy() const noexcept { return hierarchy_; }
  /// Training labels pooled into an ancestor level (hierarchy back-off), sorted by bytes: they
  /// encode to that level as kLevel (seen), not as unseen labels.
  const std::vector<std::string>& pooled() const noexcept { return pooled_; }

  /// Spaces and tabs removed from both ends (how every interface normalises a label).
  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  }

 private:
  std::string column_;
  std::vector<std::string> labels_;
  std::vector<Index> counts_;
  CodeHierarchy hierarchy_;
  std::vector<std::string> pooled_;
};

/// The label of a number in a column declared categorical, as the CSV reader reads it from a file
/// written by calibrisk or pandas for an integer column: the shortest decimal text that reads back
/// to the same double ("7", not "7.0"; "0.5"; "1e-07"). NaN gives "" (missing). Python uses it
/// for numeric columns declared categorical, so a model fitted on numbers scores a CSV whose
/// column holds the same texts.
std::string number_label(double x);

// ---- implementation of the template ------------------------------------------------------------

template <class F>
bool CodeHierarchy::for_each_ancestor(std::string_view label, const F& f) const {
  if (!declared) return false;
  auto strip_dot = [](std::string_view s) {
    while (!s.empty() && s.back() == '.') s.remove_suffix(1);
    return s;
  };
  if (prefix_lengths.empty()) {
    const std::size_t dot = label.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    std::string_view prev = label;
    for (std::size_t n = label.size(); n-- > dot;) {
      // Cut at code-point boundaries only (skip UTF-8 continuation bytes).
      if (n < label.size() && (static_cast<unsigned char>(label[n]) & 0xC0) == 0x80) continue;
      const std::string_view a = strip_dot(label.substr(0, n));
      if (a.empty() || a == prev) continue;
      prev = a;
      if (f(a)) return true;
    }
    return false;
  }
  // Byte offset of each code-point boundary, walked once per length from the longest.
  std::string_view prev = label;
  for (auto it = prefix_lengths.rbegin(); it != prefix_lengths.rend(); ++it) {
    std::size_t cps = 0, end = 0;
    while (end < label.size() && cps < static_cast<std::size_t>(*it)) {
      ++end;
      while (end < label.size() && (static_cast<unsigned char>(label[end]) & 0xC0) == 0x80) ++end;
      ++cps;
    }
    if (end >= label.size()) continue;  // not a proper prefix
    const std::string_view a = strip_dot(label.substr(0, end));
    if (a.empty() || a == prev) continue;
    prev = a;
    if (f(a)) return true;
  }
  return false;
}

}  // namespace calibrisk
