// OpenFileCache: descriptors of recently served local objects, kept open so a download hit costs
// no open(2)/close(2) (nginx's open_file_cache, on by default here). Keyed by storage key; bounded
// by `capacity` descriptors (least recently used are closed first) and by `ttl` (an entry is
// reopened after it, so a file changed behind sigil's back is picked up); an upload of a key
// invalidates its entry (DownloadService subscribes to the InvalidationBus).
//
// A descriptor handed out stays valid while a response still sends from it, even after its entry
// is evicted or invalidated (shared ownership; closed when the last user lets go). Because the
// filesystem store replaces objects by rename, a kept descriptor always reads one whole version.
//
// Thread-safety: all methods are thread-safe (sharded locks); `open` runs outside any lock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/status.h"

namespace sigil::download {

class OpenFileCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Opener = std::function<Result<Fd>()>;

  // capacity 0 disables caching: every Get calls `open`.
  OpenFileCache(size_t capacity, std::chrono::seconds ttl);
  ~OpenFileCache();
  OpenFileCache(const OpenFileCache&) = delete;
  OpenFileCache& operator=(const OpenFileCache&) = delete;

  // The kept descriptor of `key`, or `open()`'s result (kept on success). Errors are not kept.
  Result<std::shared_ptr<const Fd>> Get(std::string_view key, const Opener& open);
  // Closes (once unused) the kept descriptor of `key`, if any.
  void Invalidate(std::string_view key);
  // Descriptors currently kept.
  size_t size() const;

  // For tests: the clock used for TTLs.
  void SetClockForTesting(std::function<Clock::time_point()> now);

 private:
  struct Shard;
  Shard& ShardFor(std::string_view key);

  const size_t capacity_per_shard_;
  const std::chrono::seconds ttl_;
  std::function<Clock::time_point()> now_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace sigil::download
