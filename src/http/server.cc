#include "http/server.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <thread>

#include "common/metrics.h"
#include "http/connection.h"
#include "http/server_core.h"

namespace sigil::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAccessLogFlushInterval = std::chrono::milliseconds(250);
constexpr auto kForceCloseWait = std::chrono::milliseconds(2000);

// "host:port", "[v6]:port" → address + port.
Result<tcp::endpoint> ParseListen(const std::string& listen) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen[0] == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return InvalidArgument("listen address '" + listen + "': expected [v6-address]:port");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("listen address '" + listen + "': expected host:port");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  int port_num = -1;
  if (!port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    port_num = std::stoi(port);
  }
  if (port_num < 0 || port_num > 65535) {
    return InvalidArgument("listen address '" + listen + "': invalid port '" + port + "'");
  }
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgument("listen address '" + listen + "': '" + host + "' is not an IP address");
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port_num));
}

}  // namespace

ServerOptions ServerOptionsFromConfig(const ServerConfig& config, const std::string& tmp_dir) {
  ServerOptions o;
  o.listen = config.listen;
  o.io_threads = config.io_threads > 0
                     ? config.io_threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.max_connections = static_cast<size_t>(std::max(1, config.max_connections));
  o.max_header_bytes = config.max_header_bytes;
  o.max_body_bytes = config.max_body_bytes;
  o.spool_threshold_bytes = config.spool_threshold_bytes;
  o.tmp_dir = tmp_dir;
  o.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  o.access_log = config.access_log;
  return o;
}

// ---------------------------------------------------------------------------------------------------
// Server

class Server::Impl {
 public:
  Impl(ServerOptions options, RouteTable routes, WorkerPool& pool, Metrics* metrics)
      : core_(std::make_shared<Core>(std::move(options), std::move(routes), pool, metrics)),
        metrics_(metrics),
        accept_strand_(asio::make_strand(core_->ioc)),
        flush_timer_(core_->ioc) {}

  ~Impl() {
    Shutdown(std::chrono::milliseconds(0));
    Wait();
    core_->StopMetricCallbacks();
  }

