// SPDX-License-Identifier: Apache-2.0
// Python bindings of the report module.
#include "arrays.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

void bind_report(py::module_& m) { (void)m; }

}  // namespace calibrisk::pyb
