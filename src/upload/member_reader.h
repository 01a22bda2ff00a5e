// MemberReader: streams one archive member's uncompressed bytes, trusting nothing the archive
// declares. Deflated members are inflated with ISA-L (raw deflate) from the member's compressed
// bytes; stored members are copied; other methods go through libzip. While reading it enforces:
// never more bytes than the central directory declared (so a lying zip bomb stops within one chunk
// of its declared size), exactly the declared size at the end, and the declared CRC-32.
//
// Two ways to read: Read (push: calls a consumer per chunk, memory two fixed chunks) and
// MemberStream (pull: one chunk per Next, so a thread can read several members side by side, e.g.
// to hash them together; memory two 64 KiB chunks and an ISA-L state, ~215 KiB, per open stream).
//
// Thread-safe: threads may share one reader (its libzip handle is used under an internal mutex,
// held only while libzip copies compressed bytes, or decompresses for methods other than deflate
// and store). A MemberStream is used by one thread at a time, but may move between threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "common/status.h"
#include "upload/zip_handle.h"
#include "upload/zip_inspector.h"

struct inflate_state;

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
  friend class MemberStream;
  explicit MemberReader(ZipHandle zip);

  std::mutex mu_;  // held around every libzip call on zip_ and its files
  ZipHandle zip_;
};

// One member of a MemberReader's archive, read a chunk at a time, with Read's checks. Borrows the
// reader (which must outlive it) and the member.
class MemberStream {
 public:
  // `raw` (may be null; only for deflated members, else kInvalidArgument): as ReadKeepingDeflate,
  // called with the compressed bytes as they are read; it must outlive the stream.
  static Result<std::unique_ptr<MemberStream>> Open(MemberReader& reader,
                                                    const ArchiveMember& member,
                                                    const MemberReader::Consumer* raw);
  ~MemberStream();

  // The next chunk of the member's data (valid until the next call; up to 64 KiB, full-size but
  // for the last). Empty once the member ended and its size and CRC checked out. Errors as Read's.
  Result<std::string_view> Next();
  // After Next returned empty, for a deflated member: ReadKeepingDeflate's answer.
  bool exact() const { return exact_; }
  // Bytes of data returned so far.
  uint64_t produced() const { return produced_; }

 private:
  MemberStream(MemberReader& reader, const ArchiveMember& member, zip_file_t* file, bool deflated,
               const MemberReader::Consumer* raw);
  zip_int64_t Read(char* into);  // up to one chunk of the member's bytes, via libzip
  Result<size_t> NextDeflated();
  Result<size_t> NextThroughLibzip();
  Status Finish();

  MemberReader& reader_;
  const ArchiveMember& member_;
  zip_file_t* file_;
  const bool deflated_;
  const MemberReader::Consumer* raw_;
  std::unique_ptr<inflate_state> state_;
  std::unique_ptr<char[]> in_;
  std::unique_ptr<char[]> out_;
  uint64_t produced_ = 0;
  uint32_t crc_ = 0;
  bool input_done_ = false;
  bool ended_ = false;
  bool exact_ = false;
};

}  // namespace sigil::upload
