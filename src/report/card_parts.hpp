// SPDX-License-Identifier: Apache-2.0
// Internal: the parts of a model card that binary and K-class cards share (card.cpp defines
// them; card_multiclass.cpp builds the K-class card). All text is plain: the renderers escape.
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/report/card.hpp>

#include <string>
#include <vector>

namespace calibrisk::detail::card {

using Kind = CardBlock::Kind;

std::string num(double v, int digits = 3);
std::string pct(double v);
std::string signed_num(double v);
/// A count per 1,000, to one decimal.
std::string per1000(double v);
/// "lo – hi" through `show`, or "" when either bound is not finite.
std::string range(double lo, double hi, std::string (*show)(double, int), int digits);
/// "value (lower – upper)" (the interval only when both bounds are finite).
std::string with_ci(const Estimate& e, bool percent = false);

CardBlock para(std::string text, Kind kind = Kind::kParagraph);
CardBlock note(std::string text);
CardBlock list(std::vector<std::string> items);
CardBlock table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows,
                std::vector<bool> flagged = {});
/// `v`, or "not stated (card spec field 'field')".
std::string stated(const std::string& v, const char* field);
std::string joined(const std::vector<std::string>& v, const char* field);

/// Intended use and population, from the spec.
CardSection intended_use_section(const CardSpec& s);
/// The model file's rows (path, format version, checksum, signature); throws InvalidInput when
/// the artifact text is given but is not JSON.
std::vector<std::vector<std::string>> file_rows(const CardSources& s);
/// The input checks of every batch, `monitor_text`, and the per-feature training table.
CardSection drift_section(const Pipeline& p, const std::string& monitor_text);
CardSection ethics_section(const CardSpec& s);
/// The owners' limitations (spec), then those calibrisk `found`.
CardSection limitations_section(const CardSpec& spec, const std::vector<std::string>& found);
/// The parameters recorded in the model file, as a table (nothing when there are none).
void parameter_blocks(const Provenance& pv, CardSection& sec);

/// The card of a K-class pipeline (n_classes() > 2); `sources.report_json`, when given, is a
/// multiclass report (multiclass_report_from_json).
/// The rolling-origin validation table of `calibrisk validate --json` (binary or K-class figures,
/// each with its "<key>_lower" / "<key>_upper" interval); throws InvalidInput on a bad document.
CardBlock rolling_validation_table(const std::string& validation_json);

ModelCard build_multiclass_card(const Pipeline& pipeline, const CardSources& sources);

}  // namespace calibrisk::detail::card
