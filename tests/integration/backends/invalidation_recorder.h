// Shared by the InvalidationBus integration tests (Redis, memcached): a listener that records the
// keys it is told about, and the test keys they publish.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "common/invalidation_bus.h"
#include "common/symbol_key.h"

namespace sigil::testing {

// Collects delivered keys; thread-safe.
class InvalidationRecorder {
 public:
  InvalidationBus::Listener Listener() {
    return [this](const SymbolKey& key) {
      std::lock_guard lock(mu_);
      keys_.push_back(key);
      cv_.notify_all();
    };
  }
  // Waits until at least n keys arrived.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return keys_.size() >= n; });
  }
  std::vector<SymbolKey> keys() {
    std::lock_guard lock(mu_);
    return keys_;
  }
  std::vector<std::string> storage_keys() {
    std::vector<std::string> out;
    for (const SymbolKey& k : keys()) out.push_back(k.StorageKey());
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SymbolKey> keys_;
};

// "<debug_file>/0123456789ABCDEF0123456789ABCDEF0/x.sym" (or its try/ twin).
inline SymbolKey TestKey(const std::string& debug_file, bool is_try = false) {
  auto k = SymbolKey::Parse(debug_file, "0123456789ABCDEF0123456789ABCDEF0", "x.sym", is_try);
  EXPECT_TRUE(k.ok());
  return *k;
}

}  // namespace sigil::testing
