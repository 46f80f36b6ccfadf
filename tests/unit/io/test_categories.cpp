// SPDX-License-Identifier: Apache-2.0
// The categorical level table (calibrisk/io/categories.hpp): level order, counts, the unseen
// policy, code-hierarchy back-off on hand-built ICD-like codes, limits and bad labels, and the
// CSV reader using the same encoder.
#include <calibrisk/io/categories.hpp>
#include <calibrisk/io/table.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

// `n` copies of `label` appended to `out`.
void add(std::vector<std::string>& out, const std::string& label, int n) {
  for (int i = 0; i < n; ++i) out.push_back(label);
}

}  // namespace

TEST_CASE("categories: levels are the distinct labels sorted by bytes, codes are positions") {
  // Byte order: digits < upper case < lower case < multi-byte UTF-8 ("Z" 0x5A < "a" 0x61 <
  // "\xC3\xA9" for e-acute); spaces at the ends are trimmed, empty labels are missing.
  const std::vector<std::string> raw{"b", " a", "Z", "b ", "\xC3\xA9t\xC3\xA9", "", "10", "9", "a"};
  const CategoryLevels l = CategoryLevels::fit("site", views(raw));
  CHECK(l.labels() ==
        std::vector<std::string>{"10", "9", "Z", "a", "b", "\xC3\xA9t\xC3\xA9"});  // hand-sorted
  CHECK(l.counts() == std::vector<Index>{1, 1, 1, 2, 2, 1});
  CHECK(l.encode("a") == 3.0);
  CHECK(l.encode("  b\t") == 4.0);
  CHECK(std::isnan(l.encode("")));
  CHECK(l.lookup("").second == CategoryMatch::kMissing);
  SUBCASE("row order does not change the levels") {
    std::vector<std::string> rev(raw.rbegin(), raw.rend());
    CHECK(CategoryLevels::fit("site", views(rev)).labels() == l.labels());
  }
  SUBCASE("an unseen label without a hierarchy is missing (NaN), never the first level") {
    const auto [code, how] = l.lookup("c");
    CHECK(std::isnan(code));
    CHECK(how == CategoryMatch::kUnseen);
  }
}

TEST_CASE("categories: the ancestors of a code, dotted default and prefix lengths") {
  using SV = std::vector<std::string_view>;
  const CodeHierarchy dotted = CodeHierarchy::dotted();
  CHECK(dotted.ancestors("250.01") == SV{"250.0", "250"});
  CHECK(dotted.ancestors("E11.65") == SV{"E11.6", "E11"});
  CHECK(dotted.ancestors("401") == SV{});
  CHECK(dotted.ancestors("250.") == SV{"250"});
  const CodeHierarchy len = CodeHierarchy::by_prefix({4, 3});
  CHECK(len.prefix_lengths == std::vector<int>{3, 4});
  CHECK(len.ancestors("E1165") == SV{"E116", "E11"});
  CHECK(len.ancestors("250.01") == SV{"250"});  // "250." loses its dot and equals "250"
  CHECK(len.ancestors("E11") == SV{});          // no proper prefix of length 3 or 4
  // Lengths count characters (code points), not bytes: "\xC3\xA9" is one character.
  CHECK(CodeHierarchy::by_prefix({2}).ancestors("\xC3\xA9"
                                                "ab") == SV{"\xC3\xA9"
                                                            "a"});
  CHECK(CodeHierarchy{}.ancestors("250.01") == SV{});
}

