#include "db/sqlite/sqlite_database.h"

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>

#include "common/clock.h"
#include "db/sqlite/sqlite_database_impl.h"
#include "db/sqlite/sqlite_migrations.h"

namespace sigil::db::sqlite {

std::string ToJsonList(const std::vector<std::string>& items) {
  boost::json::array array;
  for (const std::string& item : items) array.emplace_back(item);
  return boost::json::serialize(array);
}

Result<std::vector<std::string>> FromJsonList(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return Internal("corrupt JSON list in " + std::string(what));
  std::vector<std::string> items;
  for (const boost::json::value& item : value.get_array()) {
    if (!item.is_string()) return Internal("corrupt JSON list in " + std::string(what));
    items.emplace_back(item.get_string());
  }
  return items;
}

std::vector<std::string> SortedUnique(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

SqliteDatabase::SqliteDatabase(std::string path, SqliteOptions options,
                               std::unique_ptr<Connection> writer, bool in_memory)
    : path_(std::move(path)),
      options_(options),
      in_memory_(in_memory),
      writer_(std::move(writer)) {}

Status SqliteDatabase::Write(const Body& body) {
  std::lock_guard<std::mutex> lock(writer_mu_);
  return InTransaction(*writer_, /*immediate=*/true, [&] { return body(*writer_); });
}

Status SqliteDatabase::Read(const Body& body, bool snapshot) {
  if (in_memory_) {
    std::lock_guard<std::mutex> lock(writer_mu_);
    if (!snapshot) return body(*writer_);
    return InTransaction(*writer_, /*immediate=*/false, [&] { return body(*writer_); });
  }
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, AcquireReader());
  Status status = snapshot ? InTransaction(*conn, false, [&] { return body(*conn); }) : body(*conn);
  ReleaseReader(std::move(conn));
  return status;
}

Result<std::unique_ptr<Connection>> SqliteDatabase::AcquireReader() {
  std::unique_lock<std::mutex> lock(readers_mu_);
  readers_cv_.wait(lock, [&] {
    return !idle_readers_.empty() || open_readers_ < std::max(1, options_.max_readers);
  });
  if (!idle_readers_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return conn;
  }
  ++open_readers_;
  lock.unlock();
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path_);
  if (!conn.ok()) {
    lock.lock();
    --open_readers_;
    readers_cv_.notify_one();
  }
  return conn;
}

void SqliteDatabase::ReleaseReader(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
}

Status SqliteDatabase::Migrate() {
  std::lock_guard<std::mutex> lock(writer_mu_);
  return ApplyMigrations(*writer_);
}

Result<int> SqliteDatabase::SchemaVersion() {
  int version = 0;
  Status status = Read([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(version, AppliedSchemaVersion(conn));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return version;
}

Status SqliteDatabase::Ping() {
  return Read([](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("SELECT 1"));
    return stmt.Run();
  });
}

// ---- users ----

namespace {

constexpr char kUserColumns[] = "id, email, is_active, permissions, created_at";

Result<User> ReadUser(const Statement& stmt, int first) {
  User user;
  user.id = stmt.Int(first);
  user.email = stmt.Text(first + 1);
  user.is_active = stmt.Int(first + 2) != 0;
  SIGIL_ASSIGN_OR_RETURN(user.permissions, FromJsonList(stmt.Text(first + 3), "users.permissions"));
  user.created_at = stmt.Int(first + 4);
  return user;
}

Result<User> QueryOneUser(Connection& conn, const std::string& sql,
                          const std::function<void(Statement&)>& bind, const std::string& what) {
  SIGIL_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
  bind(stmt);
  SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return NotFound(what + " not found");
  return ReadUser(stmt, 0);
}

Status ExpectChanged(Connection& conn, const std::string& what) {
  if (conn.Changes() == 0) return NotFound(what + " not found");
  return Status::Ok();
}

}  // namespace

Result<User> SqliteDatabase::CreateUser(const std::string& email,
                                        const std::vector<std::string>& permissions) {
  if (email.empty()) return InvalidArgument("user email is empty");
  User user;
  user.email = email;
  user.permissions = SortedUnique(permissions);
  user.created_at = NowMicros();
  Status status = Write([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO users (email, is_active, permissions, created_at) "
                     "VALUES (?, 1, ?, ?)"));
    stmt.Bind(1, user.email).Bind(2, ToJsonList(user.permissions)).Bind(3, user.created_at);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    user.id = conn.LastInsertRowid();
    return Status::Ok();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("a user with email '" + email + "' already exists");
  }
  SIGIL_RETURN_IF_ERROR(status);
  return user;
}

