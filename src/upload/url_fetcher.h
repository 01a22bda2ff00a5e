// UrlFetcher: upload by download URL (http-api.md §2). Downloads an archive to a temp file with
// libcurl, following redirects itself so that every hop is checked: https only (plain http only
// when UploadConfig::allow_http_urls, for tests), host on UploadConfig::allowed_url_hosts, at most
// url_max_redirects hops, at most max_archive_bytes, url_timeout_ms per attempt, and url_retries
// retries with exponential backoff on 429, 5xx and connection errors.
//
// Thread-safe: Fetch may run concurrently (each call uses its own curl handle).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "upload/temp_file.h"

namespace sigil::upload {

struct FetchedArchive {
  TempFile file;  // the downloaded bytes; removed with this object
  uint64_t size = 0;
  std::string url;                         // as requested
  std::vector<std::string> redirect_urls;  // every hop after the first, in order
};

class UrlFetcher {
 public:
  // `tmp_dir` must exist. `first_backoff` is the wait before the first retry (doubled each time).
  UrlFetcher(const UploadConfig& config, std::string tmp_dir,
             std::chrono::milliseconds first_backoff = std::chrono::milliseconds(500));

  // Checks a URL against the scheme rule and the allow-list (400 messages of the spec).
  Status CheckUrl(std::string_view url) const;

  // Errors: kInvalidArgument "Insecure URL", "Not an allowed domain ('h') to download from.",
  // "Too many redirects trying to open <url>", "<url> can't be found (404)" for upstream 4xx;
  // kTooLarge past max_archive_bytes; kInternal (500, so clients retry) for connection errors and
  // upstream 5xx after the retries.
  Result<FetchedArchive> Fetch(const std::string& url) const;

 private:
  const UploadConfig& config_;
  std::string tmp_dir_;
  std::chrono::milliseconds first_backoff_;
};

// The last path segment of a URL ("x.zip" for "https://h/a/x.zip?y"), percent-decoded; "" if none.
std::string UrlFileName(std::string_view url);

}  // namespace sigil::upload