  Status Start() {
    std::lock_guard lock(mu_);
    if (started_) return Internal("http server: Start called twice");
    const std::string& listen = core_->options.listen;
    SIGIL_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(listen));
    acceptor_ = std::make_unique<tcp::acceptor>(accept_strand_);
    boost::system::error_code ec;
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.reset();
      return Unavailable("cannot listen on " + listen + ": " + ec.message());
    }
    tcp::endpoint bound = acceptor_->local_endpoint(ec);
    port_ = bound.port();
    address_ = (bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                        : bound.address().to_string()) +
               ":" + std::to_string(port_);
    core_->StartMetricCallbacks(metrics_);
    core_->work.emplace(asio::make_work_guard(core_->ioc));
    if (core_->options.access_log) ScheduleFlush();
    asio::post(accept_strand_, [this] { DoAccept(); });
    for (auto& slot : core_->slots) {
      IoSlot* s = slot.get();
      threads_.emplace_back([this, s] { core_->RunIoThread(*s); });
      std::string name = "sigil-io-" + std::to_string(s->index);
      pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
    }
    started_ = true;
    return Status::Ok();
  }

  void Shutdown(std::chrono::milliseconds grace) {
    {
      std::lock_guard lock(mu_);
      if (shutdown_) return;
      shutdown_ = true;
      if (!started_) {
        core_->BeginStopping();
        return;
      }
    }
    auto deadline = std::chrono::steady_clock::now() + grace;
    // 1. Stop accepting: new connections are refused from here on.
    std::promise<void> closed;
    asio::post(accept_strand_, [this, &closed] {
      boost::system::error_code ec;
      acceptor_->close(ec);
      closed.set_value();
    });
    closed.get_future().wait();
    // 2. Idle connections close now; busy ones after their current response.
    for (auto& conn : core_->BeginStopping()) {
      core_->Post(conn->strand(), [conn] { conn->OnServerShutdown(); });
    }
    // 3. Grace for requests in flight, then close whatever is left.
    if (!core_->WaitForNoConnections(deadline)) {
      auto left = core_->Snapshot();
      spdlog::warn("http: closing {} connection(s) still busy after the shutdown grace period",
                   left.size());
      for (auto& conn : left) core_->Post(conn->strand(), [conn] { conn->ForceClose(); });
      core_->WaitForNoConnections(std::chrono::steady_clock::now() + kForceCloseWait);
    }
    // 4. Final access-log flush; then the io threads run out of work and exit.
    core_->Post(core_->ioc.get_executor(), [this] {
      flush_timer_.cancel();
      FlushAccessLogs();
    });
    core_->work.reset();
  }

  void Wait() {
    std::lock_guard lock(wait_mu_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    if (!drained_ && started_) {
      drained_ = true;
      core_->MarkStoppedAndDrain();
      FlushAccessLogs();
    }
  }

  std::string address() const {
    std::lock_guard lock(mu_);
    return address_;
  }
  uint16_t port() const {
    std::lock_guard lock(mu_);
    return port_;
  }
  size_t in_flight() const {
    int64_t total = 0;
    for (const auto& s : core_->slots) total += s->in_flight.load(std::memory_order_relaxed);
    return static_cast<size_t>(std::max<int64_t>(0, total));
  }

 private:
  void FlushAccessLogs() {
    for (auto& slot : core_->slots) {
      std::lock_guard lock(slot->log_mu);
      if (slot->access_log) slot->access_log->Flush();
    }
  }

  // The flush timer's handler runs on any io thread; flush_timer_ is only touched from handlers
  // posted to the io_context after Start, one at a time (the next wait starts in the handler).
  void ScheduleFlush() {
    flush_timer_.expires_after(kAccessLogFlushInterval);
    flush_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      FlushAccessLogs();
      if (!core_->stopping()) ScheduleFlush();
    });
  }

  // Runs on the accept strand. Each connection gets its own strand of the shared io_context.
  void DoAccept() {
    Strand strand = asio::make_strand(core_->ioc);
    acceptor_->async_accept(strand,
                            [this, strand](boost::system::error_code ec, tcp::socket socket) {
                              OnAccept(ec, std::move(socket), strand);
                            });
  }

  void OnAccept(boost::system::error_code ec, tcp::socket socket, const Strand& strand) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: back off a little instead of spinning.
      spdlog::warn("http: accept on {}: {}", address_, ec.message());
      auto timer = std::make_shared<asio::steady_timer>(accept_strand_);
      timer->expires_after(std::chrono::milliseconds(50));
      timer->async_wait([this, timer](boost::system::error_code) {
        if (acceptor_->is_open()) DoAccept();
      });
      return;
    }
    if (core_->open_connections() >= core_->options.max_connections) {
      core_->CountRejectedConnection();
      boost::system::error_code ignored;
      socket.close(ignored);
      DoAccept();
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto conn = std::make_shared<Connection>(core_, strand, std::move(socket));
    if (core_->Register(conn)) {
      conn->MarkRegistered();
      core_->Post(strand, [conn] { conn->Start(); });
    }
    DoAccept();
  }

  std::shared_ptr<Core> core_;
  Metrics* metrics_;
  Strand accept_strand_;  // the acceptor and its back-off timer
  asio::steady_timer flush_timer_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::mutex wait_mu_;
  bool started_ = false;
  bool shutdown_ = false;
  bool drained_ = false;
  std::string address_;
  uint16_t port_ = 0;
};

Server::Server(ServerOptions options, RouteTable routes, WorkerPool& pool, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(routes), pool, metrics)) {}

Server::~Server() = default;

Status Server::Start() { return impl_->Start(); }
std::string Server::address() const { return impl_->address(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }
void Server::Wait() { impl_->Wait(); }
size_t Server::in_flight() const { return impl_->in_flight(); }

}  // namespace sigil::http
