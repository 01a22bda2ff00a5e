#include "cache/memoize.h"

#include <charconv>
#include <random>

namespace sigil::cache {

std::string KeyPart(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == ':' || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace internal {

uint64_t RandomGeneration() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32 | rd()) >>
         1;  // >> 1: room to count up without wrapping
}

Status AlreadyCalled(std::string_view key) {
  return AlreadyExists(std::string(key) + ": already called within its TTL");
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> ParseUint64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace internal
}  // namespace sigil::cache