TEST_CASE("categories: code-hierarchy back-off pools rare ICD-like codes (hand-computed)") {
  // min_count 3. Frequent: 250.01 (5 rows), 401.9 (6). Rare: 250.02, 250.03, 250.9, 401.1, V10
  // (1 row each). Longest ancestors first: "250.0" gathers 250.02 + 250.03 = 2 < 3 rows, so they
  // move on to "250", which gathers them with 250.9: 3 rows -> level "250". "401" gathers 401.1
  // only (1 row, and 401.9 is not the label "401"): 401.1 stays its own level. V10 has no
  // ancestor: its own level.
  std::vector<std::string> raw;
  add(raw, "250.01", 5);
  add(raw, "401.9", 6);
  for (const char* l : {"250.02", "250.03", "250.9", "401.1", "V10"}) add(raw, l, 1);
  CategoryOptions o;
  o.hierarchy = CodeHierarchy::dotted();
  o.min_count = 3;
  const CategoryLevels l = CategoryLevels::fit("dx1", views(raw), o);
  CHECK(l.labels() == std::vector<std::string>{"250", "250.01", "401.1", "401.9", "V10"});
  CHECK(l.counts() == std::vector<Index>{3, 5, 1, 6, 1});
  CHECK(l.pooled() == std::vector<std::string>{"250.02", "250.03", "250.9"});
  SUBCASE("training labels encode to their level, as seen labels") {
    CHECK(l.lookup("250.9").second == CategoryMatch::kLevel);
    CHECK(l.encode("250.02") == 0.0);
    CHECK(l.encode("250.03") == 0.0);
    CHECK(l.encode("250.9") == 0.0);
    CHECK(l.encode("250.01") == 1.0);
    CHECK(l.encode("401.1") == 2.0);
  }
  SUBCASE("unseen codes back off to the nearest ancestor that is a level") {
    CHECK(l.lookup("250.05") == std::pair<double, CategoryMatch>{0.0, CategoryMatch::kAncestor});
    CHECK(l.lookup("250.011").first == 1.0);     // nearest ancestor "250.01" is a level
    const auto [code, how] = l.lookup("401.5");  // "401" is not a level
    CHECK(std::isnan(code));
    CHECK(how == CategoryMatch::kUnseen);
  }
  SUBCASE("a frequent label equal to the ancestor absorbs its rare children") {
    std::vector<std::string> r2;
    add(r2, "250", 4);
    add(r2, "250.1", 1);
    add(r2, "250.2", 1);
    const CategoryLevels l2 = CategoryLevels::fit("dx1", views(r2), o);
    CHECK(l2.labels() == std::vector<std::string>{"250"});
    CHECK(l2.counts() == std::vector<Index>{6});
  }
  SUBCASE("prefix lengths 3,4 on codes without dots (ICD-10 style)") {
    // E1165 x2, E1169 x2 (rare, min 3): at length 4 "E116" gathers 4 rows -> level "E116";
    // E119 x1: its ancestor "E11" (length 3) gathers 1 row -> stays; I10 x3 frequent.
    std::vector<std::string> r3;
    add(r3, "E1165", 2);
    add(r3, "E1169", 2);
    add(r3, "E119", 1);
    add(r3, "I10", 3);
    CategoryOptions o3 = o;
    o3.hierarchy = CodeHierarchy::by_prefix({3, 4});
    const CategoryLevels l3 = CategoryLevels::fit("dx", views(r3), o3);
    CHECK(l3.labels() == std::vector<std::string>{"E116", "E119", "I10"});
    CHECK(l3.counts() == std::vector<Index>{4, 1, 3});
    CHECK(l3.encode("E1160") == 0.0);  // unseen -> E116
    CHECK(std::isnan(l3.encode("E120")));
  }
  SUBCASE("min_count 1 pools nothing") {
    CategoryOptions o1 = o;
    o1.min_count = 1;
    CHECK(CategoryLevels::fit("dx1", views(raw), o1).size() == 7);
  }
}

