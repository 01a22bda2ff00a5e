// DirectWriter: writes the filesystem store's new objects with O_DIRECT (docs/storage-layout.md,
// "Writes").
//
// The store writes each object once, and reads of it are rare and later, so caching its bytes
// buys nothing; a buffered write of a new file takes a fresh page-cache page per 4 KiB, copies
// into it and leaves the kernel its writeback before the commit's fsync. On the virtual machines
// sigil is measured on, a page the guest has not touched lately also costs a host fault: buffered
// writes of new files ran at 0.07-2 GB/s there, direct ones at 1.2-1.9 GB/s with no CPU spent
// copying (docs/benchmarks.md, "Upload"). Where the filesystem refuses O_DIRECT (tmpfs on older
// kernels, some network filesystems) or the caller does not want it, writes are ordinary.
// Aligned buffers come from a small process-wide pool, so their pages stay warm. Full buffers are
// written by a process-wide background thread while the caller fills the next one (a direct write
// sleeps until the device is done; the caller's CPU would sit idle meanwhile).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace sigil::storage::fs {

// Bytes per direct write (and per pooled buffer).
inline constexpr size_t kDirectIoBufferBytes = 256 * 1024;

// Appends the bytes of a new file with O_DIRECT, past the page cache. Bytes collect in an aligned
// buffer and go out in whole buffers; Finish starts writing the padded tail, after which O_DIRECT
// comes off the descriptor again (later reads and fsyncs of it are ordinary) and the file is cut to
// its real size; Written() waits for that. A file's first direct write runs on the caller's thread
// (it tells whether the filesystem takes them), the others in the background.
//
// At most one buffer is in flight per writer; its error, if any, comes back from the next Append,
// from Finish or from Written. The destructor waits for it.
//
// Not thread-safe: one writer at a time (calls from different threads need a happens-before
// between them). The descriptor is borrowed, must be a new, empty regular file open for writing
// that nobody else writes, and must outlive the DirectWriter.
class DirectWriter {
 public:
  // Switches `fd` to O_DIRECT when `try_direct` and the filesystem allows it.
  DirectWriter(int fd, bool try_direct);
  ~DirectWriter();
  DirectWriter(const DirectWriter&) = delete;
  DirectWriter& operator=(const DirectWriter&) = delete;

  // Errors name `what` (e.g. "temp file").
  Status Append(std::string_view data, std::string_view what = "temp file");
  // Starts writing what is buffered (without waiting for the device where the rest went out in
  // the background). Calling Append after Finish is a broken invariant; a second Finish does
  // nothing.
  Status Finish(std::string_view what = "temp file");
  // After Finish: waits until the file holds exactly the appended bytes (and O_DIRECT is off);
  // the first error of any write, if one failed.
  Status Written();

  bool direct() const { return direct_; }
  uint64_t size() const { return size_; }

 private:
  struct InFlight;
  // Writes buffer_[0, bytes) at written_ (padded with zeros to the alignment when direct), in the
  // background when `background` (buffer_ is then a fresh one) except for the first direct write.
  Status WriteBuffer(size_t bytes, bool background, std::string_view what);
  // Zero-pads buffer_[0, bytes) to the alignment; the padded size.
  size_t PadBuffer(size_t bytes);
  // Runs `write` on a background writer thread as this writer's one write in flight (after Wait());
  // Wait() returns its status.
  void InBackground(std::function<Status()> write);
  // Waits for the write in flight; its status.
  Status Wait();
  // Takes O_DIRECT off and cuts the padding (after the last direct write completed).
  Status EndDirect(std::string_view what);

  int fd_;
  bool direct_ = false;
  bool finished_ = false;
  bool probed_ = false;                  // a direct write was tried (on this file or its device)
  std::optional<dev_t> dev_;             // the file's device, for the probe cache
  std::shared_ptr<InFlight> in_flight_;  // shared with the background thread
  char* buffer_ = nullptr;               // pooled, aligned; only in direct mode
  size_t used_ = 0;                      // bytes in buffer_
  uint64_t written_ = 0;  // bytes written to the file from buffers (aligned while direct)
  uint64_t size_ = 0;     // bytes appended
};

}  // namespace sigil::storage::fs
