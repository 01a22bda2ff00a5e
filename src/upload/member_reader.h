// MemberReader: streams one archive member's uncompressed bytes, trusting nothing the archive
// declares. Deflated members are inflated with ISA-L (raw deflate) from the member's compressed
// bytes; stored members are copied; other methods go through libzip. While reading it enforces:
// never more bytes than the central directory declared (so a lying zip bomb stops within one chunk
// of its declared size), exactly the declared size at the end, and the declared CRC-32. Memory use
// is two fixed chunks.
//
// Not thread-safe: one reader (it owns a libzip handle) per thread; it may read many members in
// turn.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "common/status.h"
#include "upload/zip_handle.h"
#include "upload/zip_inspector.h"

namespace sigil::upload {

class MemberReader {
 public:
  using Consumer = std::function<Status(std::string_view chunk)>;

  static Result<std::unique_ptr<MemberReader>> Open(const ArchiveFile& archive);
  ~MemberReader();

  // Calls `consume` with successive chunks of `member`'s data. A corrupt member is kInvalidArgument
  // naming it; an error from `consume` stops reading and is returned as is.
  Status Read(const ArchiveMember& member, const Consumer& consume);

 private:
  explicit MemberReader(ZipHandle zip);
  Status ReadDeflated(const ArchiveMember& member, const Consumer& consume);
  Status ReadThroughLibzip(const ArchiveMember& member, bool raw, const Consumer& consume);

  ZipHandle zip_;
  std::unique_ptr<char[]> in_;
  std::unique_ptr<char[]> out_;
};

}  // namespace sigil::upload
