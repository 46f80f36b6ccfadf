// SPDX-License-Identifier: Apache-2.0
// The multiclass road of train_pipeline (docs/workflow.md "Multiclass"): class labels -> split ->
// multinomial logistic regression -> multiclass calibrator -> review threshold on the calibration
// part -> the same thresholds on the test part -> a K-class Pipeline (format 1.7); the same road
// on a caller's split for rolling-origin validation (train_multiclass_on_split).
#include <calibrisk/workflow/train.hpp>

#include "workflow/stages.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/text.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace calibrisk {
namespace {

using detail::Stages;

std::string fmt3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Most distinct whole-number values a numeric label may have to be detected as multiclass.
constexpr std::size_t kAutoMaxNumericClasses = 20;
// Fewest rows of each value of a numeric label detected as multiclass.
constexpr Index kAutoMinClassRows = 10;

// Distinct non-missing label values of the column (at most 3 are needed to decide).
std::size_t distinct_labels(const Column& c, std::size_t stop_at) {
  std::set<double> seen;
  for (const double v : c.values) {
    if (!std::isnan(v)) seen.insert(v);
    if (seen.size() >= stop_at) break;
  }
  return seen.size();
}

void check_multiclass_spec(const TrainSpec& spec) {
  if (spec.model == ModelKind::kLogisticRegression) {
    spec.lr.validate();
  } else {
    spec.gbdt.validate();
  }
  if (spec.conformal_review) {
    const double c = spec.conformal_review->coverage;
    if (!(c > 0.0 && c < 1.0)) {
      throw InvalidParams("TrainSpec.conformal_review.coverage must be in (0, 1), got " +
                          format_double(c) +
                          "; e.g. 0.9 for sets holding the true label 90% "
                          "of the time.");
    }
  } else {
    spec.review.validate();
  }
}

// Counts of each class among `y` (class indices).
std::vector<Index> class_counts(const std::vector<double>& y, int k) {
  std::vector<Index> n(static_cast<std::size_t>(k), 0);
  for (const double v : y) ++n[static_cast<std::size_t>(v)];
  return n;
}

// Every class needs training rows; one-vs-rest and Dirichlet calibration need every class in the
// calibration part too (temperature scaling, one parameter for all classes, does not).
void require_classes(const TrainResult& out, const TrainSpec& spec) {
  const int k = out.n_classes;
  const auto absent = [&](const std::vector<double>& y) {
    const std::vector<Index> n = class_counts(y, k);
    for (int c = 0; c < k; ++c)
      if (n[static_cast<std::size_t>(c)] == 0) return c;
    return -1;
  };
  if (const int c = absent(out.train.y); c >= 0) {
    throw InvalidInput("class " + quote_for_message(out.classes[static_cast<std::size_t>(c)]) +
                       " of label column " + quote_for_message(spec.columns.label) +
                       " has no rows in the training part; every class needs training rows: "
                       "use more data, a larger train fraction, or merge the rare class.");
  }
  const bool every = spec.multiclass_calibration == MulticlassCalibration::kOvrSigmoid ||
                     spec.multiclass_calibration == MulticlassCalibration::kOvrIsotonic ||
                     spec.multiclass_calibration == MulticlassCalibration::kDirichlet;
  if (const int c = absent(out.calibration.y); every && c >= 0) {
    throw InvalidInput("class " + quote_for_message(out.classes[static_cast<std::size_t>(c)]) +
                       " has no rows in the calibration part; --calibration " +
                       multiclass_calibration_name(spec.multiclass_calibration) +
                       " fits every class there: use --calibration temperature (one parameter "
                       "for all classes), more data or a larger calibration fraction.");
  }
}

TrainPart make_part(const RowMatrixXd& X, const std::vector<double>& y, const TimeGroupSplit& s,
                    SplitPart p) {
  TrainPart d;
  d.rows = s.rows_of(p);
  d.X = take_rows(X, d.rows);
  d.y = take(y, d.rows);
  return d;
}

// The entry split (fractions of the rows in time / file order, whole groups per part).
void entry_split(const TrainSpec& spec, Index n, const Column* time,
                 const std::vector<double>& group, TrainResult& out, const Stages& st) {
  const std::vector<double> none;
  const ColumnRoles& roles = spec.columns;
  st.begin("splitting " + std::to_string(n) + " rows by " + (time ? "time" : "file order") +
           (roles.group.empty() ? "" : " and " + roles.group));
  const double smallest = std::min({spec.split.train, spec.split.calibration, spec.split.test});
  if (static_cast<double>(n) * smallest < static_cast<double>(kMinPartRows)) {
    throw InvalidInput("the file has " + std::to_string(n) +
                       " data rows, too few for the split: every part needs at least " +
                       std::to_string(kMinPartRows) + " rows.");
  }
  out.split = split_by_time_and_group(time ? time->values : none, group, n, spec.split);
  for (int p = 0; p < 3; ++p) {
    if (out.split.summary[p].rows < kMinPartRows) {
      throw InvalidInput(std::string("the ") + part_name(static_cast<SplitPart>(p)) + " part has " +
                         std::to_string(out.split.summary[p].rows) +
                         " rows; every part needs at least " + std::to_string(kMinPartRows) +
                         ": use more data or a larger fraction for this part.");
    }
  }
  st.end();
}

// `given`: a split computed by the caller (rolling-origin validation), used as it is.
void split_stage(const Table& table, const TrainSpec& spec, const ClassLabels& labels,
                 TrainResult& out, const Stages& st, const TimeGroupSplit* given) {
  const ColumnRoles& roles = spec.columns;
  const Index n = table.rows();
  if (!roles.positive_label.empty()) {
    throw InvalidParams("--positive " + quote_for_message(roles.positive_label) +
                        " names the event of a binary label, but label column " +
                        quote_for_message(roles.label) +
                        " is a multiclass label; leave --positive out.");
  }
  out.features = feature_columns(table, roles);
  out.categorical_features = declared_categorical_features(table, out.features);
  detail::note_inferred_categorical(table, out.features, out.notes);
  const Column* time = roles.time.empty() ? nullptr : &table.column(roles.time);
  const std::vector<double> none;
  const std::vector<double>& group = roles.group.empty() ? none : table.column(roles.group).values;
  if (given != nullptr) {
    out.split = *given;
  } else if (spec.split_rule == SplitRule::kCalendar) {
    st.begin("splitting " + std::to_string(n) + " rows by calendar (" + roles.time + ")");
    out.split = detail::calendar_split(spec, time, group, st);
    st.end();
  } else {
    entry_split(spec, n, time, group, out, st);
  }
  for (int p = 0; p < 3; ++p) {
    const PartSummary& s = out.split.summary[p];
    st.note("  " + std::string(part_name(static_cast<SplitPart>(p))) + ": " +
            std::to_string(s.rows) + " rows, " + detail::part_window(s, time));
  }
  const RowMatrixXd X = table.to_matrix(out.features);
  out.train = make_part(X, labels.y, out.split, SplitPart::kTrain);
  out.calibration = make_part(X, labels.y, out.split, SplitPart::kCalibration);
  out.test = make_part(X, labels.y, out.split, SplitPart::kTest);
}

// The multinomial logistic regression on the training part; the declared categorical features
// are expanded first into reference-coded indicators (`expansion`, the binary model's rules:
// artifact/expansion.hpp), which the Pipeline saves and applies at scoring.
PipelineModel fit_stage(const Table& table, const TrainSpec& spec, TrainResult& out,
                        CategoricalExpansion& expansion, const Stages& st) {
  const bool lr = spec.model == ModelKind::kLogisticRegression;
  st.begin(std::string("fitting ") +
           (lr ? "multinomial logistic regression" : "boosted trees (softmax)") + " (" +
           std::to_string(out.n_classes) + " classes) on " + std::to_string(out.train.X.rows()) +
           " rows x " + std::to_string(out.train.X.cols()) + " features");
  const auto start = std::chrono::steady_clock::now();
  PipelineModel model;
  if (lr) {
    const std::vector<int>& cats = spec.lr.categorical_features.empty()
                                       ? out.categorical_features
                                       : spec.lr.categorical_features;
    LogisticRegressionParams lp = spec.lr;
    lp.categorical_features.clear();  // expanded here, not by the model
    LogisticRegression m(lp);
    if (cats.empty()) {
      m.fit(Dataset(FeatureMatrix(view(out.train.X)), VectorView<const double>(out.train.y)),
            out.n_classes);
    } else {
      expansion = CategoricalExpansion::fit(view(out.train.X), cats, spec.lr.min_category_count);
      const RowMatrixXd E = expansion.expand(FeatureMatrix(view(out.train.X)));
      // The indicators follow the numeric inputs; they keep the raw penalty (logistic.hpp).
      const auto numeric = static_cast<Index>(expansion.n_inputs - expansion.columns.size());
      m.fit(Dataset(FeatureMatrix(view(E)), VectorView<const double>(out.train.y)), out.n_classes,
            numeric);
    }
    for (const auto& note : m.fit_info().notes) out.notes.push_back("logistic regression: " + note);
    if (!m.fit_info().converged) {
      out.notes.push_back("logistic regression did not converge in " +
                          std::to_string(spec.lr.max_iter) +
                          " iterations; raise --param max_iter or lower --param C.");
    }
    model = std::move(m);
  } else {
    TrainSpec fit_spec = spec;
    if (fit_spec.gbdt.categorical_features.empty()) {
      fit_spec.gbdt.categorical_features = out.categorical_features;
    }
    GradientBoostedTrees m = detail::fit_class_trees(table, fit_spec, out.train, out.early_stopping,
                                                     out.features, out.n_classes);
    for (const auto& note : m.fit_info().notes) out.notes.push_back("boosted trees: " + note);
    model = std::move(m);
  }
  out.seconds_fit = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  st.end();
  return model;
}

// The multiclass calibrator on the calibration part: temperature and one-vs-rest take the K
// logits (as scikit-learn does for an estimator with decision_function), Dirichlet the K
// probabilities.
std::optional<MulticlassCalibrator> calibrate_stage(const TrainSpec& spec,
                                                    const PipelineModel& model,
                                                    const CategoricalExpansion& expansion,
                                                    TrainResult& out, const Stages& st) {
  const MulticlassCalibration method = spec.multiclass_calibration;
  if (method == MulticlassCalibration::kNone) return std::nullopt;
  st.begin(std::string("calibrating (") + multiclass_calibration_name(method) + ") on " +
           std::to_string(out.calibration.X.rows()) + " rows");
  const RowMatrixXd E =
      expansion.empty() ? RowMatrixXd() : expansion.expand(FeatureMatrix(view(out.calibration.X)));
  const FeatureMatrix Xc(view(expansion.empty() ? out.calibration.X : E));
  RowMatrixXd s(out.calibration.X.rows(), out.n_classes);
  std::visit(
      [&](const auto& m) {
        if (method == MulticlassCalibration::kDirichlet) {
          m.predict_proba_matrix(Xc, view_mut(s));
        } else {
          m.decision_matrix(Xc, view_mut(s));
        }
      },
      model);
  const VectorView<const double> y(out.calibration.y);
  std::optional<MulticlassCalibrator> c;
  if (method == MulticlassCalibration::kTemperature) {
    c = TemperatureScaling().fit(view(s), y);
  } else if (method == MulticlassCalibration::kDirichlet) {
    c = DirichletCalibrator().fit(view(s), y);
  } else {
    OneVsRestParams p;
    p.method =
        method == MulticlassCalibration::kOvrSigmoid ? OvrMethod::kSigmoid : OvrMethod::kIsotonic;
    p.input = ScoreKind::kMargin;
    c = OneVsRestCalibrator(p).fit(view(s), y);
  }
  std::visit(
      [&](const auto& cal) {
        for (const auto& note : cal.fit_info().notes) out.notes.push_back("calibration: " + note);
      },
      *c);
  st.end();
  return c;
}

// The test part's figures at the calibration thresholds.
ReviewPoint test_point(const Pipeline& pipe, const TrainPart& test) {
  const MatrixView<const double> P = view(test.P);
  const std::vector<std::uint8_t> route = pipe.route(P);
  const std::vector<std::int32_t> label = pipe.predict_label(P);
  ReviewPoint r;
  r.threshold = std::numeric_limits<double>::quiet_NaN();
  r.n_total = static_cast<double>(test.y.size());
  for (std::size_t i = 0; i < route.size(); ++i) {
    if (!route[i]) continue;
    r.n_auto += 1.0;
    r.n_correct += static_cast<double>(label[i]) == test.y[i] ? 1.0 : 0.0;
  }
  r.accuracy = r.n_auto > 0 ? r.n_correct / r.n_auto : std::numeric_limits<double>::quiet_NaN();
  r.coverage = r.n_auto / r.n_total;
  r.review_rate = 1.0 - r.coverage;
  return r;
}

// The conformal review policy (spec.conformal_review) on the calibration part.
ReviewPolicyRecord conformal_stage(const TrainSpec& spec, TrainResult& out, const Stages& st) {
  const TrainSpec::ConformalReview& c = *spec.conformal_review;
  st.begin("calibrating conformal sets (" + c.describe() + ") on " +
           std::to_string(out.calibration.y.size()) + " rows");
  const ConformalSets sets =
      conformal_calibrate(VectorView<const double>(out.calibration.y), view(out.calibration.P),
                          1.0 - c.coverage, c.method, spec.seed);
  ReviewPolicyRecord rec = ReviewPolicyRecord::from(sets);
  rec.policy = c.describe();
  if (std::isinf(sets.quantile())) {
    out.notes.push_back("conformal sets: the calibration part is too small for coverage " +
                        fmt3(c.coverage) +
                        " (fewer than 1 / (1 - coverage) - 1 rows): every set "
                        "holds every label and every item goes to review.");
  }
  st.end("quantile " + fmt3(sets.quantile()));
  return rec;
}

void review_stage(const TrainSpec& spec, TrainResult& out, const Stages& st) {
  st.begin("choosing the review threshold (" + spec.review.describe() + ")");
  out.review_calibration = select_review_threshold(VectorView<const double>(out.calibration.y),
                                                   view(out.calibration.P), spec.review);
  const ReviewPoint& o = out.review_calibration.overall;
  if (!out.review_calibration.feasible) {
    out.notes.push_back("review policy not met on the calibration part: " +
                        out.review_calibration.message);
  }
  st.end("threshold " + fmt3(o.threshold) + ", accuracy " + fmt3(o.accuracy) + ", review rate " +
         fmt3(o.review_rate) + " on calibration");
}

}  // namespace

