// MemberPreparer: phase 1 of an upload. Reads every member of a checked archive, verifies it
// (size, CRC, deflate stream), hashes it (MD5, several members at once), parses .sym headers and
// stages what the store does not hold yet, on the calling thread and pool helpers sharing the
// members round by round (LaneScheduler). Nothing is stored: UploadService's phase 2 commits the
// stages. Thread-safe: one MemberPreparer serves concurrent uploads (each call has its own state).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "storage/object_store.h"
#include "upload/key_registry.h"
#include "upload/member_work.h"
#include "upload/staged_object.h"
#include "upload/zip_inspector.h"

namespace sigil::upload {

class LaneScheduler;

class MemberPreparer {
 public:
  // All borrowed; they must outlive the preparer. `tmp_dir` holds stages that are not the
  // store's pending objects.
  MemberPreparer(const UploadConfig& config, storage::ObjectStore& store, KeyRegistry& keys,
                 MemoryBudget& staging_budget, const std::string& tmp_dir);

  // Phase 1 for `works` (one per member of `archive`; `order` lists them largest first) on the
  // calling thread and up to `helpers` pool threads (never more threads than cores). On return
  // each member is skipped (a stored object holds it), staged, or the first error is returned
  // (stages then free their bytes when `works` goes). Members' streams are closed either way.
  Status Prepare(const ArchiveFile& archive, std::vector<MemberWork>& works,
                 const std::vector<size_t>& order, WorkerPool& pool, size_t helpers);

 private:
  void Work(MemberReader& reader, std::vector<MemberWork>& works, const std::vector<size_t>& order,
            LaneScheduler& scheduler, FirstError& error);
  Status StartMember(MemberWork& work, MemberReader& reader);
  Status StartStaging(MemberWork& work, MemberReader& reader);
  static Status ConsumeChunk(MemberWork& work, std::string_view chunk);
  Result<bool> EndPass(MemberWork& work, MemberReader& reader);
  std::unique_ptr<StagedObject> NewStage(const MemberWork& work);

  const UploadConfig& config_;
  storage::ObjectStore& store_;
  KeyRegistry& keys_;
  MemoryBudget& staging_budget_;
  const std::string& tmp_dir_;
};

}  // namespace sigil::upload
