sigil_library(api_error_mapping SOURCES ${CMAKE_CURRENT_LIST_DIR}/error_mapping.cc
  DEPS sigil_common sigil_http spdlog::spdlog)
