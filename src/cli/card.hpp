// SPDX-License-Identifier: Apache-2.0
// `calibrisk card`: a model card (HTML or Markdown) from a model file, an optional evaluation
// report JSON, an optional card spec and an optional rolling-origin validation JSON.
#pragma once

#include <ostream>
#include <string>

namespace calibrisk::cli {

/// `calibrisk card`
struct CardOptions {
  std::string model;       ///< model file (required)
  std::string report;      ///< evaluation report JSON ("" = none)
  std::string spec;        ///< card spec JSON ("" = none)
  std::string validation;  ///< rolling-origin validation JSON ("" = none)
  std::string out;         ///< card.html / card.htm (HTML) or card.md / card.markdown (Markdown)
};

/// Writes the card atomically. Throws UsageError for an --out extension other than .html, .htm,
/// .md, .markdown, an output that is an input, a missing input file or a bad card spec;
/// ModelFileError for a model file that does not load; InvalidInput (data error) for a report
/// or validation file that is not the expected JSON.
int run_card(const CardOptions& o, std::ostream& out);

}  // namespace calibrisk::cli
