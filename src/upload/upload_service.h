// UploadService: the upload pipeline of http-api.md §2, independent of HTTP.
//
//   inspect (central directory, every spec check) → per member, in parallel on the WorkerPool (one
//   thread per core, each reading up to 16 members side by side, a chunk of each per round, so
//   their MD5s share the SIMD rounds of Md5UpdateMany, and taking new members only while it holds
//   no more than its share of the bytes in flight): pin key, Head (one stat, no listing), then in
//   one pass read + verify (size, CRC, bomb limits), MD5, .sym header, and stage the stored bytes:
//   a deflated member compressed at least 2:1 keeps its own deflate stream inside a gzip wrapper,
//   any other is gzipped with ISA-L. Where the store has pending puts (the fs store), the stored
//   bytes go straight into its staging area, written back while other members are still being
//   read → if every member passed: create the uploads row
//   → store what another upload did not store meanwhile (under the keys' locks): the pending
//   objects in one CommitPuts (one durability step for the whole upload), the others one Put
//   each, in parallel → the stored members' file_uploads rows and stored keys (one
//   RecordStoredFiles transaction for the batch, one per member put alone), their
//   InvalidationBus::Publish → complete the uploads row.
//
// Nothing is stored and no row is written when any check fails. A storage failure while storing
// leaves the uploads row with completed_at null and stored_keys saying what was stored; a retry
// skips those. Concurrent uploads of one key on this node store it once (KeyRegistry; cross-node
// notes there).
//
// Thread-safe. Upload/UploadFromUrl block: call them from a WorkerPool thread (they fan out on the
// same pool and also work on the calling thread, so a busy pool cannot deadlock them). The borrowed
// references must outlive the service.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/invalidation_bus.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "db/database.h"
#include "storage/object_store.h"
#include "upload/key_registry.h"
#include "upload/member_preparer.h"
#include "upload/member_work.h"
#include "upload/staged_object.h"
#include "upload/url_fetcher.h"
#include "upload/zip_inspector.h"

namespace sigil::upload {

struct UploadRequest {
  int64_t user_id = 0;
  std::string user_email;
  std::string filename;  // archive name as the client gave it; must end in .zip (any case)
  ArchiveFile archive;   // where the archive's bytes are (must outlive the call)
  bool try_symbols = false;
  std::optional<std::string> download_url;  // set for upload by URL
  std::vector<std::string> redirect_urls;
};

struct UrlUploadRequest {
  int64_t user_id = 0;
  std::string user_email;
  std::string url;
  bool try_symbols = false;
};

class UploadService {
 public:
  UploadService(const UploadConfig& config, storage::ObjectStore& store, db::Database& db,
                WorkerPool& pool, InvalidationBus& bus, std::string tmp_dir);

  // Validates, stores and records one archive. Returns the completed uploads row (id, timestamps,
  // skipped_keys, ignored_keys, ...). Errors: kInvalidArgument/kTooLarge from the checks (nothing
  // stored), kInternal when storage or the database fails.
  Result<db::Upload> Upload(const UploadRequest& request);

  // Downloads the archive (UrlFetcher rules) into the temp dir, then Upload()s it with the URL
  // name.
  Result<db::Upload> UploadFromUrl(const UrlUploadRequest& request);

  // 400 `Unrecognized archive file extension ".rar"` unless `name` ends in ".zip" (any case).
  static Status CheckArchiveName(std::string_view name);

  // The storage name reported as "bucket".
  std::string BucketName() const { return store_.Name(); }

  const UploadConfig& config() const { return config_; }
  // Directory for temp files of this service (must exist).
  const std::string& tmp_dir() const { return tmp_dir_; }

 private:
  static storage::PutOptions OptionsFor(const MemberWork& work);
  bool StillNeeded(MemberWork& work);
  Status Store(MemberWork& work, int64_t upload_id);
  Status StoreBatch(std::vector<MemberWork*>& batch);
  Status Record(const std::vector<MemberWork*>& works, int64_t upload_id);
  db::FileUpload FileRow(MemberWork& work, int64_t upload_id);

  const UploadConfig& config_;
  storage::ObjectStore& store_;
  db::Database& db_;
  WorkerPool& pool_;
  InvalidationBus& bus_;
  std::string tmp_dir_;
  UrlFetcher fetcher_;
  KeyRegistry keys_;
  MemoryBudget staging_budget_;
  MemberPreparer preparer_;  // phase 1
};

}  // namespace sigil::upload
