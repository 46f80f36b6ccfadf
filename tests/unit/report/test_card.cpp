// SPDX-License-Identifier: Apache-2.0
// Model card (issue 15 §5): the spec is parsed strictly, the per-1,000 arithmetic matches a hand
// computation, data strings never become markup in HTML or Markdown, and sections that need a
// report say so.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/report/card.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "unit/artifact/fixtures.hpp"
#include "unit/artifact/golden.hpp"
#include "unit/report/card_helpers.hpp"

#include <fstream>
#include <iterator>
#include <string>

namespace {

using calibrisk::CardSources;
using calibrisk::CardSpec;
using calibrisk::Estimate;
using calibrisk::InvalidInput;
using calibrisk::ModelCard;

const calibrisk::Pipeline& pipe() {
  static const calibrisk::Pipeline p = calibrisk::test::make_pipeline(
      calibrisk::test::make_artifact_data(600, 11), calibrisk::test::ModelKind::kLR,
      calibrisk::test::CalKind::kPlattMargin);
  return p;
}

// A report whose test part has prevalence 0.2, recall 0.75 [0.6, 0.85], alert rate 0.3
// [0.25, 0.35] (1,000 rows: 200 events, 150 caught, 300 flagged).
calibrisk::Report hand_report() {
  calibrisk::Report r;
  r.data.rows = 1000;
  r.data.positives = 200;
  r.data.prevalence = 0.2;
  r.discrimination.roc_auc = {0.81, 0.78, 0.84};
  r.calibration_after.intercept = 0.05;
  r.calibration_after.slope = 0.95;
  r.has_operating_point = true;
  auto& o = r.operating_point;
  o.threshold = 0.3;
  o.policy = "min_recall=0.75";
  o.tp = 150, o.fp = 150, o.fn = 50, o.tn = 650;
  o.recall = {0.75, 0.6, 0.85};
  o.precision = {0.5, 0.44, 0.56};
  o.alert_rate = {0.3, 0.25, 0.35};
  return r;
}

std::string cell(const ModelCard& card, const char* section, const std::string& first) {
  return calibrisk::test::card_cell(card, section, first);
}

std::string all_text(const ModelCard& card, const char* section) {
  return calibrisk::test::card_text(card, section);
}

}  // namespace

TEST_CASE("card spec: every documented field parses; a list field also takes one string") {
  const CardSpec s = calibrisk::card_spec_from_json(R"({
    "model_name": "Readmission 30d", "version": "2.1", "date": "2026-12-01",
    "summary": "s", "intended_use": "u", "intended_users": "nurses", "population": "adults",
    "out_of_scope_uses": ["children", "ICU"], "owners": "Team A", "contact": "a@b.c",
    "limitations": ["l1"], "ethical_considerations": ["e1"], "references": []})");
  CHECK(s.model_name == "Readmission 30d");
  CHECK(s.intended_users == "nurses");
  CHECK(s.out_of_scope_uses == std::vector<std::string>{"children", "ICU"});
  CHECK(s.owners == std::vector<std::string>{"Team A"});
  CHECK(s.references.empty());
  CHECK(CardSpec::field_names().size() == 13);
}

TEST_CASE("card spec: unknown fields are all named, with the closest known name") {
  // The issue's bad input: a card spec with unknown fields.
  CHECK_THROWS_WITH_AS(
      calibrisk::card_spec_from_json(R"({"intended_usee": "x", "zzz_totally_other": 1})"),
      doctest::Contains("unknown fields 'intended_usee' (did you mean 'intended_use'?), "
                        "'zzz_totally_other'"),
      InvalidInput);
  CHECK_THROWS_WITH_AS(calibrisk::card_spec_from_json(R"({"Out-Of-Scope-Uses": []})"),
                       doctest::Contains("did you mean 'out_of_scope_uses'"), InvalidInput);
  CHECK_THROWS_WITH_AS(calibrisk::card_spec_from_json(R"({"owner": []})"),
                       doctest::Contains("the known fields are model_name"), InvalidInput);
}

