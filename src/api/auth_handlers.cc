#include "api/auth_handlers.h"

#include <string>

#include "auth/permissions.h"

namespace sigil::api {
namespace {

// The request body is ignored; clients send none.
constexpr uint64_t kMaxAuthInfoBody = 64 * 1024;

// Floor division: Unix seconds of a microsecond timestamp.
int64_t UnixSeconds(TimestampMicros t) {
  return t >= 0 ? t / 1'000'000 : -((-t + 999'999) / 1'000'000);
}

}  // namespace

http::Response HandleAuthInfo(const http::Request& request) {
  if (!request.principal) return http::Response::Error(403, auth::kForbiddenMessage);
  const http::Principal& who = *request.principal;
  bool try_only = who.Has(auth::kUploadTrySymbols) && !who.Has(auth::kUploadSymbols);
  std::string body = "{\"email\": " + http::JsonQuote(who.email);
  body += ", \"user_id\": " + std::to_string(who.user_id);
  body += ", \"try_symbols\": " + std::string(try_only ? "true" : "false");
  body += ", \"token_expires_at\": " + std::to_string(UnixSeconds(who.token_expires_at));
  body += ", \"upload_api_version\": " + std::to_string(kUploadApiVersion);
  body += "}";
  return http::Response::Json(200, std::move(body));
}

void RegisterAuthRoutes(http::RouteTable& routes, auth::Authenticator& authenticator) {
  http::RouteOptions options;
  options.max_body_bytes = kMaxAuthInfoBody;
  options.authenticate = authenticator.Hook({});
  options.inline_handler = true;  // the hook did the blocking part; this only formats
  options.name = "auth_info";
  routes.Add(
      {"POST"}, "/upload/auth_info/",
      [](http::Request& request, http::Responder done) { done(HandleAuthInfo(request)); },
      std::move(options));
}

}  // namespace sigil::api
