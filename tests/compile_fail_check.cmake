# Runs one compile-fail test (cmake -P): builds TARGET in BUILD_DIR and checks that the build fails
# with a diagnostic containing, verbatim, the text in EXPECTED_FILE (a static_assert's message, say).
#   cmake -DBUILD_DIR=<dir> -DTARGET=<target> -DEXPECTED_FILE=<file> -P compile_fail_check.cmake
# The expected text travels in a file, never on a command line or in a test property: CMake splits
# lists at ';', and ctest reads PASS_REGULAR_EXPRESSION as a list of alternatives, so a message
# such as "... fixed at compile time; use ..." would otherwise be cut at its first ';'.
#
# The outcome is the last line printed, one of:
#   compile-fail: PASS ...                      the build failed with the expected message
#   compile-fail: COMPILED ...                  the source compiled (it must not)
#   compile-fail: MESSAGE NOT FOUND ...         it failed, but without the expected message
# and the exit status is 0 for PASS only. The check of a deliberately changed message (registered
# beside every compile-fail test) passes on MESSAGE NOT FOUND and on nothing else.
foreach(_var BUILD_DIR TARGET EXPECTED_FILE)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "compile-fail: ${_var} is not set (see the top of compile_fail_check.cmake)")
  endif()
endforeach()
if(NOT EXISTS "${EXPECTED_FILE}")
  message(FATAL_ERROR "compile-fail: ${EXPECTED_FILE} does not exist")
endif()
file(READ "${EXPECTED_FILE}" _expected)
string(LENGTH "${_expected}" _expected_length)
if(_expected_length EQUAL 0)
  message(FATAL_ERROR "compile-fail: the expected message in ${EXPECTED_FILE} is empty: it would match anything")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
                RESULT_VARIABLE _result
                OUTPUT_VARIABLE _output
                ERROR_VARIABLE _output)
message("${_output}")
message("compile-fail: expected message: ${_expected}")
# The outcome goes out through message() (FATAL_ERROR would wrap it across lines).
if(_result EQUAL 0)
  message("compile-fail: COMPILED: ${TARGET} built without error, but it must not compile")
  message(FATAL_ERROR "compile-fail: failed")
endif()
string(FIND "${_output}" "${_expected}" _at)
if(_at EQUAL -1)
  message("compile-fail: MESSAGE NOT FOUND: building ${TARGET} failed, but not with the expected message")
  message(FATAL_ERROR "compile-fail: failed")
endif()
message("compile-fail: PASS: building ${TARGET} failed with the expected message")
