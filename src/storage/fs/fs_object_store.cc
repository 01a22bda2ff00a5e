#include "storage/fs/fs_object_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "common/hashing.h"
#include "storage/fs/fs_files.h"
#include "storage/fs/fs_list.h"
#include "storage/fs/fs_publish.h"
#include "storage/fs/fs_sidecar.h"

namespace sigil::storage::fs {
namespace {

constexpr size_t kCopyChunk = 1 << 20;
// Attempts of a reader to pair an object file with its sidecar while writers replace it.
constexpr int kMaxReadAttempts = 50;

class FsObjectReader : public ObjectReader {
 public:
  FsObjectReader(Fd fd, ObjectInfo info) : fd_(std::move(fd)), info_(std::move(info)) {}
  const ObjectInfo& info() const override { return info_; }
  Result<size_t> Read(char* buf, size_t size) override { return ReadSome(fd_.get(), buf, size); }

 private:
  Fd fd_;
  ObjectInfo info_;
};

// Removes a temp file unless released (after it was renamed into place).
class TempCleanup {
 public:
  TempCleanup(int dir_fd, std::string name) : dir_fd_(dir_fd), name_(std::move(name)) {}
  ~TempCleanup() {
    if (!name_.empty()) ::unlinkat(dir_fd_, name_.c_str(), 0);
  }
  void Release() { name_.clear(); }

 private:
  int dir_fd_;
  std::string name_;
};

struct OpenedObject {
  Fd fd;
  ObjectInfo info;
};

class FsObjectStore : public ObjectStore {
 public:
  FsObjectStore(std::string root, Fd root_fd, Fd temp_fd, FsOptions options)
      : root_(std::move(root)),
        root_fd_(std::move(root_fd)),
        temp_fd_(std::move(temp_fd)),
        options_(options) {}

  std::string Name() const override { return root_; }

  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override {
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(key));
    SIGIL_RETURN_IF_ERROR(ValidatePutOptions(options));
    SIGIL_ASSIGN_OR_RETURN(TempFile temp, CreateLockedTemp(temp_fd_.get()));
    TempCleanup cleanup(temp_fd_.get(), temp.name);
    SIGIL_RETURN_IF_ERROR(WriteAll(temp.fd.get(), data.data(), data.size()));
    SIGIL_RETURN_IF_ERROR(Publish(key, temp, Md5Hex(data), options));
    cleanup.Release();
    return Status::Ok();
  }

  Status PutFile(std::string_view key, const std::string& path,
                 const PutOptions& options) override {
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(key));
    SIGIL_RETURN_IF_ERROR(ValidatePutOptions(options));
    Fd source(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!source.valid()) return ErrnoStatus(errno, "opening source file '" + path + "'");
    ::posix_fadvise(source.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    SIGIL_ASSIGN_OR_RETURN(TempFile temp, CreateLockedTemp(temp_fd_.get()));
    TempCleanup cleanup(temp_fd_.get(), temp.name);
    Digest md5(Digest::Kind::kMd5);
    std::unique_ptr<char[]> buf(new char[kCopyChunk]);
    while (true) {
      SIGIL_ASSIGN_OR_RETURN(size_t n, ReadSome(source.get(), buf.get(), kCopyChunk));
      if (n == 0) break;
      md5.Update(buf.get(), n);
      SIGIL_RETURN_IF_ERROR(WriteAll(temp.fd.get(), buf.get(), n));
    }
    SIGIL_RETURN_IF_ERROR(Publish(key, temp, md5.FinishHex(), options));
    cleanup.Release();
    return Status::Ok();
  }

  bool SupportsPendingPuts() const override { return true; }

