// http_baseline_server: http::Server with one inline route, GET/HEAD /__lbheartbeat__ → 200 "OK".
// Measures the cost of the HTTP layer itself (accept, parse, route, respond, keep-alive) with no
// storage, database or worker-pool hop; run.sh compares it with nginx serving a 2-byte static file.
//
//   http_baseline_server [--listen 127.0.0.1:0] [--io-threads 2] [--access-log]
// Prints "listening on <address>" on stdout once ready; stops on SIGINT/SIGTERM.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/metrics.h"
#include "common/worker_pool.h"
#include "http/server.h"

int main(int argc, char** argv) {
  sigil::http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.io_threads = 2;
  options.access_log = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      options.listen = argv[++i];
    } else if (arg == "--io-threads" && i + 1 < argc) {
      options.io_threads = std::atoi(argv[++i]);
    } else if (arg == "--access-log") {
      options.access_log = true;
    } else {
      std::fprintf(stderr, "usage: %s [--listen host:port] [--io-threads N] [--access-log]\n",
                   argv[0]);
      return 2;
    }
  }

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  sigil::Metrics metrics;  // recorded like in production, never scraped here
  sigil::WorkerPool pool(2, 1024, "bench-worker");
  sigil::http::RouteTable routes;
  sigil::http::RouteOptions inline_route;
  inline_route.inline_handler = true;
  inline_route.name = "lbheartbeat";
  routes.Add(
      {"GET", "HEAD"}, "/__lbheartbeat__",
      [](sigil::http::Request&, sigil::http::Responder done) {
        done(sigil::http::Response::Text(200, "OK"));
      },
      inline_route);
  sigil::http::Server server(options, std::move(routes), pool, &metrics);
  sigil::Status st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\n", server.address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server.Shutdown(std::chrono::milliseconds(2000));
  server.Wait();
  return 0;
}
