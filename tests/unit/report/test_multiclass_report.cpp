// SPDX-License-Identifier: Apache-2.0
// The multiclass report on a hand-computed 6-row, 3-class case; pooling of classes beyond
// max_classes_shown; bounded size at K = kMaxClasses; escaping of hostile class names.
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/report/multiclass.hpp>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <numeric>

using namespace calibrisk;

namespace {

// y and P of the hand-computed case: predictions 0, 1, 1, 1, 2, 0 (rows 1 and 5 wrong).
struct Tiny {
  std::vector<double> y{0, 0, 1, 1, 2, 2};
  std::vector<double> P{0.7, 0.2, 0.1, 0.4, 0.5, 0.1, 0.2, 0.6,  0.2,
                        0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.5, 0.25, 0.25};
  MulticlassEvaluationInput input() const {
    MulticlassEvaluationInput in;
    in.y = VectorView<const double>(y);
    in.P = MatrixView<const double>::row_major(P.data(), 6, 3);
    in.class_names = {"referral", "lab", "insurance"};
    return in;
  }
};

MulticlassEvaluationParams no_bootstrap() {
  MulticlassEvaluationParams p;
  p.n_bootstrap = 0;
  return p;
}

// Row-stochastic random matrix whose argmax is the label with probability about `skill`.
std::vector<double> random_probabilities(const std::vector<double>& y, int K, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> P(y.size() * K);
  for (std::size_t i = 0; i < y.size(); ++i) {
    double s = 0;
    for (int k = 0; k < K; ++k) s += P[i * K + k] = rng.uniform() + (k == y[i] ? 1.5 : 0.0);
    for (int k = 0; k < K; ++k) P[i * K + k] /= s;
  }
  return P;
}

}  // namespace

TEST_CASE("multiclass report: hand-computed summary, per-class table and confusion matrix") {
  Tiny t;
  const MulticlassEvaluation r = evaluate_multiclass(t.input(), no_bootstrap());
  CHECK(r.rows == 6);
  CHECK(r.n_classes == 3);
  CHECK(r.class_counts == std::vector<Index>{2, 2, 2});
  const auto& a = r.calibration_after;
  // -mean ln P[i, y_i] = -(ln .7 + ln .4 + ln .6 + ln .8 + ln .4 + ln .25) / 6
  const double ll = -(std::log(0.7) + std::log(0.4) + std::log(0.6) + std::log(0.8) +
                      std::log(0.4) + std::log(0.25)) /
                    6;
  CHECK(a.log_loss.value == doctest::Approx(ll).epsilon(1e-12));
  // sum_k (P - onehot)^2 per row: .14 .62 .24 .06 .54 .875 -> 2.475 / 6
  CHECK(a.brier.value == doctest::Approx(0.4125).epsilon(1e-12));
  CHECK(a.accuracy.value == doctest::Approx(4.0 / 6));
  CHECK(std::isnan(a.accuracy.lower));  // no bootstrap, no interval
  const std::vector<std::vector<double>> cm{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}};
  CHECK(r.confusion.counts == cm);
  CHECK(r.confusion.labels == std::vector<int>{0, 1, 2});
  CHECK(r.confusion.row_normalized[2][0] == doctest::Approx(0.5));
  REQUIRE(r.per_class.size() == 3);
  // precision tp/(tp+fp), recall tp/(tp+fn): class 0 1/2, 1/2; class 1 2/3, 1; class 2 1, 1/2
  CHECK(r.per_class[0].precision.value == doctest::Approx(0.5));
  CHECK(r.per_class[1].precision.value == doctest::Approx(2.0 / 3));
  CHECK(r.per_class[1].recall.value == doctest::Approx(1.0));
  CHECK(r.per_class[2].recall.value == doctest::Approx(0.5));
  CHECK(r.per_class[1].f1.value == doctest::Approx(0.8));
  CHECK(r.per_class[1].predicted == 3);
  CHECK(r.macro_f1.value == doctest::Approx((0.5 + 0.8 + 2.0 / 3) / 3));
  // Wilson interval of 2/3 at 95 %, as in statsmodels proportion_confint(2, 3, method="wilson")
  CHECK(r.per_class[1].precision.lower == doctest::Approx(0.2076).epsilon(1e-3));
  CHECK(r.per_class[1].precision.upper == doctest::Approx(0.9385).epsilon(1e-3));
  CHECK(r.per_class[0].name == "referral");
  CHECK_FALSE(r.has_review);
  CHECK(r.notes.size() == 1);  // "no bootstrap"
}

