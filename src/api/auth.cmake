# POST /upload/auth_info/ (auth_handlers.h).
sigil_library(api_auth SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_handlers.cc
  DEPS sigil_auth sigil_http sigil_common)
sigil_test(api_auth_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_handlers_test.cc
  DEPS sigil_api_auth sigil_db_sqlite Boost::json)
