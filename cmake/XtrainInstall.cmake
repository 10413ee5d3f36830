# Install rules: headers, the exported target xtrain::xtrain, and a package config that finds
# xtrain's own dependencies, so a consumer needs only find_package(xtrain) and xtrain::xtrain.
include(CMakePackageConfigHelpers)

set(XTRAIN_CMAKECONFIG_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/cmake/xtrain"
    CACHE STRING "Where xtrain's CMake package files are installed")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/xtrain" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS xtrain EXPORT xtrainTargets)
install(EXPORT xtrainTargets
  NAMESPACE xtrain::
  DESTINATION "${XTRAIN_CMAKECONFIG_INSTALL_DIR}")
# xtrain::mpi in its own export set: the package config loads it only where MPI is found, so a
# consumer without MPI still gets xtrain::xtrain.
if(XTRAIN_HAVE_MPI)
  install(TARGETS xtrain_mpi EXPORT xtrainMpiTargets)
  install(EXPORT xtrainMpiTargets
    NAMESPACE xtrain::
    DESTINATION "${XTRAIN_CMAKECONFIG_INSTALL_DIR}")
endif()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/xtrainConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/xtrainConfig.cmake"
  INSTALL_DESTINATION "${XTRAIN_CMAKECONFIG_INSTALL_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/xtrainConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/xtrainConfig.cmake"
  "${PROJECT_BINARY_DIR}/xtrainConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/XtrainLibxsmm.cmake"
  DESTINATION "${XTRAIN_CMAKECONFIG_INSTALL_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/xtrain")