std::string TrainSpec::ConformalReview::describe() const {
  return "conformal=" + format_double(coverage) + ",method=" + conformal_method_name(method);
}

const char* multiclass_calibration_name(MulticlassCalibration m) noexcept {
  return enum_to_text(m);
}

std::optional<MulticlassCalibration> multiclass_calibration_from_name(const std::string& text) {
  if (text == "sigmoid" || text == "platt") return MulticlassCalibration::kOvrSigmoid;
  if (text == "isotonic") return MulticlassCalibration::kOvrIsotonic;
  MulticlassCalibration m{};
  std::string alias;
  if (!enum_from_text(text, m, alias)) return std::nullopt;
  return m;
}

ReviewOptions default_review_options() {
  ReviewOptions o;
  o.min_accuracy = 0.95;
  return o;
}

ClassLabels multiclass_labels(const Table& table, const std::string& label) {
  const Column& c = table.column(label);
  const bool text = c.kind == ColumnKind::kCategorical;
  for (std::size_t i = 0; i < c.values.size(); ++i) {
    if (std::isnan(c.values[i])) {
      throw InvalidInput("label column " + quote_for_message(label) + " is missing at data row " +
                         std::to_string(i + 1) +
                         "; every row needs a label (remove unlabelled rows first).");
    }
  }
  // Distinct values in class order: numbers numerically, text labels by their bytes.
  std::map<double, std::string> numeric;
  std::map<std::string, double> by_text;
  for (const double v : c.values) {
    if (text) {
      by_text.emplace(c.categories[static_cast<std::size_t>(v)], v);
    } else {
      numeric.emplace(v, format_double(v));
    }
  }
  ClassLabels out;
  std::map<double, double> index;  // stored value -> class index
  if (text) {
    for (const auto& [name, code] : by_text) {
      index[code] = static_cast<double>(out.classes.size());
      out.classes.push_back(name);
    }
  } else {
    for (const auto& [v, name] : numeric) {
      index[v] = static_cast<double>(out.classes.size());
      out.classes.push_back(name);
    }
  }
  if (out.classes.size() > static_cast<std::size_t>(kMaxClasses)) {
    throw InvalidInput("label column " + quote_for_message(label) + " holds " +
                       std::to_string(out.classes.size()) + " distinct labels, more than " +
                       std::to_string(kMaxClasses) +
                       " classes (kMaxClasses); is it an identifier rather than a label?");
  }
  out.y.resize(c.values.size());
  for (std::size_t i = 0; i < c.values.size(); ++i) out.y[i] = index[c.values[i]];
  return out;
}

