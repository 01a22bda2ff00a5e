// AWS Signature Version 4 (AWS4-HMAC-SHA256), S3 flavour: the canonical URI is the path exactly as
// sent (each segment URI-encoded once, no dot-segment normalization), the query is canonicalized
// from decoded name/value pairs, every header handed in is signed.
//
// Checked against the official aws-c-auth SigV4 suite and the S3 API Reference worked examples
// (../shared/testdata/sigv4, sigv4_signer_test.cc). Stateless apart from the credentials:
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/s3/credentials.h"

namespace sigil::storage::s3 {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What the signature covers.
struct SigningRequest {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // URI-encoded absolute path as sent, e.g. "/bucket/a%20b.sym"
  HeaderList query;           // decoded name/value pairs (order irrelevant)
  HeaderList headers;         // headers as sent (must include Host); names in any case
};

// The intermediate values, for tests and for debugging SignatureDoesNotMatch.
struct SignatureDetails {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;         // lower-case hex
  std::string signed_headers;    // "host;x-amz-date"
  std::string credential_scope;  // "20130524/us-east-1/s3/aws4_request"
};

// The payload hash S3 accepts for bodies that are not hashed (presigned URLs).
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

class SigV4Signer {
 public:
  SigV4Signer(Credentials credentials, std::string region, std::string service = "s3");

  // Header authentication. Appends X-Amz-Date, X-Amz-Security-Token (when the credentials carry a
  // session token) and finally Authorization to `request.headers`. `payload_hash` is the lower-case
  // hex SHA-256 of the body or kUnsignedPayload; S3 also wants it sent as x-amz-content-sha256,
  // which the caller adds to the headers before signing.
  SignatureDetails SignHeaders(SigningRequest& request, std::string_view payload_hash,
                               int64_t unix_time) const;

  // Query authentication (presigned URL) valid for `expires_s` seconds from `unix_time`. Returns
  // the encoded query string to send: request.query plus the X-Amz-* parameters in canonical order,
  // with X-Amz-Signature last. Every header in request.headers is signed (usually just Host).
  std::string Presign(const SigningRequest& request, std::string_view payload_hash,
                      int64_t unix_time, int64_t expires_s,
                      SignatureDetails* details = nullptr) const;

  const std::string& region() const { return region_; }

 private:
  SignatureDetails Sign(const SigningRequest& request, std::string_view canonical_query,
                        std::string_view payload_hash, const std::string& amz_date) const;

  Credentials credentials_;
  std::string region_;
  std::string service_;
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~) stay,
// every other byte becomes %XX (upper-case hex); '/' stays when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);

// "20150830T123600Z" for a Unix time.
std::string AmzDate(int64_t unix_time);

// The canonical query string: pairs encoded with UriEncode, sorted by name then value, joined by
// '&'.
std::string CanonicalQuery(const HeaderList& query);

}  // namespace sigil::storage::s3
