# FindJemalloc: locates jemalloc (Debian libjemalloc-dev), which ships no CMake config file.
# Defines the imported target Jemalloc::jemalloc. Installed with the OtpCluster package, whose
# otp::allocator links it the way the build tree does (cmake/OtpClusterPackage.cmake).
find_library(JEMALLOC_LIBRARY NAMES jemalloc)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Jemalloc REQUIRED_VARS JEMALLOC_LIBRARY)
if(Jemalloc_FOUND AND NOT TARGET Jemalloc::jemalloc)
  add_library(Jemalloc::jemalloc UNKNOWN IMPORTED)
  set_target_properties(Jemalloc::jemalloc PROPERTIES IMPORTED_LOCATION "${JEMALLOC_LIBRARY}")
endif()
mark_as_advanced(JEMALLOC_LIBRARY)
