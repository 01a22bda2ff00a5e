#include "cache/url_options.h"

#include <charconv>
#include <string>

namespace sigil::cache {

Result<int64_t> ParseUrlInt(std::string_view subject, std::string_view name, std::string_view value,
                            int64_t min, int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < min || v > max) {
    return InvalidArgument(std::string(subject) + " " + std::string(name) +
                           " must be an integer in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "], got \"" + std::string(value) + "\"");
  }
  return v;
}

Result<bool> ParseConnectionOption(std::string_view subject, std::string_view key,
                                   std::string_view value, ConnectionOptions& options) {
  if (key == "connect_timeout_ms") {
    SIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseUrlInt(subject, key, value, 1, 600000));
    options.connect_timeout = std::chrono::milliseconds(ms);
  } else if (key == "timeout_ms") {
    SIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseUrlInt(subject, key, value, 1, 600000));
    options.timeout = std::chrono::milliseconds(ms);
  } else if (key == "retry_ms") {
    SIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseUrlInt(subject, key, value, 0, 600000));
    options.retry_interval = std::chrono::milliseconds(ms);
  } else if (key == "pool_size") {
    SIGIL_ASSIGN_OR_RETURN(int64_t n, ParseUrlInt(subject, key, value, 1, 1024));
    options.pool_size = static_cast<int>(n);
  } else {
    return false;
  }
  return true;
}

}  // namespace sigil::cache
