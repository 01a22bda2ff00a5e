// A libmemcached client handle configured from MemcachedOptions (servers, timeouts, retry interval,
// consistent hashing), shared by the memcached Cache and the memcached InvalidationBus. Internal to
// src/cache/memcached: it names libmemcached's types.
#pragma once

#include <libmemcached/memcached.h>

#include "cache/memcached/memcached_options.h"
#include "common/status.h"

namespace sigil::cache::memcached {

// The caller owns the handle (memcached_free). Does not connect.
Result<memcached_st*> NewMemcachedClient(const MemcachedOptions& options);

}  // namespace sigil::cache::memcached
