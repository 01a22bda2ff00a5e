# Integration tests of downloads and missing symbols: real http::Server (TestServer), filesystem
# ObjectStore, SQLite, the upload pipeline (POST /upload/) and the in-process cache.
if(TARGET sigil_db_sqlite AND TARGET sigil_storage_fs AND TARGET sigil_test_support AND TARGET sigil_api_upload)
  sigil_test(download_api_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/download/download_test.cc
            ${CMAKE_CURRENT_LIST_DIR}/download/missing_symbols_test.cc
    DEPS sigil_api_download sigil_api_upload sigil_upload_testing sigil_cache_memory sigil_storage_fs
         sigil_db_sqlite sigil_test_support
    LABELS integration TIMEOUT 300)
  target_include_directories(download_api_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
endif()