TEST_CASE("multiclass report: the per-class ECEs average to the classwise ECE") {
  std::vector<double> y(400);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>((i * 7) % 4);
  const auto P = random_probabilities(y, 4, 11);
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), 400, 4);
  const auto r = evaluate_multiclass(in, no_bootstrap());
  double mean = 0;
  for (const auto& c : r.per_class) mean += c.ece / 4;
  CHECK(mean == doctest::Approx(metrics::classwise_ece(in.y, in.P)).epsilon(1e-12));
  CHECK(r.calibration_after.classwise_ece.value == doctest::Approx(mean).epsilon(1e-12));
  CHECK(r.class_names == std::vector<std::string>{"0", "1", "2", "3"});
  // Histograms count every row once.
  for (const auto& c : r.calibration_after.classes) {
    CHECK(std::accumulate(c.histogram.counts.begin(), c.histogram.counts.end(), Index{0}) == 400);
  }
}

TEST_CASE("multiclass report: the review queue is re-measured at given thresholds") {
  Tiny t;
  SUBCASE("one threshold: confidences .7 .5 .6 .8 .4 .5, t = .55 routes rows 0, 2, 3") {
    MulticlassEvaluationInput in = t.input();
    ReviewPolicyRecord rec;
    rec.policy = "min_accuracy=0.9";
    rec.thresholds = {0.55};
    in.review_policy = rec;
    const auto r = evaluate_multiclass(in, no_bootstrap());
    REQUIRE(r.has_review);
    CHECK(r.review.source == "given");
    CHECK(r.review.n_auto == 3);
    CHECK(r.review.n_correct == 3);
    CHECK(r.review.accuracy.value == 1.0);
    // Clopper-Pearson for 3/3 at 95 %: lower = 0.025^(1/3)
    CHECK(r.review.accuracy.lower == doctest::Approx(std::cbrt(0.025)).epsilon(1e-9));
    CHECK(r.review.review_rate.value == doctest::Approx(0.5));
    CHECK(r.review.review_rate.lower == doctest::Approx(0.1181).epsilon(1e-3));  // CP 3/6
  }
  SUBCASE("per class: thresholds .75 / .55 / .3 route rows 2, 3 (class 1) and 4 (class 2)") {
    MulticlassEvaluationInput in = t.input();
    ReviewPolicyRecord rec;
    rec.per_class = true;
    rec.thresholds = {0.75, 0.55, 0.3};
    in.review_policy = rec;
    const auto r = evaluate_multiclass(in, no_bootstrap());
    CHECK(r.review.n_auto == 3);
    CHECK(r.review.n_correct == 3);
    REQUIRE(r.review.classes.size() == 3);
    CHECK(r.review.classes[0].n == 2);
    CHECK(r.review.classes[0].n_auto == 0);
    CHECK(std::isnan(r.review.classes[0].accuracy.value));
    CHECK(r.review.classes[1].n_auto == 2);
    CHECK(r.review.classes[2].n_auto == 1);
  }
  SUBCASE("conformal LAC sets with quantile .45 keep labels with P >= .55") {
    MulticlassEvaluationInput in = t.input();
    in.review_policy =
        ReviewPolicyRecord::from(ConformalSets(ConformalMethod::kLac, 0.1, 0.45, 3, 100, 0));
    const auto r = evaluate_multiclass(in, no_bootstrap());
    CHECK(r.review.kind == "conformal");
    CHECK(r.review.n_auto == 3);  // rows 0, 2, 3 have singleton sets; 1, 4, 5 empty sets
    CHECK(r.review.n_correct == 3);
    CHECK(r.review.set_coverage.value == doctest::Approx(0.5));
  }
  SUBCASE("a policy for another K is rejected by name") {
    MulticlassEvaluationInput in = t.input();
    ReviewPolicyRecord rec;
    rec.per_class = true;
    rec.thresholds = {0.5, 0.5};
    in.review_policy = rec;
    CHECK_THROWS_WITH_AS(evaluate_multiclass(in), doctest::Contains("2 per-class thresholds"),
                         InvalidInput);
  }
}

