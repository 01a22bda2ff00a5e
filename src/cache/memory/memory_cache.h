// The in-process cache backend: a sharded LRU with a byte budget and per-entry TTL.
//
// Every entry is charged its key and value sizes plus a fixed overhead; when a shard is over its
// share of the budget the least recently used entries are evicted. Expired entries are dropped when
// read or when they reach the LRU tail. Values larger than a shard's share are not stored (Set →
// kTooLarge). Thread-safe; a Get locks one shard only (64 shards), so io threads may call it
// (InProcess() == true).
#pragma once

#include <cstdint>
#include <memory>

#include "cache/cache.h"

namespace sigil::cache::memory {

// byte_budget >= 1. The returned cache owns its memory; destroying it frees every entry.
std::unique_ptr<Cache> MakeMemoryCache(uint64_t byte_budget);

}  // namespace sigil::cache::memory
