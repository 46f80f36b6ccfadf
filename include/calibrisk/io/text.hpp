// SPDX-License-Identifier: Apache-2.0
/// @file text.hpp
/// UTF-8 validation and the quoting of untrusted text (file contents, column names, flag values)
/// into error messages: every message of the io module and the command-line tool goes through it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace calibrisk {

/// The largest number of characters of data an error message quotes (longer text is cut and
/// marked with "...").
inline constexpr std::size_t kMessageQuoteChars = 100;

/// Offset of the first byte of `text` that does not belong to a well-formed UTF-8 sequence
/// (Unicode 15, Table 3-7: overlong forms, surrogates U+D800..U+DFFF, code points above
/// U+10FFFF, stray continuation bytes and sequences cut short are all ill-formed), or
/// `std::string_view::npos` when the whole text is well-formed. O(size); thread-safe.
std::size_t first_invalid_utf8(std::string_view text) noexcept;

/// True when `text` is well-formed UTF-8.
inline bool is_valid_utf8(std::string_view text) noexcept {
  return first_invalid_utf8(text) == std::string_view::npos;
}

/// `text` made safe to print: well-formed UTF-8 is kept, control characters become `\n`, `\r`,
/// `\t` or `\xNN` (NUL is `\x00`, so a message is never cut at a NUL byte), a backslash becomes
/// `\\` and each byte of an ill-formed sequence becomes `\xNN`. At most `max_chars` characters of
/// the input are kept; a longer text ends in "..." followed by its length in bytes. The result
/// is always valid UTF-8 without control characters.
std::string printable(std::string_view text, std::size_t max_chars = kMessageQuoteChars);

/// `printable(text)` between single quotes: how messages quote data ('Gen\xE8ve').
std::string quote_for_message(std::string_view text, std::size_t max_chars = kMessageQuoteChars);

/// Names joined with ", " (each `printable`), cut after about `max_chars` characters with
/// "... (N in all)": how messages list a file's columns.
std::string list_for_message(const std::vector<std::string>& names,
                             std::size_t max_chars = kMessageQuoteChars);

}  // namespace calibrisk
