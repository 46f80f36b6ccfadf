// SPDX-License-Identifier: Apache-2.0
// UTF-8 validation and quoting of untrusted text into messages (see text.hpp).
#include <calibrisk/io/text.hpp>

#include <cstdio>

namespace calibrisk {
namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is ill-formed.
// The allowed ranges of the second byte exclude overlong forms (E0, F0), surrogates (ED) and
// code points above U+10FFFF (F4); Unicode 15, Table 3-7.
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;  // 80..C1 (continuation or overlong lead), F5..FF
  }
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

void append_hex(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  out += buf;
}

}  // namespace

std::size_t first_invalid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // ASCII run: the common case
      ++i;
      continue;
    }
    const std::size_t n = sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string printable(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0, i = 0;
  while (i < text.size() && chars < max_chars) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = sequence_length(text, i);
    if (n == 0) {
      append_hex(out, c);
      ++i;
    } else if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
    } else if (c == '\n') {
      out += "\\n", ++i;
    } else if (c == '\r') {
      out += "\\r", ++i;
    } else if (c == '\t') {
      out += "\\t", ++i;
    } else if (c == '\\') {
      out += "\\\\", ++i;
    } else if (c < 0x20 || c == 0x7F) {
      append_hex(out, c);
      ++i;
    } else {
      out += static_cast<char>(c);
      ++i;
    }
    ++chars;
  }
  if (i < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string quote_for_message(std::string_view text, std::size_t max_chars) {
  return "'" + printable(text, max_chars) + "'";
}

std::string list_for_message(const std::vector<std::string>& names, std::size_t max_chars) {
  std::string out;
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (k > 0 && out.size() >= max_chars) {
      out += ", ... (" + std::to_string(names.size()) + " in all)";
      break;
    }
    out += (k ? ", " : "") + printable(names[k], max_chars);
  }
  return out;
}

}  // namespace calibrisk
