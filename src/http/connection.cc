#include "http/connection.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "http/connection_util.h"

namespace sigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

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

Connection::Connection(std::shared_ptr<Core> core, Strand strand, tcp::socket socket)
    : core_(std::move(core)),
      strand_(std::move(strand)),
      options_(core_->options),
      socket_(std::move(socket)),
      timer_(strand_) {
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
  if (registered_) core_->Unregister(this);
}

void Connection::Start() {
  Core::ThisSlot().connections.fetch_add(1, std::memory_order_relaxed);
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
  if ((state_ == State::kIdle && buffer_.size() == 0) || state_ == State::kLinger) {
    Close();
    return;
  }
  close_after_ = true;
}

void Connection::Deliver(uint64_t seq, Response response) {
  if (strand_.running_in_this_thread()) {
    OnResponse(seq, std::move(response));
    return;
  }
  auto self = shared_from_this();
  core_->Post(strand_, [self, seq, r = std::move(response)]() mutable {
    self->OnResponse(seq, std::move(r));
  });
}

void Connection::ReadMore() {
  if (read_pending_) return;  // one read at a time
  read_pending_ = true;
  socket_.async_read_some(
      buffer_.prepare(kReadChunk),
      [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(boost::system::error_code ec, size_t n) {
  read_pending_ = false;
  const bool direct = std::exchange(direct_read_, false);
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
  if (direct) {  // body bytes read past buffer_, straight into their destination
    if (state_ == State::kBody) OnBodyReadDirect(n);
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
  file_.reset();
  if (counted_in_flight_) {
    // The request ends without a (complete) response: 499 when the response had not started.
    counted_in_flight_ = false;
    Core::ThisSlot().in_flight.fetch_sub(1, std::memory_order_relaxed);
    LogAndRecord(writing ? status_ : 499);
  }
  if (counted_connection_) {
    counted_connection_ = false;
    Core::ThisSlot().connections.fetch_sub(1, std::memory_order_relaxed);
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
