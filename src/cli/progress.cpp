// SPDX-License-Identifier: Apache-2.0
// Progress lines of the command-line tool.
#include "cli/progress.hpp"

#include <cstdio>
#include <iostream>

namespace calibrisk::cli {

Progress::Progress(bool quiet, std::ostream* err) : quiet_(quiet), err_(err ? err : &std::cerr) {}

void Progress::note(const std::string& message) {
  if (!quiet_) *err_ << "calibrisk: " << message << '\n' << std::flush;
}

void Progress::warn(const std::string& message) {
  *err_ << "calibrisk: warning: " << message << '\n' << std::flush;
}

Progress::Step::Step(Progress& p, std::string what)
    : p_(&p), what_(std::move(what)), start_(std::chrono::steady_clock::now()) {
  p_->note(what_ + " ...");
}

double Progress::Step::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::Step::done(const std::string& detail) {
  if (ended_) return;
  ended_ = true;
  p_->note(what_ + ": done in " + format_seconds(seconds()) +
           (detail.empty() ? "" : " (" + detail + ")"));
}

std::string format_seconds(double s) {
  char buf[64];
  if (s < 1.0) {
    std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000.0);
  } else if (s < 60.0) {
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  } else {
    const int m = static_cast<int>(s / 60.0);
    std::snprintf(buf, sizeof buf, "%d min %02d s", m, static_cast<int>(s - 60.0 * m));
  }
  return buf;
}

std::string format_count(long long n) {
  const bool neg = n < 0;
  std::string digits = std::to_string(neg ? -n : n);
  std::string out;
  const int len = static_cast<int>(digits.size());
  for (int i = 0; i < len; ++i) {
    out.push_back(digits[static_cast<std::size_t>(i)]);
    const int left = len - 1 - i;
    if (left > 0 && left % 3 == 0) out.push_back(',');
  }
  return neg ? "-" + out : out;
}

}  // namespace calibrisk::cli
