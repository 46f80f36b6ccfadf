// SPDX-License-Identifier: Apache-2.0
// Multiclass metrics (declared in metrics/multiclass.hpp).
#include <calibrisk/metrics/multiclass.hpp>

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/probabilistic.hpp>

#include "metrics/resampler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace calibrisk::metrics {
namespace {

using calibrisk::detail::fmt_value;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Checks (y, P, w): P (n, K) with K in [2, kMaxClasses], entries in [0, 1], rows summing to 1;
// y class indices 0..K-1 (a class may be absent); weights finite and >= 0.
int check_inputs(VectorView<const double> y, MatrixView<const double> P, VectorView<const double> w,
                 const std::string& where) {
  const int k = static_cast<int>(P.cols());
  if (k < 2 || k > kMaxClasses) {
    throw InvalidInput(where + ": the probabilities have " + std::to_string(k) +
                       " columns; pass an (n, K) matrix with one column per class, 2 <= K <= " +
                       std::to_string(kMaxClasses) + ".");
  }
  if (P.rows() == 0) throw InvalidInput(where + ": there are 0 rows; pass at least one.");
  validate_class_labels(y, k, P.rows(), where, false);
  validate_sample_weight(w, P.rows(), where);
  for (Index i = 0; i < P.rows(); ++i) {
    double s = 0.0;
    for (int j = 0; j < k; ++j) {
      const double v = P(i, j);
      if (!(v >= 0.0 && v <= 1.0)) {
        throw InvalidInput(where + ": P[" + std::to_string(i) + ", " + std::to_string(j) + "] is " +
                           fmt_value(v) +
                           "; probabilities must lie in [0, 1] (NaN is not allowed).");
      }
      s += v;
    }
    if (!(std::abs(s - 1.0) <= 1e-5)) {
      throw InvalidInput(where + ": row " + std::to_string(i) + " of P sums to " + fmt_value(s) +
                         ", not 1; pass predict_proba output (rows summing to 1).");
    }
  }
  return k;
}

double weight_of(VectorView<const double> w, Index i) { return w.empty() ? 1.0 : w[i]; }

// Weighted mean of f(i); NaN when the total weight is 0 (a bootstrap replicate).
template <class F>
double mean_of(Index n, VectorView<const double> w, F f) {
  double num = 0.0, den = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double wi = weight_of(w, i);
    if (wi == 0.0) continue;
    num += wi * f(i);
    den += wi;
  }
  return den > 0.0 ? num / den : kNaN;
}

double log_loss_of(VectorView<const double> y, MatrixView<const double> P,
                   VectorView<const double> w) {
  return mean_of(P.rows(), w, [&](Index i) {
    const double p =
        std::min(std::max(P(i, static_cast<Index>(y[i])), kLogLossEps), 1.0 - kLogLossEps);
    return -std::log(p);
  });
}

double brier_of(VectorView<const double> y, MatrixView<const double> P,
                VectorView<const double> w) {
  const double b = mean_of(P.rows(), w, [&](Index i) {
    double s = 0.0;
    for (Index j = 0; j < P.cols(); ++j) {
      const double d = P(i, j) - (y[i] == static_cast<double>(j) ? 1.0 : 0.0);
      s += d * d;
    }
    return s;
  });
  return P.cols() == 2 ? 0.5 * b : b;  // scikit-learn's scale_by_half="auto"
}

Index argmax_row(MatrixView<const double> P, Index i) {
  Index best = 0;
  for (Index j = 1; j < P.cols(); ++j)
    if (P(i, j) > P(i, best)) best = j;
  return best;
}

// Binary ECE of (indicator, probability) vectors, NaN when the total weight is 0.
double binary_ece(const std::vector<double>& t, VectorView<const double> p,
                  VectorView<const double> w, const CalibrationBinning& b) {
  if (!w.empty()) {
    double total = 0.0;
    for (Index i = 0; i < w.size(); ++i) total += w[i];
    if (!(total > 0.0)) return kNaN;
  }
  return expected_calibration_error(VectorView<const double>(t), p, w, b);
}

