// Redis connection settings parsed from the cache URL.
//
//   redis://[[user]:password@]host[:port][/db][?option=value&...]     (port 6379, db 0 by default)
//   redis+unix://[[user]:password@]/path/to/redis.sock[?db=N&option=value&...]
//
// Options (all optional): connect_timeout_ms (default 250), timeout_ms (read/write, default 500),
// retry_ms (how long an outage is assumed before the next reconnect attempt, default 1000),
// pool_size (connections, default 16), channel (invalidation pub/sub channel, default
// "sigil:invalidate:<db>" — Redis pub/sub ignores the db number, so the default keeps deployments
// that share a server on different dbs apart). Unknown options are rejected so a typo is not
// silently ignored.
#pragma once

#include <chrono>
#include <string>

#include "cache/url_options.h"
#include "common/status.h"

namespace sigil::cache::redis {

// connect_timeout, timeout, retry_interval, pool_size: see cache/url_options.h.
struct RedisOptions : ConnectionOptions {
  bool unix_socket = false;
  std::string host;  // TCP
  int port = 6379;
  std::string path;  // unix socket
  int db = 0;
  std::string username;  // ACL user (Redis 6+); empty = "default"
  std::string password;  // empty = no AUTH
  std::string channel;

  // "redis 127.0.0.1:6379/0" or "redis unix:/path", for messages (never contains the password).
  std::string Describe() const;
};

Result<RedisOptions> ParseRedisUrl(const std::string& url);

}  // namespace sigil::cache::redis
