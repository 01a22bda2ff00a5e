// A bounded pool of PostgreSQL connections, with transactions, retries and outage detection.
// Internal to db/postgres.
//
// - At most `size` connections; a caller waits up to acquire_timeout for one, then kUnavailable.
// - A pooled connection the server closed while it sat idle (restart, idle timeout) is noticed when
// it
//   is taken from the pool, without a round trip, and replaced. One found dead on its first command
//   anyway is replaced and the work retried once when that is safe: for idempotent reads, and for
//   transactions when the failure was at BEGIN. The other idle connections are dropped with it.
// - A failed connect starts an outage window (retry_interval) in which calls fail at once with
//   kUnavailable instead of each waiting out connect_timeout; then one caller probes.
// - Transactions that fail with a serialization failure or deadlock (40001, 40P01) are retried up
// to
//   3 times.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/connection_pool.h"
#include "common/status.h"
#include "db/postgres/pg_connection.h"

namespace sigil::db::postgres {

struct PgPoolOptions {
  int size = 8;
  std::chrono::milliseconds acquire_timeout{10000};
  std::chrono::milliseconds retry_interval{1000};
};

class PgPool {
 public:
  using Body = std::function<Status(PgConnection&)>;

  PgPool(std::string url, PgPoolOptions options);
  ~PgPool();

  // Opens one connection now (so a bad URL or unreachable server is reported at startup) and keeps
  // it.
  Status Prime();
  enum class Retry {
    kIdempotent,  // safe to run twice: retried on a fresh connection if the pooled one was dead
    kFirstCommandFailed,  // retried only if the very first command failed (a transaction's BEGIN)
    kNever,               // an autocommit write: its failure may have come after it took effect
  };
  // Runs `body` on one connection in autocommit mode (each statement its own transaction).
  Status Run(const Body& body, Retry retry);
  // Runs `body` between `begin` (e.g. "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
  // and COMMIT; rolls back when it fails.
  Status Transaction(const Body& body, const char* begin = "BEGIN");

  int open_connections() { return pool_.open_connections(); }

 private:
  ConnectionPool<PgConnection> pool_;
};

}  // namespace sigil::db::postgres
