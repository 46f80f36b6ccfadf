// SPDX-License-Identifier: Apache-2.0
// `calibrisk keygen`, `sign` and `verify`: Ed25519 signatures of model files (the library's
// generate_key_pair / SaveOptions::signing_key_file / verify_signature). Key file problems are
// usage errors (exit 2); a model file that does not load or whose signature does not verify is a
// model file error (exit 4).
#include <calibrisk/artifact/io.hpp>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "cli/output_file.hpp"

#include <fstream>
#include <sstream>

namespace calibrisk::cli {
namespace {

// Runs fn; a key or output file problem (FileError, InvalidInput other than a model format
// error) becomes a UsageError naming the flag.
template <class Fn>
auto as_usage_error(const std::string& flag, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const ModelFormatError&) {
    throw;
  } catch (const FileError& e) {
    throw UsageError(flag + ": " + e.what());
  } catch (const InvalidInput& e) {
    throw UsageError(flag + ": " + e.what());
  }
}

std::string read_model_text(const std::string& path) {
  return as_model_file_error(path, [&] {
    // load() reports a missing file, a directory, an oversized or damaged file by name.
    (void)load(path);
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
  });
}

}  // namespace

int run_keygen(const KeygenOptions& o, std::ostream& out) {
  const std::string pub = o.out + ".pub";
  as_usage_error("--out", [&] { generate_key_pair(o.out, pub); });
  out << "wrote secret key " << o.out << " (permissions 0600: keep it private) and public key "
      << pub << " (give it to whoever loads your models)\n";
  return kExitOk;
}

int run_sign(const SignOptions& o, std::ostream& out) {
  // Signing in place (no --out, or --out naming the model) is the point of the command; writing
  // over the key would destroy an input.
  const std::string target = o.out.empty() ? o.model : o.out;
  check_distinct_paths({{"--key", o.key}}, {{"--out", target}});
  const Pipeline pipe = as_model_file_error(o.model, [&] { return load(o.model); });
  SaveOptions so;
  so.signing_key_file = o.key;
  (void)as_usage_error("--key", [&] { return to_string(pipe, so); });  // the key is usable
  as_usage_error("--out", [&] { save(pipe, target, so); });  // atomic: temporary file + rename
  out << "signed " << target << "\n";
  return kExitOk;
}

int run_verify(const SignOptions& o, std::ostream& out) {
  const std::string text = read_model_text(o.model);
  const SignatureCheck c = as_model_file_error(o.model, [&] {
    return as_usage_error("--key", [&] { return verify_signature(text, o.key); });
  });
  if (!c.valid) throw ModelFileError("model file '" + o.model + "': " + c.message);
  out << o.model << ": " << c.message << "\n";
  return kExitOk;
}

}  // namespace calibrisk::cli
