#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/hashing.h"
#include "http/connection.h"
#include "http/connection_util.h"

namespace sigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Writes all of `data` to `fd`; returns 0 or an errno value.
int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

std::string SpoolDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* env = std::getenv("TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

}  // namespace

void Connection::StartBody() {
  if (!body_expected_) {
    Dispatch();
    return;
  }
  state_ = State::kBody;
  if (expect_continue_) {
    expect_continue_ = false;
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    SetDeadline(Clock::now() + options_.read_timeout);
    asio::async_write(socket_, asio::buffer(k100.data(), k100.size()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (self->state_ == State::kClosed) return;
                        if (ec) {
                          self->Close();
                          return;
                        }
                        self->StartBody();
                      });
    return;
  }
  const Route& route = core_->router.routes()[route_];
  body_bytes_ = 0;
  body_mode_ = BodyMode::kMemory;
  if (route.options.spool_body && content_length_ &&
      *content_length_ > options_.spool_threshold_bytes) {
    if (!OpenSpool()) return;
  }
  SetDeadline(Clock::now() + options_.read_timeout);
  ParseBody();
}

void Connection::ParseBody() {
  const Route& route = core_->router.routes()[route_];
  for (;;) {
    if (parser_->is_done() || (content_length_ && body_bytes_ == *content_length_)) {
      FinishBody();
      return;
    }
    if (buffer_.size() == 0 && !content_length_) {
      ReadMore();
      return;
    }
    char* dst = nullptr;
    size_t room = 0;
    if (body_mode_ == BodyMode::kMemory) {
      std::string& body = request_.body;
      if (body.size() - body_bytes_ < 4096) {
        // Grow in steps: a client announcing a large body does not get its memory before sending
        // it.
        uint64_t target = std::max<uint64_t>(body.size() * 2, body_bytes_ + kMemoryBodyStep);
        uint64_t cap = content_length_ ? *content_length_ : body_limit_ + 1;
        target = std::min(target, cap);
        if (target > body.size()) body.resize(target);
      }
      dst = body.data() + body_bytes_;
      room = body.size() - body_bytes_;
    } else {
      room = kSpoolBufferBytes - spool_used_;
      if (room == 0) {
        if (spool_writing_) {
          // Both buffers are full: stop reading until the disk catches up (OnSpoolWritten resumes).
          // Waiting for the disk is not the client's fault, so no deadline meanwhile.
          spool_paused_ = true;
          ClearDeadline();
          return;
        }
        SubmitSpoolWrite();
        continue;
      }
      dst = spool_fill_.data() + spool_used_;
    }
    if (buffer_.size() == 0) {
      // A body of known length: the rest comes straight from the socket into its destination,
      // in reads as large as the room there, without a pass through the parser.
      ReadBodyDirect(dst,
                     static_cast<size_t>(std::min<uint64_t>(room, *content_length_ - body_bytes_)));
      return;
    }
    auto& b = parser_->get().body();
    b.data = dst;
    b.size = room;
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    size_t got = room - b.size;
    body_bytes_ += got;
    if (body_mode_ == BodyMode::kSpool) spool_used_ += got;
    if (body_bytes_ > body_limit_) {
      SendError(413, TooLargeMessage(body_limit_), /*close=*/true);
      return;
    }
    if (body_mode_ == BodyMode::kMemory && route.options.spool_body &&
        body_bytes_ > options_.spool_threshold_bytes) {
      // A body of unknown length outgrew memory: move what we have to a file and go on there.
      request_.body.resize(body_bytes_);
      std::string first = std::move(request_.body);
      request_.body = std::string();
      if (!OpenSpool()) return;
      spool_writing_ = true;
      SubmitSpoolData(std::move(first));
      continue;
    }
    if (ec == bhttp::error::need_buffer) continue;
    if (ec == bhttp::error::need_more || (!ec && used == 0 && got == 0)) {
      ReadMore();
      return;
    }
    if (ec) {
      SendError(400, "Bad Request: " + ec.message(), /*close=*/true);
      return;
    }
  }
}

