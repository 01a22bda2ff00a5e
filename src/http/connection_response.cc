#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "http/connection.h"
#include "http/connection_util.h"
#include "http/response_head.h"

namespace sigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Headers the server writes itself; a handler's values for them are ignored.
bool IsServerOwnedHeader(std::string_view name) {
  return IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
         IEquals(name, "connection") || IEquals(name, "date") || IEquals(name, "server") ||
         IEquals(name, "x-request-id") || IEquals(name, "keep-alive");
}

}  // namespace

void Connection::SendError(int status, std::string_view message, bool close) {
  if (close) close_after_ = true;
  WriteResponse(Response::Error(status, message));
}

void Connection::WriteResponse(Response response) {
  response_ = std::move(response);
  if (response_.status < 200 || response_.status > 999) {
    spdlog::error("http: handler returned invalid status {}", response_.status);
    response_ = Response::Error(500, "Internal Server Error");
  }
  status_ = response_.status;
  state_ = State::kWrite;
  bytes_sent_ = 0;
  chunked_ = false;
  response_length_.reset();

  const bool head = response_.head_only || request_.method == "HEAD";
  const bool no_body_status = StatusHasNoBody(status_);
  response_has_body_ = !head && !no_body_status;
  if (!keep_alive_ || core_->stopping()) close_after_ = true;
  if (auto c = response_.headers.Get("Connection"); c && IEquals(TrimSpaces(*c), "close")) {
    close_after_ = true;
  }

  enum { kString, kFile, kProducer } kind = kString;
  if (response_.file) {
    kind = kFile;
    FileRange& f = *response_.file;
    if (response_has_body_) {
      struct stat st {};
      const char* problem = nullptr;
      if (!f.fd || !f.fd->valid()) {
        problem = "no open file";
      } else if (::fstat(f.fd->get(), &st) != 0) {
        problem = std::strerror(errno);
      } else if (!S_ISREG(st.st_mode)) {
        problem = "not a regular file";
      } else if (static_cast<uint64_t>(st.st_size) < f.offset + f.length) {
        problem = "file shorter than the range";
      }
      if (problem) {
        spdlog::error("http: cannot serve {} [{}+{}]: {}", f.name, f.offset, f.length, problem);
        response_ = Response::Error(500, "Internal Server Error: cannot read the response body");
        status_ = 500;
        kind = kString;
      } else {
        file_ = std::move(f.fd);
        file_offset_ = f.offset;
        file_remaining_ = f.length;
      }
    }
    if (kind == kFile) response_length_ = f.length;
  } else if (response_.producer) {
    kind = kProducer;
    if (auto cl = response_.headers.Get("Content-Length")) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), v);
      if (ec == std::errc() && p == cl->data() + cl->size()) response_length_ = v;
    }
    if (!response_length_ && response_has_body_) {
      if (http10_) {
        close_after_ = true;  // HTTP/1.0 has no chunked encoding: the body ends with the connection
      } else {
        chunked_ = true;
      }
    }
  }
  if (kind == kString) response_length_ = response_.body.size();

  char length_buf[24];
  std::string_view length;
  if (!no_body_status && response_length_) {
    auto [p, ec] = std::to_chars(length_buf, length_buf + sizeof(length_buf), *response_length_);
    length = std::string_view(length_buf, p - length_buf);
  }
  BuildHead(status_, length, chunked_ && response_has_body_);
  SetDeadline(Clock::now() + options_.read_timeout);

  auto self = shared_from_this();
  if (kind == kString) {
    if (response_has_body_ && !response_.body.empty()) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(head_), asio::buffer(response_.body)};
      asio::async_write(socket_, bufs, [self](boost::system::error_code ec, size_t) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->Close();
          return;
        }
        self->bytes_sent_ = self->response_.body.size();
        self->FinishResponse();
      });
    } else {
      asio::async_write(socket_, asio::buffer(head_), [self](boost::system::error_code ec, size_t) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->Close();
          return;
        }
        self->FinishResponse();
      });
    }
    return;
  }
  // Only with body bytes to follow: a head corked with MSG_MORE and no sendfile after it would sit
  // in the kernel until its cork timer (~200 ms) fires.
  if (kind == kFile && response_has_body_ && file_remaining_ > 0 && TrySendHeadBeforeFile()) {
    SendFileChunk();
    return;
  }
  bool is_file = kind == kFile;
  asio::async_write(socket_, asio::buffer(head_),
                    [self, is_file](boost::system::error_code ec, size_t) {
                      if (self->state_ == State::kClosed) return;
                      if (ec) {
                        self->Close();
                        return;
                      }
                      if (!self->response_has_body_) {
                        self->FinishResponse();
                      } else if (is_file) {
                        self->SendFileChunk();
                      } else {
                        self->PumpProducer();
                      }
                    });
}

