// TokenService: creating, listing and revoking API tokens (the `sigil token` commands and any admin
// API). A key is 32 random bytes, hex (64 characters); only its SHA-256 is stored, so the plain key
// exists only in CreateToken's result.
//
// Thread-safe (stateless over the Database); methods block on the database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "db/database.h"

namespace sigil::auth {

class Authenticator;

struct CreatedToken {
  std::string key;  // the plain key: show it once, never store or log it
  db::Token token;
  db::User user;  // the token's user, as it is after the call
};

class TokenService {
 public:
  // `authenticator` (optional, borrowed) is told about revocations so they apply at once here.
  explicit TokenService(db::Database& database, Authenticator* authenticator = nullptr);

  // Creates a token for `email` (trimmed, lower-cased; the user is created if missing) with
  // `permissions` (validated: unknown names → kInvalidArgument naming them; admin implies all),
  // expiring in `expires_days` (1..36500). The user's permissions become the union of theirs and
  // the token's, so the token holds a subset of its user's. `notes`: at most 1000 bytes.
  Result<CreatedToken> CreateToken(const std::string& email,
                                   const std::vector<std::string>& permissions, int expires_days,
                                   const std::string& notes);

  // Every token with its user, oldest first.
  Result<std::vector<db::TokenWithUser>> ListTokens();

  // Deletes a token (kNotFound if absent). Other nodes stop accepting it within their cache TTL.
  Status RevokeToken(int64_t token_id);

 private:
  Result<db::User> EnsureUser(const std::string& email,
                              const std::vector<std::string>& permissions);

  db::Database& database_;
  Authenticator* authenticator_;
};

// Trims and lower-cases an email address and checks its shape (local@domain, no spaces or
// control characters, at most 254 bytes); kInvalidArgument otherwise.
Result<std::string> NormalizeEmail(std::string_view email);

}  // namespace sigil::auth
