# SPDX-License-Identifier: Apache-2.0
# Fails when <calibrisk/serve.hpp> reaches a header that is neither calibrisk's own (under
# include/calibrisk) nor part of the compiler's C++ standard library / C library: the scoring
# header must not pull Eigen, Boost, nlohmann/json or any other third-party header into a service.
# Inputs: -DCXX=<compiler> -DSOURCE_DIR=<repo> -DBINARY_DIR=<build dir> [-DHEADER=calibrisk/serve.hpp]
#         [-DEXTRA_INCLUDES=<dir;dir>] (third-party include directories made available on purpose)
if(NOT HEADER)
  set(HEADER calibrisk/serve.hpp)
endif()
set(extra "")
foreach(dir IN LISTS EXTRA_INCLUDES)
  list(APPEND extra "-I${dir}")
endforeach()
# One probe file per header: the tests run in parallel (ctest -j) and must not share it.
string(MAKE_C_IDENTIFIER "${HEADER}" probe_name)
set(probe ${BINARY_DIR}/std_only_header_probe_${probe_name}.cpp)
file(WRITE ${probe} "#include <${HEADER}>\n")
execute_process(
  COMMAND ${CXX} -std=c++17 -M -I${SOURCE_DIR}/include -I${BINARY_DIR}/include ${extra} ${probe}
  OUTPUT_VARIABLE deps ERROR_VARIABLE err RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "preprocessing ${HEADER} failed (${rc}): ${err}")
endif()
string(REPLACE "\\\n" " " deps "${deps}")
string(REGEX REPLACE "^[^:]*:" "" deps "${deps}")
separate_arguments(deps UNIX_COMMAND "${deps}")
set(bad "")
set(n 0)
foreach(f IN LISTS deps)
  if(f STREQUAL probe)
    continue()
  endif()
  math(EXPR n "${n} + 1")
  get_filename_component(f "${f}" REALPATH)
  file(TO_CMAKE_PATH "${f}" f)
  if(f MATCHES "^${SOURCE_DIR}/include/calibrisk/" OR f MATCHES "^${BINARY_DIR}/include/calibrisk/")
    continue()  # calibrisk's own public headers
  endif()
  if(f MATCHES "/c\\+\\+/[0-9]+/" OR f MATCHES "/lib/gcc/" OR f MATCHES "/lib/clang/")
    continue()  # the compiler's C++ standard library and builtin headers
  endif()
  # The C library: a file directly in /usr/include (or its multiarch directory), or in the libc /
  # kernel-interface folders below them. Third-party libraries live in their own folders
  # (/usr/include/eigen3, /usr/include/boost, /usr/include/nlohmann) and are not accepted.
  if(f MATCHES "^/usr/include/([a-z0-9_]+-linux-gnu/)?[^/]+$" OR
     f MATCHES "^/usr/include/([a-z0-9_]+-linux-gnu/)?(bits|sys|gnu|asm|asm-generic|linux)/")
    continue()
  endif()
  list(APPEND bad "${f}")
endforeach()
if(bad)
  list(JOIN bad "\n  " shown)
  message(FATAL_ERROR "${HEADER} includes headers outside calibrisk and the standard library:\n  ${shown}")
endif()
message(STATUS "${HEADER}: ${n} headers, all from calibrisk or the standard library")
