# SPDX-License-Identifier: Apache-2.0
# Install the headers and a relocatable package config so that consumers can
# find_package(ropekit CONFIG REQUIRED) and link ropekit::ropekit (C++,
# header-only) or ropekit::c / ropekit::c_static (the C API's libraries),
# plus a pkg-config file for the C API.
include(CMakePackageConfigHelpers)

if(TARGET ropekit_c)
  # Compiled libraries make the package architecture-specific.
  set(ROPEKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ropekit)
  set(ropekit_arch_independent "")
else()
  set(ROPEKIT_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/ropekit)
  set(ropekit_arch_independent ARCH_INDEPENDENT)
endif()

install(TARGETS ropekit EXPORT ropekitTargets)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ropekit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ropekitTargets NAMESPACE ropekit:: DESTINATION ${ROPEKIT_CMAKE_DIR})
export(EXPORT ropekitTargets NAMESPACE ropekit::
       FILE ${PROJECT_BINARY_DIR}/ropekitTargets.cmake)

if(TARGET ropekit_c)
  install(TARGETS ropekit_c ropekit_c_static EXPORT ropekitCTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT ropekitCTargets NAMESPACE ropekit:: DESTINATION ${ROPEKIT_CMAKE_DIR})
  export(EXPORT ropekitCTargets NAMESPACE ropekit::
         FILE ${PROJECT_BINARY_DIR}/ropekitCTargets.cmake)
  # pkg-config: prefix relative to the .pc file, so the install relocates.
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(ROPEKIT_PC_TO_PREFIX "${CMAKE_INSTALL_PREFIX}")
    message(WARNING "ropekit: absolute CMAKE_INSTALL_LIBDIR; ropekit.pc is not relocatable")
  else()
    file(RELATIVE_PATH ROPEKIT_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/ropekit.pc.in ${PROJECT_BINARY_DIR}/ropekit.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/ropekit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/ropekitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ropekitConfig.cmake
  INSTALL_DESTINATION ${ROPEKIT_CMAKE_DIR})
# Header-only without the C API: the same package serves 32- and 64-bit
# consumers.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/ropekitConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ${ropekit_arch_independent})
install(FILES ${PROJECT_BINARY_DIR}/ropekitConfig.cmake
              ${PROJECT_BINARY_DIR}/ropekitConfigVersion.cmake
        DESTINATION ${ROPEKIT_CMAKE_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ropekit)
