# End-to-end tests of the real `sigil` binary (what `make run` starts) and of the scale-out topology.
sigil_library(it_sigil_process SOURCES ${CMAKE_CURRENT_LIST_DIR}/support/sigil_process.cc
  DEPS sigil_it_services sigil_common)
target_include_directories(sigil_it_sigil_process PUBLIC ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(sigil_it_sigil_process PRIVATE SIGIL_BINARY_DIR="${PROJECT_BINARY_DIR}")

set(_e2e ${CMAKE_CURRENT_LIST_DIR}/e2e)
sigil_test(it_binary_test SOURCES ${_e2e}/binary_test.cc
  DEPS sigil_it_sigil_process sigil_test_support Boost::json LABELS integration TIMEOUT 300)
add_dependencies(it_binary_test sigil)

sigil_test(it_multinode_test SOURCES ${_e2e}/multinode_test.cc
  DEPS sigil_it_sigil_process sigil_it_s3rver sigil_test_support Boost::json LABELS integration TIMEOUT 300)
add_dependencies(it_multinode_test sigil)
