// SPDX-License-Identifier: Apache-2.0
// calibrisk._core._monitor_json: monitor() of a pipeline on a batch, returned as the JSON document
// `calibrisk monitor --json` writes (Pipeline.monitor parses it), so Python and the CLI report the
// same values.
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/monitor/monitor.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

#include <pybind11/stl.h>

#include <string>

namespace calibrisk::pyb {
namespace {

// Sets the MonitorOptions fields named in `kw` (unknown names are rejected by the caller).
struct SetOptions {
  MonitorOptions& o;
  const py::dict& kw;
  int used = 0;
  template <class T>
  void operator()(const char* name, T MonitorOptions::*m, const ParamSpec&, const char*) {
    if (!kw.contains(name)) return;
    o.*m = kw[name].cast<T>();
    ++used;
  }
};

}  // namespace

void bind_monitor(py::module_& m) {
  m.def(
      "_monitor_json",
      [](const Pipeline& p, const py::object& X, const py::object& y, const py::dict& options) {
        MonitorOptions o;
        SetOptions set{o, options};
        MonitorOptions::fields(set);
        if (set.used != static_cast<int>(options.size())) {
          std::string names;
          auto list = [&names](const char* n, auto, const ParamSpec&, const char*) {
            names += (names.empty() ? "" : ", ") + std::string(n);
          };
          MonitorOptions::fields(list);
          throw InvalidParams("Pipeline.monitor: unknown threshold keyword; the thresholds are " +
                              names + ".");
        }
        FeatureArg xa = as_features(X, "Pipeline.monitor");
        VectorArg ya = as_vector(y, "Pipeline.monitor", "y", true);
        std::string out;
        {
          py::gil_scoped_release release;
          out = monitor(p, xa.view, ya.view, o).to_json();
        }
        return out;
      },
      py::arg("pipeline"), py::arg("X"), py::arg("y"), py::arg("options"),
      "monitor() as the JSON document of `calibrisk monitor --json`.");
}

}  // namespace calibrisk::pyb
