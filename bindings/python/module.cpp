// SPDX-License-Identifier: Apache-2.0
// The extension module calibrisk._core: registers every module's bindings.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "calibrisk C++ core (private; use the calibrisk package)";
  using namespace calibrisk::pyb;
  bind_core(m);
  bind_linear(m);
  bind_trees(m);
  bind_calibration(m);
  bind_metrics(m);
  bind_threshold(m);
  bind_artifact(m);
  bind_monitor(m);
  bind_datasets(m);
  bind_report(m);
  bind_workflow(m);
  bind_card(m);
  bind_categories(m);
  bind_target_stats(m);
  bind_distributed(m);
}
