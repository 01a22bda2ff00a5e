#include "upload/zip_inspector.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/hashing.h"
#include "upload/zip_handle.h"

namespace sigil::upload {
namespace {

constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kMaxCommentSize = 0xffff;

uint64_t LoadLe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Result<std::string> ReadRange(int fd, uint64_t offset, size_t size) {
  std::string buf(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal(std::string("reading archive: ") + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  buf.resize(done);
  return buf;
}

Status NotAZip() { return InvalidArgument("File is not a zip file"); }

// The entry count the end-of-central-directory record declares (zip64 aware), read without libzip
// so an absurd count is refused before anything is allocated for it.
Result<uint64_t> DeclaredEntryCount(const ArchiveFile& archive) {
  if (archive.length < kEocdSize) return NotAZip();
  int fd = ::open(archive.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Internal("opening archive " + archive.path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  uint64_t tail_len = std::min<uint64_t>(archive.length, kEocdSize + kMaxCommentSize);
  uint64_t tail_at = archive.offset + archive.length - tail_len;
  SIGIL_ASSIGN_OR_RETURN(std::string tail, ReadRange(fd, tail_at, static_cast<size_t>(tail_len)));
  if (tail.size() != tail_len) return NotAZip();
  const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  for (size_t i = tail.size() - kEocdSize + 1; i-- > 0;) {
    if (LoadLe(t + i, 4) != kEocdSignature) continue;
    uint64_t count = LoadLe(t + i + 10, 2);
    if (count != 0xffff) return count;
    // zip64: the locator sits right before the EOCD and points at the zip64 EOCD record.
    if (i < 20 || LoadLe(t + i - 20, 4) != kZip64LocatorSignature) return count;
    uint64_t z64_at = LoadLe(t + i - 20 + 8, 8);
    if (z64_at > archive.length - 56) return NotAZip();
    SIGIL_ASSIGN_OR_RETURN(std::string rec, ReadRange(fd, archive.offset + z64_at, 56));
    const auto* r = reinterpret_cast<const unsigned char*>(rec.data());
    if (rec.size() != 56 || LoadLe(r, 4) != kZip64EocdSignature) return NotAZip();
    return LoadLe(r + 32, 8);
  }
  return NotAZip();
}

bool HasDotDotComponent(std::string_view name) {
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) !=
        std::tolower(static_cast<unsigned char>(suffix[i]))) {
      return false;
    }
  }
  return true;
}

Status Unrecognized(const std::string& name) {
  return InvalidArgument(
      "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and "
      "nothing else. (First unrecognized pattern was '" +
      name + "')");
}

}  // namespace

bool IsIgnorableMember(std::string_view name) {
  std::string_view base =
      name.substr(name.rfind('/') == std::string_view::npos ? 0 : name.rfind('/') + 1);
  if (base == ".DS_Store") return true;
  return name.find('/') == std::string_view::npos && EndsWithIgnoreCase(name, "-symbols.txt");
}

Result<ArchivePlan> InspectArchive(const ArchiveFile& archive, const UploadConfig& config,
                                   bool is_try) {
  if (archive.length > config.max_archive_bytes) {
    return TooLarge("Archive is " + std::to_string(archive.length) + " bytes; the maximum is " +
                    std::to_string(config.max_archive_bytes));
  }
  SIGIL_ASSIGN_OR_RETURN(uint64_t declared_count, DeclaredEntryCount(archive));
  if (declared_count > config.max_members) {
    return TooLarge("Archive has " + std::to_string(declared_count) + " members; the maximum is " +
                    std::to_string(config.max_members));
  }
  SIGIL_ASSIGN_OR_RETURN(ZipHandle zip, ZipHandle::Open(archive));
  zip_int64_t count = zip_get_num_entries(zip.get(), 0);
  if (count < 0) return NotAZip();
  if (static_cast<uint64_t>(count) > config.max_members) {
    return TooLarge("Archive has " + std::to_string(count) + " members; the maximum is " +
                    std::to_string(config.max_members));
  }

  ArchivePlan plan;
  std::map<std::string, uint64_t> sizes;  // name -> size of the first entry of that name
  std::vector<ArchiveMember> candidates;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip.get(), i, ZIP_FL_ENC_RAW, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
      return InvalidArgument("Archive entry " + std::to_string(i) + " is unreadable");
    }
    std::string name = st.name;
    if (name.empty()) return InvalidArgument("Archive entry " + std::to_string(i) + " has no name");
    if (name.find('\0') != std::string::npos || std::strlen(st.name) != name.size()) {
      return InvalidArgument("Archive member name contains a NUL byte");
    }
    if (name.front() == '/' || name.front() == '\\' ||
        (name.size() > 1 && name[1] == ':' && std::isalpha(static_cast<unsigned char>(name[0])))) {
      return InvalidArgument("Archive member '" + name + "' has an absolute path");
    }
    if (HasDotDotComponent(name) || name.find("\\..") != std::string::npos ||
        name.find("..\\") != std::string::npos) {
      return InvalidArgument("Archive member '" + name + "' has a '..' path component");
    }
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(zip.get(), i, 0, &opsys, &attributes) == 0 &&
        opsys == ZIP_OPSYS_UNIX && S_ISLNK((attributes >> 16) & 0xffff)) {
      return InvalidArgument("Archive member '" + name + "' is a symbolic link");
    }
    if (name.back() == '/') continue;  // directory entry
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      return InvalidArgument("Archive member '" + name + "' is encrypted");
    }
    auto [it, inserted] = sizes.emplace(name, st.size);
    if (!inserted) {
      if (it->second != st.size) {
        return InvalidArgument("The zipfile buffer contains two files both called " + name +
                               " and they have difference sizes (" + std::to_string(st.size) +
                               " != " + std::to_string(it->second) + ")");
      }
      continue;  // same name, same size: accepted once
    }
    if (st.size > config.max_member_bytes) {
      return TooLarge("Archive member '" + name + "' is " + std::to_string(st.size) +
                      " bytes uncompressed; the maximum is " +
                      std::to_string(config.max_member_bytes));
    }
    plan.total_size += st.size;
    if (plan.total_size > config.max_total_uncompressed_bytes) {
      return TooLarge("Archive members total more than " +
                      std::to_string(config.max_total_uncompressed_bytes) +
                      " bytes uncompressed (exceeded at '" + name + "')");
    }
    if (st.size >= kRatioCheckMinBytes &&
        static_cast<double>(st.size) >
            config.max_compression_ratio *
                static_cast<double>(std::max<uint64_t>(st.comp_size, 1))) {
      return InvalidArgument("Archive member '" + name + "' has a compression ratio over " +
                             std::to_string(static_cast<int>(config.max_compression_ratio)) +
                             ":1 (" + std::to_string(st.size) + " bytes from " +
                             std::to_string(st.comp_size) + "); refusing a possible zip bomb");
    }
    ArchiveMember m;
    m.index = i;
    m.name = name;
    m.size = st.size;
    m.compressed_size = st.comp_size;
    m.crc = st.crc;
    m.method = st.comp_method;
    candidates.push_back(std::move(m));
  }

  for (ArchiveMember& m : candidates) {
    for (const std::string& snippet : config.disallowed_snippets) {
      if (!snippet.empty() && m.name.find(snippet) != std::string::npos) {
        return InvalidArgument("Content of archive file contains the snippet '" + snippet +
                               "' which is not allowed");
      }
    }
  }
  // Names that differ only in the case of the debug id are one key (ids are normalised to upper
  // case): a copy of the same bytes (size and CRC) is read once, anything else is ambiguous.
  std::map<std::string, size_t> by_key;  // storage key -> index in plan.members
  for (ArchiveMember& m : candidates) {
    if (IsIgnorableMember(m.name)) {
      plan.ignored.push_back(m.name);
      plan.total_size -= m.size;
      continue;
    }
    auto key = SymbolKey::ParsePath(m.name, is_try);
    if (!key.ok()) return Unrecognized(m.name);
    m.key = std::move(key).value();
    auto [it, inserted] = by_key.emplace(m.key.StorageKey(), plan.members.size());
    if (!inserted) {
      const ArchiveMember& first = plan.members[it->second];
      if (first.size != m.size || first.crc != m.crc) {
        return InvalidArgument("The zipfile buffer contains two files for the same symbol file " +
                               it->first + " (" + first.name + " and " + m.name +
                               ") and they have different contents");
      }
      plan.total_size -= m.size;
      continue;
    }
    plan.members.push_back(std::move(m));
  }

  std::vector<std::string> lines;
  lines.reserve(plan.members.size());
  for (const ArchiveMember& m : plan.members) {
    lines.push_back(m.name + " " + std::to_string(m.size) + " " + std::to_string(m.crc) + "\n");
  }
  std::sort(lines.begin(), lines.end());
  Digest digest(Digest::Kind::kSha256);
  for (const std::string& line : lines) digest.Update(line);
  plan.content_hash = digest.FinishHex();
  return plan;
}

}  // namespace sigil::upload
