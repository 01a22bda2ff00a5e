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
};

struct ListEntry {
  std::string key;
  uint64_t size = 0;
  TimestampMicros last_modified = 0;
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
