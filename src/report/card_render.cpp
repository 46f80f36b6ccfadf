// SPDX-License-Identifier: Apache-2.0
// A model card as HTML (the report's look: its inline CSS and Content-Security-Policy, plus print
// styles) and as GitHub-flavoured Markdown. Every string of the card is data and escaped here.
#include <calibrisk/io/text.hpp>
#include <calibrisk/report/card.hpp>

#include "report/html_style.hpp"
#include "report/svg.hpp"

#include <sstream>

namespace calibrisk {

namespace {

using detail::xml_escape;
using Kind = CardBlock::Kind;

// Card tables hold text: left-aligned; sections stay whole on paper.
const char* const kCardCss =
    ".cardtbl td,.cardtbl th{text-align:left;vertical-align:top}"
    ".kv td:first-child{font-weight:600;white-space:nowrap}nav a{margin-right:.8em}"
    "@media print{body{background:#fff}main{max-width:none;padding:0}nav{display:none}"
    "section{break-inside:avoid;border:none;padding:0}tr.flagged td{background:#eee}}";

void html_table(std::ostringstream& o, const CardTable& t) {
  o << "<table class=\"cardtbl" << (t.header.empty() ? " kv" : "") << "\">";
  if (!t.header.empty()) {
    o << "<tr>";
    for (const auto& h : t.header) o << "<th>" << xml_escape(h) << "</th>";
    o << "</tr>";
  }
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const bool flagged = i < t.flagged.size() && t.flagged[i];
    o << (flagged ? "<tr class=\"flagged\">" : "<tr>");
    for (const auto& c : t.rows[i]) o << "<td>" << xml_escape(c) << "</td>";
    o << "</tr>";
  }
  o << "</table>";
}

void html_block(std::ostringstream& o, const CardBlock& b) {
  switch (b.kind) {
    case Kind::kParagraph:
      o << "<p>" << xml_escape(b.text) << "</p>";
      break;
    case Kind::kNote:
      o << "<p class=\"note\">" << xml_escape(b.text) << "</p>";
      break;
    case Kind::kList:
      o << "<ul>";
      for (const auto& item : b.items) o << "<li>" << xml_escape(item) << "</li>";
      o << "</ul>";
      break;
    case Kind::kTable:
      html_table(o, b.table);
      break;
  }
}

// ---- Markdown ------------------------------------------------------------------------------

// Appends well-formed UTF-8 of `s` with control characters as spaces (line breaks would end a
// table row or start a block) and each byte of an ill-formed sequence as U+FFFD.
void append_clean_utf8(std::string& out, std::string_view s) {
  while (!s.empty()) {
    const std::size_t bad = first_invalid_utf8(s);
    const std::string_view good = s.substr(0, bad);
    for (char c : good) {
      const auto u = static_cast<unsigned char>(c);
      out += (u < 0x20 || u == 0x7F) ? ' ' : c;
    }
    if (bad == std::string_view::npos) break;
    out += "\xEF\xBF\xBD";
    s.remove_prefix(bad + 1);
  }
}

// Text that renders as itself in CommonMark / GFM: punctuation that could start markup gets a
// backslash (CommonMark lets any ASCII punctuation be escaped), and so does a leading character
// that would open a block (a list item "-", "+", "1.", a setext underline "=") when the text
// starts a block (`block_start`; not in a table cell, where only inline markup matters).
std::string md_escape(const std::string& text, bool block_start = true) {
  std::string clean;
  append_clean_utf8(clean, text);
  const std::size_t start = clean.find_first_not_of(" \t");
  if (start == std::string::npos) return "";
  clean.erase(0, start);
  std::string out;
  out.reserve(clean.size() + 8);
  static const std::string special = "\\`*_{}[]<>#|~&!$";
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const char c = clean[i];
    if (special.find(c) != std::string::npos) {
      out += '\\';
    } else if (!block_start) {
      // inline text: nothing else to escape
    } else if (i == 0 && (c == '-' || c == '+' || c == '=')) {
      out += '\\';
    } else if ((c == '.' || c == ')') && i > 0 && clean.find_first_not_of("0123456789") == i) {
      out += '\\';  // "1." or "1)" at the start would open an ordered list
    }
    out += c;
  }
  return out;
}

void md_row(std::ostringstream& o, const std::vector<std::string>& cells, const char* prefix) {
  o << "|";
  for (std::size_t c = 0; c < cells.size(); ++c) {
    o << " " << (c == 0 ? prefix : "") << md_escape(cells[c], false) << " |";
  }
  o << "\n";
}

void md_table(std::ostringstream& o, const CardTable& t) {
  const std::vector<std::string> header =
      t.header.empty() ? std::vector<std::string>{"item", "value"} : t.header;
  md_row(o, header, "");
  o << "|";
  for (std::size_t c = 0; c < header.size(); ++c) o << " --- |";
  o << "\n";
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const bool flagged = i < t.flagged.size() && t.flagged[i];
    md_row(o, t.rows[i], flagged ? "\xE2\x9A\xA0 " : "");
  }
  o << "\n";
}

void md_block(std::ostringstream& o, const CardBlock& b) {
  switch (b.kind) {
    case Kind::kParagraph:
      o << md_escape(b.text) << "\n\n";
      break;
    case Kind::kNote:
      o << "> **Note:** " << md_escape(b.text) << "\n\n";
      break;
    case Kind::kList:
      for (const auto& item : b.items) o << "- " << md_escape(item) << "\n";
      o << "\n";
      break;
    case Kind::kTable:
      md_table(o, b.table);
      break;
  }
}

}  // namespace

std::string card_to_html(const ModelCard& card) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"" << detail::report_csp() << "\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>"
    << xml_escape(card.title) << "</title><style>" << detail::report_css() << kCardCss
    << "</style></head><body><main><h1>" << xml_escape(card.title) << "</h1><p class=\"muted\">"
    << xml_escape(card.subtitle) << "</p><nav>";
  // Section ids are generated by the library (card.cpp), never taken from data.
  for (const auto& s : card.sections)
    o << "<a href=\"#" << xml_escape(s.id) << "\">" << xml_escape(s.heading) << "</a>";
  o << "</nav>";
  for (const auto& s : card.sections) {
    o << "<section id=\"" << xml_escape(s.id) << "\"><h2>" << xml_escape(s.heading) << "</h2>";
    for (const auto& b : s.blocks) html_block(o, b);
    o << "</section>";
  }
  o << "</main></body></html>\n";
  return o.str();
}

std::string card_to_markdown(const ModelCard& card) {
  std::ostringstream o;
  o << "# " << md_escape(card.title) << "\n\n" << md_escape(card.subtitle) << "\n\n";
  for (const auto& s : card.sections) {
    o << "## " << md_escape(s.heading) << "\n\n";
    for (const auto& b : s.blocks) md_block(o, b);
  }
  return o.str();
}

}  // namespace calibrisk