// Our own send/sendfile calls on the socket must not block the io thread.
bool Connection::EnsureNativeNonBlocking() {
  if (socket_.native_non_blocking()) return true;
  boost::system::error_code ec;
  socket_.native_non_blocking(true, ec);
  return !ec;
}

// The head of a sendfile response goes out with MSG_MORE, so the kernel holds it until the first
// sendfile call and head and body start in one segment (like nginx's tcp_nopush): one packet and
// one wake-up of the client less per response. False when the socket could not take the whole head
// at once; the caller then falls back to an asynchronous write.
bool Connection::TrySendHeadBeforeFile() {
  if (!EnsureNativeNonBlocking()) return false;
  ssize_t n;
  do {
    n = ::send(socket_.native_handle(), head_.data(), head_.size(),
               MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(head_.size())) return true;
  if (n > 0) head_.erase(0, static_cast<size_t>(n));  // the async write sends the rest
  return false;
}

void Connection::BuildHead(int status, std::string_view content_length, bool chunked) {
  using namespace std::string_view_literals;
  head_.clear();
  char num[16];
  auto [p, ec] = std::to_chars(num, num + sizeof(num), status);
  head_ += "HTTP/1.1 "sv;
  head_.append(num, p - num);
  head_ += ' ';
  head_ += ReasonPhrase(status);
  head_ += "\r\nServer: sigil\r\nDate: "sv;
  head_ += CachedHttpDate();
  head_ += "\r\n"sv;
  if (!request_.request_id.empty()) {
    head_ += "X-Request-Id: "sv;
    head_ += request_.request_id;
    head_ += "\r\n"sv;
  }
  for (const auto& [name, value] : response_.headers.items()) {
    if (IsServerOwnedHeader(name)) continue;
    if (!IsSafeHeader(name, value)) {
      spdlog::warn("http: dropping response header {:?} with an unsafe name or value", name);
      continue;
    }
    head_ += name;
    head_ += ": "sv;
    head_ += value;
    head_ += "\r\n"sv;
  }
  if (!content_length.empty()) {
    head_ += "Content-Length: "sv;
    head_ += content_length;
    head_ += "\r\n"sv;
  }
  if (chunked) head_ += "Transfer-Encoding: chunked\r\n"sv;
  if (close_after_) {
    head_ += "Connection: close\r\n"sv;
  } else if (http10_) {
    head_ += "Connection: keep-alive\r\n"sv;
  }
  head_ += "\r\n"sv;
}

// File bodies go out with sendfile(2) straight from the page cache: no user-space copy, and at most
// kSendfileSlice bytes per call, kSendfileSlicesPerTurn calls per turn so one big download cannot
// monopolise the io thread. Like nginx's default, a read of a page not in the cache blocks this io
// thread for that disk read; symbol files being served are normally hot.
void Connection::SendFileChunk() {
  if (state_ == State::kClosed) return;
  EnsureNativeNonBlocking();  // on failure sendfile blocks; the loop still completes
  for (int i = 0; i < kSendfileSlicesPerTurn && file_remaining_ > 0; ++i) {
    off_t off = static_cast<off_t>(file_offset_);
    size_t want = static_cast<size_t>(std::min<uint64_t>(file_remaining_, kSendfileSlice));
    ssize_t n = ::sendfile(socket_.native_handle(), file_->get(), &off, want);
    if (n > 0) {
      file_offset_ += static_cast<uint64_t>(n);
      file_remaining_ -= static_cast<uint64_t>(n);
      bytes_sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SetDeadline(Clock::now() + options_.read_timeout);
      socket_.async_wait(tcp::socket::wait_write,
                         [self = shared_from_this()](boost::system::error_code ec) {
                           if (self->state_ == State::kClosed) return;
                           if (ec) {
                             self->Close();
                             return;
                           }
                           self->SendFileChunk();
                         });
      return;
    }
    if (n == 0) {
      spdlog::error("http: {} ended before the announced length", response_.file->name);
    } else if (errno != EPIPE && errno != ECONNRESET) {
      spdlog::warn("http: sendfile of {}: {}", response_.file->name, std::strerror(errno));
    }
    Close();
    return;
  }
  if (file_remaining_ == 0) {
    file_.reset();
    FinishResponse();
    return;
  }
  SetDeadline(Clock::now() + options_.read_timeout);
  asio::post(strand_, [self = shared_from_this()] { self->SendFileChunk(); });
}

// Producers may block (object-store streams, decompression), so they are called on the worker pool,
// one bounded chunk (kProducerChunk) at a time; the io thread only writes what they produced.
// Submit, not TrySubmit: the response is already under way and must be allowed to finish.
void Connection::PumpProducer() {
  if (response_length_ && bytes_sent_ >= *response_length_) {
    FinishResponse();
    return;
  }
  if (chunk_buf_.size() != kProducerChunk) chunk_buf_.resize(kProducerChunk);
  size_t want = kProducerChunk;
  if (response_length_)
    want = static_cast<size_t>(std::min<uint64_t>(want, *response_length_ - bytes_sent_));
  ClearDeadline();
  producing_ = true;
  auto self = shared_from_this();
  bool queued = core_->pool.Submit([self, want] {
    Result<size_t> produced = Internal("producer threw");
    try {
      produced = self->response_.producer(self->chunk_buf_.data(), want);
      if (produced.ok() && *produced > want) produced = Internal("producer overran its buffer");
    } catch (const std::exception& e) {
      produced = Internal(std::string("producer threw: ") + e.what());
    }
    self->core_->Post(self->strand_, [self, r = std::move(produced)]() mutable {
      self->OnProduced(std::move(r));
    });
  });
  if (!queued) {
    producing_ = false;
    Close();
  }
}

void Connection::OnProduced(Result<size_t> produced) {
  producing_ = false;
  if (state_ == State::kClosed) return;
  if (!produced.ok()) {
    spdlog::warn("http: response body of {} {} failed: {}", request_.method, request_.path,
                 produced.status().ToString());
    Close();
    return;
  }
  size_t n = *produced;
  auto self = shared_from_this();
  if (n == 0) {
    if (chunked_) {
      static constexpr std::string_view kLast = "0\r\n\r\n";
      SetDeadline(Clock::now() + options_.read_timeout);
      asio::async_write(socket_, asio::buffer(kLast.data(), kLast.size()),
                        [self](boost::system::error_code ec, size_t) {
                          if (self->state_ == State::kClosed) return;
                          if (ec) {
                            self->Close();
                            return;
                          }
                          self->FinishResponse();
                        });
      return;
    }
    if (response_length_ && bytes_sent_ != *response_length_) {
      spdlog::error("http: response body of {} ended after {} of {} bytes", request_.path,
                    bytes_sent_, *response_length_);
      Close();
      return;
    }
    FinishResponse();
    return;
  }
  SetDeadline(Clock::now() + options_.read_timeout);
  auto on_written = [self, n](boost::system::error_code ec, size_t) {
    if (self->state_ == State::kClosed) return;
    if (ec) {
      self->Close();
      return;
    }
    self->bytes_sent_ += n;
    self->PumpProducer();
  };
  if (chunked_) {
    chunk_head_ = fmt::format("{:x}\r\n", n);
    static constexpr std::string_view kCrlf = "\r\n";
    std::array<asio::const_buffer, 3> bufs{asio::buffer(chunk_head_),
                                           asio::buffer(chunk_buf_.data(), n),
                                           asio::buffer(kCrlf.data(), kCrlf.size())};
    asio::async_write(socket_, bufs, std::move(on_written));
  } else {
    asio::async_write(socket_, asio::buffer(chunk_buf_.data(), n), std::move(on_written));
  }
}

void Connection::LogAndRecord(int status) {
  double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  IoSlot& slot = Core::ThisSlot();
  core_->RecordRequest(slot, route_, request_.method, status, seconds);
  if (slot.access_log) {
    std::string_view target = request_.target;
    AccessRecord rec;
    rec.method = request_.method;
    rec.path = target.substr(0, target.find('?'));
    rec.status = status;
    rec.bytes = bytes_sent_;
    rec.duration_ms = seconds * 1000.0;
    rec.request_id = request_.request_id;
    rec.remote = remote_;
    rec.route = route_ < core_->unmatched_route() ? core_->route_names[route_] : std::string_view();
    std::lock_guard lock(slot.log_mu);
    slot.access_log->Append(rec);
  }
}

void Connection::FinishResponse() {
  LogAndRecord(status_);
  if (counted_in_flight_) {
    Core::ThisSlot().in_flight.fetch_sub(1, std::memory_order_relaxed);
    counted_in_flight_ = false;
  }
  bool linger = parser_ && !parser_->is_done() && !body_complete_;
  CleanupRequest();
  if (close_after_) {
    GracefulClose(linger);
    return;
  }
  state_ = State::kIdle;
  parser_.reset();
  if (core_->stopping()) {
    Close();
    return;
  }
  if (buffer_.size() > 0) {
    ParseHeader();  // a pipelined request is already here
    return;
  }
  SetDeadline(Clock::now() + options_.idle_timeout);
  ReadMore();
}

void Connection::CleanupRequest() {
  if (spool_fd_ >= 0 && !spool_writing_) {
    ::close(spool_fd_);
    spool_fd_ = -1;
  }
  std::string spool_path = std::move(spool_path_);
  spool_path_.clear();
  file_.reset();
  response_ = Response();
  ResetRequest();
  route_ = core_->unmatched_route();
  pending_reject_.reset();
  expect_continue_ = false;
  body_expected_ = false;
  content_length_.reset();
  body_bytes_ = 0;
  body_complete_ = false;
  body_mode_ = BodyMode::kMemory;
  spool_finishing_ = false;
  spool_paused_ = false;
  spool_used_ = 0;
  spool_observer_.reset();
  spool_prefault_fd_.reset();
  spool_prefaulted_ = 0;
  spool_prefaulting_ = false;
  ++spool_generation_;  // a prefault task still running belongs to the old spool
  if (!spool_path.empty()) {
    // Removing a large spool frees its page cache and extents (~17 ms for 51 MB on the bench
    // machine), in whichever of the unlink and the last close comes later: the unlink runs on the
    // pool after this thread's descriptors are closed, so this io thread goes on serving.
    auto unlink = [path = std::move(spool_path)] { ::unlink(path.c_str()); };
    if (!core_->pool.TrySubmit(unlink)) unlink();
  }
  header_deadline_set_ = false;
  drained_ = 0;
}

// Clears request_ for the next request on this connection, keeping the capacity of its small
// strings (method, target, path, query, id) so keep-alive traffic does not reallocate them every
// time.
void Connection::ResetRequest() {
  request_.method.clear();
  request_.target.clear();
  request_.path.clear();
  request_.query.clear();
  request_.headers = Headers();
  request_.request_id.clear();
  request_.remote_addr.clear();
  if (request_.body.capacity() > kMemoryBodyStep) {
    request_.body = std::string();  // do not keep a large upload's buffer around
  } else {
    request_.body.clear();
  }
  request_.body_file.clear();
  request_.body_size = 0;
  request_.body_observer.reset();
  request_.params.clear();
  request_.principal.reset();
}

}  // namespace sigil::http
