// A tiny HTTP/1.1 server on 127.0.0.1 whose answers a test scripts, for failure paths a real S3
// server will not produce on demand (5xx, 429, a connection cut mid-body, errors inside 200
// responses). Keep-alive: a connection serves requests until the client closes it or a reply says
// otherwise. The handler runs on the server thread; requests() may be read from the test thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sigil::testing {

struct ScriptedRequest {
  std::string method;
  std::string target;                                        // path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const;
};

struct ScriptedReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  long content_length = -1;  // -1 = body.size(); else announced length (may exceed the body)
  bool close_after = false;  // close the connection after writing (without announcing it)
};

class ScriptedHttpServer {
 public:
  using Handler = std::function<ScriptedReply(const ScriptedRequest& request, int index)>;
  explicit ScriptedHttpServer(Handler handler);
  ~ScriptedHttpServer();

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<ScriptedRequest> requests() const;
  int connections() const { return connections_.load(); }

 private:
  void Serve();
  void ServeConnection(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<ScriptedRequest> requests_;
  std::thread thread_;
};

}  // namespace sigil::testing
