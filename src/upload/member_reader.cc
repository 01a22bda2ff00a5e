#include "upload/member_reader.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

namespace sigil::upload {
namespace {

constexpr size_t kChunk = 256 * 1024;

Status Corrupt(const ArchiveMember& m, std::string_view why) {
  return InvalidArgument("Archive member '" + m.name + "' is corrupt (" + std::string(why) + ")");
}

Status TooBig(const ArchiveMember& m) {
  return InvalidArgument("Archive member '" + m.name + "' inflates to more than its declared " +
                         std::to_string(m.size) + " bytes; refusing a possible zip bomb");
}

// Closes a zip_file_t on scope exit.
struct ZipFileCloser {
  zip_file_t* file;
  ~ZipFileCloser() {
    if (file != nullptr) zip_fclose(file);
  }
};

}  // namespace

MemberReader::MemberReader(ZipHandle zip)
    : zip_(std::move(zip)), in_(new char[kChunk]), out_(new char[kChunk]) {}
MemberReader::~MemberReader() = default;

Result<std::unique_ptr<MemberReader>> MemberReader::Open(const ArchiveFile& archive) {
  SIGIL_ASSIGN_OR_RETURN(ZipHandle zip, ZipHandle::Open(archive));
  return std::unique_ptr<MemberReader>(new MemberReader(std::move(zip)));
}

Status MemberReader::Read(const ArchiveMember& member, const Consumer& consume) {
  switch (member.method) {
    case ZIP_CM_DEFLATE:
      return ReadDeflated(member, consume, nullptr).status();
    case ZIP_CM_STORE:
      return ReadThroughLibzip(member, /*raw=*/true, consume);
    default:
      return ReadThroughLibzip(member, /*raw=*/false, consume);
  }
}

Result<bool> MemberReader::ReadKeepingDeflate(const ArchiveMember& member, const Consumer& consume,
                                              const Consumer& raw) {
  if (member.method != ZIP_CM_DEFLATE) {
    return InvalidArgument("Archive member '" + member.name + "' is not deflated");
  }
  return ReadDeflated(member, consume, &raw);
}

Result<bool> MemberReader::ReadDeflated(const ArchiveMember& member, const Consumer& consume,
                                        const Consumer* raw) {
  zip_file_t* file = zip_fopen_index(zip_.get(), member.index, ZIP_FL_COMPRESSED);
  if (file == nullptr) return Corrupt(member, zip_strerror(zip_.get()));
  ZipFileCloser closer{file};

  inflate_state state;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_DEFLATE;
  uint64_t produced = 0;
  uint32_t crc = 0;
  bool input_done = false;
  for (;;) {
    if (state.avail_in == 0 && !input_done) {
      zip_int64_t n = zip_fread(file, in_.get(), kChunk);
      if (n < 0) return Corrupt(member, zip_file_strerror(file));
      if (n == 0) input_done = true;
      if (n > 0 && raw != nullptr) {
        SIGIL_RETURN_IF_ERROR((*raw)(std::string_view(in_.get(), static_cast<size_t>(n))));
      }
      state.next_in = reinterpret_cast<uint8_t*>(in_.get());
      state.avail_in = static_cast<uint32_t>(n);
    }
    state.next_out = reinterpret_cast<uint8_t*>(out_.get());
    state.avail_out = kChunk;
    int rc = isal_inflate(&state);
    if (rc < 0) return Corrupt(member, "invalid deflate data");
    size_t n = kChunk - state.avail_out;
    if (n > 0) {
      produced += n;
      if (produced > member.size) return TooBig(member);
      crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(out_.get()), n);
      SIGIL_RETURN_IF_ERROR(consume(std::string_view(out_.get(), n)));
    }
    if (state.block_state == ISAL_BLOCK_FINISH) break;
    if (input_done && state.avail_in == 0 && n == 0)
      return Corrupt(member, "truncated deflate data");
  }
  if (produced != member.size) return Corrupt(member, "shorter than its declared size");
  if (crc != member.crc) return Corrupt(member, "CRC mismatch");
  // Bytes after the final block: what the inflater has not taken, whole bytes still in its bit
  // buffer (streaming isal_inflate does not give them back), and anything not read yet.
  bool exact = state.avail_in == 0 && state.read_in_length < 8;
  if (exact && !input_done) {
    zip_int64_t n = zip_fread(file, in_.get(), kChunk);
    if (n < 0) return Corrupt(member, zip_file_strerror(file));
    if (n > 0 && raw != nullptr) {
      SIGIL_RETURN_IF_ERROR((*raw)(std::string_view(in_.get(), static_cast<size_t>(n))));
    }
    exact = n == 0;
  }
  return exact;
}

Status MemberReader::ReadThroughLibzip(const ArchiveMember& member, bool raw,
                                       const Consumer& consume) {
  // Stored members are read raw (libzip then checks nothing) and verified here; for other methods
  // libzip decompresses and checks the CRC itself at the end.
  zip_file_t* file = zip_fopen_index(zip_.get(), member.index, raw ? ZIP_FL_COMPRESSED : 0);
  if (file == nullptr) return Corrupt(member, zip_strerror(zip_.get()));
  ZipFileCloser closer{file};
  uint64_t produced = 0;
  uint32_t crc = 0;
  for (;;) {
    zip_int64_t n = zip_fread(file, out_.get(), kChunk);
    if (n < 0) {
      zip_error_t* error = zip_file_get_error(file);
      if (zip_error_code_zip(error) == ZIP_ER_CRC) return Corrupt(member, "CRC mismatch");
      return Corrupt(member, zip_error_strerror(error));
    }
    if (n == 0) break;
    produced += static_cast<uint64_t>(n);
    if (produced > member.size) return TooBig(member);
    crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(out_.get()),
                          static_cast<uint64_t>(n));
    SIGIL_RETURN_IF_ERROR(consume(std::string_view(out_.get(), static_cast<size_t>(n))));
  }
  if (produced != member.size) return Corrupt(member, "shorter than its declared size");
  if (crc != member.crc) return Corrupt(member, "CRC mismatch");
  return Status::Ok();
}

}  // namespace sigil::upload
