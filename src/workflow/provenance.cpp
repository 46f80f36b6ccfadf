// SPDX-License-Identifier: Apache-2.0
// The last stage of train_pipeline: the Pipeline's schema, operating point and provenance (what
// data, split and settings produced the model), recorded in the model file.
#include "workflow/stages.hpp"

#include <calibrisk/metrics/multiclass.hpp>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/schema.hpp>
#include <calibrisk/io/date.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace calibrisk::detail {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

std::string time_text(double t, const Column* time) {
  if (time == nullptr) return std::to_string(static_cast<long long>(t) + 1);
  if (time->time_encoding == TimeEncoding::kDays) return format_iso_datetime(t);
  return format_double(t);
}

void add_op_figures(std::vector<std::pair<std::string, double>>& f, const OperatingPoint& op,
                    const std::string& prefix) {
  f.emplace_back(prefix + "precision", op.precision);
  f.emplace_back(prefix + "recall", op.recall);
  f.emplace_back(prefix + "specificity", op.specificity);
  f.emplace_back(prefix + "npv", op.npv);
  f.emplace_back(prefix + "alert_rate", op.alert_rate);
  f.emplace_back(prefix + "fbeta", op.fbeta);
  f.emplace_back(prefix + "expected_cost", op.expected_cost);
  f.emplace_back(prefix + "tp", op.tp);
  f.emplace_back(prefix + "fp", op.fp);
  f.emplace_back(prefix + "tn", op.tn);
  f.emplace_back(prefix + "fn", op.fn);
  f.emplace_back(prefix + "precision_ci_lower", op.precision_wilson.lower);
  f.emplace_back(prefix + "precision_ci_upper", op.precision_wilson.upper);
  f.emplace_back(prefix + "recall_ci_lower", op.recall_wilson.lower);
  f.emplace_back(prefix + "recall_ci_upper", op.recall_wilson.upper);
}

FeatureSchema make_schema(const Table& table, const TrainResult& out) {
  std::vector<Index> categorical_idx;
  for (std::size_t j = 0; j < out.features.size(); ++j) {
    if (table.column(out.features[j]).kind == ColumnKind::kCategorical) {
      categorical_idx.push_back(static_cast<Index>(j));
    }
  }
  SchemaOptions so;
  so.categorical = categorical_idx;
  FeatureSchema s = FeatureSchema::from_data(FeatureMatrix(view(out.train.X)), out.features, so);
  // Format 1.4: the declared categorical features carry their level tables (and hierarchies)
  // in the schema, so that scoring encodes labels exactly as training did.
  for (const Index j : categorical_idx) {
    const Column& c = table.column(out.features[static_cast<std::size_t>(j)]);
    FeatureInfo& f = s.features[static_cast<std::size_t>(j)];
    if (c.categories.empty()) continue;  // an entirely missing column has no levels
    f.labels = c.categories;
    f.hierarchy = c.hierarchy;
    f.pooled_labels = c.pooled_labels;
  }
  return s;
}

OperatingPointRecord make_operating_point(const TrainSpec& spec, const TrainResult& out) {
  OperatingPointRecord oprec;
  oprec.threshold = out.op_calibration.threshold;
  oprec.policy = policy_text(spec.policy);
  add_op_figures(oprec.figures, out.op_calibration, "");
  oprec.figures.emplace_back("n_rows", static_cast<double>(out.calibration.y.size()));
  add_op_figures(oprec.figures, out.op_test, "test.");
  oprec.figures.emplace_back("test.n_rows", static_cast<double>(out.test.y.size()));
  return oprec;
}

