#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace sigil {
namespace {

std::tm ToTm(TimestampMicros t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000000 - (t % 1000000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

TimestampMicros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatIso8601(TimestampMicros t) {
  std::tm tm = ToTm(t);
  int64_t ms = ((t % 1000000) + 1000000) % 1000000 / 1000;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string FormatHttpDate(TimestampMicros t) {
  std::tm tm = ToTm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<TimestampMicros> ParseHttpDate(std::string_view s) {
  // "Tue, 02 Jan 2024 03:04:05 GMT"
  if (s.size() != 29 || s.substr(25) != " GMT") return std::nullopt;
  std::string str(s);
  std::tm tm{};
  char mon[4] = {};
  char day[4] = {};
  if (std::sscanf(str.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d", day, &tm.tm_mday, mon, &tm.tm_year,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7) {
    return std::nullopt;
  }
  int m = -1;
  for (int i = 0; i < 12; ++i) {
    if (std::strcmp(mon, kMonths[i]) == 0) m = i;
  }
  if (m < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_mon = m;
  tm.tm_year -= 1900;
  return static_cast<TimestampMicros>(timegm(&tm)) * 1000000;
}

std::string FormatDate(TimestampMicros t) {
  std::tm tm = ToTm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

TimestampMicros StartOfUtcDay(TimestampMicros t) {
  constexpr int64_t kDay = 86400LL * 1000000;
  int64_t d = t / kDay;
  if (t % kDay < 0) --d;
  return d * kDay;
}

}  // namespace sigil
