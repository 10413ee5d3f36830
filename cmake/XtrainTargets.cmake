# Helpers for xtrain's own targets (tests, examples, benchmarks). Flags are set per target, never
# through CMAKE_CXX_FLAGS, so a parent project's settings are left alone.

# Warnings as the house rules ask; xtensor and friends come in as system includes.
function(xtrain_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(XTRAIN_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# The numerics xtrain's own programs are built with (not forced on consumers; docs/using.md):
# - -fno-math-errno: the optimizer steps take square roots inside vectorised loops; with errno
#   semantics the compiler cannot vectorise them. xtrain never reads errno after a math call.
# - -ffp-contract=off: no contraction of a * b + c into fused multiply-adds behind the code's back.
#   Where FMA exists (-march=native, aarch64) the compiler would fuse in a loop's vector body but not
#   always in its scalar tail, so a parameter's value would depend on its position in the buffer, and
#   the tests' PyTorch references could not be matched. xtrain asks for FMA explicitly (std::fma)
#   where it wants one.
function(xtrain_set_numerics target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-fno-math-errno -ffp-contract=off>)
endfunction()

# xtrain_add_executable(name SOURCES a.cpp b.cpp [LIBRARIES lib...])
function(xtrain_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE xtrain::xtrain ${ARG_LIBRARIES})
  xtrain_set_warnings(${name})
  xtrain_set_numerics(${name})
endfunction()
