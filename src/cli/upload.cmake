# `sigil upload` (see upload_command.h).
sigil_library(cli_upload SOURCES ${CMAKE_CURRENT_LIST_DIR}/upload_command.cc
  DEPS CLI11::CLI11 CURL::libcurl PkgConfig::LIBZIP Boost::json)
if(TARGET sigil_api_upload AND TARGET sigil_test_support AND TARGET sigil_storage_fs AND TARGET sigil_db_sqlite)
  sigil_test(cli_upload_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/upload_command_test.cc
    DEPS sigil_cli_upload sigil_api_upload sigil_upload_testing sigil_storage_fs sigil_db_sqlite
         sigil_test_support CLI11::CLI11
    LABELS integration)
endif()
