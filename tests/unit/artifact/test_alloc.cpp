// SPDX-License-Identifier: Apache-2.0
// The single-row scoring path allocates nothing: global operator new is replaced by a counting
// version (thread-local count, forwarding to malloc) for this test executable.
#include <doctest/doctest.h>

#include "fixtures.hpp"

#include <cmath>
#include <cstdlib>
#include <new>
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
