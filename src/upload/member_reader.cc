#include "upload/member_reader.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

namespace sigil::upload {
namespace {

// Small enough that a thread's sixteen lanes of output stay in its L2 cache between the inflate
// that writes them and the MD5 round that reads them (256 KiB: ~10% slower, bench/upload).
constexpr size_t kChunk = 64 * 1024;

Status Corrupt(const ArchiveMember& m, std::string_view why) {
  return InvalidArgument("Archive member '" + m.name + "' is corrupt (" + std::string(why) + ")");
}

Status TooBig(const ArchiveMember& m) {
  return InvalidArgument("Archive member '" + m.name + "' inflates to more than its declared " +
                         std::to_string(m.size) + " bytes; refusing a possible zip bomb");
}

// Read and ReadKeepingDeflate: every chunk of a MemberStream to `consume`; then the stream's
// exact().
Result<bool> ReadAll(MemberReader& reader, const ArchiveMember& member,
                     const MemberReader::Consumer& consume, const MemberReader::Consumer* raw) {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<MemberStream> stream,
                         MemberStream::Open(reader, member, raw));
  for (;;) {
    SIGIL_ASSIGN_OR_RETURN(std::string_view chunk, stream->Next());
    if (chunk.empty()) return stream->exact();
    SIGIL_RETURN_IF_ERROR(consume(chunk));
  }
}

}  // namespace

MemberReader::MemberReader(ZipHandle zip) : zip_(std::move(zip)) {}
MemberReader::~MemberReader() = default;

Result<std::unique_ptr<MemberReader>> MemberReader::Open(const ArchiveFile& archive) {
  SIGIL_ASSIGN_OR_RETURN(ZipHandle zip, ZipHandle::Open(archive));
  return std::unique_ptr<MemberReader>(new MemberReader(std::move(zip)));
}

Status MemberReader::Read(const ArchiveMember& member, const Consumer& consume) {
  return ReadAll(*this, member, consume, nullptr).status();
}

Result<bool> MemberReader::ReadKeepingDeflate(const ArchiveMember& member, const Consumer& consume,
                                              const Consumer& raw) {
  return ReadAll(*this, member, consume, &raw);
}

Result<std::unique_ptr<MemberStream>> MemberStream::Open(MemberReader& reader,
                                                         const ArchiveMember& member,
                                                         const MemberReader::Consumer* raw) {
  const bool deflated = member.method == ZIP_CM_DEFLATE;
  if (raw != nullptr && !deflated) {
    return InvalidArgument("Archive member '" + member.name + "' is not deflated");
  }
  // Deflated and stored members are read raw (libzip then checks nothing) and verified here; for
  // other methods libzip decompresses and checks the CRC itself at the end.
  const bool raw_read = deflated || member.method == ZIP_CM_STORE;
  std::unique_lock lock(reader.mu_);
  zip_file_t* file =
      zip_fopen_index(reader.zip_.get(), member.index, raw_read ? ZIP_FL_COMPRESSED : 0);
  if (file == nullptr) return Corrupt(member, zip_strerror(reader.zip_.get()));
  lock.unlock();
  return std::unique_ptr<MemberStream>(new MemberStream(reader, member, file, deflated, raw));
}

MemberStream::MemberStream(MemberReader& reader, const ArchiveMember& member, zip_file_t* file,
                           bool deflated, const MemberReader::Consumer* raw)
    : reader_(reader),
      member_(member),
      file_(file),
      deflated_(deflated),
      raw_(raw),
      in_(deflated ? new char[kChunk] : nullptr),
      out_(new char[kChunk]) {
  if (deflated_) {
    state_ = std::make_unique<inflate_state>();
    isal_inflate_init(state_.get());
    state_->crc_flag = ISAL_DEFLATE;
  }
}

MemberStream::~MemberStream() {
  std::lock_guard lock(reader_.mu_);
  zip_fclose(file_);
}

zip_int64_t MemberStream::Read(char* into) {
  std::lock_guard lock(reader_.mu_);
  return zip_fread(file_, into, kChunk);
}

Result<std::string_view> MemberStream::Next() {
  if (ended_) return std::string_view();
  SIGIL_ASSIGN_OR_RETURN(size_t n, deflated_ ? NextDeflated() : NextThroughLibzip());
  if (n == 0) {
    SIGIL_RETURN_IF_ERROR(Finish());
    ended_ = true;
    return std::string_view();
  }
  produced_ += n;
  if (produced_ > member_.size) return TooBig(member_);
  crc_ = crc32_gzip_refl(crc_, reinterpret_cast<const unsigned char*>(out_.get()), n);
  return std::string_view(out_.get(), n);
}

// Inflates until the output chunk is full or the stream ended; 0 at the end.
Result<size_t> MemberStream::NextDeflated() {
  inflate_state& state = *state_;
  state.next_out = reinterpret_cast<uint8_t*>(out_.get());
  state.avail_out = kChunk;
  while (state.avail_out > 0 && state.block_state != ISAL_BLOCK_FINISH) {
    if (state.avail_in == 0 && !input_done_) {
      zip_int64_t n = Read(in_.get());
      if (n < 0) return Corrupt(member_, zip_file_strerror(file_));
      if (n == 0) input_done_ = true;
      if (n > 0 && raw_ != nullptr) {
        SIGIL_RETURN_IF_ERROR((*raw_)(std::string_view(in_.get(), static_cast<size_t>(n))));
      }
      state.next_in = reinterpret_cast<uint8_t*>(in_.get());
      state.avail_in = static_cast<uint32_t>(n);
    }
    const uint32_t before = state.avail_out;
    if (isal_inflate(&state) < 0) return Corrupt(member_, "invalid deflate data");
    if (input_done_ && state.avail_in == 0 && state.avail_out == before &&
        state.block_state != ISAL_BLOCK_FINISH) {
      return Corrupt(member_, "truncated deflate data");
    }
    // Stop at a bomb early: never inflate far past the declared size.
    if (produced_ + (kChunk - state.avail_out) > member_.size) break;
  }
  return kChunk - state.avail_out;
}

Result<size_t> MemberStream::NextThroughLibzip() {
  zip_int64_t n = Read(out_.get());
  if (n < 0) {
    zip_error_t* error = zip_file_get_error(file_);
    if (zip_error_code_zip(error) == ZIP_ER_CRC) return Corrupt(member_, "CRC mismatch");
    return Corrupt(member_, zip_error_strerror(error));
  }
  return static_cast<size_t>(n);
}

// At the end of the data: size and CRC, and for a deflated member whether anything follows its
// final block.
Status MemberStream::Finish() {
  if (produced_ != member_.size) return Corrupt(member_, "shorter than its declared size");
  if (crc_ != member_.crc) return Corrupt(member_, "CRC mismatch");
  if (!deflated_) return Status::Ok();
  // Bytes after the final block: what the inflater has not taken, whole bytes still in its bit
  // buffer (streaming isal_inflate does not give them back), and anything not read yet.
  exact_ = state_->avail_in == 0 && state_->read_in_length < 8;
  if (exact_ && !input_done_) {
    zip_int64_t n = Read(in_.get());
    if (n < 0) return Corrupt(member_, zip_file_strerror(file_));
    if (n > 0 && raw_ != nullptr) {
      SIGIL_RETURN_IF_ERROR((*raw_)(std::string_view(in_.get(), static_cast<size_t>(n))));
    }
    exact_ = n == 0;
  }
  return Status::Ok();
}

}  // namespace sigil::upload
