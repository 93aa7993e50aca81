# ctest driver of one libFuzzer target (see CMakeLists.txt here):
#   cmake -DFUZZER=<executable> -DSEEDS=<seed corpus dir> -DWORK=<work dir> -P run_fuzzer.cmake
# Copies the seeds into WORK/corpus (adding to what earlier runs found), fuzzes for
# $CONVX_FUZZ_SECONDS seconds (default 60) and fails when the fuzzer finds anything; the
# failing input is then in WORK/artifacts/ (emptied at the start of each run).
set(seconds 60)
if(DEFINED ENV{CONVX_FUZZ_SECONDS} AND NOT "$ENV{CONVX_FUZZ_SECONDS}" STREQUAL "")
  set(seconds "$ENV{CONVX_FUZZ_SECONDS}")
endif()
if(NOT seconds MATCHES "^[0-9]+$")
  message(FATAL_ERROR "CONVX_FUZZ_SECONDS='${seconds}' is not a whole number of seconds")
endif()
get_filename_component(name "${FUZZER}" NAME)
file(REMOVE_RECURSE "${WORK}/artifacts")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB seeds "${SEEDS}/*")
file(COPY ${seeds} DESTINATION "${WORK}/corpus")
message(STATUS "${name}: fuzzing for ${seconds} s from ${WORK}/corpus")
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${seconds} -timeout=60 -rss_limit_mb=4096 -print_final_stats=1
          "-artifact_prefix=${WORK}/artifacts/" "${WORK}/corpus"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found "${WORK}/artifacts/*")
  message(FATAL_ERROR "${name} failed (exit ${rc}). Failing input(s): ${found}\n"
                      "Reproduce: ${FUZZER} <input>")
endif()
message(STATUS "${name}: clean after ${seconds} s")
