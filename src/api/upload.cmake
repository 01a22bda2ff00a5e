# POST /upload/ (see upload_handlers.h).
sigil_library(api_upload SOURCES ${CMAKE_CURRENT_LIST_DIR}/upload_handlers.cc
  DEPS sigil_upload sigil_api_error_mapping sigil_http)
