// One libpq connection with a per-connection cache of prepared statements, text-format parameters
// and results, and the SQLSTATE → Status mapping. Internal to db/postgres.
//
// Not thread-safe: one thread uses a connection at a time (PgPool hands them out).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace sigil::db::postgres {

// Statement parameters in libpq's text format; nullopt = SQL NULL.
class Params {
 public:
  Params& Add(int64_t v);
  Params& Add(bool v);
  Params& Add(std::string_view v);
  Params& Add(const std::string& v) { return Add(std::string_view(v)); }
  Params& Add(const char* v) { return Add(std::string_view(v)); }
  Params& Add(const std::optional<std::string>& v);
  Params& Add(const std::optional<int64_t>& v);
  Params& AddTextArray(const std::vector<std::string>& v);
  Params& AddInt64Array(const std::vector<int64_t>& v);

  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// A successful result (rows in text format). Column getters are checked: a value that does not
// parse is a broken invariant reported as kInternal by the *Checked variants, and 0/"" by the plain
// ones.
class PgResult {
 public:
  explicit PgResult(pg_result* res) : res_(res) {}
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;

  int rows() const;
  int64_t affected() const;  // rows changed by INSERT/UPDATE/DELETE
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;
  std::optional<int64_t> OptionalInt(int row, int col) const;
  std::optional<std::string> OptionalText(int row, int col) const;
  Result<std::vector<std::string>> TextArray(int row, int col) const;

 private:
  struct Deleter {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Deleter> res_;
};

// Maps a failed command to a Status:
//   connection lost / cannot connect / server shutting down / too many connections → kUnavailable;
//   23505 unique violation → kAlreadyExists; 23503 foreign key → kNotFound; class 22 (data: bad
//   encoding, out of range) → kInvalidArgument; 40001 / 40P01 (serialization, deadlock) →
//   kUnavailable; 57014 (statement timeout) → kDeadlineExceeded; anything else → kInternal.
Status PgStatus(pg_conn* conn, const pg_result* res, std::string_view context);
// The SQLSTATE of a failed result ("" if none).
std::string SqlState(const pg_result* res);

class PgConnection {
 public:
  // `url`: a libpq connection URI or key=value string. Defaults (overridable in the URL):
  // connect_timeout=5, application_name=sigil. kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` as a prepared statement (prepared on first use on this connection, then reused).
  // Text containing NUL bytes is rejected with kInvalidArgument (PostgreSQL text cannot hold them).
  Result<PgResult> Query(const std::string& sql, const Params& params = Params());
  // Runs one or more statements without parameters (simple query protocol): BEGIN, COMMIT, DDL.
  Status Exec(const std::string& sql);

  // True once the connection to the server is lost; it must then be discarded.
  bool broken() const;
  // For a connection that sat idle: false if the server closed it meanwhile (restart, idle timeout,
  // administrator). No round trip: an idle connection has nothing to read unless it was closed.
  bool LooksAlive();
  // Commands sent since the last ResetCommandCount (to tell whether a failure was on first use).
  int commands() const { return commands_; }
  void ResetCommandCount() {
    commands_ = 0;
    last_sqlstate_.clear();
  }
  // SQLSTATE of the last failed command since ResetCommandCount ("" if none or no server answer).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}

  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
  int commands_ = 0;
  std::string last_sqlstate_;
};

}  // namespace sigil::db::postgres