bool multiclass_task(const Table& table, const TrainSpec& spec) {
  return detail::is_multiclass_task(table, spec);
}

namespace detail {

bool is_multiclass_task(const Table& table, const TrainSpec& spec) {
  if (spec.task == TaskKind::kBinary) return false;
  if (spec.task == TaskKind::kMulticlass) return true;
  if (!table.has_column(spec.columns.label)) return false;  // the binary path reports it
  const Column& c = table.column(spec.columns.label);
  if (c.kind == ColumnKind::kCategorical) return distinct_labels(c, 3) > 2;
  // Numbers: a few whole-number codes (as scikit-learn's type_of_target "multiclass"); many
  // values or fractions look like a measurement mistaken for a label, which the binary path
  // rejects with its "labels must be 0 or 1" message (--task multiclass still takes them).
  // A value on fewer than kAutoMinClassRows rows (a stray 2 among 0/1 labels) is more likely a
  // typo than a class: the binary path names it.
  std::map<double, Index> counts;
  for (const double v : c.values) {
    if (std::isnan(v)) continue;
    if (v != std::floor(v)) return false;
    if (++counts[v] == 1 && counts.size() > kAutoMaxNumericClasses) return false;
  }
  if (counts.size() <= 2) return false;
  for (const auto& kv : counts) {
    if (kv.second < kAutoMinClassRows) return false;
  }
  return true;
}

TrainResult train_multiclass(const Table& table, const TrainSpec& requested,
                             TrainObserver* observer) {
  return train_multiclass_on_split(table, requested, nullptr, observer);
}

TrainResult train_multiclass_on_split(const Table& table, const TrainSpec& requested,
                                      const TimeGroupSplit* split, TrainObserver* observer) {
  const Stages st{observer};
  // ModelKind::kAuto (the CLI's and Python's default) compares held-out binary log losses; for a
  // multiclass label it resolves to the multinomial logistic regression (docs/workflow.md).
  TrainSpec spec = requested;
  if (spec.model == ModelKind::kAuto) spec.model = ModelKind::kLogisticRegression;
  check_multiclass_spec(spec);
  const ClassLabels labels = multiclass_labels(table, spec.columns.label);
  const int k = static_cast<int>(labels.classes.size());
  if (k < 3) {
    throw InvalidInput("label column " + quote_for_message(spec.columns.label) + " holds " +
                       std::to_string(k) + (k == 1 ? " class" : " classes") +
                       "; a multiclass task needs at least three (a two-class label is a "
                       "binary task: encode it as 0/1 and use --task binary).");
  }
  TrainResult out;
  out.n_classes = k;
  out.classes = labels.classes;
  split_stage(table, spec, labels, out, st, split);
  require_classes(out, spec);
  CategoricalExpansion expansion;
  PipelineModel model = fit_stage(table, spec, out, expansion, st);
  std::optional<MulticlassCalibrator> cal = calibrate_stage(spec, model, expansion, out, st);
  assemble_multiclass_pipeline(table, spec, std::move(model), std::move(cal), out,
                               std::move(expansion));
  for (TrainPart* part : {&out.train, &out.calibration, &out.test}) {
    part->P = out.pipeline->predict_proba_matrix(FeatureMatrix(view(part->X)));
  }
  PipelineParts parts = out.pipeline->parts();
  if (spec.conformal_review) {
    parts.review = conformal_stage(spec, out, st);
  } else {
    review_stage(spec, out, st);
    parts.review = ReviewPolicyRecord::from(out.review_calibration);
  }
  out.pipeline.emplace(std::move(parts));
  if (spec.conformal_review) {  // the calibration part's figures at the calibrated sets
    out.review_calibration = ReviewThresholds{};
    out.review_calibration.policy = spec.conformal_review->describe();
    out.review_calibration.overall = test_point(*out.pipeline, out.calibration);
  }
  out.review_test = ReviewThresholds{};
  out.review_test.policy = out.review_calibration.policy;
  out.review_test.overall = test_point(*out.pipeline, out.test);
  finish_multiclass_record(spec, out);
  return out;
}

}  // namespace detail
}  // namespace calibrisk
