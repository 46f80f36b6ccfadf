# SPDX-License-Identifier: Apache-2.0
# Installs the already-built calibrisk into a scratch prefix, then configures, builds and runs
# examples/consumer/ against it with find_package(calibrisk CONFIG REQUIRED).
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
# Only the public API is installed: no internal header (they live beside their sources in src/).
file(GLOB_RECURSE internal RELATIVE ${SOURCE_DIR}/src ${SOURCE_DIR}/src/*.hpp)
list(APPEND internal core/radix_sort.hpp trees/histogram.hpp trees/binning.hpp
                     calibration/common.hpp calibration/logistic_newton.hpp)  # issue 10 §4
list(REMOVE_DUPLICATES internal)
foreach(h IN LISTS internal)
  if(EXISTS ${WORK_DIR}/prefix/include/calibrisk/${h})
    message(FATAL_ERROR "the internal header ${h} was installed as include/calibrisk/${h}")
  endif()
endforeach()
if(NOT EXISTS ${WORK_DIR}/prefix/include/calibrisk/serve.hpp)
  message(FATAL_ERROR "the scoring header calibrisk/serve.hpp was not installed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer project failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer project failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build --target test_consumer
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "running the consumer project failed (${rc})")
endif()
