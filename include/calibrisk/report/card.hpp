// SPDX-License-Identifier: Apache-2.0
/// @file card.hpp
/// A model card: one page for compliance teams, clinicians and product owners that says what a
/// saved pipeline is for, where it came from, how well it discriminates and is calibrated (with
/// intervals), what its operating point means per 1,000 patients, how it does in subgroups and
/// over time, its limitations and the drift checks in force. Built from the pipeline (and the
/// text of its model file), an optional evaluation report JSON (`calibrisk train --json`,
/// `calibrisk evaluate --json`), an optional rolling-origin validation JSON and a small
/// user-written spec; rendered to self-contained HTML (the report's look, no scripts, no
/// external resources, print-friendly) or Markdown. See docs/card.md.
///
/// Example:
/// @code
///   calibrisk::CardSources s;
///   s.artifact_text = text_of("model.json");
///   s.report_json = text_of("report.json");
///   s.spec = calibrisk::card_spec_from_json(text_of("card-spec.json"));
///   calibrisk::ModelCard card = calibrisk::build_model_card(calibrisk::load_from_string(
///       s.artifact_text), s);
///   std::string html = calibrisk::card_to_html(card);
/// @endcode
#pragma once

#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/report/report.hpp>

#include <limits>
#include <string>
#include <vector>

namespace calibrisk {

/// What the people responsible for a model say about it: the user-supplied part of a card, read
/// from a JSON object whose keys are the field names below (every field optional; see
/// `CardSpec::field_names`). Every string is data: it is escaped wherever it is shown.
struct CardSpec {
  std::string model_name;                      ///< "model_name": shown as the card's title
  std::string version;                         ///< "version": the model's release name, e.g. "2.1"
  std::string date;                            ///< "date": of the card / release, e.g. "2026-12-01"
  std::string summary;                         ///< "summary": one paragraph for a product owner
  std::string intended_use;                    ///< "intended_use": the decision the score supports
  std::string intended_users;                  ///< "intended_users": who acts on the flag
  std::string population;                      ///< "population": the patients it applies to
  std::vector<std::string> out_of_scope_uses;  ///< "out_of_scope_uses"
  std::vector<std::string> owners;             ///< "owners": names or teams
  std::string contact;                         ///< "contact": how to reach the owners
  std::vector<std::string> limitations;        ///< "limitations": known by the owners
  std::vector<std::string> ethical_considerations;  ///< "ethical_considerations"
  std::vector<std::string> references;              ///< "references": papers, tickets, docs

  /// The JSON keys a spec may hold, in the order above.
  static const std::vector<std::string>& field_names();
};

/// Parses a card spec: one JSON object, at most 1 MiB, keys from `CardSpec::field_names` (string
/// fields take a string; list fields take an array of strings or one string). Throws
/// InvalidInput naming every unknown key (with the closest known name when one is near), a
/// field of the wrong type, text that is not JSON or not an object, or invalid UTF-8.
CardSpec card_spec_from_json(const std::string& text);

/// What an operating point means for 1,000 patients like those of the evaluated part:
/// cases = 1000 * prevalence, caught = cases * recall, missed = cases - caught,
/// alerts = 1000 * alert rate, false alarms = alerts - caught. The `_lower` / `_upper` bounds
/// carry the interval of recall (caught, missed) and of the alert rate (alerts) through the same
/// formulas, prevalence held fixed; NaN when the interval is unknown. Values are not rounded.
struct PerThousand {
  double cases = std::numeric_limits<double>::quiet_NaN();
  double alerts = std::numeric_limits<double>::quiet_NaN();
  double caught = std::numeric_limits<double>::quiet_NaN();
  double missed = std::numeric_limits<double>::quiet_NaN();
  double false_alarms = std::numeric_limits<double>::quiet_NaN();
  double alerts_lower = std::numeric_limits<double>::quiet_NaN();
  double alerts_upper = std::numeric_limits<double>::quiet_NaN();
  double caught_lower = std::numeric_limits<double>::quiet_NaN();
  double caught_upper = std::numeric_limits<double>::quiet_NaN();
  double missed_lower = std::numeric_limits<double>::quiet_NaN();  ///< from recall's upper bound
  double missed_upper = std::numeric_limits<double>::quiet_NaN();  ///< from recall's lower bound
};

/// The per-1,000 figures from prevalence, recall and alert rate (with their intervals). NaN in,
/// NaN out; never throws.
PerThousand per_thousand(double prevalence, const Estimate& recall, const Estimate& alert_rate);

/// One table of a card: cells are plain text (escaped by the renderers); `flagged[k]` marks row k
/// (e.g. a flagged subgroup).
struct CardTable {
  std::vector<std::string> header;  ///< empty = a key/value table without a header row
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> flagged;  ///< one per row (or empty = none flagged)
};

/// A block of a card section; all text is plain (never markup).
struct CardBlock {
  enum class Kind { kParagraph, kNote, kList, kTable };
  Kind kind = Kind::kParagraph;
  std::string text;                ///< kParagraph, kNote (a note is highlighted: read this)
  std::vector<std::string> items;  ///< kList
  CardTable table;                 ///< kTable
};

/// One section: `id` is generated by the library ("operating-point"), never taken from data.
struct CardSection {
  std::string id;
  std::string heading;
  std::vector<CardBlock> blocks;
};

/// A rendered-format-neutral model card: a title and its sections in reading order.
struct ModelCard {
  std::string title;
  std::string subtitle;
  std::vector<CardSection> sections;
  /// The section with this id, or nullptr.
  const CardSection* section(const std::string& id) const {
    for (const auto& s : sections)
      if (s.id == id) return &s;
    return nullptr;
  }
};

/// Everything a card is built from besides the pipeline.
struct CardSources {
  /// The model file's text (to show its format version, checksum and signature status); "" =
  /// the pipeline was not read from a file (the card says so).
  std::string artifact_text;
  std::string model_source;  ///< how to name the model file on the card (e.g. its path); "" = none
  std::string report_json;   ///< an evaluation report (report_to_json); "" = none
  std::string report_source;
  /// A rolling-origin validation document (`calibrisk validate --json`); "" = none. Read
  /// loosely: see docs/card.md for the keys used.
  std::string validation_json;
  CardSpec spec;
};

/// Builds the card. Sections needing a report say so (and how to produce one) when
/// `report_json` is empty. Throws InvalidInput when the report or the validation document is not
/// valid JSON of the expected shape (naming the JSON path) or when `artifact_text` is given but
/// is not a JSON object.
ModelCard build_model_card(const Pipeline& pipeline, const CardSources& sources);

/// The card as one self-contained HTML page (inline CSS of the evaluation report, a
/// Content-Security-Policy forbidding scripts and external resources, print styles). Every
/// string is escaped for its context. Thread-safe.
std::string card_to_html(const ModelCard& card);

/// The card as GitHub-flavoured Markdown (pipe tables). Every string of the card is escaped so
/// that it renders as the same text: Markdown punctuation (`\ * _ [ ] < > # | ~ &` and a leading
/// `-`, `+`, `=` or `1.`) gets a backslash, line breaks become spaces, control characters and
/// invalid UTF-8 become U+FFFD. Thread-safe.
std::string card_to_markdown(const ModelCard& card);

}  // namespace calibrisk