Result<User> SqliteDatabase::GetUserByEmail(const std::string& email) {
  Result<User> user = NotFound("");
  Status status = Read([&](Connection& conn) -> Status {
    user = QueryOneUser(
        conn, std::string("SELECT ") + kUserColumns + " FROM users WHERE email = ?",
        [&](Statement& s) { s.Bind(1, email); }, "user '" + email + "'");
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return user;
}

Result<User> SqliteDatabase::GetUser(int64_t id) {
  Result<User> user = NotFound("");
  Status status = Read([&](Connection& conn) -> Status {
    user = QueryOneUser(
        conn, std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?",
        [&](Statement& s) { s.Bind(1, id); }, "user " + std::to_string(id));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return user;
}

Status SqliteDatabase::SetUserPermissions(int64_t user_id,
                                          const std::vector<std::string>& permissions) {
  return Write([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt,
                           conn.Prepare("UPDATE users SET permissions = ? WHERE id = ?"));
    stmt.Bind(1, ToJsonList(SortedUnique(permissions))).Bind(2, user_id);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    return ExpectChanged(conn, "user " + std::to_string(user_id));
  });
}

Status SqliteDatabase::SetUserActive(int64_t user_id, bool active) {
  return Write([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt,
                           conn.Prepare("UPDATE users SET is_active = ? WHERE id = ?"));
    stmt.Bind(1, int64_t{active ? 1 : 0}).Bind(2, user_id);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    return ExpectChanged(conn, "user " + std::to_string(user_id));
  });
}

// ---- tokens ----

namespace {

constexpr char kTokenWithUserQuery[] =
    "SELECT t.id, t.user_id, t.key_hash, t.permissions, t.expires_at, t.notes, t.created_at, "
    "u.id, u.email, u.is_active, u.permissions, u.created_at "
    "FROM tokens t JOIN users u ON u.id = t.user_id";

Result<TokenWithUser> ReadTokenWithUser(const Statement& stmt) {
  TokenWithUser out;
  out.token.id = stmt.Int(0);
  out.token.user_id = stmt.Int(1);
  out.token.key_hash = stmt.Text(2);
  SIGIL_ASSIGN_OR_RETURN(out.token.permissions, FromJsonList(stmt.Text(3), "tokens.permissions"));
  out.token.expires_at = stmt.Int(4);
  out.token.notes = stmt.Text(5);
  out.token.created_at = stmt.Int(6);
  SIGIL_ASSIGN_OR_RETURN(out.user, ReadUser(stmt, 7));
  return out;
}

Status CheckExists(Connection& conn, const char* sql, int64_t id, const std::string& what) {
  SIGIL_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
  stmt.Bind(1, id);
  SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? Status::Ok() : NotFound(what + " not found");
}

}  // namespace

Result<Token> SqliteDatabase::CreateToken(const Token& token) {
  if (token.key_hash.empty()) return InvalidArgument("token key hash is empty");
  Token created = token;
  created.permissions = SortedUnique(token.permissions);
  if (created.created_at == 0) created.created_at = NowMicros();
  Status status = Write([&](Connection& conn) -> Status {
    SIGIL_RETURN_IF_ERROR(CheckExists(conn, "SELECT 1 FROM users WHERE id = ?", token.user_id,
                                      "user " + std::to_string(token.user_id)));
    SIGIL_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO tokens (user_id, key_hash, permissions, expires_at, notes, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?)"));
    stmt.Bind(1, created.user_id)
        .Bind(2, created.key_hash)
        .Bind(3, ToJsonList(created.permissions))
        .Bind(4, created.expires_at)
        .Bind(5, created.notes)
        .Bind(6, created.created_at);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    created.id = conn.LastInsertRowid();
    return Status::Ok();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("a token with this key hash already exists");
  }
  SIGIL_RETURN_IF_ERROR(status);
  return created;
}

Result<TokenWithUser> SqliteDatabase::FindTokenByHash(const std::string& key_hash) {
  Result<TokenWithUser> found = NotFound("token not found");
  Status status = Read([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(
        Statement stmt, conn.Prepare(std::string(kTokenWithUserQuery) + " WHERE t.key_hash = ?"));
    stmt.Bind(1, key_hash);
    SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) found = ReadTokenWithUser(stmt);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return found;
}

Result<std::vector<TokenWithUser>> SqliteDatabase::ListTokens() {
  std::vector<TokenWithUser> tokens;
  Status status = Read([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt,
                           conn.Prepare(std::string(kTokenWithUserQuery) + " ORDER BY t.id"));
    while (true) {
      SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      SIGIL_ASSIGN_OR_RETURN(TokenWithUser t, ReadTokenWithUser(stmt));
      tokens.push_back(std::move(t));
    }
  });
  if (!status.ok()) return status;
  return tokens;
}

Status SqliteDatabase::DeleteToken(int64_t token_id) {
  return Write([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("DELETE FROM tokens WHERE id = ?"));
    stmt.Bind(1, token_id);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    return ExpectChanged(conn, "token " + std::to_string(token_id));
  });
}

// ---- factory ----

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path,
                                                     const SqliteOptions& options) {
  if (path.empty()) return InvalidArgument("sqlite database path is empty");
  bool in_memory = path == ":memory:";
  if (!in_memory && path.rfind("file:", 0) != 0) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Unavailable("cannot create directory '" + parent.string() + "': " + ec.message());
    }
  }
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(path));
  if (!in_memory) {
    // Persistent in the file; also the first real read, so a non-database file fails here.
    Status wal = [&]() -> Status {
      SIGIL_ASSIGN_OR_RETURN(Statement stmt, writer->Prepare("PRAGMA journal_mode = WAL"));
      SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row || stmt.Text(0) != "wal") return Internal("journal_mode is not wal");
      return Status::Ok();
    }();
    if (!wal.ok()) {
      return Unavailable("cannot use '" + path +
                         "' as a sqlite database in WAL mode: " + wal.message());
    }
  }
  return std::unique_ptr<Database>(
      std::make_unique<SqliteDatabase>(path, options, std::move(writer), in_memory));
}

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path) {
  return OpenSqliteDatabase(path, SqliteOptions{});
}

}  // namespace sigil::db::sqlite
