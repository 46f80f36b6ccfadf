// SPDX-License-Identifier: Apache-2.0
// Temporary-file-and-rename output, output sets, path checks and signal cleanup (see
// output_file.hpp).
#include "cli/output_file.hpp"

#include "cli/errors.hpp"

#include <calibrisk/io/text.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <pthread.h>
#include <unistd.h>

namespace calibrisk::cli {
namespace {

namespace fs = std::filesystem;

// --- Signal cleanup -------------------------------------------------------------------------
// A fixed table of temporary paths that a signal handler may read: a slot is filled (path
// copied, then `armed` set with release order) before the file is created and disarmed before it
// is renamed or removed. Slots are never reused, so the handler never reads a path being
// rewritten; a command has a handful of outputs, so the table does not run out in practice (a
// file beyond it is simply not cleaned up on a signal). std::atomic<bool> is lock-free here, as
// a signal handler requires.
constexpr int kSlots = 128;
constexpr std::size_t kMaxPath = 4096;
struct Slot {
  std::atomic<bool> armed{false};
  char path[kMaxPath];
};
Slot g_slots[kSlots];
std::atomic<int> g_next_slot{0};
std::atomic<bool> g_committing{false};  // renames in progress: defer the signal
std::atomic<int> g_deferred_signal{0};  // the signal that arrived meanwhile

void remove_registered_temps() noexcept {
  const int n = std::min(g_next_slot.load(std::memory_order_acquire), kSlots);
  for (int i = 0; i < n; ++i) {
    if (g_slots[i].armed.load(std::memory_order_acquire)) ::unlink(g_slots[i].path);
  }
}

[[noreturn]] void die_by(int sig) noexcept {
  remove_registered_temps();
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  _exit(128 + sig);  // not reached: the default action of these signals ends the process
}

extern "C" void on_fatal_signal(int sig) {
  if (g_committing.load(std::memory_order_acquire)) {
    g_deferred_signal.store(sig, std::memory_order_release);
    return;
  }
  die_by(sig);
}

int register_temp(const std::string& path) noexcept {
  if (path.size() >= kMaxPath) return -1;
  const int i = g_next_slot.fetch_add(1, std::memory_order_acq_rel);
  if (i >= kSlots) return -1;
  std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
  g_slots[i].armed.store(true, std::memory_order_release);
  return i;
}

void unregister_temp(int slot) noexcept {
  if (slot >= 0) g_slots[slot].armed.store(false, std::memory_order_release);
}

// --- Helpers --------------------------------------------------------------------------------
std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string name = "." + p.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                           "-" + std::to_string(counter.fetch_add(1));
  return (dir / name).string();
}

std::string directory_of(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string shown(const std::string& path) { return quote_for_message(path); }

// The path with symbolic links, "." and ".." resolved; for a path that does not exist yet, its
// existing ancestors are resolved and the rest appended.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? fs::absolute(path).lexically_normal() : p;
}

bool same_file(const std::string& a, const std::string& b) {
  if (resolved(a) == resolved(b)) return true;
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;  // hard links (both exist)
}

}  // namespace

// --- OutputFile -----------------------------------------------------------------------------
OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw UsageError("an output path is empty; pass a file name.");
  std::error_code ec;
  if (fs::is_directory(path_, ec)) {
    throw UsageError("output path " + shown(path_) + " is a directory; pass a file name.");
  }
  temp_ = temp_name_for(path_);
  slot_ = register_temp(temp_);  // before the file exists: a signal can never leave it behind
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    const int err = errno;
    unregister_temp(slot_);
    done_ = true;
    throw UsageError("cannot write " + shown(path_) + " (" + std::strerror(err) +
                     "); check that the directory " + shown(directory_of(path_)) +
                     " exists and is writable.");
  }
}

OutputFile::~OutputFile() {
  if (!done_) discard();
}

void OutputFile::discard() noexcept {
  if (done_) return;
  if (out_.is_open()) out_.close();
  std::remove(temp_.c_str());
  unregister_temp(slot_);
  done_ = true;
}

void OutputFile::finish() {
  if (finished_ || done_) return;
  errno = 0;
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || out_.fail()) {
    const int err = errno;
    discard();
    throw Error("failed while writing " + shown(path_) + " (" +
                (err != 0 ? std::strerror(err) : "write error") +
                "; disk full or over a file size limit?); no output was replaced.");
  }
  finished_ = true;
}

void OutputFile::commit() {
  if (done_) return;
  finish();
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    discard();
    throw Error("cannot rename the finished output onto " + shown(path_) + " (" +
                std::strerror(err) + "); check the permissions of the target.");
  }
  unregister_temp(slot_);
  done_ = true;
}

// --- OutputSet ------------------------------------------------------------------------------
OutputFile& OutputSet::add(const std::string& path) {
  files_.push_back(std::make_unique<OutputFile>(path));
  return *files_.back();
}

void OutputSet::commit() {
  for (auto& f : files_) f->finish();  // every write checked before any target is replaced
  g_committing.store(true, std::memory_order_release);
  try {
    for (auto& f : files_) f->commit();
  } catch (...) {
    g_committing.store(false, std::memory_order_release);
    throw;
  }
  g_committing.store(false, std::memory_order_release);
  if (const int sig = g_deferred_signal.exchange(0)) die_by(sig);
}

// --- Path checks ----------------------------------------------------------------------------
void check_distinct_paths(const std::vector<PathArg>& inputs, const std::vector<PathArg>& outputs) {
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const PathArg& out = outputs[k];
    if (out.path.empty()) continue;
    for (const PathArg& in : inputs) {
      if (in.path.empty() || !same_file(out.path, in.path)) continue;
      throw UsageError(out.flag + " " + shown(out.path) + " is the same file as the input " +
                       in.flag + " " + shown(in.path) +
                       "; writing it would destroy the input: pass another output path.");
    }
    for (std::size_t m = 0; m < k; ++m) {
      const PathArg& other = outputs[m];
      if (other.path.empty() || !same_file(out.path, other.path)) continue;
      throw UsageError(out.flag + " " + shown(out.path) + " and " + other.flag + " " +
                       shown(other.path) +
                       " are the same file; one output would overwrite the other: give each "
                       "output its own path.");
    }
  }
}

void check_input_file(const std::string& path, const std::string& flag) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (path.empty()) throw UsageError(flag + " is empty; pass a file name.");
  if (st.type() == fs::file_type::not_found) {
    throw UsageError(flag + " " + shown(path) + ": the file does not exist; check the path.");
  }
  if (st.type() == fs::file_type::directory) {
    throw UsageError(flag + " " + shown(path) + " is a directory; pass a file.");
  }
  if (ec || st.type() != fs::file_type::regular) {
    throw UsageError(flag + " " + shown(path) +
                     " is not a regular file (a device, pipe or socket, or it cannot be "
                     "examined); pass a file.");
  }
}

void install_signal_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler == SIG_IGN) continue;  // e.g. SIGHUP under nohup: keep ignoring it
    sigaction(sig, &sa, nullptr);
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  OutputFile f(path);
  f.stream() << text;
  f.commit();
}

}  // namespace calibrisk::cli
