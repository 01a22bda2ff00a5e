// SymHeader: the identifying header of a Breakpad .sym file (MODULE, INFO CODE_ID, INFO GENERATOR),
// read from the first lines without parsing the rest of the file. Used by upload (recorded per
// stored file) and available to symbolication. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sigil {

struct SymHeader {
  std::string os;          // "windows", "Linux", "mac", ...
  std::string arch;        // "x86_64", "x86", "arm64", ...
  std::string debug_id;    // as written in the file (hex)
  std::string debug_file;  // the module's debug file name, e.g. "xul.pdb" (may contain spaces)
  std::string code_id;     // from INFO CODE_ID; "" when absent
  std::string code_file;   // from INFO CODE_ID's optional second field; "" when absent
  std::string generator;   // from INFO GENERATOR; "" when absent
};

// The header lines are at the very start of a file; a caller that reads a prefix needs at most this
// many bytes (longer header lines are not accepted).
inline constexpr size_t kSymHeaderMaxBytes = 64 * 1024;

// Parses the header from `prefix`, the first bytes of a .sym file (at most kSymHeaderMaxBytes are
// read). Lines end in "\n" or "\r\n". A last line without a newline is used only when `at_eof` (the
// prefix is the whole file). The first line must be `MODULE <os> <arch> <id> <name>`; following
// INFO lines are read until the first line that is not an INFO record. Errors (kInvalidArgument)
// say what is wrong.
Result<SymHeader> ParseSymHeader(std::string_view prefix, bool at_eof);

}  // namespace sigil
