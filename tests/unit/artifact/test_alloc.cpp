// SPDX-License-Identifier: Apache-2.0
// The single-row scoring path allocates nothing: global operator new is replaced by a counting
// version (thread-local count, forwarding to malloc) for this test executable.
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <optional>
#include <vector>

// GCC sees the replacement's free() paired with inlined new-expressions and warns; the pairing
// is correct (every allocation in this program comes from the malloc-based operator new below).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
thread_local long g_news = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow form must be replaced too (std::stable_sort's buffer uses it): memory from a
// sanitizer's own operator new must never reach the free() below.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++g_news;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace calibrisk;
using namespace calibrisk::test;

TEST_CASE("pipeline: predict_proba_row, predict_row and decision_function_row never allocate") {
  const ArtifactData d = make_artifact_data(400, 91);
  for (ModelKind mk : {ModelKind::kLR, ModelKind::kGBDT}) {
    for (CalKind ck : {CalKind::kNone, CalKind::kPlattMargin, CalKind::kIsotonic, CalKind::kBeta}) {
      const Pipeline pipe = load_from_string(to_string(make_pipeline(d, mk, ck)));
      const RowMatrixXf Xf = d.X.cast<float>();
      double sink = 0.0;
      const long before = g_news;
      for (Index i = 0; i < d.X.rows(); ++i) {
        sink += pipe.predict_proba_row(d.X.row(i).data());
        sink += pipe.predict_row(d.X.row(i).data()) ? 1.0 : 0.0;
        sink += pipe.decision_function_row(d.X.row(i).data());
        sink += pipe.predict_proba_row(Xf.row(i).data());
      }
      const long allocations = g_news - before;
      CAPTURE(cal_name(ck));
      CHECK(allocations == 0);
      CHECK(std::isfinite(sink));
      // The counter works: a std::vector allocates through operator new.
      const long b0 = g_news;
      static std::vector<double>* volatile keep = nullptr;  // volatile: not optimised away
      keep = new std::vector<double>(16);
      delete keep;
      CHECK(g_news - b0 == 2);
    }
  }
}

TEST_CASE("pipeline: encode_row (labels and numbers as text) never allocates") {
  const ArtifactData d = make_artifact_data(400, 91);
  PipelineParts parts = make_pipeline(d, ModelKind::kGBDT, CalKind::kIsotonic).parts();
  FeatureInfo& f = parts.schema.features[3];  // codes 0..3 as labels, with a hierarchy
  f.categorical = true;
  f.unseen_as_missing = true;
  f.labels = {"250", "250.01", "401.9", "V10"};
  f.hierarchy = CodeHierarchy::dotted();
  const Pipeline pipe = load_from_string(to_string(Pipeline(std::move(parts))));
  // Long labels (beyond the small-string buffer) and unseen ones walk the ancestor path.
  const std::string_view labels[] = {"250.01", "250.0123456789012345678901234", "401.9", "493.1",
                                     ""};
  double row[5];
  double sink = 0.0;
  const long before = g_news;
  for (int i = 0; i < 400; ++i) {
    const std::string_view fields[] = {"0.25", "NA", " 51.5", labels[i % 5], "1"};
    const Pipeline::RowEncoding e = pipe.encode_row(fields, row);
    sink += pipe.predict_proba_row(row) + static_cast<double>(e.unseen_labels);
  }
  CHECK(g_news - before == 0);
  CHECK(std::isfinite(sink));
}

namespace {

// Three classes from known softmax logits of five features (feature 1 sometimes missing,
// feature 4 a declared categorical code 0..3 whose level shifts class 2).
struct McRows {
  RowMatrixXd X;
  std::vector<double> y;
};

McRows make_mc_rows(Index n, std::uint64_t seed) {
  McRows d;
  d.X.resize(n, 5);
  d.y.resize(static_cast<std::size_t>(n));
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < 4; ++j) d.X(i, j) = rng.normal();
    d.X(i, 4) = static_cast<double>(static_cast<int>(rng.uniform() * 4.0));
    const double z[3] = {0.0, 1.5 * d.X(i, 0) - d.X(i, 1),
                         -d.X(i, 0) + 1.2 * d.X(i, 2) + 0.4 * d.X(i, 4) - 0.5};
    if (rng.uniform() < 0.1) d.X(i, 1) = std::numeric_limits<double>::quiet_NaN();
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double u = rng.uniform() * s;
    d.y[static_cast<std::size_t>(i)] = u < e[0] ? 0.0 : (u < e[0] + e[1] ? 1.0 : 2.0);
  }
  return d;
}

FeatureSchema mc_schema() {
  FeatureSchema s;
  for (const char* name : {"a", "b", "c", "d", "site"}) {
    FeatureInfo f;
    f.name = name;
    s.features.push_back(f);
  }
  s.features[4].categorical = true;
  s.features[4].unseen_as_missing = true;
  s.features[4].categories = {0, 1, 2, 3};
  s.features[4].labels = {"e", "n", "s", "w"};
  return s;
}

