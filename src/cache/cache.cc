#include "cache/cache.h"

#include "common/hashing.h"

namespace sigil::cache {

std::string SafeCacheKey(std::string_view key) {
  bool safe = key.size() <= 250 && !key.empty();
  for (unsigned char c : key) {
    if (c <= 0x20 || c >= 0x7f) {
      safe = false;
      break;
    }
  }
  if (safe) return std::string(key);
  size_t colon = key.find(':');
  std::string prefix =
      colon != std::string_view::npos && colon < 64 ? std::string(key.substr(0, colon)) : "k";
  for (char& c : prefix) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '_';
  }
  return prefix + ":sha256:" + Sha256Hex(key);
}

}  // namespace sigil::cache
