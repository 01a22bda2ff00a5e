// Test helpers: build zip archives (good and hostile) on disk with libzip, and patch their headers
// to forge what libzip refuses to write (lying sizes, wrong CRCs). Test-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sigil::upload::testing {

struct ZipEntry {
  enum class Kind { kFile, kDirectory, kSymlink };
  std::string name;
  std::string data;  // file contents, or the symlink target
  Kind kind = Kind::kFile;
  bool deflate = true;
  bool encrypt = false;  // AES-256 with password "secret"
};

// Writes a zip with `entries` (in order) to `path`.
Status WriteZip(const std::string& path, const std::vector<ZipEntry>& entries);
// Same, into memory.
Result<std::string> MakeZip(const std::vector<ZipEntry>& entries);

// Rewrites the CRC-32 of the entry named `name` in both its local and central headers.
Status PatchCrc(std::string& zip, const std::string& name, uint32_t crc);
// Rewrites the declared uncompressed size of `name` in both headers (non-zip64 archives).
Status PatchUncompressedSize(std::string& zip, const std::string& name, uint32_t size);

// A one-member zip written byte by byte, so the member's data can be anything: `data` is stored as
// the member's compressed bytes with the given method, declared size and CRC-32 (for forging
// truncated streams or bytes after a stream's end).
std::string MakeRawZip(const std::string& name, const std::string& data, uint16_t method,
                       uint32_t size, uint32_t crc);

// Raw deflate (no wrapper) of `data` with zlib at `level`.
std::string RawDeflate(const std::string& data, int level = 6);
// zlib's CRC-32 of `data`.
uint32_t Crc32(const std::string& data);

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& data);

// Inflates a gzip stream (for checking stored objects).
Result<std::string> Gunzip(const std::string& gz);

}  // namespace sigil::upload::testing
