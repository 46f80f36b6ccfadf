// SPDX-License-Identifier: Apache-2.0
// The evaluation report's page style, shared by every HTML page calibrisk writes (the report and
// the model card) so they look alike: the inline CSS and the Content-Security-Policy that forbids
// scripts and external resources. Defined in report_html.cpp.
#pragma once

namespace calibrisk::detail {

/// The report's inline CSS (no external resources).
const char* report_css() noexcept;
/// The report's Content-Security-Policy (default-src 'none'; inline styles and data: images only).
const char* report_csp() noexcept;

}  // namespace calibrisk::detail
