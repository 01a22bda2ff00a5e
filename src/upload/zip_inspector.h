// ZipInspector: reads an archive's central directory (libzip) and applies every check of the upload
// spec (http-api.md §2) before anything is read or stored: not a zip, duplicate names, disallowed
// snippets, ignorable files, the <debug_file>/<debug_id>/<file> pattern, and the hardening marked
// **fix** (absolute names, ".." components, symlinks, encrypted members, archive size, member
// count, total and per-member uncompressed size, compression ratio). Declared sizes can lie:
// MemberReader enforces them again while inflating.
//
// Pure function of the archive bytes and the config; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "common/symbol_key.h"

namespace sigil::upload {

// Where an archive's bytes are: `length` bytes at `offset` of the file `path` (a spooled request
// body, a multipart part inside one, or a downloaded file). The file must outlive every use.
struct ArchiveFile {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Members smaller than this are not subject to the compression-ratio check (tiny, highly repetitive
// files legitimately compress far more than 200:1 and cannot do harm).
inline constexpr uint64_t kRatioCheckMinBytes = 1 << 20;

struct ArchiveMember {
  uint64_t index = 0;            // libzip entry index
  std::string name;              // as in the archive
  SymbolKey key;                 // validated; is_try set from the upload
  uint64_t size = 0;             // declared uncompressed size
  uint64_t compressed_size = 0;  // declared compressed size
  uint32_t crc = 0;              // declared CRC-32
  uint16_t method = 0;           // ZIP compression method
};

struct ArchivePlan {
  std::vector<ArchiveMember> members;  // to store, in archive order, one per storage key
  std::vector<std::string> ignored;    // names ignored per the spec (listed in ignored_keys)
  uint64_t total_size = 0;             // sum of the members' declared sizes
  std::string content_hash;            // SHA-256 hex of the sorted "name size crc" lines of members
};

// Inspects the archive. Errors: kInvalidArgument (400) or kTooLarge (413) with the spec's messages,
// naming the member; kInternal when the file cannot be read.
Result<ArchivePlan> InspectArchive(const ArchiveFile& archive, const UploadConfig& config,
                                   bool is_try);

// True for names the spec ignores: a top-level "*-symbols.txt" (any case) and any ".DS_Store".
bool IsIgnorableMember(std::string_view name);

}  // namespace sigil::upload
