// Authenticator: turns an `Auth-Token` header into an http::Principal (http-api.md §1).
//
// The key is everything before the first '-' (the rest is a label, `<key>-ci-linux`); it is hashed
// (SHA-256 hex), looked up by hash, and the stored hash is compared to it in constant time.
// Failures carry the spec's exact messages (all answered 403 JSON by Hook):
//   no or empty header          kUnauthenticated "This requires an Auth-Token to authenticate the
//   request" unknown key                 kUnauthenticated "API Token not matched" expired token
//   kUnauthenticated "API Token found but expired" inactive user               kPermissionDenied
//   "API Token matched but user not active" missing permission (Hook)   kPermissionDenied
//   "Forbidden"
// Database failures pass through (kUnavailable → 503, others → 500).
//
// Cache: tokens found in the database are kept in process for `cache_ttl` (default 30 s, at most
// `cache_capacity` entries) so the hot path costs a hash and a map lookup, not a query. Expiry is
// checked on every request. Revoking a token, deactivating a user or changing permissions takes
// effect within cache_ttl on every node; revocation through a TokenService wired to this
// Authenticator (ForgetToken) takes effect at once on this node. Unknown keys are not cached.
//
// Thread-safe. Authenticate/Hook block on a cache miss (database): run them on the worker pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "db/database.h"
#include "http/message.h"
#include "http/route.h"

namespace sigil::auth {

inline constexpr std::string_view kMissingTokenMessage =
    "This requires an Auth-Token to authenticate the request";
inline constexpr std::string_view kTokenNotMatchedMessage = "API Token not matched";
inline constexpr std::string_view kTokenExpiredMessage = "API Token found but expired";
inline constexpr std::string_view kUserInactiveMessage = "API Token matched but user not active";
inline constexpr std::string_view kForbiddenMessage = "Forbidden";

struct AuthenticatorOptions {
  std::chrono::seconds cache_ttl{30};  // 0 disables the cache
  size_t cache_capacity = 10000;
  // Clock for expiry and cache age; defaults to NowMicros.
  std::function<TimestampMicros()> now;
  // Maps a failure to the response Hook returns. Default: 403 {"error": message} for
  // kUnauthenticated/kPermissionDenied, 503 + Retry-After for kUnavailable, else 500
  // "Internal Server Error" (logged). The server may pass api::ErrorResponse.
  std::function<http::Response(const Status&)> error_response;
};

// The key part of an Auth-Token header value: trimmed, everything from the first '-' dropped.
std::string_view TokenKeyFromHeader(std::string_view header_value);
// Hex SHA-256 of a key: what the database stores.
std::string HashTokenKey(std::string_view key);

class Authenticator {
 public:
  explicit Authenticator(db::Database& database, AuthenticatorOptions options = {});
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // `header_value` is the Auth-Token header, nullopt when absent. The principal's permissions are
  // effective ones (token ∩ user, admin expanded), so Principal::Has answers directly.
  Result<http::Principal> Authenticate(std::optional<std::string_view> header_value);

  // A route pre-body hook: authenticates, requires any one of `any_of_permissions` (none: any valid
  // token), sets request.principal, or returns the error response. Borrows *this: the
  // Authenticator must outlive the routes.
  http::PreBodyHook Hook(std::vector<std::string> any_of_permissions);

  // Drops a token from the cache (after revocation).
  void ForgetToken(int64_t token_id);
  void ClearCache();
  size_t cache_size() const;

 private:
  struct CacheEntry {
    db::TokenWithUser row;
    TimestampMicros fetched_at = 0;
  };

  TimestampMicros Now() const;
  Result<db::TokenWithUser> Lookup(const std::string& key_hash);
  void Remember(const std::string& key_hash, const db::TokenWithUser& row, TimestampMicros now);

  db::Database& database_;
  const AuthenticatorOptions options_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // by key hash
};

}  // namespace sigil::auth
