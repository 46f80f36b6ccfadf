// SPDX-License-Identifier: Apache-2.0
// The model card of a K-class pipeline (issue 13 item 6): what the model file knows without a
// report, the review queue per 1,000 items hand-computed from a report's review rate and
// accuracy (with their intervals), the per-class table and top-label calibration, hostile class
// labels escaped in HTML and Markdown, and reports of the wrong kind refused by name.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/report/card.hpp>
#include <calibrisk/report/multiclass.hpp>

#include <doctest/doctest.h>

#include "unit/artifact/fixtures.hpp"
#include "unit/report/card_helpers.hpp"
#include "unit/report/mc_fixture.hpp"

#include <string>
#include <vector>

namespace {

using calibrisk::CardSources;
using calibrisk::InvalidInput;
using calibrisk::ModelCard;

const std::vector<std::string>& hostile_classes() {
  static const std::vector<std::string> c = {"<script>alert(1)</script>", "lab | * _x_",
                                             "insurance"};
  return c;
}

const calibrisk::Pipeline& mc_pipe() {
  static const calibrisk::Pipeline p = calibrisk::test::make_mc_pipeline(hostile_classes());
  return p;
}

// A report of 1,000 items: review rate 0.3 [0.25, 0.35], accuracy of the auto-routed 0.9
// [0.85, 0.94]; per class precision / recall with intervals.
calibrisk::MulticlassEvaluation hand_report() {
  calibrisk::MulticlassEvaluation r;
  r.rows = 1000;
  r.n_classes = 3;
  r.class_names = hostile_classes();
  r.class_counts = {500, 300, 200};
  r.shown_classes = {0, 1, 2};
  r.calibration_after.accuracy = {0.8, 0.77, 0.83};
  r.calibration_after.top_label_ece = {0.08, 0.05, 0.11};
  r.calibration_after.top_label_bins = {{100, 0.55, 0.5, 0.4, 0.6}, {900, 0.85, 0.83, 0.8, 0.86}};
  for (int k = 0; k < 3; ++k) {
    calibrisk::ClassReportRow row;
    row.index = k;
    row.name = hostile_classes()[static_cast<std::size_t>(k)];
    row.support = r.class_counts[static_cast<std::size_t>(k)];
    row.precision = {0.8, 0.75, 0.85};
    row.recall = {0.7, 0.65, 0.75};
    r.per_class.push_back(row);
  }
  r.per_class[2].support = 20;  // a rare class: a limitation
  r.confusion.labels = {0, 1, 2};
  r.confusion.counts = r.confusion.row_normalized = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  r.has_review = true;
  auto& q = r.review;
  q.kind = "threshold";
  q.source = "given";
  q.policy = "min_accuracy=0.9";
  q.thresholds = {0.6};
  q.n = 1000, q.n_auto = 700, q.n_correct = 630;
  q.accuracy = {0.9, 0.85, 0.94};
  q.review_rate = {0.3, 0.25, 0.35};
  return r;
}

using calibrisk::test::card_cell;

std::string all_text(const ModelCard& card, const char* section) {
  return calibrisk::test::card_text(card, section, true);
}

}  // namespace

TEST_CASE("K-class card: without a report, what the model file knows") {
  CardSources s;
  s.artifact_text = calibrisk::to_string(mc_pipe());
  const ModelCard card = calibrisk::build_model_card(mc_pipe(), s);
  CHECK(card.title == "Model card: logistic_regression 3-class model");
  CHECK(card_cell(card, "provenance", "calibrator") == "temperature");
  CHECK(card_cell(card, "provenance", "classes") ==
        "<script>alert(1)</script>, lab | * _x_, insurance");
  CHECK(card_cell(card, "provenance", "review queue") ==
        "threshold: confidence at least 0.6 (policy min_accuracy=0.9)");
  CHECK(card_cell(card, "provenance", "checksum").rfind("sha256:", 0) == 0);
  for (const char* id : {"performance", "per-class", "operating-point"}) {
    CAPTURE(id);
    CHECK(all_text(card, id).find("--report report.json") != std::string::npos);
  }
  CHECK(all_text(card, "limitations").find("No evaluation report was given") != std::string::npos);
  CHECK(card.section("drift-checks")->blocks.back().table.rows.size() == 4);
  // No review policy: the card says every item is auto-routed.
  const calibrisk::Pipeline bare = calibrisk::test::make_mc_pipeline({"a", "b", "c"}, false);
  const ModelCard plain = calibrisk::build_model_card(bare, CardSources{});
  CHECK(card_cell(plain, "provenance", "review queue") == "none (every item is auto-routed)");
  CHECK(all_text(plain, "limitations").find("every item is routed automatically") !=
        std::string::npos);
}

