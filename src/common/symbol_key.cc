#include "common/symbol_key.h"

#include <cctype>
#include <string>

namespace sigil {
namespace {

Status CheckPart(std::string_view what, std::string_view part) {
  if (part.empty()) return InvalidArgument(std::string(what) + " is empty");
  if (part.size() > SymbolKey::kMaxPartLength) {
    return InvalidArgument(std::string(what) + " is longer than " +
                           std::to_string(SymbolKey::kMaxPartLength) + " characters");
  }
  if (part == "." || part == "..")
    return InvalidArgument(std::string(what) + " is '" + std::string(part) + "'");
  for (unsigned char c : part) {
    if (c == '/' || !IsAllowedKeyChar(c)) {
      return InvalidArgument(std::string(what) + " '" + std::string(part) +
                             "' contains a character that is not allowed");
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsAllowedKeyChar(unsigned char c) {
  if (c < 0x20 || c == 0x7f) return false;
  switch (c) {
    case '\\':
    case '^':
    case '`':
    case '>':
    case '<':
    case '{':
    case '}':
    case '[':
    case ']':
    case '#':
    case '%':
    case '"':
    case '\'':
    case '|':
      return false;
    default:
      return true;
  }
}

bool IsHex(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

Result<SymbolKey> SymbolKey::Parse(std::string_view debug_file, std::string_view debug_id,
                                   std::string_view file, bool is_try) {
  SIGIL_RETURN_IF_ERROR(CheckPart("debug file", debug_file));
  SIGIL_RETURN_IF_ERROR(CheckPart("debug id", debug_id));
  SIGIL_RETURN_IF_ERROR(CheckPart("file name", file));
  if (!IsHex(debug_id)) {
    return InvalidArgument("debug id '" + std::string(debug_id) + "' is not hexadecimal");
  }
  SymbolKey key;
  key.debug_file = std::string(debug_file);
  key.debug_id.reserve(debug_id.size());
  for (unsigned char c : debug_id) key.debug_id.push_back(static_cast<char>(std::toupper(c)));
  key.file = std::string(file);
  key.is_try = is_try;
  return key;
}

Result<SymbolKey> SymbolKey::ParsePath(std::string_view path, bool is_try) {
  size_t a = path.find('/');
  if (a == std::string_view::npos)
    return InvalidArgument("'" + std::string(path) + "' is not <debug_file>/<debug_id>/<file>");
  size_t b = path.find('/', a + 1);
  if (b == std::string_view::npos || path.find('/', b + 1) != std::string_view::npos) {
    return InvalidArgument("'" + std::string(path) + "' is not <debug_file>/<debug_id>/<file>");
  }
  return Parse(path.substr(0, a), path.substr(a + 1, b - a - 1), path.substr(b + 1), is_try);
}

std::string SymbolKey::Path() const {
  std::string out;
  out.reserve(debug_file.size() + debug_id.size() + file.size() + 2);
  out.append(debug_file).append(1, '/').append(debug_id).append(1, '/').append(file);
  return out;
}

std::string SymbolKey::StorageKey() const {
  if (!is_try) return Path();
  std::string out = "try/";
  out.append(Path());
  return out;
}

}  // namespace sigil
