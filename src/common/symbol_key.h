// SymbolKey: the one normalised identity of a symbol file, shared by upload, download,
// symbolication and the caches, so every layer agrees on what "the same symbol" is.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sigil {

struct SymbolKey {
  std::string debug_file;  // e.g. "xul.pdb"
  std::string debug_id;    // upper-case hex, e.g. "44E4EC8C2F41492B9369D6B9A059577C2"
  std::string file;        // e.g. "xul.sym"
  bool is_try = false;     // the try namespace (try builds), a flag rather than a string prefix

  // Validates and normalises the three parts: each non-empty, at most kMaxPartLength bytes, not "."
  // or
  // "..", no '/', no control characters, none of \ ^ ` > < { } [ ] # % " ' |; debug_id hex
  // (upper-cased). The error message says which part is wrong and why.
  static Result<SymbolKey> Parse(std::string_view debug_file, std::string_view debug_id,
                                 std::string_view file, bool is_try = false);
  // Parses "<debug_file>/<debug_id>/<file>" (exactly three parts).
  static Result<SymbolKey> ParsePath(std::string_view path, bool is_try = false);

  // Object store key: "<debug_file>/<debug_id>/<file>", or "try/<...>" for try symbols.
  // See docs/storage-layout.md.
  std::string StorageKey() const;
  // "<debug_file>/<debug_id>/<file>" without the namespace; the URL path below "/" or "/try/".
  std::string Path() const;

  bool operator==(const SymbolKey&) const = default;

  static constexpr size_t kMaxPartLength = 200;
};

// True if `c` may appear in a key part (see Parse).
bool IsAllowedKeyChar(unsigned char c);
// True if `s` is non-empty and all hex digits.
bool IsHex(std::string_view s);

}  // namespace sigil
