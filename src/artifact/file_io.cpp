// SPDX-License-Identifier: Apache-2.0
// POSIX file helpers of the artifact module (see file_io.hpp).
#include "artifact/file_io.hpp"

#include <calibrisk/artifact/io.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace calibrisk::detail::artifact {
namespace {

[[noreturn]] void fail_errno(const char* what, const std::string& action, const std::string& path,
                             int err, const char* fix) {
  throw FileError(std::string(what) + ": cannot " + action + " '" + path +
                      "': " + std::strerror(err) + "; " + fix,
                  err);
}

constexpr const char* kWriteFix = "check that the directory exists and is writable.";

}  // namespace

std::string not_a_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  return {};
}

void write_file(const std::string& path, std::string_view text, unsigned mode, bool exclusive,
                const char* what) {
  if (not_a_regular_file(path) == "is a directory") {
    fail_errno(what, "write", path, EISDIR, "name a file, not a directory.");
  }
  if (exclusive && ::access(path.c_str(), F_OK) == 0) {
    fail_errno(what, "create", path, EEXIST, "remove it first or choose another name.");
  }
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) fail_errno(what, "open", tmp, errno, kWriteFix);
  // The mode given to open is filtered by the umask; a key file must not be more open than asked.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail_errno(what, "set the permissions of", tmp, err, kWriteFix);
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail_errno(what, "write", tmp, err, "check the free disk space.");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno(what, "write", tmp, err, "check the free disk space.");
  }
  if (exclusive ? ::link(tmp.c_str(), path.c_str()) != 0
                : std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno(what, "write", path, err, kWriteFix);
  }
  if (exclusive) ::unlink(tmp.c_str());
}

std::string read_small_file(const std::string& path, std::size_t max_bytes, const char* what) {
  const std::string kind = not_a_regular_file(path);
  if (!kind.empty()) {
    throw FileError(std::string(what) + ": '" + path + "' " + kind + "; name a key file.", 0);
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail_errno(what, "open", path, errno, "check the path and permissions.");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() > max_bytes) {
      std::fclose(f);
      throw FileError(std::string(what) + ": '" + path + "' is larger than " +
                          std::to_string(max_bytes) + " bytes; it is not a key file.",
                      0);
    }
  }
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) fail_errno(what, "read", path, EIO, "check the file.");
  return out;
}

}  // namespace calibrisk::detail::artifact