void Connection::ReadBodyDirect(char* dst, size_t size) {
  if (read_pending_) return;  // one read at a time
  read_pending_ = true;
  direct_read_ = true;
  socket_.async_read_some(
      asio::buffer(dst, size),
      [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnBodyReadDirect(size_t n) {
  body_bytes_ += n;
  if (body_mode_ == BodyMode::kSpool) spool_used_ += n;
  SetDeadline(Clock::now() + options_.read_timeout);
  ParseBody();
}

bool Connection::OpenSpool() {
  std::string dir = SpoolDir(options_.tmp_dir);
  int fd = -1;
  std::string path;
  for (int attempt = 0; attempt < 4 && fd < 0; ++attempt) {
    path = dir + "/sigil-body-" + RandomHex(8);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    spdlog::error("http: cannot create a spool file in {}: {}", dir, std::strerror(errno));
    SendError(500, "Internal Server Error: cannot store the request body", /*close=*/true);
    return false;
  }
  spool_fd_ = fd;
  spool_path_ = std::move(path);
  body_mode_ = BodyMode::kSpool;
  const Route& route = core_->router.routes()[route_];
  if (route.options.body_observer) spool_observer_ = route.options.body_observer(request_);
  spool_fill_.resize(kSpoolBufferBytes);
  spool_used_ = 0;
  // A body of known length: the file gets its final size now (sparse), so its pages can be
  // prefaulted ahead of the writes (PrefaultSpool). Optional: on failure the writes go on alone.
  if (content_length_ && *content_length_ > 0 &&
      ::ftruncate(fd, static_cast<off_t>(*content_length_)) == 0) {
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup >= 0) spool_prefault_fd_ = std::make_shared<const Fd>(dup);
    PrefaultSpool();
  }
  return true;
}

// Allocates the page-cache pages of the spool's next bytes before the writes reach them, on the
// pool, by read-ahead over the file's not yet written (sparse, zero) range, at most
// kSpoolPrefaultAhead past the bytes received. Where fresh memory is dear (a VM whose host backs
// guest memory on first touch) buffered writes into new pages of a file run at 0.3-0.4 GB/s and
// serialize on the file's lock, while read-ahead allocates the same pages several times faster
// (bench: 64 MB spooled in ~25 ms instead of ~170 ms); where memory was just freed it costs
// ~10-15 ms per 64 MB on another core. Pages the writes overwrite are never read: correctness
// never depends on it.
void Connection::PrefaultSpool() {
  if (spool_prefaulting_ || spool_prefault_fd_ == nullptr || !content_length_) return;
  const uint64_t target = std::min(*content_length_, body_bytes_ + kSpoolPrefaultAhead);
  // In steps of at least kSpoolPrefaultStep (fewer pool tasks), but to the very end.
  if (spool_prefaulted_ >= target ||
      (target - spool_prefaulted_ < kSpoolPrefaultStep && target < *content_length_)) {
    return;
  }
  const uint64_t from = spool_prefaulted_;
  const uint64_t end = target;
  spool_prefaulting_ = true;
  bool queued = core_->pool.TrySubmit(
      [self = shared_from_this(), fd = spool_prefault_fd_, from, end, gen = spool_generation_] {
        // In pieces: one call reads ahead at most the device's read-ahead window (8 MB here).
        for (uint64_t at = from; at < end; at += kSpoolPrefaultPiece) {
          ::posix_fadvise(fd->get(), static_cast<off_t>(at),
                          static_cast<off_t>(std::min(kSpoolPrefaultPiece, end - at)),
                          POSIX_FADV_WILLNEED);
        }
        self->core_->Post(self->strand_, [self, end, gen] {
          if (gen != self->spool_generation_) return;  // another request's spool by now
          self->spool_prefaulting_ = false;
          self->spool_prefaulted_ = std::max(self->spool_prefaulted_, end);
          if (self->state_ == State::kBody) self->PrefaultSpool();
        });
      });
  if (!queued) spool_prefaulting_ = false;
}

void Connection::SubmitSpoolWrite() {
  std::string data = std::move(spool_fill_);
  data.resize(spool_used_);
  spool_fill_ = std::move(spool_spare_);
  spool_fill_.resize(kSpoolBufferBytes);
  spool_used_ = 0;
  spool_writing_ = true;
  SubmitSpoolData(std::move(data));
}

// Disk writes happen on the pool (Submit, not TrySubmit: the request was admitted already; see
// worker_pool.h) so a slow disk or dirty-page throttling never stalls the io thread.
void Connection::SubmitSpoolData(std::string data) {
  auto self = shared_from_this();
  int fd = spool_fd_;
  // One write at a time (spool_writing_), so the observer sees the bytes in order.
  bool queued =
      core_->pool.Submit([self, fd, obs = spool_observer_, d = std::move(data)]() mutable {
        int err = WriteAll(fd, d.data(), d.size());
        if (err == 0 && obs != nullptr) obs->Observe(d);
        self->core_->Post(self->strand_, [self, err, d = std::move(d)]() mutable {
          self->OnSpoolWritten(err, std::move(d));
        });
      });
  if (!queued) {
    spool_writing_ = false;
    SendError(503, "Service Unavailable: the server is shutting down", /*close=*/true);
  }
}

void Connection::OnSpoolWritten(int err, std::string buffer) {
  spool_writing_ = false;
  if (state_ != State::kBody) return;  // closed meanwhile; the destructor removes the file
  spool_spare_ = std::move(buffer);
  if (err != 0) {
    spdlog::error("http: writing spool file {}: {}", spool_path_, std::strerror(err));
    SendError(500, "Internal Server Error: cannot store the request body", /*close=*/true);
    return;
  }
  PrefaultSpool();
  if (spool_finishing_) {
    FinishBody();
    return;
  }
  if (!spool_paused_) return;  // a read is under way and ParseBody continues from there
  spool_paused_ = false;
  SetDeadline(Clock::now() + options_.read_timeout);
  ParseBody();
}

void Connection::FinishBody() {
  body_complete_ = true;
  request_.body_size = body_bytes_;
  if (body_mode_ == BodyMode::kMemory) {
    request_.body.resize(body_bytes_);
    Dispatch();
    return;
  }
  spool_finishing_ = true;
  ClearDeadline();
  if (spool_writing_) return;  // OnSpoolWritten calls back
  if (spool_used_ > 0) {
    SubmitSpoolWrite();
    return;
  }
  ::close(spool_fd_);
  spool_fd_ = -1;
  spool_fill_ = std::string();
  spool_spare_ = std::string();
  request_.body_file = spool_path_;
  request_.body_observer = std::move(spool_observer_);
  spool_prefault_fd_.reset();
  Dispatch();
}

}  // namespace sigil::http
