// SPDX-License-Identifier: Apache-2.0
// Progress and timing lines on stderr for long steps of the command-line tool (silenced by
// --quiet).
#pragma once

#include <chrono>
#include <ostream>
#include <string>

namespace calibrisk::cli {

/// Prints `calibrisk: <what> ...` when a step starts and `calibrisk: <what>: done in 1.23 s` when
/// it ends; nothing when quiet. Only the tool writes to the terminal; the library never does.
class Progress {
 public:
  explicit Progress(bool quiet, std::ostream* err = nullptr);

  /// A timed step; `done()` (or `done(detail)`) prints the elapsed time.
  class Step {
   public:
    Step(Progress& p, std::string what);
    /// Prints the end line with an optional detail ("12,345 rows").
    void done(const std::string& detail = {});
    /// Seconds since the step began.
    double seconds() const;

   private:
    Progress* p_;
    std::string what_;
    std::chrono::steady_clock::time_point start_;
    bool ended_ = false;
  };

  Step step(std::string what) { return Step(*this, std::move(what)); }
  /// A plain information line (prefixed with "calibrisk: ").
  void note(const std::string& message);
  /// A warning line (always printed, even when quiet).
  void warn(const std::string& message);
  bool quiet() const noexcept { return quiet_; }

 private:
  bool quiet_;
  std::ostream* err_;
};

/// "1.23 s" / "85 ms" / "2 min 03 s".
std::string format_seconds(double s);
/// 12345 -> "12,345".
std::string format_count(long long n);

}  // namespace calibrisk::cli
