// Core, users and tokens of the PostgreSQL backend, and its factory.
#include <libpq-fe.h>

#include <algorithm>

#include "common/clock.h"
#include "db/postgres/pg_database_impl.h"
#include "db/postgres/pg_migrations.h"

namespace sigil::db::postgres {

std::vector<std::string> SortedUnique(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

Status PostgresDatabase::Migrate() { return ApplyMigrations(pool_); }

Result<int> PostgresDatabase::SchemaVersion() { return AppliedSchemaVersion(pool_); }

Status PostgresDatabase::Ping() {
  return Read([](PgConnection& conn) { return conn.Query("SELECT 1").status(); });
}

// ---- users ----

namespace {

constexpr char kUserColumns[] = "id, email, is_active, permissions, created_at";

Result<User> ReadUser(const PgResult& r, int row, int first) {
  User user;
  user.id = r.Int(row, first);
  user.email = r.Text(row, first + 1);
  user.is_active = r.Bool(row, first + 2);
  SIGIL_ASSIGN_OR_RETURN(user.permissions, r.TextArray(row, first + 3));
  user.created_at = r.Int(row, first + 4);
  return user;
}

Status ExpectChanged(const PgResult& r, const std::string& what) {
  return r.affected() == 0 ? NotFound(what + " not found") : Status::Ok();
}

}  // namespace

Result<User> PostgresDatabase::CreateUser(const std::string& email,
                                          const std::vector<std::string>& permissions) {
  if (email.empty()) return InvalidArgument("user email is empty");
  User user;
  user.email = email;
  user.permissions = SortedUnique(permissions);
  user.created_at = NowMicros();
  Status status = WriteOne([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Query("INSERT INTO users (email, is_active, permissions, created_at) "
                   "VALUES ($1, TRUE, $2, $3) RETURNING id",
                   Params().Add(email).AddTextArray(user.permissions).Add(user.created_at)));
    user.id = r.Int(0, 0);
    return Status::Ok();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("a user with email '" + email + "' already exists");
  }
  SIGIL_RETURN_IF_ERROR(status);
  return user;
}

Result<User> PostgresDatabase::GetUserByEmail(const std::string& email) {
  Result<User> user = NotFound("user '" + email + "' not found");
  Status status = Read([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult r, conn.Query(std::string("SELECT ") + kUserColumns +
                                                      " FROM users WHERE email = $1",
                                                  Params().Add(email)));
    if (r.rows() > 0) user = ReadUser(r, 0, 0);
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return user;
}

Result<User> PostgresDatabase::GetUser(int64_t id) {
  Result<User> user = NotFound("user " + std::to_string(id) + " not found");
  Status status = Read([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r, conn.Query(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = $1",
                               Params().Add(id)));
    if (r.rows() > 0) user = ReadUser(r, 0, 0);
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return user;
}

Status PostgresDatabase::SetUserPermissions(int64_t user_id,
                                            const std::vector<std::string>& permissions) {
  return WriteOne([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r, conn.Query("UPDATE users SET permissions = $1 WHERE id = $2",
                               Params().AddTextArray(SortedUnique(permissions)).Add(user_id)));
    return ExpectChanged(r, "user " + std::to_string(user_id));
  });
}

Status PostgresDatabase::SetUserActive(int64_t user_id, bool active) {
  return WriteOne([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult r, conn.Query("UPDATE users SET is_active = $1 WHERE id = $2",
                                                  Params().Add(active).Add(user_id)));
    return ExpectChanged(r, "user " + std::to_string(user_id));
  });
}

// ---- tokens ----

namespace {

constexpr char kTokenWithUserQuery[] =
    "SELECT t.id, t.user_id, t.key_hash, t.permissions, t.expires_at, t.notes, t.created_at, "
    "u.id, u.email, u.is_active, u.permissions, u.created_at "
    "FROM tokens t JOIN users u ON u.id = t.user_id";

Result<TokenWithUser> ReadTokenWithUser(const PgResult& r, int row) {
  TokenWithUser out;
  out.token.id = r.Int(row, 0);
  out.token.user_id = r.Int(row, 1);
  out.token.key_hash = r.Text(row, 2);
  SIGIL_ASSIGN_OR_RETURN(out.token.permissions, r.TextArray(row, 3));
  out.token.expires_at = r.Int(row, 4);
  out.token.notes = r.Text(row, 5);
  out.token.created_at = r.Int(row, 6);
  SIGIL_ASSIGN_OR_RETURN(out.user, ReadUser(r, row, 7));
  return out;
}

}  // namespace

Result<Token> PostgresDatabase::CreateToken(const Token& token) {
  if (token.key_hash.empty()) return InvalidArgument("token key hash is empty");
  Token created = token;
  created.permissions = SortedUnique(token.permissions);
  if (created.created_at == 0) created.created_at = NowMicros();
  Status status = WriteOne([&](PgConnection& conn) -> Status {
    // One statement: inserted only if the user exists (checked before the key's uniqueness, like
    // the SQLite backend).
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Query(
            "INSERT INTO tokens (user_id, key_hash, permissions, expires_at, notes, created_at) "
            "SELECT $1::bigint, $2::text, $3::text[], $4::bigint, $5::text, $6::bigint "
            "WHERE EXISTS (SELECT 1 FROM users WHERE id = $1::bigint) RETURNING id",
            Params()
                .Add(created.user_id)
                .Add(created.key_hash)
                .AddTextArray(created.permissions)
                .Add(created.expires_at)
                .Add(created.notes)
                .Add(created.created_at)));
    if (r.rows() == 0) return NotFound("user " + std::to_string(token.user_id) + " not found");
    created.id = r.Int(0, 0);
    return Status::Ok();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("a token with this key hash already exists");
  }
  SIGIL_RETURN_IF_ERROR(status);
  return created;
}

Result<TokenWithUser> PostgresDatabase::FindTokenByHash(const std::string& key_hash) {
  Result<TokenWithUser> found = NotFound("token not found");
  Status status = Read([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult r,
                           conn.Query(std::string(kTokenWithUserQuery) + " WHERE t.key_hash = $1",
                                      Params().Add(key_hash)));
    if (r.rows() > 0) found = ReadTokenWithUser(r, 0);
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return found;
}

Result<std::vector<TokenWithUser>> PostgresDatabase::ListTokens() {
  std::vector<TokenWithUser> tokens;
  Status status = Read([&](PgConnection& conn) -> Status {
    tokens.clear();
    SIGIL_ASSIGN_OR_RETURN(PgResult r,
                           conn.Query(std::string(kTokenWithUserQuery) + " ORDER BY t.id"));
    for (int i = 0; i < r.rows(); ++i) {
      SIGIL_ASSIGN_OR_RETURN(TokenWithUser t, ReadTokenWithUser(r, i));
      tokens.push_back(std::move(t));
    }
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return tokens;
}

Status PostgresDatabase::DeleteToken(int64_t token_id) {
  return WriteOne([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult r,
                           conn.Query("DELETE FROM tokens WHERE id = $1", Params().Add(token_id)));
    return ExpectChanged(r, "token " + std::to_string(token_id));
  });
}

// ---- factory ----

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url, int pool_size) {
  if (pool_size < 1) return InvalidArgument("postgresql pool size must be at least 1");
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
    return InvalidArgument("postgresql database URL must start with postgresql:// or postgres://");
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return InvalidArgument("invalid postgresql URL: " + why);
  }
  PQconninfoFree(parsed);
  PgPoolOptions options;
  options.size = pool_size;
  auto db = std::make_unique<PostgresDatabase>(url, options);
  SIGIL_RETURN_IF_ERROR(db->pool().Prime());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace sigil::db::postgres
