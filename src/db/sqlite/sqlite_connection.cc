#include "db/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <utility>

namespace sigil::db::sqlite {
namespace {

// Statements built at run time (query shapes) are cached too; past this many the cache is flushed.
constexpr size_t kMaxCachedStatements = 512;
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message = std::string(context) + ": " +
                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) + " (sqlite " +
                        std::to_string(extended) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("database is busy: " + message);
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExists(std::move(message));
      }
      return Internal(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_error_(std::move(other.bind_error_)) {}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteStatus(db_, rc, "bind");
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteStatus(db_, rc, "bind");
  return *this;
}

Statement& Statement::BindOptional(int index, const std::optional<int64_t>& value) {
  if (value) return Bind(index, *value);
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteStatus(db_, rc, "bind");
  return *this;
}

Statement& Statement::BindOptional(int index, const std::optional<std::string>& value) {
  if (value) return Bind(index, std::string_view(*value));
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteStatus(db_, rc, "bind");
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, "step");
}

Status Statement::Run() {
  while (true) {
    SIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = Unavailable("cannot open sqlite database '" + path +
                                "': " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  Status pragmas = conn->Exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
  if (!pragmas.ok()) {
    return Unavailable("cannot use sqlite database '" + path + "': " + pragmas.message());
  }
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (error != nullptr) sqlite3_free(error);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "exec '" + text.substr(0, 60) + "'");
  return Status::Ok();
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = statements_.find(key);
  if (it == statements_.end()) {
    if (statements_.size() >= kMaxCachedStatements) {
      for (auto& [text, stmt] : statements_) sqlite3_finalize(stmt);
      statements_.clear();
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteStatus(db_, rc, "prepare '" + key.substr(0, 60) + "'");
    }
    it = statements_.emplace(std::move(key), stmt).first;
  }
  return Statement(db_, it->second);
}

int64_t Connection::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

}  // namespace sigil::db::sqlite
