// SPDX-License-Identifier: Apache-2.0
// ScoringPipeline (declared in serve.hpp): the scoring-only interface, a thin
// layer over Pipeline so that every score is the Pipeline's own (no second
// scoring path).
#include <calibrisk/serve.hpp>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/monitor/monitor.hpp>
#include <calibrisk/trees/explain.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk {

struct ScoringPipeline::Impl {
  explicit Impl(Pipeline p) : pipe(std::move(p)) {
    for (const FeatureInfo& f : pipe.schema().features) names.push_back(f.name);
    if (const auto* gb = std::get_if<GradientBoostedTrees>(&pipe.model())) {
      explainer.emplace(gb->ensemble());
    }
    classes = pipe.class_labels();
    if (const ReviewPolicyRecord* r = pipe.review_policy()) review = r->policy;
  }
  Pipeline pipe;
  std::vector<std::string> classes;
  std::string review;
  std::vector<std::string> names;
  std::optional<TreeExplainer> explainer;  // built once: TreeSHAP's per-tree expectations
  const TreeExplainer* tree_explainer() const { return explainer ? &*explainer : nullptr; }
};

namespace {

LoadOptions to_load_options(const ScoringOptions& o) {
  LoadOptions l;
  l.verify_checksum = o.verify_checksum;
  l.require_signature = o.require_signature;
  l.public_key_file = o.public_key_file;
  l.max_bytes = o.max_bytes;
  l.max_json_depth = o.max_json_depth;
  l.max_tree_depth = o.max_tree_depth;
  l.max_tree_nodes = o.max_tree_nodes;
  return l;
}

// The rows of `X` as a strided view, after checking what the view itself
// cannot.
template <class T>
MatrixView<const T> view_of(const RowBlock<T>& X, const char* where) {
  if (X.rows < 0 || X.cols < 0) {
    throw InvalidInput(std::string(where) + ": rows and cols must be >= 0, got rows = " +
                       std::to_string(X.rows) + ", cols = " + std::to_string(X.cols) + ".");
  }
  if (X.row_stride < 0 || X.col_stride < 0) {
    throw InvalidInput(std::string(where) +
                       ": strides must be >= 0, got row_stride = " + std::to_string(X.row_stride) +
                       ", col_stride = " + std::to_string(X.col_stride) +
                       "; use RowBlock::row_major for contiguous rows.");
  }
  if (X.data == nullptr && X.rows > 0 && X.cols > 0) {
    throw InvalidInput(std::string(where) + ": X.data is null but X has " + std::to_string(X.rows) +
                       " rows; pass the rows' values.");
  }
  return MatrixView<const T>(X.data, X.rows, X.cols, X.row_stride, X.col_stride);
}

void require_out(const double* out, std::ptrdiff_t rows, const char* where) {
  if (out == nullptr && rows > 0) {
    throw InvalidInput(std::string(where) + ": out is null; pass room for " + std::to_string(rows) +
                       " values.");
  }
}

template <class T>
void predict_block(const Pipeline& pipe, const RowBlock<T>& X, double* out) {
  const char* where = "ScoringPipeline::predict_proba";
  const MatrixView<const T> v = view_of(X, where);
  require_out(out, X.rows, where);
  pipe.predict_proba(FeatureMatrix(v), VectorView<double>(out, X.rows));
}

}  // namespace

ScoringPipeline::ScoringPipeline(const Pipeline& pipeline)
    : impl_(std::make_shared<const Impl>(pipeline)) {}

ScoringPipeline ScoringPipeline::load(const std::string& path, const ScoringOptions& options) {
  return ScoringPipeline(
      std::make_shared<const Impl>(calibrisk::load(path, to_load_options(options))));
}

ScoringPipeline ScoringPipeline::from_string(std::string_view text, const ScoringOptions& options) {
  return ScoringPipeline(
      std::make_shared<const Impl>(load_from_string(text, to_load_options(options))));
}

const ScoringPipeline::Impl& ScoringPipeline::impl(const char* where) const {
  if (!impl_) {
    throw NotFitted(std::string(where) +
                    ": this ScoringPipeline was moved from; load a pipeline file first.");
  }
  return *impl_;
}

double ScoringPipeline::predict_proba_row(const double* row) const {
  return impl("ScoringPipeline::predict_proba_row").pipe.predict_proba_row(row);
}
ScoringPipeline::TextRowEncoding ScoringPipeline::encode_row(const std::string_view* fields,
                                                             double* out) const {
  const Pipeline::RowEncoding e = impl("ScoringPipeline::encode_row").pipe.encode_row(fields, out);
  return {e.unseen_labels, e.bad_numbers, e.first_bad_feature};
}

