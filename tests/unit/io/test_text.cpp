// SPDX-License-Identifier: Apache-2.0
// UTF-8 validation (known well-formed and ill-formed sequences from Unicode 15, Table 3-7) and
// the quoting of untrusted text into messages.
#include <calibrisk/io/text.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace calibrisk;

TEST_CASE("utf8: well-formed sequences of every length are accepted") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ASCII, 123"));
  CHECK(is_valid_utf8("Gen\xC3\xA8ve"));         // U+00E8
  CHECK(is_valid_utf8("\xE2\x82\xAC"));          // U+20AC euro sign
  CHECK(is_valid_utf8("\xED\x9F\xBF"));          // U+D7FF, last before the surrogates
  CHECK(is_valid_utf8("\xEE\x80\x80"));          // U+E000, first after them
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));      // U+1F600
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF, the last code point
  CHECK(is_valid_utf8(std::string("a\0b", 3)));  // NUL is a code point
}

TEST_CASE("utf8: ill-formed bytes are found at their offset") {
  CHECK(first_invalid_utf8("Gen\xE8ve") == 3);         // Latin-1 e-grave
  CHECK(first_invalid_utf8("ok\x80") == 2);            // stray continuation byte
  CHECK(first_invalid_utf8("\xC0\x80") == 0);          // overlong NUL
  CHECK(first_invalid_utf8("\xC1\xBF") == 0);          // overlong U+007F
  CHECK(first_invalid_utf8("\xE0\x9F\xBF") == 0);      // overlong U+07FF
  CHECK(first_invalid_utf8("\xF0\x8F\xBF\xBF") == 0);  // overlong U+FFFF
  CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);      // surrogate U+D800
  CHECK(first_invalid_utf8("\xED\xBF\xBF") == 0);      // surrogate U+DFFF
  CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);  // U+110000
  CHECK(first_invalid_utf8("\xF5\x80\x80\x80") == 0);  // F5..FF never occur
  CHECK(first_invalid_utf8("\xFF") == 0);
  CHECK(first_invalid_utf8("ab\xE2\x82") == 2);    // cut short at the end
  CHECK(first_invalid_utf8("\xE2\x82,x") == 0);    // cut short by a delimiter
  CHECK(first_invalid_utf8("\xC3\xA8\xE8") == 2);  // after a good sequence
}

TEST_CASE("printable: escapes control bytes, NUL and bad bytes; caps the length") {
  CHECK(printable("Gen\xC3\xA8ve") == "Gen\xC3\xA8ve");
  CHECK(printable("Gen\xE8ve") == "Gen\\xE8ve");
  CHECK(printable(std::string("2023-01-01\0evil", 15)) == "2023-01-01\\x00evil");
  CHECK(printable("a\r\nb\tc\x1B") == "a\\r\\nb\\tc\\x1B");
  CHECK(printable("back\\slash") == "back\\\\slash");
  const std::string longer(250, 'x');
  const std::string p = printable(longer);
  CHECK(p == std::string(100, 'x') + "... (250 bytes)");
  CHECK(is_valid_utf8(printable("\xFF\xFE\x00\x41")));
  CHECK(quote_for_message("a'b") == "'a'b'");
  CHECK(list_for_message({"x1", "x2", "y"}) == "x1, x2, y");
  std::vector<std::string> many(500, "column_name");
  const std::string l = list_for_message(many);
  CHECK(l.size() < 200);
  CHECK(l.find("(500 in all)") != std::string::npos);
}
