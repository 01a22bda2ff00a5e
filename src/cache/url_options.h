// Query options shared by the remote cache backends' URLs (redis://, memcached://).
//
//   connect_timeout_ms  [1, 600000]  default 250
//   timeout_ms          [1, 600000]  default 500
//   retry_ms            [0, 600000]  default 1000 (how long a failed server is left alone)
//   pool_size           [1, 1024]    default 16
//
// Each backend's options struct derives from ConnectionOptions and handles its own extra options.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace sigil::cache {

struct ConnectionOptions {
  std::chrono::milliseconds connect_timeout{250};
  std::chrono::milliseconds timeout{500};
  std::chrono::milliseconds retry_interval{1000};
  int pool_size = 16;
};

// Parses all of `value` as a decimal integer in [min, max]. On failure kInvalidArgument:
// `<subject> <name> must be an integer in [<min>, <max>], got "<value>"`.
Result<int64_t> ParseUrlInt(std::string_view subject, std::string_view name, std::string_view value,
                            int64_t min, int64_t max);

// If `key` is one of the ConnectionOptions keys above, parses `value` into `options` and returns
// true; returns false for any other key (left to the caller). `subject` prefixes error messages
// (e.g. "redis URL option").
Result<bool> ParseConnectionOption(std::string_view subject, std::string_view key,
                                   std::string_view value, ConnectionOptions& options);

}  // namespace sigil::cache
