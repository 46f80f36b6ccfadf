// SPDX-License-Identifier: Apache-2.0
// Reading a built model card in tests: the second cell of the row that starts with a given text,
// and the text of a section.
#pragma once

#include <calibrisk/report/card.hpp>

#include <doctest/doctest.h>

#include <string>

namespace calibrisk::test {

// The second cell of the first table row of `section` whose first cell is `first`.
inline std::string card_cell(const ModelCard& card, const char* section, const std::string& first) {
  const CardSection* s = card.section(section);
  REQUIRE(s != nullptr);
  for (const auto& b : s->blocks)
    for (const auto& row : b.table.rows)
      if (!row.empty() && row[0] == first && row.size() > 1) return row[1];
  FAIL("no row " << first << " in section " << section);
  return "";
}

// Paragraphs and list items of `section` (and table cells with `tables`), one a line.
inline std::string card_text(const ModelCard& card, const char* section, bool tables = false) {
  const CardSection* s = card.section(section);
  REQUIRE(s != nullptr);
  std::string t;
  for (const auto& b : s->blocks) {
    t += b.text + "\n";
    for (const auto& i : b.items) t += i + "\n";
    if (!tables) continue;
    for (const auto& row : b.table.rows)
      for (const auto& c : row) t += c + "\n";
  }
  return t;
}

}  // namespace calibrisk::test
