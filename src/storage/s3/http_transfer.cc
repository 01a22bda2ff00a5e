#include "storage/s3/http_transfer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sigil::storage::s3 {
namespace {

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

}  // namespace

std::string UrlForMessage(const std::string& url) { return url.substr(0, url.find('?')); }

void ConfigureTransfer(Transfer& t, const HttpRequest& request, CURLSH* share,
                       const HttpPoolOptions& options) {
  CURL* e = t.slot->easy;
  curl_easy_reset(e);

  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    if (Lower(name) == "content-type") has_content_type = true;
    t.header_list = curl_slist_append(t.header_list, (name + ": " + value).c_str());
  }
  t.header_list = curl_slist_append(t.header_list, "Expect:");
  if (request.method == "POST" && !has_content_type) {
    t.header_list = curl_slist_append(t.header_list, "Content-Type:");  // no form default
  }

  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SHARE, share);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max(1, options.stall_timeout_ms / 1000)));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);

  const uint64_t body_len = t.body ? t.body->length : 0;
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
    if (!t.body) t.body = BodySource::Memory({});
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(e, CURLOPT_READDATA, &t);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &OnSeek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, &t);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
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

}  // namespace sigil::storage::s3