TEST_CASE(
    "multiclass report: a threshold selected on the data reports select_review_threshold's "
    "point") {
  std::vector<double> y(500);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(i % 3);
  const auto P = random_probabilities(y, 3, 5);
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), 500, 3);
  ReviewOptions o;
  o.min_accuracy = 0.9;
  in.review_options = o;
  const auto r = evaluate_multiclass(in, no_bootstrap());
  const auto chosen = select_review_threshold(in.y, in.P, o);
  CHECK(r.review.source == "selected");
  CHECK(r.review.thresholds == std::vector<double>{chosen.overall.threshold});
  CHECK(static_cast<double>(r.review.n_auto) == chosen.overall.n_auto);
  CHECK(r.review.accuracy.value == doctest::Approx(chosen.overall.accuracy).epsilon(1e-12));
  CHECK(r.review.accuracy.lower == doctest::Approx(chosen.overall.accuracy_cp.lower));
  CHECK(r.review.review_rate.value == doctest::Approx(chosen.overall.review_rate));
  CHECK(r.notes.back().find("in-sample") == std::string::npos);  // the last note is "no bootstrap"
  bool in_sample = false;
  for (const auto& n : r.notes) in_sample |= n.find("in-sample") != std::string::npos;
  CHECK(in_sample);
  // The operating point lies on the risk-coverage curve.
  const auto& rc = r.risk_coverage;
  bool on_curve = false;
  for (std::size_t j = 0; j < rc.coverage.size(); ++j) {
    on_curve |= std::abs(rc.coverage[j] - (1 - r.review.review_rate.value)) < 1e-12 &&
                std::abs(rc.risk[j] - (1 - r.review.accuracy.value)) < 1e-12;
  }
  CHECK(on_curve);
}

TEST_CASE("multiclass report: classes beyond max_classes_shown are pooled") {
  const std::vector<double> y{0, 1, 1, 2, 2, 2, 3, 4, 4, 4, 4};
  const auto P = random_probabilities(y, 5, 3);
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), 11, 5);
  auto params = no_bootstrap();
  params.max_classes_shown = 2;
  const auto r = evaluate_multiclass(in, params);
  CHECK(r.shown_classes == std::vector<int>{2, 4});  // the most frequent, in index order
  CHECK(r.confusion.labels == std::vector<int>{2, 4, -1});
  CHECK(r.per_class.size() == 5);  // the table keeps every class
  CHECK(r.calibration_after.classes.size() == 2);
  double total = 0;
  for (const auto& row : r.confusion.counts) total += std::accumulate(row.begin(), row.end(), 0.0);
  CHECK(total == 11);
  const auto& pooled = r.confusion.counts[2];
  CHECK(std::accumulate(pooled.begin(), pooled.end(), 0.0) == 4);  // classes 0, 1, 3
  CHECK(r.notes.front().find("5 classes") == 0);
  const std::string html = multiclass_report_to_html(r);
  CHECK(html.find("(other classes)") != std::string::npos);
}

