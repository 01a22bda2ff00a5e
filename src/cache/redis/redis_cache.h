// Redis cache backend (hiredis): GET / SET EX / DEL / MGET / PING over a pool of connections.
//
// URL: see redis_options.h (redis://host:6379/0, redis+unix:///path/to/redis.sock?db=0, options for
// timeouts and pool size). Keys go through SafeCacheKey. An outage is detected within the connect
// or read timeout (250 / 500 ms by default) and then answered with kUnavailable at once until the
// server is back (checked every retry_ms); connections are re-established transparently.
//
// Thread-safe; calls block on the network (use the worker pool).
#pragma once

#include <memory>
#include <string>

#include "cache/cache.h"
#include "common/status.h"

namespace sigil::cache::redis {

// Validates the URL; does not connect (so sigil starts while Redis is down; Ping() tells).
Result<std::unique_ptr<Cache>> MakeRedisCache(const std::string& url);

}  // namespace sigil::cache::redis
