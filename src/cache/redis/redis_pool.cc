#include "cache/redis/redis_pool.h"

namespace sigil::cache::redis {
namespace {

ConnectionPoolOptions PoolOptions(const RedisOptions& options) {
  ConnectionPoolOptions pool;
  pool.max_size = options.pool_size;
  pool.acquire_timeout = options.timeout;
  pool.retry_interval = options.retry_interval;
  pool.probe_hold = options.connect_timeout + options.retry_interval;
  pool.name = options.Describe();
  pool.down_note = "server considered down; ";
  return pool;
}

}  // namespace

RedisPool::RedisPool(RedisOptions options)
    : options_(std::move(options)),
      pool_(PoolOptions(options_), [this] { return RedisConnection::Connect(options_); }) {}

RedisPool::~RedisPool() = default;

Result<ReplyPtr> RedisPool::Command(const std::vector<std::string_view>& args, bool probe) {
  for (int attempt = 0;; ++attempt) {
    SIGIL_ASSIGN_OR_RETURN(auto lease, pool_.Acquire(probe));
    Result<ReplyPtr> reply = lease.conn->Command(args);
    bool broken = lease.conn->broken();
    bool retry = broken && !lease.fresh && !lease.conn->timed_out() && attempt == 0;
    pool_.Release(std::move(lease));
    if (!broken) return reply;
    if (retry) {
      pool_.DropIdle(nullptr);  // its idle siblings are as stale as it was
      continue;
    }
    pool_.DropIdle(&reply.status().message());
    return reply;
  }
}

}  // namespace sigil::cache::redis
