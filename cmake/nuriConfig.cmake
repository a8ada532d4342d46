# find_package(nuri) for programs built against an installed nuri: the imported target nuri::nuri
# (lib/libnuri.a, include/ with nuri/*.h) and the system libraries it links.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(PkgConfig)
pkg_check_modules(NURI_DEP_PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(NURI_DEP_SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
pkg_check_modules(NURI_DEP_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
get_filename_component(_nuri_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET nuri::nuri)
  add_library(nuri::nuri STATIC IMPORTED)
  set_target_properties(nuri::nuri PROPERTIES
    IMPORTED_LOCATION "${_nuri_prefix}/lib/libnuri.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_nuri_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_20
    INTERFACE_LINK_LIBRARIES "PkgConfig::NURI_DEP_PCRE2;PkgConfig::NURI_DEP_SECCOMP;PkgConfig::NURI_DEP_HTTPLIB;Threads::Threads")
endif()
set(nuri_FOUND TRUE)
