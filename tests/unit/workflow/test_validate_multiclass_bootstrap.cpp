// SPDX-License-Identifier: Apache-2.0
// Bootstrap intervals of the K-class figures of rolling-origin validation: equal to an
// independent loop that redraws whole patients (or rows) of each test period, unstratified, with
// the documented streams Rng(seed, r) and numpy's linear percentile; as wide as the binomial
// interval for accuracy and review rate; containing the point estimates; narrower with more rows;
// the same for any thread count; and, in metrics::multiclass_bootstrap, a patient's rows always
// drawn together (also within strata of the patients' most frequent class).
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/workflow/validate.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// n rows in time order of two features and a 3-class label from a known softmax; with
// `rows_per_patient` > 1 a "pid" column groups consecutive rows into patients.
Table table_of(Index n, std::uint64_t seed, int rows_per_patient) {
  Rng rng(seed);
  const auto m = static_cast<std::size_t>(n);
  std::vector<double> a(m), b(m), y(m), t(m), pid(m);
  for (std::size_t u = 0; u < m; ++u) {
    a[u] = rng.normal();
    b[u] = rng.normal();
    t[u] = static_cast<double>(u);
    pid[u] = static_cast<double>(u / static_cast<std::size_t>(rows_per_patient));
    const double z[3] = {0.0, 1.5 * a[u], 1.5 * b[u]};
    double e[3], s = 0.0;
    for (int k = 0; k < 3; ++k) s += (e[k] = std::exp(z[k]));
    const double r = rng.uniform() * s;
    y[u] = r < e[0] ? 0.0 : (r < e[0] + e[1] ? 1.0 : 2.0);
  }
  Table tab;
  tab.add_column(Column::numeric("a", a));
  tab.add_column(Column::numeric("b", b));
  tab.add_column(Column::numeric("t", t));
  tab.add_column(Column::numeric("y", y));
  if (rows_per_patient > 1) tab.add_column(Column::numeric("pid", pid));
  return tab;
}

ValidateSpec spec_of(bool grouped) {
  ValidateSpec v;
  v.train.columns.label = "y";
  v.train.columns.time = "t";
  if (grouped) v.train.columns.group = "pid";
  v.train.model = ModelKind::kLogisticRegression;
  v.train.task = TaskKind::kMulticlass;
  v.train.review.min_accuracy = 0.8;
  v.train.seed = 11;
  v.period = TimeGranularity::kBins;
  v.n_bins = 5;
  return v;
}

// The six figures with their bounds, in one order.
struct Figure {
  const char* name;
  double point, lower, upper;
};
std::vector<Figure> figures(const PeriodResult& p) {
  return {{"log_loss", p.log_loss, p.log_loss_lower, p.log_loss_upper},
          {"brier", p.brier, p.brier_lower, p.brier_upper},
          {"top_label_ece", p.top_label_ece, p.top_label_ece_lower, p.top_label_ece_upper},
          {"accuracy", p.accuracy, p.accuracy_lower, p.accuracy_upper},
          {"auto_accuracy", p.auto_accuracy, p.auto_accuracy_lower, p.auto_accuracy_upper},
          {"review_rate", p.review_rate, p.review_rate_lower, p.review_rate_upper}};
}

// numpy.percentile(v, 100 q) (linear), of the finite values.
double percentile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  std::sort(v.begin(), v.end());
  const double h = q * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(h));
  const std::size_t j = std::min(i + 1, v.size() - 1);
  return v[i] + (h - std::floor(h)) * (v[j] - v[i]);
}

// The six figures of (y, P) under row weights w (the auto-routed rows: confidence >= threshold).
std::vector<double> weighted_figures(const std::vector<double>& y, const RowMatrixXd& P,
                                     const std::vector<double>& w, double threshold) {
  double W = 0, ll = 0, brier = 0, right = 0, w_auto = 0, auto_right = 0;
  std::vector<double> hits(10, 0.0), conf_sum(10, 0.0);
  for (Index i = 0; i < P.rows(); ++i) {
    const double wi = w[static_cast<std::size_t>(i)];
    const auto yi = static_cast<Index>(y[static_cast<std::size_t>(i)]);
    Index arg = 0;
    double sq = 0;
    for (Index k = 0; k < P.cols(); ++k) {
      sq += std::pow(P(i, k) - (k == yi ? 1.0 : 0.0), 2);
      if (P(i, k) > P(i, arg)) arg = k;
    }
    const double conf = P(i, arg), ok = arg == yi ? 1.0 : 0.0;
    W += wi;
    ll -= wi * std::log(std::clamp(P(i, yi), 1e-15, 1 - 1e-15));
    brier += wi * sq;
    right += wi * ok;
    const auto bin = static_cast<std::size_t>(std::max(0.0, std::ceil(conf * 10.0) - 1.0));
    hits[bin] += wi * ok;
    conf_sum[bin] += wi * conf;
    if (conf >= threshold) w_auto += wi, auto_right += wi * ok;
  }
  double ece = 0;
  for (std::size_t b = 0; b < 10; ++b) ece += std::abs(hits[b] - conf_sum[b]) / W;
  return {
      ll / W,          brier / W, ece, right / W, w_auto > 0 ? auto_right / w_auto : std::nan(""),
      1.0 - w_auto / W};
}

