// Wall-clock helpers. Timestamps are int64 microseconds since the Unix epoch, UTC, everywhere in
// sigil (database rows, object metadata, API output).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sigil {

using TimestampMicros = int64_t;

TimestampMicros NowMicros();
// "2024-01-02T03:04:05.123Z" (millisecond precision), as the API prints times.
std::string FormatIso8601(TimestampMicros t);
// "Tue, 02 Jan 2024 03:04:05 GMT" (RFC 7231 IMF-fixdate) for Last-Modified.
std::string FormatHttpDate(TimestampMicros t);
// Parses an IMF-fixdate; nullopt if malformed.
std::optional<TimestampMicros> ParseHttpDate(std::string_view s);
// "YYYY-MM-DD" of the UTC day containing t.
std::string FormatDate(TimestampMicros t);
// Start (00:00:00 UTC) of the day containing t.
TimestampMicros StartOfUtcDay(TimestampMicros t);

}  // namespace sigil
