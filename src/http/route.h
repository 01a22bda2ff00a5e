// Route registration: what src/api declares and src/http serves. Beast-free.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/message.h"

namespace sigil::http {

// Runs after the headers are read and before the body is: returns a Response to reject the request
// (the body is then drained up to a small limit or the connection closed), or nullopt to go on.
// May block (database): the server runs it on the worker pool. It may set request.principal.
using PreBodyHook = std::function<std::optional<Response>(Request&)>;

struct RouteOptions {
  std::optional<uint64_t> max_body_bytes;  // default: ServerConfig::max_body_bytes
  bool spool_body = false;                 // spool bodies over the threshold to a temp file
  PreBodyHook authenticate;                // e.g. auth::Authenticator::Hook(permissions)
  // For spooled bodies: makes an observer of the body's bytes (from the request's headers; nullptr
  // for none), which the handler then finds in Request::body_observer.
  std::function<std::shared_ptr<BodyObserver>(const Request&)> body_observer;
  // Run the handler on an io thread (it must not block) instead of the worker pool. Handlers that
  // stay on the io thread for the common case and hop to the pool themselves set this.
  bool inline_handler = false;
  std::string name;  // metrics label; defaults to the pattern
};

// Patterns: literal segments and {name} parameters ("/api/syminfo/{file}/{id}"); a trailing
// {name...} matches the rest of the path including '/'. A path matching no pattern → 404; matching
// a pattern with other methods only → 405 with Allow.
struct Route {
  std::vector<std::string> methods;  // e.g. {"GET", "HEAD"}
  std::string pattern;
  Handler handler;
  RouteOptions options;
};

class RouteTable {
 public:
  void Add(std::vector<std::string> methods, std::string pattern, Handler handler,
           RouteOptions options = {}) {
    routes_.push_back(
        Route{std::move(methods), std::move(pattern), std::move(handler), std::move(options)});
  }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace sigil::http
