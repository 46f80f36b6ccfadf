// SPDX-License-Identifier: Apache-2.0
// `calibrisk card` as a function: formats from the extension, atomic output never over an input,
// and a bad card spec as a usage error naming the field.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/report/multiclass.hpp>

#include <doctest/doctest.h>

#include "cli/card.hpp"
#include "cli/errors.hpp"
#include "unit/artifact/fixtures.hpp"
#include "unit/report/mc_fixture.hpp"

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

TEST_CASE("cli card: a K-class model with and without its multiclass report; hostile labels") {
  const CardDir d;
  const calibrisk::Pipeline mc =
      calibrisk::test::make_mc_pipeline({"<script>alert(1)</script>", "lab", "insurance"});
  calibrisk::save(mc, d.path("mc.json"));
  // The report: the pipeline's probabilities on fresh rows, evaluated with its review policy.
  const calibrisk::test::McData test = calibrisk::test::make_mc_data(300, 21);
  const calibrisk::RowMatrixXd P =
      mc.predict_proba_matrix(calibrisk::FeatureMatrix(calibrisk::view(test.X)));
  calibrisk::MulticlassEvaluationInput in;
  in.y = calibrisk::VectorView<const double>(test.y);
  in.P = calibrisk::MatrixView<const double>::row_major(P.data(), P.rows(), 3);
  in.class_names = mc.class_labels();
  in.review_policy = *mc.review_policy();
  const calibrisk::MulticlassEvaluation r = calibrisk::evaluate_multiclass(in);
  d.write("r.json", calibrisk::multiclass_report_to_json(r));
  std::ostringstream out;
  calibrisk::cli::CardOptions o;
  o.model = d.path("mc.json");
  o.out = d.path("card.html");
  CHECK(calibrisk::cli::run_card(o, out) == 0);  // without a report
  std::string html = slurp(o.out);
  CHECK(html.find("3-class model") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  o.report = d.path("r.json");
  CHECK(calibrisk::cli::run_card(o, out) == 0);
  html = slurp(o.out);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("expected errors among the auto-routed") != std::string::npos);
  CHECK(html.find("Evaluated on 300 rows of 3 classes") != std::string::npos);
  // A malformed report names --report and the JSON path, and writes nothing.
  d.write("bad.json", R"({"format": "calibrisk-multiclass-report", "format_version": 1,
                          "per_class": [{"class": 9}], "summary": {"n_classes": 3,
                          "class_names": ["a", "b", "c"], "class_counts": [1, 1, 1]}})");
  o.report = d.path("bad.json");
  o.out = d.path("card2.html");
  CHECK_THROWS_WITH_AS(calibrisk::cli::run_card(o, out),
                       doctest::Contains("/per_class/0/class must be a class index"),
                       calibrisk::InvalidInput);
  CHECK_FALSE(fs::exists(o.out));
}