double top_label_of(VectorView<const double> y, MatrixView<const double> P,
                    VectorView<const double> w, const CalibrationBinning& b) {
  std::vector<double> t(static_cast<std::size_t>(P.rows())), c(t.size());
  for (Index i = 0; i < P.rows(); ++i) {
    const Index j = argmax_row(P, i);
    c[static_cast<std::size_t>(i)] = P(i, j);
    t[static_cast<std::size_t>(i)] = y[i] == static_cast<double>(j) ? 1.0 : 0.0;
  }
  return binary_ece(t, VectorView<const double>(c), w, b);
}

double classwise_of(VectorView<const double> y, MatrixView<const double> P,
                    VectorView<const double> w, const CalibrationBinning& b) {
  std::vector<double> t(static_cast<std::size_t>(P.rows()));
  double sum = 0.0;
  for (Index k = 0; k < P.cols(); ++k) {
    for (Index i = 0; i < P.rows(); ++i) {
      t[static_cast<std::size_t>(i)] = y[i] == static_cast<double>(k) ? 1.0 : 0.0;
    }
    sum += binary_ece(t, VectorView<const double>(P.col_ptr(k), P.rows(), P.row_stride()), w, b);
  }
  return sum / static_cast<double>(P.cols());
}

// tp, fp, fn per class (weighted) and the Kish effective sizes of tp + fp and tp + fn.
struct ClassCountsW {
  std::vector<double> tp, fp, fn, pred_w2, true_w2;
};

ClassCountsW class_counts(VectorView<const double> y, VectorView<const double> yp, int k,
                          VectorView<const double> w) {
  ClassCountsW c;
  for (auto* v : {&c.tp, &c.fp, &c.fn, &c.pred_w2, &c.true_w2}) {
    v->assign(static_cast<std::size_t>(k), 0.0);
  }
  for (Index i = 0; i < y.size(); ++i) {
    const double wi = weight_of(w, i);
    const auto t = static_cast<std::size_t>(y[i]), p = static_cast<std::size_t>(yp[i]);
    if (t == p) {
      c.tp[t] += wi;
    } else {
      c.fn[t] += wi;
      c.fp[p] += wi;
    }
    c.pred_w2[p] += wi * wi;
    c.true_w2[t] += wi * wi;
  }
  return c;
}

double ratio_or_zero(double a, double b) { return b > 0.0 ? a / b : 0.0; }

}  // namespace

double multiclass_log_loss(VectorView<const double> y, MatrixView<const double> P,
                           VectorView<const double> sample_weight) {
  check_inputs(y, P, sample_weight, "multiclass_log_loss");
  return log_loss_of(y, P, sample_weight);
}

double multiclass_brier_score(VectorView<const double> y, MatrixView<const double> P,
                              VectorView<const double> sample_weight) {
  check_inputs(y, P, sample_weight, "multiclass_brier_score");
  return brier_of(y, P, sample_weight);
}

double top_label_ece(VectorView<const double> y, MatrixView<const double> P,
                     VectorView<const double> sample_weight, const CalibrationBinning& binning) {
  binning.validate();
  check_inputs(y, P, sample_weight, "top_label_ece");
  return top_label_of(y, P, sample_weight, binning);
}

double classwise_ece(VectorView<const double> y, MatrixView<const double> P,
                     VectorView<const double> sample_weight, const CalibrationBinning& binning) {
  binning.validate();
  check_inputs(y, P, sample_weight, "classwise_ece");
  return classwise_of(y, P, sample_weight, binning);
}

