// FsObjectStore: an ObjectStore over a local directory (the default, `file://<data_dir>/symbols`).
//
// Layout (docs/storage-layout.md): object `a/b/c` is the file `<root>/a/b/c` holding exactly the
// stored bytes (so OpenLocal's descriptor can be served with sendfile); its content type, encoding,
// metadata and etag live in the sidecar `<root>/a/b/.sigil-meta.c`; writes in progress are temp
// files in
// `<root>/.sigil-tmp/`. Key components starting with `.sigil-` are reserved (kInvalidArgument).
//
// Guarantees:
// - Nothing outside the root is ever read or written: keys are resolved relative to the root's
//   descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) or an O_NOFOLLOW walk; keys
//   through a symlink are refused (kInvalidArgument).
// - Writes are atomic and durable: temp file + fsync, sidecar renamed first, then the object,
//   then the directory is fsync'ed. Concurrent writers of one key serialise their publish step on
//   an flock of the object's directory (across threads and processes); the last one wins whole.
//   Pending puts (BeginPut/CommitPuts) write into the temp directory as the caller produces the
//   bytes; a commit publishes its batch with the same protocol step by step for all objects at
//   once, its fsyncs issued concurrently (fs_publish.h).
// - Get returns bytes and info of the same version (the sidecar binds entries to file identity).
//   OpenLocal + Head are not one snapshot: a rewrite between them can pair old info with new
//   bytes; callers that need a snapshot use Get. Symbol files are rarely rewritten.
// - Temp files of crashed writers are never listed or read and are removed when a store is opened
//   on the root (a live writer's temp file is flock'ed and left alone).
// Limits: the root must be one filesystem (no mount points below it); a key cannot be both an
// object and a "directory" of other objects (`a/b` and `a/b/c`), unlike S3.
//
// Thread-safe; all methods block (call them from the worker pool).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "storage/object_store.h"

namespace sigil::storage::fs {

// Opens (creating it if missing) a store rooted at `root`, cleaning leftover temp files.
// Errors: kInvalidArgument if `root` exists and is not a directory, kUnavailable/kInternal if it
// cannot be created or opened.
Result<std::unique_ptr<ObjectStore>> MakeFsObjectStore(const std::string& root);

struct FsOptions {
  // Resolve keys with one openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) call (Linux >= 5.6; used
  // only where the kernel allows it). false: always walk components with O_NOFOLLOW (same result,
  // more system calls).
  bool use_openat2 = true;
  // Write pending objects (BeginPut) with O_DIRECT where the filesystem allows it
  // (direct_writer.h): no page-cache copy of bytes that are written once and read rarely. false:
  // buffered writes.
  bool direct_writes = true;
};
Result<std::unique_ptr<ObjectStore>> MakeFsObjectStore(const std::string& root,
                                                       const FsOptions& options);

}  // namespace sigil::storage::fs
