// SPDX-License-Identifier: Apache-2.0
// Multiclass labels in the CLI (see multiclass.hpp).
#include "cli/multiclass.hpp"

#include "cli/data.hpp"
#include "cli/errors.hpp"
#include "cli/monitor.hpp"
#include "cli/options.hpp"

#include <calibrisk/artifact/explanation.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/report/multiclass.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <set>

namespace calibrisk::cli {
namespace {

const char* kReviewForms =
    "min-accuracy=A, max-review-rate=R or both (min-accuracy=0.95,max-review-rate=0.3), "
    "optionally with confidence=C and per-class=true; or conformal=COVERAGE[,method=lac|aps] "
    "(e.g. conformal=0.9: auto-route items whose 90% prediction set holds one label)";

std::string canonical_key(std::string k) {
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) {
    return c == '_' ? '-' : static_cast<char>(std::tolower(c));
  });
  return k;
}

std::string fixed(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double accuracy(const std::vector<double>& y, const RowMatrixXd& P) {
  double hit = 0.0;
  for (Index i = 0; i < P.rows(); ++i) {
    Index best = 0;
    for (Index c = 1; c < P.cols(); ++c)
      if (P(i, c) > P(i, best)) best = c;
    hit += static_cast<double>(best) == y[static_cast<std::size_t>(i)] ? 1.0 : 0.0;
  }
  return P.rows() > 0 ? hit / static_cast<double>(P.rows()) : std::nan("");
}

bool is_multiclass_name(const std::string& c) {
  return c == "temperature" || c == "ovr-sigmoid" || c == "ovr-isotonic" || c == "dirichlet";
}

}  // namespace

bool is_review_policy(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> kv;
  try {
    kv = parse_key_values(text, "--policy");
  } catch (const UsageError&) {
    return false;
  }
  bool any = false;
  for (const auto& [key, value] : kv) {
    const std::string k = canonical_key(key);
    if (k == "conformal") return true;  // parse_conformal_policy checks the rest
    if (k == "min-accuracy" || k == "max-review-rate") any = true;
    if (k != "min-accuracy" && k != "max-review-rate" && k != "confidence" && k != "per-class") {
      return false;
    }
  }
  return any;
}

std::optional<TrainSpec::ConformalReview> parse_conformal_policy(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> kv;
  try {
    kv = parse_key_values(text, "--policy");
  } catch (const UsageError&) {
    return std::nullopt;
  }
  const bool conformal = std::any_of(
      kv.begin(), kv.end(), [](const auto& e) { return canonical_key(e.first) == "conformal"; });
  if (!conformal) return std::nullopt;
  TrainSpec::ConformalReview c;
  std::set<std::string> seen;
  for (const auto& [key, value] : kv) {
    const std::string k = canonical_key(key);
    if (!seen.insert(k).second) throw UsageError("--policy gives " + k + " twice.");
    if (k == "conformal") {
      c.coverage = parse_double(value, "--policy conformal");
      if (!(c.coverage > 0.0 && c.coverage < 1.0)) {
        throw UsageError(
            "--policy conformal is the coverage of the prediction sets, in (0, 1), "
            "got " +
            printable(value) + "; e.g. conformal=0.9.");
      }
    } else if (k == "method") {
      if (value == "lac") {
        c.method = ConformalMethod::kLac;
      } else if (value == "aps") {
        c.method = ConformalMethod::kAps;
      } else {
        throw UsageError("--policy method must be lac or aps, got " + printable(value) + ".");
      }
    } else {
      throw UsageError("--policy " + printable(key) +
                       " does not go with conformal=...; the conformal policy takes "
                       "conformal=COVERAGE and optionally method=lac|aps.");
    }
  }
  return c;
}

ReviewOptions parse_review_policy(const std::string& text) {
  if (!is_review_policy(text)) {
    throw UsageError("--policy " + quote_for_message(text) + " is not a review-queue policy; use " +
                     kReviewForms + ".");
  }
  ReviewOptions o;
  std::set<std::string> seen;
  for (const auto& [key, value] : parse_key_values(text, "--policy")) {
    const std::string k = canonical_key(key);
    if (!seen.insert(k).second) throw UsageError("--policy gives " + k + " twice.");
    if (k == "per-class") {
      o.per_class = parse_bool(value, "--policy per-class");
      continue;
    }
    const double v = parse_double(value, "--policy " + k);
    const bool ok = k == "confidence" ? (v > 0.0 && v < 1.0) : (v >= 0.0 && v <= 1.0);
    if (!ok) {
      throw UsageError("--policy " + k + " must be in " +
                       (k == "confidence" ? "(0, 1)" : "[0, 1]") + ", got " + printable(value) +
                       ".");
    }
    if (k == "min-accuracy") o.min_accuracy = v;
    if (k == "max-review-rate") o.max_review_rate = v;
    if (k == "confidence") o.confidence = v;
  }
  try {
    o.validate();
  } catch (const InvalidInput& e) {
    throw UsageError(std::string("--policy: ") + e.what());
  }
  return o;
}