// Every multiclass calibrator kind, fed margins and probabilities.
std::vector<std::optional<MulticlassCalibrator>> mc_calibrators(const PipelineModel& model,
                                                                const McRows& cal) {
  const FeatureMatrix Xc(view(cal.X));
  RowMatrixXd z(cal.X.rows(), 3), p(cal.X.rows(), 3);
  std::visit(
      [&](const auto& m) {
        m.decision_matrix(Xc, view_mut(z));
        m.predict_proba_matrix(Xc, view_mut(p));
      },
      model);
  const VectorView<const double> y(cal.y);
  std::vector<std::optional<MulticlassCalibrator>> out = {std::nullopt};
  out.emplace_back(TemperatureScaling().fit(view(z), y));
  TemperatureParams tp;
  tp.input = ScoreKind::kProbability;
  out.emplace_back(TemperatureScaling(tp).fit(view(p), y));
  for (OvrMethod m : {OvrMethod::kSigmoid, OvrMethod::kIsotonic, OvrMethod::kBeta}) {
    OneVsRestParams op;
    op.method = m;
    op.input = m == OvrMethod::kBeta ? ScoreKind::kProbability : ScoreKind::kMargin;
    out.emplace_back(OneVsRestCalibrator(op).fit(view(m == OvrMethod::kBeta ? p : z), y));
  }
  out.emplace_back(DirichletCalibrator().fit(view(p), y));
  DirichletParams dp;
  dp.input = ScoreKind::kMargin;
  out.emplace_back(DirichletCalibrator(dp).fit(view(z), y));
  return out;
}

// Review policies: none, one threshold, per-class thresholds, conformal LAC / APS / randomised
// APS calibrated on the calibration part's probabilities P.
std::vector<std::optional<ReviewPolicyRecord>> mc_reviews(const McRows& cal, const RowMatrixXd& P) {
  const VectorView<const double> y(cal.y);
  std::vector<std::optional<ReviewPolicyRecord>> out = {std::nullopt};
  ReviewOptions o;
  o.min_accuracy = 0.85;
  out.emplace_back(ReviewPolicyRecord::from(select_review_threshold(y, view(P), o)));
  o.per_class = true;
  out.emplace_back(ReviewPolicyRecord::from(select_review_threshold(y, view(P), o)));
  for (ConformalMethod m :
       {ConformalMethod::kLac, ConformalMethod::kAps, ConformalMethod::kApsRandomized}) {
    out.emplace_back(ReviewPolicyRecord::from(conformal_calibrate(y, view(P), 0.2, m, 11)));
  }
  return out;
}

}  // namespace

TEST_CASE("K-class pipeline: predict_proba_matrix_row and decide_row never allocate") {
  const McRows train = make_mc_rows(900, 5), cal = make_mc_rows(500, 6);
  constexpr std::size_t kRows = 200;
  McRows test = make_mc_rows(static_cast<Index>(kRows), 7);
  for (Index i = 0; i < test.X.rows(); i += 17) test.X(i, 4) = 9.0;  // unseen site code
  LogisticRegression lr;
  lr.fit(Dataset(view(train.X), train.y), 3);
  GBDTParams gp;
  gp.n_estimators = 20;
  gp.categorical_features = {4};
  GradientBoostedTrees gb(gp);
  gb.fit(Dataset(view(train.X), train.y), 3);
  const FeatureMatrix Xt(view(test.X));
  int combos = 0;
  for (const PipelineModel& model : {PipelineModel(lr), PipelineModel(gb)}) {
    for (const auto& cal_k : mc_calibrators(model, cal)) {
      PipelineParts parts;
      parts.schema = mc_schema();
      parts.model = model;
      parts.multiclass_calibrator = cal_k;
      const RowMatrixXd Pcal = Pipeline(parts).predict_proba_matrix(FeatureMatrix(view(cal.X)));
      for (const auto& review : mc_reviews(cal, Pcal)) {
        parts.review = review;
        const Pipeline pipe = load_from_string(to_string(Pipeline(parts)));
        // Oracle: the batch methods (a batch of one row for the randomised APS route, whose u
        // depends on the row index).
        const RowMatrixXd P = pipe.predict_proba_matrix(Xt);
        const std::vector<std::int32_t> label = pipe.predict_label(view(P));
        const std::vector<std::uint8_t> route = pipe.route(view(P));
        const bool per_row_u = review && review->kind == "conformal" &&
                               review->conformal.method() == ConformalMethod::kApsRandomized;
        std::vector<double> out(kRows * 3);
        std::vector<Pipeline::RowDecision> dec(kRows);
        const long before = g_news;
        for (Index i = 0; i < test.X.rows(); ++i) {
          double* o = out.data() + i * 3;
          pipe.predict_proba_matrix_row(test.X.row(i).data(), o);
          dec[static_cast<std::size_t>(i)] = pipe.decide_row(test.X.row(i).data(), o);
        }
        const long allocations = g_news - before;
        CAPTURE(combos);
        CHECK(allocations == 0);
        int routed = 0;
        for (Index i = 0; i < test.X.rows(); ++i) {
          const Pipeline::RowDecision& d = dec[static_cast<std::size_t>(i)];
          for (Index k = 0; k < 3; ++k) CHECK(out[static_cast<std::size_t>(i * 3 + k)] == P(i, k));
          CHECK(d.label == label[static_cast<std::size_t>(i)]);
          CHECK(d.confidence == P(i, d.label));
          bool want = route[static_cast<std::size_t>(i)] != 0;
          if (per_row_u) want = pipe.route(view(RowMatrixXd(P.row(i))))[0] != 0;
          CHECK(d.auto_routed == want);
          routed += d.auto_routed;
        }
        // The policies route some items each way (else the route check would be vacuous).
        if (review) CHECK(routed < test.X.rows());
        ++combos;
      }
    }
  }
  CHECK(combos == 2 * 8 * 6);
}