TEST_CASE("multiclass report: hostile class names are escaped in HTML and kept in JSON") {
  Tiny t;
  MulticlassEvaluationInput in = t.input();
  in.class_names = {"<script>alert(1)</script>", "\"quoted\" 'single' & amp", "bad \xff\xfe utf8"};
  in.provenance = {{"<img src=x>", "</code><script>"}};
  in.title = "<b>title</b>";
  ReviewPolicyRecord rec;
  rec.policy = "<svg onload=alert(1)>";
  rec.thresholds = {0.55};
  in.review_policy = rec;
  const auto r = evaluate_multiclass(in, no_bootstrap());
  const std::string html = multiclass_report_to_html(r);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<svg onload") == std::string::npos);
  CHECK(html.find("<b>title") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("&quot;quoted&quot; &#39;single&#39; &amp; amp") != std::string::npos);
  CHECK(html.find('\xff') == std::string::npos);
  CHECK(html.find("bad \xEF\xBF\xBD") != std::string::npos);  // U+FFFD
  CHECK(html.find("default-src 'none'") != std::string::npos);
  const auto j = nlohmann::json::parse(multiclass_report_to_json(r));
  CHECK(j["summary"]["class_names"][0] == "<script>alert(1)</script>");
  CHECK(j["summary"]["class_names"][2].get<std::string>().find("\xEF\xBF\xBD") !=
        std::string::npos);
  CHECK(j["format"] == "calibrisk-multiclass-report");
}

TEST_CASE("multiclass report: K = kMaxClasses stays bounded") {
  const int K = kMaxClasses;
  std::vector<double> y(3 * K);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(i % K);
  const auto P = random_probabilities(y, K, 9);
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), static_cast<Index>(y.size()), K);
  in.class_names.resize(K, std::string(200, 'x'));  // long names are shortened in HTML
  const auto r = evaluate_multiclass(in, no_bootstrap());
  CHECK(r.shown_classes.size() == static_cast<std::size_t>(kDefaultMaxClassesShown));
  CHECK(r.confusion.counts.size() == static_cast<std::size_t>(kDefaultMaxClassesShown + 1));
  const std::string html = multiclass_report_to_html(r);
  const std::string json = multiclass_report_to_json(r, -1);
  CHECK(html.size() < 1'500'000);
  CHECK(json.size() < 1'500'000);  // the per-class table is O(K): about 0.76 MB here
  // Full names appear once each, in the data table of the 30 shown classes; elsewhere shortened.
  std::size_t full = 0;
  for (std::size_t p = 0; (p = html.find(std::string(200, 'x'), p)) != std::string::npos; ++p) {
    ++full;
    p += 200;
  }
  CHECK(full == static_cast<std::size_t>(kDefaultMaxClassesShown));
  MESSAGE("K = 1000: HTML " << html.size() << " bytes, JSON " << json.size() << " bytes");
}

TEST_CASE("multiclass report: bootstrap intervals bracket the estimate and ignore n_threads") {
  std::vector<double> y(300);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(i % 3);
  const auto P = random_probabilities(y, 3, 21);
  const auto U = random_probabilities(y, 3, 22);
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), 300, 3);
  in.P_uncalibrated = MatrixView<const double>::row_major(U.data(), 300, 3);
  MulticlassEvaluationParams p;
  p.n_bootstrap = 50;
  p.n_threads = 1;
  const auto r1 = evaluate_multiclass(in, p);
  p.n_threads = 2;
  const auto r2 = evaluate_multiclass(in, p);
  CHECK(multiclass_report_to_json(r1) == multiclass_report_to_json(r2));
  // (Not the ECEs: resampling inflates binned ECE, so its percentile interval may miss it.)
  for (const Estimate* e :
       {&r1.calibration_after.log_loss, &r1.calibration_after.brier, &r1.calibration_after.accuracy,
        &r1.macro_f1, &r1.per_class[2].f1, &r1.calibration_before.log_loss}) {
    CHECK(e->lower <= e->value);
    CHECK(e->value <= e->upper);
  }
  CHECK(r1.calibration_before.classwise_ece.lower < r1.calibration_before.classwise_ece.upper);
  CHECK(r1.has_uncalibrated);
  CHECK(multiclass_report_to_html(r1).find("uncalibrated") != std::string::npos);
}