  Result<std::unique_ptr<PendingObject>> BeginPut() override {
    SIGIL_ASSIGN_OR_RETURN(TempFile temp, CreateLockedTemp(temp_fd_.get()));
    TempCleanup cleanup(temp_fd_.get(), temp.name);
    SIGIL_ASSIGN_OR_RETURN(TempFile sidecar, CreateLockedTemp(temp_fd_.get()));
    cleanup.Release();  // owned by the pending object from here on
    return std::unique_ptr<PendingObject>(std::make_unique<FsPendingObject>(
        this, temp_fd_.get(), std::move(temp), std::move(sidecar), options_.direct_writes));
  }

  Status CommitPuts(std::span<PendingCommit> batch) override {
    return PublishBatch(this, root_fd_.get(), temp_fd_.get(), batch);
  }

  Result<std::unique_ptr<ObjectReader>> Get(std::string_view key) override {
    SIGIL_ASSIGN_OR_RETURN(OpenedObject object, Open(key));
    return std::unique_ptr<ObjectReader>(
        std::make_unique<FsObjectReader>(std::move(object.fd), std::move(object.info)));
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    SIGIL_ASSIGN_OR_RETURN(OpenedObject object, Open(key));
    return std::move(object.info);
  }

  Result<bool> Exists(std::string_view key) override {
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(key));
    Result<Fd> fd =
        OpenBeneath(root_fd_.get(), std::string(key), O_PATH, key, options_.use_openat2);
    if (!fd.ok()) {
      if (fd.status().code() == StatusCode::kNotFound) return false;
      return fd.status();
    }
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return ErrnoStatus(errno, "stat '" + std::string(key) + "'");
    if (S_ISLNK(st.st_mode)) return SymlinkRefused(key);
    return S_ISREG(st.st_mode);
  }

