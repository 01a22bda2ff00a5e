# `sigil upload` (see upload_command.h).
sigil_library(cli_upload SOURCES ${CMAKE_CURRENT_LIST_DIR}/upload_command.cc
  DEPS CLI11::CLI11 CURL::libcurl PkgConfig::LIBZIP Boost::json)
