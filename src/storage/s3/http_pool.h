// A pool of persistent (keep-alive) HTTP/1.1 connections for the S3 client, built on libcurl.
//
// Each pooled slot is a curl multi handle with one easy handle; the multi handle's connection cache
// keeps the connection open between requests, so a request takes an idle slot and re-uses its
// connection. Every response body is read to its end — error bodies and 404s included — so no
// status, only a transport failure or a stream abandoned mid-body, costs a connection (the lesson
// of the seed's "HEAD resets the boto3 pool" note). Slots share DNS and TLS session caches (curl
// share). The stats count the TCP connections opened, which tests use to check re-use.
//
// Thread-safe: any number of threads may call Open/Perform at once; each HttpStream is used by one
// thread at a time and must be destroyed before the pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/s3/sigv4_signer.h"

namespace sigil::storage::s3 {

struct HttpPoolOptions {
  int connect_timeout_ms = 5000;
  int stall_timeout_ms = 30000;  // a transfer below 1 byte/s for this long fails (not while paused)
  size_t max_idle = 64;          // idle slots kept; more are closed when returned
  bool verify_tls = true;
};

// A request body the pool can re-read from its start (curl rewinds when it re-sends a request on a
// fresh connection after a kept-alive one was closed by the server). Memory or a byte range of a
// file; both are borrowed and must outlive the request.
struct BodySource {
  std::string_view memory;  // when fd < 0
  int fd = -1;
  uint64_t offset = 0;  // file offset of the first byte (fd >= 0)
  uint64_t length = 0;

  static BodySource Memory(std::string_view data) { return {data, -1, 0, data.size()}; }
  static BodySource File(int fd, uint64_t offset, uint64_t length) {
    return {{}, fd, offset, length};
  }
  // The bytes [off, off + len) of this body.
  BodySource Slice(uint64_t off, uint64_t len) const;
  // Reads up to `size` bytes at `pos` (relative to the body start); -1 on a read error.
  int64_t ReadAt(uint64_t pos, char* buf, size_t size) const;
};

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  HeaderList headers;  // sent as given (no Expect: 100-continue is ever added)
  std::optional<BodySource> body;
  int timeout_ms = 0;  // the whole exchange; 0 = no limit (the stall timeout still applies)
};

struct HttpResponse {
  long status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  std::string body;

  // The first header with this (lower-case) name, or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

struct PoolSlot;
struct Transfer;
class HttpPool;

// A response whose body is pulled from the connection. At most ~64 KiB of body is buffered: when
// the reader falls behind, the transfer is paused. Not thread-safe.
class HttpStream {
 public:
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Status and headers (body is empty).
  const HttpResponse& response() const;
  // Up to `size` body bytes; 0 at the end. kUnavailable / kDeadlineExceeded when the connection
  // fails.
  Result<size_t> Read(char* buf, size_t size);
  // Appends the rest of the body to `out`; kUpstream when it exceeds `max_bytes`.
  Status ReadAll(size_t max_bytes, std::string& out);

 private:
  friend class HttpPool;
  HttpStream(HttpPool* pool, std::unique_ptr<Transfer> transfer);
  HttpPool* pool_;
  std::unique_ptr<Transfer> transfer_;
};

class HttpPool {
 public:
  explicit HttpPool(HttpPoolOptions options);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // Sends the request and waits for the response head. Transport failures: kUnavailable (connect,
  // reset, nothing received), kDeadlineExceeded (timeouts), kUpstream (TLS verification, protocol).
  Result<std::unique_ptr<HttpStream>> Open(const HttpRequest& request);
  // Open + ReadAll(max_body).
  Result<HttpResponse> Perform(const HttpRequest& request, size_t max_body);

  struct Stats {
    uint64_t requests = 0;
    uint64_t connections_opened = 0;  // TCP connections curl had to create
    size_t idle_slots = 0;
  };
  Stats stats() const;

 private:
  friend class HttpStream;
  struct Share;
  std::unique_ptr<PoolSlot> Acquire();
  // Detaches a finished or abandoned transfer and keeps its slot (and connection) for re-use.
  void Finish(Transfer& transfer);

  HttpPoolOptions options_;
  std::unique_ptr<Share> share_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<PoolSlot>>
      idle_;  // LIFO: the most recently used connection is warmest
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_opened_{0};
};

}  // namespace sigil::storage::s3
