// SPDX-License-Identifier: Apache-2.0
/// @file metrics.hpp
/// Every public header of the metrics module.
#pragma once

#include <calibrisk/metrics/bootstrap.hpp>
#include <calibrisk/metrics/calibration_metrics.hpp>
#include <calibrisk/metrics/curves.hpp>
#include <calibrisk/metrics/intervals.hpp>
#include <calibrisk/metrics/multiclass.hpp>
#include <calibrisk/metrics/net_benefit.hpp>
#include <calibrisk/metrics/probabilistic.hpp>
#include <calibrisk/metrics/ranking.hpp>
#include <calibrisk/metrics/smooth_calibration.hpp>
#include <calibrisk/metrics/sorted_scores.hpp>
