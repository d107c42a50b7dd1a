# The project as an installable CMake package and a Debian package (included last by the root
# CMakeLists.txt, once every library exists).
#
#   cmake --install build/release --prefix /opt/otp     # headers, libraries, otp-node, otp-ctl,
#                                                      # lib/cmake/OtpCluster/
#   cd build/release && cpack -G DEB                    # otp-cluster_<version>_<arch>.deb
#
# A user's CMakeLists.txt then needs only
#   find_package(OtpCluster REQUIRED)
#   target_link_libraries(app PRIVATE otp::cluster)    # or otp::node, otp::testkit
# The imported targets carry their include directories and dependencies: the libraries are
# static, so their private dependencies (CAF, OpenSSL) are exported as link-only ones and
# OtpClusterConfig.cmake finds them again (find_dependency). Nothing of the build's own flags
# (otp_warnings: -Werror, the sanitizers) reaches a user's build (below).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(OTP_PACKAGE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/OtpCluster)

# Target -> exported name (otp::<name>). otp_allocator carries jemalloc (or nothing with
# OTP_ALLOCATOR=system) to every program linking otp::node.
set(OTP_EXPORTED_LIBRARIES otp_protocol otp_global otp_node otp_membership otp_cluster otp_allocator)
set_target_properties(otp_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(otp_global PROPERTIES EXPORT_NAME global)
set_target_properties(otp_node PROPERTIES EXPORT_NAME node)
set_target_properties(otp_membership PROPERTIES EXPORT_NAME membership)
set_target_properties(otp_cluster PROPERTIES EXPORT_NAME cluster)
set_target_properties(otp_allocator PROPERTIES EXPORT_NAME allocator)
set(OTP_PACKAGE_HAS_TESTKIT OFF)
if(TARGET otp_testkit)
  list(APPEND OTP_EXPORTED_LIBRARIES otp_testkit)
  set_target_properties(otp_testkit PROPERTIES EXPORT_NAME testkit)
  set(OTP_PACKAGE_HAS_TESTKIT ON)
endif()
# The libraries' CMakeLists are written for the build tree: their include directory is a source
# path and they link otp_warnings (-Werror, the sanitizers) privately, which a static library
# passes on as $<LINK_ONLY:otp_warnings>. Here both become $<BUILD_INTERFACE:...> for every
# exported library (its installed include directory is INCLUDES DESTINATION below), so no
# source path and none of the build's own flags reach a user's build, and a library added later
# needs only its line above.
foreach(target IN LISTS OTP_EXPORTED_LIBRARIES)
  get_target_property(includes ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(includes)
    set(build_includes)
    foreach(dir IN LISTS includes)
      string(FIND "${dir}" "${PROJECT_SOURCE_DIR}/" at)
      if(at EQUAL 0)
        set(dir "$<BUILD_INTERFACE:${dir}>")
      endif()
      list(APPEND build_includes "${dir}")
    endforeach()
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${build_includes}")
  endif()
  get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
  if(links)
    list(TRANSFORM links REPLACE "^otp_warnings$" "$<BUILD_INTERFACE:otp_warnings>")
    list(TRANSFORM links REPLACE "^\\$<LINK_ONLY:otp_warnings>$"
                                 "$<LINK_ONLY:$<BUILD_INTERFACE:otp_warnings>>")
    set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${links}")
  endif()
  # The headers use C++20 (designated initializers, concepts): a user's target gets it too.
  target_compile_features(${target} INTERFACE cxx_std_20)
endforeach()

install(TARGETS ${OTP_EXPORTED_LIBRARIES} EXPORT OtpClusterTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Every library's public headers live under include/otp/, so they merge into one tree.
set(OTP_PUBLIC_INCLUDE_DIRS protocol/include node/include node/global/include cluster/include
                            cluster/membership/include)
if(OTP_PACKAGE_HAS_TESTKIT)
  list(APPEND OTP_PUBLIC_INCLUDE_DIRS testkit/include)
endif()
foreach(dir IN LISTS OTP_PUBLIC_INCLUDE_DIRS)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
# The programs are exported too (otp::otp-node, otp::otp-ctl), so a user's tests can name them,
# e.g. $<TARGET_FILE:otp::otp-node> as a test kit ProcessCluster's program.
install(TARGETS otp-node otp-ctl EXPORT OtpClusterTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# What the install needs built, and no more (scripts/check-package.sh builds this, not all).
add_custom_target(package-contents)
add_dependencies(package-contents ${OTP_EXPORTED_LIBRARIES} otp-node otp-ctl)

install(EXPORT OtpClusterTargets NAMESPACE otp:: DESTINATION ${OTP_PACKAGE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/OtpClusterConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/OtpClusterConfig.cmake
                              INSTALL_DESTINATION ${OTP_PACKAGE_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/OtpClusterConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
# The find modules for what ships no CMake config of its own (Debian's CAF and jemalloc).
install(FILES ${PROJECT_BINARY_DIR}/OtpClusterConfig.cmake
              ${PROJECT_BINARY_DIR}/OtpClusterConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake ${PROJECT_SOURCE_DIR}/cmake/FindJemalloc.cmake
        DESTINATION ${OTP_PACKAGE_CMAKE_DIR})

# The Debian package: what `cmake --install` installs, under /usr. A development package, so it
# depends on the -dev packages of what the static libraries link (scripts/install-deps.sh); they
# bring the runtime libraries otp-node and otp-ctl need.
set(CPACK_PACKAGE_NAME otp-cluster)
set(CPACK_PACKAGE_VENDOR otp-cluster)
set(CPACK_PACKAGE_CONTACT "otp-cluster maintainers <otp-cluster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "OTP for C++ across machines: libraries, headers, CMake package, otp-node and otp-ctl")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)  # the programs without their debug info (78 MB of the .deb otherwise)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(OTP_DEB_DEPENDS "libcaf-dev (>= 0.17.6)" "libssl-dev" "libboost-system-dev (>= 1.74)"
                    "nlohmann-json3-dev (>= 3.11)")
if(OTP_ALLOCATOR STREQUAL "jemalloc")
  list(APPEND OTP_DEB_DEPENDS libjemalloc-dev)
endif()
list(JOIN OTP_DEB_DEPENDS ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libgtest-dev")  # tests written with otp::testkit
include(CPack)