// model, calibration, policy and data.* entries.
void add_settings(Params& P, const Table& table, const TrainSpec& spec, const TrainResult& out) {
  const ColumnRoles& roles = spec.columns;
  const bool lr = spec.model == ModelKind::kLogisticRegression;
  P.emplace_back("model", model_kind_name(spec.model));
  // The parameters the model was fitted with: the declared categorical columns become the
  // model's categorical features (as in fit_stage).
  GBDTParams gbdt = spec.gbdt;
  LogisticRegressionParams lrp = spec.lr;
  if (gbdt.categorical_features.empty()) gbdt.categorical_features = out.categorical_features;
  if (lrp.categorical_features.empty()) lrp.categorical_features = out.categorical_features;
  for (auto& [name, text] : lr ? parameter_text(lrp) : parameter_text(gbdt)) {
    P.emplace_back("model." + name, text);
  }
  P.emplace_back("calibration", calibration_method_name(spec.calibration));
  P.emplace_back("policy", policy_text(spec.policy));
  P.emplace_back("data.source", spec.source);
  P.emplace_back("data.label", roles.label);
  P.emplace_back("data.group_column", roles.group);
  P.emplace_back("data.time_column", roles.time);
  if (!roles.time.empty()) {
    P.emplace_back(
        "data.time_encoding",
        table.column(roles.time).time_encoding == TimeEncoding::kDays ? "iso8601" : "number");
  }
  P.emplace_back("data.rows", std::to_string(table.rows()));
  nlohmann::json dropped = nlohmann::json::array();
  for (const auto& c : roles.drop) dropped.push_back(c);
  P.emplace_back("data.dropped", dropped.dump());
  // Feature columns read as categorical because they hold text (ColumnRoles::infer_categorical);
  // absent when there are none, as in files written before the rule.
  nlohmann::json inferred = nlohmann::json::array();
  for (const auto& f : out.features) {
    if (table.column(f).inferred) inferred.push_back(f);
  }
  if (!inferred.empty()) P.emplace_back("data.inferred_categorical", inferred.dump());
  // The labels of categorical features live in the schema (format 1.4); files before 1.4 kept
  // them here as "data.categories.<column>", which loading still reads.
  for (const auto& [col, h] : roles.code_hierarchy) {
    nlohmann::json lengths = h.prefix_lengths;
    P.emplace_back("data.code_hierarchy." + col, lengths.dump());
  }
  if (!roles.code_hierarchy.empty()) {
    P.emplace_back("data.hierarchy_min_count", std::to_string(roles.hierarchy_min_count));
  }
}

// split.* entries of a calendar split: the rule, the cuts, the patient rule and its counts.
void add_calendar(Params& P, const TimeGroupSplit& s, const Column* time) {
  const bool days = time != nullptr && time->time_encoding == TimeEncoding::kDays;
  const std::string c1 = time_key_text(s.cuts[0], days), c2 = time_key_text(s.cuts[1], days);
  const bool exclude = s.patients == CalendarPatients::kExclude;
  P.emplace_back("split.rule", "calendar: rows dated before " + c1 + " train, from " + c1 +
                                   " to before " + c2 + " calibration, from " + c2 + " test; " +
                                   (exclude ? "a patient stays in the first part they appear in "
                                              "(their later rows left out)"
                                            : "a patient seen earlier keeps only their later "
                                              "encounters in the later part"));
  P.emplace_back("split.cuts", c1 + "," + c2);
  P.emplace_back("split.calendar_patients", enum_to_text(s.patients));
  for (int p = 1; p < 3; ++p) {
    const std::string k = std::string("split.") + part_name(static_cast<SplitPart>(p)) + ".";
    P.emplace_back(k + "groups_seen_earlier", std::to_string(s.groups_seen_earlier[p]));
    P.emplace_back(k + "rows_left_out", std::to_string(s.rows_dropped[p]));
  }
}

// split.* entries: the fractions, the rule, and each part's rows, groups, window and prevalence.
void add_split(Params& P, const Table& table, const TrainSpec& spec, const TrainResult& out) {
  const ColumnRoles& roles = spec.columns;
  const Column* time = roles.time.empty() ? nullptr : &table.column(roles.time);
  if (out.split.rule == SplitRule::kCalendar) {
    add_calendar(P, out.split, time);
  } else {
    char frac[128];
    std::snprintf(frac, sizeof frac, "train=%.6g,calibration=%.6g,test=%.6g", spec.split.train,
                  spec.split.calibration, spec.split.test);
    P.emplace_back("split.fractions", frac);
    P.emplace_back("split.rule",
                   std::string("groups (") + (roles.group.empty() ? "rows" : roles.group) +
                       ") ordered by their first " + (time ? roles.time : "file position") +
                       ", taken in that order into train, calibration and test by cumulative "
                       "row count; no group in two parts");
  }
  for (int p = 0; p < 3; ++p) {
    const PartSummary& s = out.split.summary[p];
    const TrainPart& d = p == 0 ? out.train : (p == 1 ? out.calibration : out.test);
    const std::string k = std::string("split.") + part_name(static_cast<SplitPart>(p)) + ".";
    double pos = 0.0;
    for (double v : d.y) pos += v;
    P.emplace_back(k + "rows", std::to_string(s.rows));
    P.emplace_back(k + "groups", std::to_string(s.groups));
    P.emplace_back(k + "first", time_text(s.first_time, time));
    P.emplace_back(k + "last", time_text(s.last_time, time));
    P.emplace_back(k + "first_entry", time_text(s.entry_first, time));
    P.emplace_back(k + "last_entry", time_text(s.entry_last, time));
    if (out.n_classes > 2) {  // y holds class indices: their counts, in class order
      nlohmann::json counts = nlohmann::json::array();
      std::vector<Index> n(static_cast<std::size_t>(out.n_classes), 0);
      for (double v : d.y) ++n[static_cast<std::size_t>(v)];
      for (Index c : n) counts.push_back(c);
      P.emplace_back(k + "class_counts", counts.dump());
    } else {
      P.emplace_back(k + "prevalence", format_double(pos / static_cast<double>(d.y.size())));
    }
    if (p > 0) {
      P.emplace_back(k + "rows_before_previous_part_end",
                     std::to_string(out.split.rows_overlapping_earlier_part[p]));
    }
  }
}

}  // namespace

