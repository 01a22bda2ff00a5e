#include "cache/memory/memory_cache.h"

#include <array>
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sigil::cache::memory {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Bookkeeping bytes charged per entry on top of key and value (list node, map slot, strings).
constexpr uint64_t kEntryOverhead = 128;
constexpr size_t kShards = 64;  // must match the shift in ShardFor (64 = 2^6)

struct Entry {
  std::string key;
  std::string value;
  SteadyClock::time_point expires;
  uint64_t charge = 0;
};

class Shard {
 public:
  void set_budget(uint64_t budget) { budget_ = budget; }
  uint64_t budget() const { return budget_; }

  std::optional<std::string> Get(std::string_view key, SteadyClock::time_point now) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    auto node = it->second;
    if (node->expires <= now) {
      EraseLocked(it);
      return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, node);
    return node->value;
  }

  void Set(std::string_view key, std::string_view value, SteadyClock::time_point expires,
           uint64_t charge) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) EraseLocked(it);
    lru_.push_front(Entry{std::string(key), std::string(value), expires, charge});
    index_.emplace(std::string_view(lru_.front().key), lru_.begin());
    used_ += charge;
    EvictLocked(SteadyClock::now());
  }

  void Delete(std::string_view key) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) EraseLocked(it);
  }

 private:
  using List = std::list<Entry>;
  using Index = std::unordered_map<std::string_view, List::iterator>;

  void EraseLocked(Index::iterator it) {
    auto node = it->second;
    used_ -= node->charge;
    index_.erase(it);  // before the node: the map key views the node's string
    lru_.erase(node);
  }

  // Drops expired entries from the tail, then least recently used ones until within budget.
  void EvictLocked(SteadyClock::time_point now) {
    while (!lru_.empty() && (used_ > budget_ || lru_.back().expires <= now)) {
      EraseLocked(index_.find(std::string_view(lru_.back().key)));
    }
  }

  std::mutex mu_;
  List lru_;  // front = most recently used
  Index index_;
  uint64_t used_ = 0;
  uint64_t budget_ = 0;
};

class MemoryCache final : public Cache {
 public:
  explicit MemoryCache(uint64_t byte_budget) {
    uint64_t per_shard = byte_budget / kShards;
    if (per_shard == 0) per_shard = 1;
    for (auto& s : shards_) s.set_budget(per_shard);
  }

  std::string Name() const override { return "memory"; }
  bool InProcess() const override { return true; }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    return ShardFor(key).Get(key, SteadyClock::now());
  }

  Status Set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
    if (ttl.count() <= 0)
      return InvalidArgument("cache ttl must be positive, got " + std::to_string(ttl.count()));
    Shard& shard = ShardFor(key);
    uint64_t charge = key.size() + value.size() + kEntryOverhead;
    if (charge > shard.budget()) {
      shard.Delete(key);  // a stale smaller value must not outlive a failed overwrite
      return TooLarge("cache value of " + std::to_string(value.size()) +
                      " bytes exceeds the shard budget of " + std::to_string(shard.budget()) +
                      " bytes");
    }
    shard.Set(key, value, SteadyClock::now() + ttl, charge);
    return Status::Ok();
  }

  Status Delete(std::string_view key) override {
    ShardFor(key).Delete(key);
    return Status::Ok();
  }

  Result<std::vector<std::optional<std::string>>> GetMulti(
      const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    auto now = SteadyClock::now();
    for (const auto& k : keys) out.push_back(ShardFor(k).Get(k, now));
    return out;
  }

  Status Ping() override { return Status::Ok(); }

 private:
  // The top bits of a multiplicative mix pick the shard, so shard choice and the shard's own bucket
  // choice (low bits of the same hash) stay independent.
  Shard& ShardFor(std::string_view key) {
    uint64_t h = std::hash<std::string_view>{}(key)*0x9E3779B97F4A7C15ull;
    return shards_[h >> 58];
  }

  std::array<Shard, kShards> shards_;
};

}  // namespace

std::unique_ptr<Cache> MakeMemoryCache(uint64_t byte_budget) {
  return std::make_unique<MemoryCache>(byte_budget);
}

}  // namespace sigil::cache::memory
