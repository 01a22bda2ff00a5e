#include "http/request_id.h"

#include "common/hashing.h"

namespace sigil::http {

std::string SanitizeRequestId(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (out.size() >= kMaxRequestIdLength) break;
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::string_view("._:@/+=-").find(c) != std::string_view::npos;
    if (ok) out += c;
  }
  return out;
}

RequestIdGenerator::RequestIdGenerator() : prefix_(RandomHex(8)) {}

std::string RequestIdGenerator::Next() {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  size_t n = 0;
  uint64_t v = ++counter_;
  do {
    digits[n++] = kHex[v & 0xf];
    v >>= 4;
  } while (v != 0);
  std::string id;
  id.reserve(prefix_.size() + 1 + n);
  id += prefix_;
  id += '-';
  while (n > 0) id += digits[--n];
  return id;
}

}  // namespace sigil::http
