// Low-level file helpers of the filesystem object store: an owning file descriptor, key checks that
// are specific to the on-disk layout, symlink-safe directory walks (every component is opened with
// O_NOFOLLOW relative to the root's descriptor, so nothing resolves outside the root), and locked
// temp files. Layout and reserved names: docs/storage-layout.md.
//
// Thread-safety: free functions are thread-safe; an Fd is owned by one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/fd.h"
#include "common/status.h"

namespace sigil::storage::fs {

// Every name starting with this prefix is reserved for the store's own files (sidecars, the temp
// directory); keys with such a component are rejected.
inline constexpr std::string_view kReservedPrefix = ".sigil-";
// Sidecar of object `name`: `.sigil-meta.<name>` in the same directory.
inline constexpr std::string_view kMetaPrefix = ".sigil-meta.";
// Directory (directly below the root) holding temp files of writes in progress.
inline constexpr std::string_view kTempDirName = ".sigil-tmp";
// Longest key component: NAME_MAX (255) minus the sidecar prefix.
inline constexpr size_t kMaxComponentBytes = 255 - kMetaPrefix.size();

// The owning descriptor type every helper here returns (common/fd.h).
using Fd = ::sigil::Fd;

// A Status for a failed system call: "<what>: <strerror>". ENOSPC/EDQUOT/EMFILE/ENFILE map to
// kUnavailable, everything else to kInternal.
Status ErrnoStatus(int err, std::string_view what);

// ValidateKey plus the layout's rules: no reserved component, components at most
// kMaxComponentBytes.
Status ValidateFsKey(std::string_view key);
// Validates a List prefix: may end in a partial component (or '/'); the complete components before
// it follow ValidateFsKey's rules.
Status ValidateFsPrefix(std::string_view prefix);
// Splits a valid key at '/'. The views point into `key`.
std::vector<std::string_view> SplitKey(std::string_view key);

// Opens `dir_fd` again as a new open file description (flock and readdir state are per description,
// so a dup() would share them).
Result<Fd> ReopenDir(int dir_fd);

// Opens directory `dirs[0]/dirs[1]/...` below `root_fd` without following symlinks. With `create`,
// missing directories are made. Errors: kNotFound (a component is missing or is a file, without
// `create`), kInvalidArgument (a component is a symlink or, with `create`, a file), else
// ErrnoStatus.
Result<Fd> OpenDirBeneath(int root_fd, const std::vector<std::string_view>& dirs, bool create,
                          std::string_view key);

// Opens `relative_path` (components of a valid key) below `root_fd` with `flags` (O_CLOEXEC is
// added), never following a symlink in any component: one openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) call where the kernel has it, else a component walk. A symlink as the last
// component is refused too, also with O_PATH. Errors: kNotFound
// (missing, or a component is a file), kInvalidArgument (a symlink on the way), else ErrnoStatus.
// `use_openat2` = false forces the walk (tests cover both paths).
Result<Fd> OpenBeneath(int root_fd, const std::string& relative_path, int flags,
                       std::string_view key, bool use_openat2 = true);

// Writes all of `data` (retrying short writes and EINTR).
Status WriteAll(int fd, const char* data, size_t size);
// Reads up to `size` bytes (retrying EINTR); 0 at the end.
Result<size_t> ReadSome(int fd, char* buf, size_t size);

// A file in the temp directory, exclusively flock()ed for its whole life so that CleanTempDir can
// tell a live writer's file from a crashed writer's leftover.
struct TempFile {
  Fd fd;
  std::string name;  // inside the temp directory
};
Result<TempFile> CreateLockedTemp(int temp_dir_fd);
// Removes every file in the temp directory that no live process holds locked (leftovers of crashed
// writers). Returns how many were removed.
size_t CleanTempDir(int temp_dir_fd);

}  // namespace sigil::storage::fs
