#include "http/connection.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common/hashing.h"
#include "http/response_head.h"

namespace sigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr uint64_t kDrainLimit =
    64 * 1024;  // a rejected request's body up to this is read and dropped
constexpr size_t kSpoolBufferBytes = 256 * 1024;
constexpr size_t kMemoryBodyStep = 64 * 1024;
constexpr size_t kProducerChunk = 64 * 1024;
constexpr size_t kSendfileSlice = 256 * 1024;
constexpr int kSendfileSlicesPerTurn = 4;
constexpr uint64_t kLingerBytes = 1 << 20;
constexpr std::chrono::milliseconds kMaxLinger{2000};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Headers the server writes itself; a handler's values for them are ignored.
bool IsServerOwnedHeader(std::string_view name) {
  return IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
         IEquals(name, "connection") || IEquals(name, "date") || IEquals(name, "server") ||
         IEquals(name, "x-request-id") || IEquals(name, "keep-alive");
}

Response Overloaded() {
  Response r = Response::Error(503, "Service Unavailable: the server is overloaded, retry later");
  r.headers.Add("Retry-After", "1");
  return r;
}

std::string TooLargeMessage(uint64_t limit) {
  return fmt::format("Payload Too Large: the request body exceeds the limit of {} bytes", limit);
}

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

// Completes one request exactly once. If every copy of the Responder is dropped without being
// called (a handler bug), the client still gets a 500 instead of a hung connection.
struct PendingResponse {
  PendingResponse(std::shared_ptr<Connection> c, uint64_t s) : conn(std::move(c)), seq(s) {}
  ~PendingResponse() {
    if (!done.load(std::memory_order_acquire)) {
      spdlog::error("http: a handler dropped its Responder without responding");
      conn->Deliver(seq,
                    Response::Error(500, "Internal Server Error: the request was not answered"));
    }
  }
  void Complete(Response r) {
    if (done.exchange(true, std::memory_order_acq_rel)) {
      spdlog::error("http: Responder called more than once; ignoring the extra response");
      return;
    }
    conn->Deliver(seq, std::move(r));
  }
  std::shared_ptr<Connection> conn;
  uint64_t seq;
  std::atomic<bool> done{false};
};

}  // namespace

Connection::Connection(std::shared_ptr<Core> core, IoSlot& slot, tcp::socket socket)
    : core_(std::move(core)),
      slot_(slot),
      options_(core_->options),
      socket_(std::move(socket)),
      timer_(slot.ioc) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_ =
        ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    remote_ += ':';
    remote_ += std::to_string(ep.port());
  }
  route_ = core_->unmatched_route();
  auto tick = std::min(options_.read_timeout, options_.idle_timeout) / 10;
  tick_ = std::clamp(tick, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
}

Connection::~Connection() {
  // Whatever a worker may still have been using when the connection closed is released here, when
  // no task references the connection any more.
  if (spool_fd_ >= 0) ::close(spool_fd_);
  if (!spool_path_.empty()) ::unlink(spool_path_.c_str());
  if (file_fd_ >= 0) ::close(file_fd_);
  if (registered_) core_->Unregister(this);
}

void Connection::Start() {
  slot_.connections.fetch_add(1, std::memory_order_relaxed);
  counted_connection_ = true;
  if (core_->stopping()) {
    Close();
    return;
  }
  state_ = State::kIdle;
  SetDeadline(Clock::now() + options_.idle_timeout);
  ReadMore();
}

void Connection::OnServerShutdown() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kIdle && buffer_.size() == 0) {
    Close();
    return;
  }
  close_after_ = true;
}

void Connection::Deliver(uint64_t seq, Response response) {
  if (slot_.ioc.get_executor().running_in_this_thread()) {
    OnResponse(seq, std::move(response));
    return;
  }
  auto self = shared_from_this();
  core_->Post(slot_, [self, seq, r = std::move(response)]() mutable {
    self->OnResponse(seq, std::move(r));
  });
}

// ---------------------------------------------------------------------------------------------------
// Reading

