// SPDX-License-Identifier: Apache-2.0
// The multiclass report's computations: every statistic comes from metrics/multiclass.hpp and
// threshold/review.hpp; this file only selects the classes to show, pools the others and measures
// the review queue's routing on the evaluated rows.
#include <calibrisk/metrics/intervals.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/report/multiclass.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace calibrisk {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kWhere = "evaluate_multiclass";
constexpr int kHistogramBins = 20;

}  // namespace

void MulticlassEvaluationParams::validate() const {
  validate_params(*this);
  binning.validate();
}

namespace {

void check_input(const MulticlassEvaluationInput& in) {
  const std::string where = kWhere;
  validate_probability_matrix(in.P, where + ": P");
  const Index n = in.P.rows();
  const Index K = in.P.cols();
  validate_class_labels(in.y, static_cast<int>(K), n, where + ": y", false);
  if (in.P_uncalibrated.rows() != 0 || in.P_uncalibrated.cols() != 0) {
    if (in.P_uncalibrated.rows() != n || in.P_uncalibrated.cols() != K) {
      throw InvalidInput(
          where + ": P_uncalibrated has shape (" + std::to_string(in.P_uncalibrated.rows()) + ", " +
          std::to_string(in.P_uncalibrated.cols()) + ") but P has (" + std::to_string(n) + ", " +
          std::to_string(K) + "); pass the probabilities before calibration of the same rows.");
    }
    validate_probability_matrix(in.P_uncalibrated, where + ": P_uncalibrated");
  }
  if (!in.class_names.empty() && static_cast<Index>(in.class_names.size()) != K) {
    throw InvalidInput(where + ": class_names has " + std::to_string(in.class_names.size()) +
                       " names but P has " + std::to_string(K) +
                       " columns; pass one name per column of P (e.g. clf.classes_).");
  }
  if (in.review_policy && in.review_options) {
    throw InvalidInput(where +
                       ": both review_policy and review_options are set; pass the saved "
                       "policy to re-measure it, or options to choose thresholds on this data.");
  }
}

Estimate point_only(double v) { return Estimate{v, kNaN, kNaN}; }

Estimate with_interval(double v, const metrics::ProportionInterval& ci) {
  return Estimate{v, ci.lower, ci.upper};
}

std::vector<ReliabilityPoint> points_of(const metrics::ReliabilityCurve& rc) {
  std::vector<ReliabilityPoint> out;
  for (const auto& b : rc.bins) {
    out.push_back({b.count, b.mean_predicted, b.observed_rate, b.ci_lower, b.ci_upper});
  }
  return out;
}

// ECE of one reliability curve: sum over bins of (bin weight / total) * |observed - predicted|,
// the same sum as metrics::expected_calibration_error over the same bins.
double ece_of(const metrics::ReliabilityCurve& rc) {
  double total = 0.0, sum = 0.0;
  for (const auto& b : rc.bins) total += b.weight;
  for (const auto& b : rc.bins) sum += b.weight * std::abs(b.observed_rate - b.mean_predicted);
  return total > 0.0 ? sum / total : kNaN;
}

// counts[j] rows with edges[j] <= v < edges[j + 1] over 20 equal-width bins (the last includes
// 1; values a rounding above 1 count there too).
template <class Get>
RiskHistogram histogram_of(Index n, Get get) {
  RiskHistogram h;
  h.counts.assign(kHistogramBins, 0);
  for (int j = 0; j <= kHistogramBins; ++j)
    h.edges.push_back(static_cast<double>(j) / kHistogramBins);
  for (Index i = 0; i < n; ++i) {
    const int b =
        std::clamp(static_cast<int>(std::floor(get(i) * kHistogramBins)), 0, kHistogramBins - 1);
    ++h.counts[static_cast<std::size_t>(b)];
  }
  return h;
}

// The shown classes: all when K <= cap, else the `cap` most frequent (ties: lower index), in
// increasing index order.
std::vector<int> shown_classes_of(const std::vector<Index>& counts, int cap) {
  const int K = static_cast<int>(counts.size());
  std::vector<int> idx(static_cast<std::size_t>(K));
  std::iota(idx.begin(), idx.end(), 0);
  if (K <= cap) return idx;
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return counts[a] > counts[b]; });
  idx.resize(static_cast<std::size_t>(cap));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Bootstrap intervals by name (empty without bootstrap). Rows are resampled without class strata:
