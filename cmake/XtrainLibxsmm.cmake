# Finds libxsmm (Debian: libxsmm-dev, static libraries in /usr/lib) and defines the imported
# target xtrain::libxsmm. Quiet when it is missing: xtrain works without it.
if(TARGET xtrain::libxsmm)
  return()
endif()
find_path(XTRAIN_LIBXSMM_INCLUDE_DIR libxsmm.h)
find_library(XTRAIN_LIBXSMM_LIBRARY NAMES xsmm libxsmm)
if(XTRAIN_LIBXSMM_INCLUDE_DIR AND XTRAIN_LIBXSMM_LIBRARY)
  find_package(Threads REQUIRED)
  find_package(BLAS REQUIRED)
  add_library(xtrain::libxsmm INTERFACE IMPORTED)
  set_target_properties(xtrain::libxsmm PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${XTRAIN_LIBXSMM_INCLUDE_DIR}"
    # libxsmm falls back to BLAS for what it does not generate, and generates code at run time (dl).
    INTERFACE_LINK_LIBRARIES "${XTRAIN_LIBXSMM_LIBRARY};BLAS::BLAS;Threads::Threads;${CMAKE_DL_LIBS}")
  message(STATUS "xtrain: libxsmm found (${XTRAIN_LIBXSMM_LIBRARY}): small-batch weight gradients use it")
else()
  message(STATUS "xtrain: libxsmm not found: dense layers call BLAS only")
endif()
