#include "support/http_client.h"

#include <curl/curl.h>

#include <cstdio>
#include <mutex>

namespace sigil::test {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    r->headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    r->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return size * n;
}

struct StringReader {
  std::string_view data;
};

size_t ReadString(char* buf, size_t size, size_t n, void* user) {
  auto* r = static_cast<StringReader*>(user);
  size_t len = std::min(size * n, r->data.size());
  std::copy(r->data.begin(), r->data.begin() + len, buf);
  r->data.remove_prefix(len);
  return len;
}

size_t ReadFileCb(char* buf, size_t size, size_t n, void* user) {
  return std::fread(buf, 1, size * n, static_cast<FILE*>(user));
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (IEquals(n, name)) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient(std::string base_url) : base_url_(std::move(base_url)) {
  GlobalInit();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::Send(const HttpRequest& req) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the live connection
  HttpResponse resp;
  std::string url = req.path.rfind("http://", 0) == 0 || req.path.rfind("https://", 0) == 0
                        ? req.path
                        : base_url_ + req.path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp);
  if (decode_gzip_) {
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  }

  curl_slist* headers = nullptr;
  for (const auto& [n, v] : req.headers) {
    // An empty value removes a header curl would add by itself ("Expect", "Content-Type").
    std::string line = v.empty() ? n + ":" : n + ": " + v;
    headers = curl_slist_append(headers, line.c_str());
  }
  if (req.chunked) headers = curl_slist_append(headers, "Transfer-Encoding: chunked");

  bool has_body = !req.body.empty() || !req.body_file.empty() || req.chunked ||
                  !req.multipart.empty() || req.method == "POST" || req.method == "PUT" ||
                  req.method == "PATCH";
  StringReader reader{req.body};
  FILE* file = nullptr;
  curl_mime* mime = nullptr;
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    if (req.method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.multipart.empty()) {
      mime = curl_mime_init(curl);
      for (const auto& p : req.multipart) {
        curl_mimepart* part = curl_mime_addpart(mime);
        curl_mime_name(part, p.name.c_str());
        if (!p.file_path.empty()) {
          curl_mime_filedata(part, p.file_path.c_str());  // sets filename to the base name
          if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
        } else {
          curl_mime_data(part, p.data.data(), p.data.size());
          if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
        }
        if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
      }
      curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    } else {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_off_t size = -1;
      if (!req.body_file.empty()) {
        file = std::fopen(req.body_file.c_str(), "rb");
        if (file == nullptr) {
          curl_slist_free_all(headers);
          resp.error = "cannot open " + req.body_file;
          return resp;
        }
        std::fseek(file, 0, SEEK_END);
        size = std::ftell(file);
        std::fseek(file, 0, SEEK_SET);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadFileCb);
        curl_easy_setopt(curl, CURLOPT_READDATA, file);
      } else {
        size = static_cast<curl_off_t>(req.body.size());
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadString);
        curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
      }
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, req.chunked ? curl_off_t{-1} : size);
    }
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  } else {
    resp.status = 0;
    resp.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  if (mime != nullptr) curl_mime_free(mime);
  if (file != nullptr) std::fclose(file);
  return resp;
}

HttpResponse HttpClient::Get(std::string_view path, HttpHeaders headers) {
  return Send({.method = "GET", .path = std::string(path), .headers = std::move(headers)});
}

HttpResponse HttpClient::Head(std::string_view path, HttpHeaders headers) {
  return Send({.method = "HEAD", .path = std::string(path), .headers = std::move(headers)});
}

HttpResponse HttpClient::Delete(std::string_view path, HttpHeaders headers) {
  return Send({.method = "DELETE", .path = std::string(path), .headers = std::move(headers)});
}

HttpResponse HttpClient::Post(std::string_view path, std::string body, HttpHeaders headers) {
  return Send({.method = "POST",
               .path = std::string(path),
               .headers = std::move(headers),
               .body = std::move(body)});
}

HttpResponse HttpClient::Put(std::string_view path, std::string body, HttpHeaders headers) {
  return Send({.method = "PUT",
               .path = std::string(path),
               .headers = std::move(headers),
               .body = std::move(body)});
}

HttpResponse HttpClient::PostFile(std::string_view path, const std::string& file,
                                  HttpHeaders headers) {
  return Send({.method = "POST",
               .path = std::string(path),
               .headers = std::move(headers),
               .body_file = file});
}

HttpResponse HttpClient::PostMultipart(std::string_view path, std::vector<MultipartPart> parts,
                                       HttpHeaders headers) {
  return Send({.method = "POST",
               .path = std::string(path),
               .headers = std::move(headers),
               .multipart = std::move(parts)});
}

}  // namespace sigil::test
