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

# xtrain_add_executable(name SOURCES a.cpp b.cpp [LIBRARIES lib...])
function(xtrain_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE xtrain::xtrain ${ARG_LIBRARIES})
  xtrain_set_warnings(${name})
endfunction()
