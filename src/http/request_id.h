// Request ids: taken from the client's X-Request-Id when usable, generated otherwise; echoed in the
// response and written to the access log.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sigil::http {

inline constexpr size_t kMaxRequestIdLength = 64;

// Keeps only [A-Za-z0-9._:@/+=-] characters of a client-provided id and truncates it to 64; "" when
// nothing is left (the caller then generates one).
std::string SanitizeRequestId(std::string_view raw);

// Generates ids unique within the process (and, with overwhelming probability, across processes):
// "<16 hex random per generator>-<counter hex>". Not thread-safe: one per io thread.
class RequestIdGenerator {
 public:
  RequestIdGenerator();
  std::string Next();

 private:
  std::string prefix_;
  uint64_t counter_ = 0;
};

}  // namespace sigil::http
