// A pool of Redis connections with outage detection. Internal to cache/redis.
//
// Outage handling: when a connect or a command fails on I/O, the server is considered down for
// options.retry_interval; meanwhile calls fail at once with kUnavailable (no waiting on timeouts),
// and the idle connections (likely dead too) are dropped. After the interval one caller probes with
// a fresh connection while the others keep failing fast; success ends the outage. A command that
// fails on a reused connection for a reason other than a timeout (say, the server restarted while
// it sat idle) is retried once on a fresh connection before anything is declared down.
//
// Thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "cache/redis/redis_connection.h"
#include "cache/redis/redis_options.h"
#include "common/connection_pool.h"
#include "common/status.h"

namespace sigil::cache::redis {

class RedisPool {
 public:
  explicit RedisPool(RedisOptions options);
  ~RedisPool();

  // Runs one command on a pooled connection (see RedisConnection::Command for the error mapping).
  // With probe=true the outage window is ignored and a connection attempt is made (for health
  // checks). Commands are retried at most once, so they should be idempotent.
  Result<ReplyPtr> Command(const std::vector<std::string_view>& args, bool probe = false);

  const RedisOptions& options() const { return options_; }
  // Connections currently open (idle + in use), for tests and metrics.
  int open_connections() { return pool_.open_connections(); }

 private:
  const RedisOptions options_;
  ConnectionPool<RedisConnection> pool_;
};

}  // namespace sigil::cache::redis
