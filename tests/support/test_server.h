// test::TestServer: an http::Server on 127.0.0.1:<free port> with its own WorkerPool, for tests.
//
//   http::RouteTable routes;
//   routes.Add({"GET"}, "/hello", [](http::Request&, http::Responder done) {
//     done(http::Response::Text(200, "hi"));
//   });
//   test::TestServer server(std::move(routes));
//   test::HttpClient client(server.base_url());
//   EXPECT_EQ(client.Get("/hello").body, "hi");
//
// Started in the constructor (throws std::runtime_error naming the problem if it cannot start,
// which fails the test); shut down (grace 5 s) and joined in the destructor, even when the test
// failed. Defaults differ from production: access log off, 4 workers, queue 64, spooled bodies in a
// private temp dir. Override any of them through TestServer::Options.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/worker_pool.h"
#include "http/route.h"
#include "http/server.h"
#include "support/temp_dir.h"

namespace sigil::test {

class TestServer {
 public:
  struct Options {
    // listen is forced to 127.0.0.1:0; tmp_dir "" = a TempDir owned by the TestServer.
    http::ServerOptions server = DefaultServerOptions();
    size_t worker_threads = 4;
    size_t worker_queue = 64;
    Metrics* metrics = nullptr;  // borrowed; must outlive the TestServer
  };
  static http::ServerOptions DefaultServerOptions();

  explicit TestServer(http::RouteTable routes);
  TestServer(http::RouteTable routes, Options options);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // "http://127.0.0.1:PORT" (no trailing slash).
  std::string base_url() const;
  uint16_t port() const { return server_->port(); }
  http::Server& server() { return *server_; }
  WorkerPool& pool() { return *pool_; }
  // Where spooled request bodies go.
  const std::string& tmp_dir() const { return tmp_dir_path_; }
  // Shuts the server down now (the destructor then does nothing more).
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  std::unique_ptr<TempDir> tmp_dir_;
  std::string tmp_dir_path_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<http::Server> server_;
  bool stopped_ = false;
};

}  // namespace sigil::test
