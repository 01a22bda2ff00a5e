#include "http/access_log.h"

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>

#include "http/message.h"

namespace sigil::http {
namespace {
constexpr size_t kFlushBytes = 32 * 1024;
}  // namespace

std::shared_ptr<spdlog::logger> MakeAccessLogger() {
  auto logger =
      std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  return logger;
}

AccessLog::AccessLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

AccessLog::~AccessLog() { Flush(); }

void AccessLog::FormatLine(std::string& out, const AccessRecord& r, std::string_view time) {
  out += "{\"time\":\"";
  out += time;
  out += "\",\"method\":";
  out += JsonQuote(r.method);
  out += ",\"path\":";
  out += JsonQuote(r.path);
  out += ",\"status\":";
  fmt::format_to(std::back_inserter(out), "{},\"bytes\":{},\"duration_ms\":{:.3f}", r.status,
                 r.bytes, r.duration_ms);
  out += ",\"request_id\":";
  out += JsonQuote(r.request_id);
  out += ",\"remote\":";
  out += JsonQuote(r.remote);
  out += ",\"route\":";
  out += JsonQuote(r.route);
  out += '}';
}

void AccessLog::Append(const AccessRecord& record) {
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t second = static_cast<std::time_t>(micros / 1000000);
  if (second != time_second_) {
    time_second_ = second;
    std::tm tm{};
    gmtime_r(&second, &tm);
    time_prefix_ = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  char time[40];
  auto end = fmt::format_to_n(time, sizeof(time) - 1, "{}{:03}Z", time_prefix_,
                              static_cast<int>((micros / 1000) % 1000));
  if (!buffer_.empty()) buffer_ += '\n';
  FormatLine(buffer_, record, std::string_view(time, end.out - time));
  if (buffer_.size() >= kFlushBytes) Flush();
}

void AccessLog::Flush() {
  if (buffer_.empty() || !logger_) return;
  logger_->info("{}", buffer_);
  logger_->flush();
  buffer_.clear();
}

}  // namespace sigil::http