double ScoringPipeline::predict_proba_row(const float* row) const {
  return impl("ScoringPipeline::predict_proba_row").pipe.predict_proba_row(row);
}
bool ScoringPipeline::predict_row(const double* row) const {
  return impl("ScoringPipeline::predict_row").pipe.predict_row(row);
}

void ScoringPipeline::predict_proba(RowBlock<double> X, double* out) const {
  predict_block(impl("ScoringPipeline::predict_proba").pipe, X, out);
}
void ScoringPipeline::predict_proba(RowBlock<float> X, double* out) const {
  predict_block(impl("ScoringPipeline::predict_proba").pipe, X, out);
}

std::vector<double> ScoringPipeline::predict_proba(
    const std::vector<double>& row_major_values) const {
  const Impl& m = impl("ScoringPipeline::predict_proba");
  const auto p = static_cast<std::size_t>(m.pipe.n_features());
  if (p == 0 || row_major_values.size() % p != 0) {
    throw InvalidInput(
        "ScoringPipeline::predict_proba: " + std::to_string(row_major_values.size()) +
        " values are not a whole number of rows of " + std::to_string(p) +
        " features; pass rows * n_features() values, row after row.");
  }
  const auto rows = static_cast<std::ptrdiff_t>(row_major_values.size() / p);
  std::vector<double> out(static_cast<std::size_t>(rows));
  predict_block(
      m.pipe,
      RowBlock<double>::row_major(row_major_values.data(), rows, static_cast<std::ptrdiff_t>(p)),
      out.data());
  return out;
}

std::vector<double> ScoringPipeline::explain(const double* row, ExplainScale scale) const {
  const Impl& m = impl("ScoringPipeline::explain");
  const Index p = m.pipe.n_features();
  if (row == nullptr) throw InvalidInput("ScoringPipeline::explain: row is null.");
  std::vector<double> phi(static_cast<std::size_t>(p));
  m.pipe.explain(FeatureMatrix(MatrixView<const double>::row_major(row, 1, p)),
                 MatrixView<double>::row_major(phi.data(), 1, p), scale, m.tree_explainer());
  return phi;
}

void ScoringPipeline::explain(RowBlock<double> X, double* out, ExplainScale scale) const {
  const char* where = "ScoringPipeline::explain";
  const Impl& m = impl(where);
  const MatrixView<const double> v = view_of(X, where);
  require_out(out, X.rows, where);
  m.pipe.explain(FeatureMatrix(v), MatrixView<double>::row_major(out, X.rows, X.cols), scale,
                 m.tree_explainer());
}

double ScoringPipeline::explain_baseline(ExplainScale scale) const {
  const Impl& m = impl("ScoringPipeline::explain_baseline");
  return m.pipe.explain_baseline(scale, m.tree_explainer());
}

ScoringInputReport ScoringPipeline::check_inputs(RowBlock<double> X,
                                                 const ScoringCheckOptions& o) const {
  const char* where = "ScoringPipeline::check_inputs";
  const Impl& m = impl(where);
  InputCheckOptions io;
  io.missing_rate_tolerance = o.missing_rate_tolerance;
  io.missing_z = o.missing_z;
  io.max_examples = o.max_examples;
  const InputReport r = m.pipe.check_inputs(FeatureMatrix(view_of(X, where)), io);
  ScoringInputReport s;
  s.n_rows = r.n_rows;
  s.n_features_expected = r.n_features_expected;
  s.errors = r.errors;
  s.ok = r.ok();
  s.has_drift = r.has_drift();
  s.summary = r.summary();
  for (const FeatureDrift& f : r.features) {
    ScoringFeatureDrift d;
    d.feature = f.feature;
    d.name = f.name;
    d.n_below_min = f.n_below_min;
    d.n_above_max = f.n_above_max;
    d.n_unseen_category = f.n_unseen_category;
    d.n_missing = f.n_missing;
    d.n_non_finite = f.n_non_finite;
    d.missing_rate = f.missing_rate;
    d.train_missing_rate = f.train_missing_rate;
    d.missing_rate_drift = f.missing_rate_drift;
    d.example_rows.assign(f.example_rows.begin(), f.example_rows.end());
    s.features.push_back(std::move(d));
  }
  return s;
}

