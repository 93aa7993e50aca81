# FindCUDNN — locates cuDNN 9 headers and library.
#
# Searched, in order: CUDNN_ROOT (variable or environment), the CUDA toolkit, the system
# library paths, and pip's wheel layout (site-packages/nvidia/cudnn, where only the versioned
# libcudnn.so.9 exists, with no libcudnn.so link).
#
# Defines CUDNN_FOUND, CUDNN_INCLUDE_DIR, CUDNN_LIBRARY, CUDNN_VERSION and the imported
# target CUDNN::cudnn.

set(_cudnn_hints "")
foreach(_root IN ITEMS "${CUDNN_ROOT}" "$ENV{CUDNN_ROOT}" "${CUDAToolkit_LIBRARY_ROOT}" "$ENV{CUDA_HOME}" "/usr/local/cuda")
  if(_root)
    list(APPEND _cudnn_hints "${_root}")
  endif()
endforeach()

# pip's nvidia-cudnn-cu1x wheels: <site-packages>/nvidia/cudnn/{include,lib}
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import site, sysconfig; print(';'.join([sysconfig.get_paths()['purelib']] + site.getsitepackages() + [site.getusersitepackages()]))"
    OUTPUT_VARIABLE _py_sites OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  foreach(_site IN LISTS _py_sites)
    if(EXISTS "${_site}/nvidia/cudnn")
      list(APPEND _cudnn_hints "${_site}/nvidia/cudnn")
    endif()
  endforeach()
endif()

find_path(CUDNN_INCLUDE_DIR NAMES cudnn_version.h cudnn.h
  HINTS ${_cudnn_hints} PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
  HINTS ${_cudnn_hints} PATH_SUFFIXES lib64 lib lib/x86_64-linux-gnu lib/aarch64-linux-gnu)

if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_INCLUDE_DIR}/cudnn_version.h")
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _cudnn_ver REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
  foreach(_part MAJOR MINOR PATCHLEVEL)
    string(REGEX MATCH "CUDNN_${_part} +([0-9]+)" _m "${_cudnn_ver}")
    set(_cudnn_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  set(CUDNN_VERSION "${_cudnn_MAJOR}.${_cudnn_MINOR}.${_cudnn_PATCHLEVEL}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR VERSION_VAR CUDNN_VERSION)

if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn SHARED IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES
    IMPORTED_LOCATION "${CUDNN_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
