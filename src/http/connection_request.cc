#include <spdlog/spdlog.h>

#include <array>
#include <boost/beast/http/error.hpp>
#include <limits>

#include "http/connection.h"
#include "http/connection_util.h"
#include "http/request_id.h"

namespace sigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

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
  Core::ThisSlot().in_flight.fetch_add(1, std::memory_order_relaxed);
  counted_in_flight_ = true;

  request_.method.assign(msg.method_string().data(), msg.method_string().size());
  request_.target.assign(msg.target().data(), msg.target().size());
  http10_ = msg.version() < 11;
  keep_alive_ = msg.keep_alive();
  for (const auto& field : msg) {
    request_.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  request_.remote_addr = remote_;
  if (auto id = request_.headers.Get("X-Request-Id")) request_.request_id = SanitizeRequestId(*id);
  if (request_.request_id.empty()) request_.request_id = Core::ThisSlot().ids.Next();

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
    route_ = match.route_index;  // counted under the path's route, with status 405
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
    self->core_->Post(self->strand_, [self, seq, v = std::move(verdict)]() mutable {
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
  if (raw_path.find('%') == std::string_view::npos) {
    request_.path.assign(raw_path.data(), raw_path.size());  // reuses the buffer
  } else {
    std::optional<std::string> path = PercentDecode(raw_path, /*plus_as_space=*/false);
    if (!path || path->find('\0') != std::string::npos) {
      SendError(400, "Bad Request: malformed percent-encoding in the path", /*close=*/true);
      return false;
    }
    request_.path = std::move(*path);
  }
  if (q == std::string_view::npos) {
    request_.query.clear();
  } else {
    request_.query.assign(t.data() + q + 1, t.size() - q - 1);
  }
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

}  // namespace sigil::http
