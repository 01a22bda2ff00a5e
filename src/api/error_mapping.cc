#include "api/error_mapping.h"

#include <spdlog/spdlog.h>

namespace sigil::api {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 403;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kTooLarge:
      return 413;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kUpstream:
      return 502;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

http::Response ErrorResponse(const Status& status, std::string_view context) {
  int code = HttpStatusFor(status.code());
  if (code >= 500 && code != 503) {
    spdlog::error("{}{}{}", context, context.empty() ? "" : ": ", status.ToString());
    if (code == 500) return http::Response::Error(500, "Internal Server Error");
  }
  http::Response r = http::Response::Error(code, status.message());
  if (code == 503) r.headers.Set("Retry-After", "1");
  return r;
}

}  // namespace sigil::api