Table read_training_table(const std::string& path, const TrainConfig& cfg,
                          const std::vector<std::string>& header, Progress& progress) {
  auto step = progress.step("reading " + printable(path));
  ColumnRoles roles = cfg.roles;
  Table table;
  try {
    table = read_table(path, training_read_options(roles, header));
  } catch (const InvalidInput&) {
    // A label of text values ("paid", "coding_error", ...; "yes"/"no") fails the numeric read:
    // read it as labels, and keep the first error unless that makes a label of the task: two
    // labels are binary (--positive says which is the event), more are multiclass.
    const std::exception_ptr first = std::current_exception();
    roles.label_as_text = true;
    try {
      table = read_table(path, training_read_options(roles, header));
    } catch (const InvalidInput&) {
      std::rethrow_exception(first);
    }
    const Column& label = table.column(roles.label);
    if (cfg.task == "binary" && label.categories.size() > 2) std::rethrow_exception(first);
  }
  step.done(format_count(table.rows()) + " rows, " + std::to_string(table.cols()) + " columns");
  return table;
}

void apply_task_flags(const Table& table, const TrainConfig& cfg, TrainSpec& spec) {
  TaskKind task{};
  std::string alias;
  if (!enum_from_text(cfg.task, task, alias)) {
    throw UsageError("--task must be auto, binary or multiclass, got " +
                     quote_for_message(cfg.task) + ".");
  }
  spec.task = task;
  const bool multiclass = multiclass_task(table, spec);
  const bool review = is_review_policy(cfg.policy_text);
  if (!multiclass) {
    if (is_multiclass_name(cfg.calibration)) {
      throw UsageError(
          "--calibration " + cfg.calibration + " calibrates multiclass labels, but label column " +
          quote_for_message(cfg.roles.label) + " is binary; use sigmoid, isotonic, beta or none.");
    }
    if (review) {
      throw UsageError("--policy " + quote_for_message(cfg.policy_text) +
                       " chooses a review queue for multiclass labels, but label column " +
                       quote_for_message(cfg.roles.label) +
                       " is binary; use min-recall=R, min-precision=P, max-alert-rate=A, "
                       "cost-fp=C,cost-fn=C or max-f=BETA.");
    }
    return;
  }
  if (cfg.calibration_given) {
    const auto m = multiclass_calibration_from_name(cfg.calibration);
    if (!m) {
      throw UsageError("--calibration " + cfg.calibration +
                       " is binary only; a multiclass label takes temperature, ovr-sigmoid, "
                       "ovr-isotonic, dirichlet or none (sigmoid and isotonic mean one-vs-rest).");
    }
    spec.multiclass_calibration = *m;
  }
  if (auto c = review ? parse_conformal_policy(cfg.policy_text) : std::nullopt) {
    spec.conformal_review = *c;
  } else if (review) {
    spec.review = parse_review_policy(cfg.policy_text);
  } else if (cfg.policy_given) {
    throw UsageError("--policy " + quote_for_message(cfg.policy_text) +
                     " is a binary threshold policy; a multiclass label takes a review-queue "
                     "policy: " +
                     kReviewForms + ".");
  }
}

void print_multiclass_summary(const TrainOptions& o, const TrainOutcome& r, std::ostream& out) {
  const Pipeline& pipe = *r.pipeline;
  out << "model " << o.model << " (multinomial, " << r.n_classes << " classes) + "
      << pipe.calibrator_type() << " calibration, policy " << r.review_calibration.policy << "\n";
  out << "split: train " << format_count(r.split.summary[0].rows) << " / calibration "
      << format_count(r.split.summary[1].rows) << " / test "
      << format_count(r.split.summary[2].rows) << " rows\n";
  const VectorView<const double> y(r.test.y);
  const double acc = accuracy(r.test.y, r.test.P);
  const double ll = metrics::multiclass_log_loss(y, view(r.test.P));
  out << "test: accuracy " << fixed(acc) << ", log loss " << fixed(ll) << "\n";
  const ReviewPoint& c = r.review_calibration.overall;
  const ReviewPoint& t = r.review_test.overall;
  const ReviewPolicyRecord* rp = pipe.review_policy();
  if (rp != nullptr && rp->kind == "conformal") {
    const OperatingPointRecord& op = pipe.operating_point();
    out << "review by conformal sets (" << rp->policy << ", quantile "
        << fixed(rp->conformal.quantile()) << "): set coverage "
        << fixed(op.figure("set_coverage"), 3) << " on calibration, "
        << fixed(op.figure("test.set_coverage"), 3)
        << " on test; auto-routed (one-label sets) accuracy " << fixed(c.accuracy, 3)
        << ", review rate " << fixed(c.review_rate, 3) << " on calibration, accuracy "
        << fixed(t.accuracy, 3) << ", review rate " << fixed(t.review_rate, 3) << " on test\n";
    out << "wrote " << o.out << "\n";
    return;
  }
  out << "review threshold " << fixed(c.threshold) << ": calibration part auto-routed accuracy "
      << fixed(c.accuracy, 3) << ", review rate " << fixed(c.review_rate, 3)
      << "; test part accuracy " << fixed(t.accuracy, 3) << ", review rate "
      << fixed(t.review_rate, 3) << "\n";
  out << "wrote " << o.out << "\n";
}

