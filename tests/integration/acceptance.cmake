# Acceptance checks of the foundation and scale-out issues against the real `sigil` binary: the three
# S3 download modes, a cache outage seen from outside, startup errors, and README.md's commands run as
# written. Uses the helpers of e2e.cmake (sigil_it_sigil_process) and s3.cmake (sigil_it_s3rver).
set(_acceptance ${CMAKE_CURRENT_LIST_DIR}/acceptance)
sigil_test(it_acceptance_test
  SOURCES ${_acceptance}/s3_download_modes_test.cc ${_acceptance}/cache_outage_test.cc
          ${_acceptance}/startup_errors_test.cc ${_acceptance}/readme_test.cc
          ${_acceptance}/memcached_nodes_test.cc
  DEPS sigil_it_sigil_process sigil_it_s3rver sigil_test_support Boost::json
  LABELS integration TIMEOUT 300)
add_dependencies(it_acceptance_test sigil)
