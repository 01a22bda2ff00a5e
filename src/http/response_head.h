// Building blocks of a response head (status line and headers), Beast-free so they are
// unit-testable. The server writes response heads itself into a per-connection buffer instead of
// going through beast::http::response<...>: no per-response fields allocation, one gather write of
// head + body.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace sigil::http {

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view ReasonPhrase(int status);

// The current time as an IMF-fixdate ("Tue, 02 Jan 2024 03:04:05 GMT"), recomputed at most once a
// second per thread. The view stays valid until this thread's next call.
std::string_view CachedHttpDate();

// True when `value` may be sent as a header value (no CR, LF or NUL) and `name` is a token.
bool IsSafeHeader(std::string_view name, std::string_view value);

// Statuses that never carry a body (1xx, 204, 304).
inline bool StatusHasNoBody(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace sigil::http
