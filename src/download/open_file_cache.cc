#include "download/open_file_cache.h"

#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>

namespace sigil::download {
namespace {

constexpr size_t kShards = 8;

// Lets the map be searched with the caller's string_view: no key copy on the hit path.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

}  // namespace

struct OpenFileCache::Shard {
  struct Entry {
    std::shared_ptr<const Fd> fd;
    Clock::time_point expires;
    std::list<std::string>::iterator lru;  // position in `order` (front = most recent)
  };
  std::mutex mu;
  uint64_t generation = 0;  // bumped by Invalidate: an open that raced with it is not kept
  using Map = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
  Map entries;
  std::list<std::string> order;

  void EraseLocked(Map::iterator it) {
    order.erase(it->second.lru);
    entries.erase(it);
  }
};

OpenFileCache::OpenFileCache(size_t capacity, std::chrono::seconds ttl)
    : capacity_per_shard_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards),
      ttl_(ttl),
      now_([] { return Clock::now(); }),
      shards_(std::make_unique<Shard[]>(kShards)) {}

OpenFileCache::~OpenFileCache() = default;

OpenFileCache::Shard& OpenFileCache::ShardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

Result<std::shared_ptr<const Fd>> OpenFileCache::Get(std::string_view key, const Opener& open) {
  if (capacity_per_shard_ == 0) {
    SIGIL_ASSIGN_OR_RETURN(Fd fd, open());
    return std::make_shared<const Fd>(std::move(fd));
  }
  Shard& shard = ShardFor(key);
  const Clock::time_point now = now_();
  uint64_t generation;
  {
    std::lock_guard lock(shard.mu);
    generation = shard.generation;
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      if (now < it->second.expires) {
        shard.order.splice(shard.order.begin(), shard.order, it->second.lru);
        return it->second.fd;
      }
      shard.EraseLocked(it);  // expired: reopen below
    }
  }
  SIGIL_ASSIGN_OR_RETURN(Fd opened, open());
  auto fd = std::make_shared<const Fd>(std::move(opened));
  std::lock_guard lock(shard.mu);
  // An invalidation while we opened may mean we opened the replaced version: use it once, keep
  // none.
  if (shard.generation != generation) return fd;
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) shard.EraseLocked(it);  // a concurrent Get kept one: ours wins
  shard.order.emplace_front(key);
  shard.entries.emplace(shard.order.front(), Shard::Entry{fd, now + ttl_, shard.order.begin()});
  while (shard.entries.size() > capacity_per_shard_) {
    shard.EraseLocked(shard.entries.find(shard.order.back()));
  }
  return fd;
}

void OpenFileCache::Invalidate(std::string_view key) {
  if (capacity_per_shard_ == 0) return;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  ++shard.generation;
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) shard.EraseLocked(it);
}

size_t OpenFileCache::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].entries.size();
  }
  return n;
}

void OpenFileCache::SetClockForTesting(std::function<Clock::time_point()> now) {
  now_ = std::move(now);
}

}  // namespace sigil::download
