# Cross-compiling the C++ core for aarch64 Linux with Debian's GNU cross toolchain
# (apt-get install g++-aarch64-linux-gnu). Tests run under qemu-user:
#   cmake -S . -B build-arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DQRT_BUILD_PYTHON=OFF
#   qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm/qrt_tests
# .ci/cross_aarch64.sh does all of this. Override the prefix with -DQRT_CROSS_PREFIX=... .
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(QRT_CROSS_PREFIX "aarch64-linux-gnu-" CACHE STRING "Prefix of the aarch64 cross tools")
set(CMAKE_C_COMPILER ${QRT_CROSS_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${QRT_CROSS_PREFIX}g++)

set(QRT_CROSS_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH "Target libraries (qemu -L uses the same)")
set(CMAKE_FIND_ROOT_PATH ${QRT_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the target binaries through qemu when it is installed.
find_program(QRT_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(QRT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QRT_QEMU_AARCH64} -L ${QRT_CROSS_SYSROOT})
endif()
