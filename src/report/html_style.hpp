// SPDX-License-Identifier: Apache-2.0
// The evaluation report's page style, shared by every HTML page calibrisk writes (the report and
// the model card) so they look alike: the inline CSS and the Content-Security-Policy that forbids
// scripts and external resources, and the parts both report pages share. Defined in
// report_html.cpp.
#pragma once

#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::detail {

/// The report's inline CSS (no external resources).
const char* report_css() noexcept;
/// The report's Content-Security-Policy (default-src 'none'; inline styles and data: images only).
const char* report_csp() noexcept;

/// The provenance section: one row per (key, value), both escaped, values as code.
void provenance_html(std::ostringstream& o,
                     const std::vector<std::pair<std::string, std::string>>& provenance);

/// A report page: each section writer in turn (the first writes the page header), then the
/// closing tags.
template <class Doc>
std::string render_page(const Doc& doc,
                        std::initializer_list<void (*)(std::ostringstream&, const Doc&)> sections) {
  std::ostringstream o;
  for (const auto section : sections) section(o, doc);
  o << "</main></body></html>\n";
  return o.str();
}

/// Writes a page to `path` (replaced); `who` names the caller in errors (InvalidInput when the
/// file cannot be opened, Error when writing fails).
void write_html_file(const std::string& text, const std::string& path, const char* who);

}  // namespace calibrisk::detail