// accuracy, Brier, log loss and ECE move with the class mix, and fixing it in every replicate
// makes their intervals far too narrow when the model mostly predicts the majority class. A
// replicate without one of the data's classes leaves that class's F1 and macro F1 undefined
// (multiclass_bootstrap excludes it), so F1 intervals are conditional on the class occurring.
std::vector<metrics::BootstrapResult> bootstrap_of(VectorView<const double> y,
                                                   MatrixView<const double> P,
                                                   const std::vector<std::string>& names,
                                                   const MulticlassEvaluationParams& params) {
  if (params.n_bootstrap == 0) return {};
  metrics::BootstrapParams bp;
  bp.n_replicates = params.n_bootstrap;
  bp.confidence = params.confidence;
  bp.random_state = params.random_state;
  bp.n_threads = params.n_threads;
  bp.binning = params.binning;
  bp.stratified = false;
  return metrics::multiclass_bootstrap(y, P, names, bp);
}

Estimate from_bootstrap(const std::vector<metrics::BootstrapResult>& b, std::size_t k,
                        double point) {
  if (k >= b.size()) return point_only(point);
  return Estimate{point, b[k].lower, b[k].upper};
}

MulticlassCalibrationSection calibration_of(
    VectorView<const double> y, MatrixView<const double> P, const std::string& label,
    const std::vector<int>& shown, const MulticlassEvaluationParams& params,
    std::vector<double>* class_ece, const std::vector<std::string>& extra_names = {},
    std::vector<metrics::BootstrapResult>* extra = nullptr) {
  MulticlassCalibrationSection c;
  c.label = label;
  const Index n = P.rows();
  const Eigen::VectorXd pred = metrics::predicted_classes(P);
  std::vector<double> conf(static_cast<std::size_t>(n)), correct(static_cast<std::size_t>(n));
  double n_correct = 0.0;
  for (Index i = 0; i < n; ++i) {
    conf[i] = P(i, static_cast<Index>(pred[i]));
    correct[i] = pred[i] == y[i] ? 1.0 : 0.0;
    n_correct += correct[i];
  }
  // One bootstrap for the summary and the caller's per-class names (one resampling pass).
  std::vector<std::string> names = {"log_loss", "brier_score", "accuracy", "top_label_ece",
                                    "classwise_ece"};
  names.insert(names.end(), extra_names.begin(), extra_names.end());
  auto b = bootstrap_of(y, P, names, params);
  if (extra && b.size() == names.size()) extra->assign(b.begin() + 5, b.end());
  c.log_loss = from_bootstrap(b, 0, metrics::multiclass_log_loss(y, P));
  c.brier = from_bootstrap(b, 1, metrics::multiclass_brier_score(y, P));
  c.accuracy = from_bootstrap(b, 2, n_correct / static_cast<double>(n));
  c.top_label_ece = from_bootstrap(b, 3, metrics::top_label_ece(y, P, {}, params.binning));
  c.classwise_ece = from_bootstrap(b, 4, metrics::classwise_ece(y, P, {}, params.binning));
  c.top_label_bins = points_of(metrics::reliability_curve(
      VectorView<const double>(correct.data(), n), VectorView<const double>(conf.data(), n), {},
      params.binning, params.confidence));
  c.confidence_histogram = histogram_of(n, [&](Index i) { return conf[i]; });
  const auto curves =
      metrics::classwise_reliability_curves(y, P, {}, params.binning, params.confidence);
  if (class_ece) {
    class_ece->clear();
    for (const auto& rc : curves) class_ece->push_back(ece_of(rc));
  }
  for (int k : shown) {
    ClassCalibration cc;
    cc.index = k;
    cc.bins = points_of(curves[static_cast<std::size_t>(k)]);
    cc.histogram = histogram_of(n, [&](Index i) { return P(i, k); });
    c.classes.push_back(std::move(cc));
  }
  return c;
}

