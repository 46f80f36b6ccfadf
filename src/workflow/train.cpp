// SPDX-License-Identifier: Apache-2.0
// train_pipeline: split -> fit -> calibrate -> threshold -> test scores -> Pipeline (see
// train.hpp). Each stage is one function below; the provenance is in provenance.cpp.
#include <calibrisk/workflow/train.hpp>

#include "workflow/stages.hpp"

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

namespace calibrisk {
namespace {

using detail::Stages;

// 12345 -> "12,345" (the CLI's progress format).
std::string count_text(long long n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

std::string split_text(const SplitFractions& f) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "train=%g,calibration=%g,test=%g", f.train, f.calibration, f.test);
  return buf;
}

// The fewest rows for which every part of `f` gets kMinPartRows rows.
Index min_rows_for(const SplitFractions& f) {
  const double smallest = std::min({f.train, f.calibration, f.test});
  return static_cast<Index>(std::ceil(static_cast<double>(kMinPartRows) / smallest - 1e-9));
}

// Before splitting: enough rows for the fractions at all.
void require_enough_rows(Index n, const SplitFractions& f) {
  const Index need = min_rows_for(f);
  if (n >= need) return;
  throw InvalidInput("the file has " + std::to_string(n) + " data rows, too few for --split " +
                     split_text(f) + ": every part needs at least " + std::to_string(kMinPartRows) +
                     " rows, so the minimum is " + std::to_string(need) +
                     " rows; use more data or larger fractions for the small parts.");
}

// After splitting (whole patients move between parts): every part still has enough rows.
void require_part_rows(const TimeGroupSplit& s, Index n, const SplitFractions& f) {
  for (int p = 0; p < 3; ++p) {
    const Index rows = s.summary[p].rows;
    if (rows >= kMinPartRows) continue;
    throw InvalidInput(std::string("the ") + part_name(static_cast<SplitPart>(p)) + " part has " +
                       std::to_string(rows) + " of the " + std::to_string(n) +
                       " rows (whole patients stay in one part); every part needs at least " +
                       std::to_string(kMinPartRows) + " rows (at least " +
                       std::to_string(min_rows_for(f)) + " rows in all for --split " +
                       split_text(f) +
                       "): use more data, more patients, or a larger fraction for this part.");
  }
}

void require_both_classes(const TrainPart& d, SplitPart p, const TimeGroupSplit& s,
                          const Column* time) {
  const bool calendar = s.rule == SplitRule::kCalendar;
  Index n1 = 0;
  for (double v : d.y) n1 += v == 1.0;
  const Index n = static_cast<Index>(d.y.size());
  if (n1 == 0 || n1 == n) {
    throw InvalidInput(std::string("the ") + part_name(p) + " part (" + std::to_string(n) +
                       " rows, " + detail::part_window(s.summary[static_cast<int>(p)], time) +
                       ") holds only class " + (n1 == 0 ? "0" : "1") +
                       "; every part needs both classes: use more data or " +
                       (calendar ? "move --cut so this part spans more time."
                                 : "change --split so this part is larger."));
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

}  // namespace

namespace detail {

void note_inferred_categorical(const Table& table, const std::vector<std::string>& features,
                               std::vector<std::string>& notes) {
  std::string list;
  const Index n = table.rows();
  for (const auto& f : features) {
    const Column& c = table.column(f);
    if (!c.inferred) continue;
    const std::size_t k = c.categories.size();
    // Dates are an order, not categories: later dates would be unseen levels.
    const bool dates = std::all_of(c.categories.begin(), c.categories.end(), [](const auto& l) {
      double days = 0.0;
      return parse_iso8601(l, days);
    });
    if (dates) {
      throw InvalidInput("column '" + printable(f) + "' holds dates (e.g. " +
                         quote_for_message(c.categories.front()) +
                         "), which are not categories: later dates would be levels the model "
                         "never saw. Pass --time-column " +
                         printable(f) + " to split by it, or --drop it.");
    }
    // A different text on most rows is an identifier or free text, not a category: guessing it
    // would give the trees a level per row.
    if (n >= kMinRowsForIdentifierCheck && 2 * static_cast<Index>(k) > n) {
      throw InvalidInput("column '" + printable(f) + "' holds text with " + std::to_string(k) +
                         " different values in " + std::to_string(n) +
                         " rows: it looks like an identifier or free text, not a categorical "
                         "feature; --drop it (or --group-column it if it identifies patients), or "
                         "declare it --categorical to use its values as levels anyway.");
    }
    if (!list.empty()) list += ", ";
    list += "'" + printable(f) + "' (" + std::to_string(k) + (k == 1 ? " level)" : " levels)");
  }
  if (list.empty()) return;
  notes.push_back(
      "columns of text read as categorical features: " + list +
      "; declare them with --categorical to make it explicit, or --drop those that are not "
      "features (--text-columns error requires every text column to be declared).");
}

TimeGroupSplit calendar_split(const TrainSpec& spec, const Column* time,
                              const std::vector<double>& group, const Stages& st) {
  if (time == nullptr) {
    throw InvalidParams(
        "--split-rule calendar needs --time-column: the cuts are dates (or numbers) of "
        "that column.");
  }
  const bool days = time->time_encoding == TimeEncoding::kDays;
  const std::array<double, 2> c = calendar_cut_keys(spec.calendar, time->values, days);
  TimeGroupSplit s = split_by_calendar(time->values, group, c[0], c[1], spec.calendar.patients);
  const std::string c1 = time_key_text(c[0], days), c2 = time_key_text(c[1], days);
  const std::string window[3] = {"before " + c1, "from " + c1 + " to before " + c2, "from " + c2};
  const bool exclude = spec.calendar.patients == CalendarPatients::kExclude;
  for (int p = 1; p < 3; ++p) {
    const std::string part = part_name(static_cast<SplitPart>(p));
    if (s.groups_seen_earlier[p] == 0) continue;
    st.note("  " + part + ": " + count_text(s.groups_seen_earlier[p]) +
            " patients also have rows in an earlier part; " +
            (exclude ? count_text(s.rows_dropped[p]) + " of their rows left out (" +
                           "--calendar-patients exclude)"
                     : "their later rows kept (--calendar-patients later-only)"));
  }
  for (int p = 0; p < 3; ++p) {
    const Index rows = s.summary[p].rows;
    if (rows >= kMinPartRows) continue;
    throw InvalidInput(
        std::string("calendar split: the ") + part_name(static_cast<SplitPart>(p)) +
        " part (rows " + window[p] + ") has " + std::to_string(rows) + " rows" +
        (s.rows_dropped[p] > 0 ? " after leaving out " + std::to_string(s.rows_dropped[p]) +
                                     " rows of patients already in an earlier part"
                               : std::string()) +
        "; every part needs at least " + std::to_string(kMinPartRows) + ": move the cuts (--cut " +
        c1 + "," + c2 + ") so this part spans more time" +
        (s.rows_dropped[p] > 0 ? ", or keep those rows with --calendar-patients later-only" : "") +
        ".");
  }
  return s;
}

}  // namespace detail

namespace {

void validate_split(const SplitFractions& f) {
  const double parts[3] = {f.train, f.calibration, f.test};
  for (int p = 0; p < 3; ++p) {
    if (!(parts[p] > 0.0 && parts[p] < 1.0)) {
      throw InvalidParams(std::string("TrainSpec.split.") + part_name(static_cast<SplitPart>(p)) +
                          " must be in (0, 1), got " + format_double(parts[p]) +
                          "; e.g. train=0.6, calibration=0.2, test=0.2.");
    }
  }
  const double sum = f.train + f.calibration + f.test;
  if (std::abs(sum - 1.0) > 1e-6) {
    throw InvalidParams("TrainSpec.split fractions sum to " + format_double(sum) +
                        "; they must sum to 1 (e.g. train=0.6, calibration=0.2, test=0.2).");
  }
}

void validate_spec(const TrainSpec& spec) {
  validate_split(spec.split);
  if (spec.model != ModelKind::kGradientBoostedTrees) spec.lr.validate();
  if (spec.model != ModelKind::kLogisticRegression) spec.gbdt.validate();
  if (spec.model == ModelKind::kAuto) detail::validate_selection(spec.selection);
  spec.policy.validate();
  if (spec.early_stopping_max_rounds < 0) {
    throw InvalidParams("TrainSpec.early_stopping_max_rounds must be >= 0, got " +
                        std::to_string(spec.early_stopping_max_rounds) +
                        "; 0 caps early-stopped fits at gbdt.n_estimators, the default is " +
                        std::to_string(kEarlyStoppingMaxRounds) + ".");
  }
  if (spec.early_stopping_patience < 0) {
    throw InvalidParams("TrainSpec.early_stopping_patience must be >= 0, got " +
                        std::to_string(spec.early_stopping_patience) +
                        "; 0 uses gbdt.n_iter_no_change, the default is " +
                        std::to_string(kEarlyStoppingPatience) + ".");
  }
  if (spec.early_stopping_min_rows < 0) {
    throw InvalidParams("TrainSpec.early_stopping_min_rows must be >= 0, got " +
                        std::to_string(spec.early_stopping_min_rows) +
                        "; 0 stops early at any size (with gbdt.early_stopping), the default is " +
                        std::to_string(kEarlyStoppingMinRows) + ".");
  }
}

// Features, labels and the split into three parts.
void split_stage(const Table& table, const TrainSpec& spec, TrainResult& out, const Stages& st,
                 const TimeGroupSplit* given = nullptr) {
  const ColumnRoles& roles = spec.columns;
  const Index n = table.rows();
  out.features = feature_columns(table, roles);
  out.categorical_features = declared_categorical_features(table, out.features);
  detail::note_inferred_categorical(table, out.features, out.notes);
  for (const auto& id : identifier_like_columns(table, out.features)) {
    const std::string shown = printable(id);
    st.warn("column '" + shown +
            "' has a different whole number on every row: it looks like "
            "an identifier, not a feature; pass --drop " +
            shown + " (or --group-column " + shown + " if it identifies patients).");
  }
  const std::vector<double> y = label_values(table, roles.label, true, roles.positive_label);
  const Column* time = roles.time.empty() ? nullptr : &table.column(roles.time);
  const std::vector<double> no_values;
  const std::vector<double>& group =
      roles.group.empty() ? no_values : table.column(roles.group).values;

  if (given != nullptr) {
    out.split = *given;
  } else if (spec.split_rule == SplitRule::kCalendar) {
    st.begin("splitting " + count_text(n) + " rows by calendar (" + roles.time + ")");
    out.split = detail::calendar_split(spec, time, group, st);
    st.end();
  } else {
    st.begin("splitting " + count_text(n) + " rows by " + (time ? "time" : "file order") +
             (roles.group.empty() ? "" : " and " + roles.group));
    require_enough_rows(n, spec.split);
    out.split = split_by_time_and_group(time ? time->values : no_values, group, n, spec.split);
    require_part_rows(out.split, n, spec.split);
    st.end();
  }
  for (int p = 0; p < 3; ++p) {
    const PartSummary& s = out.split.summary[p];
    st.note("  " + std::string(part_name(static_cast<SplitPart>(p))) + ": " + count_text(s.rows) +
            " rows, " + count_text(s.groups) + (roles.group.empty() ? " rows" : " groups") + ", " +
            detail::part_window(s, time));
  }

  const RowMatrixXd X = table.to_matrix(out.features);
  out.train = make_part(X, y, out.split, SplitPart::kTrain);
  out.calibration = make_part(X, y, out.split, SplitPart::kCalibration);
  out.test = make_part(X, y, out.split, SplitPart::kTest);
  require_both_classes(out.train, SplitPart::kTrain, out.split, time);
  require_both_classes(out.calibration, SplitPart::kCalibration, out.split, time);
  require_both_classes(out.test, SplitPart::kTest, out.split, time);
}

// Positions (into out.train) of the rows that fit the trees and of the early-stopping
// validation part: the latest-entering groups holding `fraction` of the training rows, found by
// the workflow's own split (split_by_time_and_group on the training rows, its last two parts
// merged), so no group is in both and validation follows fitting in time.
struct InnerSplit {
  std::vector<Index> fit, valid;
  Index valid_groups = 0;
};

std::optional<InnerSplit> early_stopping_split(const Table& table, const ColumnRoles& roles,
                                               const TrainPart& train, double fraction,
                                               std::string& why_not) {
  const auto keys_of = [&](const std::string& column) {
    std::vector<double> keys;
    if (column.empty()) return keys;  // no column: file order / every row its own group
    const std::vector<double>& v = table.column(column).values;
    for (Index r : train.rows) keys.push_back(v[static_cast<std::size_t>(r)]);
    return keys;
  };
  const std::vector<double> time = keys_of(roles.time), group = keys_of(roles.group);
  TimeGroupSplit s;
  try {
    s = split_by_time_and_group(time, group, static_cast<Index>(train.rows.size()),
                                SplitFractions{1.0 - fraction, fraction / 2, fraction / 2});
  } catch (const InvalidInput& e) {
    why_not = std::string("the training part cannot give a validation part: ") + e.what();
    return std::nullopt;
  }
  InnerSplit out;
  double fit_pos = 0.0;
  for (Index i = 0; i < static_cast<Index>(s.part.size()); ++i) {
    const bool fit = s.part[static_cast<std::size_t>(i)] == SplitPart::kTrain;
    (fit ? out.fit : out.valid).push_back(i);
    if (fit) fit_pos += train.y[static_cast<std::size_t>(i)];
  }
  out.valid_groups = s.summary[1].groups + s.summary[2].groups;
  if (fit_pos == 0.0 || fit_pos == static_cast<double>(out.fit.size())) {
    why_not = "the training rows left after holding out the validation part hold one class only";
    return std::nullopt;
  }
  return out;
}

// Side information of the trees' fit (target statistics of high-cardinality categorical
// features): the group (patient) of each row of `rows` into `groups` (empty without a group
// column), and the ancestor levels of the feature columns with a declared code hierarchy.
GBDTFitContext trees_context(const Table& table, const TrainSpec& spec,
                             const std::vector<std::string>& features,
                             const std::vector<Index>& rows, std::vector<double>& groups) {
  GBDTFitContext ctx;
  groups.clear();
  if (!spec.columns.group.empty() && table.has_column(spec.columns.group)) {
    const std::vector<double>& g = table.column(spec.columns.group).values;
    for (const Index i : rows) groups.push_back(g[static_cast<std::size_t>(i)]);
    bool finite = true;
    for (const double v : groups) finite = finite && std::isfinite(v);
    if (!finite) groups.clear();  // rows without a patient id: ungrouped folds
  }
  ctx.groups = VectorView<const double>(groups.data(), static_cast<Index>(groups.size()));
  for (std::size_t f = 0; f < features.size(); ++f) {
    if (!table.has_column(features[f])) continue;
    const Column& c = table.column(features[f]);
    if (c.kind != ColumnKind::kCategorical) continue;
    const CodeHierarchy h = c.hierarchy.declared ? c.hierarchy
                            : spec.gbdt.cat_ts_infer_hierarchy
                                ? inferred_code_hierarchy(c.categories)
                                : CodeHierarchy{};
    if (!h.declared) continue;
    std::vector<std::vector<int>> levels = code_ancestor_levels(c.categories, h);
    if (!levels.empty()) ctx.code_ancestry.push_back({static_cast<int>(f), std::move(levels)});
  }
  return ctx;
}

// The number of trees of the refit after early stopping kept `kept` rounds fitted on `fit_rows`
// of the `all_rows` training rows (TrainSpec::early_stopping_refit), at most `cap`.
int refit_rounds(EarlyStoppingRefit mode, int kept, Index fit_rows, Index all_rows, int cap) {
  if (mode != EarlyStoppingRefit::kScaled) return kept;
  const double scaled = std::round(static_cast<double>(kept) * static_cast<double>(all_rows) /
                                   static_cast<double>(fit_rows));
  return static_cast<int>(std::max(1.0, std::min(scaled, static_cast<double>(cap))));
}

// After early stopping on the latest groups of `train` (rec.rounds_kept rounds): with
// TrainSpec::early_stopping_refit, `m` becomes the same trees' parameters without early stopping,
// with refit_rounds trees, fitted on every row of `train`.
void refit_trees(const Table& table, const TrainSpec& spec, const TrainPart& train,
                 const std::vector<std::string>& features, EarlyStoppingRecord& rec,
                 GradientBoostedTrees& m) {
  const EarlyStoppingRefit mode = spec.early_stopping_refit;
  if (mode == EarlyStoppingRefit::kNone) return;
  GBDTParams q = spec.gbdt;
  q.early_stopping = false;
  const Index n = static_cast<Index>(train.y.size());
  q.n_estimators = refit_rounds(mode, rec.rounds_kept, rec.fit_rows, n, rec.max_rounds);
  std::vector<double> groups;
  const GBDTFitContext ctx = trees_context(table, spec, features, train.rows, groups);
  m = GradientBoostedTrees(q);
  m.fit(Dataset(FeatureMatrix(view(train.X)), VectorView<const double>(train.y)), ctx, 2);
  rec.refit = mode;
  rec.refit_rounds = q.n_estimators;
  rec.fit_rows = n;
}

// Boosted trees on the training part, with early stopping on its latest groups when asked for
// and the part is large enough (TrainSpec::gbdt), then (binary tasks) refitted on every training
// row with the rounds early stopping chose (TrainSpec::early_stopping_refit); `rec` says what
// happened.
GradientBoostedTrees fit_trees(const Table& table, const TrainSpec& spec, const TrainPart& train,
                               EarlyStoppingRecord& rec,
                               const std::vector<std::string>& features = {}, int n_classes = 2) {
  GBDTParams p = spec.gbdt;
  const Index n = static_cast<Index>(train.y.size());
  std::optional<InnerSplit> inner;
  if (!p.early_stopping) {
    rec.reason = "early_stopping=false";
  } else if (n < spec.early_stopping_min_rows) {
    rec.reason = "the training part has " + count_text(n) + " rows, fewer than " +
                 count_text(spec.early_stopping_min_rows) + " (early stopping starts there)";
  } else {
    inner = early_stopping_split(table, spec.columns, train, p.validation_fraction, rec.reason);
  }
  GradientBoostedTrees m;
  if (inner) {
    // Early stopping chooses the count: the cap may exceed the fixed count of fits without it.
    if (spec.early_stopping_max_rounds > 0) p.n_estimators = spec.early_stopping_max_rounds;
    if (spec.early_stopping_patience > 0) p.n_iter_no_change = spec.early_stopping_patience;
    rec.max_rounds = p.n_estimators;
    rec.patience = p.n_iter_no_change;
    const RowMatrixXd Xf = take_rows(train.X, inner->fit), Xv = take_rows(train.X, inner->valid);
    const std::vector<double> yf = take(train.y, inner->fit), yv = take(train.y, inner->valid);
    std::vector<double> groups;
    std::vector<Index> fit_rows;
    for (const Index k : inner->fit) fit_rows.push_back(train.rows[static_cast<std::size_t>(k)]);
    const GBDTFitContext ctx = trees_context(table, spec, features, fit_rows, groups);
    m = GradientBoostedTrees(p);
    m.fit(Dataset(FeatureMatrix(view(Xf)), VectorView<const double>(yf)),
          Dataset(FeatureMatrix(view(Xv)), VectorView<const double>(yv)), ctx, n_classes);
    rec.used = true;
    rec.reason = "validation part: the latest-entering " + count_text(inner->valid_groups) +
                 (spec.columns.group.empty() ? " rows" : " groups") + " of the training part";
    rec.fit_rows = static_cast<Index>(inner->fit.size());
    rec.validation_rows = static_cast<Index>(inner->valid.size());
    rec.validation_groups = inner->valid_groups;
    rec.rounds_run = m.n_iter();
    rec.rounds_kept = m.best_iteration();
    if (n_classes == 2) refit_trees(table, spec, train, features, rec, m);
    return m;
  } else {
    p.early_stopping = false;
    std::vector<double> groups;
    const GBDTFitContext ctx = trees_context(table, spec, features, train.rows, groups);
    m = GradientBoostedTrees(p);
    m.fit(Dataset(FeatureMatrix(view(train.X)), VectorView<const double>(train.y)), ctx, n_classes);
    rec.fit_rows = n;
  }
  rec.rounds_run = m.n_iter();
  rec.rounds_kept = m.best_iteration();
  return m;
}

// The model on the training part; its probabilities on every part.
PipelineModel fit_stage(const Table& table, const TrainSpec& spec, TrainResult& out,
                        const Stages& st) {
  const bool lr = spec.model == ModelKind::kLogisticRegression;
  st.begin(std::string("fitting ") + (lr ? "logistic regression" : "boosted trees") + " on " +
           count_text(out.train.X.rows()) + " rows x " + std::to_string(out.train.X.cols()) +
           " features");
  const auto start = std::chrono::steady_clock::now();
  PipelineModel model;
  std::string detail;
  // The declared categorical features (labelled columns) become the model's categorical
  // features; detected small-integer columns stay ordinal.
  TrainSpec fit_spec = spec;
  const std::vector<int>& categorical = out.categorical_features;
  if (fit_spec.gbdt.categorical_features.empty()) fit_spec.gbdt.categorical_features = categorical;
  if (fit_spec.lr.categorical_features.empty()) fit_spec.lr.categorical_features = categorical;
  if (lr) {
    const Dataset train_set(FeatureMatrix(view(out.train.X)),
                            VectorView<const double>(out.train.y));
    LogisticRegression m(fit_spec.lr);
    m.fit(train_set);
    for (const auto& note : m.fit_info().notes) out.notes.push_back("logistic regression: " + note);
    if (!m.fit_info().converged) {
      out.notes.push_back("logistic regression did not converge in " +
                          std::to_string(spec.lr.max_iter) +
                          " iterations; raise --param max_iter or lower --param C.");
    }
    model = std::move(m);
  } else {
    GradientBoostedTrees m =
        fit_trees(table, fit_spec, out.train, out.early_stopping, out.features);
    for (const auto& note : m.fit_info().notes) out.notes.push_back("boosted trees: " + note);
    const EarlyStoppingRecord& r = out.early_stopping;
    if (!r.used && spec.gbdt.early_stopping && r.fit_rows >= spec.early_stopping_min_rows) {
      out.notes.push_back("boosted trees: no early stopping: " + r.reason + ".");
    }
    detail = std::to_string(r.refit_rounds > 0 ? r.refit_rounds : r.rounds_kept) + " trees" +
             (r.used ? " (early stopping on " + count_text(r.validation_rows) + " validation rows" +
                           (r.refit_rounds > 0 ? ", then refitted on all " +
                                                     count_text(r.fit_rows) + " training rows"
                                               : std::string()) +
                           ")"
                     : "");
    model = std::move(m);
  }
  out.seconds_fit = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  st.end(detail);
  for (TrainPart* part : {&out.train, &out.calibration, &out.test}) {
    part->p_model = std::visit(
        [&](const auto& m) {
          return Eigen::VectorXd(m.predict_proba(FeatureMatrix(view(part->X))));
        },
        model);
  }
  return model;
}

// The calibrator on the calibration part (on the model's probability); calibrated scores.
PipelineCalibrator calibrate_stage(const TrainSpec& spec, TrainResult& out, const Stages& st) {
  st.begin(std::string("calibrating (") + calibration_method_name(spec.calibration) + ") on " +
           count_text(out.calibration.X.rows()) + " rows");
  const VectorView<const double> s(out.calibration.p_model.data(), out.calibration.p_model.size());
  const VectorView<const double> yc(out.calibration.y);
  PipelineCalibrator calibrator;
  if (spec.calibration == CalibrationMethod::kPlatt) {
    PlattParams pp;
    pp.input = ScoreKind::kProbability;
    PlattCalibrator c(pp);
    c.fit(s, yc);
    for (const auto& note : c.fit_info().notes) out.notes.push_back("platt: " + note);
    calibrator = std::move(c);
  } else if (spec.calibration == CalibrationMethod::kIsotonic) {
    IsotonicCalibrator c;
    c.fit(s, yc);
    calibrator = std::move(c);
  } else if (spec.calibration == CalibrationMethod::kBeta) {
    BetaCalibrator c;
    c.fit(s, yc);
    for (const auto& note : c.fit_info().notes) out.notes.push_back("beta: " + note);
    calibrator = std::move(c);
  }
  st.end();
  for (TrainPart* part : {&out.train, &out.calibration, &out.test}) {
    part->p = std::visit(
        [&](const auto& c) -> Eigen::VectorXd {
          using C = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<C, std::monostate>) {
            return part->p_model;
          } else {
            return c.predict(VectorView<const double>(part->p_model.data(), part->p_model.size()));
          }
        },
        calibrator);
  }
  return calibrator;
}

// The threshold on the calibration part; the same threshold on the test part.
void threshold_stage(const TrainSpec& spec, TrainResult& out, const Stages& st) {
  st.begin("choosing the threshold (" + policy_text(spec.policy) + ")");
  out.op_calibration = select_threshold(
      VectorView<const double>(out.calibration.y),
      VectorView<const double>(out.calibration.p.data(), out.calibration.p.size()), spec.policy);
  out.op_test = operating_point_at(
      metrics::SortedScores(VectorView<const double>(out.test.y),
                            VectorView<const double>(out.test.p.data(), out.test.p.size()), {},
                            "test part"),
      out.op_calibration.threshold);
  char buf[160];
  std::snprintf(buf, sizeof buf, "threshold %.4f, recall %.3f, precision %.3f on calibration",
                out.op_calibration.threshold, out.op_calibration.recall,
                out.op_calibration.precision);
  st.end(buf);
}

}  // namespace

const char* model_kind_name(ModelKind k) noexcept { return enum_to_text(k); }

const char* calibration_method_name(CalibrationMethod m) noexcept { return enum_to_text(m); }

std::optional<ModelKind> model_kind_from_name(const std::string& text) {
  ModelKind k{};
  std::string alias;
  if (!enum_from_text(text, k, alias)) return std::nullopt;
  return k;
}

std::optional<CalibrationMethod> calibration_method_from_name(const std::string& text) {
  CalibrationMethod m{};
  std::string alias;
  if (!enum_from_text(text, m, alias)) return std::nullopt;
  return m;
}

std::string categories_key(const std::string& column) { return "data.categories." + column; }

GBDTParams workflow_gbdt_defaults() {
  // docs/defaults.md: chosen with benchmarks/defaults.py --grid (average rank of test AUC and
  // ECE over seven datasets); learning_rate 0.1, l2_regularization 0 and n_estimators 100 ranked
  // first too and stay the estimator's. Early stopping applies from kEarlyStoppingMinRows rows.
  GBDTParams p;
  p.min_samples_leaf = 100;
  p.early_stopping = true;
  return p;
}

LogisticRegressionParams workflow_lr_defaults() {
  // docs/defaults.md: benchmarks/defaults.py, the workflow's logistic regression with the
  // standardized penalty against the raw one on the shipped datasets.
  LogisticRegressionParams p;
  p.penalty_scale = PenaltyScale::kStandardized;
  return p;
}

namespace detail {

TrainResult train_on_split(const Table& table, const TrainSpec& spec, const TimeGroupSplit& split,
                           TrainObserver* observer) {
  const Stages st{observer};
  validate_spec(spec);
  TrainResult out;
  split_stage(table, spec, out, st, &split);
  TrainSpec fit_spec = resolve_model(table, spec, out, observer);  // model_select.cpp
  PipelineModel model = fit_stage(table, fit_spec, out, st);
  resolve_calibration(fit_spec, spec, out);  // model_select.cpp
  PipelineCalibrator calibrator = calibrate_stage(fit_spec, out, st);
  threshold_stage(fit_spec, out, st);
  assemble_pipeline(table, fit_spec, std::move(model), std::move(calibrator), out);
  return out;
}

std::optional<std::pair<std::vector<Index>, std::vector<Index>>> early_stopping_rows(
    const Table& table, const ColumnRoles& roles, const TrainPart& train, double fraction,
    Index& groups) {
  std::string why_not;
  std::optional<InnerSplit> inner = early_stopping_split(table, roles, train, fraction, why_not);
  if (!inner) return std::nullopt;
  groups = inner->valid_groups;
  return std::make_pair(std::move(inner->fit), std::move(inner->valid));
}

PipelineModel fit_model(const Table& table, const TrainSpec& spec, const TrainPart& train,
                        const std::vector<std::string>& features,
                        const std::vector<int>& categorical, EarlyStoppingRecord& rec) {
  TrainSpec fit_spec = spec;
  if (fit_spec.gbdt.categorical_features.empty()) fit_spec.gbdt.categorical_features = categorical;
  if (fit_spec.lr.categorical_features.empty()) fit_spec.lr.categorical_features = categorical;
  if (spec.model == ModelKind::kLogisticRegression) {
    LogisticRegression m(fit_spec.lr);
    m.fit(Dataset(FeatureMatrix(view(train.X)), VectorView<const double>(train.y)));
    return m;
  }
  return fit_trees(table, fit_spec, train, rec, features);
}

GradientBoostedTrees fit_class_trees(const Table& table, const TrainSpec& spec,
                                     const TrainPart& train, EarlyStoppingRecord& rec,
                                     const std::vector<std::string>& features, int n_classes) {
  return fit_trees(table, spec, train, rec, features, n_classes);
}

void add_early_stopping(std::vector<std::pair<std::string, std::string>>& P, const TrainSpec& spec,
                        const TrainResult& out) {
  if (spec.model != ModelKind::kGradientBoostedTrees) return;
  const EarlyStoppingRecord& r = out.early_stopping;
  P.emplace_back("fit.early_stopping", r.used ? "on" : "off");
  P.emplace_back("fit.early_stopping.reason", r.reason);
  P.emplace_back("fit.rows", std::to_string(r.fit_rows));
  P.emplace_back("fit.rounds_run", std::to_string(r.rounds_run));
  P.emplace_back("fit.rounds_kept", std::to_string(r.rounds_kept));
  if (r.used) {
    P.emplace_back("fit.validation_rows", std::to_string(r.validation_rows));
    P.emplace_back("fit.validation_groups", std::to_string(r.validation_groups));
    P.emplace_back("fit.max_rounds", std::to_string(r.max_rounds));
    P.emplace_back("fit.patience", std::to_string(r.patience));
    P.emplace_back("fit.refit", enum_to_text(r.refit));
    if (r.refit != EarlyStoppingRefit::kNone) {
      P.emplace_back("fit.refit_rounds", std::to_string(r.refit_rounds));
    }
  }
}

}  // namespace detail

TrainResult train_pipeline(const Table& table, const TrainSpec& spec, TrainObserver* observer) {
  // A label with more than two classes (or TaskKind::kMulticlass) takes the multiclass road
  // (train_multiclass.cpp); a binary label runs the stages below, unchanged.
  if (detail::is_multiclass_task(table, spec)) {
    return detail::train_multiclass(table, spec, observer);
  }
  const Stages st{observer};
  validate_spec(spec);
  TrainResult out;
  split_stage(table, spec, out, st);
  TrainSpec fit_spec = detail::resolve_model(table, spec, out, observer);  // model_select.cpp
  PipelineModel model = fit_stage(table, fit_spec, out, st);
  detail::resolve_calibration(fit_spec, spec, out);  // model_select.cpp
  PipelineCalibrator calibrator = calibrate_stage(fit_spec, out, st);
  threshold_stage(fit_spec, out, st);
  detail::assemble_pipeline(table, fit_spec, std::move(model), std::move(calibrator), out);
  return out;
}

}  // namespace calibrisk
