# Integration test of the Auth-Token hook and POST /upload/auth_info/ over a real http::Server.
if(TARGET sigil_test_support AND TARGET sigil_api_auth AND TARGET sigil_db_sqlite)
  sigil_test(it_auth_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth/auth_api_test.cc
    DEPS sigil_api_auth sigil_auth sigil_db_sqlite sigil_test_support Boost::json
    LABELS integration TIMEOUT 120)
endif()
