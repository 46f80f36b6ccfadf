# SPDX-License-Identifier: Apache-2.0
# The consumer's scoring check: make_model writes a model file, rows and the expected scores;
# score_csv (which only loads the file) must reproduce the scores byte for byte; a bad row and a
# truncated model file must be reported as errors.
# Inputs: -DMAKE_MODEL=<exe> -DSCORE=<exe> -DWORK=<dir>
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${MAKE_MODEL} ${WORK}/model.json ${WORK}/rows.csv ${WORK}/expected.csv
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "make_model failed (${rc})")
endif()
execute_process(COMMAND ${SCORE} ${WORK}/model.json INPUT_FILE ${WORK}/rows.csv
                OUTPUT_FILE ${WORK}/scored.csv RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "score_csv failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/scored.csv ${WORK}/expected.csv
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "score_csv output differs from the in-process scores (${WORK}/scored.csv)")
endif()

file(WRITE ${WORK}/bad.csv "age,lab,source\n50,0.1,1\n50,0.1\n51,abc,2\n")
execute_process(COMMAND ${SCORE} ${WORK}/model.json INPUT_FILE ${WORK}/bad.csv
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc OR NOT err MATCHES "line 3 has 2 fields" OR NOT err MATCHES "line 4, column 2")
  message(FATAL_ERROR "bad rows were not reported (rc ${rc}): ${err}")
endif()

file(READ ${WORK}/model.json text)
string(SUBSTRING "${text}" 0 500 truncated)
file(WRITE ${WORK}/truncated.json "${truncated}")
execute_process(COMMAND ${SCORE} ${WORK}/truncated.json INPUT_FILE ${WORK}/rows.csv
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc OR NOT err MATCHES "load: invalid JSON at byte")
  message(FATAL_ERROR "a truncated model file was not rejected (rc ${rc}): ${err}")
endif()
message(STATUS "consumer scoring check passed")
