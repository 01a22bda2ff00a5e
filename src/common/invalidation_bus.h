// InvalidationBus: upload publishes every SymbolKey it stores; caches that answer from a possibly
// stale view (download existence memo, code-id memo, symbolication negative cache and index cache)
// subscribe.
//
// LocalInvalidationBus delivers in-process, synchronously on the publishing thread. A distributed
// bus (Redis pub/sub, in cache/redis) delivers to every node. Listeners must be fast and
// thread-safe; they may be called from any thread. Publish is thread-safe; Subscribe/Unsubscribe
// are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/symbol_key.h"

namespace sigil {

class InvalidationBus {
 public:
  using Listener = std::function<void(const SymbolKey&)>;
  virtual ~InvalidationBus() = default;

  // Returns a subscription id for Unsubscribe.
  virtual uint64_t Subscribe(Listener listener) = 0;
  virtual void Unsubscribe(uint64_t id) = 0;
  // Delivers to every subscriber (on every node, for distributed buses).
  virtual void Publish(const SymbolKey& key) = 0;
};

class LocalInvalidationBus : public InvalidationBus {
 public:
  uint64_t Subscribe(Listener listener) override;
  void Unsubscribe(uint64_t id) override;
  void Publish(const SymbolKey& key) override;
  // Delivers to local subscribers only (used by distributed buses when a remote event arrives).
  void Deliver(const SymbolKey& key);

 private:
  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Listener> listeners_;
};

}  // namespace sigil