Index add_class_predictions(const Pipeline& pipe, const RowMatrixXd& X, Index explain,
                            const std::vector<std::string>& features, Table& result) {
  const Index n = X.rows();
  const int k = pipe.n_classes();
  const RowMatrixXd P = pipe.predict_proba_matrix(FeatureMatrix(view(X)));
  const std::vector<std::string> classes = pipe.class_labels();
  for (int c = 0; c < k; ++c) {
    std::vector<double> col(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) col[static_cast<std::size_t>(i)] = P(i, c);
    result.add_column(Column::numeric("p_" + classes[static_cast<std::size_t>(c)], col));
  }
  const std::vector<std::int32_t> label = pipe.predict_label(view(P));
  const std::vector<std::uint8_t> route = pipe.route(view(P));
  std::vector<double> lab(label.begin(), label.end()), rt(static_cast<std::size_t>(n));
  Index n_review = 0;
  for (std::size_t i = 0; i < route.size(); ++i) {
    rt[i] = route[i] ? 0.0 : 1.0;
    n_review += route[i] ? 0 : 1;
  }
  result.add_column(Column::categorical("label", lab, classes));
  result.add_column(Column::categorical("route", rt, {"auto", "review"}));
  if (explain <= 0) return n_review;
  // Contributions to the predicted class's softmax logit (model scale, before calibration).
  const Index p = X.cols(), top_k = std::min<Index>(explain, p);
  std::vector<std::vector<double>> names(static_cast<std::size_t>(top_k)),
      values(static_cast<std::size_t>(top_k));
  for (auto& v : names) v.resize(static_cast<std::size_t>(n));
  for (auto& v : values) v.resize(static_cast<std::size_t>(n));
  std::vector<double> baseline(static_cast<std::size_t>(n)), logit(static_cast<std::size_t>(n));
  std::vector<double> phi(static_cast<std::size_t>(p));
  std::vector<std::ptrdiff_t> top(static_cast<std::size_t>(top_k));
  for (Index i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    const double b = pipe.explain_class(X.row(i).data(), label[u], phi.data());
    top_contributions(phi.data(), p, top_k, top.data());
    for (Index r = 0; r < top_k; ++r) {
      const auto ur = static_cast<std::size_t>(r);
      names[ur][u] = static_cast<double>(top[ur]);
      values[ur][u] = phi[static_cast<std::size_t>(top[ur])];
    }
    baseline[u] = b;
    double s = b;
    for (double v : phi) s += v;
    logit[u] = s;
  }
  for (Index r = 0; r < top_k; ++r) {
    const std::string base = "top" + std::to_string(r + 1);
    const auto ur = static_cast<std::size_t>(r);
    result.add_column(Column::categorical(base + "_feature", names[ur], features));
    result.add_column(Column::numeric(base + "_contribution", values[ur]));
  }
  result.add_column(Column::categorical(
      "explain_scale", std::vector<double>(static_cast<std::size_t>(n), 0.0), {"class_logit"}));
  result.add_column(Column::numeric("explain_baseline", baseline));
  result.add_column(Column::numeric("explain_logit", logit));
  return n_review;
}

