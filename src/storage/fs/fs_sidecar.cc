#include "storage/fs/fs_sidecar.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>

#include "storage/fs/fs_files.h"

namespace sigil::storage::fs {

namespace json = boost::json;

FileIdentity FileIdentity::Of(const struct stat& st) {
  return FileIdentity{static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

const SidecarEntry* Sidecar::Find(const FileIdentity& identity) const {
  for (const SidecarEntry& e : entries) {
    if (e.identity == identity) return &e;
  }
  return nullptr;
}

std::string Sidecar::Serialize() const {
  json::array list;
  for (const SidecarEntry& e : entries) {
    json::object meta;
    for (const auto& [k, v] : e.metadata) meta[k] = v;
    list.push_back(json::object{{"inode", e.identity.inode},
                                {"size", e.identity.size},
                                {"mtime_ns", e.identity.mtime_ns},
                                {"content_type", e.content_type},
                                {"content_encoding", e.content_encoding},
                                {"etag", e.etag},
                                {"metadata", std::move(meta)}});
  }
  return json::serialize(json::object{{"format", 1}, {"entries", std::move(list)}}) + "\n";
}

namespace {

// Reads a member of the expected kind; false if missing or of another kind.
bool GetString(const json::object& o, std::string_view key, std::string* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return false;
  *out = std::string(v->get_string());
  return true;
}

template <typename T>
bool GetInt(const json::object& o, std::string_view key, T* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return false;
  boost::system::error_code ec;
  T n = v->to_number<T>(ec);
  if (ec) return false;
  *out = n;
  return true;
}

}  // namespace

std::optional<Sidecar> Sidecar::Parse(std::string_view text) {
  // Sidecars are small: parse into a stack arena (no heap allocation for the DOM).
  unsigned char arena[4096];
  json::monotonic_resource resource(arena, sizeof(arena));
  boost::system::error_code ec;
  json::value root = json::parse(text, ec, &resource);
  if (ec || !root.is_object()) return std::nullopt;
  const json::object& top = root.get_object();
  int format = 0;
  if (!GetInt(top, "format", &format) || format != 1) return std::nullopt;
  const json::value* list = top.if_contains("entries");
  if (list == nullptr || !list->is_array()) return std::nullopt;
  Sidecar sidecar;
  for (const json::value& item : list->get_array()) {
    if (!item.is_object()) return std::nullopt;
    const json::object& o = item.get_object();
    SidecarEntry e;
    if (!GetInt(o, "inode", &e.identity.inode) || !GetInt(o, "size", &e.identity.size) ||
        !GetInt(o, "mtime_ns", &e.identity.mtime_ns) ||
        !GetString(o, "content_type", &e.content_type) ||
        !GetString(o, "content_encoding", &e.content_encoding) || !GetString(o, "etag", &e.etag)) {
      return std::nullopt;
    }
    const json::value* meta = o.if_contains("metadata");
    if (meta == nullptr || !meta->is_object()) return std::nullopt;
    for (const auto& kv : meta->get_object()) {
      if (!kv.value().is_string()) return std::nullopt;
      e.metadata.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    sidecar.entries.push_back(std::move(e));
  }
  return sidecar;
}

namespace {

// Reads and parses an opened sidecar file; nullopt (logged) if it is not a sane sidecar.
Result<std::optional<Sidecar>> ReadOpenedSidecar(const Fd& fd, std::string_view what,
                                                 std::string* raw) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat sidecar " + std::string(what));
  if (!S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(kMaxSidecarBytes)) {
    spdlog::warn("fs store: sidecar {} is not a regular file of at most {} bytes; ignored", what,
                 kMaxSidecarBytes);
    return std::optional<Sidecar>();
  }
  raw->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < raw->size()) {
    SIGIL_ASSIGN_OR_RETURN(size_t n, ReadSome(fd.get(), raw->data() + got, raw->size() - got));
    if (n == 0) break;
    got += n;
  }
  raw->resize(got);
  std::optional<Sidecar> sidecar = Sidecar::Parse(*raw);
  if (!sidecar) spdlog::warn("fs store: sidecar {} is corrupt; ignored", what);
  return sidecar;
}

}  // namespace

Result<std::optional<Sidecar>> ReadSidecar(int dir_fd, const std::string& name, std::string* raw) {
  raw->clear();
  std::string meta_name = std::string(kMetaPrefix) + name;
  Fd fd(::openat(dir_fd, meta_name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<Sidecar>();
    if (errno == ELOOP) {
      spdlog::warn("fs store: sidecar '{}' is a symlink; ignored", meta_name);
      return std::optional<Sidecar>();
    }
    return ErrnoStatus(errno, "opening sidecar of '" + name + "'");
  }
  return ReadOpenedSidecar(fd, "'" + meta_name + "'", raw);
}

Result<std::optional<Sidecar>> ReadSidecarBeneath(int root_fd, const std::string& sidecar_path,
                                                  std::string* raw, bool use_openat2) {
  raw->clear();
  Result<Fd> fd =
      OpenBeneath(root_fd, sidecar_path, O_RDONLY | O_NONBLOCK, sidecar_path, use_openat2);
  if (!fd.ok()) {
    switch (fd.status().code()) {
      case StatusCode::kNotFound:
        return std::optional<Sidecar>();
      case StatusCode::kInvalidArgument:
        spdlog::warn("fs store: sidecar '{}' is a symlink; ignored", sidecar_path);
        return std::optional<Sidecar>();
      default:
        return fd.status();
    }
  }
  return ReadOpenedSidecar(*fd, "'" + sidecar_path + "'", raw);
}

std::string SidecarPathOf(std::string_view key) {
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos) return std::string(kMetaPrefix) + std::string(key);
  return std::string(key.substr(0, slash + 1)) + std::string(kMetaPrefix) +
         std::string(key.substr(slash + 1));
}

ObjectInfo DerivedInfo(const struct stat& st) {
  FileIdentity id = FileIdentity::Of(st);
  ObjectInfo info;
  info.size = id.size;
  info.last_modified = id.mtime_ns / 1000;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(id.inode),
                static_cast<unsigned long long>(id.size),
                static_cast<unsigned long long>(id.mtime_ns));
  info.etag = buf;
  return info;
}

ObjectInfo InfoFromEntry(const SidecarEntry& entry, const struct stat& st) {
  ObjectInfo info;
  info.size = static_cast<uint64_t>(st.st_size);
  info.last_modified = FileIdentity::Of(st).mtime_ns / 1000;
  info.content_type = entry.content_type;
  info.content_encoding = entry.content_encoding;
  info.metadata = entry.metadata;
  info.etag = entry.etag;
  return info;
}

namespace {

bool PrintableAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool IsLowerMd5Hex(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status ValidatePutOptions(const PutOptions& options) {
  if (options.content_type.size() > 256 || !PrintableAscii(options.content_type)) {
    return InvalidArgument("invalid content type: at most 256 printable ASCII characters");
  }
  if (options.content_encoding.size() > 256 || !PrintableAscii(options.content_encoding)) {
    return InvalidArgument("invalid content encoding: at most 256 printable ASCII characters");
  }
  size_t total = 0;
  for (const auto& [key, value] : options.metadata) {
    bool key_ok = !key.empty() && key.size() <= 64;
    for (char c : key) {
      key_ok = key_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    }
    if (!key_ok) {
      return InvalidArgument("invalid metadata key '" + key.substr(0, 80) +
                             "': use 1-64 characters of [a-z0-9_-]");
    }
    if (!PrintableAscii(value)) {
      return InvalidArgument("invalid value of metadata '" + key + "': printable ASCII only");
    }
    total += key.size() + value.size();
  }
  if (total > 2048) return InvalidArgument("metadata larger than 2048 bytes");
  if (!options.content_md5.empty() && !IsLowerMd5Hex(options.content_md5)) {
    return InvalidArgument("invalid content MD5: 32 lower-case hex digits");
  }
  return Status::Ok();
}

}  // namespace sigil::storage::fs
