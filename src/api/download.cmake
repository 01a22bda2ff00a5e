# Symbol download routes (GET|HEAD /<debug_file>/<debug_id>/<file>, /try/..., /api/syminfo) and the
# missing-symbols reports.
sigil_library(api_download SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/download_handlers.cc
  ${CMAKE_CURRENT_LIST_DIR}/missing_symbols_handlers.cc
  DEPS sigil_download sigil_api_error_mapping sigil_http sigil_common)
sigil_test(api_download_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/download_handlers_test.cc
  DEPS sigil_api_download sigil_cache_memory)