std::vector<ReliabilityCurve> classwise_reliability_curves(VectorView<const double> y,
                                                           MatrixView<const double> P,
                                                           VectorView<const double> sample_weight,
                                                           const CalibrationBinning& binning,
                                                           double confidence) {
  binning.validate();
  detail::check_confidence(confidence, "classwise_reliability_curves");
  check_inputs(y, P, sample_weight, "classwise_reliability_curves");
  std::vector<ReliabilityCurve> out;
  std::vector<double> t(static_cast<std::size_t>(P.rows()));
  for (Index k = 0; k < P.cols(); ++k) {
    for (Index i = 0; i < P.rows(); ++i) {
      t[static_cast<std::size_t>(i)] = y[i] == static_cast<double>(k) ? 1.0 : 0.0;
    }
    out.push_back(
        reliability_curve(VectorView<const double>(t),
                          VectorView<const double>(P.col_ptr(k), P.rows(), P.row_stride()),
                          sample_weight, binning, confidence));
  }
  return out;
}

Eigen::VectorXd predicted_classes(MatrixView<const double> P) {
  Eigen::VectorXd out(P.rows());
  for (Index i = 0; i < P.rows(); ++i) out[i] = static_cast<double>(argmax_row(P, i));
  return out;
}

Eigen::MatrixXd confusion_matrix(VectorView<const double> y_true, VectorView<const double> y_pred,
                                 int n_classes, VectorView<const double> sample_weight) {
  const std::string where = "confusion_matrix";
  validate_class_labels(y_true, n_classes, y_true.size(), where + " (y_true)", false);
  validate_class_labels(y_pred, n_classes, y_true.size(), where + " (y_pred)", false);
  validate_sample_weight(sample_weight, y_true.size(), where);
  Eigen::MatrixXd c = Eigen::MatrixXd::Zero(n_classes, n_classes);
  for (Index i = 0; i < y_true.size(); ++i) {
    c(static_cast<Index>(y_true[i]), static_cast<Index>(y_pred[i])) += weight_of(sample_weight, i);
  }
  return c;
}

std::vector<ClassScores> per_class_scores(VectorView<const double> y_true,
                                          VectorView<const double> y_pred, int n_classes,
                                          VectorView<const double> sample_weight,
                                          double confidence) {
  const std::string where = "per_class_scores";
  detail::check_confidence(confidence, where);
  validate_class_labels(y_true, n_classes, y_true.size(), where + " (y_true)", false);
  validate_class_labels(y_pred, n_classes, y_true.size(), where + " (y_pred)", false);
  validate_sample_weight(sample_weight, y_true.size(), where);
  const ClassCountsW c = class_counts(y_true, y_pred, n_classes, sample_weight);
  std::vector<ClassScores> out(static_cast<std::size_t>(n_classes));
  for (std::size_t k = 0; k < out.size(); ++k) {
    ClassScores& s = out[k];
    const double pred = c.tp[k] + c.fp[k], truth = c.tp[k] + c.fn[k];
    s.precision = ratio_or_zero(c.tp[k], pred);
    s.recall = ratio_or_zero(c.tp[k], truth);
    s.f1 = ratio_or_zero(2.0 * c.tp[k], 2.0 * c.tp[k] + c.fp[k] + c.fn[k]);
    s.support = truth;
    // With weights the interval uses Kish's effective sample size of the denominator's rows.
    const double n_pred = effective_sample_size(pred, c.pred_w2[k]);
    const double n_true = effective_sample_size(truth, c.true_w2[k]);
    s.precision_ci = wilson_interval(std::min(s.precision * n_pred, n_pred), n_pred, confidence);
    s.recall_ci = wilson_interval(std::min(s.recall * n_true, n_true), n_true, confidence);
  }
  return out;
}

const std::vector<std::string>& multiclass_bootstrap_metrics() {
  static const std::vector<std::string> names = {
      "log_loss", "brier_score",   "top_label_ece", "classwise_ece", "accuracy",   "macro_f1",
      "f1_<k>",   "precision_<k>", "recall_<k>",    "auto_accuracy", "review_rate"};
  return names;
}

