// SPDX-License-Identifier: Apache-2.0
// Python bindings of the linear module.
#include "arrays.hpp"
#include "bindings.hpp"

namespace calibrisk::pyb {

void bind_linear(py::module_& m) { (void)m; }

}  // namespace calibrisk::pyb
