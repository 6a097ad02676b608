# SPDX-License-Identifier: Apache-2.0
# Install the headers and a relocatable package config so that consumers can
# find_package(ropekit CONFIG REQUIRED) and link ropekit::ropekit.
include(CMakePackageConfigHelpers)

set(ROPEKIT_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/ropekit)

install(TARGETS ropekit EXPORT ropekitTargets)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ropekit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ropekitTargets NAMESPACE ropekit:: DESTINATION ${ROPEKIT_CMAKE_DIR})
export(EXPORT ropekitTargets NAMESPACE ropekit::
       FILE ${PROJECT_BINARY_DIR}/ropekitTargets.cmake)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/ropekitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ropekitConfig.cmake
  INSTALL_DESTINATION ${ROPEKIT_CMAKE_DIR})
# Header-only: the same package serves 32- and 64-bit consumers.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/ropekitConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/ropekitConfig.cmake
              ${PROJECT_BINARY_DIR}/ropekitConfigVersion.cmake
        DESTINATION ${ROPEKIT_CMAKE_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ropekit)