namespace {

// One metric of the bootstrap: its kind and, for per-class scores, the class.
struct McMetric {
  enum Kind {
    kLogLoss,
    kBrier,
    kTop,
    kClasswise,
    kAccuracy,
    kMacroF1,
    kF1,
    kPrecision,
    kRecall,
    kAutoAccuracy,
    kReviewRate
  };
  Kind kind = kLogLoss;
  int cls = 0;
};

McMetric parse_metric(const std::string& name, int k) {
  static const std::pair<const char*, McMetric::Kind> plain[] = {
      {"log_loss", McMetric::kLogLoss},           {"brier_score", McMetric::kBrier},
      {"top_label_ece", McMetric::kTop},          {"classwise_ece", McMetric::kClasswise},
      {"accuracy", McMetric::kAccuracy},          {"macro_f1", McMetric::kMacroF1},
      {"auto_accuracy", McMetric::kAutoAccuracy}, {"review_rate", McMetric::kReviewRate}};
  for (const auto& [n, kind] : plain) {
    if (name == n) return McMetric{kind, 0};
  }
  static const std::pair<const char*, McMetric::Kind> per_class[] = {
      {"f1_", McMetric::kF1}, {"precision_", McMetric::kPrecision}, {"recall_", McMetric::kRecall}};
  for (const auto& [prefix, kind] : per_class) {
    const std::string p(prefix);
    if (name.size() > p.size() && name.compare(0, p.size(), p) == 0) {
      const std::string rest = name.substr(p.size());
      if (rest.find_first_not_of("0123456789") == std::string::npos && rest.size() <= 6) {
        const int c = std::stoi(rest);
        if (c < k) return McMetric{kind, c};
      }
    }
  }
  std::string known;
  for (const std::string& n : multiclass_bootstrap_metrics())
    known += (known.empty() ? "" : ", ") + n;
  throw InvalidParams("multiclass_bootstrap: unknown metric \"" + name + "\"; use one of " + known +
                      " (k a class index below " + std::to_string(k) + ").");
}

// Accuracy of the auto-routed rows (routed[i] = 1) and the weight share of the others.
double auto_accuracy_of(VectorView<const double> y, const Eigen::VectorXd& yp,
                        VectorView<const double> routed, VectorView<const double> w) {
  double num = 0.0, den = 0.0;
  for (Index i = 0; i < y.size(); ++i) {
    const double wi = weight_of(w, i) * routed[i];
    num += wi * (y[i] == yp[i] ? 1.0 : 0.0);
    den += wi;
  }
  return den > 0.0 ? num / den : kNaN;
}

std::vector<double> evaluate(const std::vector<McMetric>& ms, VectorView<const double> y,
                             MatrixView<const double> P, const Eigen::VectorXd& yp,
                             VectorView<const double> w, const CalibrationBinning& b,
                             VectorView<const double> routed,
                             const std::vector<char>* present = nullptr) {
  std::vector<double> v;
  v.reserve(ms.size());
  ClassCountsW c;
  bool have_counts = false;
  auto counts = [&]() -> const ClassCountsW& {
    if (!have_counts)
      c = class_counts(y, VectorView<const double>(yp), static_cast<int>(P.cols()), w);
    have_counts = true;
    return c;
  };
  double total = 0.0;
  for (Index i = 0; i < y.size(); ++i) total += weight_of(w, i);
  // A replicate without a class the data has: that class's F1 (and macro F1) is undefined there.
  auto lacks = [&](std::size_t j) {
    return present && (*present)[j] && !(counts().tp[j] + counts().fn[j] > 0.0);
  };
  for (const McMetric& m : ms) {
    if (!(total > 0.0)) {
      v.push_back(kNaN);
      continue;
    }
    const auto k = static_cast<std::size_t>(m.cls);
    switch (m.kind) {
      case McMetric::kLogLoss:
        v.push_back(log_loss_of(y, P, w));
        break;
      case McMetric::kBrier:
        v.push_back(brier_of(y, P, w));
        break;
      case McMetric::kTop:
        v.push_back(top_label_of(y, P, w, b));
        break;
      case McMetric::kClasswise:
        v.push_back(classwise_of(y, P, w, b));
        break;
      case McMetric::kAccuracy:
        v.push_back(mean_of(y.size(), w, [&](Index i) { return y[i] == yp[i] ? 1.0 : 0.0; }));
        break;
      case McMetric::kAutoAccuracy:
        v.push_back(auto_accuracy_of(y, yp, routed, w));
        break;
      case McMetric::kReviewRate:
        v.push_back(mean_of(y.size(), w, [&](Index i) { return 1.0 - routed[i]; }));
        break;
      case McMetric::kMacroF1: {
        const ClassCountsW& cc = counts();
        double s = 0.0;
        bool undefined = false;
        for (std::size_t j = 0; j < cc.tp.size(); ++j) {
          s += ratio_or_zero(2.0 * cc.tp[j], 2.0 * cc.tp[j] + cc.fp[j] + cc.fn[j]);
          undefined = undefined || lacks(j);
        }
        v.push_back(undefined ? kNaN : s / static_cast<double>(cc.tp.size()));
        break;
      }
      case McMetric::kF1: {
        const ClassCountsW& cc = counts();
        const double d = 2.0 * cc.tp[k] + cc.fp[k] + cc.fn[k];
        v.push_back(d > 0.0 && !lacks(k) ? 2.0 * cc.tp[k] / d : kNaN);
        break;
      }
      case McMetric::kPrecision: {
        const ClassCountsW& cc = counts();
        const double d = cc.tp[k] + cc.fp[k];
        v.push_back(d > 0.0 ? cc.tp[k] / d : kNaN);
        break;
      }
      case McMetric::kRecall: {
        const ClassCountsW& cc = counts();
        const double d = cc.tp[k] + cc.fn[k];
        v.push_back(d > 0.0 ? cc.tp[k] / d : kNaN);
        break;
      }
    }
  }
  return v;
}

double sorted_percentile(const std::vector<double>& v, double q) {
  const double h = q * static_cast<double>(v.size() - 1);
  const double lo = std::floor(h);
  const std::size_t i = static_cast<std::size_t>(lo);
  const std::size_t j = std::min(i + 1, v.size() - 1);
  return detail::numpy_lerp(v[i], v[j], h - lo);
}

void summarise(BootstrapResult& res, double confidence) {
  std::vector<double> v;
  for (double x : res.replicates)
    if (std::isfinite(x)) v.push_back(x);
  res.n_invalid = static_cast<Index>(res.replicates.size() - v.size());
  if (v.empty()) {
    res.lower = res.upper = res.std_error = kNaN;
    return;
  }
  std::sort(v.begin(), v.end());
  const double alpha = 1.0 - confidence;
  res.lower = sorted_percentile(v, alpha / 2.0);
  res.upper = sorted_percentile(v, 1.0 - alpha / 2.0);
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0.0;
  for (double x : v) ss += (x - mean) * (x - mean);
  res.std_error = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
}

}  // namespace

