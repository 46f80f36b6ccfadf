// SPDX-License-Identifier: Apache-2.0
/// @file calibrisk.hpp
/// The umbrella header: includes every public header of calibrisk.
///
/// Example (train, calibrate, choose a threshold):
/// @code
///   #include <calibrisk/calibrisk.hpp>
///   calibrisk::GBDTParams p; p.n_estimators = 300; p.class_weight =
///   calibrisk::ClassWeight::balanced(); auto model =
///   calibrisk::GradientBoostedTrees(p).fit(train); calibrisk::IsotonicCalibrator cal;
///   cal.fit(model.predict_proba(calib.X), calib.y);
///   auto op = calibrisk::select_threshold(valid.y, cal.predict(model.predict_proba(valid.X)),
///                                         calibrisk::policy::min_recall(0.80));
/// @endcode
#pragma once

#include <calibrisk/version.hpp>

#include <calibrisk/core/dataset.hpp>
#include <calibrisk/core/error.hpp>
#include <calibrisk/core/fit_info.hpp>
#include <calibrisk/core/matrix.hpp>
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/core/random.hpp>
#include <calibrisk/core/weights.hpp>

#include <calibrisk/split/split.hpp>

#include <calibrisk/linear/logistic.hpp>

#include <calibrisk/trees/booster.hpp>
#include <calibrisk/trees/explain.hpp>
#include <calibrisk/trees/predict.hpp>
#include <calibrisk/trees/tree.hpp>

#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/calibrated.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/multiclass.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/calibration/prior.hpp>
#include <calibrisk/calibration/venn_abers.hpp>

#include <calibrisk/metrics/metrics.hpp>
#include <calibrisk/threshold/review.hpp>
#include <calibrisk/threshold/select.hpp>

#include <calibrisk/report/evaluate.hpp>
#include <calibrisk/report/multiclass.hpp>
#include <calibrisk/report/report.hpp>

#include <calibrisk/artifact/io.hpp>
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/serve.hpp>

#include <calibrisk/datasets/claims.hpp>
#include <calibrisk/datasets/readmission.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/io/table.hpp>

#include <calibrisk/workflow/data.hpp>
#include <calibrisk/workflow/params_text.hpp>
#include <calibrisk/workflow/train.hpp>
