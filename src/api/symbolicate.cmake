# POST /symbolicate/v5 and /symbolicate/v4.
if(TARGET sigil_symbolication)
  sigil_library(api_symbolicate SOURCES ${CMAKE_CURRENT_LIST_DIR}/symbolicate_handlers.cc
    DEPS sigil_symbolication sigil_api_error_mapping sigil_http)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/symbolicate_handlers_test.cc AND TARGET sigil_storage_fs)
    sigil_test(api_symbolicate_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/symbolicate_handlers_test.cc
      DEPS sigil_api_symbolicate sigil_storage_fs Boost::json ZLIB::ZLIB)
  endif()
endif()