TEST_CASE("multiclass report: bad input is rejected naming the field") {
  Tiny t;
  MulticlassEvaluationInput in = t.input();
  SUBCASE("class names") {
    in.class_names = {"a", "b"};
    CHECK_THROWS_WITH_AS(evaluate_multiclass(in), doctest::Contains("class_names has 2 names"),
                         InvalidInput);
  }
  SUBCASE("label outside 0..K-1") {
    std::vector<double> y = t.y;
    y[3] = 3;
    in.y = VectorView<const double>(y);
    CHECK_THROWS_AS(evaluate_multiclass(in), InvalidInput);
  }
  SUBCASE("rows not summing to 1") {
    std::vector<double> P = t.P;
    P[0] = 0.9;
    in.P = MatrixView<const double>::row_major(P.data(), 6, 3);
    CHECK_THROWS_WITH_AS(evaluate_multiclass(in), doctest::Contains("row 0 of P sums to"),
                         InvalidInput);
  }
  SUBCASE("uncalibrated shape") {
    in.P_uncalibrated = MatrixView<const double>::row_major(t.P.data(), 3, 3);
    CHECK_THROWS_WITH_AS(evaluate_multiclass(in), doctest::Contains("P_uncalibrated has shape"),
                         InvalidInput);
  }
  SUBCASE("both review inputs") {
    in.review_policy = ReviewPolicyRecord{};
    in.review_options = ReviewOptions{};
    CHECK_THROWS_WITH_AS(evaluate_multiclass(in), doctest::Contains("both review_policy"),
                         InvalidInput);
  }
  SUBCASE("params") {
    MulticlassEvaluationParams p;
    p.max_classes_shown = 1;
    CHECK_THROWS_WITH_AS(evaluate_multiclass(in, p), doctest::Contains("max_classes_shown"),
                         InvalidParams);
  }
}

namespace {

// Wilson's two-sided interval width for x successes of n at z = 1.959964 (95 %), the oracle.
double wilson_width(double x, double n) {
  const double z = 1.959963984540054, p = x / n;
  return 2.0 * z * std::sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / (1.0 + z * z / n);
}

// 400 rows, classes 320 / 60 / 20; the model predicts the majority class for every row except
// one class-0 row in 20 (predicted 1) and one class-1 row in 3 (predicted 1, right): accuracy
// (304 + 20) / 400. Every row puts 0.6 on its predicted class and 0.2 on each other.
struct MajorityCase {
  std::vector<double> y, P;
  double n_right = 0.0;
  MajorityCase() {
    int seen0 = 0, seen1 = 0;
    for (int i = 0; i < 400; ++i) {
      const int c = i % 20 < 16 ? 0 : (i % 20 < 19 ? 1 : 2);
      int pred = 0;
      if (c == 0 && seen0++ % 20 == 19) pred = 1;
      if (c == 1 && seen1++ % 3 == 0) pred = 1;
      y.push_back(c);
      n_right += pred == c ? 1.0 : 0.0;
      for (int k = 0; k < 3; ++k) P.push_back(k == pred ? 0.6 : 0.2);
    }
  }
  MulticlassEvaluationInput input() const {
    MulticlassEvaluationInput in;
    in.y = VectorView<const double>(y);
    in.P = MatrixView<const double>::row_major(P.data(), 400, 3);
    return in;
  }
};

}  // namespace

TEST_CASE("multiclass report: accuracy interval has the binomial width (not stratified)") {
  // Stratified by class the accuracy's replicate variance would be sum_k n_k a_k (1 - a_k) / n^2
  // = (320 x 0.95 x 0.05 + 60 x 1/3 x 2/3) / 400^2: a width about 0.68 of the binomial one.
  // Resampling rows leaves the class mix free, so the interval has the binomial width.
  const MajorityCase m;
  REQUIRE(m.n_right == 324.0);
  MulticlassEvaluationParams p;
  p.n_bootstrap = 2000;
  p.random_state = 11;
  p.n_threads = 1;
  const MulticlassEvaluation r = evaluate_multiclass(m.input(), p);
  const Estimate& acc = r.calibration_after.accuracy;
  CHECK(acc.value == doctest::Approx(324.0 / 400.0));
  const double oracle = wilson_width(324.0, 400.0);
  const double width = acc.upper - acc.lower;
  MESSAGE("accuracy " << acc.value << " [" << acc.lower << ", " << acc.upper << "], width " << width
                      << " vs Wilson " << oracle);
  CHECK(width > 0.75 * oracle);
  CHECK(width < 1.25 * oracle);
  // Per-class recall: Wilson on the class's own rows (20 of 60 for class 1), by hand.
  const Estimate& rec = r.per_class[1].recall;
  CHECK(rec.value == doctest::Approx(20.0 / 60.0));
  CHECK(rec.upper - rec.lower == doctest::Approx(wilson_width(20.0, 60.0)).epsilon(1e-9));
  // The same seed gives the same report for any thread count.
  p.n_threads = 2;
  CHECK(multiclass_report_to_json(evaluate_multiclass(m.input(), p)) ==
        multiclass_report_to_json(r));
}