// The oracle: R replicates, each redrawing as many patients as the test period has (in key
// order, with replacement, not stratified) from Rng(seed, r), each with all of its rows; then the
// 2.5 and 97.5 percentiles of each figure.
std::vector<std::pair<double, double>> oracle(const PeriodResult& p, const std::vector<double>& key,
                                              int R, std::uint64_t seed) {
  std::map<double, std::vector<std::size_t>> patients;
  for (std::size_t i = 0; i < p.test_y.size(); ++i) patients[key[i]].push_back(i);
  std::vector<const std::vector<std::size_t>*> units;
  for (const auto& kv : patients) units.push_back(&kv.second);
  std::vector<std::vector<double>> reps(6);
  for (int r = 0; r < R; ++r) {
    Rng rng(seed, static_cast<std::uint64_t>(r));
    std::vector<double> w(p.test_y.size(), 0.0);
    for (std::size_t d = 0; d < units.size(); ++d)
      for (std::size_t i : *units[rng.below(units.size())]) w[i] += 1.0;
    const std::vector<double> f = weighted_figures(p.test_y, p.test_P, w, p.review_threshold);
    for (std::size_t j = 0; j < 6; ++j) reps[j].push_back(f[j]);
  }
  std::vector<std::pair<double, double>> out;
  for (const auto& v : reps) out.emplace_back(percentile(v, 0.025), percentile(v, 0.975));
  return out;
}

void check_against_oracle(const Table& t, const ValidateSpec& spec, bool grouped) {
  const ValidationResult r = validate_rolling(t, spec);
  REQUIRE(r.periods.size() == 3);
  for (const PeriodResult& p : r.periods) {
    CAPTURE(p.period);
    REQUIRE(p.skipped.empty());
    std::vector<double> key;
    for (Index i : p.test_rows) {
      key.push_back(grouped ? t.column("pid").values[static_cast<std::size_t>(i)]
                            : static_cast<double>(i));
    }
    const auto want = oracle(p, key, spec.n_bootstrap, spec.train.seed);
    const std::vector<Figure> got = figures(p);
    for (std::size_t j = 0; j < 6; ++j) {
      CAPTURE(got[j].name);
      CHECK(got[j].lower == doctest::Approx(want[j].first).epsilon(1e-12));
      CHECK(got[j].upper == doctest::Approx(want[j].second).epsilon(1e-12));
    }
  }
}

}  // namespace

TEST_CASE("validate: K-class intervals equal an independent row bootstrap (no group column)") {
  check_against_oracle(table_of(3000, 21, 1), spec_of(false), false);
}

TEST_CASE("validate: K-class intervals equal an independent bootstrap of whole patients") {
  // Patients of 3 consecutive rows with independent labels (mixed classes within a patient).
  check_against_oracle(table_of(3000, 22, 3), spec_of(true), true);
}

TEST_CASE("validate: K-class intervals of proportions are as wide as the binomial interval") {
  // Rows resampled without strata: the bootstrap of a share is binomial, so its 95 % interval is
  // about 2 x 1.96 x sqrt(p (1 - p) / n) wide (Wald), for accuracy and the review rate alike.
  const ValidationResult r = validate_rolling(table_of(3000, 25, 1), spec_of(false));
  for (const PeriodResult& p : r.periods) {
    CAPTURE(p.period);
    const auto n = static_cast<double>(p.n_test);
    for (const Figure& f : {figures(p)[3], figures(p)[5]}) {
      CAPTURE(f.name);
      const double wald = 2.0 * 1.96 * std::sqrt(f.point * (1.0 - f.point) / n);
      CHECK((f.upper - f.lower) / wald > 0.75);
      CHECK((f.upper - f.lower) / wald < 1.25);
    }
  }
}

TEST_CASE("validate: K-class intervals contain the point and shrink with more rows") {
  auto mean_widths = [](const ValidationResult& r) {
    std::vector<double> w(6, 0.0);
    for (const PeriodResult& p : r.periods) {
      const std::vector<Figure> f = figures(p);
      for (std::size_t j = 0; j < 6; ++j) {
        CAPTURE(p.period);
        CAPTURE(f[j].name);
        CHECK(f[j].lower <= f[j].point);
        CHECK(f[j].point <= f[j].upper);
        w[j] += (f[j].upper - f[j].lower) / static_cast<double>(r.periods.size());
      }
    }
    return w;
  };
  const std::vector<double> small =
      mean_widths(validate_rolling(table_of(2000, 23, 1), spec_of(false)));
  const std::vector<double> large =
      mean_widths(validate_rolling(table_of(20000, 23, 1), spec_of(false)));
  for (std::size_t j = 0; j < 6; ++j) {
    CAPTURE(j);
    CHECK(large[j] > 0.0);
    CHECK(large[j] < 0.6 * small[j]);  // sqrt(10) ~ 3.2 times narrower in theory
  }
}

