#include "storage/s3/http_pool.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>

namespace sigil::storage::s3 {
namespace {

constexpr size_t kMaxBuffered = 64 * 1024;  // body bytes held before the transfer is paused

std::once_flag g_curl_init;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimWs(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The URL without its query (which may hold presigned parameters), for messages.
std::string UrlForMessage(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

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

namespace {

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line = TrimWs(std::string_view(data, len));
  if (line.substr(0, 5) == "HTTP/") {
    // A new response head (also after a 1xx interim response): start over.
    t->response.headers.clear();
    size_t sp = line.find(' ');
    long status = 0;
    if (sp != std::string_view::npos && line.size() >= sp + 4) {
      for (size_t i = sp + 1; i < sp + 4; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(line[i]))) return 0;  // malformed: abort
        status = status * 10 + (line[i] - '0');
      }
    }
    t->response.status = status;
  } else if (line.empty()) {
    if (t->response.status >= 200) t->headers_done = true;
  } else {
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      t->response.headers.emplace_back(Lower(TrimWs(line.substr(0, colon))),
                                       std::string(TrimWs(line.substr(colon + 1))));
    }
  }
  return len;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->Buffered() >= kMaxBuffered) {
    t->paused = true;
    return CURL_WRITEFUNC_PAUSE;  // curl keeps this chunk and delivers it again on unpause
  }
  if (t->buffer_pos > 0 && t->buffer_pos >= t->buffer.size() / 2) {
    t->buffer.erase(0, t->buffer_pos);
    t->buffer_pos = 0;
  }
  t->buffer.append(data, size * n);
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const uint64_t remaining = t->body->length - t->body_pos;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, remaining));
  if (want == 0) return 0;
  int64_t got = t->body->ReadAt(t->body_pos, buf, want);
  if (got <= 0) {
    t->body_read_error = true;
    return CURL_READFUNC_ABORT;
  }
  t->body_pos += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->body->length) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->body_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

Status TransportError(const Transfer& t) {
  std::string what =
      "HTTP " + t.method + " " + UrlForMessage(t.url) + ": " + curl_easy_strerror(t.result);
  if (t.errbuf[0] != '\0') what += std::string(" (") + t.errbuf + ")";
  switch (t.result) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceeded(what);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Unavailable(what);
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_READ_ERROR:
      if (t.body_read_error) return Internal(what + ": reading the request body failed");
      return Internal(what);
    default:
      return UpstreamError(what);
  }
}

// Drives the transfer until `ready()` holds or it completes.
Status Drive(Transfer& t, const std::function<bool()>& ready) {
  while (true) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(t.slot->multi, &running);
    if (mc != CURLM_OK)
      return Internal(std::string("curl_multi_perform: ") + curl_multi_strerror(mc));
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(t.slot->multi, &left)) {
      if (m->msg == CURLMSG_DONE && m->easy_handle == t.slot->easy) {
        t.done = true;
        t.result = m->data.result;
      }
    }
    if (t.done || ready()) return Status::Ok();
    mc = curl_multi_poll(t.slot->multi, nullptr, 0, 1000, nullptr);
    if (mc != CURLM_OK) return Internal(std::string("curl_multi_poll: ") + curl_multi_strerror(mc));
  }
}

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
  CURL* e = t->slot->easy;
  curl_easy_reset(e);

  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    if (Lower(name) == "content-type") has_content_type = true;
    t->header_list = curl_slist_append(t->header_list, (name + ": " + value).c_str());
  }
  t->header_list = curl_slist_append(t->header_list, "Expect:");
  if (request.method == "POST" && !has_content_type) {
    t->header_list = curl_slist_append(t->header_list, "Content-Type:");  // no form default
  }

  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SHARE, share_->handle);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max(1, options_.stall_timeout_ms / 1000)));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);

  const uint64_t body_len = t->body ? t->body->length : 0;
  if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    if (request.method == "PUT") {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_len));
    } else {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_len));
    }
    if (!t->body) t->body = BodySource::Memory({});
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(e, CURLOPT_READDATA, t.get());
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &OnSeek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, t.get());
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  if (CURLMcode mc = curl_multi_add_handle(t->slot->multi, e); mc != CURLM_OK) {
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
