#include "cache/memcached/memcached_invalidation_bus.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cache/invalidation_wire.h"
#include "cache/memcached/memcached_client.h"
#include "common/hashing.h"

namespace sigil::cache::memcached {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kMaxEventsPerPoll = 10000;  // further behind than this: the oldest are skipped
constexpr int kPollsForUnwrittenEvent = 10;    // numbered but not stored yet: look again this often

std::string ErrorText(const memcached_st* m, memcached_return_t rc) {
  return memcached_strerror(m, rc);
}

// The event counter's value; 0 when no event was ever numbered.
Result<uint64_t> ReadCounter(memcached_st* m, const std::string& key) {
  size_t len = 0;
  uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  char* v = memcached_get(m, key.data(), key.size(), &len, &flags, &rc);
  uint64_t n = 0;
  if (v != nullptr) {
    n = std::strtoull(std::string(v, len).c_str(), nullptr, 10);
    free(v);
  }
  if (rc == MEMCACHED_NOTFOUND) return uint64_t{0};
  if (rc != MEMCACHED_SUCCESS) return Unavailable(ErrorText(m, rc));
  return n;
}

class MemcachedInvalidationBus : public InvalidationBus {
 public:
  MemcachedInvalidationBus(MemcachedOptions options, MemcachedBusOptions bus_options,
                           memcached_st* publish_client, memcached_st* poll_client)
      : options_(std::move(options)),
        bus_options_(std::move(bus_options)),
        sender_(RandomHex(8)),
        seq_key_(bus_options_.prefix + "seq"),
        publish_client_(publish_client),
        poll_client_(poll_client) {
    // Events numbered from now on are this bus's to deliver: read where the log stands before
    // returning, not at the first poll (an upload in between would be missed). If memcached is
    // down, the first successful poll sets the start instead.
    auto seq = ReadCounter(poll_client_, seq_key_);
    if (seq.ok()) {
      start_ = *seq;
    } else {
      memcached_quit(poll_client_);
    }
    thread_ = std::thread([this] { Poll(); });
  }

  ~MemcachedInvalidationBus() override {
    {
      std::lock_guard lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    thread_.join();
    memcached_free(poll_client_);
    memcached_free(publish_client_);
  }

  uint64_t Subscribe(Listener listener) override { return local_.Subscribe(std::move(listener)); }
  void Unsubscribe(uint64_t id) override { local_.Unsubscribe(id); }

  void Publish(const SymbolKey& key) override {
    local_.Publish(key);
    std::string event = EncodeInvalidation(sender_, key);
    std::lock_guard lock(publish_mu_);
    memcached_st* m = publish_client_;
    uint64_t n = 0;
    memcached_return_t rc = memcached_increment(m, seq_key_.data(), seq_key_.size(), 1, &n);
    if (rc == MEMCACHED_NOTFOUND) {
      // First event ever (or after a restart): create the counter; a concurrent creator wins.
      memcached_add(m, seq_key_.data(), seq_key_.size(), "0", 1, 0, 0);
      rc = memcached_increment(m, seq_key_.data(), seq_key_.size(), 1, &n);
    }
    if (rc == MEMCACHED_SUCCESS) {
      std::string ev_key = EventKey(n);
      rc = memcached_set(m, ev_key.data(), ev_key.size(), event.data(), event.size(),
                         static_cast<time_t>(bus_options_.event_ttl.count()), 0);
    }
    if (rc != MEMCACHED_SUCCESS) {
      spdlog::warn("invalidation of {} not sent to other nodes (their memos expire by TTL): {}: {}",
                   key.StorageKey(), options_.Describe(), ErrorText(m, rc));
      memcached_quit(m);
    }
  }

 private:
  std::string EventKey(uint64_t n) const { return bus_options_.prefix + "ev:" + std::to_string(n); }

  // Sleeps up to `d`; true when the bus is being destroyed.
  bool WaitForStop(milliseconds d) {
    std::unique_lock lock(stop_mu_);
    return stop_cv_.wait_for(lock, d, [&] { return stop_; });
  }

  // Fetches the events `ids`; returns id -> stored text for those present.
  Result<std::map<uint64_t, std::string>> FetchEvents(const std::vector<uint64_t>& ids) {
    std::vector<std::string> keys;
    std::map<std::string, uint64_t> id_of;
    for (uint64_t id : ids) {
      keys.push_back(EventKey(id));
      id_of[keys.back()] = id;
    }
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& k : keys) {
      ptrs.push_back(k.data());
      lens.push_back(k.size());
    }
    memcached_return_t rc = memcached_mget(poll_client_, ptrs.data(), lens.data(), ptrs.size());
    if (rc != MEMCACHED_SUCCESS) return Unavailable(ErrorText(poll_client_, rc));
    std::map<uint64_t, std::string> found;
    memcached_result_st storage;
    memcached_result_st* result = memcached_result_create(poll_client_, &storage);
    if (result == nullptr) return Internal("memcached_result_create failed");
    while (memcached_fetch_result(poll_client_, result, &rc) != nullptr) {
      std::string key(memcached_result_key_value(result), memcached_result_key_length(result));
      auto it = id_of.find(key);
      if (it != id_of.end()) {
        found[it->second].assign(memcached_result_value(result), memcached_result_length(result));
      }
    }
    memcached_result_free(result);
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS) {
      return Unavailable(ErrorText(poll_client_, rc));
    }
    return found;
  }

