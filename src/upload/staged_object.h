// StagedObject: the bytes one member will be stored as (gzip output or the raw member), produced
// during validation and kept until every member of the archive has passed, so a corrupt member
// found late leaves storage untouched. Where the store has pending puts (ObjectStore::BeginPut),
// the bytes go straight to the store's own staging area, to be published by CommitPuts. Otherwise
// small objects stay in memory while a shared MemoryBudget allows; larger ones (or when the budget
// is spent) spill to a temp file, so memory does not grow with archive size.
//
// StagedObject is not thread-safe (one producer, then one consumer). MemoryBudget is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/object_store.h"
#include "upload/temp_file.h"

namespace sigil::upload {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t bytes) : limit_(bytes) {}
  // Reserves `n` bytes if that keeps the total within the limit.
  bool TryReserve(uint64_t n);
  void Release(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

class StagedObject {
 public:
  // `max_in_memory`: objects larger than this always go to a file in `tmp_dir`.
  StagedObject(MemoryBudget& budget, std::string tmp_dir, uint64_t max_in_memory);
  // Stages into a store's pending object (from ObjectStore::BeginPut); `budget` is not used.
  StagedObject(MemoryBudget& budget, std::unique_ptr<storage::PendingObject> pending);
  ~StagedObject();
  StagedObject(StagedObject&&) = delete;
  StagedObject& operator=(StagedObject&&) = delete;

  // Hint: about `bytes` will be appended in all. Reserves that much memory up front (when it fits
  // in memory and the budget), so appending does not regrow the buffer. Call before Append.
  void Expect(uint64_t bytes);
  Status Append(std::string_view data);
  // Closes the file (if any); no Append afterwards.
  Status Finish();

  uint64_t size() const { return size_; }
  // The store's pending object, if staged there (commit it with ObjectStore::CommitPuts).
  storage::PendingObject* pending() const { return pending_.get(); }
  bool in_memory() const { return !pending_ && !file_.has_value(); }
  // In-memory contents (when in_memory()).
  std::string_view data() const { return memory_; }
  // File path (when !in_memory()).
  const std::string& path() const { return file_->path(); }

 private:
  MemoryBudget& budget_;
  std::string tmp_dir_;
  uint64_t max_in_memory_;
  std::string memory_;
  uint64_t reserved_ = 0;
  std::optional<TempFile> file_;
  std::unique_ptr<storage::PendingObject> pending_;
  uint64_t size_ = 0;
};

}  // namespace sigil::upload
