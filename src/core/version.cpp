// SPDX-License-Identifier: Apache-2.0
// The version the compiled library was built as.
#include <calibrisk/version.hpp>

namespace calibrisk {
const char* library_version() noexcept { return CALIBRISK_VERSION_STRING; }
}  // namespace calibrisk
