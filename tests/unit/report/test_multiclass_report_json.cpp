// SPDX-License-Identifier: Apache-2.0
// Reading the multiclass report JSON back (multiclass_report_from_json): the writer's document
// round-trips byte for byte (with intervals, a per-class review queue with an "inf" threshold,
// pooled classes, hostile names), the fields read back equal the evaluated ones, and malformed
// documents throw InvalidInput naming the JSON path (never another exception).
#include <calibrisk/core/random.hpp>
#include <calibrisk/report/multiclass.hpp>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// n rows of K classes; P's argmax is the label about two times in three.
MulticlassEvaluation evaluated(int K, Index n, bool review, int max_shown = 30) {
  static std::vector<double> y, P, U;
  y.assign(static_cast<std::size_t>(n), 0.0);
  P.assign(static_cast<std::size_t>(n * K), 0.0);
  U.assign(static_cast<std::size_t>(n * K), 0.0);
  Rng rng(3);
  for (Index i = 0; i < n; ++i) {
    y[static_cast<std::size_t>(i)] = static_cast<double>(i % K);
    double s = 0, su = 0;
    for (int k = 0; k < K; ++k) {
      const std::size_t at = static_cast<std::size_t>(i * K + k);
      s += P[at] = rng.uniform() + (k == i % K ? 1.2 : 0.0);
      su += U[at] = rng.uniform() + 0.3;
    }
    for (int k = 0; k < K; ++k) {
      P[static_cast<std::size_t>(i * K + k)] /= s;
      U[static_cast<std::size_t>(i * K + k)] /= su;
    }
  }
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), n, K);
  in.P_uncalibrated = MatrixView<const double>::row_major(U.data(), n, K);
  for (int k = 0; k < K; ++k) in.class_names.push_back("c" + std::to_string(k));
  in.class_names[0] = "<script>alert(1)</script>";
  in.class_names[1] = "\"quoted\", & \xC3\xA9";
  if (review) {
    ReviewPolicyRecord rec;
    rec.policy = "min_accuracy=0.9";
    rec.per_class = true;
    rec.thresholds.assign(static_cast<std::size_t>(K), 0.5);
    rec.thresholds[1] = std::numeric_limits<double>::infinity();  // routes nothing of class 1
    in.review_policy = rec;
  }
  in.provenance = {{"model", "lr"}, {"data", "test.csv"}};
  MulticlassEvaluationParams p;
  p.n_bootstrap = 20;
  p.max_classes_shown = max_shown;
  return evaluate_multiclass(in, p);
}

}  // namespace

TEST_CASE("multiclass report JSON: the writer's document round-trips byte for byte") {
  for (const bool review : {false, true}) {
    CAPTURE(review);
    const MulticlassEvaluation r = evaluated(5, 200, review, 3);  // 2 classes pooled
    const std::string text = multiclass_report_to_json(r);
    const MulticlassEvaluation back = multiclass_report_from_json(text);
    CHECK(multiclass_report_to_json(back) == text);
    CHECK(multiclass_report_to_json(back, -1) == multiclass_report_to_json(r, -1));
    // The fields themselves, against the evaluated struct.
    CHECK(back.n_classes == 5);
    CHECK(back.rows == 200);
    CHECK(back.class_names == r.class_names);
    CHECK(back.class_counts == r.class_counts);
    CHECK(back.has_uncalibrated);
    CHECK(back.calibration_after.top_label_ece.value == r.calibration_after.top_label_ece.value);
    CHECK(back.calibration_after.top_label_ece.lower == r.calibration_after.top_label_ece.lower);
    CHECK(back.shown_classes == r.shown_classes);
    CHECK(back.confusion.labels.back() == -1);  // "(other classes)"
    REQUIRE(back.per_class.size() == 5);
    CHECK(back.per_class[0].name == "<script>alert(1)</script>");
    CHECK(back.per_class[2].recall.lower == r.per_class[2].recall.lower);
    CHECK(back.has_review == review);
    if (review) {
      CHECK(back.review.per_class);
      CHECK(std::isinf(back.review.thresholds[1]));
      CHECK(back.review.n_auto == r.review.n_auto);
      CHECK(back.review.accuracy.upper == r.review.accuracy.upper);
    }
    CHECK(back.provenance == r.provenance);
    CHECK(back.notes == r.notes);
    // The HTML of the read-back report is the page of the evaluated one.
    CHECK(multiclass_report_to_html(back) == multiclass_report_to_html(r));
  }
}

TEST_CASE("multiclass report JSON: malformed documents are named") {
  const std::string good = multiclass_report_to_json(evaluated(3, 60, true));
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(good);
    edit(j);
    return j.dump();
  };
  auto fails = [](const std::string& text, const char* what) {
    CHECK_THROWS_WITH_AS(multiclass_report_from_json(text), doctest::Contains(what), InvalidInput);
  };
  fails("{not json", "not valid JSON");
  fails("[1, 2]", "/format is not \"calibrisk-multiclass-report\"");
  fails(R"({"format": "calibrisk-report", "format_version": 1})",
        "/format is not \"calibrisk-multiclass-report\"");
  fails(edited([](auto& j) { j["format_version"] = 2; }), "upgrade calibrisk");
  fails(edited([](auto& j) { j["summary"]["n_classes"] = 1; }), "/summary/n_classes");
  fails(edited([](auto& j) { j["summary"]["class_names"].push_back("x"); }),
        "/summary/class_names must hold n_classes names");
  fails(edited([](auto& j) { j["summary"]["class_counts"][0] = -3; }), "/summary/class_counts");
  fails(edited([](auto& j) { j["per_class"][1]["class"] = 7; }),
        "/per_class/1/class must be a class index");
  fails(edited([](auto& j) { j["per_class"][0]["precision"]["value"] = "high"; }),
        "/per_class/0/precision/value must be a number or null");
  fails(edited([](auto& j) { j["confusion_matrix"]["counts"][0].push_back(1.0); }),
        "/confusion_matrix/counts/0 must have one value per label");
  fails(edited([](auto& j) { j["review"]["thresholds"][0] = "never"; }),
        "/review/thresholds/0 must be a number, null or \"inf\"");
  fails(edited([](auto& j) { j["review"]["n_auto"] = 1000; }), "/review needs 0 <= n_correct");
  fails(edited([](auto& j) { j["calibration"]["after"]["top_label_bins"][0]["count"] = 1.5; }),
        "/calibration/after/top_label_bins/0/count must be an integer");
  fails(edited([](auto& j) { j["notes"] = {1}; }), "/notes/0 must be a string");
  // Absent optional parts read as absent.
  const MulticlassEvaluation no_review =
      multiclass_report_from_json(edited([](auto& j) { j["review"] = nullptr; }));
  CHECK_FALSE(no_review.has_review);
}

TEST_CASE("multiclass report JSON: truncated and mutated documents never escape InvalidInput") {
  const std::string good = multiclass_report_to_json(evaluated(3, 40, true), -1);
  Rng rng(11);
  int rejected = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string text = good;
    const std::size_t at =
        static_cast<std::size_t>(rng.uniform() * static_cast<double>(text.size()));
    if (trial % 2 == 0) {
      text.resize(at);
    } else {
      text[at] = "0-]\"{,:n"[trial % 8];
    }
    try {
      (void)multiclass_report_from_json(text);
    } catch (const InvalidInput&) {
      ++rejected;
    }
  }
  CHECK(rejected > 150);  // every truncation is invalid JSON
}
