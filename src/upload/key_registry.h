// KeyRegistry: in-process coordination of concurrent uploads that touch the same storage key, so
// that two uploads of the same file on one node never both store it.
//
// An upload Pins every key it will consider before it stats the object (Head), remembering the
// key's store generation. Before storing, it takes the key's lock (Guard) and checks the
// generation: if another upload on this node stored the key after our Head, the caller re-stats and
// usually skips; otherwise it stores under the lock and bumps the generation. Locks are held only
// around one store (one Put, or one batch commit, which takes its keys' locks in key order), never
// across tasks, so overlapping uploads cannot deadlock on each other or starve the WorkerPool.
//
// Across nodes there is no coordination: two nodes may store the same key at once. Puts are atomic
// and the content is identical for the same symbol, so the object ends up intact; both nodes record
// a file_uploads row for it.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sigil::upload {

class KeyRegistry {
 public:
  struct Entry {
    std::mutex mu;  // held while the key is being stored
    uint64_t generation =
        0;            // times the key was stored by this process while pinned (guarded by mu)
    size_t pins = 0;  // guarded by KeyRegistry::mu_
  };

  // Keeps a key's entry alive while an upload works on it. Move-only.
  class Pin {
   public:
    Pin() = default;
    Pin(Pin&& other) noexcept;
    Pin& operator=(Pin&& other) noexcept;
    ~Pin();
    // Generation when pinned (read under the entry's lock).
    uint64_t generation_at_pin() const { return generation_at_pin_; }
    Entry& entry() const { return *entry_; }

   private:
    friend class KeyRegistry;
    KeyRegistry* registry_ = nullptr;
    std::string key_;
    Entry* entry_ = nullptr;
    uint64_t generation_at_pin_ = 0;
  };

  Pin Acquire(const std::string& key);
  // Number of keys currently pinned (for tests).
  size_t size() const;

 private:
  void Release(const std::string& key);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace sigil::upload
