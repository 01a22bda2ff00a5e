// The S3 backend's configuration and its URL form (storage.storage_url):
//
//   s3://<bucket>[/<prefix>][?<param>=<value>&...]
//
//   endpoint=http://127.0.0.1:9000   any S3-compatible endpoint (scheme://host[:port]); default
//                                    https://s3.<region>.amazonaws.com
//   region=us-east-1                 signing region; default AWS_REGION, AWS_DEFAULT_REGION,
//   us-east-1 addressing=path|virtual          path: <endpoint>/<bucket>/<key>; virtual:
//   <bucket>.<host>/<key>;
//                                    default virtual for AWS, path for a custom endpoint
//   public_url=https://cdn.example/x PublicUrl() = <public_url>/<prefix>/<key> (no signing)
//   presign_expiry=300               seconds a presigned GET URL is valid (0 = no URL: proxy the
//                                    bytes); at most 604800
//   exists=head|list                 how Exists() asks (see docs/benchmarks.md "S3 existence")
//   connect_timeout_ms=5000, timeout_ms=30000 (requests without a large body; 0 = none),
//   stall_timeout_ms=30000 (abort a transfer moving < 1 byte/s this long), retries=3,
//   max_idle_connections=64, multipart_threshold=67108864, part_size=16777216 (>= 5 MiB),
//   verify_tls=true
//
// Unknown parameters are rejected, so a typo does not silently fall back to a default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/s3/credentials.h"

namespace sigil::storage::s3 {

enum class Addressing { kPath, kVirtual };
enum class ExistsStrategy { kHead, kList };

struct S3Options {
  std::string bucket;
  std::string prefix;    // "" or "a/b" (no leading or trailing '/'); keys live under it
  std::string endpoint;  // "scheme://host[:port]", no path
  std::string region = "us-east-1";
  Addressing addressing = Addressing::kPath;
  std::string public_url;      // "" = none; no trailing '/'
  int presign_expiry_s = 300;  // 0 = PublicUrl() returns nullopt when public_url is empty
  ExistsStrategy exists = ExistsStrategy::kHead;
  Credentials credentials;

  int connect_timeout_ms = 5000;
  int timeout_ms = 30000;        // whole request, for requests without a large body; 0 = none
  int stall_timeout_ms = 30000;  // a transfer slower than 1 byte/s for this long is aborted
  int max_retries = 3;           // retries after the first attempt (5xx, 429, connection errors)
  int retry_base_ms = 100;       // backoff: uniform random in [0, min(cap, base * 2^attempt)]
  int retry_cap_ms = 5000;
  size_t max_idle_connections = 64;
  uint64_t multipart_threshold = 64ull << 20;  // bodies of at least this many bytes go multipart
  uint64_t part_size = 16ull << 20;            // raised automatically to stay within 10000 parts
  size_t list_page_size = 1000;                // max-keys per ListObjectsV2 request (1..1000)
  bool verify_tls = true;
};

// Parses an s3:// URL into options (credentials are not read here). `env` supplies AWS_REGION /
// AWS_DEFAULT_REGION for the default region; `default_presign_expiry_s` applies when the URL has no
// presign_expiry (the server passes download.presign_expiry_s). Errors (kInvalidArgument) name the
// offending part.
Result<S3Options> ParseS3Url(std::string_view url, const EnvLookup& env,
                             int default_presign_expiry_s = 300);

// Checks options built by hand (tests) or parsed: bucket name, endpoint form, ranges.
Status ValidateS3Options(const S3Options& options);

}  // namespace sigil::storage::s3
