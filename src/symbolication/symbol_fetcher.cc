#include "symbolication/symbol_fetcher.h"

#include <curl/curl.h>
#include <zlib.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "common/symbol_key.h"

namespace sigil::symbolication {
namespace {

// Streaming gunzip with an output limit.
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&z_, 15 + 32) == Z_OK; }  // gzip or zlib header
  ~Inflater() { inflateEnd(&z_); }
  Status Feed(const char* data, size_t size, uint64_t limit, std::string* out) {
    if (!ok_) return Internal("zlib init failed");
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_.avail_in = static_cast<uInt>(size);
    char buf[65536];
    while (z_.avail_in > 0 && !done_) {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof(buf);
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return InvalidArgument("corrupt gzip data in symbol file");
      }
      out->append(buf, sizeof(buf) - z_.avail_out);
      if (out->size() > limit)
        return TooLarge("symbol file is larger than " + std::to_string(limit) + " bytes");
      if (rc == Z_STREAM_END) done_ = true;
      if (rc == Z_BUF_ERROR && z_.avail_out != 0) break;
    }
    return Status::Ok();
  }
  bool done() const { return done_; }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool done_ = false;
};

struct CurlBody {
  std::string data;
  uint64_t limit = 0;
  bool too_large = false;
};

size_t CurlWrite(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<CurlBody*>(user);
  size_t n = size * nmemb;
  if (body->data.size() + n > body->limit) {
    body->too_large = true;
    return 0;  // aborts the transfer
  }
  body->data.append(ptr, n);
  return n;
}

std::once_flag curl_once;

}  // namespace

std::string SymFileName(std::string_view debug_file) {
  if (debug_file.ends_with(".pdb"))
    return std::string(debug_file.substr(0, debug_file.size() - 4)) + ".sym";
  return std::string(debug_file) + ".sym";
}

SymbolFetcher::SymbolFetcher(const SymbolicationConfig& config, storage::ObjectStore& store)
    : config_(config), store_(store) {
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<FetchedSym> SymbolFetcher::Fetch(std::string_view debug_file, std::string_view debug_id) {
  std::string sym = SymFileName(debug_file);
  SIGIL_ASSIGN_OR_RETURN(SymbolKey key, SymbolKey::Parse(debug_file, debug_id, sym));
  Status last_error = NotFound("symbol file " + key.Path() + " not found");
  for (bool is_try : {false, true}) {
    key.is_try = is_try;
    auto got = FromStorage(key.StorageKey(), is_try ? "storage:try" : "storage");
    if (got.ok()) return got;
    if (got.status().code() == StatusCode::kTooLarge) return got.status();
    if (got.status().code() != StatusCode::kNotFound) last_error = got.status();
  }
  for (const std::string& url : config_.upstream_urls) {
    auto got = FromUpstream(url, key.Path());
    if (got.ok()) return got;
    if (got.status().code() == StatusCode::kTooLarge) return got.status();
    if (got.status().code() != StatusCode::kNotFound) last_error = got.status();
  }
  return last_error;
}

Result<FetchedSym> SymbolFetcher::FromStorage(const std::string& key, const std::string& source) {
  SIGIL_ASSIGN_OR_RETURN(auto reader, store_.Get(key));
  FetchedSym out;
  out.source = source;
  const uint64_t limit = config_.max_sym_bytes;
  bool gzip = reader->info().content_encoding == "gzip";
  std::unique_ptr<Inflater> inflater;
  std::string buf(1 << 20, '\0');
  bool first = true;
  for (;;) {
    SIGIL_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) break;
    if (first) {
      // Also accept gzip bytes stored without the encoding flag (and plain text with it unset).
      if (!gzip && n >= 2 && static_cast<unsigned char>(buf[0]) == 0x1f &&
          static_cast<unsigned char>(buf[1]) == 0x8b) {
        gzip = true;
      }
      if (gzip) inflater = std::make_unique<Inflater>();
      first = false;
    }
    out.transferred += n;
    if (inflater) {
      SIGIL_RETURN_IF_ERROR(inflater->Feed(buf.data(), n, limit, &out.data));
    } else {
      if (out.data.size() + n > limit)
        return TooLarge("symbol file is larger than " + std::to_string(limit) + " bytes");
      out.data.append(buf.data(), n);
    }
  }
  if (inflater && !inflater->done())
    return InvalidArgument("symbol file " + key + " is truncated gzip data");
  return out;
}

Result<FetchedSym> SymbolFetcher::FromUpstream(const std::string& base_url,
                                               const std::string& path) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/" + path;
  int attempts = std::max(0, config_.upstream_retries) + 1;
  Status last = Unavailable("upstream " + url + " not tried");
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min(attempt - 1, 6)));
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return Internal("curl_easy_init failed");
    CurlBody body;
    body.limit = config_.max_sym_bytes;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl.get(), CURLOPT_ACCEPT_ENCODING, "");  // gzip transfer, decoded by curl
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS,
                     static_cast<long>(config_.upstream_timeout_ms));
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(config_.upstream_timeout_ms));
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "sigil-symbolication");
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, CurlWrite);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(curl.get());
    if (body.too_large)
      return TooLarge("symbol file at " + url + " is larger than " + std::to_string(body.limit) +
                      " bytes");
    if (rc != CURLE_OK) {
      last = rc == CURLE_OPERATION_TIMEDOUT
                 ? DeadlineExceeded("upstream " + url + " timed out")
                 : Unavailable("upstream " + url + ": " + curl_easy_strerror(rc));
      continue;
    }
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
      FetchedSym out;
      out.transferred = body.data.size();
      out.data = std::move(body.data);
      out.source = base_url;
      return out;
    }
    if (status == 404 || status == 403 || status == 410) return NotFound("not found at " + url);
    last = UpstreamError("upstream " + url + " answered " + std::to_string(status));
    if (status == 429 || status >= 500) continue;
    return last;  // other statuses are not retried
  }
  return last;
}

}  // namespace sigil::symbolication