TEST_CASE("categories: limits, bad labels and bad options name the column") {
  SUBCASE("more levels than max_levels") {
    std::vector<std::string> raw{"a", "b", "c"};
    CategoryOptions o;
    o.max_levels = 2;
    CHECK_THROWS_WITH_AS(CategoryLevels::fit("dx1", views(raw), o),
                         doctest::Contains("column 'dx1' has more than 2 distinct labels"),
                         InvalidInput);
  }
  SUBCASE("a label that is not UTF-8") {
    std::vector<std::string> raw{"ok", "Gen\xE8ve"};
    CHECK_THROWS_WITH_AS(CategoryLevels::fit("city", views(raw)),
                         doctest::Contains("column 'city' has a label that is not valid UTF-8 at "
                                           "row 2"),
                         InvalidInput);
  }
  SUBCASE("levels read back must be sorted, unique and trimmed") {
    CHECK_THROWS_WITH_AS(CategoryLevels::from_levels("x", {"b", "a"}),
                         doctest::Contains("not sorted"), InvalidInput);
    CHECK_THROWS_WITH_AS(CategoryLevels::from_levels("x", {"a", "a"}),
                         doctest::Contains("not sorted"), InvalidInput);
    CHECK_THROWS_WITH_AS(CategoryLevels::from_levels("x", {" a"}), doctest::Contains("spaces"),
                         InvalidInput);
  }
  SUBCASE("bad options") {
    CategoryOptions o;
    o.min_count = 0;
    CHECK_THROWS_AS(CategoryLevels::fit("x", {}, o), InvalidParams);
    CHECK_THROWS_AS(CodeHierarchy::by_prefix({0}).validate("x"), InvalidParams);
  }
  SUBCASE("hostile labels are data") {
    const std::vector<std::string> raw{"<script>alert(1)</script>", "a\"b", "line\nbreak", "x,y"};
    const CategoryLevels l = CategoryLevels::fit("h", views(raw));
    for (const auto& r : raw) CHECK(l.labels()[static_cast<std::size_t>(l.encode(r))] == r);
  }
}

TEST_CASE("categories: number labels are the shortest text of the number") {
  CHECK(number_label(7.0) == "7");
  CHECK(number_label(-0.0) == "0");
  CHECK(number_label(0.5) == "0.5");
  CHECK(number_label(250.01) == "250.01");
  CHECK(number_label(1e-7) == "1e-07");
  CHECK(number_label(std::nan("")).empty());
}

TEST_CASE("csv: categorical columns go through the one encoder (levels, hierarchy, scoring)") {
  const std::string train =
      "dx,y\n250.01,1\n250.01,0\n250.01,1\n250.02,0\n250.9,1\n250.03,0\n401.9,1\n401.9,0\n"
      "401.9,1\n,0\n";
  CsvReadOptions o;
  o.categorical = {"dx"};
  o.code_hierarchies["dx"] = CodeHierarchy::dotted();
  o.hierarchy_min_count = 3;
  const Table t = parse_csv(train, o);
  const Column& dx = t.column("dx");
  // Same levels as CategoryLevels::fit on the same labels (the back-off test's rule).
  CHECK(dx.categories == std::vector<std::string>{"250", "250.01", "401.9"});
  CHECK(dx.category_counts == std::vector<Index>{3, 3, 3});
  CHECK(dx.hierarchy == CodeHierarchy::dotted());
  CHECK(dx.values[0] == 1.0);
  CHECK(dx.values[3] == 0.0);  // 250.02 pooled into 250
  CHECK(std::isnan(dx.values[9]));
  SUBCASE("scoring with the level table: unseen labels follow the policy and are counted") {
    CsvReadOptions s;
    s.category_levels.emplace(
        "dx", CategoryLevels::from_levels("dx", dx.categories, CodeHierarchy::dotted(),
                                          dx.pooled_labels));
    const Table u = parse_csv("dx\n250.07\n401.1\n401.9\nNA\n", s);
    const Column& c = u.column("dx");
    CHECK(c.values[0] == 0.0);       // -> 250
    CHECK(std::isnan(c.values[1]));  // 401 is not a level
    CHECK(c.values[2] == 2.0);
    CHECK(std::isnan(c.values[3]));
    CHECK(c.n_unseen_labels == 2);
  }
  SUBCASE("too many levels names the column") {
    CsvReadOptions m;
    m.categorical = {"dx"};
    m.max_category_levels = 2;
    CHECK_THROWS_WITH_AS(parse_csv(train, m),
                         doctest::Contains("column 'dx' has more than 2 distinct labels"),
                         InvalidInput);
  }
  SUBCASE("a hierarchy on a column that is not categorical") {
    CsvReadOptions m;
    m.code_hierarchies["dx"] = CodeHierarchy::dotted();
    CHECK_THROWS_AS(parse_csv(train, m), InvalidParams);
  }
}
