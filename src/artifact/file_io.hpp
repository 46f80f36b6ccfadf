// SPDX-License-Identifier: Apache-2.0
// Reading and writing whole files with the operating system's error reported as FileError (errno
// and the path in the message). Internal to src/artifact/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace calibrisk::detail::artifact {

/// Writes `text` to `path` atomically: into `path.tmp` (created with `mode`), then renamed over
/// `path`. With `exclusive`, an existing `path` is an error (EEXIST) and nothing is replaced.
/// `what` starts messages ("save", "keygen"). Throws FileError.
void write_file(const std::string& path, std::string_view text, unsigned mode, bool exclusive,
                const char* what);

/// Reads a whole regular file of at most `max_bytes`. Throws FileError (missing, unreadable, a
/// directory, too large).
std::string read_small_file(const std::string& path, std::size_t max_bytes, const char* what);

/// "is a directory" / "is not a regular file" when `path` names something other than a regular
/// file, empty otherwise (also empty when `path` does not exist).
std::string not_a_regular_file(const std::string& path);

}  // namespace calibrisk::detail::artifact
