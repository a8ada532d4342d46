# Install: the nuri binary, the public headers (include/nuri), one merged static library
# (lib/libnuri.a: every module), a CMake package (find_package(nuri) -> nuri::nuri) and the
# default model. A third-party program builds against these only (examples/, tested by
# tests/examples/installed_api_test.sh).
include(GNUInstallDirs)
set(NURI_MERGED_LIB "${CMAKE_BINARY_DIR}/libnuri.a")
set(mri_lines "create ${NURI_MERGED_LIB}\n")
set(merged_deps "")
foreach(m IN LISTS NURI_MODULES)
  if(TARGET nuri_${m})
    string(APPEND mri_lines "addlib $<TARGET_FILE:nuri_${m}>\n")
    list(APPEND merged_deps nuri_${m})
  endif()
endforeach()
string(APPEND mri_lines "save\nend\n")
file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/libnuri.mri" CONTENT "${mri_lines}")
add_custom_command(OUTPUT "${NURI_MERGED_LIB}"
  COMMAND ${CMAKE_COMMAND} -E rm -f "${NURI_MERGED_LIB}"
  COMMAND sh -c "${CMAKE_AR} -M < ${CMAKE_BINARY_DIR}/libnuri.mri"
  DEPENDS ${merged_deps} "${CMAKE_BINARY_DIR}/libnuri.mri"
  COMMENT "Merging the module libraries into libnuri.a" VERBATIM)
add_custom_target(nuri_merged_lib ALL DEPENDS "${NURI_MERGED_LIB}")

install(TARGETS nuri RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY "${CMAKE_SOURCE_DIR}/include/nuri" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES "${NURI_MERGED_LIB}" DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES "${CMAKE_SOURCE_DIR}/cmake/nuriConfig.cmake" DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nuri)
if(EXISTS "${CMAKE_SOURCE_DIR}/models/nuri-tiny.gguf")
  install(FILES "${CMAKE_SOURCE_DIR}/models/nuri-tiny.gguf" DESTINATION ${CMAKE_INSTALL_DATADIR}/nuri)
endif()
