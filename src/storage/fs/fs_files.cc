#include "storage/fs/fs_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/hashing.h"
#include "storage/object_store.h"

namespace sigil::storage::fs {

Status ErrnoStatus(int err, std::string_view what) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      return Unavailable(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

namespace {

Status CheckComponent(std::string_view part, std::string_view whole) {
  if (part.substr(0, kReservedPrefix.size()) == kReservedPrefix) {
    return InvalidArgument("invalid storage key '" + std::string(whole.substr(0, 200)) +
                           "': components starting with '" + std::string(kReservedPrefix) +
                           "' are reserved");
  }
  if (part.size() > kMaxComponentBytes) {
    return InvalidArgument("invalid storage key '" + std::string(whole.substr(0, 200)) +
                           "': a path component is longer than " +
                           std::to_string(kMaxComponentBytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateFsKey(std::string_view key) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  for (std::string_view part : SplitKey(key)) SIGIL_RETURN_IF_ERROR(CheckComponent(part, key));
  return Status::Ok();
}

Status ValidateFsPrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  size_t slash = prefix.rfind('/');
  std::string_view last = slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
  if (slash != std::string_view::npos) {
    // The complete directory components must form a valid key on their own.
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(prefix.substr(0, slash)).WithContext("list prefix"));
  } else if (prefix.front() == '/') {
    return InvalidArgument("invalid list prefix: absolute path");
  }
  for (unsigned char c : last) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      return InvalidArgument("invalid list prefix: control character or backslash");
    }
  }
  if (last.size() > kMaxComponentBytes) return InvalidArgument("invalid list prefix: too long");
  return Status::Ok();
}

std::vector<std::string_view> SplitKey(std::string_view key) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) {
      parts.push_back(key.substr(start));
      return parts;
    }
    parts.push_back(key.substr(start, end - start));
    start = end + 1;
  }
}

Result<Fd> ReopenDir(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "reopening directory");
  return Fd(fd);
}

Result<Fd> OpenDirBeneath(int root_fd, const std::vector<std::string_view>& dirs, bool create,
                          std::string_view key) {
  Fd current;
  int at = root_fd;
  for (std::string_view part : dirs) {
    std::string name(part);
    int fd = ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(at, name.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, "creating directory for '" + std::string(key) + "'");
      }
      fd = ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int err = errno;
      struct stat st;
      bool is_link = err == ELOOP || (err == ENOTDIR &&
                                      ::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                                      S_ISLNK(st.st_mode));
      if (is_link) {
        return InvalidArgument("storage key '" + std::string(key) +
                               "' resolves through a symbolic link; refused");
      }
      if (err == ENOTDIR) {
        if (create) {
          return InvalidArgument("cannot store '" + std::string(key) + "': '" + name +
                                 "' is an object, not a directory");
        }
        return NotFound("object '" + std::string(key) + "' not found");
      }
      if (err == ENOENT) return NotFound("object '" + std::string(key) + "' not found");
      return ErrnoStatus(err, "opening directory of '" + std::string(key) + "'");
    }
    current = Fd(fd);
    at = fd;
  }
  if (!current.valid()) {
    // A new open file description (not a dup): flock and readdir positions are per description.
    SIGIL_ASSIGN_OR_RETURN(current, ReopenDir(root_fd));
  }
  return current;
}

namespace {

// Cleared when the kernel (or a seccomp filter) refuses openat2; then every call walks.
std::atomic<bool> openat2_usable{true};

Status SymlinkRefusedStatus(std::string_view key) {
  return InvalidArgument("storage key '" + std::string(key) +
                         "' resolves through a symbolic link; refused");
}

}  // namespace

Result<Fd> OpenBeneath(int root_fd, const std::string& relative_path, int flags,
                       std::string_view key, bool use_openat2) {
#ifdef SYS_openat2
  if (use_openat2 && openat2_usable.load(std::memory_order_relaxed)) {
    struct open_how how;
    std::memset(&how, 0, sizeof(how));
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0; attempt < 4; ++attempt) {
      long fd = ::syscall(SYS_openat2, root_fd, relative_path.c_str(), &how, sizeof(how));
      if (fd >= 0) return Fd(static_cast<int>(fd));
      int err = errno;
      if (err == EAGAIN || err == EINTR) continue;  // raced with a rename: the kernel asks to retry
      if (err == ENOSYS || err == EPERM || err == E2BIG) {
        openat2_usable.store(false, std::memory_order_relaxed);
        break;
      }
      if (err == ENOENT || err == ENOTDIR) {
        return NotFound("object '" + std::string(key) + "' not found");
      }
      if (err == ELOOP || err == EXDEV) return SymlinkRefusedStatus(key);
      return ErrnoStatus(err, "opening '" + std::string(key) + "'");
    }
  }
#endif
  std::vector<std::string_view> parts = SplitKey(relative_path);
  std::string name(parts.back());
  parts.pop_back();
  SIGIL_ASSIGN_OR_RETURN(Fd dir, OpenDirBeneath(root_fd, parts, /*create=*/false, key));
  Fd fd(::openat(dir.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) {
    // With O_PATH, O_NOFOLLOW opens a final symlink itself instead of failing: refuse it here so
    // both paths agree.
    struct stat st;
    if ((flags & O_PATH) != 0 && (::fstat(fd.get(), &st) != 0 || S_ISLNK(st.st_mode))) {
      return SymlinkRefusedStatus(key);
    }
    return fd;
  }
  int err = errno;
  if (err == ENOENT || err == ENOTDIR)
    return NotFound("object '" + std::string(key) + "' not found");
  if (err == ELOOP) return SymlinkRefusedStatus(key);
  return ErrnoStatus(err, "opening '" + std::string(key) + "'");
}

Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "writing object data");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<size_t> ReadSome(int fd, char* buf, size_t size) {
  while (true) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus(errno, "reading object data");
  }
}

Result<TempFile> CreateLockedTemp(int temp_dir_fd) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string name = "t-" + RandomHex(12);
    int fd = ::openat(temp_dir_fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return ErrnoStatus(errno, "creating temp file");
    }
    Fd owned(fd);
    // Blocks only while CleanTempDir holds the lock to delete the file, which it does after
    // unlinking; then the file is gone (no links left) and we start over with a new name.
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus(errno, "locking temp file");
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat temp file");
    if (st.st_nlink == 0) continue;
    return TempFile{std::move(owned), std::move(name)};
  }
  return Internal("could not create a temp file after 16 attempts");
}

size_t CleanTempDir(int temp_dir_fd) {
  Result<Fd> reopened = ReopenDir(temp_dir_fd);
  if (!reopened.ok()) return 0;
  DIR* dir = ::fdopendir(reopened->get());
  if (dir == nullptr) return 0;
  reopened->Release();  // owned by `dir` now
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(dir);

  size_t removed = 0;
  for (const std::string& name : names) {
    Fd fd(::openat(temp_dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
      // A symlink or something else we did not create: remove the name itself.
      if (errno == ELOOP && ::unlinkat(temp_dir_fd, name.c_str(), 0) == 0) ++removed;
      continue;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // A live writer holds its temp file locked; a crashed writer's lock died with its process.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    if (::unlinkat(temp_dir_fd, name.c_str(), 0) == 0) ++removed;
  }
  return removed;
}

}  // namespace sigil::storage::fs