std::string ScoringPipeline::monitor_json(RowBlock<double> X, const double* y,
                                          std::string* status) const {
  const char* where = "ScoringPipeline::monitor_json";
  const Impl& m = impl(where);
  const MonitorResult r =
      monitor(m.pipe, FeatureMatrix(view_of(X, where)),
              y == nullptr ? VectorView<const double>() : VectorView<const double>(y, X.rows));
  if (status != nullptr) *status = monitor_status_name(r.status);
  return r.to_json();
}

int ScoringPipeline::n_classes() const {
  return impl("ScoringPipeline::n_classes").pipe.n_classes();
}
const std::vector<std::string>& ScoringPipeline::classes() const {
  return impl("ScoringPipeline::classes").classes;
}
const std::string& ScoringPipeline::review_policy() const {
  return impl("ScoringPipeline::review_policy").review;
}

void ScoringPipeline::predict_classes(RowBlock<double> X, double* proba,
                                      ClassDecision* decisions) const {
  const char* where = "ScoringPipeline::predict_classes";
  const Impl& m = impl(where);
  const MatrixView<const double> v = view_of(X, where);
  require_out(proba, X.rows, where);
  const int k = m.pipe.n_classes();
  const auto P = MatrixView<double>::row_major(proba, X.rows, k);
  m.pipe.predict_proba_matrix(FeatureMatrix(v), P);
  if (decisions == nullptr) return;
  if (k == 2) {
    const double t = m.pipe.threshold();
    for (std::ptrdiff_t i = 0; i < X.rows; ++i) decisions[i] = {P(i, 1) >= t ? 1 : 0, false};
    return;
  }
  const std::vector<std::int32_t> label = m.pipe.predict_label(P);
  const std::vector<std::uint8_t> route = m.pipe.route(P);
  for (std::ptrdiff_t i = 0; i < X.rows; ++i) {
    decisions[i] = {label[static_cast<std::size_t>(i)], route[static_cast<std::size_t>(i)] == 0};
  }
}

std::vector<double> ScoringPipeline::explain_class(const double* row, std::ptrdiff_t* predicted,
                                                   double* baseline) const {
  const char* where = "ScoringPipeline::explain_class";
  const Impl& m = impl(where);
  if (row == nullptr) throw InvalidInput(std::string(where) + ": row is null.");
  std::vector<double> p(static_cast<std::size_t>(m.pipe.n_classes()));
  m.pipe.predict_proba_matrix_row(row, p.data());
  const int k =
      m.pipe.predict_label(MatrixView<const double>::row_major(p.data(), 1, m.pipe.n_classes()))[0];
  std::vector<double> phi(static_cast<std::size_t>(m.pipe.n_features()));
  const double b = m.pipe.explain_class(row, k, phi.data());
  if (predicted != nullptr) *predicted = k;
  if (baseline != nullptr) *baseline = b;
  return phi;
}

std::ptrdiff_t ScoringPipeline::n_features() const {
  return impl("ScoringPipeline::n_features").pipe.n_features();
}
const std::vector<std::string>& ScoringPipeline::feature_names() const {
  return impl("ScoringPipeline::feature_names").names;
}
bool ScoringPipeline::is_categorical(std::ptrdiff_t j) const {
  const Impl& m = impl("ScoringPipeline::is_categorical");
  if (j < 0 || j >= m.pipe.n_features()) {
    throw InvalidInput("ScoringPipeline::is_categorical: feature index " + std::to_string(j) +
                       " is outside [0, " + std::to_string(m.pipe.n_features()) + ").");
  }
  return m.pipe.schema().features[static_cast<std::size_t>(j)].categorical;
}
double ScoringPipeline::threshold() const {
  return impl("ScoringPipeline::threshold").pipe.threshold();
}
const std::string& ScoringPipeline::policy() const {
  return impl("ScoringPipeline::policy").pipe.operating_point().policy;
}
double ScoringPipeline::operating_figure(const std::string& name) const {
  return impl("ScoringPipeline::operating_figure").pipe.operating_point().figure(name);
}
const char* ScoringPipeline::model_type() const {
  return impl("ScoringPipeline::model_type").pipe.model_type();
}
const char* ScoringPipeline::calibrator_type() const {
  return impl("ScoringPipeline::calibrator_type").pipe.calibrator_type();
}
const std::string& ScoringPipeline::library_version() const {
  return impl("ScoringPipeline::library_version").pipe.provenance().library_version;
}
const Pipeline& ScoringPipeline::pipeline() const { return impl("ScoringPipeline::pipeline").pipe; }

}  // namespace calibrisk
