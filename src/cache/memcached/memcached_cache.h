// memcached cache backend (libmemcached, pooled connections).
//
// URL: see memcached_options.h (memcached://host:11211[,host2:11211],
// memcached+unix:///path/to/sock). Keys go through SafeCacheKey (memcached's 250-byte, no-spaces
// rule). TTLs over 30 days are sent as absolute times, as the protocol requires. Values over the
// server's item size limit (1 MB by default, memcached -I) fail with kTooLarge; an outage returns
// kUnavailable within the connect / I/O timeout (250 / 500 ms by default), then at once while the
// server is skipped (retry_ms), and connections are re-established when it is back.
//
// Invalidation with memcached: code that changes what a cached value depends on deletes the
// affected keys itself (Cache::Delete; the shared entries are then gone for every node), and the
// in-process state of other nodes hears uploads through MemcachedInvalidationBus
// (memcached_invalidation_bus.h).
//
// Thread-safe; calls block on the network (use the worker pool).
#pragma once

#include <memory>
#include <string>

#include "cache/cache.h"
#include "common/status.h"

namespace sigil::cache::memcached {

// Validates the URL and sets up the pool; does not connect (so sigil starts while memcached is
// down; Ping() tells).
Result<std::unique_ptr<Cache>> MakeMemcachedCache(const std::string& url);

}  // namespace sigil::cache::memcached