// Per-class table (all K classes) and macro F1, with F1's bootstrap intervals.
// The bootstrap names of add_per_class's intervals: macro F1, then each class's F1.
std::vector<std::string> per_class_names(int K) {
  std::vector<std::string> names = {"macro_f1"};
  for (int k = 0; k < K; ++k) names.push_back("f1_" + std::to_string(k));
  return names;
}

void add_per_class(const MulticlassEvaluationInput& in, const MulticlassEvaluationParams& params,
                   const Eigen::VectorXd& pred, const std::vector<double>& class_ece,
                   const std::vector<metrics::BootstrapResult>& b, MulticlassEvaluation& r) {
  const int K = r.n_classes;
  const Index n = r.rows;
  const auto scores =
      metrics::per_class_scores(in.y, VectorView<const double>(pred), K, {}, params.confidence);
  std::vector<Index> predicted(static_cast<std::size_t>(K), 0);
  std::vector<double> mean(static_cast<std::size_t>(K), 0.0);
  for (Index i = 0; i < n; ++i) {
    ++predicted[static_cast<std::size_t>(pred[i])];
    for (int k = 0; k < K; ++k) mean[static_cast<std::size_t>(k)] += in.P(i, k);
  }
  double macro = 0.0;
  for (int k = 0; k < K; ++k) {
    const metrics::ClassScores& s = scores[static_cast<std::size_t>(k)];
    ClassReportRow row;
    row.index = k;
    row.name = r.class_names[static_cast<std::size_t>(k)];
    row.support = r.class_counts[static_cast<std::size_t>(k)];
    row.predicted = predicted[static_cast<std::size_t>(k)];
    row.precision = with_interval(s.precision, s.precision_ci);
    row.recall = with_interval(s.recall, s.recall_ci);
    row.f1 = from_bootstrap(b, static_cast<std::size_t>(k) + 1, s.f1);
    if (row.predicted == 0) {
      row.precision.lower = row.precision.upper = kNaN;
      row.undefined["precision"] = "no row is predicted as this class (0 by convention)";
    }
    if (row.support == 0) {
      row.recall.lower = row.recall.upper = kNaN;
      row.undefined["recall"] = "the class does not occur in the data (0 by convention)";
    }
    row.prevalence = static_cast<double>(row.support) / static_cast<double>(n);
    row.mean_predicted = mean[static_cast<std::size_t>(k)] / static_cast<double>(n);
    row.ece = class_ece[static_cast<std::size_t>(k)];
    macro += s.f1;
    r.per_class.push_back(std::move(row));
  }
  r.macro_f1 = from_bootstrap(b, 0, macro / K);
}

// Confusion matrix over the shown classes, the others pooled into one last row and column.
ConfusionSection confusion_of(VectorView<const double> y, const Eigen::VectorXd& pred,
                              const std::vector<int>& shown, int K) {
  const Eigen::MatrixXd full = metrics::confusion_matrix(y, VectorView<const double>(pred), K);
  ConfusionSection c;
  std::vector<int> slot(static_cast<std::size_t>(K), static_cast<int>(shown.size()));
  for (std::size_t s = 0; s < shown.size(); ++s)
    slot[static_cast<std::size_t>(shown[s])] = static_cast<int>(s);
  c.labels = shown;
  const bool pooled = static_cast<int>(shown.size()) < K;
  if (pooled) c.labels.push_back(-1);
  const std::size_t m = c.labels.size();
  c.counts.assign(m, std::vector<double>(m, 0.0));
  for (int i = 0; i < K; ++i) {
    for (int j = 0; j < K; ++j) {
      c.counts[static_cast<std::size_t>(slot[i])][static_cast<std::size_t>(slot[j])] += full(i, j);
    }
  }
  c.row_normalized = c.counts;
  for (auto& row : c.row_normalized) {
    const double s = std::accumulate(row.begin(), row.end(), 0.0);
    for (double& v : row) v = s > 0.0 ? v / s : kNaN;
  }
  return c;
}

