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
  CHECK_THROWS_WITH_AS(OutputFile(""), doctest::Contains("empty"), UsageError);
  const fs::path d = fresh_dir("dir");
  CHECK_THROWS_WITH_AS(OutputFile(d.string()), doctest::Contains("is a directory"), UsageError);
  fs::remove_all(d);
}

TEST_CASE("cli output set: all outputs are replaced together or not at all") {
  const fs::path d = fresh_dir("set");
  const fs::path model = d / "m.json", html = d / "r.html", json = d / "r.json";
  for (const auto& p : {model, html, json}) std::ofstream(p) << "old " << p.filename().string();
  SUBCASE("a failure after some outputs were written (an exception) replaces none") {
    try {
      OutputSet set;
      set.add(html.string()).stream() << "new report";
      set.add(json.string()).stream() << "new json";
      OutputFile& m = set.add(model.string());
      throw std::runtime_error("the model could not be serialised");
      m.stream() << "unreachable";
    } catch (const std::runtime_error&) {
    }
  }
  SUBCASE("a failed write of the last output replaces none") {
    OutputSet set;
    set.add(html.string()).stream() << "new report";
    set.add(json.string()).stream() << "new json";
    OutputFile& m = set.add(model.string());
    m.stream().setstate(std::ios::badbit);  // as a full disk would
    CHECK_THROWS_WITH_AS(set.commit(), doctest::Contains("no output was replaced"),
                         calibrisk::Error);
  }
  CHECK(slurp(model) == "old m.json");
  CHECK(slurp(html) == "old r.html");
  CHECK(slurp(json) == "old r.json");
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 3);  // no temps
  {
    OutputSet set;
    set.add(html.string()).stream() << "new report";
    set.add(model.string()).stream() << "new model";
    set.commit();
  }
  CHECK(slurp(html) == "new report");
  CHECK(slurp(model) == "new model");
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 3);
  fs::remove_all(d);
}

TEST_CASE("cli paths: an output may not be an input or another output, however it is named") {
  const fs::path d = fresh_dir("paths");
  const fs::path data = d / "d.csv";
  std::ofstream(data) << "x,y\n1,0\n";
  fs::create_symlink(data, d / "link.csv");
  fs::create_hard_link(data, d / "hard.csv");
  fs::create_directories(d / "sub");
  const std::string in = data.string();
  auto refused = [&](const std::string& out) {
    CHECK_THROWS_WITH_AS(check_distinct_paths({{"--data", in}}, {{"--out", out}}),
                         doctest::Contains("is the same file as the input --data"), UsageError);
  };
  refused(in);
  refused((d / "link.csv").string());              // a symbolic link to the input
  refused((d / "hard.csv").string());              // a hard link
  refused((d / "sub" / ".." / "d.csv").string());  // dot-dot
  refused((d / "." / "d.csv").string());
  CHECK_THROWS_WITH_AS(check_distinct_paths({}, {{"--out", (d / "m.json").string()},
                                                 {"--report", (d / "m.json").string()},
                                                 {"--json", ""}}),
                       doctest::Contains("--report '"), UsageError);
  CHECK_THROWS_WITH_AS(
      check_distinct_paths({}, {{"--out", (d / "m.json").string()},
                                {"--json", (d / "sub" / ".." / "m.json").string()}}),
      doctest::Contains("are the same file"), UsageError);
  CHECK_NOTHROW(check_distinct_paths(
      {{"--data", in}, {"--model", ""}},
      {{"--out", (d / "s.csv").string()}, {"--report", (d / "r.html").string()}, {"--json", ""}}));
  fs::remove_all(d);
}

TEST_CASE("cli paths: input files must exist and be regular files") {
  const fs::path d = fresh_dir("inputs");
  CHECK_THROWS_WITH_AS(check_input_file(d.string(), "--data"), doctest::Contains("is a directory"),
                       UsageError);
  CHECK_THROWS_WITH_AS(check_input_file((d / "nope.csv").string(), "--data"),
                       doctest::Contains("does not exist"), UsageError);
  CHECK_THROWS_WITH_AS(check_input_file("/dev/null", "--data"),
                       doctest::Contains("not a regular file"), UsageError);
  std::ofstream(d / "ok.csv") << "x\n";
  CHECK_NOTHROW(check_input_file((d / "ok.csv").string(), "--data"));
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