TEST_CASE("multiclass bootstrap: unstratified recall and top-label error have binomial widths") {
  const MajorityCase m;
  metrics::BootstrapParams bp;
  bp.n_replicates = 2000;
  bp.random_state = 5;
  bp.stratified = false;
  const auto b = metrics::multiclass_bootstrap(m.y, m.input().P, {"accuracy", "recall_1"}, bp);
  const double acc_width = b[0].upper - b[0].lower;
  const double rec_width = b[1].upper - b[1].lower;
  MESSAGE("accuracy width " << acc_width << ", recall_1 width " << rec_width);
  CHECK(acc_width > 0.75 * wilson_width(76.0, 400.0));  // top-label error 76 / 400
  CHECK(acc_width < 1.25 * wilson_width(76.0, 400.0));
  CHECK(rec_width > 0.75 * wilson_width(20.0, 60.0));  // class 1's rows only
  CHECK(rec_width < 1.25 * wilson_width(20.0, 60.0));
}

TEST_CASE("multiclass bootstrap: replicates without a class leave its F1 undefined") {
  // 60 rows, class 2 on rows 0 and 1 only: an unstratified replicate lacks it with probability
  // (58/60)^60 = 0.1308; those replicates are excluded from f1_2 and macro_f1 (not scored 0).
  std::vector<double> y, P;
  for (int i = 0; i < 60; ++i) {
    const int c = i < 2 ? 2 : i % 2;
    y.push_back(c);
    for (int k = 0; k < 3; ++k) P.push_back(k == c ? 0.8 : 0.1);
  }
  P[0 * 3 + 2] = 0.1, P[0 * 3 + 0] = 0.8;  // row 0 (class 2) predicted 0: class 2's F1 is 2/3
  metrics::BootstrapParams bp;
  bp.n_replicates = 4000;
  bp.stratified = false;
  const auto b = metrics::multiclass_bootstrap(
      y, MatrixView<const double>::row_major(P.data(), 60, 3), {"f1_2", "macro_f1"}, bp);
  const double share = std::pow(58.0 / 60.0, 60.0);
  const double se = std::sqrt(share * (1 - share) / 4000.0);
  CHECK(std::abs(b[0].n_invalid / 4000.0 - share) < 4 * se);
  CHECK(b[1].n_invalid == b[0].n_invalid);
  bp.stratified = true;  // every class in every replicate
  const auto s = metrics::multiclass_bootstrap(
      y, MatrixView<const double>::row_major(P.data(), 60, 3), {"f1_2", "macro_f1"}, bp);
  CHECK(s[0].n_invalid == 0);
  CHECK(s[1].n_invalid == 0);
  // The report says so, naming the class.
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = MatrixView<const double>::row_major(P.data(), 60, 3);
  in.class_names = {"a", "b", "rare"};
  MulticlassEvaluationParams p;
  p.n_bootstrap = 400;
  const MulticlassEvaluation r = evaluate_multiclass(in, p);
  REQUIRE(!r.notes.empty());
  CHECK(r.notes.back().find("conditional on the class occurring") != std::string::npos);
  CHECK(r.notes.back().find("rare (") != std::string::npos);
  CHECK(r.per_class[2].f1.lower <= r.per_class[2].f1.value);
}