// Accuracy and review rate of auto-routed rows, with Clopper-Pearson intervals.
void fill_rates(Index n, Index n_auto, Index n_correct, double confidence, Estimate& accuracy,
                Estimate& review_rate) {
  const auto nd = static_cast<double>(n);
  const auto ad = static_cast<double>(n_auto);
  review_rate = n > 0 ? with_interval(1.0 - ad / nd,
                                      metrics::clopper_pearson_interval(nd - ad, nd, confidence))
                      : point_only(kNaN);
  accuracy = n_auto > 0 ? with_interval(static_cast<double>(n_correct) / ad,
                                        metrics::clopper_pearson_interval(
                                            static_cast<double>(n_correct), ad, confidence))
                        : point_only(kNaN);
}

// The saved (or just selected) thresholds as the ReviewThresholds that route_items reads.
ReviewThresholds thresholds_of(const ReviewPolicyRecord& rec, int K) {
  const std::string where = std::string(kWhere) + ": review_policy";
  for (double t : rec.thresholds) {
    if (std::isnan(t)) throw InvalidInput(where + " has a NaN threshold; re-select the policy.");
  }
  ReviewThresholds r;
  r.policy = rec.policy;
  if (rec.per_class) {
    if (static_cast<int>(rec.thresholds.size()) != K) {
      throw InvalidInput(where + " has " + std::to_string(rec.thresholds.size()) +
                         " per-class thresholds but P has " + std::to_string(K) +
                         " columns; the policy was chosen for another model.");
    }
    r.per_class.resize(static_cast<std::size_t>(K));
    for (int k = 0; k < K; ++k) r.per_class[k].threshold = rec.thresholds[k];
    r.overall.threshold = kNaN;
  } else {
    if (rec.thresholds.size() != 1) {
      throw InvalidInput(where + " has " + std::to_string(rec.thresholds.size()) +
                         " thresholds; a single-threshold policy has exactly one.");
    }
    r.overall.threshold = rec.thresholds[0];
  }
  return r;
}

// Routes every row: routed[i] = 1 when auto-routed, label[i] = the label it is routed with.
void route(const ReviewPolicyRecord& rec, const MulticlassEvaluationInput& in,
           const Eigen::VectorXd& pred, std::vector<std::uint8_t>& routed,
           std::vector<double>& label, double confidence, ReviewQueueSection& s) {
  const Index n = in.P.rows();
  const int K = static_cast<int>(in.P.cols());
  label.assign(pred.data(), pred.data() + n);
  if (rec.kind == "threshold") {
    routed = route_items(thresholds_of(rec, K), in.P);
    return;
  }
  if (rec.kind != "conformal") {
    throw InvalidInput(std::string(kWhere) + ": review_policy has kind \"" + rec.kind +
                       "\"; the multiclass report measures \"threshold\" and \"conformal\" "
                       "policies (a triage band is for binary models: use evaluate).");
  }
  const std::vector<std::uint8_t> sets = rec.conformal.predict_sets(in.P);
  routed.assign(static_cast<std::size_t>(n), 0);
  Index covered = 0;
  for (Index i = 0; i < n; ++i) {
    int size = 0, only = -1;
    for (int k = 0; k < K; ++k) {
      if (sets[static_cast<std::size_t>(i * K + k)]) ++size, only = k;
    }
    covered += sets[static_cast<std::size_t>(i * K + static_cast<Index>(in.y[i]))];
    routed[i] = size == 1;
    if (size == 1) label[i] = only;
  }
  s.conformal_alpha = rec.conformal.alpha();
  const auto nd = static_cast<double>(n);
  s.set_coverage =
      with_interval(static_cast<double>(covered) / nd,
                    metrics::wilson_interval(static_cast<double>(covered), nd, confidence));
}

