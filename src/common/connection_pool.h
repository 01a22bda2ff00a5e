// A bounded pool of client connections to one server, with outage detection. Shared by the Redis
// cache and the PostgreSQL database (each wraps it with its own command/retry policy).
//
// Contract:
// - At most options.max_size connections are open (idle + leased). Acquire takes an idle one (the
//   most recently returned), else opens one with the connector, else waits up to
//   options.acquire_timeout for a Release, then fails with kUnavailable.
// - An idle connection for which the optional alive check returns false (say, the server closed it
//   while it sat idle) is discarded on checkout and the next one is tried.
// - A failed connect starts an outage: for options.retry_interval every Acquire fails at once with
//   kUnavailable (no waiting on timeouts) and the idle connections are dropped. After the interval
//   one caller probes with a fresh connection while the others keep failing fast for
//   options.probe_hold; its success ends the outage. Acquire(/*ignore_outage=*/true) always tries.
// - DropIdle closes the idle connections and marks the leased ones to be closed on Release (their
//   generation is stale); with a reason it also starts an outage window.
// - Release keeps a connection for reuse unless it is broken() or of a stale generation.
//
// Conn must have `bool broken() const`. Connections are closed (destroyed) outside the lock except
// those found dead by the alive check. Thread-safe; the connector and alive check may be called
// concurrently from several threads (never under the lock for the connector).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sigil {

struct ConnectionPoolOptions {
  int max_size = 8;
  std::chrono::milliseconds acquire_timeout{10000};
  std::chrono::milliseconds retry_interval{1000};
  // While one caller probes a server that is down, the others fail fast for this long (should
  // cover the probe's connect).
  std::chrono::milliseconds probe_hold{60000};
  // Message parts: "<name>: all N connections busy for T ms" and
  // "<last error> (<down_note>next attempt in T ms)".
  std::string name;
  std::string down_note;
};

template <typename Conn>
class ConnectionPool {
 public:
  using Connector = std::function<Result<std::unique_ptr<Conn>>()>;
  using AliveCheck = std::function<bool(Conn&)>;

  // A checked-out connection; give it back with Release.
  struct Lease {
    std::unique_ptr<Conn> conn;
    uint64_t generation = 0;
    bool fresh = false;  // opened by this Acquire (not reused from the idle list)
  };

  // `alive` may be empty (idle connections are then assumed alive).
  ConnectionPool(ConnectionPoolOptions options, Connector connect, AliveCheck alive = {})
      : options_(std::move(options)), connect_(std::move(connect)), alive_(std::move(alive)) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  Result<Lease> Acquire(bool ignore_outage = false) {
    std::unique_lock lock(mu_);
    auto deadline = Clock::now() + options_.acquire_timeout;
    while (true) {
      Clock::time_point now = Clock::now();
      if (down_ && !ignore_outage && now < retry_at_) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now).count();
        return Unavailable(last_error_ + " (" + options_.down_note + "next attempt in " +
                           std::to_string(ms) + " ms)");
      }
      while (!idle_.empty()) {
        Lease lease{std::move(idle_.back()), generation_, false};
        idle_.pop_back();
        if (!alive_ || alive_(*lease.conn)) return lease;
        --open_;  // closed by the server while idle (its siblings are checked as they come up)
      }
      if (open_ < options_.max_size) break;
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        return Unavailable(options_.name + ": all " + std::to_string(options_.max_size) +
                           " connections busy for " +
                           std::to_string(options_.acquire_timeout.count()) + " ms");
      }
    }
    ++open_;
    uint64_t generation = generation_;
    // While down, this caller probes; the others keep failing fast until it is done.
    if (down_) retry_at_ = Clock::now() + options_.probe_hold;
    lock.unlock();

    Result<std::unique_ptr<Conn>> conn = connect_();
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

  void Release(Lease lease) {
    {
      std::lock_guard lock(mu_);
      if (lease.conn->broken() || lease.generation != generation_) {
        --open_;
      } else {
        idle_.push_back(std::move(lease.conn));
      }
    }
    cv_.notify_one();
    // A discarded connection (if any) is closed here, outside the lock.
  }

  // `down_because` may be null (drop only) or the reason the server is considered down.
  void DropIdle(const std::string* down_because) {
    std::vector<std::unique_ptr<Conn>> dropped;  // closed after the lock is released
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

  // Connections currently open (idle + leased), for tests and metrics.
  int open_connections() {
    std::lock_guard lock(mu_);
    return open_;
  }

  const ConnectionPoolOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;

  const ConnectionPoolOptions options_;
  const Connector connect_;
  const AliveCheck alive_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
  uint64_t generation_ = 0;  // bumped by DropIdle: connections of older generations are closed
  bool down_ = false;
  Clock::time_point retry_at_{};  // while down_: no attempts before this
  std::string last_error_;
};

}  // namespace sigil