  Status Delete(std::string_view key) override {
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(key));
    std::vector<std::string_view> parts = SplitKey(key);
    std::string name(parts.back());
    parts.pop_back();
    Result<Fd> dir = OpenDirBeneath(root_fd_.get(), parts, /*create=*/false, key);
    if (!dir.ok()) {
      return dir.status().code() == StatusCode::kNotFound ? Status::Ok() : dir.status();
    }
    SIGIL_RETURN_IF_ERROR(LockDir(dir->get()));
    // Object first: a reader that finds no object reports kNotFound, whatever the sidecar says.
    if (::unlinkat(dir->get(), name.c_str(), 0) != 0 && errno != ENOENT && errno != EISDIR) {
      return ErrnoStatus(errno, "deleting '" + std::string(key) + "'");
    }
    std::string meta = std::string(kMetaPrefix) + name;
    if (::unlinkat(dir->get(), meta.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "deleting sidecar of '" + std::string(key) + "'");
    }
    if (::fsync(dir->get()) != 0) return ErrnoStatus(errno, "fsync directory");
    return Status::Ok();
  }

  Result<std::vector<ListEntry>> List(std::string_view prefix, size_t limit) override {
    return ListBeneath(root_fd_.get(), prefix, limit);
  }

  std::optional<std::string> PublicUrl(std::string_view) const override { return std::nullopt; }

  bool HasLocalFiles() const override { return true; }

  Result<Fd> OpenLocal(std::string_view key) const override {
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(key));
    // O_NONBLOCK: opening something that is not a regular file (a FIFO) must not hang the io
    // thread; the server checks S_ISREG before sending.
    return OpenBeneath(root_fd_.get(), std::string(key), O_RDONLY | O_NONBLOCK, key,
                       options_.use_openat2);
  }

  Status Ping() override {
    Result<TempFile> temp = CreateLockedTemp(temp_fd_.get());
    if (!temp.ok()) {
      return Unavailable("storage root '" + root_ +
                         "' is not writable: " + temp.status().message());
    }
    TempCleanup cleanup(temp_fd_.get(), temp->name);
    Status written = WriteAll(temp->fd.get(), "ok", 2);
    if (!written.ok()) {
      return Unavailable("storage root '" + root_ + "' is not writable: " + written.message());
    }
    return Status::Ok();
  }

 private:
  static Status SymlinkRefused(std::string_view key) {
    return InvalidArgument("storage key '" + std::string(key) +
                           "' resolves through a symbolic link; refused");
  }

  static Status LockDir(int dir_fd) {
    while (::flock(dir_fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus(errno, "locking object directory");
    }
    return Status::Ok();  // released when dir_fd is closed
  }

  Status Publish(std::string_view key, const TempFile& temp, const std::string& md5_hex,
                 const PutOptions& options) {
    return PublishOne(root_fd_.get(), temp_fd_.get(), key, temp, md5_hex, options);
  }

  // Opens the object file and pairs it with the sidecar entry describing that very file.
  Result<OpenedObject> Open(std::string_view key) {
    SIGIL_RETURN_IF_ERROR(ValidateFsKey(key));
    const std::string path(key);
    const std::string sidecar_path = SidecarPathOf(key);
    std::optional<FileIdentity> last_identity;
    std::string last_raw;
    for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
      // O_NONBLOCK: opening a FIFO planted in the tree must not block (no effect on files).
      SIGIL_ASSIGN_OR_RETURN(Fd fd, OpenBeneath(root_fd_.get(), path, O_RDONLY | O_NONBLOCK, key,
                                                options_.use_openat2));
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat '" + path + "'");
      if (!S_ISREG(st.st_mode)) return NotFound("object '" + path + "' not found");

      std::string raw;
      SIGIL_ASSIGN_OR_RETURN(
          std::optional<Sidecar> sidecar,
          ReadSidecarBeneath(root_fd_.get(), sidecar_path, &raw, options_.use_openat2));
      FileIdentity identity = FileIdentity::Of(st);
      if (!sidecar) return OpenedObject{std::move(fd), DerivedInfo(st)};
      if (const SidecarEntry* entry = sidecar->Find(identity)) {
        return OpenedObject{std::move(fd), InfoFromEntry(*entry, st)};
      }
      // No entry for our file: either it was replaced twice since we opened it (retry), or the
      // file was put there by hand (nothing changes between two looks: use the file alone).
      if (last_identity == identity && last_raw == raw) {
        return OpenedObject{std::move(fd), DerivedInfo(st)};
      }
      last_identity = identity;
      last_raw = std::move(raw);
      if (attempt >= 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Unavailable("object '" + path + "' is being rewritten; retry");
  }

  const std::string root_;
  const Fd root_fd_;
  const Fd temp_fd_;
  const FsOptions options_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> MakeFsObjectStore(const std::string& root) {
  return MakeFsObjectStore(root, FsOptions{});
}

Result<std::unique_ptr<ObjectStore>> MakeFsObjectStore(const std::string& root,
                                                       const FsOptions& options) {
  if (root.empty()) return InvalidArgument("filesystem storage root is empty");
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    return Unavailable("cannot create storage root '" + root + "': " + ec.message());
  }
  std::filesystem::path canonical = std::filesystem::canonical(root, ec);
  if (ec) return Unavailable("cannot resolve storage root '" + root + "': " + ec.message());
  Fd root_fd(::open(canonical.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    if (errno == ENOTDIR) return InvalidArgument("storage root '" + root + "' is not a directory");
    return ErrnoStatus(errno, "opening storage root '" + root + "'");
  }
  std::string temp_dir(kTempDirName);
  if (::mkdirat(root_fd.get(), temp_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "creating '" + temp_dir + "' in storage root '" + root + "'");
  }
  Fd temp_fd(
      ::openat(root_fd.get(), temp_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!temp_fd.valid()) {
    return ErrnoStatus(errno, "opening '" + temp_dir + "' in storage root '" + root + "'");
  }
  size_t removed = CleanTempDir(temp_fd.get());
  if (removed > 0) {
    spdlog::info("fs store {}: removed {} temp files left by crashed writers", canonical.string(),
                 removed);
  }
  return std::unique_ptr<ObjectStore>(std::make_unique<FsObjectStore>(
      canonical.string(), std::move(root_fd), std::move(temp_fd), options));
}

}  // namespace sigil::storage::fs
