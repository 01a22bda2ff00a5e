// One SQLite connection with a cache of prepared statements, and a Statement handle that binds,
// steps and reads columns with errors as Status values.
//
// Thread-safety: a Connection is used by one thread at a time (the database hands it out under a
// mutex or from a pool); it is opened with SQLITE_OPEN_NOMUTEX.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sigil::db::sqlite {

// Maps an SQLite result code to a Status: BUSY/LOCKED → kUnavailable, UNIQUE/PRIMARY KEY constraint
// → kAlreadyExists, anything else → kInternal. `context` names the operation. (Callers check that
// referenced rows exist inside their transaction, so foreign-key failures are broken invariants.)
Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

// A prepared statement borrowed from a Connection's cache; reset (and unbound) when destroyed.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  // Parameters are 1-based.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  // NULL when empty.
  Statement& BindOptional(int index, const std::optional<int64_t>& value);
  Statement& BindOptional(int index, const std::optional<std::string>& value);

  // Steps once: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion (for statements without rows).
  Status Run();

  // Columns are 0-based.
  int64_t Int(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  std::optional<std::string> OptionalText(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  Status bind_error_;  // first failed bind, reported by Step
};

class Connection {
 public:
  // Opens (creating if missing) the database at `path` and applies the per-connection pragmas
  // (busy_timeout, foreign_keys, synchronous=NORMAL).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without parameters.
  Status Exec(std::string_view sql);
  // A cached prepared statement for `sql`.
  Result<Statement> Prepare(std::string_view sql);

  int64_t LastInsertRowid() const;
  int64_t Changes() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// Runs `body` in a transaction (BEGIN IMMEDIATE for writers, BEGIN DEFERRED for readers); commits
// if it returns OK, rolls back otherwise.
template <typename Body>
Status InTransaction(Connection& conn, bool immediate, Body&& body) {
  SIGIL_RETURN_IF_ERROR(conn.Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  Status status = body();
  if (status.ok()) status = conn.Exec("COMMIT");
  if (!status.ok()) (void)conn.Exec("ROLLBACK");
  return status;
}

}  // namespace sigil::db::sqlite
