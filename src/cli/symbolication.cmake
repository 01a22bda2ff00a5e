# `sigil index`, `sigil lookup`, `sigil symbolicate` (see symbolication_commands.h).
if(TARGET sigil_symbolication)
  sigil_library(cli_symbolication SOURCES ${CMAKE_CURRENT_LIST_DIR}/symbolication_commands.cc
    DEPS sigil_symbolication CLI11::CLI11 CURL::libcurl Boost::json)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/symbolication_commands_test.cc)
    sigil_test(cli_symbolication_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/symbolication_commands_test.cc
      DEPS sigil_cli_symbolication Boost::json)
  endif()
endif()
