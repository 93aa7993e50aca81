# Cross-build for 64-bit ARM Linux with Debian's cross toolchain (g++-aarch64-linux-gnu);
# tests run through qemu-user (qemu-aarch64) via CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

find_program(CONVX_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(CONVX_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${CONVX_QEMU_AARCH64};-L;/usr/aarch64-linux-gnu")
endif()
