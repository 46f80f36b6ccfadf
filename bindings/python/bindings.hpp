// SPDX-License-Identifier: Apache-2.0
// One bind_<module> function per C++ module, each defined in bind_<module>.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace calibrisk::pyb {
void bind_core(pybind11::module_& m);
void bind_linear(pybind11::module_& m);
void bind_trees(pybind11::module_& m);
void bind_calibration(pybind11::module_& m);
void bind_metrics(pybind11::module_& m);
void bind_threshold(pybind11::module_& m);
void bind_artifact(pybind11::module_& m);
void bind_monitor(pybind11::module_& m);
void bind_datasets(pybind11::module_& m);
void bind_report(pybind11::module_& m);
void bind_workflow(pybind11::module_& m);
void bind_card(pybind11::module_& m);
void bind_categories(pybind11::module_& m);
void bind_target_stats(pybind11::module_& m);
void bind_distributed(pybind11::module_& m);
}  // namespace calibrisk::pyb
