// Publishing written temp files as objects of the filesystem store: the write protocol of
// docs/storage-layout.md ("Writes"), for one object (Put/PutFile) and for a batch of pending
// objects (CommitPuts), plus the pending object itself.
//
// Protocol per object, under an exclusive flock of the object's directory: the new sidecar
// ([new version, version being replaced]) is written to a temp file; object and sidecar temp files
// are fsync'ed; the sidecar is renamed into place, then the object; then the directory is
// fsync'ed. A batch runs each step for all of its objects before the next one, its blocking steps
// (directory creation, sidecars, fsyncs) on up to 16 threads at once, so its fsyncs share journal
// commits and device flushes: one sync step for all temp files and one for the directories,
// instead of three fsyncs per object one after another. Directories of a batch are locked in path
// order (no deadlock between batches; a single Put holds one lock).
//
// Thread-safe (free functions); an FsPendingObject is owned by one writer.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/fs/direct_writer.h"
#include "storage/fs/fs_files.h"
#include "storage/object_store.h"

namespace sigil::storage::fs {

// Bytes of a future object, written to a locked temp file in the store's temp directory as they
// are appended (with O_DIRECT where allowed: DirectWriter; CRC-32 computed on the way, for the
// etag: PendingEtag), plus an empty locked temp file for its sidecar (created now, so that a
// commit only fills it in). Finish starts writing the last bytes (direct writes complete in the
// background; the commit waits for them: Written) or starts the kernel's writeback of anything
// still cached, so the data is on disk by the time the batch is committed. Temp files are
// removed on destruction unless a commit published them.
class FsPendingObject final : public PendingObject {
 public:
  // `owner` identifies the store (CommitPuts refuses objects of another store); `temp_dir_fd`
  // must outlive this object.
  FsPendingObject(const void* owner, int temp_dir_fd, TempFile temp, TempFile sidecar,
                  bool direct_writes);
  ~FsPendingObject() override;

  Status Append(std::string_view data) override;
  Status Finish() override;
  uint64_t size() const override { return writer_.size(); }
  // After Finish: waits until the temp file holds exactly the appended bytes; a failed write's
  // error.
  Status Written();

  const void* owner() const { return owner_; }
  bool finished() const { return finished_; }
  const TempFile& temp() const { return temp_; }
  const TempFile& sidecar() const { return sidecar_; }
  // CRC-32 (gzip's) of the appended bytes; final after Finish.
  uint32_t crc32() const { return crc32_; }
  // The temp file was renamed into place: nothing to remove any more.
  void Published() { published_ = true; }
  void SidecarPublished() { sidecar_published_ = true; }

 private:
  const void* owner_;
  int temp_dir_fd_;
  TempFile temp_;
  TempFile sidecar_;
  std::string what_;     // "temp file <name>", for error messages
  DirectWriter writer_;  // writes temp_
  uint32_t crc32_ = 0;
  bool finished_ = false;
  bool published_ = false;
  bool sidecar_published_ = false;
};

// The etag a finished pending object is committed with. When the caller supplies the MD5 of the
// original bytes (metadata `original_md5_hash`, 32 hex digits; upload sets it on every object it
// compresses): `"<original md5>-<CRC-32 of the stored bytes, 8 hex>-<stored size>"`, which costs no
// second pass over the bytes; two versions with the same etag have the same original content (so
// the same decoded body) and, but for a 2^-32 CRC collision, the same stored bytes. Otherwise the
// quoted MD5 of the stored bytes (as Put's etag): PutOptions::content_md5 when the caller gave it
// (upload does for members stored as they are), else read back from the temp file. Etags of objects
// stored earlier stay as their sidecars recorded them.
Result<std::string> PendingEtag(const FsPendingObject& object, const PutOptions& options);

// Publishes one fully written temp file as `key` (validated by the caller), with etag `md5_hex`.
Status PublishOne(int root_fd, int temp_dir_fd, std::string_view key, const TempFile& temp,
                  const std::string& md5_hex, const PutOptions& options);

// Publishes a batch of finished FsPendingObjects of the store `owner` (CommitPuts' contract in
// storage/object_store.h): validates every item first (keys, options, owner, distinct keys),
// so a bad item stores nothing.
Status PublishBatch(const void* owner, int root_fd, int temp_dir_fd,
                    std::span<PendingCommit> batch);

}  // namespace sigil::storage::fs