std::string part_window(const PartSummary& s, const Column* time) {
  if (time == nullptr) {
    return "rows " + std::to_string(static_cast<long long>(s.first_time) + 1) + "-" +
           std::to_string(static_cast<long long>(s.last_time) + 1) + " of the file";
  }
  if (time->time_encoding == TimeEncoding::kDays) {
    return format_iso_datetime(s.first_time) + " to " + format_iso_datetime(s.last_time);
  }
  return format_double(s.first_time) + " to " + format_double(s.last_time);
}

void assemble_pipeline(const Table& table, const TrainSpec& spec, PipelineModel model,
                       PipelineCalibrator calibrator, TrainResult& out) {
  FeatureSchema schema = make_schema(table, out);
  out.categories = feature_category_labels(table, out.features);
  OperatingPointRecord oprec = make_operating_point(spec, out);
  Provenance prov;
  prov.seed = spec.seed;
  prov.training_data =
      fingerprint_data(FeatureMatrix(view(out.train.X)), VectorView<const double>(out.train.y));
  add_settings(prov.parameters, table, spec, out);
  // A label of two text values: which one is the event (scoring new labelled files maps them).
  const Column& label = table.column(spec.columns.label);
  if (label.kind == ColumnKind::kCategorical) {
    const std::string event =
        binary_positive_label(label.categories, spec.columns.positive_label, label.name);
    for (const auto& l : label.categories) {
      prov.parameters.emplace_back(l == event ? "data.positive_label" : "data.negative_label", l);
    }
  }
  add_split(prov.parameters, table, spec, out);
  add_early_stopping(prov.parameters, spec, out);
  add_model_selection(prov.parameters, out);
  std::sort(prov.parameters.begin(), prov.parameters.end());
  out.pipeline.emplace(std::move(schema), std::move(model), std::move(calibrator), std::move(oprec),
                       std::move(prov));
  // Training and calibration-part distributions for `monitor` (format 1.3).
  out.pipeline = out.pipeline->with_reference(MonitoringReference::from_data(
      out.pipeline->schema(), FeatureMatrix(view(out.train.X)),
      std::vector<double>(out.calibration.p.data(),
                          out.calibration.p.data() + out.calibration.p.size()),
      out.pipeline->threshold()));
}

// ---- multiclass
// ----------------------------------------------------------------------------------

