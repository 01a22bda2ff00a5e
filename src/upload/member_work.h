// The state of one archive member through an upload's two phases (MemberWork), what a pass
// learns from its bytes (MemberScan), and the first error of a parallel phase (FirstError).
// Internal to src/upload: UploadService and MemberPreparer share them.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/md5_mb.h"
#include "common/status.h"
#include "common/sym_header.h"
#include "storage/object_store.h"
#include "upload/gzip_compressor.h"
#include "upload/key_registry.h"
#include "upload/member_reader.h"
#include "upload/staged_object.h"
#include "upload/zip_inspector.h"

namespace sigil::upload {

// kInternal "<what> <key>: <status>" for a failed storage or database call.
Status StorageError(const Status& s, std::string_view what, std::string_view key);

// Collects the first error of a parallel phase and tells the other workers to stop.
class FirstError {
 public:
  void Set(Status s) {
    std::lock_guard lock(mu_);
    if (status_.ok()) status_ = std::move(s);
    failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  Status Get() {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  Status status_;
  std::atomic<bool> failed_{false};
};

struct MemberWork;

// What one pass learns from a member's uncompressed bytes: their MD5 (original_md5_hash and skip
// checks of compressed members; the etag of members stored as they are) and the .sym header from
// the first kSymHeaderMaxBytes. The MD5 is updated by the caller (md5()), several members' at once.
class MemberScan {
 public:
  MemberScan(bool is_sym, bool hash) : is_sym_(is_sym), hash_(hash) {}

  void Update(std::string_view chunk) {
    if (is_sym_ && prefix_.size() < kSymHeaderMaxBytes) {
      prefix_.append(chunk.substr(0, kSymHeaderMaxBytes - prefix_.size()));
    }
  }
  // The MD5 to update with every chunk, or null when this pass does not hash.
  Md5Stream* md5() { return hash_ ? &md5_ : nullptr; }

  // Call after the whole member passed every check.
  void Finish(MemberWork& work);

 private:
  bool is_sym_;
  bool hash_;
  Md5Stream md5_;
  std::string prefix_;
};

struct MemberWork {
  enum class Outcome { kPending, kSkipped, kStored };

  const ArchiveMember* member = nullptr;
  std::string storage_key;
  bool compress = false;
  bool is_sym = false;
  bool use_pending = false;  // stage as the store's pending object, commit in one batch
  KeyRegistry::Pin pin;
  std::optional<storage::ObjectInfo> existing;
  Outcome outcome = Outcome::kPending;
  std::unique_ptr<StagedObject> staged;
  std::string md5;  // of the original bytes (hashed when they are staged)
  std::optional<SymHeader> header;
  TimestampMicros store_started = 0;

  // Phase 1: what the member's pass is for, and its state while it is being read.
  enum class Pass { kCheckExisting, kKeepDeflate, kOwnOutput };
  Pass pass = Pass::kOwnOutput;
  bool keep_failed = false;  // bytes after the deflate stream: the member is recompressed
  std::unique_ptr<MemberStream> stream;
  std::unique_ptr<MemberScan> scan;
  std::unique_ptr<GzipCompressor> gzip;
  MemberReader::Consumer raw_sink;  // the kept deflate stream's bytes, to the stage

  // True if `info` already holds exactly this member's content.
  bool SameAs(const storage::ObjectInfo& info) const;
};

}  // namespace sigil::upload