  void Poll() {
    std::optional<uint64_t> last = start_;  // the newest event number handled
    std::map<uint64_t, int> unwritten;      // numbered, not stored yet -> polls left
    bool warned = false;
    while (!WaitForStop(bus_options_.poll)) {
      auto seq = ReadCounter(poll_client_, seq_key_);
      if (!seq.ok()) {
        if (!warned) {
          spdlog::warn(
              "invalidation bus: cannot read the event log on {}; retrying every {} ms: {}",
              options_.Describe(), bus_options_.poll.count(), seq.status().message());
          warned = true;
        }
        memcached_quit(poll_client_);
        continue;
      }
      if (warned) spdlog::info("invalidation bus: {} answers again", options_.Describe());
      warned = false;
      if (!last) {  // memcached was down at start: begin here
        last = *seq;
        continue;
      }
      if (*seq < *last) {  // memcached restarted (or evicted the counter): a new log
        last = 0;
        unwritten.clear();
      }
      std::vector<uint64_t> ids;
      for (const auto& entry : unwritten) ids.push_back(entry.first);
      uint64_t from = *last + 1;
      if (*seq - *last > kMaxEventsPerPoll) {
        spdlog::warn("invalidation bus: {} events behind; the oldest expire by TTL", *seq - *last);
        from = *seq - kMaxEventsPerPoll + 1;
      }
      for (uint64_t id = from; id <= *seq; ++id) ids.push_back(id);
      last = *seq;
      if (ids.empty()) continue;
      auto events = FetchEvents(ids);
      if (!events.ok()) {
        memcached_quit(poll_client_);
        for (uint64_t id : ids) unwritten.emplace(id, kPollsForUnwrittenEvent);
        continue;
      }
      for (uint64_t id : ids) {
        auto it = events->find(id);
        if (it == events->end()) {
          auto [u, inserted] = unwritten.emplace(id, kPollsForUnwrittenEvent);
          if (!inserted && --u->second <= 0) unwritten.erase(u);
          continue;
        }
        unwritten.erase(id);
        std::string sender;
        auto key = DecodeInvalidation(it->second, &sender);
        if (!key.ok()) {
          spdlog::warn("invalidation bus: dropped a malformed event: {}", key.status().message());
          continue;
        }
        if (sender != sender_) local_.Deliver(*key);
      }
    }
  }

  const MemcachedOptions options_;
  const MemcachedBusOptions bus_options_;
  const std::string sender_;  // random id of this bus instance
  const std::string seq_key_;
  LocalInvalidationBus local_;
  std::mutex publish_mu_;  // guards publish_client_
  memcached_st* const publish_client_;
  memcached_st* const poll_client_;  // poller thread only
  std::optional<uint64_t> start_;  // the counter when the bus was made (set before the poller runs)
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<InvalidationBus>> MakeMemcachedInvalidationBus(
    const std::string& url, MemcachedBusOptions bus_options) {
  SIGIL_ASSIGN_OR_RETURN(MemcachedOptions options, ParseMemcachedUrl(url));
  SIGIL_ASSIGN_OR_RETURN(memcached_st * publish_client, NewMemcachedClient(options));
  auto poll_client = NewMemcachedClient(options);
  if (!poll_client.ok()) {
    memcached_free(publish_client);
    return poll_client.status();
  }
  return std::unique_ptr<InvalidationBus>(std::make_unique<MemcachedInvalidationBus>(
      std::move(options), std::move(bus_options), publish_client, *poll_client));
}

}  // namespace sigil::cache::memcached