TEST_CASE("validate: K-class intervals are deterministic for a seed and any thread count") {
  const Table t = table_of(3000, 24, 3);
  ValidateSpec one = spec_of(true), two = spec_of(true), other = spec_of(true);
  one.train.lr.n_threads = 1;
  two.train.lr.n_threads = 2;
  other.train.seed = 12;
  const ValidationResult a = validate_rolling(t, one), b = validate_rolling(t, two),
                         c = validate_rolling(t, other);
  bool any_differs = false;
  for (std::size_t i = 0; i < a.periods.size(); ++i) {
    const std::vector<Figure> fa = figures(a.periods[i]), fb = figures(b.periods[i]),
                              fc = figures(c.periods[i]);
    for (std::size_t j = 0; j < 6; ++j) {
      CHECK(fa[j].lower == fb[j].lower);  // bit for bit
      CHECK(fa[j].upper == fb[j].upper);
      any_differs = any_differs || fa[j].lower != fc[j].lower || fa[j].upper != fc[j].upper;
    }
  }
  CHECK(any_differs);  // another seed draws other replicates
  ValidateSpec none = spec_of(true);
  none.n_bootstrap = 0;
  for (const PeriodResult& p : validate_rolling(t, none).periods) {
    for (const Figure& f : figures(p)) CHECK((std::isnan(f.lower) && std::isnan(f.upper)));
  }
}

TEST_CASE("multiclass_bootstrap: groups resample a patient's rows together") {
  // 150 patients, each one row repeated 3 times: the grouped bootstrap must move the copies
  // together, so every replicate equals that of the single rows resampled one by one.
  Rng rng(5);
  const int G = 150;
  std::vector<double> y1, y3, r1, r3;
  std::vector<std::int64_t> g3;
  RowMatrixXd P1(G, 3), P3(3 * G, 3);
  for (int i = 0; i < G; ++i) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += (P1(i, k) = 0.05 + rng.uniform());
    P1.row(i) /= s;
    y1.push_back(static_cast<double>(rng.below(3)));
    r1.push_back(P1.row(i).maxCoeff() >= 0.5 ? 1.0 : 0.0);
    for (int c = 0; c < 3; ++c) {
      P3.row(3 * i + c) = P1.row(i);
      y3.push_back(y1.back());
      r3.push_back(r1.back());
      g3.push_back(1000 + 7 * i);  // ascending keys: the patients' order is the rows' order
    }
  }
  const std::vector<std::string> names = {"log_loss",     "brier_score",   "top_label_ece",
                                          "accuracy",     "auto_accuracy", "review_rate",
                                          "classwise_ece"};
  metrics::BootstrapParams bp;
  bp.n_replicates = 300;
  bp.random_state = 9;
  const auto one = metrics::multiclass_bootstrap(VectorView<const double>(y1),
                                                 MatrixView<const double>(P1.data(), G, 3, 3, 1),
                                                 names, bp, {}, {}, VectorView<const double>(r1));
  const auto grouped = metrics::multiclass_bootstrap(
      VectorView<const double>(y3), MatrixView<const double>(P3.data(), 3 * G, 3, 3, 1), names, bp,
      {}, VectorView<const std::int64_t>(g3), VectorView<const double>(r3));
  const auto rows = metrics::multiclass_bootstrap(
      VectorView<const double>(y3), MatrixView<const double>(P3.data(), 3 * G, 3, 3, 1), names, bp,
      {}, {}, VectorView<const double>(r3));
  for (std::size_t j = 0; j < names.size(); ++j) {
    CAPTURE(names[j]);
    CHECK(grouped[j].point == doctest::Approx(one[j].point).epsilon(1e-12));
    for (int r = 0; r < bp.n_replicates; ++r) {
      const double a = grouped[j].replicates[static_cast<std::size_t>(r)];
      const double b = one[j].replicates[static_cast<std::size_t>(r)];
      if (std::isnan(b)) {
        CHECK(std::isnan(a));
      } else {
        CHECK(a == doctest::Approx(b).epsilon(1e-12));
      }
    }
    // Resampling the copies one by one ignores the clustering: a narrower (wrong) interval.
    CHECK(rows[j].upper - rows[j].lower < grouped[j].upper - grouped[j].lower);
  }
  CHECK_THROWS_AS(metrics::multiclass_bootstrap(VectorView<const double>(y1),
                                                MatrixView<const double>(P1.data(), G, 3, 3, 1),
                                                {"review_rate"}, bp),
                  InvalidInput);
  std::vector<double> bad = r1;
  bad[4] = 0.5;
  CHECK_THROWS_AS(metrics::multiclass_bootstrap(
                      VectorView<const double>(y1), MatrixView<const double>(P1.data(), G, 3, 3, 1),
                      {"review_rate"}, bp, {}, {}, VectorView<const double>(bad)),
                  InvalidInput);
}
