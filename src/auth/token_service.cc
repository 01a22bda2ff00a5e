#include "auth/token_service.h"

#include <algorithm>
#include <cctype>

#include "auth/authenticator.h"
#include "auth/permissions.h"
#include "common/clock.h"
#include "common/hashing.h"

namespace sigil::auth {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr int kMaxExpiresDays = 36500;
constexpr size_t kMaxNotesBytes = 1000;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

}  // namespace

Result<std::string> NormalizeEmail(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) {
    email.remove_prefix(1);
  }
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) {
    email.remove_suffix(1);
  }
  std::string out(email);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t at = out.find('@');
  bool ok = !out.empty() && out.size() <= 254 && at != std::string::npos && at > 0 &&
            at + 1 < out.size() && out.find('@', at + 1) == std::string::npos;
  for (unsigned char c : out) ok = ok && c > 0x20 && c != 0x7f;
  if (!ok) {
    return InvalidArgument("invalid email address '" + std::string(email.substr(0, 100)) + "'");
  }
  return out;
}

TokenService::TokenService(db::Database& database, Authenticator* authenticator)
    : database_(database), authenticator_(authenticator) {}

Result<db::User> TokenService::EnsureUser(const std::string& email,
                                          const std::vector<std::string>& permissions) {
  Result<db::User> user = database_.GetUserByEmail(email);
  if (!user.ok() && user.status().code() == StatusCode::kNotFound) {
    user = database_.CreateUser(email, permissions);
    // Lost a race with another creator: use theirs.
    if (!user.ok() && user.status().code() == StatusCode::kAlreadyExists) {
      user = database_.GetUserByEmail(email);
    }
  }
  if (!user.ok()) return user.status();
  std::vector<std::string> merged = user->permissions;
  merged.insert(merged.end(), permissions.begin(), permissions.end());
  std::sort(merged.begin(), merged.end());
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  if (merged != user->permissions) {
    SIGIL_RETURN_IF_ERROR(database_.SetUserPermissions(user->id, merged));
    user->permissions = std::move(merged);
  }
  return user;
}

Result<CreatedToken> TokenService::CreateToken(const std::string& email,
                                               const std::vector<std::string>& permissions,
                                               int expires_days, const std::string& notes) {
  SIGIL_ASSIGN_OR_RETURN(std::string normalized, NormalizeEmail(email));
  SIGIL_RETURN_IF_ERROR(ValidatePermissions(permissions));
  if (expires_days < 1 || expires_days > kMaxExpiresDays) {
    return InvalidArgument("expires_days must be between 1 and " + std::to_string(kMaxExpiresDays) +
                           " (got " + std::to_string(expires_days) + ")");
  }
  if (notes.size() > kMaxNotesBytes) {
    return InvalidArgument("notes longer than " + std::to_string(kMaxNotesBytes) + " bytes");
  }
  std::vector<std::string> token_permissions = permissions;
  std::sort(token_permissions.begin(), token_permissions.end());
  token_permissions.erase(std::unique(token_permissions.begin(), token_permissions.end()),
                          token_permissions.end());

  SIGIL_ASSIGN_OR_RETURN(db::User user, EnsureUser(normalized, token_permissions));

  CreatedToken created;
  created.key = RandomHex(kKeyBytes);
  db::Token token;
  token.user_id = user.id;
  token.key_hash = HashTokenKey(created.key);
  token.permissions = std::move(token_permissions);
  token.expires_at = NowMicros() + int64_t{expires_days} * kMicrosPerDay;
  token.notes = notes;
  SIGIL_ASSIGN_OR_RETURN(created.token, database_.CreateToken(token));
  created.user = std::move(user);
  return created;
}

Result<std::vector<db::TokenWithUser>> TokenService::ListTokens() { return database_.ListTokens(); }

Status TokenService::RevokeToken(int64_t token_id) {
  SIGIL_RETURN_IF_ERROR(database_.DeleteToken(token_id));
  if (authenticator_ != nullptr) authenticator_->ForgetToken(token_id);
  return Status::Ok();
}

}  // namespace sigil::auth
