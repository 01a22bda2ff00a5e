// Plain HTTP request/response types shared by the server (src/http) and the handlers (src/api).
// No Beast/Asio types here: handlers and services compile and test without sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/fd.h"
#include "common/status.h"

namespace sigil::http {

// Header list, preserving order; names compared case-insensitively.
class Headers {
 public:
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every header of that name.
  void Set(std::string_view name, std::string value);
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Who made the request, filled by the authentication hook of routes that need it.
struct Principal {
  int64_t user_id = 0;
  int64_t token_id = 0;
  std::string email;
  std::vector<std::string> permissions;  // effective: token permissions ∩ user permissions
  int64_t token_expires_at = 0;          // micros
  bool Has(std::string_view permission) const;
};

// Sees a spooled request body's bytes in order while they are written to the spool file, so a
// handler can learn what it needs from the body (e.g. where multipart parts end) without reading it
// back. Observe runs on the worker pool, one call at a time per request, each call after the
// bytes before it; the handler finds the observer in Request::body_observer, after the last call.
class BodyObserver {
 public:
  virtual ~BodyObserver() = default;
  // The next `bytes` of the body.
  virtual void Observe(std::string_view bytes) = 0;
};

struct Request {
  std::string method;  // "GET", upper case
  std::string target;  // raw request target, e.g. "/a/b?x=1"
  std::string path;    // percent-decoded path, e.g. "/a/b"
  std::string query;   // raw query string without '?'
  Headers headers;
  std::string request_id;  // X-Request-Id from the client or generated
  std::string remote_addr;

  // Body: in memory (`body`) or, when spooled, in the temp file `body_file` (deleted after the
  // response).
  std::string body;
  std::string body_file;
  uint64_t body_size = 0;
  // For a spooled body, the route's RouteOptions::body_observer (if it made one) after it observed
  // every byte of the body. Shared: spool writes still in flight when a request fails hold it too.
  std::shared_ptr<BodyObserver> body_observer;

  std::map<std::string, std::string> params;  // path parameters from the route pattern
  std::optional<Principal> principal;         // set by the route's authenticate hook

  std::optional<std::string_view> Header(std::string_view name) const { return headers.Get(name); }
  // First value of a query parameter (percent-decoded, '+' as space); "" when present without
  // value.
  std::optional<std::string> QueryParam(std::string_view name) const;
  bool HasQueryParam(std::string_view name) const { return QueryParam(name).has_value(); }
  // True when the client accepts gzip (Accept-Encoding has gzip with q > 0).
  bool AcceptsGzip() const;
};

// Pull-based streaming body: called repeatedly (on the server's worker pool) to fill `buf`; returns
// the bytes written, 0 at the end, or an error (the connection is then closed).
using BodyProducer = std::function<Result<size_t>(char* buf, size_t size)>;

// A body sent with sendfile(2) from an open file: bytes [offset, offset + length) of `fd`. The
// server checks that `fd` is a regular file at least offset + length long (else 500) and holds
// its reference until the response ends (shared: a cache may keep the descriptor open for the
// next request; sendfile never moves the descriptor's file offset). For HEAD responses `fd` may be
// null (only `length` is used). `name` identifies the file in logs.
struct FileRange {
  std::shared_ptr<const Fd> fd;
  std::string name;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  // Exactly one body kind is used: `file` if set, else `producer` if set, else `body`.
  std::string body;
  std::optional<FileRange> file;
  BodyProducer producer;   // chunked transfer unless Content-Length is set in headers
  bool head_only = false;  // HEAD: send headers (with the body's length) and no body

  static Response Json(int status, std::string json_body);
  static Response Text(int status, std::string text,
                       std::string content_type = "text/plain; charset=utf-8");
  // {"error": message}
  static Response Error(int status, std::string_view message);
};

// Completes a request. Call exactly once, from any thread. Cheap to move.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request&, Responder)>;

// Escapes a string for inclusion in JSON (quotes included).
std::string JsonQuote(std::string_view s);
// Percent-decodes; nullopt on malformed escapes. plus_as_space for query strings.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_as_space);

}  // namespace sigil::http
