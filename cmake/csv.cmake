# SPDX-License-Identifier: Apache-2.0
# Debian's libcsv (libcsv-dev) parses CSV input for the Table reader (src/io/csv.cpp). It is a
# private dependency: no calibrisk header includes csv.h. A static calibrisk names the library by
# its absolute path in the exported link interface, so consumers need nothing extra.
find_path(CSV_INCLUDE_DIR csv.h)
find_library(CSV_LIBRARY csv)
if(NOT CSV_INCLUDE_DIR OR NOT CSV_LIBRARY)
  message(FATAL_ERROR "libcsv not found (csv.h / libcsv); install it with `apt-get install libcsv-dev` "
                      "(scripts/install-deps.sh does).")
endif()
target_include_directories(calibrisk PRIVATE ${CSV_INCLUDE_DIR})
target_link_libraries(calibrisk PRIVATE ${CSV_LIBRARY})
