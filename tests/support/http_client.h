// test::HttpClient: a small blocking HTTP/1.1 client on libcurl for tests.
//
//   test::HttpClient client(server.base_url());
//   test::HttpResponse r = client.Get("/__lbheartbeat__");
//   EXPECT_EQ(r.status, 200);
//   r = client.Post("/upload/", body, {{"Auth-Token", "abc"}});
//   r = client.PostMultipart("/upload/", {{.name = "symbols.zip", .file_path = zip}},
//   {{"Auth-Token", t}});
//
// One client keeps one connection alive across requests (keep-alive reuse). Not thread-safe: use
// one client per thread. Transport failures (refused, timeout, reset) give status 0 and `error`. By
// default the client sends "Accept-Encoding: gzip" and decodes gzip bodies; set_decode_gzip(false)
// to send no Accept-Encoding of its own and receive bodies exactly as sent (add the header
// yourself).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sigil::test {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  long status = 0;      // 0 on a transport failure
  HttpHeaders headers;  // of the final response, in order
  std::string body;
  std::string error;  // curl's message when status == 0
  // First value of a header (case-insensitive name).
  std::optional<std::string> Header(std::string_view name) const;
};

// One part of a multipart/form-data body: a file part (file_path or data with a filename) or a
// field.
struct MultipartPart {
  std::string name;       // form field name
  std::string data;       // content, when file_path is empty
  std::string file_path;  // stream this file as the content
  std::string filename;   // filename="..." (defaults to the file's base name for file_path parts)
  std::string content_type;  // optional
};

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // appended to the base URL; a full "http://..." URL is used as is
  HttpHeaders headers;
  std::string body;       // sent when non-empty (or when method is POST/PUT/PATCH)
  std::string body_file;  // stream this file as the body instead of `body`
  bool chunked = false;   // send the body with Transfer-Encoding: chunked (no Content-Length)
  std::vector<MultipartPart> multipart;  // non-empty: a multipart/form-data body
};

class HttpClient {
 public:
  explicit HttpClient(std::string base_url = "");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void set_base_url(std::string base_url) { base_url_ = std::move(base_url); }
  const std::string& base_url() const { return base_url_; }
  // Whole-request timeout (default 30 s).
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  void set_decode_gzip(bool decode) { decode_gzip_ = decode; }

  HttpResponse Send(const HttpRequest& request);

  HttpResponse Get(std::string_view path, HttpHeaders headers = {});
  HttpResponse Head(std::string_view path, HttpHeaders headers = {});
  HttpResponse Delete(std::string_view path, HttpHeaders headers = {});
  HttpResponse Post(std::string_view path, std::string body, HttpHeaders headers = {});
  HttpResponse Put(std::string_view path, std::string body, HttpHeaders headers = {});
  HttpResponse PostFile(std::string_view path, const std::string& file, HttpHeaders headers = {});
  HttpResponse PostMultipart(std::string_view path, std::vector<MultipartPart> parts,
                             HttpHeaders headers = {});

 private:
  void* curl_;  // CURL*
  std::string base_url_;
  std::chrono::milliseconds timeout_{30000};
  bool decode_gzip_ = true;
};

}  // namespace sigil::test
