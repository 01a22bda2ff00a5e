#include "storage/fs/direct_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/worker_pool.h"
#include "storage/fs/fs_files.h"

namespace sigil::storage::fs {
namespace {

// O_DIRECT wants offsets, sizes and buffer addresses aligned to the device's logical block (512 or
// 4096 bytes); 4096 satisfies both.
constexpr size_t kAlign = 4096;
static_assert(kDirectIoBufferBytes % kAlign == 0);

// Buffers kept for reuse: enough for every lane of a large upload (each writer holds one it
// fills and one in flight); more are freed when given back.
constexpr size_t kPoolMax = 64;

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

// Direct writes of full buffers run here, so the thread that fills them keeps the CPU while the
// device works (a direct pwrite sleeps until the device is done). Two threads: the device takes
// more than one write at a time. Never destroyed, like the buffer pool.
WorkerPool& Background() {
  static WorkerPool* writes = new WorkerPool(2, 1, "fs-direct-write");
  return *writes;
}

// Writes `padded` aligned bytes with O_DIRECT at `offset`. EINVAL before anything is written sets
// *refused (when given) and returns an error: the filesystem refuses direct writes after all.
Status PwriteDirect(int fd, const char* data, size_t padded, uint64_t offset, std::string_view what,
                    bool* refused = nullptr) {
  size_t done = 0;
  while (done < padded) {
    ssize_t n = ::pwrite(fd, data + done, padded - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && done == 0 && refused != nullptr) {
      *refused = true;
      return Internal("writing " + std::string(what) + ": direct writes refused");
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

// A direct write of a file whose probe was skipped (its device took direct writes before). Should
// this file refuse them after all (a filesystem that decides per file), it is written the ordinary
// way from here on: the padded bytes now, O_DIRECT off for the rest (the cut to size at the end
// removes the padding either way).
Status PwriteDirectOrPlain(int fd, const char* data, size_t padded, uint64_t offset,
                           std::string_view what) {
  bool refused = false;
  Status st = PwriteDirect(fd, data, padded, offset, what, &refused);
  if (!refused) return st;
  SetDirect(fd, false);
  return PwriteAll(fd, data, padded, offset, what);
}

// What a first direct write on each device (st_dev) told: whether its filesystem takes them. Later
// files on a device known to take them skip the probe (their first write goes to the background
// too); files on one known to refuse them do not try. Never destroyed, like the buffer pool.
class ProbeCache {
 public:
  std::optional<bool> Get(dev_t dev) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = known_.find(dev);
    if (it == known_.end()) return std::nullopt;
    return it->second;
  }
  void Set(dev_t dev, bool direct) {
    std::lock_guard<std::mutex> lock(mu_);
    known_[dev] = direct;
  }

 private:
  std::mutex mu_;
  std::map<dev_t, bool> known_;
};

ProbeCache& Probes() {
  static ProbeCache* probes = new ProbeCache();
  return *probes;
}

}  // namespace

DirectWriter::DirectWriter(int fd, bool try_direct) : fd_(fd) {
  if (!try_direct) return;
  struct stat st;
  if (::fstat(fd_, &st) == 0) {
    dev_ = st.st_dev;
    std::optional<bool> known = Probes().Get(st.st_dev);
    if (known.has_value() && !*known) return;
    probed_ = known.has_value();
  }
  buffer_ = Pool().Take();
  if (buffer_ != nullptr && SetDirect(fd_, true)) {
    direct_ = true;
    return;
  }
  Pool().Give(buffer_);
  buffer_ = nullptr;
}

DirectWriter::~DirectWriter() {
  (void)Wait();  // the background write uses the descriptor, which the caller closes next
  Pool().Give(buffer_);
}

// The in-flight write's state, shared with the background thread until it is done.
struct DirectWriter::InFlight {
  std::mutex mu;
  std::condition_variable cv;
  bool busy = false;
  Status status;  // of the last write
};

size_t DirectWriter::PadBuffer(size_t bytes) {
  const size_t padded = (bytes + kAlign - 1) & ~(kAlign - 1);
  std::memset(buffer_ + bytes, 0, padded - bytes);
  return padded;
}

void DirectWriter::InBackground(std::function<Status()> write) {
  if (in_flight_ == nullptr) in_flight_ = std::make_shared<InFlight>();
  in_flight_->busy = true;
  auto task = [state = in_flight_, write = std::move(write)] {
    Status st = write();
    std::lock_guard<std::mutex> lock(state->mu);
    state->status = std::move(st);
    state->busy = false;
    state->cv.notify_all();
  };
  // Submit, not TrySubmit: at most one write per writer is queued, so the queue stays short. It
  // fails only after a shutdown, which this never-destroyed pool does not have; then write here.
  if (!Background().Submit(task)) task();
}

Status DirectWriter::WriteBuffer(size_t bytes, bool background, std::string_view what) {
  if (!direct_) return PwriteAll(fd_, buffer_, bytes, written_, what);
  const size_t padded = PadBuffer(bytes);
  if (!probed_) {
    // The first direct write runs here: it tells whether the filesystem takes them at all.
    probed_ = true;
    bool refused = false;
    Status st = PwriteDirect(fd_, buffer_, padded, written_, what, &refused);
    if (dev_.has_value() && (st.ok() || refused)) Probes().Set(*dev_, !refused);
    if (refused) {
      SetDirect(fd_, false);
      direct_ = false;
      return PwriteAll(fd_, buffer_, bytes, written_, what);
    }
    return st;
  }
  SIGIL_RETURN_IF_ERROR(Wait());  // one write in flight at a time
  if (!background) return PwriteDirectOrPlain(fd_, buffer_, padded, written_, what);
  char* buffer = buffer_;
  buffer_ = Pool().Take();
  if (buffer_ == nullptr) {  // out of memory: write this one here and keep its buffer
    buffer_ = buffer;
    return PwriteDirectOrPlain(fd_, buffer_, padded, written_, what);
  }
  InBackground([fd = fd_, buffer, padded, offset = written_, name = std::string(what)] {
    Status st = PwriteDirectOrPlain(fd, buffer, padded, offset, name);
    Pool().Give(buffer);
    return st;
  });
  return Status::Ok();
}

Status DirectWriter::Wait() {
  if (in_flight_ == nullptr) return Status::Ok();
  std::unique_lock<std::mutex> lock(in_flight_->mu);
  in_flight_->cv.wait(lock, [&] { return !in_flight_->busy; });
  return in_flight_->status;
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
      SIGIL_RETURN_IF_ERROR(WriteBuffer(used_, /*background=*/true, what));
      written_ += used_;
      used_ = 0;
    }
  }
  return Status::Ok();
}

Status DirectWriter::Finish(std::string_view what) {
  if (finished_) return Status::Ok();
  finished_ = true;
  if (buffer_ == nullptr) return Status::Ok();  // ordinary writes: everything is written
  if (!direct_ || !probed_) {
    // Ordinary writes through the buffer, or a file whose first direct write is still to be
    // tried: written here.
    if (used_ > 0) SIGIL_RETURN_IF_ERROR(WriteBuffer(used_, /*background=*/false, what));
    SIGIL_RETURN_IF_ERROR(Wait());
    written_ += used_;
    used_ = 0;
    Pool().Give(std::exchange(buffer_, nullptr));
    return EndDirect(what);
  }
  // The padded tail, then O_DIRECT off and the file cut to its size, in the background: the
  // caller goes on while the device works; Written() waits.
  SIGIL_RETURN_IF_ERROR(Wait());
  const size_t padded = PadBuffer(used_);
  InBackground([fd = fd_, buffer = std::exchange(buffer_, nullptr), padded, offset = written_,
                size = size_, name = std::string(what)] {
    Status st = padded > 0 ? PwriteDirectOrPlain(fd, buffer, padded, offset, name) : Status::Ok();
    Pool().Give(buffer);
    if (!SetDirect(fd, false) && st.ok()) st = ErrnoStatus(errno, "clearing O_DIRECT on " + name);
    if (st.ok() && ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      st = ErrnoStatus(errno, "truncating " + name);
    }
    return st;
  });
  written_ += used_;
  used_ = 0;
  direct_ = false;
  return Status::Ok();
}

Status DirectWriter::EndDirect(std::string_view what) {
  if (!direct_) return Status::Ok();
  SetDirect(fd_, false);  // later reads of the descriptor need no alignment
  direct_ = false;
  // The last direct write was padded to the alignment.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
    return ErrnoStatus(errno, "truncating " + std::string(what));
  return Status::Ok();
}

Status DirectWriter::Written() { return Wait(); }

}  // namespace sigil::storage::fs
