#include "storage/fs/fs_list.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "storage/fs/fs_files.h"

namespace sigil::storage::fs {
namespace {

struct Child {
  std::string name;
  bool is_dir = false;
  // The name as it sorts among keys: directories sort as "name/" since their keys continue so.
  std::string sort_key;
};

// Reads the children of `dir_fd` that start with `name_prefix`, sorted in key order.
Result<std::vector<Child>> ReadChildren(int dir_fd, std::string_view name_prefix) {
  SIGIL_ASSIGN_OR_RETURN(Fd reopened, ReopenDir(dir_fd));
  DIR* dir = ::fdopendir(reopened.get());
  if (dir == nullptr) return ErrnoStatus(errno, "reading directory");
  reopened.Release();  // owned by `dir` now
  std::vector<Child> children;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (name.substr(0, kReservedPrefix.size()) == kReservedPrefix) continue;
    if (name.substr(0, name_prefix.size()) != name_prefix) continue;
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type != DT_DIR && type != DT_REG) continue;  // symlinks and specials are never objects
    Child child{std::string(name), type == DT_DIR, std::string(name)};
    if (child.is_dir) child.sort_key += '/';
    children.push_back(std::move(child));
  }
  ::closedir(dir);
  std::sort(children.begin(), children.end(),
            [](const Child& a, const Child& b) { return a.sort_key < b.sort_key; });
  return children;
}

Status Walk(int dir_fd, const std::string& key_prefix, std::string_view name_prefix, size_t limit,
            std::vector<ListEntry>* out) {
  SIGIL_ASSIGN_OR_RETURN(std::vector<Child> children, ReadChildren(dir_fd, name_prefix));
  for (const Child& child : children) {
    if (limit != 0 && out->size() >= limit) return Status::Ok();
    if (child.is_dir) {
      Fd sub(::openat(dir_fd, child.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) continue;  // removed or replaced meanwhile
      SIGIL_RETURN_IF_ERROR(Walk(sub.get(), key_prefix + child.name + "/", "", limit, out));
    } else {
      struct stat st;
      if (::fstatat(dir_fd, child.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(st.st_mode)) {
        continue;  // deleted meanwhile
      }
      out->push_back(ListEntry{
          key_prefix + child.name, static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000});
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<ListEntry>> ListBeneath(int root_fd, std::string_view prefix, size_t limit) {
  SIGIL_RETURN_IF_ERROR(ValidateFsPrefix(prefix));
  size_t slash = prefix.rfind('/');
  std::string dir_part;
  std::string_view name_prefix = prefix;
  std::vector<std::string_view> dirs;
  if (slash != std::string_view::npos) {
    dir_part = std::string(prefix.substr(0, slash + 1));
    name_prefix = prefix.substr(slash + 1);
    dirs = SplitKey(prefix.substr(0, slash));
  }
  std::vector<ListEntry> out;
  Result<Fd> dir = OpenDirBeneath(root_fd, dirs, /*create=*/false, prefix);
  if (!dir.ok()) {
    if (dir.status().code() == StatusCode::kNotFound) return out;
    return dir.status();
  }
  SIGIL_RETURN_IF_ERROR(Walk(dir->get(), dir_part, name_prefix, limit, &out));
  return out;
}

}  // namespace sigil::storage::fs