void assemble_multiclass_pipeline(const Table& table, const TrainSpec& spec, PipelineModel model,
                                  std::optional<MulticlassCalibrator> calibrator, TrainResult& out,
                                  CategoricalExpansion expansion) {
  PipelineParts parts;
  parts.schema = make_schema(table, out);
  out.categories = feature_category_labels(table, out.features);
  parts.operating_point.policy =
      spec.conformal_review ? spec.conformal_review->describe() : spec.review.describe();
  Provenance& prov = parts.provenance;
  prov.seed = spec.seed;
  prov.training_data =
      fingerprint_data(FeatureMatrix(view(out.train.X)), VectorView<const double>(out.train.y));
  prov.training_data.prevalence = std::numeric_limits<double>::quiet_NaN();  // K classes
  Params settings;
  add_settings(settings, table, spec, out);
  for (auto& [key, value] : settings) {
    if (key.rfind("model.", 0) == 0) continue;  // re-added below: the multinomial's own params
    if (key == "calibration") value = multiclass_calibration_name(spec.multiclass_calibration);
    if (key == "policy") {
      value = spec.conformal_review ? spec.conformal_review->describe() : spec.review.describe();
    }
    prov.parameters.emplace_back(key, value);
  }
  if (spec.model == ModelKind::kLogisticRegression) {
    for (auto& [name, text] : parameter_text(spec.lr))
      prov.parameters.emplace_back("model." + name, text);
  } else {
    for (auto& [name, text] : parameter_text(spec.gbdt))
      prov.parameters.emplace_back("model." + name, text);
    add_early_stopping(prov.parameters, spec, out);
  }
  prov.parameters.emplace_back("task", "multiclass");
  nlohmann::json classes = out.classes;
  prov.parameters.emplace_back("data.classes", classes.dump());
  add_split(prov.parameters, table, spec, out);
  std::sort(prov.parameters.begin(), prov.parameters.end());
  parts.model = std::move(model);
  parts.multiclass_calibrator = std::move(calibrator);
  parts.classes = out.classes;
  parts.expansion = std::move(expansion);
  out.pipeline.emplace(std::move(parts));
}

void finish_multiclass_record(const TrainSpec& spec, TrainResult& out) {
  PipelineParts parts = out.pipeline->parts();
  OperatingPointRecord& op = parts.operating_point;
  op.policy = spec.conformal_review ? spec.conformal_review->describe() : spec.review.describe();
  op.figures.clear();
  const auto add = [&](const std::string& prefix, const ReviewPoint& r) {
    op.figures.emplace_back(prefix + "accuracy", r.accuracy);
    op.figures.emplace_back(prefix + "review_rate", r.review_rate);
    op.figures.emplace_back(prefix + "n_auto", r.n_auto);
    op.figures.emplace_back(prefix + "n_correct", r.n_correct);
    op.figures.emplace_back(prefix + "n_rows", r.n_total);
  };
  const ReviewPoint& c = out.review_calibration.overall;
  op.figures.emplace_back("review_threshold", c.threshold);
  add("", c);
  op.figures.emplace_back("accuracy_ci_lower", c.accuracy_cp.lower);
  op.figures.emplace_back("accuracy_ci_upper", c.accuracy_cp.upper);
  op.figures.emplace_back("feasible", out.review_calibration.feasible ? 1.0 : 0.0);
  add("test.", out.review_test.overall);
  op.figures.emplace_back(
      "top_label_ece",
      metrics::top_label_ece(VectorView<const double>(out.calibration.y), view(out.calibration.P)));
  op.figures.emplace_back(
      "test.top_label_ece",
      metrics::top_label_ece(VectorView<const double>(out.test.y), view(out.test.P)));
  if (spec.conformal_review && parts.review) {
    // Conformal sets: the share of items whose set holds the true label and the mean set size.
    const ConformalSets& sets = parts.review->conformal;
    op.figures.emplace_back("conformal_quantile", sets.quantile());
    for (const auto* part : {&out.calibration, &out.test}) {
      const std::vector<std::uint8_t> m = sets.predict_sets(view(part->P));
      const auto k = static_cast<std::size_t>(part->P.cols());
      double covered = 0.0, size = 0.0;
      for (std::size_t i = 0; i < part->y.size(); ++i) {
        covered += m[i * k + static_cast<std::size_t>(part->y[i])];
        for (std::size_t c = 0; c < k; ++c) size += m[i * k + c];
      }
      const double n = static_cast<double>(part->y.size());
      const std::string prefix = part == &out.test ? "test." : "";
      op.figures.emplace_back(prefix + "set_coverage", covered / n);
      op.figures.emplace_back(prefix + "mean_set_size", size / n);
    }
  }
  // Training and calibration-part distributions for `monitor` (format 1.7 for K classes): the
  // features as for a binary model, the top-label confidence as the score, and the policy's
  // review rate on the calibration part in place of the alert rate.
  std::vector<double> confidence(static_cast<std::size_t>(out.calibration.P.rows()));
  for (Index i = 0; i < out.calibration.P.rows(); ++i) {
    confidence[static_cast<std::size_t>(i)] = out.calibration.P.row(i).maxCoeff();
  }
  parts.reference = MonitoringReference::from_data(parts.schema, FeatureMatrix(view(out.train.X)),
                                                   confidence, 2.0);
  parts.reference.score.alert_rate = out.review_calibration.overall.review_rate;
  out.pipeline.emplace(std::move(parts));
}

}  // namespace calibrisk::detail
