// Fuzzes the upload's archive handling on arbitrary bytes: InspectArchive (every check of the spec,
// with small limits) and then reading every planned member (raw inflate with ISA-L, CRC, declared
// size, bomb limits), the way phase 1 of an upload does. Any input must end in a Status; a member
// that reads through must produce exactly its declared size.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "upload/member_reader.h"
#include "upload/zip_inspector.h"

using namespace sigil;
using namespace sigil::upload;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libzip opens archives by path: the input goes to an in-memory file.
  static const int fd = ::memfd_create("zip_archive_fuzzer", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  UploadConfig config;
  config.max_members = 64;
  config.max_member_bytes = 1 << 20;
  config.max_total_uncompressed_bytes = 4 << 20;
  // Exercise a prefix offset too (the archive inside a spooled multipart body).
  const uint64_t offset = size > 0 && data[0] == 'X' ? 1 : 0;
  ArchiveFile archive{path, offset, size - offset};
  auto plan = InspectArchive(archive, config, false);
  if (!plan.ok()) return 0;
  auto reader = MemberReader::Open(archive);
  if (!reader.ok()) return 0;
  for (const ArchiveMember& m : plan->members) {
    if (m.size > config.max_member_bytes) __builtin_trap();  // the inspector's limit
    uint64_t produced = 0;
    Status s = (*reader)->Read(m, [&](std::string_view chunk) {
      produced += chunk.size();
      return Status::Ok();
    });
    if (s.ok() && produced != m.size) __builtin_trap();
    if (produced > m.size) __builtin_trap();  // never past the declared size
  }
  return 0;
}
