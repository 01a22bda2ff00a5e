#include "storage/object_store.h"

namespace sigil::storage {

Status ValidateKey(std::string_view key) {
  auto bad = [&](const char* why) {
    return InvalidArgument("invalid storage key '" + std::string(key.substr(0, 200)) + "': " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.size() > 1024) return bad("longer than 1024 bytes");
  if (key.front() == '/') return bad("absolute path");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return bad("control character");
    if (c == '\\') return bad("backslash");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    if (part.empty()) return bad("empty path component");
    if (part == "." || part == "..") return bad("'.' or '..' component");
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace sigil::storage