TEST_CASE("K-class card: the review queue per 1,000 items, hand-computed") {
  CardSources s;
  s.report_json = calibrisk::multiclass_report_to_json(hand_report());
  const ModelCard card = calibrisk::build_model_card(mc_pipe(), s);
  // auto = 1000 (1 - 0.3) = 700 [1000 (1 - .35), 1000 (1 - .25)] = [650, 750]; review = 300
  // [250, 350]; errors = 700 (1 - 0.9) = 70 [700 (1 - .94), 700 (1 - .85)] = [42, 105].
  CHECK(card_cell(card, "operating-point", "auto-routed") == "700.0 (650.0 \xE2\x80\x93 750.0)");
  CHECK(card_cell(card, "operating-point", "sent to review") == "300.0 (250.0 \xE2\x80\x93 350.0)");
  CHECK(card_cell(card, "operating-point", "expected errors among the auto-routed") ==
        "70.0 (42.0 \xE2\x80\x93 105.0)");
  CHECK(card_cell(card, "operating-point", "accuracy of the auto-routed items") ==
        "90% (85% \xE2\x80\x93 94%)");
  // Summary and top-label calibration with intervals; the per-class table lists every class.
  CHECK(card_cell(card, "performance", "accuracy (top label)") == "80% (77% \xE2\x80\x93 83%)");
  CHECK(card_cell(card, "performance", "top-label ECE (Guo et al. 2017)") ==
        "0.08 (0.05 \xE2\x80\x93 0.11)");
  CHECK(card_cell(card, "performance", "900") == "85%");
  const auto& per_class = card.section("per-class")->blocks.back().table;
  REQUIRE(per_class.rows.size() == 3);
  CHECK(per_class.rows[0][0] == "<script>alert(1)</script>");
  CHECK(per_class.rows[1][4] == "0.8 (0.75 \xE2\x80\x93 0.85)");
  const std::string lim = all_text(card, "limitations");
  CHECK(lim.find("1 classes have fewer than 30 evaluated items (insurance)") != std::string::npos);
  CHECK(lim.find("Top-label ECE 0.08") != std::string::npos);
}

TEST_CASE("K-class card: hostile class labels stay text in HTML and Markdown") {
  CardSources s;
  s.report_json = calibrisk::multiclass_report_to_json(hand_report());
  const ModelCard card = calibrisk::build_model_card(mc_pipe(), s);
  const std::string html = calibrisk::card_to_html(card);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  const std::string md = calibrisk::card_to_markdown(card);
  // Markdown: every '<' of the label carries a backslash, so no raw tag is left.
  CHECK(md.find("\\<script\\>alert(1)\\</script\\>") != std::string::npos);
  for (std::size_t at = md.find('<'); at != std::string::npos; at = md.find('<', at + 1)) {
    CAPTURE(at);
    CHECK((at > 0 && md[at - 1] == '\\'));
  }
  CHECK(md.find("lab \\| \\* \\_x\\_") != std::string::npos);
}

