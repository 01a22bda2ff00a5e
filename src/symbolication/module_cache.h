// ModuleCache: built symbol indexes, on local disk (byte budget, LRU eviction, atomic writes) and
// mapped in memory (byte budget, LRU). Keyed by (debug_file, debug_id, index version).
//
// Disk layout: <dir>/<debug_file>/<DEBUG_ID>.v<version>.symidx. Files found in <dir> at startup are
// adopted (least recently modified evicted first). A file that fails validation is deleted and
// treated as a miss. Mapped indexes are shared_ptr: a request keeps its index alive while eviction
// drops it from the cache.
//
// Thread-safe. Get/Put block on disk I/O (call them from the worker pool).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "symbolication/symbol_index.h"

namespace sigil::symbolication {

struct ModuleCacheOptions {
  std::string dir;                     // created if missing
  uint64_t disk_bytes = 8ull << 30;    // index files kept on disk
  uint64_t memory_bytes = 2ull << 30;  // open indexes: mapped bytes + inflated string data
};

struct ModuleCacheStats {
  uint64_t memory_hits = 0, disk_hits = 0, misses = 0;
  uint64_t disk_evictions = 0, memory_evictions = 0;
  uint64_t disk_bytes = 0, memory_bytes = 0;
};

class ModuleCache {
 public:
  using IndexPtr = std::shared_ptr<const SymbolIndex>;

  // Creates the directory and adopts existing index files.
  static Result<std::unique_ptr<ModuleCache>> Create(const ModuleCacheOptions& options);

  // The index from memory, else from disk (mapped, validated), else nullptr.
  IndexPtr Get(std::string_view debug_file, std::string_view debug_id);
  // Writes freshly built index bytes to disk atomically (evicting the least recently used files
  // over the budget), maps it and keeps it in memory.
  Result<IndexPtr> Put(std::string_view debug_file, std::string_view debug_id,
                       std::string_view bytes);
  // Forgets a module (memory and disk), e.g. when its .sym was replaced.
  void Invalidate(std::string_view debug_file, std::string_view debug_id);

  ModuleCacheStats stats() const;
  // "<dir>/<debug_file>/<DEBUG_ID>.v<version>.symidx"
  std::string PathFor(std::string_view debug_file, std::string_view debug_id) const;

 private:
  explicit ModuleCache(const ModuleCacheOptions& options) : options_(options) {}
  void AdoptExisting();
  void TouchDiskLocked(const std::string& path, uint64_t bytes);
  void EvictDiskLocked(const std::string& keep);
  void AddMemoryLocked(const std::string& key, IndexPtr index);

  ModuleCacheOptions options_;
  mutable std::mutex mu_;
  // Disk LRU: front = most recent. path -> (iterator, bytes).
  std::list<std::string> disk_lru_;
  struct DiskEntry {
    std::list<std::string>::iterator it;
    uint64_t bytes;
  };
  std::unordered_map<std::string, DiskEntry> disk_;
  uint64_t disk_bytes_ = 0;
  // Memory LRU keyed by path.
  std::list<std::string> mem_lru_;
  struct MemEntry {
    std::list<std::string>::iterator it;
    IndexPtr index;
  };
  std::unordered_map<std::string, MemEntry> mem_;
  uint64_t mem_bytes_ = 0;
  ModuleCacheStats stats_;
};

}  // namespace sigil::symbolication
