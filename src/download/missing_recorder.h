// MissingSymbolsRecorder: counts download misses in memory and writes them to the database in
// batches, so the miss path never waits for a database write.
//
// Record() bumps a counter in a lock-sharded map (hash of the fields → count); a background thread
// flushes every pending count with one Database::RecordMissingSymbols call (one transaction, one
// atomic UPSERT per distinct symbol) at least every `flush_interval`. Exactness: a count is either
// still in the map or committed; a failed flush puts its counts back for the next try; Flush() and
// the destructor write whatever is pending, so a graceful stop loses nothing (only a destructor
// whose final flush fails logs and drops the counts it could not write).
//
// Limits: a field over 150 characters is not recorded (Tecken's rule); at most `max_pending_keys`
// distinct symbols wait in memory (further new symbols are dropped and counted in dropped(), while
// known ones keep counting) so a database outage cannot exhaust memory.
// Thread-safe. Record() is cheap (no I/O, no allocation for an already pending symbol).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/status.h"

namespace sigil::db {
class Database;
}

namespace sigil::download {

class MissingSymbolsRecorder {
 public:
  static constexpr size_t kMaxFieldLength = 150;

  // `db` must outlive the recorder. flush_interval > 0.
  MissingSymbolsRecorder(db::Database& db, std::chrono::milliseconds flush_interval,
                         size_t max_pending_keys = 200000);
  // Stops the flusher and flushes what is pending.
  ~MissingSymbolsRecorder();
  MissingSymbolsRecorder(const MissingSymbolsRecorder&) = delete;
  MissingSymbolsRecorder& operator=(const MissingSymbolsRecorder&) = delete;

  // Counts one miss. Returns false when it was not recorded (a field too long, or the pending
  // limit).
  bool Record(std::string_view debug_file, std::string_view debug_id, std::string_view filename,
              std::string_view code_file, std::string_view code_id);

  // Writes every pending count now (blocking; serialised with the background flush). On failure the
  // counts stay pending and the error is returned.
  Status Flush();

  uint64_t pending_count() const;  // sum of counts not yet written
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t failed_flushes() const { return failed_flushes_.load(std::memory_order_relaxed); }

 private:
  struct Pending {
    int64_t count = 0;
    int64_t seen_at = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Pending, StringHash, std::equal_to<>>;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    Map map;
  };
  static constexpr size_t kShards = 32;

  void Merge(Map&& from);  // puts counts back after a failed flush
  void Run();

  db::Database& db_;
  const std::chrono::milliseconds interval_;
  const size_t max_pending_keys_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> pending_keys_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_flushes_{0};

  std::mutex flush_mu_;  // one flush at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sigil::download
