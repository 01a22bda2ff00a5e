// SymbolFilter: which download requests are ignored without touching storage (Tecken's rules):
// the file "file.ptr", an all-zero 33-character debug id, and file names not ending in an allowed
// extension. The extension check is precomputed: suffixes are grouped by length, so a check costs
// one comparison per distinct suffix length against a tiny set (no loop over every extension).
// Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sigil::download {

class SymbolFilter {
 public:
  // `allowed_extensions`: suffixes such as ".sym" or ".dbg.gz" (matched case-sensitively, like
  // Tecken). An empty list allows every file name.
  explicit SymbolFilter(const std::vector<std::string>& allowed_extensions);

  bool HasAllowedExtension(std::string_view filename) const;
  // True when the request must be answered "Symbol Not Found (and ignored)".
  bool IsIgnored(std::string_view debug_file, std::string_view debug_id,
                 std::string_view filename) const;

 private:
  struct Group {
    size_t length;
    std::vector<std::string> suffixes;  // all of `length` bytes, sorted
  };
  std::vector<Group> groups_;  // by length, ascending
  bool allow_all_ = false;
};

}  // namespace sigil::download
