#include "storage/s3/http_pool.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/s3/http_transfer.h"

namespace sigil::storage::s3 {
namespace {

std::once_flag g_curl_init;

}  // namespace

BodySource BodySource::Slice(uint64_t off, uint64_t len) const {
  BodySource s = *this;
  if (fd < 0) {
    s.memory = memory.substr(off, len);
    s.length = s.memory.size();
  } else {
    s.offset = offset + off;
    s.length = len;
  }
  return s;
}

int64_t BodySource::ReadAt(uint64_t pos, char* buf, size_t size) const {
  if (pos >= length) return 0;
  size = static_cast<size_t>(std::min<uint64_t>(size, length - pos));
  if (fd < 0) {
    std::memcpy(buf, memory.data() + pos, size);
    return static_cast<int64_t>(size);
  }
  while (true) {
    ssize_t got = ::pread(fd, buf, size, static_cast<off_t>(offset + pos));
    if (got < 0 && errno == EINTR) continue;
    return got;
  }
}

const std::string* HttpResponse::FindHeader(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

struct HttpPool::Share {
  CURLSH* handle = nullptr;
  std::mutex mu[CURL_LOCK_DATA_LAST];
  ~Share() { curl_share_cleanup(handle); }
};

HttpPool::HttpPool(HttpPoolOptions options) : options_(options), share_(std::make_unique<Share>()) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  share_->handle = curl_share_init();
  auto lock = [](CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->mu[data].lock();
  };
  auto unlock = [](CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->mu[data].unlock();
  };
  curl_share_setopt(share_->handle, CURLSHOPT_LOCKFUNC, +lock);
  curl_share_setopt(share_->handle, CURLSHOPT_UNLOCKFUNC, +unlock);
  curl_share_setopt(share_->handle, CURLSHOPT_USERDATA, share_.get());
  // Connections are not shared through the share object (libcurl does not support that across
  // threads); each slot's multi handle keeps its own.
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpPool::~HttpPool() {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();  // before share_: easy handles reference it
}

std::unique_ptr<PoolSlot> HttpPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<PoolSlot> slot = std::move(idle_.back());
      idle_.pop_back();
      return slot;
    }
  }
  auto slot = std::make_unique<PoolSlot>();
  slot->multi = curl_multi_init();
  slot->easy = curl_easy_init();
  if (slot->multi == nullptr || slot->easy == nullptr) return nullptr;
  curl_multi_setopt(slot->multi, CURLMOPT_MAXCONNECTS, 1L);
  return slot;
}

void HttpPool::Finish(Transfer& t) {
  if (t.slot == nullptr) return;
  if (t.attached) {
    long connects = 0;
    if (curl_easy_getinfo(t.slot->easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
        connects > 0) {
      connections_opened_ += static_cast<uint64_t>(connects);
    }
    // An unfinished transfer's connection is closed here; the slot stays usable.
    curl_multi_remove_handle(t.slot->multi, t.slot->easy);
    t.attached = false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle) idle_.push_back(std::move(t.slot));
  t.slot.reset();
}

HttpPool::Stats HttpPool::stats() const {
  Stats s;
  s.requests = requests_.load();
  s.connections_opened = connections_opened_.load();
  std::lock_guard<std::mutex> lock(mu_);
  s.idle_slots = idle_.size();
  return s;
}

Result<std::unique_ptr<HttpStream>> HttpPool::Open(const HttpRequest& request) {
  ++requests_;
  auto t = std::make_unique<Transfer>();
  t->slot = Acquire();
  if (t->slot == nullptr) return Internal("curl: cannot create a handle");
  t->method = request.method;
  t->url = request.url;
  t->body = request.body;
  ConfigureTransfer(*t, request, share_->handle, options_);

  if (CURLMcode mc = curl_multi_add_handle(t->slot->multi, t->slot->easy); mc != CURLM_OK) {
    return Internal(std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc));
  }
  t->attached = true;

  std::unique_ptr<HttpStream> stream(new HttpStream(this, std::move(t)));
  Transfer& tr = *stream->transfer_;
  SIGIL_RETURN_IF_ERROR(Drive(tr, [&tr] { return tr.headers_done; }));
  if (tr.done && tr.result != CURLE_OK && !tr.headers_done) return TransportError(tr);
  if (!tr.headers_done) {
    return UpstreamError("HTTP " + tr.method + " " + UrlForMessage(tr.url) +
                         ": the response ended without a complete head");
  }
  return stream;
}

Result<HttpResponse> HttpPool::Perform(const HttpRequest& request, size_t max_body) {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<HttpStream> stream, Open(request));
  HttpResponse response = stream->response();
  SIGIL_RETURN_IF_ERROR(stream->ReadAll(max_body, response.body));
  return response;
}

HttpStream::HttpStream(HttpPool* pool, std::unique_ptr<Transfer> transfer)
    : pool_(pool), transfer_(std::move(transfer)) {}

HttpStream::~HttpStream() { pool_->Finish(*transfer_); }

const HttpResponse& HttpStream::response() const { return transfer_->response; }

Result<size_t> HttpStream::Read(char* buf, size_t size) {
  Transfer& t = *transfer_;
  while (t.Buffered() == 0) {
    if (t.done) {
      if (t.result != CURLE_OK) return TransportError(t);
      pool_->Finish(t);  // the body is complete: the connection can serve others right away
      return size_t{0};
    }
    if (t.paused) {
      t.paused = false;
      curl_easy_pause(t.slot->easy, CURLPAUSE_CONT);  // may deliver the held chunk right away
      continue;
    }
    SIGIL_RETURN_IF_ERROR(Drive(t, [&t] { return t.Buffered() > 0 || t.paused; }));
  }
  size_t n = std::min(size, t.Buffered());
  std::memcpy(buf, t.buffer.data() + t.buffer_pos, n);
  t.buffer_pos += n;
  return n;
}

Status HttpStream::ReadAll(size_t max_bytes, std::string& out) {
  char buf[16384];
  size_t total = 0;
  while (true) {
    SIGIL_ASSIGN_OR_RETURN(size_t n, Read(buf, sizeof buf));
    if (n == 0) return Status::Ok();
    total += n;
    if (total > max_bytes) {
      return UpstreamError("HTTP " + transfer_->method + " " + UrlForMessage(transfer_->url) +
                           ": response body larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, n);
  }
}

}  // namespace sigil::storage::s3
