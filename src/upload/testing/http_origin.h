// HttpOrigin: a minimal plain-HTTP/1.1 server on 127.0.0.1 (free port) for tests of upload by URL.
// Each request is answered by a callback; connections are closed after one response. Stopped (and
// its thread joined) by the destructor. Test-only; thread-safe callback invocation (one at a time).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sigil::upload::testing {

class HttpOrigin {
 public:
  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  // Called with the request path (including any query string).
  using Handler = std::function<Reply(const std::string& path)>;

  explicit HttpOrigin(Handler handler);
  ~HttpOrigin();
  HttpOrigin(const HttpOrigin&) = delete;
  HttpOrigin& operator=(const HttpOrigin&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string Url(std::string_view path) const;
  int requests() const { return requests_.load(); }

 private:
  void Serve();
  void HandleConnection(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace sigil::upload::testing
