// http::Server: the HTTP/1.1 server every route of sigil is served by (Beast/Asio live only in the
// .cc files). It owns the listening socket and the io threads; blocking work runs on the WorkerPool
// it borrows.
//
// Per request: read the header (limit → 431), match a route (404 / 405 + Allow), run the route's
// authenticate hook on the pool (full queue → 503 + Retry-After: 1), read the body with the route's
// limit (413; spooled to a temp file in tmp_dir above spool_threshold_bytes when the route asks for
// it), run the handler (on the pool, or on the io thread for inline_handler routes), write the
// response (string, file range or pulled stream), log one JSON access-log line and record metrics.
// Keep-alive and pipelining are supported; responses on one connection go out in request order.
//
// Thread safety: Start/Shutdown/Wait/address/port/in_flight may be called from any thread that is
// not one of the server's io threads (and not from a handler). Handlers: see http/route.h; the
// Request& passed to a handler stays valid until its Responder is called.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "http/route.h"

namespace sigil {
class Metrics;  // common/metrics.h
}

namespace sigil::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port ("[::1]:8000" for IPv6); port 0 picks a free one
  int io_threads = 1;                  // >= 1
  size_t max_connections = 10000;  // beyond that new connections are closed at once (and counted)
  uint64_t max_header_bytes = 16384;  // request line + headers; over → 431
  uint64_t max_body_bytes = 10 << 20;  // default body limit of routes without their own; over → 413
  uint64_t spool_threshold_bytes =
      1 << 20;          // bodies of spool_body routes over this go to a temp file
  std::string tmp_dir;  // where spooled bodies go; "" = $TMPDIR or /tmp
  // A request's header must arrive within read_timeout of its first byte, and while a body (or a
  // response) is transferred every read (write) must make progress within it. An idle keep-alive
  // connection is closed after idle_timeout.
  std::chrono::milliseconds read_timeout{30000}, idle_timeout{60000};
  bool access_log = true;  // one JSON line per request on stderr (spdlog, batched per io thread)
};

// io_threads 0 → one per core; the limits and timeouts copied from `config`.
ServerOptions ServerOptionsFromConfig(const ServerConfig& config, const std::string& tmp_dir);

class Server {
 public:
  // `pool` must outlive the server. `metrics` (nullable) must outlive it too; the server registers
  // http_requests_total{route,method,status}, http_request_duration_seconds{route,status},
  // http_in_flight, http_connections, http_rejected_connections_total and worker_queue_depth in it.
  Server(ServerOptions options, RouteTable routes, WorkerPool& pool, Metrics* metrics);
  // Shutdown(0) + Wait() when still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the io threads. Call once. The error names the address.
  Status Start();
  // The bound address, "127.0.0.1:PORT" (port 0 resolved) after Start; "" before.
  std::string address() const;
  uint16_t port() const;

  // Stops accepting (new connections are refused), closes idle keep-alive connections, lets
  // requests in flight finish for up to `grace` (their responses carry Connection: close), then
  // closes whatever is left. Returns when that is done; the io threads then exit (see Wait).
  // Idempotent.
  void Shutdown(std::chrono::milliseconds grace);
  // Blocks until the io threads have exited (after Shutdown). Idempotent.
  void Wait();

  // Requests whose header has been read and whose response has not been written yet.
  size_t in_flight() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sigil::http
