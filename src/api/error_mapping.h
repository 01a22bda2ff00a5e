// The one place that maps a StatusCode to an HTTP status, and a Status to an error response.
#pragma once

#include "common/status.h"
#include "http/message.h"

namespace sigil::api {

// kInvalidArgument→400, kUnauthenticated→403, kPermissionDenied→403, kNotFound→404,
// kAlreadyExists→409, kTooLarge→413, kUnavailable→503, kDeadlineExceeded→504, kUpstream→502,
// kInternal→500, kOk→200.
int HttpStatusFor(StatusCode code);

// {"error": message} with HttpStatusFor(status.code()). Internal errors are logged with `context`
// and answered with the generic "Internal Server Error" so no internals leak to clients. 503
// carries Retry-After: 1.
http::Response ErrorResponse(const Status& status, std::string_view context = {});

}  // namespace sigil::api
