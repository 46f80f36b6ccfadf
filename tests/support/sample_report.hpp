// SPDX-License-Identifier: Apache-2.0
// A hand-made Report with every section filled, for the rendering tests.
#pragma once

#include <calibrisk/report/report.hpp>

#include <cmath>

namespace calibrisk::test {

inline Report sample_report() {
  Report r;
  r.title = "Sample <report> & \"quotes\"";
  r.confidence = 0.95;
  r.n_bootstrap = 200;
  r.data.rows = 1000;
  r.data.positives = 125;
  r.data.prevalence = 0.125;
  r.data.patients = 700;
  r.data.time_min = "2023-01-01";
  r.data.time_max = "2023-12-31";
  r.data.missingness = {{"age", 0.0}, {"hba1c", 0.69}};
  r.discrimination.roc_auc = {0.78, 0.75, 0.81};
  r.discrimination.average_precision = {0.35, 0.30, 0.40};
  r.discrimination.roc = {{0, 0.1, 0.3, 1}, {0, 0.4, 0.7, 1}, {1, 0.5, 0.2, 0}};
  r.discrimination.pr = {{0, 0.4, 0.7, 1}, {1, 0.45, 0.3, 0.125}, {1, 0.5, 0.2, 0}};
  r.has_uncalibrated = true;
  r.calibration_before.label = "uncalibrated";
  r.calibration_before.bins = {
      {400, 0.2, 0.05, 0.03, 0.08}, {400, 0.4, 0.12, 0.09, 0.16}, {200, 0.7, 0.3, 0.24, 0.37}};
  r.calibration_before.ece = {0.21, 0.19, 0.23};
  r.calibration_before.intercept = -1.2;
  r.calibration_before.slope = 0.8;
  r.calibration_before.spiegelhalter_z = -9.5;
  r.calibration_before.spiegelhalter_p = 1e-20;
  r.calibration_after.label = "calibrated";
  r.calibration_after.bins = {{400, 0.05, 0.05, 0.03, 0.08},
                              {400, 0.12, 0.12, 0.09, 0.16},
                              {200, 0.29, 0.3, 0.24, 0.37},
                              {0, NAN, NAN, NAN, NAN}};
  r.calibration_after.ece = {0.012, 0.008, 0.02};
  r.calibration_after.intercept = 0.01;
  r.calibration_after.slope = 1.02;
  r.has_operating_point = true;
  r.operating_point.threshold = 0.15;
  r.operating_point.policy = "min_recall=0.8";
  r.operating_point.tp = 100;
  r.operating_point.fp = 300;
  r.operating_point.tn = 575;
  r.operating_point.fn = 25;
  r.operating_point.precision = {0.25, 0.21, 0.29};
  r.operating_point.recall = {0.8, 0.72, 0.86};
  r.operating_point.specificity = {0.657, 0.62, 0.69};
  r.operating_point.alert_rate = {0.4, 0.37, 0.43};
  r.decision_curve = {
      {0.05, 0.1, 0.2, 0.3}, {0.08, 0.06, 0.03, 0.01}, {0.079, 0.028, -0.094, -0.25}};
  r.subgroups.intercept_tolerance = 0.4;
  r.subgroups.ece_tolerance = 0.05;
  r.subgroups.recall_tolerance = 0.1;
  r.subgroups.min_size = 50;
  SubgroupRow a;
  a.column = "site";
  a.level = "A";
  a.n = 600;
  a.prevalence = 0.1;
  a.mean_predicted = 0.11;
  a.recall = 0.8;
  SubgroupRow c = a;
  c.level = "C<script>";
  c.n = 400;
  c.prevalence = 0.2;
  c.mean_predicted = 0.12;
  c.calibration_intercept = 0.7;
  c.flags = {"calibration intercept +0.7 beyond ±0.4"};
  r.subgroups.rows = {a, c};
  r.over_time.granularity = "quarter";
  r.over_time.rows = {{"2023-Q1", 19358, 250, 0.1, 0.12, 0.79, 0.02, {}},
                      {"2023-Q2", 19448, 250, 0.12, 0.12, 0.77, 0.01, {}},
                      {"2023-Q3", 19539, 250, 0.14, 0.12, NAN, 0.03, {}}};
  r.importance_kind = "gain";
  r.top_features = {{"prior_admissions", 0.4}, {"age", 0.2}};
  r.provenance = {{"calibrisk", "0.1.0"}, {"data_sha256", "abc123"}, {"model", "gbdt"}};
  r.notes = {"a note"};
  return r;
}

}  // namespace calibrisk::test
