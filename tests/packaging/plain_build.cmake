# Builds and runs the consumer with nothing but a compiler command line:
#   c++ -std=c++17 -O2 -I<prefix>/include main.cpp -lopenblas -lz -pthread
# (xtensor and xtensor-blas live in /usr/include on Debian, so they need no -I).
get_filename_component(_dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_dir}")
execute_process(
  COMMAND "${CXX}" -std=c++17 -O2 -I "${PREFIX}/include" "${SOURCE}" -o "${OUTPUT}"
          -lopenblas -lz -pthread
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "compiling the consumer with plain flags failed (${_rc})")
endif()
execute_process(COMMAND "${OUTPUT}" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "the consumer built with plain flags failed (${_rc})")
endif()
