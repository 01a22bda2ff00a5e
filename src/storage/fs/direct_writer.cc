#include "storage/fs/direct_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "storage/fs/fs_files.h"

namespace sigil::storage::fs {
namespace {

// O_DIRECT wants offsets, sizes and buffer addresses aligned to the device's logical block (512 or
// 4096 bytes); 4096 satisfies both.
constexpr size_t kAlign = 4096;
static_assert(kDirectIoBufferBytes % kAlign == 0);

// Buffers kept for reuse: enough for every lane of a large upload; more are freed when given
// back.
constexpr size_t kPoolMax = 48;

class BufferPool {
 public:
  char* Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        char* b = free_.back();
        free_.pop_back();
        return b;
      }
    }
    return static_cast<char*>(std::aligned_alloc(kAlign, kDirectIoBufferBytes));
  }
  void Give(char* b) {
    if (b == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (free_.size() < kPoolMax) {
        free_.push_back(b);
        return;
      }
    }
    std::free(b);
  }

 private:
  std::mutex mu_;
  std::vector<char*> free_;
};

BufferPool& Pool() {
  static BufferPool* pool = new BufferPool();  // never destroyed: writers may outlive statics
  return *pool;
}

bool SetDirect(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  flags = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  return ::fcntl(fd, F_SETFL, flags) == 0;
}

Status PwriteAll(int fd, const char* data, size_t size, uint64_t offset, std::string_view what) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "writing " + std::string(what));
    if (n == 0) return Internal("writing " + std::string(what) + ": no progress");
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

DirectWriter::DirectWriter(int fd, bool try_direct) : fd_(fd) {
  if (!try_direct) return;
  buffer_ = Pool().Take();
  if (buffer_ != nullptr && SetDirect(fd_, true)) {
    direct_ = true;
    return;
  }
  Pool().Give(buffer_);
  buffer_ = nullptr;
}

DirectWriter::~DirectWriter() { Pool().Give(buffer_); }

Status DirectWriter::WriteBuffer(size_t bytes, std::string_view what) {
  if (!direct_) return PwriteAll(fd_, buffer_, bytes, written_, what);
  const size_t padded = (bytes + kAlign - 1) & ~(kAlign - 1);
  std::memset(buffer_ + bytes, 0, padded - bytes);
  size_t done = 0;
  while (done < padded) {
    ssize_t n = ::pwrite(fd_, buffer_ + done, padded - done, static_cast<off_t>(written_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && done == 0) {
      // This filesystem or device refuses direct writes after all: plain writes from here on.
      SetDirect(fd_, false);
      direct_ = false;
      return PwriteAll(fd_, buffer_, bytes, written_, what);
    }
    if (n < 0) return ErrnoStatus(errno, "writing " + std::string(what));
    // A short direct write must still end on the alignment for the next one to be valid.
    if (n == 0 || static_cast<size_t>(n) % kAlign != 0) {
      return Internal("writing " + std::string(what) + ": short direct write of " +
                      std::to_string(n) + " bytes");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status DirectWriter::Append(std::string_view data, std::string_view what) {
  if (finished_) return Internal("appending to " + std::string(what) + " after Finish");
  if (buffer_ == nullptr) {
    SIGIL_RETURN_IF_ERROR(PwriteAll(fd_, data.data(), data.size(), size_, what));
    size_ += data.size();
    return Status::Ok();
  }
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kDirectIoBufferBytes - used_);
    std::memcpy(buffer_ + used_, data.data(), n);
    used_ += n;
    size_ += n;
    data.remove_prefix(n);
    if (used_ == kDirectIoBufferBytes) {
      SIGIL_RETURN_IF_ERROR(WriteBuffer(used_, what));
      written_ += used_;
      used_ = 0;
    }
  }
  return Status::Ok();
}

Status DirectWriter::Finish(std::string_view what) {
  if (finished_) return Status::Ok();
  finished_ = true;
  if (buffer_ != nullptr) {
    if (used_ > 0) SIGIL_RETURN_IF_ERROR(WriteBuffer(used_, what));
    written_ += used_;
    used_ = 0;
    Pool().Give(buffer_);
    buffer_ = nullptr;
  }
  if (direct_) {
    SetDirect(fd_, false);  // later reads of the descriptor need no alignment
    direct_ = false;
    // The last direct write was padded to the alignment.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
      return ErrnoStatus(errno, "truncating " + std::string(what));
  }
  return Status::Ok();
}

}  // namespace sigil::storage::fs
