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

# xtrain_mpiexec(out_var ranks): the command line that starts a program on `ranks` MPI processes
# (FindMPI's MPIEXEC_* variables), to be followed by the program and its arguments. Open MPI's
# mpirun refuses root (CI containers) and more ranks than cores unless told, so it is told.
function(xtrain_mpiexec out_var ranks)
  set(_cmd "${MPIEXEC_EXECUTABLE}" ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${MPIEXEC_PREFLAGS})
  # FindMPI does not always say whose MPI it found; the launcher does ("mpiexec (OpenRTE) 4.1.4").
  execute_process(COMMAND "${MPIEXEC_EXECUTABLE}" --version OUTPUT_VARIABLE _version ERROR_QUIET TIMEOUT 20)
  if(_version MATCHES "OpenRTE|Open MPI|open-mpi")
    list(APPEND _cmd --allow-run-as-root --oversubscribe)
  endif()
  set(${out_var} ${_cmd} PARENT_SCOPE)
endfunction()

# xtrain_mpi_test_environment(test...): tests that start MPI run with Open MPI's process-long
# buffers kept out of LeakSanitizer's report (tests/support/mpi_leaks.supp; full stacks and
# plug-ins kept loaded so that the suppressions can name them). Harmless without sanitizers.
function(xtrain_mpi_test_environment)
  set_tests_properties(${ARGN} PROPERTIES ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/support/mpi_leaks.supp:fast_unwind_on_malloc=0;OMPI_MCA_mca_base_component_disable_dlclose=1;PMIX_MCA_mca_base_component_disable_dlclose=1")
endfunction()