TEST_CASE("card spec: wrong types, non-objects, duplicates and bad JSON are named") {
  using calibrisk::card_spec_from_json;
  CHECK_THROWS_WITH_AS(card_spec_from_json(R"({"owners": 3})"),
                       doctest::Contains("field 'owners' is a number"), InvalidInput);
  CHECK_THROWS_WITH_AS(card_spec_from_json(R"({"owners": ["a", {"b": 1}]})"),
                       doctest::Contains("field 'owners' item 1 is a object"), InvalidInput);
  CHECK_THROWS_WITH_AS(card_spec_from_json(R"({"intended_use": ["a"]})"),
                       doctest::Contains("field 'intended_use' is a array; it must be a string"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(card_spec_from_json("[1]"), doctest::Contains("must be one JSON object"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(card_spec_from_json(R"({"date": "a", "date": "b"})"),
                       doctest::Contains("'date' appears twice"), InvalidInput);
  CHECK_THROWS_WITH_AS(card_spec_from_json("{\"date\": "), doctest::Contains("not valid JSON"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(card_spec_from_json("{\"date\": \"\xff\"}"),
                       doctest::Contains("not valid JSON"), InvalidInput);
}

TEST_CASE("per 1,000 patients: hand-computed from prevalence, recall and alert rate") {
  // prevalence 0.2 -> 200 cases; recall 0.75 -> 150 caught, 50 missed; alert rate 0.3 -> 300
  // alerts, 300 - 150 = 150 false alarms. Recall [0.6, 0.85] -> caught [120, 170], missed
  // [30, 80]; alert rate [0.25, 0.35] -> alerts [250, 350].
  const calibrisk::PerThousand k =
      calibrisk::per_thousand(0.2, Estimate{0.75, 0.6, 0.85}, Estimate{0.3, 0.25, 0.35});
  CHECK(k.cases == doctest::Approx(200));
  CHECK(k.caught == doctest::Approx(150));
  CHECK(k.missed == doctest::Approx(50));
  CHECK(k.alerts == doctest::Approx(300));
  CHECK(k.false_alarms == doctest::Approx(150));
  CHECK(k.caught_lower == doctest::Approx(120));
  CHECK(k.caught_upper == doctest::Approx(170));
  CHECK(k.missed_lower == doctest::Approx(30));
  CHECK(k.missed_upper == doctest::Approx(80));
  CHECK(k.alerts_lower == doctest::Approx(250));
  CHECK(k.alerts_upper == doctest::Approx(350));
  const calibrisk::PerThousand none = calibrisk::per_thousand(0.2, Estimate{0.75}, Estimate{});
  CHECK(std::isnan(none.caught_lower));
  CHECK(std::isnan(none.alerts));
}

TEST_CASE("card: the operating point per 1,000 patients from a report") {
  CardSources s;
  s.report_json = calibrisk::report_to_json(hand_report());
  const ModelCard card = calibrisk::build_model_card(pipe(), s);
  CHECK(cell(card, "operating-point", "patients with the event") == "200.0");
  CHECK(cell(card, "operating-point", "alerts (flagged patients)") ==
        "300.0 (250.0 \xE2\x80\x93 350.0)");
  CHECK(cell(card, "operating-point", "cases caught (true alerts)") ==
        "150.0 (120.0 \xE2\x80\x93 170.0)");
  CHECK(cell(card, "operating-point", "cases missed (false negatives)") ==
        "50.0 (30.0 \xE2\x80\x93 80.0)");
  CHECK(cell(card, "operating-point", "false alarms (alerts without the event)") == "150.0");
  CHECK(cell(card, "operating-point", "alerts per case caught") == "2");
  CHECK(cell(card, "performance", "ROC AUC (discrimination)") == "0.81 (0.78 \xE2\x80\x93 0.84)");
  // A hand-built Report has an empty smoothed part: written, but not computed.
  CHECK(cell(card, "performance", "ICI (integrated calibration index)") ==
        "not computed (see the notes below)");
  CHECK(cell(card, "performance", "Van Calster calibration level") ==
        "not computed (see the notes below)");
}

TEST_CASE("card: smoothed-calibration fields are read when the report has them") {
  // The shape the `smooth` module writes (issue 15 §1) at /calibration/after/smoothed.
  nlohmann::json j = nlohmann::json::parse(calibrisk::report_to_json(hand_report()));
  j["calibration"]["after"]["smoothed"] = {
      {"ici", {{"value", 0.012}, {"lower", 0.008}, {"upper", 0.02}}},
      {"e90", {{"value", 0.03}, {"lower", nullptr}, {"upper", nullptr}}},
      {"e50", {{"value", nullptr}, {"lower", nullptr}, {"upper", nullptr}}},
      {"hierarchy",
       {{"verdict", "weak"},
        {"mean", {{"assessed", true}, {"met", true}, {"evidence", "CITL CI covers 0"}}},
        {"weak", {{"assessed", true}, {"met", true}, {"evidence", "slope CI covers 1"}}},
        {"moderate",
         {{"assessed", true}, {"met", false}, {"evidence", "band misses the diagonal"}}}}},
      {"warnings", {"only 12 events"}}};
  CardSources s;
  s.report_json = j.dump();
  const ModelCard card = calibrisk::build_model_card(pipe(), s);
  CHECK(cell(card, "performance", "ICI (integrated calibration index)") ==
        "0.012 (0.008 \xE2\x80\x93 0.02)");
  CHECK(cell(card, "performance", "E90 (90th percentile)") == "0.03");
  CHECK(cell(card, "performance", "E50 (median absolute error)") ==
        "not computed (see the notes below)");
  CHECK(cell(card, "performance", "Van Calster calibration level") == "weak");
  const std::string text = all_text(card, "performance");
  CHECK(text.find("mean: met (CITL CI covers 0); weak: met (slope CI covers 1); moderate: not met "
                  "(band misses the diagonal)") != std::string::npos);
  CHECK(text.find("only 12 events") != std::string::npos);
}

TEST_CASE("card: without a report the sections say which report they need and how") {
  const ModelCard card = calibrisk::build_model_card(pipe(), CardSources{});
  for (const char* id : {"performance", "subgroups", "temporal"}) {
    CAPTURE(id);
    CHECK(all_text(card, id).find("--report report.json") != std::string::npos);
  }
  CHECK(all_text(card, "operating-point").find("--report report.json") != std::string::npos);
  CHECK(all_text(card, "limitations").find("No evaluation report was given") != std::string::npos);
  CHECK(cell(card, "provenance", "model file").find("not read from a file") != std::string::npos);
  // Every feature of the schema is listed with its drift checks.
  const calibrisk::CardSection* drift = card.section("drift-checks");
  CHECK(drift->blocks.back().table.rows.size() == static_cast<std::size_t>(pipe().n_features()));
}

TEST_CASE("card: without a report, per 1,000 from the figures the model file recorded") {
  // Calibration part: 30 TP, 70 FP, 880 TN, 20 FN of 1,000 rows -> prevalence 0.05 (50 cases),
  // recall 0.6 (30 caught, 20 missed), alert rate 0.1 (100 alerts, 70 false alarms).
  calibrisk::PipelineParts parts = pipe().parts();
  parts.operating_point.threshold = 0.2;
  parts.operating_point.policy = "min_recall=0.6";
  parts.operating_point.figures = {{"tp", 30},         {"fp", 70},      {"tn", 880},
                                   {"fn", 20},         {"recall", 0.6}, {"precision", 0.3},
                                   {"alert_rate", 0.1}};
  const calibrisk::Pipeline p(parts);
  const ModelCard card = calibrisk::build_model_card(p, CardSources{});
  CHECK(cell(card, "operating-point", "patients with the event") == "50.0");
  CHECK(cell(card, "operating-point", "alerts (flagged patients)") == "100.0");
  CHECK(cell(card, "operating-point", "cases caught (true alerts)") == "30.0");
  CHECK(cell(card, "operating-point", "cases missed (false negatives)") == "20.0");
  CHECK(cell(card, "operating-point", "false alarms (alerts without the event)") == "70.0");
  CHECK(all_text(card, "operating-point").find("optimistic") != std::string::npos);
  // A report without an operating point: the same fallback, and the note says why.
  calibrisk::Report r = hand_report();
  r.has_operating_point = false;
  CardSources s;
  s.report_json = calibrisk::report_to_json(r);
  const ModelCard with_report = calibrisk::build_model_card(p, s);
  CHECK(cell(with_report, "operating-point", "cases caught (true alerts)") == "30.0");
  const std::string text = all_text(with_report, "operating-point");
  CHECK(text.find("The report has no operating point.") != std::string::npos);
  CHECK(text.find("none was given") == std::string::npos);
}

TEST_CASE("card: the model file's checksum and signature status") {
  CardSources s;
  s.artifact_text = calibrisk::to_string(pipe());
  const ModelCard card = calibrisk::build_model_card(pipe(), s);
  CHECK(cell(card, "provenance", "checksum").rfind("sha256:", 0) == 0);
  CHECK(cell(card, "provenance", "signature").rfind("unsigned", 0) == 0);
  s.artifact_text = "{not json";
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(pipe(), s),
                       doctest::Contains("model file text is not valid JSON"), InvalidInput);
}

TEST_CASE("card: flagged subgroups are marked and listed among the limitations") {
  calibrisk::Report r = hand_report();
  r.subgroups.rows.resize(2);
  r.subgroups.rows[0].column = r.subgroups.rows[1].column = "site";
  r.subgroups.rows[0].level = "A";
  r.subgroups.rows[1].level = "C";
  r.subgroups.rows[1].flags = {"calibration intercept +0.9 beyond 0.4"};
  r.data.positives = 40;  // fewer than 100 events: a limitation
  CardSources s;
  s.report_json = calibrisk::report_to_json(r);
  const ModelCard card = calibrisk::build_model_card(pipe(), s);
  const auto& t = card.section("subgroups")->blocks.back().table;
  CHECK(t.flagged == std::vector<bool>{false, true});
  const std::string lim = all_text(card, "limitations");
  CHECK(lim.find("1 of 2 subgroups are flagged (site = C)") != std::string::npos);
  CHECK(lim.find("only 40 events") != std::string::npos);
  // The fields the `subgroups` module adds (issue 15 §3): intervals, the adjustment, notes.
  nlohmann::json j = nlohmann::json::parse(s.report_json);
  j["subgroups"]["multiplicity"] = "holm";
  j["subgroups"]["n_tests"] = 4;
  j["subgroups"]["alpha"] = 0.1 - 0.05;  // 0.05000000000000000277: shown as 0.05
  j["subgroups"]["notes"] = {"site has 300 levels; the 50 largest are shown"};
  j["subgroups"]["rows"][1]["calibration_intercept_lower"] = 0.5;
  j["subgroups"]["rows"][1]["calibration_intercept_upper"] = 1.25;
  j["subgroups"]["rows"][1]["recall_lower"] = 0.25;
  j["subgroups"]["rows"][1]["recall_upper"] = 0.75;
  j["subgroups"]["rows"][1]["recall"] = 0.5;
  s.report_json = j.dump();
  const ModelCard extended = calibrisk::build_model_card(pipe(), s);
  const auto& row = extended.section("subgroups")->blocks.back().table.rows.at(1);
  CHECK(row.at(7) == "\xE2\x80\x94 (+0.5 \xE2\x80\x93 +1.25)");  // intercept NaN in this row
  CHECK(row.at(8) == "0.5 (0.25 \xE2\x80\x93 0.75)");
  const std::string text = all_text(extended, "subgroups");
  CHECK(text.find("holm adjustment for multiple comparisons (4 tests, alpha 0.05)") !=
        std::string::npos);
  CHECK(text.find("the 50 largest are shown") != std::string::npos);
}

TEST_CASE("card: a rolling-origin validation document is read loosely; a bad one is named") {
  CardSources s;
  s.validation_json = R"({"periods": [{"period": "2023-Q1", "n": 120, "roc_auc": 0.7,
      "ici": {"value": 0.02, "lower": 0.01, "upper": 0.03}}, {"period": "2023-Q2", "n": 90}]})";
  const ModelCard card = calibrisk::build_model_card(pipe(), s);
  const auto& t = card.section("temporal")->blocks.back().table;
  CHECK(t.header == std::vector<std::string>{"period", "n", "ROC AUC", "ICI"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0] ==
        std::vector<std::string>{"2023-Q1", "120", "0.7", "0.02 (0.01 \xE2\x80\x93 0.03)"});
  // The shape `calibrisk validate --json` writes (issue 15 §2): "auc" with sibling bounds.
  s.validation_json = R"({"granularity": "quarter", "periods": [{"period": "2023-Q3",
      "n_test": 300, "events_test": 40, "auc": 0.71, "auc_lower": 0.65, "auc_upper": 0.77,
      "ici": null, "skipped": ""}]})";
  const ModelCard validated = calibrisk::build_model_card(pipe(), s);
  const auto& v = validated.section("temporal")->blocks.back().table;
  // An empty "skipped" text everywhere does not make a column; a null ICI shows as a dash.
  CHECK(v.header == std::vector<std::string>{"period", "n", "events", "ROC AUC", "ICI"});
  CHECK(v.rows.at(0) == std::vector<std::string>{"2023-Q3", "300", "40",
                                                 "0.71 (0.65 \xE2\x80\x93 0.77)", "\xE2\x80\x94"});

  s.validation_json = R"({"something": 1})";
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(pipe(), s),
                       doctest::Contains("no array of periods"), InvalidInput);
  s.validation_json = "[1]";
  CHECK_THROWS_WITH_AS(calibrisk::build_model_card(pipe(), s),
                       doctest::Contains("validation period 0 is not an object"), InvalidInput);
}