namespace {

// Checks `routed` (empty, or one 0/1 value per row) against the requested names.
void check_routed(const std::vector<McMetric>& ms, VectorView<const double> routed, Index n) {
  bool needed = false;
  for (const McMetric& m : ms)
    needed = needed || m.kind == McMetric::kAutoAccuracy || m.kind == McMetric::kReviewRate;
  if (needed && routed.empty()) {
    throw InvalidInput(
        "multiclass_bootstrap: auto_accuracy and review_rate need `routed` (1 = auto-routed, "
        "0 = review, one value per row); pass the review queue's routing.");
  }
  if (routed.empty()) return;
  if (routed.size() != n) {
    throw InvalidInput("multiclass_bootstrap: routed has " + std::to_string(routed.size()) +
                       " values but y has " + std::to_string(n) + "; pass one value per row.");
  }
  for (Index i = 0; i < n; ++i) {
    if (routed[i] != 0.0 && routed[i] != 1.0) {
      throw InvalidInput("multiclass_bootstrap: routed[" + std::to_string(i) + "] is " +
                         fmt_value(routed[i]) + "; use 1 (auto-routed) or 0 (review).");
    }
  }
}

// Strata of rows: the classes; a group's stratum is its most frequent class (ties: the lowest
// index), so singleton groups draw exactly as ungrouped rows.
detail::Resampler class_resampler(VectorView<const double> y, int k, bool stratified,
                                  VectorView<const std::int64_t> groups) {
  const Index n = y.size();
  auto row_stratum = [&y](Index i) { return static_cast<int>(y[i]); };
  std::vector<std::size_t> count(static_cast<std::size_t>(k));
  auto modal_class = [&](const std::uint32_t* rows, std::size_t m) {
    std::fill(count.begin(), count.end(), 0);
    for (std::size_t j = 0; j < m; ++j) ++count[static_cast<std::size_t>(y[rows[j]])];
    return static_cast<int>(std::max_element(count.begin(), count.end()) - count.begin());
  };
  if (groups.empty())
    return detail::make_resampler(n, k, stratified, nullptr, row_stratum, modal_class);
  const std::vector<std::int64_t> keys = detail::group_keys(groups, n, "multiclass_bootstrap");
  return detail::make_resampler(n, k, stratified, &keys, row_stratum, modal_class);
}

}  // namespace

