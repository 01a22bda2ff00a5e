#include "storage/s3/s3_client.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "common/hashing.h"
#include "storage/s3/s3_xml.h"

namespace sigil::storage::s3 {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string GenericCode(long status) {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 307:
      return "TemporaryRedirect";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 412:
      return "PreconditionFailed";
    case 416:
      return "InvalidRange";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "HTTP" + std::to_string(status);
  }
}

// The S3 error code of a response: body <Code>, else s3rver's x-amz-error-code header.
std::string ErrorCode(const HttpResponse& r) {
  std::string code = ParseErrorBody(r.body).code;
  if (code.empty()) {
    if (const std::string* h = r.FindHeader("x-amz-error-code")) code = *h;
  }
  return code;
}

}  // namespace

S3Client::S3Client(S3Options options)
    : options_(std::move(options)),
      signer_(options_.credentials, options_.region, "s3"),
      pool_(HttpPoolOptions{options_.connect_timeout_ms, options_.stall_timeout_ms,
                            options_.max_idle_connections, options_.verify_tls}) {
  const std::string& ep = options_.endpoint;  // validated: scheme://authority
  size_t sep = ep.find("://");
  scheme_ = ep.substr(0, sep);
  authority_ = ep.substr(sep + 3);
}

S3Client::Target S3Client::TargetFor(std::string_view object_key, const HeaderList& query) const {
  Target t;
  const std::string encoded_key = UriEncode(object_key, /*keep_slash=*/true);
  if (options_.addressing == Addressing::kVirtual) {
    t.host = options_.bucket + "." + authority_;
    t.canonical_uri = "/" + encoded_key;
  } else {
    t.host = authority_;
    t.canonical_uri = "/" + options_.bucket + (object_key.empty() ? "" : "/" + encoded_key);
  }
  t.url = scheme_ + "://" + t.host + t.canonical_uri;
  std::string q = CanonicalQuery(query);
  if (!q.empty()) t.url += "?" + q;
  return t;
}

Result<std::string> S3Client::HashBody(const BodySource& body) {
  if (body.fd < 0) return Sha256Hex(body.memory);
  Digest d(Digest::Kind::kSha256);
  std::string buf(1 << 20, '\0');
  for (uint64_t pos = 0; pos < body.length;) {
    int64_t got = body.ReadAt(pos, buf.data(), buf.size());
    if (got <= 0) return Internal("reading the upload body failed at byte " + std::to_string(pos));
    d.Update(buf.data(), static_cast<size_t>(got));
    pos += static_cast<uint64_t>(got);
  }
  return d.FinishHex();
}

Result<HttpRequest> S3Client::Build(const S3Request& request,
                                    const std::string& payload_hash) const {
  Target target = TargetFor(request.object_key, request.query);
  SigningRequest sr;
  sr.method = request.method;
  sr.canonical_uri = target.canonical_uri;
  sr.query = request.query;
  sr.headers = request.headers;
  sr.headers.emplace_back("Host", target.host);
  sr.headers.emplace_back("x-amz-content-sha256", payload_hash);
  signer_.SignHeaders(sr, payload_hash, UnixNow());

  HttpRequest http;
  http.method = request.method;
  http.url = std::move(target.url);
  http.headers = std::move(sr.headers);
  http.body = request.body;
  http.timeout_ms = request.large_body ? 0 : options_.timeout_ms;
  return http;
}

bool S3Client::ShouldRetry(const HttpResponse& r) const {
  switch (r.status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    case 400:
      return ErrorCode(r) == "RequestTimeout";
    default:
      return false;
  }
}

