#include "upload/url_fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace sigil::upload {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::string> UrlPart(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Per-attempt download state shared with the write callback.
struct Transfer {
  CURL* curl = nullptr;
  TempFile* file = nullptr;
  uint64_t limit = 0;
  uint64_t written = 0;
  bool too_large = false;
  Status write_error;
};

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) return n;  // bodies of redirects and errors are discarded
  if (t->written + n > t->limit) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  Status s = t->file->Append(std::string_view(data, n));
  if (!s.ok()) {
    t->write_error = s;
    return 0;
  }
  t->written += n;
  return n;
}

}  // namespace

std::string UrlFileName(std::string_view url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  std::string s(url);
  if (curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK) return "";
  char* path = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK) return "";
  std::string p(path);
  curl_free(path);
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

UrlFetcher::UrlFetcher(const UploadConfig& config, std::string tmp_dir,
                       std::chrono::milliseconds first_backoff)
    : config_(config), tmp_dir_(std::move(tmp_dir)), first_backoff_(first_backoff) {
  GlobalInit();
}

Status UrlFetcher::CheckUrl(std::string_view url) const {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  std::string s(url);
  if (curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("Invalid URL " + s);
  }
  std::string scheme = Lower(UrlPart(u.get(), CURLUPART_SCHEME).value_or(""));
  if (scheme != "https" && !(scheme == "http" && config_.allow_http_urls)) {
    return InvalidArgument("Insecure URL");
  }
  std::string host = Lower(UrlPart(u.get(), CURLUPART_HOST).value_or(""));
  bool allowed = std::any_of(config_.allowed_url_hosts.begin(), config_.allowed_url_hosts.end(),
                             [&](const std::string& h) { return Lower(h) == host; });
  if (!allowed) return InvalidArgument("Not an allowed domain ('" + host + "') to download from.");
  return Status::Ok();
}

Result<FetchedArchive> UrlFetcher::Fetch(const std::string& url) const {
  FetchedArchive result;
  result.url = url;
  SIGIL_ASSIGN_OR_RETURN(result.file, TempFile::Create(tmp_dir_, "download-"));
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Internal("curl_easy_init failed");

  std::string current = url;
  for (int hop = 0;; ++hop) {
    SIGIL_RETURN_IF_ERROR(CheckUrl(current));
    long code = 0;
    std::string location;
    for (int attempt = 0;; ++attempt) {
      SIGIL_RETURN_IF_ERROR(result.file.Clear());
      Transfer t;
      t.curl = curl.get();
      t.file = &result.file;
      t.limit = config_.max_archive_bytes;
      curl_easy_reset(curl.get());
      curl_easy_setopt(curl.get(), CURLOPT_URL, current.c_str());
      curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR,
                       config_.allow_http_urls ? "http,https" : "https");
      curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
      curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(config_.url_timeout_ms));
      curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(std::min(config_.url_timeout_ms, 30000)));
      curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "sigil-upload/1");
      curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &OnWrite);
      curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
      CURLcode rc = curl_easy_perform(curl.get());
      if (t.too_large) {
        return TooLarge("Download from " + url + " exceeds the maximum archive size of " +
                        std::to_string(config_.max_archive_bytes) + " bytes");
      }
      if (!t.write_error.ok()) return t.write_error;
      bool retryable = false;
      if (rc != CURLE_OK) {
        retryable = true;
        code = 0;
      } else {
        curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
        retryable = code == 429 || code >= 500;
      }
      if (!retryable) {
        result.size = t.written;
        if (code >= 300 && code < 400) {
          char* target = nullptr;
          curl_easy_getinfo(curl.get(), CURLINFO_REDIRECT_URL, &target);
          location = target != nullptr ? target : "";
        }
        break;
      }
      if (attempt >= config_.url_retries) {
        if (rc != CURLE_OK) {
          return Internal("downloading " + current + ": " + curl_easy_strerror(rc));
        }
        return Internal("downloading " + current + ": upstream answered " + std::to_string(code));
      }
      std::this_thread::sleep_for(first_backoff_ * (1 << std::min(attempt, 6)));
    }

    if (code == 200) return result;
    if (code >= 300 && code < 400 && !location.empty()) {
      if (hop + 1 > config_.url_max_redirects) {
        return InvalidArgument("Too many redirects trying to open " + url);
      }
      result.redirect_urls.push_back(location);
      current = location;
      continue;
    }
    if (code >= 400 && code < 500) {
      return InvalidArgument(current + " can't be found (" + std::to_string(code) + ")");
    }
    return Internal("downloading " + current + ": unexpected status " + std::to_string(code));
  }
}

}  // namespace sigil::upload
