// Cache: bytes in, bytes out, with a TTL. Backends: in-process (cache/memory), Redis (cache/redis),
// memcached (cache/memcached). Memoize (cache/memoize.h) gives typed call-through caching on top.
//
// All methods are thread-safe. Remote backends block: call them from the worker pool. A backend
// that is down returns kUnavailable; callers treat that as a miss (an outage degrades to no
// caching, never to errors).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sigil::cache {

class Cache {
 public:
  virtual ~Cache() = default;

  virtual std::string Name() const = 0;  // "memory", "redis", "memcached"
  // nullopt on a miss.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // ttl > 0.
  virtual Status Set(std::string_view key, std::string_view value, std::chrono::seconds ttl) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // One result per key, in order.
  virtual Result<std::vector<std::optional<std::string>>> GetMulti(
      const std::vector<std::string>& keys) = 0;
  virtual Status Ping() = 0;
  // True when every call completes in process memory without I/O or waiting on another process, so
  // it may be called from an io thread (the download fast path). Remote backends keep the default.
  virtual bool InProcess() const { return false; }
};

// Keys are printable ASCII without spaces, at most 250 bytes (memcached's limit). Longer or unsafe
// keys are replaced by "<prefix>:sha256:<hex>" so every backend accepts every key.
std::string SafeCacheKey(std::string_view key);

}  // namespace sigil::cache
