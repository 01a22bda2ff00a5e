// RedisInvalidationBus: the InvalidationBus of a multi-node deployment whose cache is Redis.
//
// Publish(key) delivers to this node's subscribers at once (synchronously, like
// LocalInvalidationBus) and PUBLISHes the key on the channel (options "channel", default
// "sigil:invalidate:<db>"); every other node's bus receives it on a background subscriber thread
// and delivers it to its local subscribers (LocalInvalidationBus::Deliver). A node ignores its own
// messages (each bus has a random sender id).
//
// Message format (one PUBLISH per key): "v1|<sender id>|<0 or 1:
// try>|<debug_file>/<debug_id>/<file>". Received keys are validated with SymbolKey::ParsePath;
// malformed messages are logged and dropped.
//
// Failures: Publish never fails the caller; if Redis is down the event still reaches this node's
// subscribers, other nodes miss it (a warning is logged) and their memos expire by TTL. The
// subscriber reconnects and resubscribes by itself (every retry_ms) and checks an idle link with
// PING every 5 s, so a silently dead connection is replaced too. Events published while a node was
// disconnected are not replayed to it (Redis pub/sub keeps no history): bounded staleness = the
// memo TTLs.
//
// Thread-safe. The destructor stops the subscriber thread (within milliseconds) and waits for it;
// no listener is called after it returns.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cache/invalidation_wire.h"
#include "cache/redis/redis_options.h"
#include "cache/redis/redis_pool.h"
#include "common/invalidation_bus.h"
#include "common/status.h"

namespace sigil::cache::redis {

class RedisInvalidationBus : public InvalidationBus {
 public:
  // Starts the subscriber thread; does not wait for the subscription (see WaitUntilSubscribed).
  static Result<std::unique_ptr<RedisInvalidationBus>> Create(RedisOptions options);
  ~RedisInvalidationBus() override;

  uint64_t Subscribe(Listener listener) override;
  void Unsubscribe(uint64_t id) override;
  void Publish(const SymbolKey& key) override;

  // Blocks until the subscriber is subscribed (events from other nodes will arrive) or the timeout
  // passes; returns whether it is subscribed.
  bool WaitUntilSubscribed(std::chrono::milliseconds timeout);
  // Events from other nodes delivered so far; publishes that did not reach Redis.
  uint64_t remote_events() const { return remote_events_.load(); }
  uint64_t publish_failures() const { return publish_failures_.load(); }

 private:
  RedisInvalidationBus(RedisOptions options, int wake_fd);
  void Run();
  // Subscribes on `conn` and delivers messages until the link fails (returns why) or Stop is asked.
  Status Listen(RedisConnection& conn);
  void HandleReply(const ::redisReply& reply);
  void SetSubscribed(bool subscribed);
  // Sleeps up to `d`; returns early (true) when the bus is being destroyed.
  bool WaitForStop(std::chrono::milliseconds d);

  const RedisOptions options_;
  const std::string sender_;  // random id of this bus instance
  LocalInvalidationBus local_;
  RedisPool publish_pool_;
  const int wake_fd_;  // eventfd: written by the destructor to stop the subscriber
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> remote_events_{0};
  std::atomic<uint64_t> publish_failures_{0};
  std::atomic<int64_t> last_warning_ms_{0};
  bool warned_ = false;  // subscriber thread only: an outage was logged
  std::mutex mu_;
  std::condition_variable subscribed_cv_;
  bool subscribed_ = false;
  std::thread thread_;
};

// Parses the URL (as MakeRedisCache) and starts the bus, waiting up to connect + read timeout for
// the subscription. Redis being down is not an error (the bus keeps trying in the background); a
// bad URL is.
Result<std::unique_ptr<InvalidationBus>> MakeRedisInvalidationBus(const std::string& url);

// The wire format (cache/invalidation_wire.h, shared with memcached's event log).
using cache::DecodeInvalidation;
using cache::EncodeInvalidation;

}  // namespace sigil::cache::redis
