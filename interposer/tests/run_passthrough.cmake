# Runs the pass-through client twice: plain (it must not see an interposer), then with
# LD_PRELOAD=PRELOAD and CONVX_EXPECT_INTERPOSER=1.
#  EXPECT=pass:     both runs succeed and print the same cuDNN statuses (the interposer forwarded
#                   every call and counted them as passed through).
#  EXPECT=bypassed: the preloaded run must FAIL with the client's loud diagnosis (the library
#                   loaded, but its exports were bypassed: wrong symbol version).
# With -DLIBPATH=<dir> instead of PRELOAD, the second run puts <dir> first on LD_LIBRARY_PATH (the
# forwarding libcudnn.so.9). -DNO_READBACK=ON skips the descriptor read-back check (for clients
# that make no call with real descriptors).
# Usage: cmake -DCLIENT=<exe> -DPRELOAD=<so> -DEXPECT=pass|bypassed -P run_passthrough.cmake
cmake_minimum_required(VERSION 3.20)
execute_process(COMMAND "${CMAKE_COMMAND}" -E env --unset=LD_PRELOAD --unset=CONVX_EXPECT_INTERPOSER "${CLIENT}"
  OUTPUT_VARIABLE plain_out ERROR_VARIABLE plain_err RESULT_VARIABLE plain_rc)
if(NOT plain_rc EQUAL 0)
  message(FATAL_ERROR "plain run failed (${plain_rc}):\n${plain_out}${plain_err}")
endif()
if(DEFINED LIBPATH)  # the forwarding libcudnn.so.9: first on the library path, no preload
  set(how "LD_LIBRARY_PATH=${LIBPATH}")
  set(PRELOAD "${LIBPATH}")
else()
  set(how "LD_PRELOAD=${PRELOAD}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E env "${how}" CONVX_EXPECT_INTERPOSER=1 CONVX_CUDNN=log CONVX_LOG=1 "${CLIENT}"
  OUTPUT_VARIABLE pre_out ERROR_VARIABLE pre_err RESULT_VARIABLE pre_rc)
message(STATUS "plain:\n${plain_out}${plain_err}")
message(STATUS "preloaded (${PRELOAD}):\n${pre_out}${pre_err}")
string(REGEX MATCH "statuses:[^\n]*" plain_statuses "${plain_out}")
string(REGEX MATCH "statuses:[^\n]*" pre_statuses "${pre_out}")
if(EXPECT STREQUAL "pass")
  if(NOT pre_rc EQUAL 0)
    message(FATAL_ERROR "preloaded run failed (${pre_rc})")
  endif()
  if(plain_statuses STREQUAL "" OR NOT plain_statuses STREQUAL pre_statuses)
    message(FATAL_ERROR "cuDNN's answers differ under the preload:\n  plain:     ${plain_statuses}\n  preloaded: ${pre_statuses}")
  endif()
  if(NO_READBACK)
    return()
  endif()
  # The descriptors were read back with cuDNN's getters into the problem they describe
  # (convx-bench grammar: dilation counts from 0, so cuDNN's dilation 2 is dh1).
  foreach(dir fwd bwd_d bwd_w)
    set(want "read back as --dir=${dir} --dt=f32 --math=fma --tag=nhwc g2mb2ic8ih9iw7oc16oh4ow3kh3kw3sh2sw2ph1pw1dh1dw1")
    string(FIND "${pre_err}" "${want}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the interposer's log lacks: ${want}")
    endif()
  endforeach()
elseif(EXPECT STREQUAL "bypassed")
  if(pre_rc EQUAL 0)
    message(FATAL_ERROR "the wrongly versioned preload went unnoticed: the client passed")
  endif()
  if(NOT pre_err MATCHES "bypassed")
    message(FATAL_ERROR "the preloaded run failed (${pre_rc}) but not with the client's diagnosis")
  endif()
else()
  message(FATAL_ERROR "EXPECT must be pass or bypassed")
endif()
