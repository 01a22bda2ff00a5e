#include "db/postgres/pg_pool.h"

#include <thread>

namespace sigil::db::postgres {

PgPool::PgPool(std::string url, PgPoolOptions options) : url_(std::move(url)), options_(options) {}

PgPool::~PgPool() = default;

int PgPool::open_connections() {
  std::lock_guard lock(mu_);
  return open_;
}

Status PgPool::Prime() {
  SIGIL_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Release(std::move(lease));
  return Status::Ok();
}

Result<PgPool::Lease> PgPool::Acquire() {
  std::unique_lock lock(mu_);
  auto deadline = Clock::now() + options_.acquire_timeout;
  while (true) {
    Clock::time_point now = Clock::now();
    if (down_ && now < retry_at_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now).count();
      return Unavailable(last_error_ + " (next attempt in " + std::to_string(ms) + " ms)");
    }
    while (!idle_.empty()) {
      Lease lease{std::move(idle_.back()), generation_, false};
      idle_.pop_back();
      if (lease.conn->LooksAlive()) return lease;
      --open_;  // closed by the server while idle (its siblings are checked as they come up)
    }
    if (open_ < options_.size) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Unavailable("postgresql: all " + std::to_string(options_.size) +
                         " connections busy for " +
                         std::to_string(options_.acquire_timeout.count()) + " ms");
    }
  }
  ++open_;
  uint64_t generation = generation_;
  // While down, this caller probes; the others keep failing fast until it is done.
  if (down_) retry_at_ = Clock::now() + std::chrono::seconds(60);
  lock.unlock();

  auto conn = PgConnection::Connect(url_);
  if (!conn.ok()) {
    {
      std::lock_guard relock(mu_);
      --open_;
    }
    cv_.notify_one();
    DropIdle(&conn.status().message());
    return conn.status();
  }
  {
    std::lock_guard relock(mu_);
    down_ = false;
  }
  return Lease{std::move(conn).value(), generation, true};
}

void PgPool::Release(Lease lease) {
  {
    std::lock_guard lock(mu_);
    if (lease.conn->broken() || lease.generation != generation_) {
      --open_;
    } else {
      idle_.push_back(std::move(lease.conn));
    }
  }
  cv_.notify_one();
}

void PgPool::DropIdle(const std::string* down_because) {
  std::vector<std::unique_ptr<PgConnection>> dropped;  // closed after the lock is released
  {
    std::lock_guard lock(mu_);
    if (down_because != nullptr) {
      down_ = true;
      retry_at_ = Clock::now() + options_.retry_interval;
      last_error_ = *down_because;
    }
    ++generation_;
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }
  cv_.notify_all();
}

Status PgPool::Run(const Body& body, Retry retry) {
  for (int attempt = 0;; ++attempt) {
    SIGIL_ASSIGN_OR_RETURN(Lease lease, Acquire());
    lease.conn->ResetCommandCount();
    Status status = body(*lease.conn);
    bool broken = lease.conn->broken();
    bool stale = broken && !lease.fresh && attempt == 0 &&
                 (retry == Retry::kIdempotent ||
                  (retry == Retry::kFirstCommandFailed && lease.conn->commands() <= 1));
    Release(std::move(lease));
    if (!broken) return status;
    DropIdle(nullptr);  // the server went away: its other connections are dead too
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
