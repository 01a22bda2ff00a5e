#include "auth/authenticator.h"

#include <spdlog/spdlog.h>

#include "auth/permissions.h"
#include "common/hashing.h"

namespace sigil::auth {
namespace {

// Longest key considered (keys are 64 hex characters); longer values cannot match.
constexpr size_t kMaxKeyBytes = 256;

http::Response DefaultErrorResponse(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      return http::Response::Error(403, status.message());
    case StatusCode::kUnavailable: {
      http::Response r = http::Response::Error(503, status.message());
      r.headers.Set("Retry-After", "1");
      return r;
    }
    default:
      spdlog::error("authentication: {}", status.ToString());
      return http::Response::Error(500, "Internal Server Error");
  }
}

}  // namespace

std::string_view TokenKeyFromHeader(std::string_view value) {
  size_t dash = value.find('-');
  if (dash != std::string_view::npos) value = value.substr(0, dash);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

std::string HashTokenKey(std::string_view key) { return Sha256Hex(key); }

Authenticator::Authenticator(db::Database& database, AuthenticatorOptions options)
    : database_(database), options_(std::move(options)) {}

TimestampMicros Authenticator::Now() const { return options_.now ? options_.now() : NowMicros(); }

Result<http::Principal> Authenticator::Authenticate(std::optional<std::string_view> header_value) {
  if (!header_value || TokenKeyFromHeader(*header_value).empty()) {
    // A header that is only a label ("-ci") names no key either.
    if (!header_value || header_value->find_first_not_of(" \t") == std::string_view::npos) {
      return Unauthenticated(std::string(kMissingTokenMessage));
    }
    return Unauthenticated(std::string(kTokenNotMatchedMessage));
  }
  std::string_view key = TokenKeyFromHeader(*header_value);
  if (key.size() > kMaxKeyBytes) return Unauthenticated(std::string(kTokenNotMatchedMessage));
  std::string key_hash = HashTokenKey(key);
  SIGIL_ASSIGN_OR_RETURN(db::TokenWithUser row, Lookup(key_hash));

  if (row.token.expires_at < Now()) return Unauthenticated(std::string(kTokenExpiredMessage));
  if (!row.user.is_active) return PermissionDenied(std::string(kUserInactiveMessage));

  http::Principal principal;
  principal.user_id = row.user.id;
  principal.token_id = row.token.id;
  principal.email = row.user.email;
  principal.permissions = EffectivePermissions(row.token.permissions, row.user.permissions);
  principal.token_expires_at = row.token.expires_at;
  return principal;
}

Result<db::TokenWithUser> Authenticator::Lookup(const std::string& key_hash) {
  TimestampMicros now = Now();
  const int64_t ttl_micros = int64_t{options_.cache_ttl.count()} * 1'000'000;
  if (ttl_micros > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key_hash);
    if (it != cache_.end()) {
      if (now - it->second.fetched_at < ttl_micros &&
          ConstantTimeEquals(it->second.row.token.key_hash, key_hash)) {
        return it->second.row;
      }
      cache_.erase(it);
    }
  }
  Result<db::TokenWithUser> found = database_.FindTokenByHash(key_hash);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) {
      return Unauthenticated(std::string(kTokenNotMatchedMessage));
    }
    return found.status();
  }
  // The index lookup found a row; the comparison that decides is constant-time.
  if (!ConstantTimeEquals(found->token.key_hash, key_hash)) {
    return Unauthenticated(std::string(kTokenNotMatchedMessage));
  }
  if (ttl_micros > 0) Remember(key_hash, *found, now);
  return found;
}

void Authenticator::Remember(const std::string& key_hash, const db::TokenWithUser& row,
                             TimestampMicros now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.cache_capacity == 0) return;
  if (cache_.size() >= options_.cache_capacity && cache_.find(key_hash) == cache_.end()) {
    const int64_t ttl_micros = int64_t{options_.cache_ttl.count()} * 1'000'000;
    std::erase_if(cache_, [&](const auto& kv) { return now - kv.second.fetched_at >= ttl_micros; });
    if (cache_.size() >= options_.cache_capacity) {
      auto oldest = cache_.begin();
      for (auto it = cache_.begin(); it != cache_.end(); ++it) {
        if (it->second.fetched_at < oldest->second.fetched_at) oldest = it;
      }
      cache_.erase(oldest);
    }
  }
  cache_[key_hash] = CacheEntry{row, now};
}

void Authenticator::ForgetToken(int64_t token_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.row.token.id == token_id; });
}

void Authenticator::ClearCache() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

size_t Authenticator::cache_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

http::PreBodyHook Authenticator::Hook(std::vector<std::string> any_of_permissions) {
  return [this, any_of = std::move(any_of_permissions)](
             http::Request& request) -> std::optional<http::Response> {
    auto respond = [this](const Status& status) {
      return options_.error_response ? options_.error_response(status)
                                     : DefaultErrorResponse(status);
    };
    Result<http::Principal> principal = Authenticate(request.Header("Auth-Token"));
    if (!principal.ok()) return respond(principal.status());
    if (!HasAny(principal->permissions, any_of)) {
      return respond(PermissionDenied(std::string(kForbiddenMessage)));
    }
    request.principal = std::move(principal).value();
    return std::nullopt;
  };
}

}  // namespace sigil::auth