void write_multiclass_reports(const Pipeline& pipe, const std::vector<double>& y,
                              const RowMatrixXd& X, const RowMatrixXd& P, const std::string& title,
                              std::uint64_t seed, std::ostream* html, std::ostream* json,
                              Progress& progress) {
  if (html == nullptr && json == nullptr) return;
  auto step = progress.step("evaluating " + format_count(static_cast<Index>(y.size())) + " rows (" +
                            std::to_string(pipe.n_classes()) + " classes)");
  RowMatrixXd P_model;
  if (pipe.parts().multiclass_calibrator) {
    // The model's own probabilities: the softmax of its K raw scores (max-shifted).
    P_model.resize(X.rows(), pipe.n_classes());
    pipe.decision_matrix(FeatureMatrix(view(X)), view_mut(P_model));
    for (Index i = 0; i < P_model.rows(); ++i) {
      const double m = P_model.row(i).maxCoeff();
      P_model.row(i) = (P_model.row(i).array() - m).exp().matrix();
      P_model.row(i) /= P_model.row(i).sum();
    }
  }
  MulticlassEvaluationInput in;
  in.y = VectorView<const double>(y);
  in.P = view(P);
  if (P_model.size() > 0) in.P_uncalibrated = view(P_model);
  in.class_names = pipe.class_labels();
  if (const ReviewPolicyRecord* r = pipe.review_policy()) in.review_policy = *r;
  in.provenance = pipe.provenance().parameters;
  in.title = title;
  MulticlassEvaluationParams params;
  params.random_state = seed;
  const MulticlassEvaluation report = calibrisk::evaluate_multiclass(in, params);
  if (html != nullptr) *html << multiclass_report_to_html(report);
  if (json != nullptr) *json << multiclass_report_to_json(report);
  step.done();
}

std::vector<double> class_indices(const Table& table, const std::string& label,
                                  const Pipeline& pipe) {
  const std::vector<std::string> classes = pipe.class_labels();
  std::map<std::string, double> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<double>(c);
  const Column& lab = table.column(label);
  std::vector<double> y(lab.values.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double v = lab.values[i];
    if (std::isnan(v)) {
      throw InvalidInput("label column " + quote_for_message(label) + " is missing at data row " +
                         std::to_string(i + 1) + "; every row needs a label.");
    }
    const std::string& name = lab.categories[static_cast<std::size_t>(v)];
    const auto it = index.find(name);
    if (it == index.end()) {
      throw InvalidInput("label column " + quote_for_message(label) + " has class " +
                         quote_for_message(name) + " at data row " + std::to_string(i + 1) +
                         ", which the model never saw in training (its classes: " +
                         list_for_message(classes) + "); drop those rows or retrain with them.");
    }
    y[i] = it->second;
  }
  return y;
}

int evaluate_multiclass(const Pipeline& pipe, const EvaluateOptions& o, Progress& progress,
                        std::ostream& out, OutputSet& outputs, std::ostream& html,
                        std::ostream* json) {
  CsvReadOptions ro = model_read_options(pipe, o.data, o.label);
  ro.categorical.push_back(o.label);  // labels as text, matched with the model's classes
  Table table;
  {
    auto step = progress.step("reading " + printable(o.data));
    table = read_table(o.data, ro);
    step.done(format_count(table.rows()) + " rows");
  }
  const std::vector<double> y = class_indices(table, o.label, pipe);
  std::vector<std::string> features;
  for (const FeatureInfo& f : pipe.schema().features) features.push_back(f.name);
  const RowMatrixXd X = table.to_matrix(features);
  RowMatrixXd P;
  {
    auto step = progress.step("scoring " + format_count(X.rows()) + " rows");
    P = pipe.predict_proba_matrix(FeatureMatrix(view(X)));
    step.done();
  }
  const std::vector<std::uint8_t> route = pipe.route(view(P));
  const std::vector<std::int32_t> label = pipe.predict_label(view(P));
  double n_auto = 0.0, n_right = 0.0;
  for (std::size_t i = 0; i < route.size(); ++i) {
    if (!route[i]) continue;
    n_auto += 1.0;
    n_right += static_cast<double>(label[i]) == y[i] ? 1.0 : 0.0;
  }
  const double n = static_cast<double>(y.size());
  out << "evaluated " << format_count(X.rows()) << " rows: accuracy " << fixed(accuracy(y, P))
      << ", log loss " << fixed(metrics::multiclass_log_loss(VectorView<const double>(y), view(P)))
      << "\n";
  out << "review queue (" << (pipe.review_policy() ? pipe.review_policy()->policy : "none")
      << "): auto-routed accuracy " << fixed(n_auto > 0 ? n_right / n_auto : std::nan(""), 3)
      << ", review rate " << fixed(n > 0 ? 1.0 - n_auto / n : std::nan(""), 3) << "\n";
  write_multiclass_reports(pipe, y, X, P,
                           "evaluation of " + printable(o.model) + " on " + printable(o.data),
                           pipe.provenance().seed, &html, json, progress);
  outputs.commit();
  return kExitOk;
}

}  // namespace calibrisk::cli
