#include "cache/redis/redis_pool.h"

namespace sigil::cache::redis {

RedisPool::RedisPool(RedisOptions options) : options_(std::move(options)) {}

RedisPool::~RedisPool() = default;

int RedisPool::open_connections() {
  std::lock_guard lock(mu_);
  return open_;
}

Result<RedisPool::Acquired> RedisPool::Acquire(bool probe) {
  std::unique_lock lock(mu_);
  auto wait_deadline = Clock::now() + options_.timeout;
  while (true) {
    Clock::time_point now = Clock::now();
    if (down_ && !probe && now < retry_at_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now).count();
      return Unavailable(last_error_ + " (server considered down; next attempt in " +
                         std::to_string(ms) + " ms)");
    }
    if (!idle_.empty()) {
      Acquired a{std::move(idle_.back()), generation_, false};
      idle_.pop_back();
      return a;
    }
    if (open_ < options_.pool_size) break;
    if (cv_.wait_until(lock, wait_deadline) == std::cv_status::timeout) {
      return Unavailable(options_.Describe() + ": all " + std::to_string(options_.pool_size) +
                         " connections busy for " + std::to_string(options_.timeout.count()) +
                         " ms");
    }
  }
  ++open_;
  uint64_t generation = generation_;
  // While down, this caller is the probe: others keep failing fast until it is done.
  if (down_) retry_at_ = Clock::now() + options_.connect_timeout + options_.retry_interval;
  lock.unlock();

  auto conn = RedisConnection::Connect(options_);
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
  return Acquired{std::move(conn).value(), generation, true};
}

void RedisPool::Release(Acquired acquired) {
  {
    std::lock_guard lock(mu_);
    if (acquired.conn->broken() || acquired.generation != generation_) {
      --open_;
    } else {
      idle_.push_back(std::move(acquired.conn));
    }
  }
  cv_.notify_one();
  // A broken connection (if any) is closed here, outside the lock.
}

void RedisPool::DropIdle(const std::string* down_because) {
  std::vector<std::unique_ptr<RedisConnection>> dropped;  // closed after the lock is released
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

Result<ReplyPtr> RedisPool::Command(const std::vector<std::string_view>& args, bool probe) {
  for (int attempt = 0;; ++attempt) {
    SIGIL_ASSIGN_OR_RETURN(Acquired a, Acquire(probe));
    Result<ReplyPtr> reply = a.conn->Command(args);
    bool broken = a.conn->broken();
    bool retry = broken && !a.fresh && !a.conn->timed_out() && attempt == 0;
    Release(std::move(a));
    if (!broken) return reply;
    if (retry) {
      DropIdle(nullptr);  // its idle siblings are as stale as it was
      continue;
    }
    DropIdle(&reply.status().message());
    return reply;
  }
}

}  // namespace sigil::cache::redis
