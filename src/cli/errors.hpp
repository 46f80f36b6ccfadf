// SPDX-License-Identifier: Apache-2.0
// Exit codes of the calibrisk command-line tool and the mapping from exceptions to them.
#pragma once

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/text.hpp>

#include <exception>
#include <stdexcept>
#include <string>

namespace calibrisk::cli {

/// Process exit codes; documented in `calibrisk --help` and docs/cli.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,  ///< a bug or an unexpected system failure
  kExitUsage = 2,     ///< bad command line: unknown flag, bad flag value, unwritable output path
  kExitData = 3,      ///< the input data cannot be used (unreadable CSV, missing column, one class)
  kExitModelFile = 4,  ///< the model file is missing, corrupt, truncated or from a newer version
};

/// The command line is wrong (a flag value that does not parse, an unknown --param key, an output
/// path that cannot be written). Maps to exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The model file named by --model cannot be used. Maps to exit code 4.
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The exit code for an exception escaping a command, and the prefix of its message
/// ("usage error", "data error", "model file error", "internal error").
struct Classified {
  int code = kExitInternal;
  const char* kind = "internal error";
};

/// Classifies the exception: UsageError and InvalidParams (a field of a *Params struct, which the
/// user set with --param) -> 2; ModelFileError and ModelFormatError -> 4; other InvalidInput -> 3;
/// everything else -> 1.
Classified classify(const std::exception& e) noexcept;

/// Runs `fn` and turns the first model-file problem into a ModelFileError: any calibrisk::Error
/// thrown while loading `path` names the file and the fix.
template <class Fn>
auto as_model_file_error(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const ModelFileError&) {
    throw;
  } catch (const calibrisk::Error& e) {
    throw ModelFileError("cannot use model file " + quote_for_message(path) + ": " + e.what() +
                         " Re-create it with `calibrisk train` (or check the --model path).");
  }
}

}  // namespace calibrisk::cli