void Connection::ReadMore() {
  if (read_pending_) return;  // one read at a time
  read_pending_ = true;
  socket_.async_read_some(
      buffer_.prepare(kReadChunk),
      [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(boost::system::error_code ec, size_t n) {
  read_pending_ = false;
  if (state_ == State::kClosed) return;
  if (timed_out_) {
    timed_out_ = false;
    if (state_ == State::kDrain && pending_reject_) {
      close_after_ = true;
      Response r = std::move(*pending_reject_);
      pending_reject_.reset();
      WriteResponse(std::move(r));
    } else if (state_ == State::kHeader || state_ == State::kBody) {
      SendError(408,
                fmt::format("Request Timeout: the request did not arrive within {} ms",
                            options_.read_timeout.count()),
                /*close=*/true);
    } else {
      Close();
    }
    return;
  }
  if (ec) {
    // EOF between requests is the normal end of a keep-alive connection; anything else mid-request
    // leaves nothing to answer.
    Close();
    return;
  }
  buffer_.commit(n);
  switch (state_) {
    case State::kIdle:
    case State::kHeader:
      ParseHeader();
      break;
    case State::kBody:
      SetDeadline(Clock::now() + options_.read_timeout);
      ParseBody();
      break;
    case State::kDrain:
      SetDeadline(Clock::now() + options_.read_timeout);
      ParseDrain();
      break;
    case State::kLinger:
      lingered_ += buffer_.size();
      buffer_.consume(buffer_.size());
      if (lingered_ > kLingerBytes) {
        Close();
      } else {
        ReadMore();
      }
      break;
    default:
      break;
  }
}

void Connection::ParseHeader() {
  if (state_ == State::kIdle) {
    state_ = State::kHeader;
    started_ = Clock::now();
  }
  if (!parser_) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<uint64_t>(options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(boost::none);  // per-route limits are enforced here, after routing
  }
  beast::error_code ec;
  size_t used = parser_->put(buffer_.data(), ec);
  buffer_.consume(used);
  if (ec == bhttp::error::need_more) {
    if (!header_deadline_set_) {
      header_deadline_set_ = true;
      SetDeadline(started_ + options_.read_timeout);
    }
    ReadMore();
    return;
  }
  if (ec == bhttp::error::header_limit) {
    SendError(
        431,
        fmt::format("Request Header Fields Too Large: the header exceeds the limit of {} bytes",
                    options_.max_header_bytes),
        /*close=*/true);
    return;
  }
  if (ec) {
    SendError(400, "Bad Request: " + ec.message(), /*close=*/true);
    return;
  }
  OnHeader();
}

void Connection::OnHeader() {
  auto& msg = parser_->get();
  ClearDeadline();
  ++seq_;
  slot_.in_flight.fetch_add(1, std::memory_order_relaxed);
  counted_in_flight_ = true;

  request_.method = std::string(msg.method_string());
  request_.target = std::string(msg.target());
  http10_ = msg.version() < 11;
  keep_alive_ = msg.keep_alive();
  for (const auto& field : msg) {
    request_.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  request_.remote_addr = remote_;
  if (auto id = request_.headers.Get("X-Request-Id")) request_.request_id = SanitizeRequestId(*id);
  if (request_.request_id.empty()) request_.request_id = slot_.ids.Next();

  body_expected_ = !parser_->is_done();
  if (auto cl = parser_->content_length()) content_length_ = *cl;

  if (auto expect = request_.headers.Get("Expect")) {
    if (IEquals(TrimSpaces(*expect), "100-continue")) {
      expect_continue_ = body_expected_ && !http10_;
    } else {
      Reject(
          Response::Error(417, "Expectation Failed: unsupported Expect: " + std::string(*expect)));
      return;
    }
  }
  if (!ParseTarget()) return;

  RouteMatch match = core_->router.Match(request_.method, request_.path, &request_.params);
  if (match.kind == RouteMatch::kNotFound) {
    Reject(Response::Error(404, "Not Found"));
    return;
  }
  if (match.kind == RouteMatch::kMethodNotAllowed) {
    Response r = Response::Error(405, MethodNotAllowedMessage(request_.method, request_.path));
    r.headers.Add("Allow", match.allow);
    Reject(std::move(r));
    return;
  }
  route_ = match.route_index;
  const Route& route = core_->router.routes()[route_];
  body_limit_ = route.options.max_body_bytes.value_or(options_.max_body_bytes);
  if (content_length_ && *content_length_ > body_limit_) {
    Reject(Response::Error(413, TooLargeMessage(body_limit_)));
    return;
  }
  if (!route.options.authenticate) {
    StartBody();
    return;
  }
  // The hook may block (database): run it on the pool, before any of the body is read.
  state_ = State::kAuth;
  auto self = shared_from_this();
  uint64_t seq = seq_;
  bool queued = core_->pool.TrySubmit([self, seq] {
    std::optional<Response> verdict;
    try {
      verdict = self->core_->router.routes()[self->route_].options.authenticate(self->request_);
    } catch (const std::exception& e) {
      spdlog::error("http: authenticate hook threw: {}", e.what());
      verdict = Response::Error(500, "Internal Server Error");
    }
    self->core_->Post(self->slot_, [self, seq, v = std::move(verdict)]() mutable {
      self->OnAuthDone(seq, std::move(v));
    });
  });
  if (!queued) Reject(Overloaded());
}

bool Connection::ParseTarget() {
  std::string_view t = request_.target;
  if (t.empty() || t[0] != '/') {
    // absolute-form ("http://host/path"), as proxies send it
    size_t scheme = t.find("://");
    if (scheme == std::string_view::npos) {
      SendError(400, "Bad Request: invalid request target", /*close=*/true);
      return false;
    }
    size_t slash = t.find('/', scheme + 3);
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
  }
  size_t q = t.find('?');
  std::string_view raw_path = t.substr(0, q);
  std::optional<std::string> path = PercentDecode(raw_path, /*plus_as_space=*/false);
  if (!path || path->find('\0') != std::string::npos) {
    SendError(400, "Bad Request: malformed percent-encoding in the path", /*close=*/true);
    return false;
  }
  request_.path = std::move(*path);
  request_.query = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
  return true;
}

void Connection::OnAuthDone(uint64_t seq, std::optional<Response> verdict) {
  if (state_ != State::kAuth || seq != seq_) return;
  if (verdict) {
    Reject(std::move(*verdict));
    return;
  }
  StartBody();
}

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
    if (parser_->is_done()) {
      FinishBody();
      return;
    }
    if (buffer_.size() == 0) {
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
  spool_fill_.resize(kSpoolBufferBytes);
  spool_used_ = 0;
  return true;
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
  bool queued = core_->pool.Submit([self, fd, d = std::move(data)]() mutable {
    int err = WriteAll(fd, d.data(), d.size());
    self->core_->Post(self->slot_, [self, err, d = std::move(d)]() mutable {
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
  Dispatch();
}

void Connection::ParseDrain() {
  thread_local std::array<char, 16 * 1024> sink;
  for (;;) {
    if (parser_->is_done() || drained_ > kDrainLimit) {
      if (!parser_->is_done()) close_after_ = true;
      Response r = std::move(*pending_reject_);
      pending_reject_.reset();
      WriteResponse(std::move(r));
      return;
    }
    if (buffer_.size() == 0) {
      ReadMore();
      return;
    }
    auto& b = parser_->get().body();
    b.data = sink.data();
    b.size = sink.size();
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    drained_ += sink.size() - b.size;
    if (ec == bhttp::error::need_buffer) continue;
    if (ec == bhttp::error::need_more || (!ec && used == 0)) {
      if (parser_->is_done()) continue;
      ReadMore();
      return;
    }
    if (ec) {
      close_after_ = true;
      Response r = std::move(*pending_reject_);
      pending_reject_.reset();
      WriteResponse(std::move(r));
      return;
    }
  }
}

void Connection::Reject(Response response) {
  if (!body_expected_) {
    WriteResponse(std::move(response));
    return;
  }
  // The client waits for 100 Continue or a final response: do not wait for a body it may not send.
  if (expect_continue_ || (content_length_ && *content_length_ > kDrainLimit)) {
    close_after_ = true;
    WriteResponse(std::move(response));
    return;
  }
  pending_reject_ = std::move(response);
  drained_ = 0;
  state_ = State::kDrain;
  SetDeadline(Clock::now() + options_.read_timeout);
  ParseDrain();
}

// ---------------------------------------------------------------------------------------------------
// Handlers and responses

void Connection::Dispatch() {
  state_ = State::kHandler;
  ClearDeadline();
  const Route& route = core_->router.routes()[route_];
  if (route.options.inline_handler) {
    CallHandler();
    return;
  }
  auto self = shared_from_this();
  if (!core_->pool.TrySubmit([self] { self->CallHandler(); })) WriteResponse(Overloaded());
}

void Connection::CallHandler() {
  auto pending = std::make_shared<PendingResponse>(shared_from_this(), seq_);
  Responder responder = [pending](Response r) { pending->Complete(std::move(r)); };
  const Route& route = core_->router.routes()[route_];
  try {
    route.handler(request_, std::move(responder));
  } catch (const std::exception& e) {
    // The dropped Responder answers 500.
    spdlog::error("http: handler for {} {} threw: {}", request_.method, route.pattern, e.what());
  }
}

void Connection::OnResponse(uint64_t seq, Response response) {
  if (state_ != State::kHandler || seq != seq_) return;
  WriteResponse(std::move(response));
}

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
    const FileRange& f = *response_.file;
    if (response_has_body_) {
      int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0 ||
          static_cast<uint64_t>(st.st_size) < f.offset + f.length) {
        spdlog::error("http: cannot serve {} [{}+{}]: {}", f.path, f.offset, f.length,
                      fd < 0 ? std::strerror(errno) : "file shorter than the range");
        if (fd >= 0) ::close(fd);
        response_ = Response::Error(500, "Internal Server Error: cannot read the response body");
        status_ = 500;
        kind = kString;
      } else {
        file_fd_ = fd;
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

void Connection::BuildHead(int status, std::string_view content_length, bool chunked) {
  head_.clear();
  char num[16];
  auto [p, ec] = std::to_chars(num, num + sizeof(num), status);
  head_ += "HTTP/1.1 ";
  head_.append(num, p - num);
  head_ += ' ';
  head_ += ReasonPhrase(status);
  head_ += "\r\nServer: sigil\r\nDate: ";
  head_ += CachedHttpDate();
  head_ += "\r\n";
  if (!request_.request_id.empty()) {
    head_ += "X-Request-Id: ";
    head_ += request_.request_id;
    head_ += "\r\n";
  }
  for (const auto& [name, value] : response_.headers.items()) {
    if (IsServerOwnedHeader(name)) continue;
    if (!IsSafeHeader(name, value)) {
      spdlog::warn("http: dropping response header {:?} with an unsafe name or value", name);
      continue;
    }
    head_ += name;
    head_ += ": ";
    head_ += value;
    head_ += "\r\n";
  }
  if (!content_length.empty()) {
    head_ += "Content-Length: ";
    head_ += content_length;
    head_ += "\r\n";
  }
  if (chunked) head_ += "Transfer-Encoding: chunked\r\n";
  if (close_after_) {
    head_ += "Connection: close\r\n";
  } else if (http10_) {
    head_ += "Connection: keep-alive\r\n";
  }
  head_ += "\r\n";
}

// File bodies go out with sendfile(2) straight from the page cache: no user-space copy, and at most
// kSendfileSlice bytes per call, kSendfileSlicesPerTurn calls per turn so one big download cannot
// monopolise the io thread. Like nginx's default, a read of a page not in the cache blocks this io
// thread for that disk read; symbol files being served are normally hot.
void Connection::SendFileChunk() {
  if (state_ == State::kClosed) return;
  if (!socket_.native_non_blocking()) {
    boost::system::error_code ec;
    socket_.native_non_blocking(true, ec);
  }
  for (int i = 0; i < kSendfileSlicesPerTurn && file_remaining_ > 0; ++i) {
    off_t off = static_cast<off_t>(file_offset_);
    size_t want = static_cast<size_t>(std::min<uint64_t>(file_remaining_, kSendfileSlice));
    ssize_t n = ::sendfile(socket_.native_handle(), file_fd_, &off, want);
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
      spdlog::error("http: {} ended before the announced length", response_.file->path);
    } else if (errno != EPIPE && errno != ECONNRESET) {
      spdlog::warn("http: sendfile of {}: {}", response_.file->path, std::strerror(errno));
    }
    Close();
    return;
  }
  if (file_remaining_ == 0) {
    ::close(file_fd_);
    file_fd_ = -1;
    FinishResponse();
    return;
  }
  SetDeadline(Clock::now() + options_.read_timeout);
  asio::post(slot_.ioc, [self = shared_from_this()] { self->SendFileChunk(); });
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
    self->core_->Post(
        self->slot_, [self, r = std::move(produced)]() mutable { self->OnProduced(std::move(r)); });
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
  core_->RecordRequest(slot_, route_, request_.method, status, seconds);
  if (slot_.access_log) {
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
    slot_.access_log->Append(rec);
  }
}

void Connection::FinishResponse() {
  LogAndRecord(status_);
  if (counted_in_flight_) {
    slot_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    counted_in_flight_ = false;
  }
  bool linger = parser_ && !parser_->is_done();
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
  if (!spool_path_.empty()) {
    ::unlink(spool_path_.c_str());
    spool_path_.clear();
  }
  if (file_fd_ >= 0) {
    ::close(file_fd_);
    file_fd_ = -1;
  }
  response_ = Response();
  request_ = Request();
  route_ = core_->unmatched_route();
  pending_reject_.reset();
  expect_continue_ = false;
  body_expected_ = false;
  content_length_.reset();
  body_bytes_ = 0;
  body_mode_ = BodyMode::kMemory;
  spool_finishing_ = false;
  spool_paused_ = false;
  spool_used_ = 0;
  header_deadline_set_ = false;
  drained_ = 0;
}

// ---------------------------------------------------------------------------------------------------
// Closing and timeouts

void Connection::GracefulClose(bool linger) {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (!linger || ec) {
    Close();
    return;
  }
  // The client may still be sending the request we did not read: read and drop it for a moment so
  // closing does not reset the connection before the client has read our response.
  state_ = State::kLinger;
  lingered_ = 0;
  buffer_.consume(buffer_.size());
  SetDeadline(Clock::now() +
              std::min<std::chrono::milliseconds>(kMaxLinger, options_.read_timeout));
  ReadMore();
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  bool writing = state_ == State::kWrite;
  state_ = State::kClosed;
  boost::system::error_code ec;
  socket_.close(ec);
  timer_.cancel();
  if (file_fd_ >= 0) {
    ::close(file_fd_);
    file_fd_ = -1;
  }
  if (counted_in_flight_) {
    // The request ends without a (complete) response: 499 when the response had not started.
    counted_in_flight_ = false;
    slot_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    LogAndRecord(writing ? status_ : 499);
  }
  if (counted_connection_) {
    counted_connection_ = false;
    slot_.connections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (registered_) {
    registered_ = false;
    core_->Unregister(this);
  }
  // request_/response_ and the spool file stay: a worker may still be using them. The destructor
  // releases them once the last task referencing this connection is done.
}

void Connection::SetDeadline(Clock::time_point deadline) {
  deadline_ = deadline;
  if (timer_armed_ || state_ == State::kClosed) return;
  ArmTimer();
}

// The timer ticks every tick_ while a deadline is set (so deadlines are enforced within one tick)
// instead of being re-armed per phase: keep-alive traffic then costs no timer operations per
// request.
void Connection::ArmTimer() {
  timer_armed_ = true;
  timer_.expires_after(tick_);
  timer_.async_wait(
      [self = shared_from_this()](boost::system::error_code ec) { self->OnTimer(ec); });
}

void Connection::OnTimer(boost::system::error_code ec) {
  timer_armed_ = false;
  if (ec || state_ == State::kClosed) return;
  if (deadline_ == Clock::time_point::max()) return;
  if (Clock::now() >= deadline_) {
    OnTimeout();
    return;
  }
  ArmTimer();
}

void Connection::OnTimeout() {
  ClearDeadline();
  switch (state_) {
    case State::kHeader:
    case State::kBody:
    case State::kDrain:
      if (read_pending_) {
        // OnRead sees the cancelled read and answers 408.
        timed_out_ = true;
        boost::system::error_code ec;
        socket_.cancel(ec);
        return;
      }
      Close();
      return;
    case State::kIdle:
    case State::kWrite:
    case State::kLinger:
      Close();
      return;
    default:
      return;
  }
}

}  // namespace sigil::http
