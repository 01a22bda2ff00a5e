// The S3 REST client: builds request URLs for path-style or virtual-host addressing, signs every
// attempt with SigV4, sends it through the keep-alive HttpPool, retries with jittered exponential
// backoff, and turns S3 error responses into Status values that name the operation, the key, the
// HTTP status and the S3 error code (e.g. "SignatureDoesNotMatch").
//
// Retried: connection failures and timeouts, HTTP 500/502/503/504, 429 and 400 RequestTimeout, up
// to options.max_retries more attempts, sleeping a uniformly random time in [0, min(cap, base *
// 2^n)] (at least a Retry-After the server sent, capped). Other statuses are returned to the
// caller.
//
// Thread-safe: one client serves every thread (the pool hands each request its own connection).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/s3/http_pool.h"
#include "storage/s3/s3_url.h"
#include "storage/s3/sigv4_signer.h"

namespace sigil::storage::s3 {

// Response bodies read into memory (XML: errors, listings) are capped at this size.
inline constexpr size_t kMaxXmlBody = 16 << 20;

struct S3Request {
  std::string method;
  std::string object_key;  // bucket-relative key (prefix included); "" = the bucket itself
  HeaderList query;        // decoded name/value pairs
  HeaderList headers;      // extra headers, sent and signed
  std::optional<BodySource> body;
  bool large_body = false;  // streams a big body: no total timeout (the stall timeout applies)
};

class S3Client {
 public:
  // Precondition: ValidateS3Options(options).ok().
  explicit S3Client(S3Options options);

  const S3Options& options() const { return options_; }

  // Sends with retries and returns the final response whatever its status (body read, up to
  // kMaxXmlBody). Errors only for transport failures (after retries) and unreadable bodies.
  Result<HttpResponse> Send(const S3Request& request);

  // Sends with retries and returns the body stream once a 2xx head arrived; any other final status
  // is returned as ErrorFor(op, display_key, response).
  Result<std::unique_ptr<HttpStream>> Open(const S3Request& request, std::string_view op,
                                           std::string_view display_key);

  // The Status for a non-2xx response. 404 -> kNotFound (NoSuchBucket -> kUpstream: misconfigured),
  // 403 and other 4xx -> kUpstream (sigil's own credentials or request were refused: not the
  // caller's fault), 429/5xx -> kUnavailable, 400 EntityTooLarge -> kTooLarge. The message reads
  // "S3 <op> '<key>' in bucket '<bucket>': HTTP 403 SignatureDoesNotMatch: <S3's message>".
  Status ErrorFor(std::string_view op, std::string_view display_key,
                  const HttpResponse& response) const;

  // A presigned GET URL for the object, valid `expires_s` seconds from `unix_now`.
  std::string PresignGet(std::string_view object_key, int64_t expires_s, int64_t unix_now) const;

  // Lower-case hex SHA-256 of a body (reads a file body once).
  static Result<std::string> HashBody(const BodySource& body);

  HttpPool::Stats pool_stats() const { return pool_.stats(); }
  uint64_t retries() const { return retries_.load(); }

 private:
  struct Target {
    std::string url;            // scheme://host/path?query
    std::string host;           // Host header
    std::string canonical_uri;  // the encoded path
  };
  Target TargetFor(std::string_view object_key, const HeaderList& query) const;
  // One signed HTTP request for `request` at the current time.
  Result<HttpRequest> Build(const S3Request& request, const std::string& payload_hash) const;
  bool ShouldRetry(const HttpResponse& response) const;
  void Backoff(int attempt, const HttpResponse* response);

  S3Options options_;
  std::string scheme_;     // "http" / "https"
  std::string authority_;  // host[:port] of the endpoint
  SigV4Signer signer_;
  HttpPool pool_;
  std::atomic<uint64_t> retries_{0};
};

}  // namespace sigil::storage::s3
