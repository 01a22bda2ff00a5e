// Internal to http_pool.cc: one libcurl exchange (PoolSlot + Transfer) and the callbacks that move
// its bytes. The response head is parsed as it arrives; body bytes are buffered up to kMaxBuffered,
// beyond which the transfer is paused until the reader catches up. Not thread-safe: a Transfer
// belongs to one HttpStream.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/s3/http_pool.h"

namespace sigil::storage::s3 {

inline constexpr size_t kMaxBuffered = 64 * 1024;  // body bytes held before the transfer is paused

// One pooled connection slot: a multi handle (owning the connection cache) and its easy handle.
struct PoolSlot {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ~PoolSlot() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

// The state of one exchange, owned by its HttpStream.
struct Transfer {
  std::unique_ptr<PoolSlot> slot;
  bool attached = false;  // easy handle added to the multi handle
  curl_slist* header_list = nullptr;
  std::optional<BodySource> body;
  uint64_t body_pos = 0;
  bool body_read_error = false;

  HttpResponse response;
  bool headers_done = false;
  bool done = false;
  CURLcode result = CURLE_OK;

  std::string buffer;  // received, unread body bytes start at buffer_pos
  size_t buffer_pos = 0;
  bool paused = false;

  std::string method;
  std::string url;
  char errbuf[CURL_ERROR_SIZE] = {};

  size_t Buffered() const { return buffer.size() - buffer_pos; }
  ~Transfer() { curl_slist_free_all(header_list); }
};

// Resets the slot's easy handle and sets it up for `request` (method, headers, body callbacks,
// timeouts, TLS, the share). The transfer's header list and body must outlive the exchange.
void ConfigureTransfer(Transfer& t, const HttpRequest& request, CURLSH* share,
                       const HttpPoolOptions& options);

// Drives the transfer until `ready()` holds or it completes (t.done, t.result).
Status Drive(Transfer& t, const std::function<bool()>& ready);

// The Status for a failed exchange (t.result != CURLE_OK): kUnavailable for connection failures,
// kDeadlineExceeded for timeouts, kInternal when reading the request body failed, else kUpstream.
Status TransportError(const Transfer& t);

// The URL without its query (which may hold presigned parameters), for messages.
std::string UrlForMessage(const std::string& url);

}  // namespace sigil::storage::s3
