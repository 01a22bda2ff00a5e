# Integration tests of POST /upload/: real http::Server (TestServer), filesystem ObjectStore, SQLite.
if(TARGET sigil_db_sqlite AND TARGET sigil_storage_fs AND TARGET sigil_test_support)
  sigil_test(upload_api_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/upload_api_test.cc ${CMAKE_CURRENT_LIST_DIR}/upload_concurrency_test.cc
            ${CMAKE_CURRENT_LIST_DIR}/upload_url_test.cc
    DEPS sigil_api_upload sigil_upload_testing sigil_storage_fs sigil_db_sqlite sigil_test_support Boost::json
    LABELS integration TIMEOUT 300)
  if(TARGET sigil_cli_upload)
    sigil_test(cli_upload_test SOURCES ${PROJECT_SOURCE_DIR}/src/cli/upload_command_test.cc
      DEPS sigil_cli_upload sigil_api_upload sigil_upload_testing sigil_storage_fs sigil_db_sqlite
           sigil_test_support Boost::json
      LABELS integration TIMEOUT 120)
  endif()
endif()
