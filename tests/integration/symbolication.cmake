# Symbolication API over a real http::Server: Eliot's request/response pairs, error cases, JSON
# Schemas, negative cache + invalidation, upstream retries and single flight.
if(TARGET sigil_api_symbolicate AND TARGET sigil_storage_fs AND TARGET sigil_test_support)
  sigil_test(symbolicate_api_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/symbolication/symbolicate_api_test.cc
    DEPS sigil_api_symbolicate sigil_storage_fs sigil_test_support Boost::json ZLIB::ZLIB
    LABELS integration TIMEOUT 300)
endif()
