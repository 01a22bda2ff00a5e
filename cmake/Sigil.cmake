# Helpers that keep every module's CMakeLists.txt short and uniform.

set(SIGIL_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(SIGIL_WERROR)
  list(APPEND SIGIL_WARNINGS -Werror)
endif()

# sigil_library(<name> SOURCES ... [DEPS ...]) -> static library sigil_<name>, include root = src/.
function(sigil_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sigil_${name} STATIC ${ARG_SOURCES})
  target_include_directories(sigil_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(sigil_${name} PRIVATE ${SIGIL_WARNINGS})
  target_link_libraries(sigil_${name} PUBLIC ${ARG_DEPS})
endfunction()

# sigil_test(<name> SOURCES ... [DEPS ...] [LABELS unit|integration] [TIMEOUT s])
# -> executable <name>, registered with ctest; runs from the project root so ../shared resolves.
function(sigil_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE ${SIGIL_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    SIGIL_SHARED_DIR="${SIGIL_SHARED_DIR}"
    SIGIL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SIGIL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()
