// SPDX-License-Identifier: Apache-2.0
// Output files that appear complete or not at all: each is written to a temporary file in the
// target's directory; all outputs of a command are renamed into place together, only after the
// last one was produced; temporaries are removed on failure and on SIGINT/SIGTERM/SIGHUP.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace calibrisk::cli {

/// A file being written. The content goes to `<dir>/.<name>.tmp-<pid>-<n>`; `commit()` finishes
/// it and renames it to the target (atomic on POSIX within one file system), so a reader never
/// sees a partial file and a failed command leaves the old target (if any) untouched. When the
/// object is destroyed without `commit()` (an exception, an early return) the temporary file is
/// removed; while it exists its path is registered for removal by the signal handlers of
/// `install_signal_cleanup`.
///
/// Throws UsageError when the target is a directory or the temporary file cannot be created (the
/// directory does not exist or is not writable) and Error when a write or the rename fails. Not
/// thread-safe.
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

  /// Flushes and closes the temporary file; throws Error (after `discard()`) when a write failed.
  /// The content can then be read back from `temp_path()`. Idempotent.
  void finish();
  /// `finish()`, then renames onto the target path. Idempotent after success.
  void commit();
  /// Removes the temporary file (also done by the destructor when not committed).
  void discard() noexcept;

 private:
  std::string path_;
  std::string temp_;
  std::ofstream out_;
  int slot_ = -1;  // signal-cleanup registry slot, -1 = not registered
  bool finished_ = false;
  bool done_ = false;
};

/// All output files of one command, committed together or not at all: `commit()` first finishes
/// every file (any write error throws before a single target is replaced), then renames them all
/// with SIGINT/SIGTERM/SIGHUP deferred until the last rename. Destroyed without `commit()`, it
/// removes every temporary file. Not thread-safe.
class OutputSet {
 public:
  /// Opens the temporary file of another output (see OutputFile for the errors).
  OutputFile& add(const std::string& path);
  /// Finishes every file, then renames them all onto their targets.
  void commit();

 private:
  std::vector<std::unique_ptr<OutputFile>> files_;
};

/// A path given on the command line, with the flag that gave it ("--data").
struct PathArg {
  std::string flag;
  std::string path;  ///< "" = not given (skipped)
};

/// Refuses (UsageError, exit 2) an output path that is the same file as an input or as another
/// output of the same command, after resolving symbolic links, "." and ".." (`weakly_canonical`,
/// so outputs that do not exist yet are resolved through their directory) and hard links (same
/// device and inode). Run before any output is opened so nothing is touched.
void check_distinct_paths(const std::vector<PathArg>& inputs, const std::vector<PathArg>& outputs);

/// Checks an input file named by `flag` before reading it: it must exist and be a regular file
/// (not a directory, device or pipe). Throws UsageError naming the flag and the path.
void check_input_file(const std::string& path, const std::string& flag);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every registered temporary
/// output file (async-signal-safe: a fixed table of paths and unlink()) and then re-raise the
/// signal with its default action, so the process still ends by that signal. Call once, early in
/// main().
void install_signal_cleanup();

/// Writes `text` to `path` through an OutputFile.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace calibrisk::cli
