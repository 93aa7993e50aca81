# Installs the convx build into a fresh prefix, then configures, builds and runs the consumer
# project in tests/consumer against it with find_package(convx).
# Usage: cmake -DCONVX_BUILD_DIR=... -DWORK_DIR=... -DCONSUMER_SOURCE=... -DGENERATOR=...
#              -DC_COMPILER=... [-DCONFIG=...] [-DSANITIZE=...] -P run_consumer.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var CONVX_BUILD_DIR WORK_DIR CONSUMER_SOURCE GENERATOR C_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${what} failed (${rc})\n${out}\n${err}")
  endif()
  message(STATUS "consumer test: ${what}: OK")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

run_step("install" "${CMAKE_COMMAND}" --install "${CONVX_BUILD_DIR}" --prefix "${prefix}" --config "${CONFIG}")
if(NOT EXISTS "${prefix}/include/convx/convx.h")
  message(FATAL_ERROR "consumer test: the install has no include/convx/convx.h")
endif()

set(flags "")
if(SANITIZE)
  # the library was built with sanitizers: its runtime must come first in the consumer too
  set(flags "-DCMAKE_C_FLAGS=-fsanitize=${SANITIZE}" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE}")
endif()
run_step("configure" "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE}" -B "${build}" -G "${GENERATOR}"
  "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_BUILD_TYPE=${CONFIG}" "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON" "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF" ${flags})
run_step("build" "${CMAKE_COMMAND}" --build "${build}" --config "${CONFIG}")

# The consumer must have found this install, not some other convx.
file(STRINGS "${build}/CMakeCache.txt" convx_dir REGEX "^convx_DIR:")
string(FIND "${convx_dir}" "${prefix}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "consumer test: find_package(convx) did not use ${prefix}: ${convx_dir}")
endif()

set(exe "${build}/consumer")
if(NOT EXISTS "${exe}")
  set(exe "${build}/${CONFIG}/consumer")
endif()
run_step("run" "${exe}")
if(NOT step_output MATCHES "consumer OK")
  message(FATAL_ERROR "consumer test: unexpected output: ${step_output}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
