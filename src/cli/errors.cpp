// SPDX-License-Identifier: Apache-2.0
// Exception -> exit code mapping of the command-line tool.
#include "cli/errors.hpp"

namespace calibrisk::cli {

Classified classify(const std::exception& e) noexcept {
  // Order matters: InvalidParams derives from InvalidInput.
  if (dynamic_cast<const UsageError*>(&e) != nullptr ||
      dynamic_cast<const calibrisk::InvalidParams*>(&e) != nullptr) {
    return {kExitUsage, "usage error"};
  }
  if (dynamic_cast<const ModelFileError*>(&e) != nullptr ||
      dynamic_cast<const calibrisk::ModelFormatError*>(&e) != nullptr) {
    return {kExitModelFile, "model file error"};
  }
  if (dynamic_cast<const calibrisk::InvalidInput*>(&e) != nullptr) {
    return {kExitData, "data error"};
  }
  return {kExitInternal, "internal error"};
}

}  // namespace calibrisk::cli
