// SPDX-License-Identifier: Apache-2.0
// The single doctest main of the unit tests; prints the library version first.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <calibrisk/version.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  bool listing = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (a[0] == '-' && (std::string(a).find("list") != std::string::npos)) listing = true;
  }
  if (!listing) std::printf("calibrisk %s unit tests\n", calibrisk::library_version());
  return context.run();
}
