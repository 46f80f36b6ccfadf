// SPDX-License-Identifier: Apache-2.0
// `calibrisk card` as a function: formats from the extension, atomic output never over an input,
// and a bad card spec as a usage error naming the field.
#include <calibrisk/artifact/io.hpp>

#include <doctest/doctest.h>

#include "cli/card.hpp"
#include "cli/errors.hpp"
#include "unit/artifact/fixtures.hpp"

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

struct CardDir {
  fs::path dir;
  CardDir() {
    dir = fs::temp_directory_path() / ("calibrisk-card-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    calibrisk::save(calibrisk::test::make_pipeline(calibrisk::test::make_artifact_data(400, 5),
                                                   calibrisk::test::ModelKind::kLR,
                                                   calibrisk::test::CalKind::kNone),
                    (dir / "m.json").string());
  }
  ~CardDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const char* name) const { return (dir / name).string(); }
  void write(const char* name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("cli card: HTML or Markdown by extension; other extensions are usage errors") {
  const CardDir d;
  std::ostringstream out;
  calibrisk::cli::CardOptions o;
  o.model = d.path("m.json");
  o.out = d.path("card.HTML");
  CHECK(calibrisk::cli::run_card(o, out) == 0);
  CHECK(slurp(o.out).rfind("<!DOCTYPE html>", 0) == 0);
  o.out = d.path("card.md");
  CHECK(calibrisk::cli::run_card(o, out) == 0);
  CHECK(slurp(o.out).rfind("# Model card: ", 0) == 0);
  o.out = d.path("card.pdf");
  CHECK_THROWS_WITH_AS(calibrisk::cli::run_card(o, out), doctest::Contains("use .html"),
                       calibrisk::cli::UsageError);
  CHECK_FALSE(fs::exists(o.out));
}

TEST_CASE("cli card: never writes over an input; a bad spec names the field and writes nothing") {
  const CardDir d;
  const std::string model_before = slurp(d.path("m.json"));
  std::ostringstream out;
  calibrisk::cli::CardOptions o;
  o.model = d.path("m.json");
  d.write("spec.md", "{}");
  o.spec = d.path("spec.md");
  o.out = d.path("spec.md");
  CHECK_THROWS_AS(calibrisk::cli::run_card(o, out), calibrisk::cli::UsageError);
  CHECK(slurp(d.path("spec.md")) == "{}");
  d.write("spec.json", R"({"populaton": "adults"})");
  o.spec = d.path("spec.json");
  o.out = d.path("card.html");
  CHECK_THROWS_WITH_AS(calibrisk::cli::run_card(o, out),
                       doctest::Contains("did you mean 'population'"), calibrisk::cli::UsageError);
  CHECK_FALSE(fs::exists(o.out));
  CHECK(slurp(d.path("m.json")) == model_before);
}
