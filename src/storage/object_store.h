// ObjectStore: where symbol files live. Backends: filesystem (storage/fs) and S3-compatible
// (storage/s3). Only server/ names a concrete backend; everything else takes an ObjectStore&.
//
// Keys are '/'-separated relative paths (see docs/storage-layout.md); a backend rejects keys that
// could escape its root ("..", absolute, empty components, NUL) with kInvalidArgument. All methods
// are thread-safe and blocking: call them from the worker pool, never from an io thread. A put is
// atomic: readers see the old object or the new one, never a torn one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/fd.h"
#include "common/status.h"

namespace sigil::storage {

struct ObjectInfo {
  uint64_t size = 0;             // stored bytes (compressed size for gzip-encoded objects)
  std::string content_type;      // "" if unknown
  std::string content_encoding;  // "gzip" or ""
  std::map<std::string, std::string> metadata;  // e.g. original_size, original_md5_hash
  TimestampMicros last_modified = 0;
  std::string etag;  // quoted strong validator, e.g. "\"5d41...\""
};

struct PutOptions {
  std::string content_type;
  std::string content_encoding;
  std::map<std::string, std::string> metadata;  // keys: [a-z0-9_-]; values printable ASCII
  // Lower-case hex MD5 of exactly the bytes being stored, when the caller has computed it anyway
  // ("" when not). A store may use it instead of hashing the bytes again (the fs store's etag of a
  // pending object); it is trusted, not checked against the bytes.
  std::string content_md5;
};

struct ListEntry {
  std::string key;
  uint64_t size = 0;
  TimestampMicros last_modified = 0;
};

// An object written now and published later by ObjectStore::CommitPuts (see BeginPut). Its bytes
// live in the backend's staging area, invisible to every reader, until committed; destroying it
// uncommitted discards them. Not thread-safe; owned by one writer.
class PendingObject {
 public:
  virtual ~PendingObject() = default;
  virtual Status Append(std::string_view data) = 0;
  // Call once after the last Append, before CommitPuts.
  virtual Status Finish() = 0;
  virtual uint64_t size() const = 0;
};

// One object of a CommitPuts batch. `committed` is set once that object is stored durably.
struct PendingCommit {
  std::string key;
  PutOptions options;
  PendingObject* object = nullptr;  // borrowed; from BeginPut of the same store, finished
  bool committed = false;
};

// A streaming read of one object. Not thread-safe; owned by one reader.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual const ObjectInfo& info() const = 0;
  // Reads up to `size` bytes; returns 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t size) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Human-readable name of the store ("bucket" in the API): a bucket name or a directory.
  virtual std::string Name() const = 0;

  virtual Status Put(std::string_view key, std::string_view data, const PutOptions& options) = 0;
  // Stores the contents of a local file (streamed; may be large).
  virtual Status PutFile(std::string_view key, const std::string& path,
                         const PutOptions& options) = 0;

  // Two-phase puts, for backends that can write an object's bytes before publishing it
  // (SupportsPendingPuts). A caller writes any number of objects with BeginPut, then publishes them
  // with one CommitPuts, which makes them durable together (one sync step per batch instead of per
  // object). Each object is published atomically as by Put; the batch as a whole is not: after an
  // error, the items with `committed` set are stored durably; the others may or may not have become
  // visible (never torn). Keys must be distinct within a batch. Thread-safe like Put (a batch is
  // one call). The defaults say "unsupported" (kInvalidArgument): use Put/PutFile then.
  virtual bool SupportsPendingPuts() const { return false; }
  virtual Result<std::unique_ptr<PendingObject>> BeginPut() {
    return InvalidArgument("storage backend has no pending puts");
  }
  virtual Status CommitPuts(std::span<PendingCommit> /*batch*/) {
    return InvalidArgument("storage backend has no pending puts");
  }

  // kNotFound if absent.
  virtual Result<std::unique_ptr<ObjectReader>> Get(std::string_view key) = 0;
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;
  virtual Result<bool> Exists(std::string_view key) = 0;
  // Deleting an absent key is OK.
  virtual Status Delete(std::string_view key) = 0;
  // Every key starting with `prefix`, sorted, at most `limit` (0 = no limit).
  virtual Result<std::vector<ListEntry>> List(std::string_view prefix, size_t limit = 0) = 0;

  // A URL clients can fetch the object from directly (CDN/public bucket or presigned), if the
  // backend has one; nullopt means "serve the bytes through sigil".
  virtual std::optional<std::string> PublicUrl(std::string_view key) const = 0;
  // Whether objects are files on this machine, so OpenLocal can hand out descriptors the server
  // sends with sendfile(2). Pure (no I/O); the default is false.
  virtual bool HasLocalFiles() const { return false; }
  // The object's stored bytes opened read-only (never through a symbolic link), for zero-copy
  // serving; the descriptor keeps the opened version readable even if the key is overwritten.
  // kNotFound if absent; kInvalidArgument for a bad key or when !HasLocalFiles(). Blocking, but a
  // single open(2): the download path calls it on the io thread, as nginx opens static files.
  virtual Result<Fd> OpenLocal(std::string_view key) const {
    return InvalidArgument("storage backend has no local files (cannot open '" + std::string(key) +
                           "' locally)");
  }

  // Cheap health check for /__heartbeat__.
  virtual Status Ping() = 0;
};

// Validates a storage key: non-empty, at most 1024 bytes, no NUL or control bytes, not absolute, no
// empty, "." or ".." components, no backslash. Backends call this first.
Status ValidateKey(std::string_view key);

}  // namespace sigil::storage
