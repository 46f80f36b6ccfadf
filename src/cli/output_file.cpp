// SPDX-License-Identifier: Apache-2.0
// Temporary-file-and-rename output (see output_file.hpp).
#include "cli/output_file.hpp"

#include "cli/errors.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <unistd.h>

namespace calibrisk::cli {
namespace {

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path p(path);
  const std::filesystem::path dir =
      p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const std::string name = "." + p.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                           "-" + std::to_string(counter.fetch_add(1));
  return (dir / name).string();
}

std::string directory_of(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw UsageError("an output path is empty; pass a file name.");
  if (std::filesystem::is_directory(path_)) {
    throw UsageError("output path '" + path_ + "' is a directory; pass a file name.");
  }
  temp_ = temp_name_for(path_);
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    const int err = errno;
    throw UsageError("cannot write '" + path_ + "' (" + std::strerror(err) + "); check that the " +
                     "directory '" + directory_of(path_) + "' exists and is writable.");
  }
}

OutputFile::~OutputFile() {
  if (!done_) discard();
}

void OutputFile::discard() noexcept {
  if (done_) return;
  if (out_.is_open()) out_.close();
  std::remove(temp_.c_str());
  done_ = true;
}

void OutputFile::commit() {
  if (done_) return;
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || out_.fail()) {
    discard();
    throw Error("failed while writing '" + path_ + "' (disk full?); nothing was written.");
  }
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    discard();
    throw Error("cannot rename the finished output onto '" + path_ + "' (" + std::strerror(err) +
                "); check the permissions of the target.");
  }
  done_ = true;
}

void check_writable(const std::string& path, const std::string& flag) {
  if (path.empty()) throw UsageError(flag + " is empty; pass a file name.");
  OutputFile probe(path);  // throws UsageError with the reason
  probe.discard();
}

void write_text_file(const std::string& path, const std::string& text) {
  OutputFile f(path);
  f.stream() << text;
  f.commit();
}

}  // namespace calibrisk::cli
