// SPDX-License-Identifier: Apache-2.0
// `calibrisk card` (see card.hpp): reads its inputs, builds the card with the library
// (calibrisk/report/card.hpp) and writes it through an OutputSet (no partial file, never over an
// input).
#include "cli/card.hpp"

#include "cli/errors.hpp"
#include "cli/output_file.hpp"

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/report/card.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace calibrisk::cli {
namespace {

constexpr std::uintmax_t kMaxInputBytes = 256u << 20;

std::string read_input(const std::string& path, const std::string& flag) {
  check_input_file(path, flag);
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxInputBytes) {
    throw UsageError(flag + " " + quote_for_message(path) + " has " + std::to_string(size) +
                     " bytes; at most " + std::to_string(kMaxInputBytes) + " are read.");
  }
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (!f && !f.eof()) throw UsageError(flag + " " + quote_for_message(path) + ": cannot read it.");
  return ss.str();
}

// "html" or "md" from the --out extension (case-insensitive).
std::string format_of(const std::string& out) {
  std::string ext = std::filesystem::path(out).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".html" || ext == ".htm") return "html";
  if (ext == ".md" || ext == ".markdown") return "md";
  throw UsageError("--out " + quote_for_message(out) +
                   ": the card's format comes from the extension; use .html (or .htm) for a "
                   "web page or .md (or .markdown) for Markdown.");
}

// Runs fn; an InvalidInput becomes `Wrapped` with the flag and file named.
template <class Wrapped, class Fn>
auto naming(const std::string& flag, const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const InvalidInput& e) {
    throw Wrapped(flag + " " + quote_for_message(path) + ": " + e.what());
  }
}

}  // namespace

int run_card(const CardOptions& o, std::ostream& out) {
  const std::string format = format_of(o.out);
  check_distinct_paths({{"--model", o.model},
                        {"--report", o.report},
                        {"--spec", o.spec},
                        {"--validation", o.validation}},
                       {{"--out", o.out}});
  CardSources s;
  s.model_source = o.model;
  const Pipeline pipe = as_model_file_error(o.model, [&] {
    // load() names a missing file, a directory or a damaged file; the text is kept for the
    // checksum and signature rows of the card.
    (void)load(o.model);
    s.artifact_text = read_input(o.model, "--model");
    return load_from_string(s.artifact_text);
  });
  if (!o.spec.empty()) {
    const std::string text = read_input(o.spec, "--spec");
    s.spec = naming<UsageError>("--spec", o.spec, [&] { return card_spec_from_json(text); });
  }
  if (!o.report.empty()) {
    s.report_json = read_input(o.report, "--report");
    s.report_source = o.report;
    // Read as the model's kind of report (binary, or multiclass for a K-class model); a report
    // of the other kind is refused naming both.
    (void)naming<InvalidInput>("--report", o.report, [&] { return build_model_card(pipe, s); });
  }
  if (!o.validation.empty()) s.validation_json = read_input(o.validation, "--validation");
  OutputSet outputs;
  OutputFile& file = outputs.add(o.out);
  // The report was checked above: what build_model_card can still reject is the validation file.
  const ModelCard card = o.validation.empty()
                             ? build_model_card(pipe, s)
                             : naming<InvalidInput>("--validation", o.validation,
                                                    [&] { return build_model_card(pipe, s); });
  file.stream() << (format == "html" ? card_to_html(card) : card_to_markdown(card));
  outputs.commit();
  out << "wrote the model card " << o.out
      << (o.report.empty() ? " (without a report: the "
                             "performance sections say how "
                             "to add one)"
                           : "")
      << "\n";
  return kExitOk;
}

}  // namespace calibrisk::cli
