# SPDX-License-Identifier: Apache-2.0
# Runs one fuzz target for the fuzz.* ctests on a scratch copy of its corpus,
# so the corpus in the repository is never changed. Fails when the fuzzer
# reports a crash, leak, timeout or failed check.
#   cmake -DFUZZER=path -DCORPUS=dir -DWORK=dir [-DRUNS=n] [-DTIME=s]
#         -P run_fuzzer.cmake
foreach(var FUZZER CORPUS WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT DEFINED RUNS)
  set(RUNS 20000)
endif()
if(NOT DEFINED TIME)
  set(TIME 30)
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
if(IS_DIRECTORY "${CORPUS}")
  file(GLOB seeds "${CORPUS}/*")
  if(seeds)
    file(COPY ${seeds} DESTINATION "${WORK}/corpus")
  endif()
endif()

execute_process(
  COMMAND "${FUZZER}" -runs=${RUNS} -max_total_time=${TIME} -timeout=10
          -rss_limit_mb=2048 -print_final_stats=1
          "-artifact_prefix=${WORK}/artifacts/" "${WORK}/corpus"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found "${WORK}/artifacts/*")
  message(FATAL_ERROR "${FUZZER} failed (${rc}); input(s): ${found}\n"
          "reproduce with: ${FUZZER} <input>")
endif()
