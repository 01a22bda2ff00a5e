#include "db/postgres/pg_pool.h"

#include <thread>

namespace sigil::db::postgres {

namespace {

ConnectionPoolOptions PoolOptions(const PgPoolOptions& options) {
  ConnectionPoolOptions pool;
  pool.max_size = options.size;
  pool.acquire_timeout = options.acquire_timeout;
  pool.retry_interval = options.retry_interval;
  pool.probe_hold = std::chrono::seconds(60);
  pool.name = "postgresql";
  return pool;
}

}  // namespace

PgPool::PgPool(std::string url, PgPoolOptions options)
    : pool_(
          PoolOptions(options), [url = std::move(url)] { return PgConnection::Connect(url); },
          [](PgConnection& conn) { return conn.LooksAlive(); }) {}

PgPool::~PgPool() = default;

Status PgPool::Prime() {
  SIGIL_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
  pool_.Release(std::move(lease));
  return Status::Ok();
}

Status PgPool::Run(const Body& body, Retry retry) {
  for (int attempt = 0;; ++attempt) {
    SIGIL_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
    lease.conn->ResetCommandCount();
    Status status = body(*lease.conn);
    bool broken = lease.conn->broken();
    bool stale = broken && !lease.fresh && attempt == 0 &&
                 (retry == Retry::kIdempotent ||
                  (retry == Retry::kFirstCommandFailed && lease.conn->commands() <= 1));
    pool_.Release(std::move(lease));
    if (!broken) return status;
    pool_.DropIdle(nullptr);  // the server went away: its other connections are dead too
    if (!stale) return status;
  }
}

Status PgPool::Transaction(const Body& body, const char* begin) {
  constexpr int kMaxAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    std::string sqlstate;
    Status status = Run(
        [&](PgConnection& conn) -> Status {
          SIGIL_RETURN_IF_ERROR(conn.Exec(begin));
          Status s = body(conn);
          if (s.ok()) s = conn.Exec("COMMIT");
          if (!s.ok()) {
            sqlstate = conn.last_sqlstate();
            if (!conn.broken()) (void)conn.Exec("ROLLBACK");
          }
          return s;
        },
        Retry::kFirstCommandFailed);
    bool conflict = sqlstate == "40001" || sqlstate == "40P01";
    if (!conflict || attempt == kMaxAttempts) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
  }
}

}  // namespace sigil::db::postgres
