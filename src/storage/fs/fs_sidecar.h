// The metadata sidecar of a filesystem object: `.sigil-meta.<name>` beside the object file.
//
// A sidecar holds one or two entries, each describing one version of the object file, bound to it
// by the file's identity (inode number, size, mtime in ns). A write renames the new sidecar
// ([new version, current version]) into place *before* it renames the new object file, so whichever
// object file a reader has open, the sidecar it reads afterwards describes it. The format (JSON)
// and the protocol are documented in docs/storage-layout.md.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/object_store.h"

namespace sigil::storage::fs {

struct FileIdentity {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;

  static FileIdentity Of(const struct stat& st);
  bool operator==(const FileIdentity&) const = default;
};

struct SidecarEntry {
  FileIdentity identity;
  std::string content_type;
  std::string content_encoding;
  std::string etag;
  std::map<std::string, std::string> metadata;
};

struct Sidecar {
  std::vector<SidecarEntry> entries;  // newest first

  const SidecarEntry* Find(const FileIdentity& identity) const;
  std::string Serialize() const;
  // nullopt if the text is not a well-formed sidecar.
  static std::optional<Sidecar> Parse(std::string_view text);
};

// Largest sidecar file read (a bigger one is treated as corrupt).
inline constexpr size_t kMaxSidecarBytes = 64 * 1024;

// Reads `.sigil-meta.<name>` in `dir_fd`: nullopt if absent or corrupt (logged), else the sidecar.
// `raw` receives the file's text (to tell whether it changed between two reads).
Result<std::optional<Sidecar>> ReadSidecar(int dir_fd, const std::string& name, std::string* raw);
// Same, for the sidecar at `sidecar_path` below `root_fd` (opened with OpenBeneath).
Result<std::optional<Sidecar>> ReadSidecarBeneath(int root_fd, const std::string& sidecar_path,
                                                  std::string* raw, bool use_openat2);
// The sidecar path of `key`: "<dir>/.sigil-meta.<name>".
std::string SidecarPathOf(std::string_view key);

// Info of a file that has no matching sidecar entry (placed by hand or by an older tool): size and
// mtime from the file, no type/encoding/metadata, and an etag derived from the file's identity.
ObjectInfo DerivedInfo(const struct stat& st);
ObjectInfo InfoFromEntry(const SidecarEntry& entry, const struct stat& st);

// Checks PutOptions: metadata keys 1-64 bytes of [a-z0-9_-], values printable ASCII, at most 2 KiB
// of metadata in total (S3's limit), content type/encoding printable ASCII up to 256 bytes.
Status ValidatePutOptions(const PutOptions& options);

}  // namespace sigil::storage::fs
