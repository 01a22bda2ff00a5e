execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  OUTPUT_VARIABLE SIGIL_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT SIGIL_GIT_COMMIT)
  set(SIGIL_GIT_COMMIT unknown)
endif()
string(TIMESTAMP SIGIL_BUILD_TIME "%Y-%m-%dT%H:%M:%SZ" UTC)
sigil_library(api_ops SOURCES ${CMAKE_CURRENT_LIST_DIR}/ops_handlers.cc
  DEPS sigil_common sigil_http Boost::json)
# Only this file sees the build stamp, so a new commit recompiles one translation unit.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/ops_handlers.cc PROPERTIES COMPILE_DEFINITIONS
  "SIGIL_VERSION=\"${PROJECT_VERSION}\";SIGIL_GIT_COMMIT=\"${SIGIL_GIT_COMMIT}\";SIGIL_BUILD_TIME=\"${SIGIL_BUILD_TIME}\"")
sigil_test(api_ops_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/ops_handlers_test.cc DEPS sigil_api_ops)