TEST_CASE("K-class card: a report of the wrong kind or K, or a malformed one, is named") {
  CardSources s;
  s.report_json = calibrisk::report_to_json(calibrisk::Report{});
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(mc_pipe(), s),
                       doctest::Contains("binary evaluation report but the model has 3 classes"),
                       InvalidInput);
  calibrisk::MulticlassEvaluation four = hand_report();
  four.n_classes = 4;
  four.class_names.push_back("x");
  four.class_counts.push_back(0);
  s.report_json = calibrisk::multiclass_report_to_json(four);
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(mc_pipe(), s),
                       doctest::Contains("evaluates 4 classes but the model has 3"), InvalidInput);
  s.report_json = R"({"format": "calibrisk-multiclass-report", "format_version": 1,
                      "summary": {"n_classes": "three"}})";
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(mc_pipe(), s),
                       doctest::Contains("/summary/n_classes must be an integer"), InvalidInput);
  // A binary model given a multiclass report.
  const calibrisk::Pipeline binary = calibrisk::test::make_pipeline(
      calibrisk::test::make_artifact_data(300, 4), calibrisk::test::ModelKind::kLR,
      calibrisk::test::CalKind::kNone);
  s.report_json = calibrisk::multiclass_report_to_json(hand_report());
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(binary, s),
                       doctest::Contains("multiclass (K-class) evaluation report but the model is "
                                         "binary"),
                       InvalidInput);
}

TEST_CASE("K-class card: the rolling-origin validation shows the K-class figures with intervals") {
  CardSources s;
  const ModelCard none = calibrisk::build_model_card(mc_pipe(), s);
  CHECK(all_text(none, "temporal").find("No rolling-origin validation") != std::string::npos);
  // The shape `calibrisk validate --json` writes for a multiclass label (docs/cli.md); a hostile
  // period name and skip reason.
  s.validation_json = R"({"task": "multiclass", "classes": ["a", "b", "c"], "periods": [
      {"period": "<script>alert(1)</script>", "n_test": 78, "class_counts_test": [50, 20, 8],
       "log_loss": 0.55, "log_loss_lower": 0.41, "log_loss_upper": 0.72,
       "brier": 0.3, "brier_lower": 0.22, "brier_upper": 0.39,
       "top_label_ece": 0.06, "top_label_ece_lower": 0.04, "top_label_ece_upper": 0.15,
       "accuracy": 0.795, "accuracy_lower": 0.691, "accuracy_upper": 0.878,
       "review_threshold": 0.6, "n_auto": 60,
       "auto_accuracy": 0.9, "auto_accuracy_lower": 0.81, "auto_accuracy_upper": 0.97,
       "review_rate": 0.23, "review_rate_lower": 0.14, "review_rate_upper": 0.33,
       "expected_auto_accuracy": 0.91, "expected_review_rate": 0.2, "skipped": ""},
      {"period": "2024-Q2", "n_test": 5, "log_loss": null, "accuracy": null,
       "skipped": "the test period holds 5 rows <b>"}]})";
  const ModelCard card = calibrisk::build_model_card(mc_pipe(), s);
  const auto& t = card.section("temporal")->blocks.back().table;
  CHECK(t.header == std::vector<std::string>{"period", "n", "accuracy", "log loss", "Brier",
                                             "top-label ECE", "auto-routed accuracy", "review rate",
                                             "skipped"});
  REQUIRE(t.rows.size() == 2);
  const std::string dash = "\xE2\x80\x93";
  CHECK(t.rows[0] == std::vector<std::string>{
                         "<script>alert(1)</script>", "78", "0.795 (0.691 " + dash + " 0.878)",
                         "0.55 (0.41 " + dash + " 0.72)", "0.3 (0.22 " + dash + " 0.39)",
                         "0.06 (0.04 " + dash + " 0.15)", "0.9 (0.81 " + dash + " 0.97)",
                         "0.23 (0.14 " + dash + " 0.33)", ""});
  CHECK(t.rows[1][2] == "\xE2\x80\x94");  // null: not computed
  CHECK(t.rows[1][8] == "the test period holds 5 rows <b>");
  const std::string html = calibrisk::card_to_html(card);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK(html.find("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>") != std::string::npos);
  CHECK(html.find("<td>0.795 (0.691 " + dash + " 0.878)</td>") != std::string::npos);
  const std::string md = calibrisk::card_to_markdown(card);
  CHECK(md.find("\\<script\\>alert(1)\\</script\\>") != std::string::npos);
  s.validation_json = R"({"periods": 3})";
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(mc_pipe(), s),
                       doctest::Contains("no array of periods"), InvalidInput);
}
