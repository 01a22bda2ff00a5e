#include "integration/support/s3rver.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace sigil::testing {
namespace {

using Clock = std::chrono::steady_clock;

// An unsigned HEAD of the bucket (s3rver lets anonymous requests through); the HTTP status or 0.
long HeadBucket(int port, const std::string& bucket) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return 0;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/" + bucket;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

}  // namespace

Result<std::unique_ptr<S3rver>> S3rver::Start(S3rverOptions options) {
  std::unique_ptr<S3rver> server(new S3rver());
  server->options_ = std::move(options);
  const S3rverOptions& o = server->options_;
  std::string pattern = "/tmp/sigil-s3rver-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return Internal("mkdtemp failed");
  server->dir_ = pattern;
  const std::string tools = std::string(SIGIL_SOURCE_DIR) + "/.tools";
  // s3rver's ListObjectsV2 continuation tokens are DES-encrypted; Node 20's OpenSSL 3 only offers
  // DES through the legacy provider.
  std::vector<std::string> argv = {"node", "--openssl-legacy-provider"};
  if (o.signature_checking_fork) {
    // The fork's package ships lib/cli.js (a commander program) without the bin script that runs
    // it.
    argv.insert(argv.end(), {"-e", "require(process.argv[1]).parseAsync(process.argv)", "--",
                             tools + "/s3rver-sig/node_modules/@20minutes/s3rver/lib/cli.js"});
  } else {
    argv.push_back(tools + "/s3rver/node_modules/s3rver/bin/s3rver.js");
  }
  argv.insert(argv.end(), {"-d", server->dir_ + "/data", "-a", "127.0.0.1", "-p", "0", "--silent",
                           "--configure-bucket", o.bucket});
  if (o.allow_mismatched_signatures) argv.push_back("--allow-mismatched-signatures");
  if (!o.service_endpoint.empty())
    argv.insert(argv.end(), {"--service-endpoint", o.service_endpoint});

  const std::string log = server->dir_ + "/s3rver.log";
  SIGIL_RETURN_IF_ERROR(server->process_.Spawn(argv, log));
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    if (server->port_ == 0) {
      std::string address = AddressAfter(ReadLog(log), "S3rver listening on ");
      if (!address.empty()) server->port_ = std::stoi(address.substr(address.rfind(':') + 1));
    }
    if (server->port_ != 0 && HeadBucket(server->port_, o.bucket) == 200) return server;
    if (!server->process_.Running()) {
      return Internal("s3rver exited during startup; log:\n" + LogTail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Internal("s3rver did not answer within 30 s; log:\n" + LogTail(log));
}

S3rver::~S3rver() {
  process_.Stop(SIGTERM, 5000);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void S3rver::Kill() { process_.Stop(SIGKILL, 5000); }

}  // namespace sigil::testing
