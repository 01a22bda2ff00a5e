#include "support/test_server.h"

#include <stdexcept>

namespace sigil::test {

http::ServerOptions TestServer::DefaultServerOptions() {
  http::ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.io_threads = 2;
  o.access_log = false;
  return o;
}

TestServer::TestServer(http::RouteTable routes) : TestServer(std::move(routes), Options()) {}

TestServer::TestServer(http::RouteTable routes, Options options) {
  http::ServerOptions so = std::move(options.server);
  so.listen = "127.0.0.1:0";
  if (so.tmp_dir.empty()) {
    tmp_dir_ = std::make_unique<TempDir>("sigil-spool");
    so.tmp_dir = tmp_dir_->path();
  }
  tmp_dir_path_ = so.tmp_dir;
  pool_ = std::make_unique<WorkerPool>(options.worker_threads, options.worker_queue, "test-worker");
  server_ =
      std::make_unique<http::Server>(std::move(so), std::move(routes), *pool_, options.metrics);
  Status st = server_->Start();
  if (!st.ok()) throw std::runtime_error("TestServer: " + st.ToString());
}

TestServer::~TestServer() { Stop(); }

void TestServer::Stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  server_->Shutdown(grace);
  server_->Wait();
  // Handlers still running on the pool finish before the server's state goes away.
  pool_->Shutdown();
}

std::string TestServer::base_url() const { return "http://" + server_->address(); }

}  // namespace sigil::test