ReviewQueueSection review_of(const MulticlassEvaluationInput& in,
                             const MulticlassEvaluationParams& params,
                             const Eigen::VectorXd& pred) {
  ReviewQueueSection s;
  ReviewPolicyRecord rec;
  if (in.review_options) {
    const ReviewThresholds chosen = select_review_threshold(in.y, in.P, *in.review_options);
    rec = ReviewPolicyRecord::from(chosen);
    s.source = "selected";
    s.feasible = chosen.feasible;
    s.message = chosen.message;
  } else {
    rec = *in.review_policy;
    s.source = "given";
  }
  s.kind = rec.kind;
  s.policy = rec.policy;
  s.per_class = rec.kind == "threshold" && rec.per_class;
  if (rec.kind == "threshold") s.thresholds = rec.thresholds;
  std::vector<std::uint8_t> routed;
  std::vector<double> label;
  route(rec, in, pred, routed, label, params.confidence, s);
  const Index n = in.P.rows();
  const int K = static_cast<int>(in.P.cols());
  std::vector<ReviewQueueSection::ClassPoint> cls(static_cast<std::size_t>(s.per_class ? K : 0));
  for (Index i = 0; i < n; ++i) {
    const bool ok = routed[i] && label[i] == in.y[i];
    s.n_auto += routed[i];
    s.n_correct += ok;
    if (s.per_class) {
      auto& c = cls[static_cast<std::size_t>(pred[i])];
      ++c.n;
      c.n_auto += routed[i];
      c.n_correct += ok;
    }
  }
  s.n = n;
  fill_rates(n, s.n_auto, s.n_correct, params.confidence, s.accuracy, s.review_rate);
  if (s.n_auto == 0) s.undefined["accuracy"] = "no item is auto-routed";
  for (int k = 0; k < static_cast<int>(cls.size()); ++k) {
    auto& c = cls[static_cast<std::size_t>(k)];
    c.index = k;
    c.threshold = s.thresholds[static_cast<std::size_t>(k)];
    fill_rates(c.n, c.n_auto, c.n_correct, params.confidence, c.accuracy, c.review_rate);
  }
  s.classes = std::move(cls);
  return s;
}

// Keeps the first and last point and about `max_points` evenly by index.
RiskCoverageSection risk_coverage_of(const MulticlassEvaluationInput& in, int max_points) {
  const RiskCoverageCurve c = risk_coverage_curve(in.y, in.P);
  RiskCoverageSection s;
  s.aurc = c.aurc;
  const std::size_t n = c.coverage.size();
  const std::size_t step = std::max<std::size_t>(1, n / static_cast<std::size_t>(max_points));
  for (std::size_t i = 0; i < n; ++i) {
    if (i % step != 0 && i + 1 != n) continue;
    s.threshold.push_back(c.threshold[i]);
    s.coverage.push_back(c.coverage[i]);
    s.risk.push_back(c.risk[i]);
  }
  return s;
}

