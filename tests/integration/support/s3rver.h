// A throwaway S3 server for integration tests and benchmarks: s3rver (3.7, plain) or the
// signature-checking @20minutes/s3rver fork (4.x), run with node from the project's .tools/,
// listening on 127.0.0.1 with a port it picks itself (-p 0; the port is read from its log), storing
// objects in a fresh temp dir, with one bucket created at startup. Start() returns once the server
// answers a HEAD of the bucket; the destructor stops the server (also when the test fails) and
// removes the temp dir.
//
// The account is S3RVER / S3RVER (kAccessKeyId, kSecretAccessKey). Only the fork verifies SigV4
// signatures (header and presigned; s3rver 3.7 checks the access key id but accepts any v4
// signature), unless allow_mismatched_signatures is set. Known gaps of both: no
// AbortMultipartUpload / ListParts, listing with a delimiter is unreliable, listing order is not
// S3's when a key is also a "directory" of other keys, the fork escapes XML text twice (a listed
// key "a&b" reads back as "a&amp;b"), and the fork checks v4 signatures of virtual-host requests
// against /<bucket>/<key> (so virtual-host tests need allow_mismatched_signatures).
//
// Not thread-safe: create and destroy from one thread (the test's main thread).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "integration/support/services.h"

namespace sigil::testing {

struct S3rverOptions {
  bool signature_checking_fork = false;  // @20minutes/s3rver instead of s3rver 3.7
  std::string bucket = "sigil-test";
  bool allow_mismatched_signatures = false;
  std::string service_endpoint;  // --service-endpoint, e.g. "localhost" for <bucket>.s3.localhost
};

class S3rver {
 public:
  static constexpr const char* kAccessKeyId = "S3RVER";
  static constexpr const char* kSecretAccessKey = "S3RVER";

  static Result<std::unique_ptr<S3rver>> Start(S3rverOptions options = {});
  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& bucket() const { return options_.bucket; }
  const std::string& dir() const { return dir_; }  // data/ and s3rver.log live here

  // Stops the server (SIGKILL): later requests fail to connect.
  void Kill();

 private:
  S3rver() = default;

  S3rverOptions options_;
  std::string dir_;
  int port_ = 0;
  ChildProcess process_;
};

}  // namespace sigil::testing
