// Access log: one JSON line per request, written to stderr through spdlog.
//
// Each io thread has one AccessLog and appends lines to its buffer (under a mutex only the flush
// timer contends for); the buffer goes to spdlog as one message (several lines) when it holds
// 32 KB, when it is flushed (the server does every 250 ms) and on destruction. So lines reach
// stderr up to ~250 ms late, and the only lock taken (spdlog's console mutex) is taken once per
// batch, not per request.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace sigil::http {

struct AccessRecord {
  std::string_view method;
  std::string_view path;  // the raw request target's path, as received
  int status = 0;
  uint64_t bytes = 0;  // response body bytes sent
  double duration_ms = 0;
  std::string_view request_id;
  std::string_view remote;
  std::string_view route;  // route name, "" when none matched
};

// A logger writing raw lines ("%v") to stderr, not registered globally.
std::shared_ptr<spdlog::logger> MakeAccessLogger();

// Not thread-safe: one per io thread; the caller serializes Append and Flush.
class AccessLog {
 public:
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Append(const AccessRecord& record);
  void Flush();
  bool empty() const { return buffer_.empty(); }

  // Formats one line (no trailing newline); exposed for tests.
  static void FormatLine(std::string& out, const AccessRecord& record, std::string_view time);

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::string buffer_;
  std::time_t time_second_ = -1;
  std::string time_prefix_;  // "2024-01-02T03:04:05."
};

}  // namespace sigil::http