void add_notes(const MulticlassEvaluationParams& params, MulticlassEvaluation& r) {
  if (static_cast<int>(r.shown_classes.size()) < r.n_classes) {
    r.notes.push_back(
        std::to_string(r.n_classes) +
        " classes: the confusion matrix, the classwise "
        "reliability curves and the per-class table show the " +
        std::to_string(r.shown_classes.size()) +
        " most frequent (max_classes_shown = " + std::to_string(params.max_classes_shown) +
        "); the confusion matrix pools the others as \"(other classes)\" and the "
        "JSON per-class table lists every class.");
  }
  if (r.has_review && r.review.source == "selected") {
    r.notes.push_back(
        "The review threshold was chosen on the evaluated data itself (in-sample): its accuracy "
        "and review rate are optimistic; choose it on calibration data and pass it as the "
        "review policy to measure it here.");
  }
  if (params.n_bootstrap == 0)
    r.notes.push_back(
        "No bootstrap: F1, log loss, Brier, accuracy "
        "and ECE have no intervals.");
}

// A note naming the classes whose F1 interval left out replicates that lacked the class (and
// macro F1's count): those intervals are conditional on the class occurring.
void note_conditional_f1(const std::vector<metrics::BootstrapResult>& b, MulticlassEvaluation& r) {
  std::string classes;
  int listed = 0;
  for (std::size_t j = 1; j < b.size(); ++j) {
    if (b[j].n_invalid == 0 || r.per_class[j - 1].support == 0) continue;
    if (listed++ < 5) {
      classes += (classes.empty() ? "" : ", ") + r.class_names[j - 1] + " (" +
                 std::to_string(b[j].n_invalid) + ")";
    }
  }
  if (listed == 0) return;
  if (listed > 5) classes += " and " + std::to_string(listed - 5) + " more";
  r.notes.push_back(
      "Bootstrap replicates without a class leave its F1 undefined: they are left out "
      "of that class's F1 interval and of macro F1's (" +
      std::to_string(b[0].n_invalid) + " of " + std::to_string(r.n_bootstrap) +
      "), which are therefore conditional on the class occurring. Classes and "
      "replicates left out: " +
      classes + ".");
}

}  // namespace

MulticlassEvaluation evaluate_multiclass(const MulticlassEvaluationInput& in,
                                         const MulticlassEvaluationParams& params) {
  params.validate();
  check_input(in);
  if (in.review_options) in.review_options->validate();
  MulticlassEvaluation r;
  if (!in.title.empty()) r.title = in.title;
  r.rows = in.P.rows();
  r.n_classes = static_cast<int>(in.P.cols());
  r.confidence = params.confidence;
  r.n_bootstrap = params.n_bootstrap;
  r.max_classes_shown = params.max_classes_shown;
  r.provenance = in.provenance;
  for (int k = 0; k < r.n_classes; ++k) {
    r.class_names.push_back(in.class_names.empty() ? std::to_string(k)
                                                   : in.class_names[static_cast<std::size_t>(k)]);
  }
  r.class_counts.assign(static_cast<std::size_t>(r.n_classes), 0);
  for (Index i = 0; i < r.rows; ++i) ++r.class_counts[static_cast<std::size_t>(in.y[i])];
  r.shown_classes = shown_classes_of(r.class_counts, params.max_classes_shown);

  std::vector<double> class_ece;
  std::vector<metrics::BootstrapResult> f1_intervals;
  r.calibration_after = calibration_of(in.y, in.P, "calibrated", r.shown_classes, params,
                                       &class_ece, per_class_names(r.n_classes), &f1_intervals);
  if (in.P_uncalibrated.rows() > 0) {
    r.has_uncalibrated = true;
    r.calibration_before =
        calibration_of(in.y, in.P_uncalibrated, "uncalibrated", r.shown_classes, params, nullptr);
  }
  const Eigen::VectorXd pred = metrics::predicted_classes(in.P);
  add_per_class(in, params, pred, class_ece, f1_intervals, r);
  note_conditional_f1(f1_intervals, r);
  r.confusion = confusion_of(in.y, pred, r.shown_classes, r.n_classes);
  if (in.review_policy || in.review_options) {
    r.has_review = true;
    r.review = review_of(in, params, pred);
  }
  r.risk_coverage = risk_coverage_of(in, params.max_curve_points);
  add_notes(params, r);
  return r;
}

}  // namespace calibrisk