std::vector<BootstrapResult> multiclass_bootstrap(
    VectorView<const double> y, MatrixView<const double> P, const std::vector<std::string>& names,
    const BootstrapParams& params, VectorView<const double> sample_weight,
    VectorView<const std::int64_t> groups, VectorView<const double> routed) {
  params.validate();
  const int k = check_inputs(y, P, sample_weight, "multiclass_bootstrap");
  std::vector<McMetric> ms;
  for (const std::string& n : names) ms.push_back(parse_metric(n, k));
  const Index n = P.rows();
  check_routed(ms, routed, n);
  const Eigen::VectorXd yp = predicted_classes(P);
  const detail::Resampler rs = class_resampler(y, k, params.stratified, groups);
  std::vector<BootstrapResult> out(names.size());
  const std::vector<double> point = evaluate(ms, y, P, yp, sample_weight, params.binning, routed);
  // The classes of the data (positive weight): replicates without one leave its F1 undefined.
  std::vector<char> present(static_cast<std::size_t>(k), 0);
  for (Index i = 0; i < n; ++i)
    if (weight_of(sample_weight, i) > 0.0) present[static_cast<std::size_t>(y[i])] = 1;
  for (std::size_t j = 0; j < out.size(); ++j) {
    out[j].metric = names[j];
    out[j].point = point[j];
    out[j].replicates.assign(static_cast<std::size_t>(params.n_replicates), kNaN);
  }
  calibrisk::detail::parallel_for_dynamic(0, params.n_replicates, params.n_threads, [&](Index r) {
    Rng rng(params.random_state, static_cast<std::uint64_t>(r));
    std::vector<double> w(static_cast<std::size_t>(n), 0.0);
    rs.draw(rng, w);
    if (!sample_weight.empty()) {
      for (Index i = 0; i < n; ++i) w[static_cast<std::size_t>(i)] *= sample_weight[i];
    }
    const std::vector<double> v =
        evaluate(ms, y, P, yp, VectorView<const double>(w), params.binning, routed, &present);
    for (std::size_t j = 0; j < v.size(); ++j)
      out[j].replicates[static_cast<std::size_t>(r)] = v[j];
  });
  for (BootstrapResult& res : out) summarise(res, params.confidence);
  return out;
}

}  // namespace calibrisk::metrics