void S3Client::Backoff(int attempt, const HttpResponse* response) {
  ++retries_;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t ceiling = std::min<int64_t>(
      options_.retry_cap_ms, static_cast<int64_t>(options_.retry_base_ms) << std::min(attempt, 20));
  int64_t delay_ms = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(0, ceiling))(rng);
  if (response != nullptr) {
    if (const std::string* ra = response->FindHeader("retry-after")) {
      int64_t secs = std::atoll(ra->c_str());
      if (secs > 0)
        delay_ms = std::max(delay_ms, std::min<int64_t>(secs * 1000, options_.retry_cap_ms));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

Result<HttpResponse> S3Client::Send(const S3Request& request) {
  std::string payload_hash(kEmptySha256);
  if (request.body && request.body->length > 0) {
    SIGIL_ASSIGN_OR_RETURN(payload_hash, HashBody(*request.body));
  }
  for (int attempt = 0;; ++attempt) {
    SIGIL_ASSIGN_OR_RETURN(HttpRequest http, Build(request, payload_hash));
    Result<HttpResponse> r = pool_.Perform(http, kMaxXmlBody);
    const bool last = attempt >= options_.max_retries;
    if (!r.ok()) {
      const StatusCode c = r.status().code();
      if (!last && (c == StatusCode::kUnavailable || c == StatusCode::kDeadlineExceeded)) {
        Backoff(attempt, nullptr);
        continue;
      }
      if (attempt == 0) return r.status();
      return r.status().WithContext("after " + std::to_string(attempt + 1) + " attempts");
    }
    if (!last && ShouldRetry(*r)) {
      Backoff(attempt, &*r);
      continue;
    }
    return r;
  }
}

Result<std::unique_ptr<HttpStream>> S3Client::Open(const S3Request& request, std::string_view op,
                                                   std::string_view display_key) {
  for (int attempt = 0;; ++attempt) {
    SIGIL_ASSIGN_OR_RETURN(HttpRequest http, Build(request, std::string(kEmptySha256)));
    Result<std::unique_ptr<HttpStream>> r = pool_.Open(http);
    const bool last = attempt >= options_.max_retries;
    if (!r.ok()) {
      const StatusCode c = r.status().code();
      if (!last && (c == StatusCode::kUnavailable || c == StatusCode::kDeadlineExceeded)) {
        Backoff(attempt, nullptr);
        continue;
      }
      if (attempt == 0) return r.status();
      return r.status().WithContext("after " + std::to_string(attempt + 1) + " attempts");
    }
    std::unique_ptr<HttpStream> stream = std::move(*r);
    const long status = stream->response().status;
    if (status >= 200 && status < 300) return stream;
    HttpResponse response = stream->response();
    Status body_status = stream->ReadAll(kMaxXmlBody, response.body);
    stream.reset();  // the connection goes back to the pool
    if (!last && (ShouldRetry(response) || !body_status.ok())) {
      Backoff(attempt, &response);
      continue;
    }
    return ErrorFor(op, display_key, response);
  }
}

Status S3Client::ErrorFor(std::string_view op, std::string_view display_key,
                          const HttpResponse& r) const {
  std::string code = ErrorCode(r);
  if (code.empty()) {
    // HEAD responses carry no body; a 404 of a bucket-level request means the bucket is missing.
    code = r.status == 404 && display_key.empty() ? "NoSuchBucket" : GenericCode(r.status);
  }
  std::string message = ParseErrorBody(r.body).message;
  if (message.empty()) {
    if (const std::string* h = r.FindHeader("x-amz-error-message")) message = *h;
  }
  std::string text = "S3 " + std::string(op);
  if (!display_key.empty()) text += " '" + std::string(display_key) + "'";
  text += " in bucket '" + options_.bucket + "': HTTP " + std::to_string(r.status) + " " + code;
  if (!message.empty()) text += ": " + message;
  if (const std::string* region = r.FindHeader("x-amz-bucket-region");
      region != nullptr && (r.status == 301 || r.status == 307 || r.status == 400)) {
    text += " (the bucket is in region '" + *region + "'; set region=" + *region + ")";
  }
  switch (r.status) {
    case 404:
      if (code == "NoSuchBucket") return UpstreamError(text);
      return NotFound(text);
    case 403:
      if (r.body.empty() && op == "HeadObject") {
        text += " (AWS also answers 403 for a missing key when the credentials lack s3:ListBucket)";
      }
      return UpstreamError(text);
    case 429:
      return Unavailable(text);
    case 400:
      if (code == "EntityTooLarge") return TooLarge(text);
      if (code == "RequestTimeout") return Unavailable(text);
      return UpstreamError(text);
    default:
      if (r.status >= 500) return Unavailable(text);
      return UpstreamError(text);
  }
}

std::string S3Client::PresignGet(std::string_view object_key, int64_t expires_s,
                                 int64_t unix_now) const {
  Target target = TargetFor(object_key, {});
  SigningRequest sr;
  sr.method = "GET";
  sr.canonical_uri = target.canonical_uri;
  sr.headers.emplace_back("host", target.host);
  return target.url + "?" + signer_.Presign(sr, kUnsignedPayload, unix_now, expires_s);
}

}  // namespace sigil::storage::s3
