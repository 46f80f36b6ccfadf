// SPDX-License-Identifier: Apache-2.0
// Parsing of the command-line tool's structured flag values: --split, --policy and --param.
// Every parser throws UsageError with a message that names the flag, the bad text and the fix.
#pragma once

#include <calibrisk/split/split.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/workflow/params_text.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::cli {

/// "a=1,b=2" -> {{"a","1"},{"b","2"}} (spaces around items trimmed). Empty keys, missing '=' and
/// repeated keys are errors naming `flag`.
std::vector<std::pair<std::string, std::string>> parse_key_values(const std::string& text,
                                                                  const std::string& flag);

/// A finite decimal number (the whole text); throws UsageError naming `what`.
double parse_double(const std::string& text, const std::string& what);
/// A whole number in [lo, hi]; throws UsageError naming `what`.
long long parse_integer(const std::string& text, const std::string& what, long long lo,
                        long long hi);
/// A whole number in [0, hi] (no sign; up to 2^64 - 1); throws UsageError naming `what`.
std::uint64_t parse_unsigned(const std::string& text, const std::string& what,
                             std::uint64_t hi = UINT64_MAX);
/// true/false/1/0/yes/no/on/off (case-insensitive); throws UsageError naming `what`.
bool parse_bool(const std::string& text, const std::string& what);

// SplitFractions is the library's (calibrisk/split/split.hpp).

/// Parses --split "train=0.6,calibration=0.2,test=0.2". Keys may be omitted when the others
/// determine them (e.g. "train=0.7,calibration=0.15" gives test=0.15); "cal" abbreviates
/// "calibration". Throws UsageError when a fraction is not in (0, 1) or they do not sum to 1.
SplitFractions parse_split(const std::string& text);

/// --split-rule (entry | calendar) with --cut "2023-01-01,2023-07-01" (dates or numbers, as the
/// time column) or --cut-fractions "0.6,0.8" (of the time range) and --calendar-patients
/// (exclude | later-only): the rule, and for calendar the spec filled into `calendar`. Throws
/// UsageError when cuts are given without --split-rule calendar, calendar has no cuts or both
/// forms, or a list does not hold two items. Dates are parsed by the library once the time
/// column is read (calendar_cut_keys).
SplitRule parse_split_rule(const std::string& rule, const std::string& cut,
                           const std::string& cut_fractions, const std::string& patients,
                           CalendarSpec& calendar);

/// Parses --policy: one of min-recall=R, min-precision=P, max-alert-rate=A (each in (0, 1]),
/// cost-fp=C,cost-fn=C (both > 0) or max-f=BETA (> 0). Throws UsageError listing the forms.
/// `policy_text` (calibrisk/workflow/params_text.hpp) prints it back in canonical form.
ThresholdPolicy parse_policy(const std::string& text);

/// One settable field of a model's Params struct, for --param key=value.
struct ParamField {
  std::string name;  ///< the Params field name, e.g. "max_leaf_nodes"
  std::string type;  ///< shown in messages: "int", "double", "bool", "uint64", or a choice list
  std::function<void(const std::string& value)> set;  ///< parses and assigns; throws UsageError
  std::function<std::string()> get;                   ///< the current value as text (provenance)
  /// When set and true, provenance leaves the field out (a field newer than format 1.0 that kept
  /// its default, so such files stay byte-identical to those of earlier releases).
  std::function<bool()> omit_from_provenance = nullptr;
};

/// Helpers that build ParamFields bound to a field of a Params struct that outlives them.
ParamField int_field(std::string name, int& field);
ParamField double_field(std::string name, double& field);  ///< accepts "inf" as +infinity
ParamField bool_field(std::string name, bool& field);
ParamField uint64_field(std::string name, std::uint64_t& field);
ParamField index_field(std::string name, std::ptrdiff_t& field);

// format_double (the text of a double that reads back to the same value) is the library's
// (calibrisk/workflow/params_text.hpp).

/// Applies "key=value" assignments (from repeated --param flags) to the fields. An unknown key is
/// a UsageError listing every valid key of `model`; a value that does not parse names the key and
/// its type; a key given twice is an error. Range checks are left to the Params' `validate()`.
void apply_params(const std::vector<std::string>& assignments,
                  const std::vector<ParamField>& fields, const std::string& model);

}  // namespace calibrisk::cli
