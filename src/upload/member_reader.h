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

  // For a deflated member (method ZIP_CM_DEFLATE, else kInvalidArgument): like Read, with the same
  // checks, and in the same pass hands `raw` the member's compressed bytes as they are read (before
  // they are inflated and verified: a caller must discard them unless the call succeeds). Returns
  // true when those bytes are exactly one raw deflate stream (nothing after its final block), so
  // GzipHeader() + raw bytes + GzipTrailer(crc, size) is a gzip file of the member; false when the
  // member carries bytes past the end of its stream (its data is still read and verified).
  Result<bool> ReadKeepingDeflate(const ArchiveMember& member, const Consumer& consume,
                                  const Consumer& raw);

 private:
  explicit MemberReader(ZipHandle zip);
  // `raw` may be null; returns ReadKeepingDeflate's answer.
  Result<bool> ReadDeflated(const ArchiveMember& member, const Consumer& consume,
                            const Consumer* raw);
  Status ReadThroughLibzip(const ArchiveMember& member, bool raw, const Consumer& consume);

  ZipHandle zip_;
  std::unique_ptr<char[]> in_;
  std::unique_ptr<char[]> out_;
};

}  // namespace sigil::upload
