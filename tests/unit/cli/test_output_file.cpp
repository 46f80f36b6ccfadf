// SPDX-License-Identifier: Apache-2.0
// Output files of the command-line tool appear complete or not at all.
#include <doctest/doctest.h>

#include "cli/errors.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace calibrisk::cli;

namespace {
fs::path fresh_dir(const char* name) {
  const fs::path d = fs::temp_directory_path() /
                     (std::string("calibrisk_cli_") + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("cli output file: nothing appears until commit; the temp file is removed on failure") {
  const fs::path d = fresh_dir("out");
  const fs::path target = d / "model.json";
  {
    OutputFile f(target.string());
    f.stream() << "partial";
    CHECK(fs::exists(f.temp_path()));
    CHECK(fs::path(f.temp_path()).parent_path() == d);
    CHECK_FALSE(fs::exists(target));
  }  // destroyed without commit, as when an exception unwinds
  CHECK_FALSE(fs::exists(target));
  CHECK(fs::is_empty(d));

  {
    OutputFile f(target.string());
    f.stream() << "complete";
    f.commit();
  }
  CHECK(slurp(target) == "complete");
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 1);

  // A failed rewrite leaves the old file intact.
  {
    OutputFile f(target.string());
    f.stream() << "new but abandoned";
  }
  CHECK(slurp(target) == "complete");
  fs::remove_all(d);
}

TEST_CASE("cli output file: an unwritable path is a usage error naming the directory") {
  CHECK_THROWS_WITH_AS(OutputFile("/nonexistent_dir_calibrisk/x.json"),
                       doctest::Contains("/nonexistent_dir_calibrisk' exists"), UsageError);
  CHECK_THROWS_WITH_AS(check_writable("", "--out"), doctest::Contains("--out is empty"),
                       UsageError);
  const fs::path d = fresh_dir("dir");
  CHECK_THROWS_WITH_AS(OutputFile(d.string()), doctest::Contains("is a directory"), UsageError);
  check_writable((d / "ok.csv").string(), "--out");
  CHECK(fs::is_empty(d));  // the probe leaves nothing behind
  fs::remove_all(d);
}

TEST_CASE("cli progress: lines on stderr, silent when quiet except warnings") {
  std::ostringstream err;
  Progress p(false, &err);
  auto s = p.step("training");
  s.done("3 trees");
  CHECK(err.str().find("calibrisk: training ...") != std::string::npos);
  CHECK(err.str().find("calibrisk: training: done in ") != std::string::npos);
  CHECK(err.str().find("(3 trees)") != std::string::npos);
  std::ostringstream quiet_err;
  Progress q(true, &quiet_err);
  q.step("x").done();
  q.note("y");
  CHECK(quiet_err.str().empty());
  q.warn("z");
  CHECK(quiet_err.str() == "calibrisk: warning: z\n");
  CHECK(format_count(1234567) == "1,234,567");
  CHECK(format_count(12) == "12");
  CHECK(format_seconds(0.0421) == "42 ms");
  CHECK(format_seconds(2.5) == "2.50 s");
  CHECK(format_seconds(125.0) == "2 min 05 s");
}
