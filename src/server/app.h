// App: the composition root of `sigil serve`. Builds the backends from the config, the services on
// top of them, the route table and the HTTP server, and tears everything down in the right order.
//
// Lifetime: services borrow backends and the worker pool, routes borrow services, the server
// borrows routes' targets; members are declared (and so destroyed) in that dependency order.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace sigil::server {

class App {
 public:
  // Opens backends, migrates the database, builds services and routes. Does not listen yet.
  static Result<std::unique_ptr<App>> Create(const Config& config);
  ~App();

  // Listens; address() is valid afterwards.
  Status Start();
  std::string address() const;

  // Creates an admin token when the database has none, and returns its key ("" when tokens exist).
  Result<std::string> EnsureAdminToken();

  // Graceful stop: stop accepting, let in-flight requests finish (bounded by shutdown_timeout_ms),
  // then flush buffered state (missing-symbol counts) and close backends.
  void Shutdown();

 private:
  struct Parts;
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace sigil::server