TEST_CASE("card: hostile spec strings stay text in HTML and Markdown") {
  CardSources s;
  s.spec = calibrisk::card_spec_from_json(R"J({
    "model_name": "</title><script>alert(1)</script>",
    "intended_use": "a | b `code` <b>bold</b> & *star* [link](javascript:x)",
    "owners": ["# not a heading", "- not a list", "1. not ordered"],
    "population": "line1\nline2 | cell"
})J");
  const ModelCard card = calibrisk::build_model_card(pipe(), s);
  const std::string html = calibrisk::card_to_html(card);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<b>bold") == std::string::npos);
  CHECK(html.find("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("Content-Security-Policy") != std::string::npos);
  const std::string md = calibrisk::card_to_markdown(card);
  for (std::size_t i = md.find('<'); i != std::string::npos; i = md.find('<', i + 1)) {
    CAPTURE(md.substr(i, 20));
    CHECK((i > 0 && md[i - 1] == '\\'));  // every '<' is escaped
  }
  CHECK(md.find("\\<script\\>") != std::string::npos);
  CHECK(md.find("a \\| b \\`code\\` \\<b\\>bold\\</b\\> \\& \\*star\\* \\[link\\](javascript:x)") !=
        std::string::npos);
  CHECK(md.find("| population | line1 line2 \\| cell |") != std::string::npos);
  // Owners are joined into one table cell: inline escaping only there.
  CHECK(md.find("\\# not a heading; - not a list; 1. not ordered") != std::string::npos);
}

TEST_CASE("card spec: mutated specs parse or throw InvalidInput, never anything else") {
  const std::string valid =
      R"({"model_name": "m", "owners": ["a", "b"], "limitations": "one", "date": "2026"})";
  calibrisk::Rng rng(3);
  for (int k = 0; k < 3000; ++k) {
    std::string t = valid;
    const int edits = 1 + static_cast<int>(rng.below(4));
    for (int e = 0; e < edits; ++e) {
      const auto at = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(t.size())));
      switch (rng.below(3)) {
        case 0:
          t[at] = static_cast<char>(rng.below(256));
          break;
        case 1:
          t.erase(at, 1);
          break;
        default:
          t.insert(at, 1, "{}[]\",:\\\xff"[rng.below(10)]);
      }
      if (t.empty()) t = "{";
    }
    CAPTURE(t);
    try {
      const CardSpec s = calibrisk::card_spec_from_json(t);
      const ModelCard card =
          calibrisk::build_model_card(pipe(), CardSources{{}, {}, {}, {}, {}, s});
      CHECK_FALSE(calibrisk::card_to_markdown(card).empty());
    } catch (const InvalidInput&) {
    }
  }
}

TEST_CASE("card: the drift section lists the monitor's checks, PSI only with a stored reference") {
  // A model without reference distributions (built in memory, as files before format 1.3).
  const std::string old = calibrisk::card_to_markdown(calibrisk::build_model_card(pipe(), {}));
  CHECK(old.find("carries no reference distributions") != std::string::npos);
  CHECK(old.find("calibrisk monitor") != std::string::npos);
  // The format-1.3 golden file carries them: PSI with MonitorOptions' default 0.1 / 0.25.
  const auto path = calibrisk::test::kGolden / "format-1.3" / "gbdt_beta_reference.json";
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const calibrisk::Pipeline ref = calibrisk::load_from_string(text);
  REQUIRE_FALSE(ref.reference().empty());
  const std::string md = calibrisk::card_to_markdown(calibrisk::build_model_card(ref, {}));
  CHECK(md.find("population stability index of every feature") != std::string::npos);
  CHECK(md.find("warning at 0.1, alarm at 0.25") != std::string::npos);
  CHECK(md.find("carries no reference distributions") == std::string::npos);
}
