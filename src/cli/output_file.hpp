// SPDX-License-Identifier: Apache-2.0
// Output files that appear complete or not at all: written to a temporary file in the same
// directory and renamed over the target on success.
#pragma once

#include <fstream>
#include <string>

namespace calibrisk::cli {

/// A file being written. The content goes to `<dir>/.<name>.tmp-<pid>-<n>`; `commit()` flushes,
/// closes and renames it to the target (atomic on POSIX within one file system), so a reader never
/// sees a partial file and a failed command leaves the old target (if any) untouched. When the
/// object is destroyed without `commit()` (an exception, an early return) the temporary file is
/// removed.
///
/// Throws UsageError when the temporary file cannot be created (the directory does not exist or
/// is not writable) and Error when a write or the rename fails. Not thread-safe.
class OutputFile {
 public:
  explicit OutputFile(std::string path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// The stream to write to (binary mode).
  std::ostream& stream() noexcept { return out_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& temp_path() const noexcept { return temp_; }

  /// Flushes, closes and renames onto the target path. Idempotent after success.
  void commit();
  /// Removes the temporary file (also done by the destructor when not committed).
  void discard() noexcept;

 private:
  std::string path_;
  std::string temp_;
  std::ofstream out_;
  bool done_ = false;
};

/// Checks up front that `path` can be written (its directory exists and accepts a new file) so a
/// long command fails before the work, not after it. Throws UsageError naming `flag` and the fix.
void check_writable(const std::string& path, const std::string& flag);

/// Writes `text` to `path` through an OutputFile.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace calibrisk::cli
